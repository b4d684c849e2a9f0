//! CodeDeploy's control plane through aws-sdk-codedeploy, boto3 (with the `deployment_successful`
//! waiter) and the AWS CLI (`aws deploy`): applications, deployment groups with CodeDeploy's launch
//! hook, configurations, deployments as the engine reports them, revisions, trigger notifications,
//! and AWS's error codes and messages.

use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::{
    DeploymentStatus, ElbInfo, LoadBalancerInfo, MinimumHealthyHosts, MinimumHealthyHostsType, RevisionLocation,
    RevisionLocationType, S3Location, TargetGroupInfo, TriggerConfig, TriggerEventType,
};
use fakeaws::model::codedeploy as cd;

use crate::botocore::{aws_cli, boto3};
use crate::util::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/CodeDeployServiceRole";

async fn client(url: &str) -> aws_sdk_codedeploy::Client {
    aws_sdk_codedeploy::Client::new(&sdk_config(url).await)
}

fn s3_revision(key: &str) -> RevisionLocation {
    RevisionLocation::builder()
        .revision_type(RevisionLocationType::S3)
        .s3_location(
            S3Location::builder()
                .bucket("releases")
                .key(key)
                .bundle_type(aws_sdk_codedeploy::types::BundleType::Zip)
                .build(),
        )
        .build()
}

