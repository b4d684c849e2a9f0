//! Integration tests, one binary (ripgrep style). Each module drives fakeaws through real clients:
//! the AWS SDK for Rust, botocore/the AWS CLI, raw HTTP. (The hook binaries run as processes in
//! `hooks/tests/it`.)

mod util;

// fakeaws through the AWS SDK for Rust.
mod sdk_autoscaling;
// Issue 30: scale-in protection, retained instances.
mod sdk_elbv2;
mod sdk_fleet_features;
mod sdk_imds;
mod sdk_refresh;
mod sdk_warm_pool;
// fakeaws through botocore (boto3) and the AWS CLI.
mod botocore;
// CodeDeploy through aws-sdk-codedeploy, boto3 and `aws deploy`.
mod codedeploy;
// S3 for revisions through boto3.
mod s3;
// Malformed and hostile input, and property tests.
mod bad_input;
// Bounds, cost independent of history, EC2-exact metadata.
mod bounds;
// Many clients at once.
mod concurrency;
// Scaling policies and scheduled actions through the Rust SDK, boto3 and the AWS CLI.
mod scaling;
// Classic Load Balancers through aws-sdk-elasticloadbalancing and the AWS CLI.
mod sdk_classic;
// Listener rules and ELBv2 tags through the Rust SDK, boto3 and the AWS CLI.
mod rules;
// The data plane: real HTTP through the listeners.
mod data_plane;
// Who may call: world-file roles and identities, signatures.
mod identities;
mod signatures;
mod soak;
// The source tree itself.
mod tidy;
