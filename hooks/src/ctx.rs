//! What every step needs: the AWS clients, the clock, the log, the settings, and one way to make
//! an AWS call: checked, retried with full-jitter backoff when (and only when) the error is
//! transient (throttling, 5xx, transport), failed at once with AWS's own message otherwise.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_autoscaling::config::http::HttpResponse;
use aws_sdk_autoscaling::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::clock::Clock;
use crate::config::Settings;
use crate::error::{HookError, Result};
use crate::log::Log;
use crate::state::{State, Store};

/// Error codes that mean "try again later".
const TRANSIENT: [&str; 9] = [
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "ServiceUnavailable",
    "InternalFailure",
    "ResourceContention",
    "PriorRequestNotComplete",
];

pub use crate::error::AwsFailure;

/// Classifies an SDK error from its metadata: the AWS error code and the HTTP status of a service
/// error (throttling codes and 5xx are transient), or the kind of a failure to get a response
/// (timeouts, connection and I/O errors are transient; a request that could not be built is not).
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> AwsFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    // Only what needs the error's type is generic; the rest is one function for every call site.
    match err {
        SdkError::ServiceError(se) => {
            service_failure(se.err().code(), se.err().message(), se.raw().status().is_server_error())
        }
        SdkError::DispatchFailure(d) => transport_failure(err, !d.is_user()),
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => transport_failure(err, true),
        _ => transport_failure(err, false),
    }
}

/// A service's error answer: transient when the service failed (5xx) or says so by its code.
fn service_failure(code: Option<&str>, message: Option<&str>, server_side: bool) -> AwsFailure {
    let transient = server_side || code.is_some_and(|c| TRANSIENT.contains(&c));
    AwsFailure {
        code: code.map(str::to_string),
        message: message.unwrap_or("(no message)").to_string(),
        transient,
    }
}

/// A call that got no answer from the service (timeout, connection, bad response), described
/// with its causes.
fn transport_failure(err: &(dyn std::error::Error + 'static), transient: bool) -> AwsFailure {
    AwsFailure {
        code: None,
        message: DisplayErrorContext(err).to_string(),
        transient,
    }
}

/// The context of one hook run.
pub struct Ctx {
    pub asg: aws_sdk_autoscaling::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub classic: aws_sdk_elasticloadbalancing::Client,
    pub codedeploy: crate::codedeploy::CodeDeploy,
    pub clock: Clock,
    pub log: Log,
    pub settings: Settings,
    pub instance_id: String,
    pub deployment_id: String,
    pub deployment_group: String,
    /// `APPLICATION_NAME` and `DEPLOYMENT_GROUP_NAME`, as the agent sets them.
    pub application: Option<String>,
    pub deployment_group_name: Option<String>,
    pub store: Store,
    pub rng: Mutex<fastrand::Rng>,
    /// Members out of service that CodeDeploy shows are none of the deployment's instances in
    /// progress: an operator's Standby, not these hooks', where the group could not carry a mark
    /// for every instance out (see `asg::hooks_out`).
    pub foreign_standby: Mutex<std::collections::BTreeSet<String>>,
}

impl Ctx {
    /// Logs one step.
    pub fn info(&self, msg: impl AsRef<str>) {
        self.log.line(self.clock.elapsed(), "info", msg.as_ref());
    }

    /// Logs a warning.
    pub fn warn(&self, msg: impl AsRef<str>) {
        self.log.line(self.clock.elapsed(), "warn", msg.as_ref());
    }

    /// Makes an AWS call named `what`, retrying transient failures.
    pub async fn call<T, E, F, Fut>(&self, what: &str, f: F) -> std::result::Result<T, AwsFailure>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    if let Some(failure) = self.retry_after(what, attempt, classify(&e)).await {
                        return Err(failure);
                    }
                }
            }
        }
    }

    /// After failed attempt number `attempt` of `what`: the failure to give up with (permanent, or
    /// the last attempt), or `None` once the backoff before the next attempt is slept. Not generic,
    /// so that each call site of [`Ctx::call`] does not carry a copy of it.
    async fn retry_after(&self, what: &str, attempt: u32, failure: AwsFailure) -> Option<AwsFailure> {
        let max = self.settings.retry_max_attempts;
        if !failure.transient || attempt >= max {
            return Some(failure);
        }
        let delay = self.backoff_delay(attempt);
        self.warn(format!(
            "{what}: {} ({}); retry {attempt}/{} in {:.1}s",
            failure.code.as_deref().unwrap_or("transport error"),
            failure.message,
            max - 1,
            delay.as_secs_f64()
        ));
        self.clock.sleep(delay).await.err().map(|e| AwsFailure {
            code: None,
            message: format!("{e:#}"),
            transient: false,
        })
    }

    /// Makes an AWS call once, without retrying: for writes whose value was computed from a read,
    /// which must be recomputed from a fresh read rather than sent again.
    pub async fn once<T, E, F, Fut>(&self, f: F) -> std::result::Result<T, AwsFailure>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        f().await.map_err(|e| classify(&e))
    }

    /// Sleeps the full-jitter backoff before retry number `attempt` (from 1).
    pub async fn backoff(&self, attempt: u32) -> Result<()> {
        let delay = self.backoff_delay(attempt);
        self.clock.sleep(delay).await.map_err(|e| HookError::Clock(e.into()))
    }

    fn backoff_delay(&self, attempt: u32) -> Duration {
        let cap = self
            .settings
            .retry_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.settings.retry_max);
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        Duration::from_secs_f64(cap.as_secs_f64() * rng.f64())
    }

    /// Like [`Ctx::call`], turning a failure into a [`HookError::Aws`] naming the call.
    pub async fn must<T, E, F, Fut>(&self, what: &str, f: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.call(what, f).await.map_err(|e| aws_error(what, &e))
    }

    /// Sleeps one poll interval, shortened by up to a quarter at random (hooks of a fleet do not
    /// poll in step).
    pub async fn poll_sleep(&self) -> Result<()> {
        let f = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            0.75 + 0.25 * rng.f64()
        };
        self.clock
            .sleep(self.settings.poll_interval.mul_f64(f))
            .await
            .map_err(|e| HookError::Clock(e.into()))
    }

    /// Sleeps until AWS's own timers say a waited-for state can first be reached (`first_look`
    /// after the change), bounded by `limit`: no poll before then can succeed.
    pub async fn sleep_until_reachable(&self, first_look: Duration, limit: Duration) -> Result<()> {
        let d = first_look.min(limit);
        if d.is_zero() {
            return Ok(());
        }
        self.info(format!(
            "AWS's timers say this takes {:.0}s: first look then",
            d.as_secs_f64()
        ));
        self.clock.sleep(d).await.map_err(|e| HookError::Clock(e.into()))
    }

    /// Polls `fetch` for every item until each reaches `want`, each within its own time limit:
    /// the first look once `first_look` has passed (AWS's timers), then one poll interval between
    /// rounds (several load balancers are waited on at once).
    pub async fn wait_all<T>(
        &self,
        want: &str,
        items: Vec<(T, Duration)>,
        first_look: Duration,
        label: impl Fn(&T) -> String,
        fetch: impl AsyncFn(&T) -> Result<String>,
    ) -> Result<()> {
        let start = self.clock.elapsed();
        let longest = items.iter().map(|(_, l)| *l).max().unwrap_or_default();
        self.sleep_until_reachable(first_look, longest).await?;
        let mut pending = items;
        loop {
            let mut still = Vec::new();
            for (item, limit) in pending {
                let s = fetch(&item).await?;
                if s == want {
                    self.info(format!("{} is {want} in {}", self.instance_id, label(&item)));
                } else if self.clock.elapsed() - start >= limit {
                    return Err(HookError::Timeout(format!(
                        "{} still {s} in {} after {:.0}s (waiting for {want})",
                        self.instance_id,
                        label(&item),
                        limit.as_secs_f64()
                    )));
                } else {
                    still.push((item, limit));
                }
            }
            if still.is_empty() {
                return Ok(());
            }
            pending = still;
            self.poll_sleep().await?;
        }
    }

    /// Saves the state file.
    pub fn save(&self, state: &State) -> Result<()> {
        self.store.save(state)
    }
}

