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

/// Reads answered again at the same state of the world are the same bytes (the answer is built
/// once), and a change between two reads at the same simulated instant shows in the second.
#[tokio::test]
async fn a_read_after_a_change_at_the_same_instant_shows_the_change() {
    let fake = fake();
    let app = fakeaws::app(fake.clone());
    let call = |body: &str| {
        let app = app.clone();
        let req = form(body);
        async move {
            let resp = app.oneshot(req).await.expect("router answers");
            let body = resp.into_body().collect().await.expect("body").to_bytes();
            String::from_utf8_lossy(&body).to_string()
        }
    };
    let create = "Action=CreateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=web&MinSize=0&MaxSize=4&DesiredCapacity=0&AvailabilityZones.member.1=us-east-1a&LaunchTemplate.LaunchTemplateName=lt";
    call(create).await;
    let read = "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=web";
    let min = |xml: &str| {
        xml.split("<MinSize>")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .map(str::to_string)
    };
    let first = call(read).await;
    assert_eq!(min(&first).as_deref(), Some("0"), "{first}");
    let strip_id = |xml: &str| xml.split("<ResponseMetadata>").next().unwrap_or_default().to_string();
    assert_eq!(strip_id(&call(read).await), strip_id(&first));
    call("Action=UpdateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=web&MinSize=2&DesiredCapacity=2").await;
    let after = call(read).await;
    assert_eq!(min(&after).as_deref(), Some("2"), "{after}");
    let calls = fake.metrics.call_counts();
    assert_eq!(calls.get("autoscaling:DescribeAutoScalingGroups"), Some(&3));
}
