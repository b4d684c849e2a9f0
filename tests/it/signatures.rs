//! SigV4, verified as AWS does: the Rust SDK, boto3 and the AWS CLI with a wrong secret, an unknown
//! key, a wrong or expired session token, a body changed in transit; and every byte of a signed
//! request that changes makes the fake refuse it.

use std::process::Command;

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use fakeaws::protocol::sigv4::{sign_query, Known, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY};
use proptest::prelude::*;

use crate::botocore::{clean_env_as, python};
use crate::util::*;

async fn client(url: &str, key: &str, secret: &str, token: Option<&str>) -> aws_sdk_autoscaling::Client {
    aws_sdk_autoscaling::Client::new(&sdk_config_as(url, key, secret, token).await)
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
    r.fake.auth.add_credentials(
        "ASIASESSION000000001",
        Known {
            secret: "s1".into(),
            token: Some("token-1".into()),
            expires_ms: Some(now + 3_600_000),
            principal: None,
        },
    );
    r.fake.auth.add_credentials(
        "ASIAEXPIRED000000001",
        Known {
            secret: "s2".into(),
            token: Some("token-2".into()),
            expires_ms: Some(now - 1_000),
            principal: None,
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
    r.fake.auth.set_verify_signatures(false);
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

/// A credential as the clients take it from the environment.
#[derive(Clone, Copy)]
struct Cred<'a> {
    key: &'a str,
    secret: &'a str,
    token: Option<&'a str>,
}

const DEFAULT: Cred<'static> = Cred {
    key: DEFAULT_ACCESS_KEY_ID,
    secret: DEFAULT_SECRET_ACCESS_KEY,
    token: None,
};

fn with_cred(cmd: &mut Command, url: &str, c: Cred) {
    clean_env_as(cmd, url, c.key, c.secret, c.token);
}

/// The AWS CLI's stderr for one DescribeAutoScalingGroups call (empty: it succeeded).
fn cli(url: &str, c: Cred) -> String {
    let mut cmd = Command::new("aws");
    cmd.args(["autoscaling", "describe-auto-scaling-groups"]);
    with_cred(&mut cmd, url, c);
    let out = cmd.output().expect("the AWS CLI runs (install awscli)");
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// boto3's error code for one DescribeLoadBalancers call (`ok`: it succeeded).
fn boto3(url: &str, c: Cred) -> String {
    let mut cmd = Command::new(python());
    cmd.arg("-c").arg(
        "import boto3, botocore\n\
         try:\n    boto3.client('elbv2').describe_load_balancers(); print('ok')\n\
         except botocore.exceptions.ClientError as e:\n    print(e.response['Error']['Code'])",
    );
    with_cred(&mut cmd, url, c);
    let out = cmd.output().expect("python3 runs (install python3 with boto3)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Temporary credentials the fake knows: one valid for an hour, one expired a second ago.
fn sessions(fake: &fakeaws::Fake) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    for (key, secret, token, expires) in [
        ("ASIASESSION000000001", "s1", "token-1", now + 3_600_000),
        ("ASIAEXPIRED000000001", "s2", "token-2", now - 1_000),
    ] {
        fake.auth.add_credentials(
            key,
            Known {
                secret: secret.into(),
                token: Some(token.into()),
                expires_ms: Some(expires),
                principal: None,
            },
        );
    }
}

const SESSION: Cred<'static> = Cred {
    key: "ASIASESSION000000001",
    secret: "s1",
    token: Some("token-1"),
};
const EXPIRED: Cred<'static> = Cred {
    key: "ASIAEXPIRED000000001",
    secret: "s2",
    token: Some("token-2"),
};

#[tokio::test]
async fn boto3_and_the_cli_are_verified_too() {
    let r = start().await;
    sessions(&r.fake);
    let url = r.url.clone();
    let wrong = Cred {
        secret: "wrong",
        ..DEFAULT
    };
    let unknown = Cred {
        key: "AKIAUNKNOWN000000000",
        secret: "x",
        token: None,
    };
    let (b, c) = tokio::task::spawn_blocking(move || {
        let cases = [DEFAULT, wrong, unknown, SESSION, EXPIRED];
        (cases.map(|cred| boto3(&url, cred)), cases.map(|cred| cli(&url, cred)))
    })
    .await
    .expect("join");
    assert_eq!(
        b,
        [
            "ok",
            "SignatureDoesNotMatch",
            "InvalidClientTokenId",
            "ok",
            "ExpiredToken"
        ]
    );
    assert!(c[0].is_empty(), "{}", c[0]);
    assert!(
        c[1].contains("(SignatureDoesNotMatch)") && c[1].contains("does not match the signature you provided"),
        "{}",
        c[1]
    );
    assert!(
        c[2].contains("(InvalidClientTokenId)") && c[2].contains("security token included in the request is invalid"),
        "{}",
        c[2]
    );
    assert!(c[3].is_empty(), "{}", c[3]);
    assert!(
        c[4].contains("(ExpiredToken)") && c[4].contains("The security token included in the request is expired"),
        "{}",
        c[4]
    );
}

/// Reads one HTTP/1.1 message (head and `content-length` body) from `s`; `None` at end of stream.
async fn read_message(s: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}

/// A loopback proxy in front of the fake that changes one byte of every request body in transit
/// (after the client signed it), as a tampering middlebox would; its URL.
async fn tampering_proxy(upstream: &str) -> String {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let upstream = upstream.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                while let Some(mut req) = read_message(&mut client).await {
                    let body = req.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
                    // `Action=...` becomes `Bction=...`: same length, different bytes.
                    if let Some(b) = body.filter(|b| *b < req.len()) {
                        req[b] ^= 0x03;
                    }
                    if server.write_all(&req).await.is_err() {
                        return;
                    }
                    let Some(resp) = read_message(&mut server).await else {
                        return;
                    };
                    if client.write_all(&resp).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// A body changed after signing is refused as AWS refuses it, whichever client signed it.
#[tokio::test]
async fn a_body_tampered_in_transit_is_refused_by_every_client() {
    let r = start().await;
    let proxy = tampering_proxy(&r.url).await;
    // The same call, not tampered with, is served.
    let direct = client(&r.url, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, None).await;
    assert_eq!(code(&direct).await, None);
    let sdk = client(&proxy, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, None).await;
    assert_eq!(code(&sdk).await.as_deref(), Some("SignatureDoesNotMatch"));
    let url = proxy.clone();
    let (b, c) = tokio::task::spawn_blocking(move || (boto3(&url, DEFAULT), cli(&url, DEFAULT)))
        .await
        .expect("join");
    assert_eq!(b, "SignatureDoesNotMatch");
    assert!(
        c.contains("(SignatureDoesNotMatch)") && c.contains("does not match the signature you provided"),
        "{c}"
    );
    // Refused before anything was read from them: only the direct call was counted.
    let calls = r.fake.metrics.call_counts();
    assert_eq!(
        calls.into_iter().collect::<Vec<_>>(),
        [("autoscaling:DescribeAutoScalingGroups".to_string(), 1)]
    );
}

/// Verifies a request as the fake's Query endpoint does (`POST /`, the default pair known).
fn verifies(headers: &[(String, Vec<u8>)], body: &[u8]) -> bool {
    let mut map = axum::http::HeaderMap::new();
    for (k, v) in headers {
        let Ok(value) = axum::http::HeaderValue::from_bytes(v) else {
            return false;
        };
        map.append(axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"), value);
    }
    let known = |key: &str| {
        (key == DEFAULT_ACCESS_KEY_ID).then(|| Known {
            secret: DEFAULT_SECRET_ACCESS_KEY.into(),
            token: None,
            expires_ms: None,
            principal: None,
        })
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    fakeaws::protocol::sigv4::verify(known, now, "POST", "/", &map, body).is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, .. ProptestConfig::default() })]

    /// Any byte of a signed request (the body, or any header the client signed or signed with)
    /// changed to any other value: refused. The untouched request verifies.
    #[test]
    fn a_tampered_byte_anywhere_in_a_signed_request_is_refused(
        params in proptest::collection::vec(("[A-Za-z.]{1,12}", "[A-Za-z0-9._~-]{0,16}"), 0..6),
        at in any::<proptest::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let extra: String = params.iter().map(|(k, v)| format!("&{k}={v}")).collect();
        let body = format!("Action=DescribeAutoScalingGroups&Version=2011-01-01{extra}");
        let host = "127.0.0.1:4566";
        let mut headers: Vec<(String, Vec<u8>)> = vec![
            ("content-type".into(), b"application/x-www-form-urlencoded".to_vec()),
            ("host".into(), host.as_bytes().to_vec()),
        ];
        headers.extend(
            sign_query(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, "us-east-1", host, &body)
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes())),
        );
        prop_assert!(verifies(&headers, body.as_bytes()));
        let total = body.len() + headers.iter().map(|(_, v)| v.len()).sum::<usize>();
        let mut i = at.index(total);
        let mut body = body.into_bytes();
        if i < body.len() {
            body[i] ^= xor;
        } else {
            i -= body.len();
            for (_, v) in headers.iter_mut() {
                if i < v.len() {
                    v[i] ^= xor;
                    break;
                }
                i -= v.len();
            }
        }
        prop_assert!(!verifies(&headers, &body), "{:?}", headers.iter().map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v))).collect::<Vec<_>>());
    }
}

