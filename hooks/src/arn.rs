//! ARNs in log lines: the resource part is what a person reads.

/// `targetgroup/name/id` (or `listener/app/...`) from an ARN.
pub fn short(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}
