//! One module per AWS service: each action decodes its parameters, calls the world, and encodes
//! the answer. Auto Scaling ([`autoscaling`], policies and schedules among its rooms), ELBv2
//! ([`elbv2`]), Classic ELB ([`classic`]), CodeDeploy ([`codedeploy`], JSON), S3 ([`s3`], REST, for revisions) and the instance metadata service ([`imds`]).

pub mod autoscaling;
pub mod classic;
pub mod codedeploy;
pub mod elbv2;
pub mod imds;
pub mod s3;
pub(crate) mod table;