/// Issue 31: a request signed more than 15 minutes before or after the fake's (real) time is
/// refused as each protocol's AWS service refuses it, whatever client signed it: boto3 with its
/// clock moved 20 minutes either way, for the Query APIs, CodeDeploy's JSON and S3.
#[tokio::test(flavor = "multi_thread")]
async fn a_signature_more_than_fifteen_minutes_off_is_refused_per_protocol() {
    let r = start().await;
    let url = r.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        crate::botocore::boto3(
            &url,
            r#"
import boto3, botocore, botocore.auth, datetime, json
real = botocore.auth.get_current_datetime
def call(minutes, service, f):
    botocore.auth.get_current_datetime = lambda: real() + datetime.timedelta(minutes=minutes)
    try:
        f(boto3.client(service, config=botocore.config.Config(retries={'max_attempts': 1})))
        return None
    except botocore.exceptions.ClientError as e:
        err = dict(e.response['Error'])
        err['status'] = e.response['ResponseMetadata']['HTTPStatusCode']
        return err
    finally:
        botocore.auth.get_current_datetime = real
out = {}
for minutes in (-20, 20, -14):
    out[str(minutes)] = {
        'autoscaling': call(minutes, 'autoscaling', lambda c: c.describe_auto_scaling_groups()),
        'elbv2': call(minutes, 'elbv2', lambda c: c.describe_target_groups()),
        'codedeploy': call(minutes, 'codedeploy', lambda c: c.list_applications()),
        's3': call(minutes, 's3', lambda c: c.list_buckets()),
    }
out['now'] = real().strftime('%Y%m%dT%H%M%SZ')
print(json.dumps(out))
"#,
            &[],
        )
    })
    .await
    .expect("boto3");
    // Within the window: served.
    for service in ["autoscaling", "elbv2", "codedeploy", "s3"] {
        assert!(out["-14"][service].is_null(), "{service} refused 14 minutes off: {out}");
    }
    let old = &out["-20"];
    for service in ["autoscaling", "elbv2"] {
        let e = &old[service];
        assert_eq!(
            (e["status"].as_u64(), e["Code"].as_str()),
            (Some(403), Some("SignatureDoesNotMatch")),
            "{e}"
        );
        let m = e["Message"].as_str().unwrap_or_default();
        assert!(
            m.starts_with("Signature expired: ") && m.contains(" is now earlier than ") && m.ends_with(" - 15 min.)"),
            "{m}"
        );
    }
    let e = &old["codedeploy"];
    assert_eq!(
        (e["status"].as_u64(), e["Code"].as_str()),
        (Some(400), Some("InvalidSignatureException")),
        "{e}"
    );
    assert!(
        e["Message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Signature expired: "),
        "{e}"
    );
    let e = &old["s3"];
    assert_eq!(
        (e["status"].as_u64(), e["Code"].as_str()),
        (Some(403), Some("RequestTimeTooSkewed")),
        "{e}"
    );
    assert_eq!(
        e["Message"],
        "The difference between the request time and the current time is too large."
    );
    assert_eq!(e["MaxAllowedSkewMilliseconds"], "900000");
    assert!(
        e["RequestTime"]
            .as_str()
            .is_some_and(|t| t.len() == 16 && t.ends_with('Z')),
        "{e}"
    );
    assert!(
        e["ServerTime"]
            .as_str()
            .is_some_and(|t| t.len() == 20 && t.contains('-')),
        "{e}"
    );
    let future = &out["20"];
    let m = future["autoscaling"]["Message"].as_str().unwrap_or_default();
    assert!(
        m.starts_with("Signature not yet current: ") && m.ends_with(" + 15 min.)"),
        "{m}"
    );
    assert_eq!(future["codedeploy"]["Code"], "InvalidSignatureException");
    assert_eq!(future["s3"]["Code"], "RequestTimeTooSkewed");
    // Refused before anything was served: only the call within the window was counted.
    assert_eq!(
        r.fake
            .metrics
            .call_counts()
            .get("autoscaling:DescribeAutoScalingGroups")
            .copied(),
        Some(1)
    );
}

/// The same with the Rust SDK, its clock an hour slow: the Query API's code, which the SDK
/// classifies as a clock-skew error.
#[tokio::test]
async fn the_rust_sdk_signing_an_hour_late_is_refused_with_signature_expired() {
    let r = start().await;
    let conf = sdk_config(&r.url).await;
    let late = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let conf = conf
        .into_builder()
        .time_source(aws_smithy_async::time::StaticTimeSource::new(late))
        .build();
    let err = aws_sdk_autoscaling::Client::new(&conf)
        .describe_auto_scaling_groups()
        .send()
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    assert!(
        err.message().is_some_and(|m| m.starts_with("Signature expired: ")),
        "{err:?}"
    );
}