// ListDeploymentInstances and GetDeploymentInstance are deprecated in the SDK (for the Targets
// actions) but still what the agent-era tooling calls: both are served and tested.
#[allow(deprecated)]
#[tokio::test]
async fn the_rust_sdk_manages_applications_groups_configs_and_deployments() {
    let r = start().await;
    let (asg_name, _tg) = standard_world(&r, 1, 4, 2).await;
    let cd = client(&r.url).await;
    let asg = asg(&r.url).await;

    let app_id = cd
        .create_application()
        .application_name("web")
        .send()
        .await
        .expect("app")
        .application_id;
    assert!(app_id.is_some_and(|i| i.len() == 36));
    let e = cd
        .create_application()
        .application_name("web")
        .send()
        .await
        .expect_err("twice");
    assert_eq!(e.code(), Some("ApplicationAlreadyExistsException"));
    let e = cd
        .get_application()
        .application_name("nope")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(e.code(), Some("ApplicationDoesNotExistException"));
    assert_eq!(e.message(), Some("No application found for name: nope"));

    // A group over the Auto Scaling group: CodeDeploy puts its launch hook on it.
    cd.create_deployment_group()
        .application_name("web")
        .deployment_group_name("web-dg")
        .service_role_arn(ROLE)
        .auto_scaling_groups(&asg_name)
        .load_balancer_info(
            LoadBalancerInfo::builder()
                .target_group_info_list(TargetGroupInfo::builder().name("web").build())
                .build(),
        )
        .trigger_configurations(
            TriggerConfig::builder()
                .trigger_name("ops")
                .trigger_target_arn("arn:aws:sns:us-east-1:123456789012:deployments")
                .trigger_events(TriggerEventType::DeploymentSuccess)
                .trigger_events(TriggerEventType::InstanceFailure)
                .build(),
        )
        .send()
        .await
        .expect("group");
    let hooks = asg
        .describe_lifecycle_hooks()
        .auto_scaling_group_name(&asg_name)
        .send()
        .await
        .expect("hooks");
    let hook = fakeaws::world::codedeploy::launch_hook_name("web-dg");
    assert!(hooks
        .lifecycle_hooks()
        .iter()
        .any(|h| h.lifecycle_hook_name() == Some(&hook)));
    let info = cd
        .get_deployment_group()
        .application_name("web")
        .deployment_group_name("web-dg")
        .send()
        .await
        .expect("get group")
        .deployment_group_info
        .expect("info");
    assert_eq!(info.deployment_config_name(), Some("CodeDeployDefault.OneAtATime"));
    assert_eq!(info.auto_scaling_groups()[0].hook(), Some(hook.as_str()));
    assert_eq!(
        info.load_balancer_info().map(|l| l.target_group_info_list()[0].name()),
        Some(Some("web"))
    );
    let e = cd
        .get_deployment_group()
        .application_name("web")
        .deployment_group_name("nope")
        .send()
        .await
        .expect_err("missing group");
    assert_eq!(e.code(), Some("DeploymentGroupDoesNotExistException"));
    let e = cd
        .create_deployment_group()
        .application_name("web")
        .deployment_group_name("bad")
        .service_role_arn(ROLE)
        .load_balancer_info(
            LoadBalancerInfo::builder()
                .elb_info_list(ElbInfo::builder().name("nope").build())
                .build(),
        )
        .send()
        .await
        .expect_err("unknown load balancer");
    assert_eq!(e.code(), Some("InvalidLoadBalancerInfoException"));

    // Configurations: the built-in ones, and our own.
    let configs = cd.list_deployment_configs().send().await.expect("configs");
    assert!(configs
        .deployment_configs_list()
        .contains(&"CodeDeployDefault.HalfAtATime".to_string()));
    cd.create_deployment_config()
        .deployment_config_name("TwoHealthy")
        .minimum_healthy_hosts(
            MinimumHealthyHosts::builder()
                .r#type(MinimumHealthyHostsType::HostCount)
                .value(2)
                .build(),
        )
        .send()
        .await
        .expect("config");
    let e = cd
        .create_deployment_config()
        .deployment_config_name("TooMany")
        .minimum_healthy_hosts(
            MinimumHealthyHosts::builder()
                .r#type(MinimumHealthyHostsType::FleetPercent)
                .value(100)
                .build(),
        )
        .send()
        .await
        .expect_err("100%");
    assert_eq!(e.code(), Some("InvalidMinimumHealthyHostValueException"));
    let e = cd
        .delete_deployment_config()
        .deployment_config_name("CodeDeployDefault.AllAtOnce")
        .send()
        .await
        .expect_err("built-in");
    assert_eq!(e.code(), Some("InvalidOperationException"));

    // A deployment: Created until the engine picks it up; one at a time per group.
    let id = cd
        .create_deployment()
        .application_name("web")
        .deployment_group_name("web-dg")
        .revision(s3_revision("v2.zip"))
        .deployment_config_name("TwoHealthy")
        .description("release 2")
        .send()
        .await
        .expect("deployment")
        .deployment_id
        .expect("id");
    assert!(id.starts_with("d-") && id.len() == 11, "{id}");
    let e = cd
        .create_deployment()
        .application_name("web")
        .deployment_group_name("web-dg")
        .revision(s3_revision("v3.zip"))
        .send()
        .await
        .expect_err("second");
    assert_eq!(e.code(), Some("DeploymentLimitExceededException"));
    assert_eq!(
        e.message(),
        Some(format!("The Deployment Group 'web-dg' already has an active Deployment '{id}'").as_str())
    );
    let got = cd.get_deployment().deployment_id(&id).send().await.expect("get");
    let d = got.deployment_info.expect("info");
    assert_eq!(d.status(), Some(&DeploymentStatus::Created));
    assert_eq!(d.creator(), Some(&aws_sdk_codedeploy::types::DeploymentCreator::User));
    assert_eq!(d.description(), Some("release 2"));

    // The engine runs it: two instances, lifecycle events reported as they happen.
    let picked = r.fake.rehearsal().next_created_deployment().expect("created");
    assert_eq!(picked.id, id);
    let members = r.fake.rehearsal().group_members(&asg_name);
    r.fake.rehearsal().begin_deployment(&id, &members).expect("begin");
    let rh = r.fake.rehearsal();
    rh.instance_event(
        &id,
        &members[0],
        "BeforeInstall",
        cd::LifecycleEventStatus::InProgress,
        None,
    )
    .expect("event");
    let overview = cd
        .get_deployment()
        .deployment_id(&id)
        .send()
        .await
        .expect("get")
        .deployment_info
        .and_then(|d| d.deployment_overview)
        .expect("overview");
    assert_eq!((overview.pending, overview.in_progress), (1, 1));
    rh.instance_done(&id, &members[0], cd::InstanceStatus::Succeeded)
        .expect("done");
    rh.instance_event(
        &id,
        &members[1],
        "ApplicationStart",
        cd::LifecycleEventStatus::InProgress,
        None,
    )
    .expect("event");
    rh.instance_event(
        &id,
        &members[1],
        "ApplicationStart",
        cd::LifecycleEventStatus::Failed,
        Some(cd::Diagnostics {
            error_code: "ScriptFailed".into(),
            script_name: "scripts/start.sh".into(),
            message: "Script at specified location: scripts/start.sh run as user root failed with exit code 1".into(),
            log_tail: "[stderr]port in use".into(),
        }),
    )
    .expect("failed");
    rh.instance_done(&id, &members[1], cd::InstanceStatus::Failed)
        .expect("done");
    rh.deployment_done(
        &id,
        cd::DeploymentStatus::Failed,
        Some(cd::ErrorInformation {
            code: "HEALTH_CONSTRAINTS".into(),
            message: "The overall deployment failed because too many individual instances failed deployment".into(),
        }),
    );
    let failed = cd
        .list_deployment_instances()
        .deployment_id(&id)
        .instance_status_filter(aws_sdk_codedeploy::types::InstanceStatus::Failed)
        .send()
        .await
        .expect("list");
    assert_eq!(failed.instances_list(), std::slice::from_ref(&members[1]));
    let summary = cd
        .get_deployment_instance()
        .deployment_id(&id)
        .instance_id(&members[1])
        .send()
        .await
        .expect("instance")
        .instance_summary
        .expect("summary");
    assert!(summary
        .instance_id()
        .is_some_and(|i| i.ends_with(&format!("instance/{}", members[1]))));
    let events = summary.lifecycle_events();
    let names: Vec<&str> = events.iter().filter_map(|e| e.lifecycle_event_name()).collect();
    assert_eq!(
        names,
        [
            "ApplicationStop",
            "DownloadBundle",
            "BeforeInstall",
            "Install",
            "AfterInstall",
            "ApplicationStart",
            "ValidateService"
        ]
    );
    let start = events
        .iter()
        .find(|e| e.lifecycle_event_name() == Some("ApplicationStart"))
        .expect("event");
    assert_eq!(start.status().map(|s| s.as_str()), Some("Failed"));
    assert_eq!(
        start.diagnostics().and_then(|d| d.error_code()).map(|c| c.as_str()),
        Some("ScriptFailed")
    );
    assert_eq!(
        events
            .iter()
            .find(|e| e.lifecycle_event_name() == Some("ValidateService"))
            .and_then(|e| e.status())
            .map(|s| s.as_str()),
        Some("Skipped")
    );
    let targets = cd
        .batch_get_deployment_targets()
        .deployment_id(&id)
        .target_ids(&members[0])
        .send()
        .await
        .expect("targets");
    let t = targets.deployment_targets()[0]
        .instance_target()
        .expect("instance target");
    assert_eq!(t.status().map(|s| s.as_str()), Some("Succeeded"));
    let e = cd.stop_deployment().deployment_id(&id).send().await.expect_err("over");
    assert_eq!(e.code(), Some("DeploymentAlreadyCompletedException"));
    let e = cd
        .get_deployment()
        .deployment_id("bogus-deployment")
        .send()
        .await
        .expect_err("bad id");
    assert_eq!(e.code(), Some("InvalidDeploymentIdException"));
    assert_eq!(
        e.message(),
        Some("Specified DeploymentId is not in the valid format: bogus-deployment")
    );

    // The group's triggers announced what they listen for, in CodeDeploy's notification format.
    let notes = r.fake.world().codedeploy_notifications().to_vec();
    let kinds: Vec<cd::TriggerEventType> = notes.iter().map(|n| n.event).collect();
    assert_eq!(kinds, [cd::TriggerEventType::InstanceFailure]);
    let msg: serde_json::Value = serde_json::from_str(&notes[0].message).expect("json");
    assert_eq!(msg["instanceStatus"], "Failed");
    assert_eq!(msg["deploymentId"], id.as_str());
    assert!(msg["lifecycleEvents"]
        .as_str()
        .is_some_and(|s| s.contains("\"LifecycleEventStatus\":\"Failed\"")));

    // StopDeployment on a running one; revisions registered by the deployments.
    let id2 = cd
        .create_deployment()
        .application_name("web")
        .deployment_group_name("web-dg")
        .revision(s3_revision("v3.zip"))
        .send()
        .await
        .expect("second deployment")
        .deployment_id
        .expect("id");
    cd.stop_deployment().deployment_id(&id2).send().await.expect("stop");
    let d2 = cd
        .get_deployment()
        .deployment_id(&id2)
        .send()
        .await
        .expect("get")
        .deployment_info
        .expect("info");
    assert_eq!(d2.status(), Some(&DeploymentStatus::Stopped));
    assert_eq!(
        d2.error_information().and_then(|e| e.code()).map(|c| c.as_str()),
        Some("DEPLOYMENT_STOPPED")
    );
    let revs = cd
        .list_application_revisions()
        .application_name("web")
        .send()
        .await
        .expect("revisions");
    let keys: Vec<&str> = revs
        .revisions()
        .iter()
        .filter_map(|r| r.s3_location().and_then(|s| s.key()))
        .collect();
    assert_eq!(keys, ["v2.zip", "v3.zip"]);
    let listed = cd
        .list_deployments()
        .application_name("web")
        .deployment_group_name("web-dg")
        .include_only_statuses(DeploymentStatus::Failed)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.deployments(), std::slice::from_ref(&id));

    // Deleting the group takes CodeDeploy's hook off the Auto Scaling group.
    let out = cd
        .delete_deployment_group()
        .application_name("web")
        .deployment_group_name("web-dg")
        .send()
        .await
        .expect("delete");
    assert!(out.hooks_not_cleaned_up().is_empty());
    let hooks = asg
        .describe_lifecycle_hooks()
        .auto_scaling_group_name(&asg_name)
        .send()
        .await
        .expect("hooks");
    assert!(hooks.lifecycle_hooks().is_empty());
}

