//! CodeDeploy lifecycle hooks that take an EC2 instance out of its load balancers for a deployment
//! and bring it back when healthy: the `deregister-from-elb` and `register-with-elb` binaries, a
//! drop-in replacement for the elb-v2 scripts of `aws-codedeploy-samples` with their defects fixed
//! (and `clock-sleep`, the simulated clock's `sleep` for rehearsals).
//!
//! [`run`] is the flow; [`config`] the settings; [`asg`] the Auto Scaling path; [`tg`] the
//! target-group path; [`classic`] Classic Load Balancers; [`maintenance`] the maintenance page;
//! [`deployment`] and [`codedeploy`] what CodeDeploy says of the deployment; [`ctx`] and [`aws`]
//! the checked and retried AWS calls; [`lifecycle`] what Auto Scaling's lifecycle states mean
//! to the hooks; [`arn`], [`clock`], [`log`], [`error`] their helpers;
//! [`state`] the record that lets a later run repair a failed one.

pub mod arn;
pub mod asg;
pub mod aws;
pub mod classic;
pub mod clock;
pub mod codedeploy;
pub mod config;
pub mod ctx;
pub mod deployment;
pub mod error;
pub mod lifecycle;
pub mod log;
pub mod maintenance;
pub mod run;
pub mod state;
pub mod tg;
