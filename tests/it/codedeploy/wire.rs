//! Malformed CodeDeploy requests and a call signed for another service.

use crate::util::*;

/// Malformed CodeDeploy requests: each a 400 with the service's error document naming what is
/// wrong, never a panic or a half-answer.
#[tokio::test]
async fn malformed_json_requests_are_named() {
    let r = start_with(fakeaws::Options {
        clock: fakeaws::ClockMode::Manual,
        verify_signatures: false,
        ..fakeaws::Options::default()
    })
    .await;
    let call = |target: &'static str, body: &'static str| {
        let url = r.url.clone();
        async move {
            let (s, rid, text) = raw_http(
                &url,
                "POST",
                "/",
                body,
                &[("x-amz-target", target), ("content-type", "application/x-amz-json-1.1")],
            )
            .await;
            assert!(rid.is_some(), "x-amzn-RequestId on every answer");
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON answer: {text}"));
            (
                s,
                v["__type"].as_str().unwrap_or_default().to_string(),
                v["message"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    let cases: [(&str, &str, &str, &str); 7] = [
        (
            "CodeDeploy_20141006.GetApplication",
            "not json",
            "SerializationException",
            "not valid JSON",
        ),
        (
            "CodeDeploy_20141006.GetApplication",
            "[1, 2]",
            "SerializationException",
            "must be a JSON object",
        ),
        (
            "CodeDeploy_20141006.GetApplication",
            r#"{"applicationName": 5}"#,
            "SerializationException",
            "'applicationName' must be a string",
        ),
        (
            "CodeDeploy_20141006.GetApplication",
            "{}",
            "ApplicationNameRequiredException",
            "application names",
        ),
        ("CodeDeploy_20141006.Bogus", "{}", "UnknownOperationException", "Bogus"),
        (
            "Other_20200101.Thing",
            "{}",
            "UnknownOperationException",
            "Other_20200101.Thing",
        ),
        (
            "CodeDeploy_20141006.ListDeploymentConfigs",
            r#"{"nextToken": "abc"}"#,
            "InvalidNextTokenException",
            "invalid format",
        ),
    ];
    for (target, body, code, words) in cases {
        let (s, got, message) = call(target, body).await;
        assert_eq!((s, got.as_str()), (400, code), "{target} {body}: {message}");
        assert!(message.contains(words), "{target} {body}: {message}");
    }
    // Nothing was created by any of them.
    let (s, _, text) = raw_http(
        &r.url,
        "POST",
        "/",
        "{}",
        &[("x-amz-target", "CodeDeploy_20141006.ListApplications")],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).expect("json")["applications"],
        serde_json::json!([])
    );
}

/// A CodeDeploy call signed for another service is refused before it is read.
#[tokio::test]
async fn a_call_signed_for_another_service_is_refused() {
    let r = start().await;
    let body = r#"{"applicationName": "web"}"#;
    let host = r.url.trim_start_matches("http://");
    let signed = fakeaws::protocol::sigv4::sign_query_as(
        "autoscaling",
        fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID,
        fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
        "us-east-1",
        host,
        body,
    );
    let mut headers = vec![
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-amz-target", "CodeDeploy_20141006.CreateApplication"),
    ];
    headers.extend(signed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (s, _, text) = raw_http(&r.url, "POST", "/", body, &headers).await;
    assert_eq!(s, 400, "{text}");
    assert!(
        text.contains("InvalidSignatureException") && text.contains("signed for service 'autoscaling'"),
        "{text}"
    );
    assert!(r.fake.world().codedeploy_applications().next().is_none());
}