/// Creates an application, a group and a deployment through boto3; the engine side (here the test)
/// ends it; the `deployment_successful` waiter then returns, or fails on a failed deployment.
#[tokio::test(flavor = "multi_thread")]
async fn boto3_and_its_deployment_successful_waiter() {
    let r = start().await;
    let (asg_name, _) = standard_world(&r, 1, 4, 2).await;
    let url = r.url.clone();
    let group = asg_name.clone();
    let created = tokio::task::spawn_blocking(move || {
        boto3(
            &url,
            &format!(
                r#"
import boto3, json
cd = boto3.client('codedeploy')
cd.create_application(applicationName='web', computePlatform='Server')
cd.create_deployment_group(applicationName='web', deploymentGroupName='web-dg', serviceRoleArn='{ROLE}',
    autoScalingGroups=['{group}'], deploymentStyle={{'deploymentType': 'IN_PLACE', 'deploymentOption': 'WITH_TRAFFIC_CONTROL'}},
    loadBalancerInfo={{'targetGroupInfoList': [{{'name': 'web'}}]}})
ok = cd.create_deployment(applicationName='web', deploymentGroupName='web-dg',
    revision={{'revisionType': 'S3', 's3Location': {{'bucket': 'releases', 'key': 'v2.zip', 'bundleType': 'zip'}}}})['deploymentId']
try:
    cd.get_deployment_group(applicationName='web', deploymentGroupName='missing')
    err = None
except cd.exceptions.DeploymentGroupDoesNotExistException as e:
    err = str(e)
g = cd.get_deployment_group(applicationName='web', deploymentGroupName='web-dg')['deploymentGroupInfo']
print(json.dumps({{'id': ok, 'err': err, 'option': g['deploymentStyle']['deploymentOption']}}))
"#
            ),
            &[],
        )
    })
    .await
    .expect("boto3");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["option"], "WITH_TRAFFIC_CONTROL");
    assert!(created["err"]
        .as_str()
        .is_some_and(|e| e.contains("No Deployment Group found for name: missing")));
    // The engine runs it (traffic control adds CodeDeploy's own traffic events) and it succeeds.
    let members = r.fake.rehearsal().group_members(&asg_name);
    let rh = r.fake.rehearsal();
    rh.begin_deployment(&id, &members).expect("begin");
    for m in &members {
        rh.instance_done(&id, m, cd::InstanceStatus::Succeeded).expect("done");
    }
    rh.deployment_done(&id, cd::DeploymentStatus::Succeeded, None);
    let url = r.url.clone();
    let waited = tokio::task::spawn_blocking(move || {
        boto3(
            &url,
            &format!(
                r#"
import boto3, json
cd = boto3.client('codedeploy')
cd.get_waiter('deployment_successful').wait(deploymentId='{id}', WaiterConfig={{'Delay': 1, 'MaxAttempts': 2}})
d = cd.get_deployment(deploymentId='{id}')['deploymentInfo']
t = cd.list_deployment_targets(deploymentId='{id}')['targetIds']
ev = cd.batch_get_deployment_targets(deploymentId='{id}', targetIds=t[:1])['deploymentTargets'][0]['instanceTarget']['lifecycleEvents']
print(json.dumps({{'status': d['status'], 'overview': d['deploymentOverview'], 'targets': len(t),
    'events': [e['lifecycleEventName'] for e in ev], 'complete': str(d['completeTime'])}}))
"#
            ),
            &[],
        )
    })
    .await
    .expect("boto3");
    assert_eq!(waited["status"], "Succeeded");
    assert_eq!(waited["overview"]["Succeeded"], members.len());
    assert_eq!(waited["targets"], members.len());
    let events: Vec<&str> = waited["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert_eq!(events.first(), Some(&"BeforeBlockTraffic"));
    assert_eq!(events.last(), Some(&"AfterAllowTraffic"));
    assert!(
        waited["complete"].as_str().is_some_and(|t| t.contains('+')),
        "a timezone-aware datetime: {waited}"
    );

    // A failed deployment: the waiter stops at once with botocore's terminal failure.
    let failed = r
        .fake
        .rehearsal()
        .start_deployment(
            fakeaws::world::codedeploy::DeploymentInput {
                application: "web".into(),
                group: "web-dg".into(),
                revision: cd::Revision::s3("releases", "v3.zip", cd::BundleType::Zip),
                config: None,
                description: None,
                creator: cd::DeploymentCreator::User,
                ignore_application_stop_failures: false,
                update_outdated_instances_only: false,
                auto_rollback: None,
            },
            &members,
        )
        .expect("started");
    r.fake
        .rehearsal()
        .deployment_done(&failed, cd::DeploymentStatus::Failed, None);
    let url = r.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        boto3(
            &url,
            &format!(
                r#"
import boto3, json, botocore
cd = boto3.client('codedeploy')
try:
    cd.get_waiter('deployment_successful').wait(deploymentId='{failed}', WaiterConfig={{'Delay': 1, 'MaxAttempts': 2}})
    print(json.dumps('returned'))
except botocore.exceptions.WaiterError as e:
    print(json.dumps(str(e)))
"#
            ),
            &[],
        )
    })
    .await
    .expect("boto3");
    assert!(
        out.as_str().is_some_and(|s| s.contains("terminal failure state")),
        "{out}"
    );
}

