//! The one error type every AWS-facing handler returns, rendered as the AWS `ErrorResponse` XML.

use std::fmt;

/// An error as AWS reports it: HTTP status, error code, message, and whether the caller is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// HTTP status code.
    pub status: u16,
    /// The AWS error code, e.g. `ValidationError`.
    pub code: String,
    /// A human-readable message naming what is wrong.
    pub message: String,
}

impl AwsError {
    /// Any error.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        AwsError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// 400 `ValidationError`.
    pub fn validation(message: impl Into<String>) -> Self {
        AwsError::new(400, "ValidationError", message)
    }

    /// 400 `ValidationError` for a missing required parameter.
    pub fn missing(param: &str) -> Self {
        AwsError::validation(format!(
            "1 validation error detected: Value null at '{param}' failed to satisfy constraint: Member must not be null"
        ))
    }

    /// 400 `Throttling`.
    pub fn throttling() -> Self {
        AwsError::new(400, "Throttling", "Rate exceeded")
    }

    /// 503 `ServiceUnavailable`.
    pub fn unavailable() -> Self {
        AwsError::new(
            503,
            "ServiceUnavailable",
            "Service is unavailable. Please try again later.",
        )
    }

    /// 400 `ListenerNotFound`, ELBv2's words for one listener.
    pub fn listener_not_found(arn: &str) -> Self {
        AwsError::new(400, "ListenerNotFound", format!("Listener '{arn}' not found"))
    }

    /// 400 `TargetGroupNotFound`, ELBv2's words for one target group.
    pub fn target_group_not_found(arn: &str) -> Self {
        AwsError::new(400, "TargetGroupNotFound", format!("Target groups '{arn}' not found"))
    }

    /// 400 `LoadBalancerNotFound`, ELBv2's words.
    pub fn load_balancers_not_found() -> Self {
        AwsError::new(400, "LoadBalancerNotFound", "One or more load balancers not found")
    }

    /// 400 `LoadBalancerNotFound`, Classic ELB's words for one load balancer.
    pub fn classic_not_found(name: &str) -> Self {
        AwsError::new(
            400,
            "LoadBalancerNotFound",
            format!("There is no ACTIVE Load Balancer named '{name}'"),
        )
    }

    /// 400 `InvalidNextToken`, Auto Scaling's words for a token it did not hand out.
    pub fn invalid_next_token() -> Self {
        AwsError::new(400, "InvalidNextToken", "The token provided is not valid.")
    }

    /// `Sender` for client errors, `Receiver` for server errors.
    pub fn fault(&self) -> &'static str {
        if self.status >= 500 {
            "Receiver"
        } else {
            "Sender"
        }
    }

    /// The `ErrorResponse` document in the given namespace.
    pub fn to_xml(&self, namespace: &str, request_id: &str) -> String {
        let mut x = crate::protocol::xml::Xml::new();
        x.open(&format!("ErrorResponse xmlns=\"{namespace}\""));
        x.elem("Error", |x| {
            x.leaf("Type", self.fault())
                .leaf("Code", &self.code)
                .leaf("Message", &self.message);
        });
        x.leaf("RequestId", request_id);
        x.close("ErrorResponse");
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", x.finish())
    }
}

/// An [`AwsError`] as the Query API answers it: the `ErrorResponse` document in the service's
/// namespace, with the error's status, `text/xml` and the request id header.
pub struct ErrorResponse<'a> {
    pub error: &'a AwsError,
    pub namespace: &'a str,
    pub request_id: &'a str,
}

impl axum::response::IntoResponse for ErrorResponse<'_> {
    fn into_response(self) -> axum::response::Response {
        use axum::http::{HeaderValue, StatusCode};
        let status = StatusCode::from_u16(self.error.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, self.error.to_xml(self.namespace, self.request_id)).into_response();
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("text/xml"));
        if let Ok(v) = HeaderValue::from_str(self.request_id) {
            h.insert("x-amzn-requestid", v);
        }
        resp
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for AwsError {}
