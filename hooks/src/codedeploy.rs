//! A minimal CodeDeploy client: the three read calls the hooks make (ListDeployments,
//! ListDeploymentTargets, GetDeploymentGroup), as JSON 1.1 over the SDK's own orchestrator, HTTP client, credentials
//! and SigV4 signer. The service's SDK crate would cost each binary about 440 KB; these calls cost
//! a few.

use std::borrow::Cow;

use aws_config::SdkConfig;
use aws_runtime::auth::sigv4::{SigV4AuthScheme, SCHEME_ID};
use aws_runtime::auth::SigV4OperationSigningConfig;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime_api::client::auth::static_resolver::StaticAuthSchemeOptionResolver;
use aws_smithy_runtime_api::client::auth::{
    AuthSchemeOptionResolverParams, SharedAuthScheme, SharedAuthSchemeOptionResolver,
};
use aws_smithy_runtime_api::client::identity::SharedIdentityResolver;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_runtime_api::client::runtime_plugin::StaticRuntimePlugin;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::Layer;
use aws_smithy_types::error::ErrorMetadata;
use aws_types::region::SigningRegion;
use aws_types::SigningName;
use serde_json::Value;

/// A CodeDeploy endpoint with the SDK configuration's credentials.
#[derive(Debug, Clone)]
pub struct CodeDeploy {
    sdk: SdkConfig,
    endpoint: String,
}

impl CodeDeploy {
    /// CodeDeploy in the configuration's region: `AWS_ENDPOINT_URL_CODEDEPLOY`, else the
    /// configuration's endpoint (`AWS_ENDPOINT_URL`), else AWS's.
    pub fn new(sdk: &SdkConfig, env: &dyn Fn(&str) -> Option<String>) -> CodeDeploy {
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        let endpoint = env("AWS_ENDPOINT_URL_CODEDEPLOY")
            .or_else(|| sdk.endpoint_url().map(str::to_string))
            .unwrap_or_else(|| format!("https://codedeploy.{region}.amazonaws.com"));
        CodeDeploy {
            sdk: sdk.clone(),
            endpoint,
        }
    }

    /// Calls `action` with `input`; the answer's document, or the service's error (its code and
    /// message, as the SDK clients report them).
    pub async fn call(
        &self,
        action: &'static str,
        input: Value,
    ) -> Result<Value, SdkError<ErrorMetadata, HttpResponse>> {
        let mut layer = Layer::new("codedeploy");
        layer.store_put(AuthSchemeOptionResolverParams::new(()));
        layer.store_put(SigV4OperationSigningConfig {
            region: self.sdk.region().map(|r| SigningRegion::from(r.clone())),
            name: Some(SigningName::from_static("codedeploy")),
            ..Default::default()
        });
        let mut components = RuntimeComponentsBuilder::new("codedeploy")
            .with_auth_scheme_option_resolver(Some(SharedAuthSchemeOptionResolver::new(
                StaticAuthSchemeOptionResolver::new(vec![SCHEME_ID]),
            )))
            .with_auth_scheme(SharedAuthScheme::new(SigV4AuthScheme::new()))
            .with_identity_cache(self.sdk.identity_cache());
        if let Some(creds) = self.sdk.credentials_provider() {
            components = components.with_identity_resolver(SCHEME_ID, SharedIdentityResolver::new(creds));
        }
        let mut op = Operation::builder()
            .service_name("codedeploy")
            .operation_name(Cow::Borrowed(action))
            .endpoint_url(&self.endpoint)
            .no_retry()
            .timeout_config(
                self.sdk
                    .timeout_config()
                    .cloned()
                    .unwrap_or_else(aws_smithy_types::timeout::TimeoutConfig::disabled),
            )
            .runtime_plugin(
                StaticRuntimePlugin::new()
                    .with_config(layer.freeze())
                    .with_runtime_components(components),
            );
        if let Some(http) = self.sdk.http_client() {
            op = op.http_client(http);
        }
        if let Some(sleep) = self.sdk.sleep_impl() {
            op = op.sleep_impl(sleep);
        }
        let op = op
            .serializer(move |input: Value| {
                let mut req = HttpRequest::new(SdkBody::from(input.to_string()));
                req.set_method("POST")?;
                req.set_uri("/")?;
                let h = req.headers_mut();
                h.insert("content-type", "application/x-amz-json-1.1");
                h.insert("x-amz-target", format!("CodeDeploy_20141006.{action}"));
                Ok(req)
            })
            .deserializer(|resp: &HttpResponse| {
                let body = resp.body().bytes().unwrap_or_default();
                let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                if resp.status().is_success() {
                    return Ok(doc);
                }
                // `__type` may carry a namespace (`ns#Code`); the header says it too.
                let code = doc["__type"]
                    .as_str()
                    .or_else(|| resp.headers().get("x-amzn-errortype"))
                    .map(|c| {
                        c.rsplit('#')
                            .next()
                            .unwrap_or(c)
                            .split(':')
                            .next()
                            .unwrap_or(c)
                            .to_string()
                    });
                let message = doc["message"].as_str().or_else(|| doc["Message"].as_str());
                let mut e = ErrorMetadata::builder();
                if let Some(c) = &code {
                    e = e.code(c);
                }
                if let Some(m) = message {
                    e = e.message(m);
                }
                Err(OrchestratorError::operation(e.build()))
            })
            .build();
        op.invoke(input).await
    }
}
