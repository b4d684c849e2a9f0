//! The Rust SDK: applications, groups and their lifecycle hooks, configurations, deployments as
//! the engine reports them, revisions, errors by code and message.

use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::{
    DeploymentStatus, ElbInfo, LoadBalancerInfo, MinimumHealthyHosts, MinimumHealthyHostsType, TargetGroupInfo,
    TriggerConfig, TriggerEventType,
};
use fakeaws::model::codedeploy as cd;

use crate::util::*;

use super::*;

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
    let hook = fakeaws::rehearsal::launch_hook_name("web-dg");
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
        fakeaws::model::codedeploy::LifecycleEvent::BeforeInstall,
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
        fakeaws::model::codedeploy::LifecycleEvent::ApplicationStart,
        cd::LifecycleEventStatus::InProgress,
        None,
    )
    .expect("event");
    rh.instance_event(
        &id,
        &members[1],
        fakeaws::model::codedeploy::LifecycleEvent::ApplicationStart,
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
    let notes = r
        .fake
        .world()
        .codedeploy_notifications()
        .iter()
        .cloned()
        .collect::<Vec<_>>();
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
