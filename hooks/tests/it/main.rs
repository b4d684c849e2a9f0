//! The hook binaries run as processes, as the CodeDeploy agent runs them, against fakeaws on
//! loopback; each instance's identity comes from its own metadata endpoint and every wait is on
//! the fake's clock, advanced whenever all running hooks sleep.

mod util;

// Every branch of the Auto Scaling path, and the defects of the sample scripts.
mod asg_path;
// Instances outside any group: target groups, ports, parallel waits.
mod tg_path;
// Configuration, metadata, throttling and permanent errors.
mod failures;
// The world built and checked with the AWS CLI.
mod aws_cli;
// Classic Load Balancers.
mod classic_path;
// The maintenance page.
mod maintenance;
// A hook SIGKILLed at each of its AWS calls, then the next deployment: the fleet converges.
mod kill_points;
// The IAM policy of docs/hooks.md: each statement needed, the whole enough.
mod policy;
// An instance refresh under way: refused, or waited for.
mod refresh;
// An instance in a warm pool: left alone.
mod warm_pool;