/// `aws deploy`: the commands a pipeline runs, AWS's error lines, and the waiter.
#[tokio::test(flavor = "multi_thread")]
async fn aws_deploy_commands_and_errors() {
    let r = start().await;
    let (asg_name, _) = standard_world(&r, 1, 4, 2).await;
    let url = r.url.clone();
    let rh_fake = r.fake.clone();
    tokio::task::spawn_blocking(move || {
        let (ok, _, err) = aws_cli(&url, &["deploy", "create-application", "--application-name", "web"]);
        assert!(ok, "{err}");
        let (ok, _, err) = aws_cli(
            &url,
            &[
                "deploy",
                "create-deployment-group",
                "--application-name",
                "web",
                "--deployment-group-name",
                "web-dg",
                "--service-role-arn",
                ROLE,
                "--auto-scaling-groups",
                &asg_name,
                "--deployment-config-name",
                "CodeDeployDefault.HalfAtATime",
            ],
        );
        assert!(ok, "{err}");
        let (ok, out, err) = aws_cli(
            &url,
            &[
                "deploy",
                "create-deployment",
                "--application-name",
                "web",
                "--deployment-group-name",
                "web-dg",
                "--s3-location",
                "bucket=releases,key=v2.zip,bundleType=zip,eTag=abc",
            ],
        );
        assert!(ok, "{err}");
        let id = out["deploymentId"].as_str().expect("id").to_string();
        let (ok, out, _) = aws_cli(&url, &["deploy", "list-deployments", "--application-name", "web", "--deployment-group-name", "web-dg"]);
        assert!(ok);
        assert_eq!(out["deployments"][0], id.as_str());
        // The engine side: the deployment succeeds on every instance.
        let members = rh_fake.rehearsal().group_members(&asg_name);
        rh_fake.rehearsal().begin_deployment(&id, &members).expect("begin");
        for m in &members {
            rh_fake.rehearsal().instance_done(&id, m, cd::InstanceStatus::Succeeded).expect("done");
        }
        rh_fake.rehearsal().deployment_done(&id, cd::DeploymentStatus::Succeeded, None);
        let (ok, _, err) = aws_cli(&url, &["deploy", "wait", "deployment-successful", "--deployment-id", &id]);
        assert!(ok, "the waiter returns on a succeeded deployment: {err}");
        let (ok, out, _) = aws_cli(&url, &["deploy", "get-deployment", "--deployment-id", &id]);
        assert!(ok);
        assert_eq!(out["deploymentInfo"]["status"], "Succeeded");
        assert_eq!(out["deploymentInfo"]["revision"]["s3Location"]["eTag"], "abc");
        let (ok, out, _) = aws_cli(
            &url,
            &["deploy", "get-deployment-group", "--application-name", "web", "--deployment-group-name", "web-dg"],
        );
        assert!(ok);
        assert_eq!(out["deploymentGroupInfo"]["lastSuccessfulDeployment"]["deploymentId"], id.as_str());
        assert_eq!(out["deploymentGroupInfo"]["targetRevision"]["s3Location"]["key"], "v2.zip");
        // Errors as AWS words them, one line each.
        let (ok, _, err) = aws_cli(&url, &["deploy", "get-application", "--application-name", "nope"]);
        assert!(!ok);
        assert_eq!(
            err.trim(),
            "An error occurred (ApplicationDoesNotExistException) when calling the GetApplication operation: No application found for name: nope"
        );
        let (ok, _, err) = aws_cli(
            &url,
            &[
                "deploy",
                "create-deployment",
                "--application-name",
                "web",
                "--deployment-group-name",
                "web-dg",
                "--deployment-config-name",
                "Nope",
                "--s3-location",
                "bucket=releases,key=v3.zip,bundleType=zip",
            ],
        );
        assert!(!ok);
        assert!(
            err.contains("(DeploymentConfigDoesNotExistException)") && err.contains("No deployment configuration found for name: Nope"),
            "{err}"
        );
    })
    .await
    .expect("cli");
}

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
        rh.instance_event(&id, m, "BeforeInstall", cd::LifecycleEventStatus::InProgress, None)
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

