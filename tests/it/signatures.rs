//! SigV4, verified as AWS does: the Rust SDK, boto3 and the AWS CLI with a wrong secret, an unknown
//! key, a wrong or expired session token; and every byte of a signed request that changes makes
//! the fake refuse it.

use std::process::Command;

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use fakeaws::protocol::sigv4::{sign_query, Known, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY};

use crate::botocore::{clean_env, python};
use crate::util::*;

async fn client(url: &str, key: &str, secret: &str, token: Option<&str>) -> aws_sdk_autoscaling::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            key,
            secret,
            token.map(str::to_string),
            None,
            "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_autoscaling::Client::new(&conf)
}

/// The error code a DescribeAutoScalingGroups call gets (`None`: it succeeded).
async fn code(c: &aws_sdk_autoscaling::Client) -> Option<String> {
    match c.describe_auto_scaling_groups().send().await {
        Ok(_) => None,
        Err(e) => Some(e.code().unwrap_or("(none)").to_string()),
    }
}

#[tokio::test]
async fn the_rust_sdk_gets_awss_answers_for_each_credential_problem() {
    let r = start().await;
    let u = &r.url;
    assert_eq!(
        code(&client(u, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, None).await).await,
        None
    );
    assert_eq!(
        code(&client(u, DEFAULT_ACCESS_KEY_ID, "not-the-secret", None).await)
            .await
            .as_deref(),
        Some("SignatureDoesNotMatch")
    );
    assert_eq!(
        code(&client(u, "AKIAUNKNOWN000000000", "x", None).await)
            .await
            .as_deref(),
        Some("InvalidClientTokenId")
    );
    // Temporary credentials: the session token must come along, and must not have expired.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    r.fake.add_credentials(
        "ASIASESSION000000001",
        Known {
            secret: "s1".into(),
            token: Some("token-1".into()),
            expires_ms: Some(now + 3_600_000),
            role: None,
        },
    );
    r.fake.add_credentials(
        "ASIAEXPIRED000000001",
        Known {
            secret: "s2".into(),
            token: Some("token-2".into()),
            expires_ms: Some(now - 1_000),
            role: None,
        },
    );
    assert_eq!(
        code(&client(u, "ASIASESSION000000001", "s1", Some("token-1")).await).await,
        None
    );
    assert_eq!(
        code(&client(u, "ASIASESSION000000001", "s1", Some("token-x")).await)
            .await
            .as_deref(),
        Some("InvalidClientTokenId")
    );
    assert_eq!(
        code(&client(u, "ASIASESSION000000001", "s1", None).await)
            .await
            .as_deref(),
        Some("InvalidClientTokenId")
    );
    assert_eq!(
        code(&client(u, "ASIAEXPIRED000000001", "s2", Some("token-2")).await)
            .await
            .as_deref(),
        Some("ExpiredToken")
    );
    // Off, anything goes (the old behaviour, for users who want it).
    r.fake.set_verify_signatures(false);
    assert_eq!(code(&client(u, "AKIAUNKNOWN000000000", "x", None).await).await, None);
}

#[tokio::test]
async fn an_unsigned_request_is_missing_authentication() {
    let r = start().await;
    let (s, _, body) = raw_http(
        &r.url,
        "POST",
        "/",
        "Action=DescribeAutoScalingGroups&Version=2011-01-01",
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("<Code>MissingAuthenticationToken</Code>"), "{body}");
    assert!(
        body.contains("<Message>Request is missing Authentication Token</Message>"),
        "{body}"
    );
}

