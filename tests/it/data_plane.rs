//! The data plane: real HTTP through a listener's loopback port while targets change state,
//! answered by the world's routing function and the revision files installed on each instance.

use std::io::{Read, Write};

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, LoadBalancerTypeEnum, PathPatternConditionConfig, ProtocolEnum,
    RuleCondition, TargetDescription,
};

use crate::util::*;

/// Response headers, names in lower case.
type Headers = Vec<(String, String)>;

/// A blocking `GET`: status, headers, body; or the connection's error.
fn get(url: &str, path: &str) -> std::io::Result<(u16, Headers, String)> {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "closed without an answer",
        ));
    };
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok((status, headers, body.to_string()))
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn site(dir: &std::path::Path, page: &str) {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(dir.join("index.html"), page).expect("page");
}

async fn lb_with_listener(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    kind: LoadBalancerTypeEnum,
    name: &str,
) -> (String, String) {
    let proto = if kind == LoadBalancerTypeEnum::Network {
        ProtocolEnum::Tcp
    } else {
        ProtocolEnum::Http
    };
    let tg = elb
        .create_target_group()
        .name(format!("{name}-tg"))
        .protocol(proto.clone())
        .port(80)
        .vpc_id("vpc-1")
        .health_check_interval_seconds(10)
        .health_check_timeout_seconds(5)
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(2)
        .send()
        .await
        .expect("tg");
    let tg = tg.target_groups()[0].target_group_arn().expect("arn").to_string();
    elb.modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("30")
                .build(),
        )
        .send()
        .await
        .expect("attrs");
    let lb = elb
        .create_load_balancer()
        .name(name)
        .r#type(kind)
        .subnets("subnet-a")
        .subnets("subnet-b")
        .send()
        .await
        .expect("lb");
    let lb = lb.load_balancers()[0].load_balancer_arn().expect("arn").to_string();
    let l = elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(proto)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&tg)
                .build(),
        )
        .send()
        .await
        .expect("listener");
    (tg, l.listeners()[0].listener_arn().expect("arn").to_string())
}

#[tokio::test]
async fn http_through_an_alb_listener_follows_the_targets() {
    let r = start().await;
    r.fake.enable_data_plane(0).expect("data plane");
    let elb = elb(&r.url).await;
    let (tg, listener) = lb_with_listener(&elb, LoadBalancerTypeEnum::Application, "web").await;
    let ids: Vec<String> = (0..2)
        .map(|_| r.fake.world().create_instance("us-east-1a", None, None))
        .collect();
    let dir = std::env::temp_dir().join(format!("fakeaws-dp-{}", std::process::id()));
    let (v1, v2) = (dir.join("v1"), dir.join("v2"));
    site(&v1, "<h1>v1</h1>");
    site(&v2, "<h1>v2</h1>");
    let dp = r.fake.data_plane().expect("on");
    for id in &ids {
        dp.set_doc_root(id, v1.clone());
    }
    for id in &ids {
        elb.register_targets()
            .target_group_arn(&tg)
            .targets(TargetDescription::builder().id(id).build())
            .send()
            .await
            .expect("register");
    }
    // The admin API lists the listener's endpoint.
    let (status, _, body) = raw_http(&r.url, "GET", "/_fakeaws/data-plane", "", &[]).await;
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(listed["endpoints"][0]["entrance"], "web:80");
    let url = listed["endpoints"][0]["url"].as_str().expect("url").to_string();
    advance(&r.fake, 25);

    // Both healthy: round robin over the two, each serving its document root.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (status, h, body) = get(&url, "/").expect("answer");
        assert_eq!((status, body.as_str()), (200, "<h1>v1</h1>"));
        assert_eq!(header(&h, "content-type"), Some("text/html"));
        seen.push(header(&h, "x-fakeaws-instance").expect("instance").to_string());
    }
    assert_eq!(seen, [ids[0].clone(), ids[1].clone(), ids[0].clone(), ids[1].clone()]);
    assert_eq!(get(&url, "/missing.css").expect("answer").0, 404);

    // A new revision on one instance: its page, the other still the old one.
    dp.set_doc_root(&ids[0], v2.clone());
    let pages: Vec<String> = (0..2).map(|_| get(&url, "/").expect("answer").2).collect();
    assert!(pages.contains(&"<h1>v2</h1>".to_string()) && pages.contains(&"<h1>v1</h1>".to_string()));

    // Draining: no new requests to it.
    elb.deregister_targets()
        .target_group_arn(&tg)
        .targets(TargetDescription::builder().id(&ids[1]).build())
        .send()
        .await
        .expect("deregister");
    for _ in 0..3 {
        let (_, h, _) = get(&url, "/").expect("answer");
        assert_eq!(header(&h, "x-fakeaws-instance"), Some(ids[0].as_str()));
    }
    // Its application down while still healthy: ALB's 502 page.
    r.fake.world().set_app(&ids[0], false).expect("down");
    let (status, h, body) = get(&url, "/").expect("answer");
    assert_eq!(status, 502);
    assert_eq!(header(&h, "server"), Some("awselb/2.0"));
    assert!(body.contains("<title>502 Bad Gateway</title>"), "{body}");
    // A maintenance page rule takes every request.
    elb.create_rule()
        .listener_arn(&listener)
        .priority(1)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(PathPatternConditionConfig::builder().values("*").build())
                .build(),
        )
        .actions(
            Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("503")
                        .content_type("text/html")
                        .message_body("<h1>Back soon</h1>")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("rule");
    let (status, h, body) = get(&url, "/any/path").expect("answer");
    assert_eq!((status, body.as_str()), (503, "<h1>Back soon</h1>"));
    assert_eq!(header(&h, "content-type"), Some("text/html; charset=utf-8"));
    // Draining over and nothing registered: 503 from the load balancer itself.
    elb.delete_rule()
        .rule_arn(
            elb.describe_rules()
                .listener_arn(&listener)
                .send()
                .await
                .expect("rules")
                .rules()[0]
                .rule_arn()
                .expect("arn"),
        )
        .send()
        .await
        .expect("delete");
    elb.deregister_targets()
        .target_group_arn(&tg)
        .targets(TargetDescription::builder().id(&ids[0]).build())
        .send()
        .await
        .expect("deregister");
    advance(&r.fake, 31);
    let (status, _, body) = get(&url, "/").expect("answer");
    assert_eq!(status, 503, "{body}");
    // The listener deleted: its port closes.
    elb.delete_listener()
        .listener_arn(&listener)
        .send()
        .await
        .expect("delete");
    assert!(get(&url, "/").is_err());
    assert!(dp.endpoints().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_nlb_closes_the_connection_when_the_target_app_is_down() {
    let r = start().await;
    r.fake.enable_data_plane(0).expect("data plane");
    let elb = elb(&r.url).await;
    let (tg, _) = lb_with_listener(&elb, LoadBalancerTypeEnum::Network, "tcp").await;
    let id = r.fake.world().create_instance("us-east-1a", None, None);
    elb.register_targets()
        .target_group_arn(&tg)
        .targets(TargetDescription::builder().id(&id).build())
        .send()
        .await
        .expect("register");
    advance(&r.fake, 25);
    let url = r.fake.data_plane().expect("on").endpoints()[0].url.clone();
    let (status, _, body) = get(&url, "/").expect("answer");
    assert_eq!(status, 200);
    assert!(
        body.contains(&id),
        "no revision installed: a page naming the instance: {body}"
    );
    r.fake.world().set_app(&id, false).expect("down");
    let e = get(&url, "/").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
}
