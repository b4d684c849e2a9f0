//! The AWS SDK configuration of the hooks: what an EC2 host needs and nothing more, so the shipped
//! binaries stay small. Credentials: the `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
//! `AWS_SESSION_TOKEN` variables, else the instance profile through IMDS. Region: `AWS_REGION` /
//! `AWS_DEFAULT_REGION`, else the instance's region from IMDS. Endpoint: `AWS_ENDPOINT_URL` when set.
//! HTTPS: rustls with ring and the system's root certificates. (The SDK's default chain would also
//! read profile files and assume roles through STS, which EC2 hosts running CodeDeploy do not need.)

use aws_config::environment::{EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider};
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The HTTP(S) client of every AWS call and of IMDS. With `AWS_ENDPOINT_URL` on plain HTTP (a
/// local fake) nothing needs TLS, and the system's root certificates are not loaded at all.
pub fn http_client(env: &dyn Fn(&str) -> Option<String>) -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    if env("AWS_ENDPOINT_URL").is_some_and(|u| u.starts_with("http://")) {
        return aws_smithy_http_client::Builder::new().build_http();
    }
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Where providers that talk to IMDS get their HTTP client.
pub fn provider_config(http: &SharedHttpClient) -> ProviderConfig {
    ProviderConfig::default().with_http_client(http.clone())
}

/// How long one IMDS connection or read may take, in real seconds: 2, or `ELB_HOOKS_IMDS_TIMEOUT`
/// (a simulation sets it high: on a loaded machine its fake's answers can take longer, and
/// nothing of the outcome may depend on real time).
fn imds_timeout(env: &dyn Fn(&str) -> Option<String>) -> Duration {
    env("ELB_HOOKS_IMDS_TIMEOUT")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(Duration::from_secs(2), Duration::from_secs_f64)
}

/// The IMDS client of the instance id, the region and the credentials: two attempts, each
/// within [`imds_timeout`].
pub fn imds_client(http: &SharedHttpClient, env: &dyn Fn(&str) -> Option<String>) -> aws_config::imds::Client {
    let t = imds_timeout(env);
    aws_config::imds::Client::builder()
        .configure(&provider_config(http))
        .connect_timeout(t)
        .read_timeout(t)
        .max_attempts(2)
        .build()
}

/// The SDK configuration (region `None` when neither the environment nor IMDS gives one). `imds`:
/// the process's one IMDS client (its session token is fetched once). Every client built from
/// it, and the CodeDeploy calls, share one credentials cache: instance-profile credentials are
/// read from IMDS once per process, not once per client or call.
pub async fn sdk_config(
    http: SharedHttpClient,
    imds: aws_config::imds::Client,
    env: &dyn Fn(&str) -> Option<String>,
) -> SdkConfig {
    let providers = provider_config(&http);
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(
            ImdsRegionProvider::builder()
                .configure(&providers)
                .imds_client(imds.clone())
                .build(),
        )
        .region()
        .await;
    let credentials = CredentialsProviderChain::first_try("Environment", EnvironmentVariableCredentialsProvider::new())
        .or_else(
            "Ec2InstanceMetadata",
            ImdsCredentialsProvider::builder()
                .configure(&providers)
                .imds_client(imds)
                .build(),
        );
    let mut b = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            credentials,
        ))
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .time_source(aws_smithy_async::time::SharedTimeSource::default());
    b.set_sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep());
    b.set_region(region);
    b.set_endpoint_url(env("AWS_ENDPOINT_URL"));
    b.build()
}