/// UpdateDeploymentGroup keeps CodeDeploy's hooks on the Auto Scaling groups in step with the group:
/// termination deployments turned on add the termination hook, a rename replaces both hooks, and
/// turning them off takes the termination hook away again.
#[tokio::test]
async fn updating_a_group_keeps_its_lifecycle_hooks_in_step() {
    let r = start().await;
    let (asg_name, _) = standard_world(&r, 1, 4, 2).await;
    let cd = client(&r.url).await;
    let asg = asg(&r.url).await;
    let hooks = || async {
        let mut names: Vec<String> = asg
            .describe_lifecycle_hooks()
            .auto_scaling_group_name(&asg_name)
            .send()
            .await
            .expect("hooks")
            .lifecycle_hooks()
            .iter()
            .filter_map(|h| h.lifecycle_hook_name().map(str::to_string))
            .collect();
        names.sort();
        names
    };
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
        .send()
        .await
        .expect("group");
    cd.update_deployment_group()
        .application_name("web")
        .current_deployment_group_name("web-dg")
        .termination_hook_enabled(true)
        .send()
        .await
        .expect("termination on");
    assert_eq!(
        hooks().await,
        [
            "CodeDeploy-managed-automatic-launch-deployment-hook-web-dg",
            "CodeDeploy-managed-automatic-termination-deployment-hook-web-dg"
        ]
    );
    cd.update_deployment_group()
        .application_name("web")
        .current_deployment_group_name("web-dg")
        .new_deployment_group_name("web-dg2")
        .termination_hook_enabled(false)
        .send()
        .await
        .expect("rename, termination off");
    assert_eq!(
        hooks().await,
        ["CodeDeploy-managed-automatic-launch-deployment-hook-web-dg2"]
    );
}
