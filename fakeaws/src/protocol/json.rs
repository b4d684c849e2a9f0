//! The AWS JSON 1.1 protocol (CodeDeploy): the action from `X-Amz-Target`, typed access to the
//! request document, and errors as `{"__type": ..., "message": ...}`.

use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::AwsError;

/// The content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The request document of one JSON call.
pub struct Body(pub Value);

impl Body {
    /// Parses a request body (an empty body is an empty document, as the SDKs may send).
    pub fn decode(bytes: &[u8]) -> Result<Body, AwsError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Value::Object(Default::default())));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v @ Value::Object(_)) => Ok(Body(v)),
            Ok(_) => Err(AwsError::new(
                400,
                "SerializationException",
                "The request body must be a JSON object.",
            )),
            Err(e) => Err(AwsError::new(
                400,
                "SerializationException",
                format!("The request body is not valid JSON: {e}"),
            )),
        }
    }

    /// A member, if present and not null.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// A string member; a member of another type is refused naming it.
    pub fn str(&self, key: &str) -> Result<Option<&str>, AwsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(key, "a string")),
        }
    }

    /// A required string member: missing, it is `missing` (the service's own exception).
    pub fn required(&self, key: &str, missing: &str, message: &str) -> Result<&str, AwsError> {
        match self.str(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(AwsError::new(400, missing, message)),
        }
    }

    /// A boolean member.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, AwsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(key, "a boolean")),
        }
    }

    /// A list of strings.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>, AwsError> {
        strings_of(self.get(key), key)
    }
}

/// A list of strings from any value (`key` names it in errors).
pub fn strings_of(v: Option<&Value>, key: &str) -> Result<Option<Vec<String>>, AwsError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong_type(key, "a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(wrong_type(key, "a list of strings")),
    }
}

/// A string member of a nested object.
pub fn str_of<'a>(v: &'a Value, key: &str, path: &str) -> Result<Option<&'a str>, AwsError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(&format!("{path}.{key}"), "a string")),
    }
}

fn wrong_type(key: &str, what: &str) -> AwsError {
    AwsError::new(400, "SerializationException", format!("Member '{key}' must be {what}."))
}

/// A JSON answer: 200 with the document, or the error's status with `__type` and `message`.
pub fn response(outcome: Result<Value, AwsError>, request_id: &str) -> Response {
    let (status, body) = match outcome {
        Ok(v) => (200, v),
        Err(e) => (e.status, serde_json::json!({ "__type": e.code, "message": e.message })),
    };
    let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    (
        status,
        [
            ("content-type", CONTENT_TYPE.to_string()),
            ("x-amzn-RequestId", request_id.to_string()),
        ],
        body.to_string(),
    )
        .into_response()
}
