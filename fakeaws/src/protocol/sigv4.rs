//! SigV4 verification of requests (the Query APIs and CodeDeploy's JSON), as AWS answers them: the `Authorization` header is
//! parsed, the access key looked up among the credentials the fake knows (the default pair, pairs
//! given with `--credentials`, and the role credentials each instance's metadata service hands
//! out, with their session tokens and expiry), and the signature recomputed with the AWS SDK's own
//! signer (`aws-sigv4`) over exactly the headers the client signed.

use std::collections::HashMap;
use std::time::SystemTime;

use chrono::Timelike;

use axum::http::HeaderMap;

use crate::protocol::error::AwsError;

/// The documented default key pair, known to every fake (for quick CLI use).
pub const DEFAULT_ACCESS_KEY_ID: &str = "AKIAFAKEAWSDEFAULT01";
/// The secret of [`DEFAULT_ACCESS_KEY_ID`].
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "fakeaws-default-secret-access-key";

/// A credential the fake accepts (its `Debug` shows neither the secret nor the token).
#[derive(Clone)]
pub struct Known {
    pub secret: String,
    /// The session token that must come with the key (role credentials).
    pub token: Option<String>,
    /// Expiry, in real milliseconds since the epoch (SDKs compare it with the wall clock).
    pub expires_ms: Option<i64>,
    /// Whose policies govern what the key may do (`None`: anything, as the default pair and
    /// `--credentials` pairs may).
    pub principal: Option<Principal>,
}

/// Who a credential acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// The role's or user's name.
    pub name: String,
    /// As AccessDenied names it: `arn:aws:sts::ACCOUNT:assumed-role/ROLE/INSTANCE` or
    /// `arn:aws:iam::ACCOUNT:user/NAME`.
    pub arn: String,
}

/// An instance role's session or a static identity's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Role,
    User,
}

impl std::fmt::Debug for Known {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Known")
            .field("secret", &"<redacted>")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("expires_ms", &self.expires_ms)
            .field("principal", &self.principal)
            .finish()
    }
}

/// The credentials a fake accepts, by access key id.
pub type Keyring = HashMap<String, Known>;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse(auth: &str) -> Result<Authorization<'_>, AwsError> {
    let incomplete = |what: &str| {
        AwsError::new(
            400,
            "IncompleteSignature",
            format!("Authorization header requires '{what}' parameter. Authorization={auth}"),
        )
    };
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(|| {
        AwsError::new(
            400,
            "IncompleteSignature",
            format!(
                "Unsupported AWS 'algorithm': {}",
                auth.split(' ').next().unwrap_or_default()
            ),
        )
    })?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    // Parsed exactly as the SDKs write it (`ALGORITHM Credential=..., SignedHeaders=...,
    // Signature=...`, the space after each comma optional): any other byte is a change.
    let parts = rest.strip_prefix(' ').map(|r| r.split(',')).into_iter().flatten();
    for (i, part) in parts.enumerate() {
        let part = if i > 0 {
            part.strip_prefix(' ').unwrap_or(part)
        } else {
            part
        };
        let slot = if let Some(v) = part.strip_prefix("Credential=") {
            (&mut credential, v)
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            (&mut signed, v)
        } else if let Some(v) = part.strip_prefix("Signature=") {
            (&mut signature, v)
        } else {
            return Err(mismatch());
        };
        if slot.0.replace(slot.1).is_some() {
            return Err(mismatch());
        }
    }
    let credential = credential.ok_or_else(|| incomplete("Credential"))?;
    let signed = signed.ok_or_else(|| incomplete("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| incomplete("Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope[..] else {
        return Err(AwsError::new(
            400,
            "IncompleteSignature",
            format!("Credential should be scoped to a valid region, not '{credential}'."),
        ));
    };
    // SigV4 names the signed headers in lower case; another spelling is not what was signed.
    let signed_headers: Vec<&str> = signed.split(';').collect();
    if signed_headers
        .iter()
        .any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err(mismatch());
    }
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

fn mismatch() -> AwsError {
    AwsError::new(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    )
}

fn invalid_token() -> AwsError {
    AwsError::new(
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    )
}

/// How far a request's `X-Amz-Date` may be from the fake's time, either way, as on AWS.
pub const MAX_SKEW_MS: i64 = 15 * 60 * 1000;

/// AWS's compact form of a signing time (`20130524T000000Z`).
const COMPACT: &str = "%Y%m%dT%H%M%SZ";

/// Refuses a request signed more than [`MAX_SKEW_MS`] away from `now_ms` (real time: a signature
/// is a real client's claim, whatever the simulated clock says), with the Query APIs' code and
/// message (`SignatureDoesNotMatch`, "Signature expired: ..." or "Signature not yet current:
/// ..."); the JSON protocol renames the code.
fn check_age(signed: chrono::DateTime<chrono::Utc>, now_ms: i64) -> Result<(), AwsError> {
    let Some(now) = chrono::DateTime::from_timestamp_millis(now_ms) else {
        return Ok(());
    };
    let now = now.with_nanosecond(0).unwrap_or(now);
    let window = chrono::Duration::milliseconds(MAX_SKEW_MS);
    let f = |t: chrono::DateTime<chrono::Utc>| t.format(COMPACT).to_string();
    if signed < now - window {
        return Err(AwsError::new(
            403,
            "SignatureDoesNotMatch",
            format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                f(signed),
                f(now - window),
                f(now)
            ),
        ));
    }
    if signed > now + window {
        return Err(AwsError::new(
            403,
            "SignatureDoesNotMatch",
            format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                f(signed),
                f(now + window),
                f(now)
            ),
        ));
    }
    Ok(())
}

