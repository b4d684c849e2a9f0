//! S3's REST protocol, for revisions: buckets and objects (multipart uploads included, as
//! `aws deploy push` makes them for large bundles) served by `s3s` over a folder (`s3s-fs`), path
//! style, beside the Query and JSON APIs on the same port. Requests are authenticated by s3s'
//! own SigV4 (S3 signs differently from the other services: unsigned and chunked payloads) with
//! the fake's credentials: the default pair, `--credentials` pairs, instance role credentials and
//! the world's identities.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::S3Result;

/// The fake's S3: the service and the folder it keeps objects in.
pub struct S3 {
    service: S3Service,
    root: PathBuf,
    /// Removed with the fake (a folder the fake made for itself).
    temporary: bool,
}

impl std::fmt::Debug for S3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3").field("root", &self.root).finish()
    }
}

/// The secret of an access key, as the fake knows its credentials.
pub type SecretLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

struct Keys(SecretLookup);

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        (self.0)(access_key).map(SecretKey::from).ok_or_else(|| {
            s3s::s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )
        })
    }
}

impl S3 {
    /// S3 over `root` (created if missing; `None`: a fresh temporary folder, removed with it),
    /// checking signatures with the secrets `secrets` knows.
    pub fn new(root: Option<PathBuf>, secrets: SecretLookup) -> anyhow::Result<S3> {
        let temporary = root.is_none();
        let root = root.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("fakeaws-s3-{}-{:016x}", std::process::id(), fastrand::u64(..)))
        });
        std::fs::create_dir_all(&root).map_err(|e| anyhow::anyhow!("S3 folder {}: {e}", root.display()))?;
        let fs = s3s_fs::FileSystem::new(&root).map_err(|e| anyhow::anyhow!("S3 folder {}: {e:?}", root.display()))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(Keys(secrets));
        Ok(S3 {
            service: builder.build(),
            root,
            temporary,
        })
    }

    /// Where objects are kept.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding an object (as s3s-fs lays them out: `ROOT/BUCKET/KEY`), if it exists and
    /// stays inside the folder.
    pub fn object_path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        if bucket.is_empty() || bucket.contains(['/', '\\']) || bucket.starts_with('.') {
            return None;
        }
        if key.split('/').any(|p| p == ".." || p == ".") {
            return None;
        }
        let path = self.root.join(bucket).join(key);
        path.is_file().then_some(path)
    }

    /// Serves one S3 request.
    pub async fn handle(&self, req: Request) -> Response {
        let resp = self.service.call(req.map(s3s::Body::http_body_unsync)).await;
        match resp {
            Ok(r) => r.map(axum::body::Body::new).into_response(),
            Err(e) => (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("fakeaws S3: {e:?}"),
            )
                .into_response(),
        }
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// S3's answer to a request signed (its `x-amz-date`, or `date` without one) more than 15 minutes
/// away from `now_ms` (real time), as S3 words it: 403 `RequestTimeTooSkewed` with the request's
/// time as sent, the server's time and the allowed skew. `None` when the time is within the window
/// or the request carries no time (s3s refuses it then).
pub fn too_skewed(headers: &axum::http::HeaderMap, now_ms: i64, request_id: &str) -> Option<Response> {
    let sent = headers
        .get("x-amz-date")
        .or_else(|| headers.get("date"))
        .and_then(|v| v.to_str().ok())?;
    let at = chrono::NaiveDateTime::parse_from_str(sent, "%Y%m%dT%H%M%SZ")
        .map(|t| t.and_utc())
        .or_else(|_| chrono::DateTime::parse_from_rfc2822(sent).map(|t| t.to_utc()))
        .ok()?;
    let max = crate::protocol::sigv4::MAX_SKEW_MS;
    if (at.timestamp_millis() - now_ms).abs() <= max {
        return None;
    }
    let server = chrono::DateTime::from_timestamp_millis(now_ms)?.format("%Y-%m-%dT%H:%M:%SZ");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message><RequestTime>{}</RequestTime><ServerTime>{server}</ServerTime><MaxAllowedSkewMilliseconds>{max}</MaxAllowedSkewMilliseconds><RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>",
        quick_xml::escape::escape(sent)
    );
    Some(
        (
            axum::http::StatusCode::FORBIDDEN,
            [(axum::http::header::CONTENT_TYPE, "application/xml")],
            body,
        )
            .into_response(),
    )
}

/// Whether a request is for S3: signed for `s3` (in its header or its query string), or an
/// unsigned request that is not the Query API's `POST /`.
pub fn is_s3(method: &axum::http::Method, path: &str, query: Option<&str>, auth: Option<&str>) -> bool {
    let scope_is_s3 = |cred: &str| cred.split('/').nth(3) == Some("s3");
    if let Some(a) = auth {
        return a
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split([',', ' ']).next())
            .is_some_and(scope_is_s3);
    }
    if let Some(q) = query {
        if let Some(c) = q.split('&').find_map(|p| p.strip_prefix("X-Amz-Credential=")) {
            return scope_is_s3(&c.replace("%2F", "/").replace("%2f", "/"));
        }
    }
    method != axum::http::Method::POST && path != "/"
}
