//! Shared test helpers: start a fake on a loopback socket, build SDK clients pointed at it,
//! send raw Query requests.

use std::sync::Arc;

use fakeaws::{ClockMode, Fake, Options, Running};

pub async fn start() -> Running {
    let fake = Fake::new(Options {
        clock: ClockMode::Manual,
        ..Options::default()
    });
    Running::start(fake).await.expect("fake starts")
}

pub async fn start_with(options: Options) -> Running {
    Running::start(Fake::new(options)).await.expect("fake starts")
}

pub async fn sdk_config(url: &str) -> aws_config::SdkConfig {
    sdk_config_as(
        url,
        fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID,
        fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
        None,
    )
    .await
}

/// An SDK configuration for the fake, signing with the given credentials (no retries).
pub async fn sdk_config_as(url: &str, key: &str, secret: &str, token: Option<&str>) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
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
        .await
}

pub async fn asg(url: &str) -> aws_sdk_autoscaling::Client {
    aws_sdk_autoscaling::Client::new(&sdk_config(url).await)
}

pub async fn elb(url: &str) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config(url).await)
}

/// Sends a raw Query body, signed with the default key pair; returns status, headers' request id
/// and body.
pub async fn raw(url: &str, body: &str) -> (u16, Option<String>, String) {
    use fakeaws::protocol::sigv4::{sign_query, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY};
    let host = url.trim_start_matches("http://");
    let signature = sign_query(
        DEFAULT_ACCESS_KEY_ID,
        DEFAULT_SECRET_ACCESS_KEY,
        "us-east-1",
        host,
        body,
    );
    let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/x-www-form-urlencoded")];
    headers.extend(signature.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    raw_http(url, "POST", "/", body, &headers).await
}

/// A minimal HTTP/1.1 client over a TCP stream, so tests do not depend on an HTTP client crate.
pub async fn raw_http(
    url: &str,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let rid = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("x-amzn-requestid:"))
        .map(|l| l.split_once(':').map(|x| x.1.trim().to_string()).unwrap_or_default());
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, rid, body)
}

/// An IMDSv2 token (60 s) for instance `id`'s metadata service.
pub async fn imds_token(url: &str, id: &str) -> String {
    let (s, _, token) = raw_http(
        url,
        "PUT",
        &format!("/_imds/{id}/latest/api/token"),
        "",
        &[("x-aws-ec2-metadata-token-ttl-seconds", "60")],
    )
    .await;
    assert_eq!(s, 200, "token for {id}");
    token
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n.min(tail.len())]);
        rest = tail.get(n + 2..).unwrap_or("");
    }
    out
}

/// Advances the fake's clock by `secs` simulated seconds.
pub fn advance(fake: &Arc<Fake>, secs: i64) {
    fake.clock.advance_ms(secs * 1000);
}

/// Builds a standard world: an ALB with a listener on a target group, and an ASG of `n` instances
/// in two zones registered in it, all healthy.
pub async fn standard_world(r: &Running, min: i32, max: i32, desired: i32) -> (String, String) {
    let elb = elb(&r.url).await;
    let asg = asg(&r.url).await;
    let tg = elb
        .create_target_group()
        .name("web")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id("vpc-1")
        .health_check_interval_seconds(10)
        .healthy_threshold_count(3)
        .unhealthy_threshold_count(2)
        .send()
        .await
        .expect("create tg");
    let tg_arn = tg.target_groups()[0].target_group_arn().expect("arn").to_string();
    elb.modify_target_group_attributes()
        .target_group_arn(&tg_arn)
        .attributes(
            aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("60")
                .build(),
        )
        .send()
        .await
        .expect("attrs");
    let lb = elb
        .create_load_balancer()
        .name("alb")
        .subnets("subnet-a")
        .subnets("subnet-b")
        .send()
        .await
        .expect("lb");
    let lb_arn = lb.load_balancers()[0].load_balancer_arn().expect("lb arn").to_string();
    elb.create_listener()
        .load_balancer_arn(&lb_arn)
        .port(80)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .default_actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                .target_group_arn(&tg_arn)
                .build(),
        )
        .send()
        .await
        .expect("listener");
    asg.create_auto_scaling_group()
        .auto_scaling_group_name("web-asg")
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_name("lt")
                .build(),
        )
        .min_size(min)
        .max_size(max)
        .desired_capacity(desired)
        .availability_zones("us-east-1a")
        .availability_zones("us-east-1b")
        .target_group_arns(&tg_arn)
        .health_check_type("ELB")
        .send()
        .await
        .expect("asg");
    // Boot (30 s) and health checks (3 x 10 s).
    advance(&r.fake, 120);
    ("web-asg".to_string(), tg_arn)
}
