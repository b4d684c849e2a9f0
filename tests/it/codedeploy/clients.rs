//! boto3 (with the `deployment_successful` waiter) and `aws deploy`.

use fakeaws::model::codedeploy as cd;

use crate::botocore::{aws_cli, boto3};
use crate::util::*;

use super::*;

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
            fakeaws::rehearsal::DeploymentInput {
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
