//! Trigger notifications: listed by the admin API, delivered over HTTP as SNS would.

use aws_sdk_codedeploy::types::{TriggerConfig, TriggerEventType};
use fakeaws::model::codedeploy as cd;

use crate::util::*;

use super::*;

/// A loopback HTTP endpoint that answers 200 to every POST and hands each body over.
async fn sns_endpoint() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/sns", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() < len {
                        continue;
                    }
                    let _ = tx.send(body[..len].to_string());
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
                    buf.clear();
                }
            });
        }
    });
    (url, rx)
}

/// Triggers: each deployment and instance status change a trigger listens for is listed by the
/// admin API and delivered, in order, to a subscribed HTTP endpoint as SNS's envelope around
/// CodeDeploy's message.
#[tokio::test(flavor = "multi_thread")]
async fn trigger_notifications_are_listed_and_delivered_as_sns_would() {
    let r = start().await;
    let (asg_name, _) = standard_world(&r, 1, 4, 2).await;
    let cd = client(&r.url).await;
    let (endpoint, mut received) = sns_endpoint().await;
    let (s, _, body) = raw_http(
        &r.url,
        "POST",
        "/_fakeaws/codedeploy/notifications/endpoint",
        &format!(r#"{{"url": "{endpoint}"}}"#),
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, _, body) = raw_http(
        &r.url,
        "POST",
        "/_fakeaws/codedeploy/notifications/endpoint",
        r#"{"url": "http://10.0.0.1/x"}"#,
        &[],
    )
    .await;
    assert_eq!(s, 400, "not loopback: {body}");
    cd.create_application()
        .application_name("web")
        .send()
        .await
        .expect("app");
    cd.create_deployment_group()
        .application_name("web")
        .deployment_group_name("web-dg")
        .service_role_arn(ROLE)
        .auto_scaling_groups(&asg_name)
        .trigger_configurations(
            TriggerConfig::builder()
                .trigger_name("maintenance-switch")
                .trigger_target_arn("arn:aws:sns:us-east-1:123456789012:deployments")
                .trigger_events(TriggerEventType::DeploymentStart)
                .trigger_events(TriggerEventType::DeploymentSuccess)
                .trigger_events(TriggerEventType::InstanceSuccess)
                .build(),
        )
        .send()
        .await
        .expect("group");
    let id = cd
        .create_deployment()
        .application_name("web")
        .deployment_group_name("web-dg")
        .revision(s3_revision("v2.zip"))
        .send()
        .await
        .expect("deployment")
        .deployment_id
        .expect("id");
    let members = r.fake.rehearsal().group_members(&asg_name);
    let rh = r.fake.rehearsal();
    rh.begin_deployment(&id, &members).expect("begin");
    for m in &members {
        rh.instance_event(
            &id,
            m,
            cd::LifecycleEvent::BeforeInstall,
            cd::LifecycleEventStatus::InProgress,
            None,
        )
        .expect("event");
        rh.instance_done(&id, m, cd::InstanceStatus::Succeeded).expect("done");
    }
    rh.deployment_done(&id, cd::DeploymentStatus::Succeeded, None);

    let mut got = Vec::new();
    while got.len() < 4 {
        let body = tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
            .await
            .expect("delivered within 10 s")
            .expect("endpoint open");
        got.push(serde_json::from_str::<serde_json::Value>(&body).expect("JSON envelope"));
    }
    assert!(got
        .iter()
        .all(|e| e["Type"] == "Notification" && e["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:deployments"));
    let subjects: Vec<&str> = got.iter().filter_map(|e| e["Subject"].as_str()).collect();
    assert_eq!(
        subjects[0],
        format!("IN_PROGRESS: AWS CodeDeploy {id} in us-east-1 to web")
    );
    assert_eq!(
        subjects[3],
        format!("SUCCEEDED: AWS CodeDeploy {id} in us-east-1 to web")
    );
    let last: serde_json::Value =
        serde_json::from_str(got[3]["Message"].as_str().expect("message")).expect("message JSON");
    assert_eq!(last["status"], "SUCCEEDED");
    assert_eq!(last["eventTriggerName"], "maintenance-switch");
    assert_eq!(last["deploymentGroupName"], "web-dg");
    assert!(
        last["createTime"]
            .as_str()
            .is_some_and(|t| t.ends_with(&format!("UTC {}", &t[t.len() - 4..]))),
        "{last}"
    );
    let overview: serde_json::Value = serde_json::from_str(
        last["deploymentOverview"]
            .as_str()
            .expect("a JSON string, as CodeDeploy sends it"),
    )
    .expect("overview");
    assert_eq!(overview["Succeeded"], 2);
    let instance: serde_json::Value = serde_json::from_str(got[1]["Message"].as_str().expect("message")).expect("JSON");
    assert_eq!(instance["instanceStatus"], "Succeeded");
    assert!(instance["instanceId"]
        .as_str()
        .is_some_and(|i| i.contains(":instance/i-")));

    // The admin API lists the same, and pages with `since`.
    let (s, _, body) = raw_http(&r.url, "GET", "/_fakeaws/codedeploy/notifications?since=1", "", &[]).await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["next"], 4);
    let events: Vec<&str> = v["notifications"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["event"].as_str())
        .collect();
    assert_eq!(events, ["InstanceSuccess", "InstanceSuccess", "DeploymentSuccess"]);
}
