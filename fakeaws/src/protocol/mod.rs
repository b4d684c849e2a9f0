//! The wire protocol: decoding Query parameters ([`query`]), writing XML ([`xml`]), the JSON 1.1 protocol ([`json`]), and the one
//! error type that renders AWS's `ErrorResponse` ([`error`]); SigV4 verification of every
//! request, Query and JSON ([`sigv4`]). What a handler produces is an
//! [`Outcome`].

pub(crate) mod error;
pub(crate) mod json;
pub(crate) mod query;
pub mod sigv4;
pub(crate) mod xml;

/// What a handler produces: the inside of `<ActionResult>`, or `None` for actions whose model has
/// no output shape (only `ResponseMetadata` is sent).
pub type Outcome = Result<Option<String>, error::AwsError>;