/// A failed call as a hook error.
pub fn aws_error(what: &str, e: &AwsFailure) -> HookError {
    HookError::Aws {
        operation: what.to_string(),
        source: e.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_autoscaling::error::ErrorMetadata;
    use aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsError as E;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;

    fn service(status: u16, code: &str) -> AwsFailure {
        let meta = ErrorMetadata::builder().code(code).message("from AWS").build();
        let raw = HttpResponse::new(status.try_into().expect("status"), SdkBody::empty());
        classify(&SdkError::service_error(E::generic(meta), raw))
    }

    #[test]
    fn throttling_codes_are_transient() {
        for code in ["Throttling", "ThrottlingException", "RequestLimitExceeded"] {
            let f = service(400, code);
            assert!(f.transient, "{code}");
            assert_eq!(f.code.as_deref(), Some(code));
            assert_eq!(f.message, "from AWS");
        }
    }

    #[test]
    fn server_errors_are_transient_by_status() {
        assert!(service(503, "ServiceUnavailable").transient);
        assert!(service(500, "SomethingNew").transient, "any 5xx, whatever the code");
    }

    #[test]
    fn client_errors_are_final() {
        let f = service(400, "ValidationError");
        assert!(!f.transient);
        assert!(!service(403, "AccessDenied").transient);
    }

    #[test]
    fn timeouts_and_connection_errors_are_transient() {
        let timeout: SdkError<E, HttpResponse> = SdkError::timeout_error("operation timed out");
        assert!(classify(&timeout).transient);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let refused: SdkError<E, HttpResponse> = SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        let f = classify(&refused);
        assert!(f.transient);
        assert!(f.code.is_none());
        let conn_timeout: SdkError<E, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::timeout("connect timed out".into()));
        assert!(classify(&conn_timeout).transient);
    }

    #[test]
    fn a_request_that_cannot_be_built_is_final() {
        let user: SdkError<E, HttpResponse> = SdkError::dispatch_failure(ConnectorError::user("bad request".into()));
        assert!(!classify(&user).transient);
        let built: SdkError<E, HttpResponse> = SdkError::construction_failure("missing field");
        assert!(!classify(&built).transient);
    }
}