/// Checks one request's signature. `now_ms`: real time, for session expiry and the signature's age. Returns the access key
/// id that signed it.
pub fn verify(
    keys: impl Fn(&str) -> Option<Known>,
    now_ms: i64,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Known, AwsError> {
    let Some(auth) = headers.get("authorization") else {
        return Err(AwsError::new(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    };
    let auth = auth.to_str().map_err(|_| mismatch())?;
    let a = parse(auth)?;
    let known = keys(a.access_key).ok_or_else(invalid_token)?;
    let sent_token = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok());
    if let Some(token) = &known.token {
        if sent_token != Some(token.as_str()) {
            return Err(invalid_token());
        }
        if known.expires_ms.is_some_and(|e| e <= now_ms) {
            return Err(AwsError::new(
                403,
                "ExpiredToken",
                "The security token included in the request is expired",
            ));
        }
    }
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(mismatch)?;
    let time = chrono::NaiveDateTime::parse_from_str(amz_date, COMPACT)
        .map_err(|_| mismatch())?
        .and_utc();
    // The signer writes the time it is given, not the header: a header chrono reads leniently
    // (a space for a leading zero) must not verify as the date it was signed with.
    if time.format(COMPACT).to_string() != amz_date || !amz_date.starts_with(a.date) {
        return Err(mismatch());
    }
    check_age(time, now_ms)?;
    // Exactly the headers the client signed, every value of each.
    let mut signable: Vec<(&str, &str)> = Vec::new();
    for name in &a.signed_headers {
        let mut any = false;
        for v in headers.get_all(*name) {
            signable.push((name, v.to_str().map_err(|_| mismatch())?));
            any = true;
        }
        if !any {
            return Err(mismatch());
        }
    }
    let host = headers.get("host").and_then(|v| v.to_str().ok()).ok_or_else(mismatch)?;
    let uri = format!("http://{host}{path_and_query}");
    let mut settings = aws_sigv4::http_request::SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    let scope = Scope {
        access_key: a.access_key,
        secret: &known.secret,
        region: a.region,
        service: a.service,
        time: SystemTime::from(time),
    };
    let out = sign(&scope, method, &uri, &signable, body, settings).ok_or_else(mismatch)?;
    // Compared in constant time: how much of a guess matched leaks nothing.
    if !constant_time_eq(out.signature().as_bytes(), a.signature.as_bytes()) {
        return Err(mismatch());
    }
    Ok(known)
}

/// Signs a Query API request (`POST /`, form body) for clients without an SDK (tests, the bench):
/// the `x-amz-date` and `authorization` headers to send along with `host` and
/// `content-type: application/x-www-form-urlencoded`. The service is the one the body's `Version`
/// belongs to.
pub fn sign_query(access_key: &str, secret: &str, region: &str, host: &str, body: &str) -> Vec<(String, String)> {
    let service = if body.contains("Version=2011-01-01") {
        "autoscaling"
    } else {
        "elasticloadbalancing"
    };
    sign_query_as(service, access_key, secret, region, host, body)
}

/// [`sign_query`] for a given service's credential scope.
pub fn sign_query_as(
    service: &str,
    access_key: &str,
    secret: &str,
    region: &str,
    host: &str,
    body: &str,
) -> Vec<(String, String)> {
    let headers = [("content-type", "application/x-www-form-urlencoded"), ("host", host)];
    let scope = Scope {
        access_key,
        secret,
        region,
        service,
        time: SystemTime::now(),
    };
    let settings = aws_sigv4::http_request::SigningSettings::default();
    match sign(
        &scope,
        "POST",
        &format!("http://{host}/"),
        &headers,
        body.as_bytes(),
        settings,
    ) {
        Some(out) => out
            .output()
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        None => Vec::new(),
    }
}

/// Who signs, for which region and service, when.
struct Scope<'a> {
    access_key: &'a str,
    secret: &'a str,
    region: &'a str,
    service: &'a str,
    time: SystemTime,
}

/// SigV4 over exactly these headers and body, with the SDK's signer (for checking and for signing).
fn sign(
    scope: &Scope<'_>,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    settings: aws_sigv4::http_request::SigningSettings,
) -> Option<aws_sigv4::SigningOutput<aws_sigv4::http_request::SigningInstructions>> {
    let request = aws_sigv4::http_request::SignableRequest::new(
        method,
        uri,
        headers.iter().copied(),
        aws_sigv4::http_request::SignableBody::Bytes(body),
    )
    .ok()?;
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new(scope.access_key, scope.secret, None, None, "fakeaws").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(scope.time)
        .settings(settings)
        .build()
        .ok()?
        .into();
    aws_sigv4::http_request::sign(request, &params).ok()
}

/// Equality that takes as long however much of `b` matches `a` (secrets, signatures, tokens).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_headers_are_parsed_or_refused_with_aws_codes() {
        let a = parse("AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/autoscaling/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc")
            .expect("parses");
        assert_eq!(
            (a.access_key, a.region, a.service),
            ("AKID", "us-east-1", "autoscaling")
        );
        assert_eq!(a.signed_headers, ["content-type", "host", "x-amz-date"]);
        let e =
            parse("AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/autoscaling/aws4_request, SignedHeaders=host")
                .err()
                .expect("refused");
        assert_eq!(e.code, "IncompleteSignature");
        assert!(parse("AWS AKID:sig").is_err());
    }

    fn signed(body: &str, secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", "127.0.0.1:4566".parse().expect("host"));
        h.insert("content-type", "application/x-www-form-urlencoded".parse().expect("ct"));
        for (k, v) in sign_query(DEFAULT_ACCESS_KEY_ID, secret, "us-east-1", "127.0.0.1:4566", body) {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        h
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    #[test]
    fn a_signature_older_or_newer_than_fifteen_minutes_is_refused_as_aws_words_it() {
        let body = "Action=DescribeAutoScalingGroups&Version=2011-01-01";
        let h = signed(body, DEFAULT_SECRET_ACCESS_KEY);
        let ok = |now_ms: i64| verify(keyring(), now_ms, "POST", "/", &h, body.as_bytes());
        let date = h["x-amz-date"].to_str().expect("date").to_string();
        let at = chrono::NaiveDateTime::parse_from_str(&date, COMPACT)
            .expect("parse")
            .and_utc()
            .timestamp_millis();
        assert!(ok(at + MAX_SKEW_MS).is_ok() && ok(at - MAX_SKEW_MS).is_ok());
        let e = ok(at + MAX_SKEW_MS + 1000).expect_err("expired");
        let later = |s: i64| {
            chrono::DateTime::from_timestamp_millis(at + s * 1000)
                .expect("time")
                .format(COMPACT)
                .to_string()
        };
        assert_eq!((e.status, e.code.as_str()), (403, "SignatureDoesNotMatch"));
        assert_eq!(
            e.message,
            format!(
                "Signature expired: {date} is now earlier than {} ({} - 15 min.)",
                later(1),
                later(901)
            )
        );
        let e = ok(at - MAX_SKEW_MS - 1000).expect_err("not yet");
        assert_eq!(
            e.message,
            format!(
                "Signature not yet current: {date} is still later than {} ({} + 15 min.)",
                later(-1),
                later(-901)
            )
        );
    }

    fn keyring() -> impl Fn(&str) -> Option<Known> {
        let ring = Keyring::from([(
            DEFAULT_ACCESS_KEY_ID.to_string(),
            Known {
                secret: DEFAULT_SECRET_ACCESS_KEY.into(),
                token: None,
                expires_ms: None,
                principal: None,
            },
        )]);
        move |k| ring.get(k).cloned()
    }

    #[test]
    fn a_signed_request_verifies_and_a_wrong_secret_does_not() {
        let body = "Action=DescribeAutoScalingGroups&Version=2011-01-01";
        let h = signed(body, DEFAULT_SECRET_ACCESS_KEY);
        assert_eq!(
            verify(keyring(), now(), "POST", "/", &h, body.as_bytes())
                .map(|k| k.secret)
                .ok()
                .as_deref(),
            Some(DEFAULT_SECRET_ACCESS_KEY)
        );
        let e = verify(keyring(), now(), "POST", "/", &signed(body, "wrong"), body.as_bytes()).expect_err("refused");
        assert_eq!((e.status, e.code.as_str()), (403, "SignatureDoesNotMatch"));
        // The body is part of what is signed.
        let e = verify(
            keyring(),
            now(),
            "POST",
            "/",
            &h,
            b"Action=DeleteAutoScalingGroup&Version=2011-01-01",
        )
        .expect_err("refused");
        assert_eq!(e.code, "SignatureDoesNotMatch");
    }

    #[test]
    fn a_missing_header_is_missing_authentication() {
        let e = verify(|_| None, 0, "POST", "/", &HeaderMap::new(), b"").expect_err("refused");
        assert_eq!((e.status, e.code.as_str()), (403, "MissingAuthenticationToken"));
    }
}
