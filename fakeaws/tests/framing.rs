//! The HTTP framing of the Query APIs, driven through the router with `oneshot` (no socket): the
//! result element first and `ResponseMetadata` last, the request id header, AWS-shaped errors for
//! unknown actions, wrong methods and non-form bodies.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn fake() -> std::sync::Arc<fakeaws::Fake> {
    fakeaws::Fake::new(fakeaws::Options {
        clock: fakeaws::ClockMode::Manual,
        // The framing of requests and answers, not their signatures (tested on their own).
        verify_signatures: false,
        ..fakeaws::Options::default()
    })
}

async fn send(req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = fakeaws::app(fake()).oneshot(req).await.expect("router answers");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&body).to_string())
}

fn form(body: &str) -> Request<Body> {
    Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test]
async fn a_result_comes_first_and_response_metadata_last() {
    let (status, headers, body) = send(form("Action=DescribeAutoScalingGroups&Version=2011-01-01")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get("content-type").map(|v| v.to_str().unwrap_or_default()),
        Some("text/xml")
    );
    let rid = headers
        .get("x-amzn-requestid")
        .expect("request id")
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeAutoScalingGroupsResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">"), "{body}");
    let result = body.find("<DescribeAutoScalingGroupsResult>").expect("result");
    let meta = body.find("<ResponseMetadata>").expect("metadata");
    assert!(result < meta, "{body}");
    assert!(body.contains(&format!("<RequestId>{rid}</RequestId>")), "{body}");
    assert!(body.ends_with("</DescribeAutoScalingGroupsResponse>"), "{body}");
}

#[tokio::test]
async fn a_failed_action_is_an_error_response_not_a_half_written_success() {
    let (status, _, body) = send(form(
        "Action=SuspendProcesses&Version=2011-01-01&AutoScalingGroupName=missing",
    ))
    .await;
    // The group does not exist: an ErrorResponse, not a half-written success.
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("<ErrorResponse") && body.contains("<Type>Sender</Type>"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_actions_wrong_methods_and_json_bodies_are_aws_shaped_errors() {
    let (status, _, body) = send(form("Action=NoSuchThing&Version=2011-01-01")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
    let (status, _, body) = send(Request::get("/").body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("<ErrorResponse"), "{body}");
    let json = Request::post("/")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"Action": "DescribeAutoScalingGroups"}"#))
        .expect("request");
    let (status, _, body) = send(json).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("<Code>UnsupportedMediaType</Code>"), "{body}");
    let (status, _, body) = send(form("Version=2011-01-01")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("<Code>MissingAction</Code>"), "{body}");
}
