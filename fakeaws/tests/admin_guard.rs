//! The admin API answers loopback peers; any other peer needs the configured admin token, and is
//! refused when there is none (the axum way: the router driven in-process with a peer address).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn fake() -> std::sync::Arc<fakeaws::Fake> {
    fakeaws::Fake::new(fakeaws::Options {
        clock: fakeaws::ClockMode::Manual,
        ..fakeaws::Options::default()
    })
}

async fn get(fake: &std::sync::Arc<fakeaws::Fake>, peer: [u8; 4], token: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::get("/_fakeaws/clock");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut req = req.body(Body::empty()).expect("request");
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((peer, 40000))));
    let resp = fakeaws::app(fake.clone()).oneshot(req).await.expect("router answers");
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).to_string())
}

#[tokio::test]
async fn loopback_peers_are_served_others_need_the_token() {
    let f = fake();
    assert_eq!(get(&f, [127, 0, 0, 1], None).await.0, StatusCode::OK);
    assert_eq!(get(&f, [127, 3, 2, 1], None).await.0, StatusCode::OK);
    let (s, body) = get(&f, [10, 0, 0, 5], None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        body.contains("loopback peers only") && body.contains("FAKEAWS_ADMIN_TOKEN"),
        "{body}"
    );
    // Without a configured token no token works.
    assert_eq!(get(&f, [10, 0, 0, 5], Some("guess")).await.0, StatusCode::FORBIDDEN);

    let f = fake();
    f.auth.set_admin_token("s3cret-admin".into());
    assert_eq!(get(&f, [10, 0, 0, 5], None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&f, [10, 0, 0, 5], Some("s3cret-admiN")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(get(&f, [10, 0, 0, 5], Some("s3cret-admin")).await.0, StatusCode::OK);
    assert!(!format!("{f:?}").contains("s3cret-admin"), "Debug shows no token");
}

async fn call(
    fake: &std::sync::Arc<fakeaws::Fake>,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = fakeaws::app(fake.clone()).oneshot(req).await.expect("router answers");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// A role's policies: the hooks' least-privilege policy until replaced through the admin API.
#[tokio::test]
async fn role_policies_are_shown_and_replaced() {
    let f = fake();
    let (s, v) = call(&f, "GET", "/_fakeaws/roles/web-role/policies", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["policies"][0]["Statement"].as_array().map(Vec::len), Some(6));
    let deny = r#"[{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}]"#;
    let (s, _) = call(&f, "POST", "/_fakeaws/roles/web-role/policies", deny).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = call(&f, "GET", "/_fakeaws/roles/web-role/policies", "").await;
    assert_eq!(v["policies"][0]["Statement"][0]["Effect"], "Deny");
    let (s, v) = call(
        &f,
        "POST",
        "/_fakeaws/roles/web-role/policies",
        r#"[{"Version": "2012-10-17"}]"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().is_some_and(|e| e.contains("no Statement")), "{v}");
}

/// Issue 28: a path under `/_fakeaws/` that is no admin route gets a JSON 404 naming it, not S3's
/// `InvalidBucketName`.
#[tokio::test]
async fn an_unknown_admin_path_is_a_json_404() {
    let mut req = Request::get("/_fakeaws/clocks").body(Body::empty()).expect("request");
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let resp = fakeaws::app(fake()).oneshot(req).await.expect("answer");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let msg = v["error"].as_str().unwrap_or_default();
    assert!(msg.contains("no admin route GET /_fakeaws/clocks"), "{msg}");
}