/// Every byte of what was signed (the body, the date, the signature itself) changed once: each
/// variant is refused, and the untouched request is served.
#[tokio::test]
async fn a_changed_byte_anywhere_in_a_signed_request_is_refused() {
    let r = start().await;
    let host = r.url.trim_start_matches("http://").to_string();
    let body = "Action=DescribeAutoScalingGroups&Version=2011-01-01&MaxRecords=10";
    let signed = sign_query(
        DEFAULT_ACCESS_KEY_ID,
        DEFAULT_SECRET_ACCESS_KEY,
        "us-east-1",
        &host,
        body,
    );
    let send = |body: String, headers: Vec<(String, String)>| {
        let url = r.url.clone();
        async move {
            let mut h: Vec<(&str, &str)> = vec![("content-type", "application/x-www-form-urlencoded")];
            h.extend(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            raw_http(&url, "POST", "/", &body, &h).await.0
        }
    };
    assert_eq!(send(body.to_string(), signed.clone()).await, 200);
    let flip = |c: u8| {
        if c == b'1' {
            b'2'
        } else if c.is_ascii_digit() {
            b'1'
        } else if c == b'a' {
            b'b'
        } else {
            b'a'
        }
    };
    let mut refused = 0;
    for i in 0..body.len() {
        let mut b = body.as_bytes().to_vec();
        b[i] = flip(b[i]);
        let status = send(String::from_utf8(b).expect("ascii"), signed.clone()).await;
        assert_eq!(status, 403, "body byte {i} changed");
        refused += 1;
    }
    for (name, value) in &signed {
        // The signature's own bytes, and the date's digits.
        let start = value.find("Signature=").map(|p| p + "Signature=".len()).unwrap_or(0);
        for i in start..value.len() {
            if !value.as_bytes()[i].is_ascii_alphanumeric() {
                continue;
            }
            let mut v = value.as_bytes().to_vec();
            v[i] = flip(v[i]);
            let mut headers = signed.clone();
            for h in headers.iter_mut().filter(|(k, _)| k == name) {
                h.1 = String::from_utf8(v.clone()).expect("ascii");
            }
            let status = send(body.to_string(), headers).await;
            assert_eq!(status, 403, "{name} byte {i} changed");
            refused += 1;
        }
    }
    assert!(refused > 100, "{refused} variants");
}

fn cli(url: &str, key: &str, secret: &str) -> String {
    let mut cmd = Command::new("aws");
    cmd.args(["autoscaling", "describe-auto-scaling-groups"]);
    clean_env(&mut cmd, url);
    cmd.env("AWS_ACCESS_KEY_ID", key).env("AWS_SECRET_ACCESS_KEY", secret);
    let out = cmd.output().expect("the AWS CLI runs (install awscli)");
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn boto3(url: &str, key: &str, secret: &str) -> String {
    let mut cmd = Command::new(python());
    cmd.arg("-c").arg(
        "import boto3, botocore\n\
         try:\n    boto3.client('elbv2').describe_load_balancers(); print('ok')\n\
         except botocore.exceptions.ClientError as e:\n    print(e.response['Error']['Code'])",
    );
    clean_env(&mut cmd, url);
    cmd.env("AWS_ACCESS_KEY_ID", key).env("AWS_SECRET_ACCESS_KEY", secret);
    let out = cmd.output().expect("python3 runs (install python3 with boto3)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn boto3_and_the_cli_are_verified_too() {
    let r = start().await;
    let url = r.url.clone();
    let (b_ok, b_secret, b_key, c_ok, c_secret, c_key) = tokio::task::spawn_blocking(move || {
        (
            boto3(&url, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY),
            boto3(&url, DEFAULT_ACCESS_KEY_ID, "wrong"),
            boto3(&url, "AKIAUNKNOWN000000000", "x"),
            cli(&url, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY),
            cli(&url, DEFAULT_ACCESS_KEY_ID, "wrong"),
            cli(&url, "AKIAUNKNOWN000000000", "x"),
        )
    })
    .await
    .expect("join");
    assert_eq!(b_ok, "ok");
    assert_eq!(b_secret, "SignatureDoesNotMatch");
    assert_eq!(b_key, "InvalidClientTokenId");
    assert!(c_ok.is_empty(), "{c_ok}");
    assert!(
        c_secret.contains("(SignatureDoesNotMatch)") && c_secret.contains("does not match the signature you provided"),
        "{c_secret}"
    );
    assert!(
        c_key.contains("(InvalidClientTokenId)") && c_key.contains("security token included in the request is invalid"),
        "{c_key}"
    );
}
