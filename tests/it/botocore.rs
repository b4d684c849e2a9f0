//! fakeaws through botocore: boto3 scripts and the AWS CLI, run as child processes.
//!
//! These need Python with `boto3` and `awscli` (`cargo xtask test` installs them). Without them the tests
//! fail with a message saying so, rather than passing silently.

use std::process::Command;

use crate::util::*;

pub(crate) fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

pub(crate) fn clean_env(cmd: &mut Command, url: &str) {
    cmd.env("AWS_ACCESS_KEY_ID", fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
        )
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_CONFIG_FILE", "/nonexistent/fakeaws-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/fakeaws-credentials")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
}

/// [`clean_env`], then the given credentials in place of the default pair.
pub(crate) fn clean_env_as(cmd: &mut Command, url: &str, key: &str, secret: &str, token: Option<&str>) {
    clean_env(cmd, url);
    cmd.env("AWS_ACCESS_KEY_ID", key).env("AWS_SECRET_ACCESS_KEY", secret);
    if let Some(t) = token {
        cmd.env("AWS_SESSION_TOKEN", t);
    }
}

/// Runs a boto3 script; the script prints JSON on its last line.
pub(crate) fn boto3(url: &str, script: &str, extra_env: &[(&str, &str)]) -> serde_json::Value {
    let mut cmd = Command::new(python());
    cmd.arg("-c").arg(script);
    clean_env(&mut cmd, url);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("python3 runs (install python3 with boto3)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "boto3 script failed:\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("null")).expect("script prints JSON")
}

pub(crate) fn aws_cli(url: &str, args: &[&str]) -> (bool, serde_json::Value, String) {
    let mut cmd = Command::new("aws");
    cmd.args(args).arg("--output").arg("json");
    clean_env(&mut cmd, url);
    let out = cmd.output().expect("the AWS CLI runs (pip install awscli)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = if stdout.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&stdout).expect("CLI prints JSON")
    };
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const BOTO_WORLD: &str = r#"
import boto3, json
elb = boto3.client('elbv2'); asg = boto3.client('autoscaling')
tg = elb.create_target_group(Name='web', Protocol='HTTP', Port=80, VpcId='vpc-1',
    HealthCheckIntervalSeconds=10, HealthyThresholdCount=2)['TargetGroups'][0]['TargetGroupArn']
elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{'Key': 'deregistration_delay.timeout_seconds', 'Value': '30'}])
lb = elb.create_load_balancer(Name='alb', Subnets=['subnet-a', 'subnet-b'])['LoadBalancers'][0]['LoadBalancerArn']
elb.create_listener(LoadBalancerArn=lb, Protocol='HTTP', Port=80, DefaultActions=[{'Type': 'forward', 'TargetGroupArn': tg}])
asg.create_auto_scaling_group(AutoScalingGroupName='web asg', LaunchTemplate={'LaunchTemplateName': 'web-lt'},
    MinSize=1, MaxSize=4, DesiredCapacity=2, AvailabilityZones=['us-east-1a', 'us-east-1b'], TargetGroupARNs=[tg])
asg.suspend_processes(AutoScalingGroupName='web asg', ScalingProcesses=['AZRebalance'])
asg.put_lifecycle_hook(AutoScalingGroupName='web asg', LifecycleHookName='h', LifecycleTransition='autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout=300)
g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=['web asg'])['AutoScalingGroups'][0]
print(json.dumps({'tg': tg, 'instances': [i['InstanceId'] for i in g['Instances']],
    'suspended': [p['ProcessName'] for p in g['SuspendedProcesses']], 'created': str(g['CreatedTime'])}))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn boto3_builds_a_world_and_waiters_work_on_the_advanced_clock() {
    let r = start().await;
    let url = r.url.clone();
    let world = tokio::task::spawn_blocking(move || boto3(&url, BOTO_WORLD, &[]))
        .await
        .expect("join");
    assert_eq!(world["suspended"], serde_json::json!(["AZRebalance"]));
    assert_eq!(world["instances"].as_array().map(Vec::len), Some(2));
    let tg = world["tg"].as_str().expect("tg").to_string();
    // Boot and health checks have not happened yet: the waiter (one attempt) fails...
    let waiter = format!(
        "import boto3, json\nelb = boto3.client('elbv2')\ntry:\n    elb.get_waiter('target_in_service').wait(TargetGroupArn='{tg}', WaiterConfig={{'Delay': 0, 'MaxAttempts': 1}})\n    print(json.dumps('ok'))\nexcept Exception as e:\n    print(json.dumps('failed: ' + type(e).__name__))\n"
    );
    let (url, w) = (r.url.clone(), waiter.clone());
    let out = tokio::task::spawn_blocking(move || boto3(&url, &w, &[]))
        .await
        .expect("join");
    assert_eq!(out, serde_json::json!("failed: WaiterError"));
    // ...until the clock passes boot (30 s) and two 10 s health checks.
    advance(&r.fake, 50);
    let (url, w) = (r.url.clone(), waiter.clone());
    let out = tokio::task::spawn_blocking(move || boto3(&url, &w, &[]))
        .await
        .expect("join");
    assert_eq!(out, serde_json::json!("ok"));
    // Standby round trip through boto3, waiting for deregistration with the waiter.
    let id = world["instances"][0].as_str().expect("id").to_string();
    let script = format!(
        "import boto3, json\nasg = boto3.client('autoscaling')\na = asg.enter_standby(AutoScalingGroupName='web asg', InstanceIds=['{id}'], ShouldDecrementDesiredCapacity=True)['Activities'][0]\nprint(json.dumps({{'d': a['Description'], 's': asg.describe_auto_scaling_instances(InstanceIds=['{id}'])['AutoScalingInstances'][0]['LifecycleState']}}))\n"
    );
    let url = r.url.clone();
    let out = tokio::task::spawn_blocking(move || boto3(&url, &script, &[]))
        .await
        .expect("join");
    assert_eq!(out["d"], format!("Moving EC2 instance to Standby: {id}"));
    assert_eq!(out["s"], "EnteringStandby");
    advance(&r.fake, 30);
    let script = format!(
        "import boto3, json\nelb = boto3.client('elbv2'); asg = boto3.client('autoscaling')\nelb.get_waiter('target_deregistered').wait(TargetGroupArn='{tg}', Targets=[{{'Id': '{id}'}}], WaiterConfig={{'Delay': 0, 'MaxAttempts': 1}})\nasg.exit_standby(AutoScalingGroupName='web asg', InstanceIds=['{id}'])\nprint(json.dumps(asg.describe_auto_scaling_instances(InstanceIds=['{id}'])['AutoScalingInstances'][0]['LifecycleState']))\n"
    );
    let url = r.url.clone();
    let out = tokio::task::spawn_blocking(move || boto3(&url, &script, &[]))
        .await
        .expect("join");
    assert_eq!(out, "Pending");
    advance(&r.fake, 25);
    let (url, w) = (r.url.clone(), waiter);
    let out = tokio::task::spawn_blocking(move || boto3(&url, &w, &[]))
        .await
        .expect("join");
    assert_eq!(out, serde_json::json!("ok"));
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_reads_and_gets_aws_shaped_errors() {
    let r = start().await;
    let _ = standard_world(&r, 1, 3, 2).await;
    let url = r.url.clone();
    let (ok, json, _) =
        tokio::task::spawn_blocking(move || aws_cli(&url, &["autoscaling", "describe-auto-scaling-groups"]))
            .await
            .expect("join");
    assert!(ok);
    assert_eq!(json["AutoScalingGroups"][0]["AutoScalingGroupName"], "web-asg");
    assert_eq!(
        json["AutoScalingGroups"][0]["Instances"].as_array().map(Vec::len),
        Some(2)
    );
    let url = r.url.clone();
    let (ok, json, _) =
        tokio::task::spawn_blocking(move || aws_cli(&url, &["elbv2", "describe-target-groups", "--names", "web"]))
            .await
            .expect("join");
    assert!(ok);
    let tg = json["TargetGroups"][0]["TargetGroupArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let url = r.url.clone();
    let (ok, json, _) = tokio::task::spawn_blocking(move || {
        aws_cli(&url, &["elbv2", "describe-target-health", "--target-group-arn", &tg])
    })
    .await
    .expect("join");
    assert!(ok);
    assert_eq!(json["TargetHealthDescriptions"][0]["TargetHealth"]["State"], "healthy");
    let url = r.url.clone();
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        aws_cli(
            &url,
            &[
                "autoscaling",
                "set-desired-capacity",
                "--auto-scaling-group-name",
                "web-asg",
                "--desired-capacity",
                "9",
            ],
        )
    })
    .await
    .expect("join");
    assert!(!ok);
    assert!(
        err.contains("ValidationError") && err.contains("New SetDesiredCapacity value 9 is above max value 3"),
        "{err}"
    );
    let url = r.url.clone();
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        aws_cli(
            &url,
            &[
                "autoscaling",
                "complete-lifecycle-action",
                "--auto-scaling-group-name",
                "web-asg",
                "--lifecycle-hook-name",
                "x",
                "--lifecycle-action-result",
                "CONTINUE",
                "--instance-id",
                "i-1",
            ],
        )
    })
    .await
    .expect("join");
    assert!(!ok);
    assert!(err.contains("No active Lifecycle Action"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn botocore_becomes_the_instance_through_its_metadata_endpoint() {
    let r = start().await;
    let (group, _) = standard_world(&r, 1, 3, 2).await;
    let id = r.fake.world().groups()[&group].instances[0].clone();
    let endpoint = r.fake.imds_endpoint(&id);
    let script = r#"
import boto3, json, botocore.session
s = boto3.session.Session()
c = s.get_credentials()
a = s.client('autoscaling').describe_auto_scaling_groups()['AutoScalingGroups'][0]['AutoScalingGroupName']
from botocore.utils import InstanceMetadataRegionFetcher
print(json.dumps({'key': c.access_key, 'method': c.method, 'region': s.region_name, 'group': a,
    'fetched_region': InstanceMetadataRegionFetcher(config={'ec2_metadata_service_endpoint':
        s._session.get_config_variable('ec2_metadata_service_endpoint')}).retrieve_region()}))
"#;
    let url = r.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(python());
        cmd.arg("-c").arg(script);
        clean_env(&mut cmd, &url);
        // Credentials come from the instance; boto3 (unlike the Rust SDK) does not read the
        // region from instance metadata by itself, so the script asks the metadata fetcher.
        cmd.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
        cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint);
        let out = cmd.output().expect("python3");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(out.stdout.trim_ascii()).expect("json")
    })
    .await
    .expect("join");
    assert_eq!(out["method"], "iam-role");
    assert!(out["key"].as_str().unwrap_or_default().starts_with("ASIAFAKE"));
    assert_eq!(out["group"], group);
    assert_eq!(out["fetched_region"], "us-east-1");
}

/// Slow start and connection termination through boto3 and the AWS CLI (issue 30 item 8): a
/// value AWS refuses is refused with its error code; a valid one is read back by both.
#[tokio::test(flavor = "multi_thread")]
async fn slow_start_through_boto3_and_the_cli() {
    let r = start().await;
    let url = r.url.clone();
    let script = r#"
import boto3, json, botocore
elb = boto3.client('elbv2')
tg = elb.create_target_group(Name='web', Protocol='HTTP', Port=80, VpcId='vpc-1')['TargetGroups'][0]['TargetGroupArn']
try:
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{'Key': 'slow_start.duration_seconds', 'Value': '10'}])
    refused = None
except botocore.exceptions.ClientError as e:
    refused = e.response['Error']['Code']
elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{'Key': 'slow_start.duration_seconds', 'Value': '120'}])
nlb = elb.create_target_group(Name='tcp', Protocol='TCP', Port=80, VpcId='vpc-1')['TargetGroups'][0]['TargetGroupArn']
key = 'deregistration_delay.connection_termination.enabled'
try:
    elb.modify_target_group_attributes(TargetGroupArn=nlb, Attributes=[{'Key': key, 'Value': 'on'}])
    flag_refused = None
except botocore.exceptions.ClientError as e:
    flag_refused = e.response['Error']['Code']
elb.modify_target_group_attributes(TargetGroupArn=nlb, Attributes=[{'Key': key, 'Value': 'true'}])
a = {x['Key']: x['Value'] for x in elb.describe_target_group_attributes(TargetGroupArn=tg)['Attributes']}
n = {x['Key']: x['Value'] for x in elb.describe_target_group_attributes(TargetGroupArn=nlb)['Attributes']}
print(json.dumps({'tg': tg, 'nlb': nlb, 'refused': refused, 'slow_start': a['slow_start.duration_seconds'],
                  'flag_refused': flag_refused, 'termination': n[key]}))
"#;
    let out = tokio::task::spawn_blocking(move || boto3(&url, script, &[]))
        .await
        .expect("join");
    assert_eq!(out["refused"], "InvalidConfigurationRequest");
    assert_eq!(out["slow_start"], "120");
    assert_eq!(out["flag_refused"], "InvalidConfigurationRequest");
    assert_eq!(out["termination"], "true");
    let nlb = out["nlb"].as_str().expect("nlb").to_string();
    let url = r.url.clone();
    let (ok, text, err) = tokio::task::spawn_blocking(move || {
        aws_cli(
            &url,
            &[
                "elbv2",
                "describe-target-group-attributes",
                "--target-group-arn",
                &nlb,
                "--query",
                "Attributes[?Key=='deregistration_delay.connection_termination.enabled'].Value",
            ],
        )
    })
    .await
    .expect("join");
    assert!(ok, "{err}");
    assert_eq!(text, serde_json::json!(["true"]), "{text}");
    let tg = out["tg"].as_str().expect("tg").to_string();
    let url = r.url.clone();
    let (ok, json, err) = tokio::task::spawn_blocking(move || {
        aws_cli(
            &url,
            &["elbv2", "describe-target-group-attributes", "--target-group-arn", &tg],
        )
    })
    .await
    .expect("join");
    assert!(ok, "{err}");
    assert!(
        json["Attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .any(|a| a["Key"] == "slow_start.duration_seconds" && a["Value"] == "120"),
        "{json}"
    );
}

/// The instance lifecycle policy through boto3 and the AWS CLI (issue 30 item 6): set on a new
/// group by boto3, refused with AWS's code for a value it does not know, read back by both; a
/// retained instance's state as DescribeAutoScalingInstances gives it to boto3.
#[tokio::test(flavor = "multi_thread")]
async fn instance_retention_through_boto3_and_the_cli() {
    let r = start().await;
    let url = r.url.clone();
    let script = r#"
import boto3, json, botocore
asg = boto3.client('autoscaling')
asg.create_auto_scaling_group(AutoScalingGroupName='keep', MinSize=1, MaxSize=3, DesiredCapacity=1,
    AvailabilityZones=['us-east-1a'], LaunchTemplate={'LaunchTemplateName': 'web-template'},
    InstanceLifecyclePolicy={'RetentionTriggers': {'TerminateHookAbandon': 'retain'}},
    LifecycleHookSpecificationList=[{'LifecycleHookName': 'drain',
        'LifecycleTransition': 'autoscaling:EC2_INSTANCE_TERMINATING', 'HeartbeatTimeout': 30, 'DefaultResult': 'ABANDON'}])
try:
    asg.update_auto_scaling_group(AutoScalingGroupName='keep',
        InstanceLifecyclePolicy={'RetentionTriggers': {'TerminateHookAbandon': 'keep'}})
    refused = None
except botocore.exceptions.ClientError as e:
    refused = e.response['Error']['Code']
g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=['keep'])['AutoScalingGroups'][0]
print(json.dumps({'refused': refused, 'policy': g['InstanceLifecyclePolicy'],
    'instance': g['Instances'][0]['InstanceId']}))
"#;
    let out = tokio::task::spawn_blocking(move || boto3(&url, script, &[]))
        .await
        .expect("join");
    assert_eq!(out["refused"], "ValidationError");
    assert_eq!(out["policy"]["RetentionTriggers"]["TerminateHookAbandon"], "retain");
    let id = out["instance"].as_str().expect("instance").to_string();
    let url = r.url.clone();
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        aws_cli(
            &url,
            &[
                "autoscaling",
                "terminate-instance-in-auto-scaling-group",
                "--instance-id",
                &id,
                "--no-should-decrement-desired-capacity",
            ],
        )
    })
    .await
    .expect("join");
    assert!(ok, "{err}");
    r.fake.clock.advance_ms(60_000);
    let url = r.url.clone();
    let (ok, json, err) = tokio::task::spawn_blocking(move || {
        aws_cli(
            &url,
            &[
                "autoscaling",
                "describe-auto-scaling-groups",
                "--auto-scaling-group-names",
                "keep",
            ],
        )
    })
    .await
    .expect("join");
    assert!(ok, "{err}");
    let g = &json["AutoScalingGroups"][0];
    assert_eq!(
        g["InstanceLifecyclePolicy"]["RetentionTriggers"]["TerminateHookAbandon"], "retain",
        "{json}"
    );
    let states: Vec<&str> = g["Instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["LifecycleState"].as_str())
        .collect();
    assert!(states.contains(&"Terminating:Retained"), "{states:?}");
    assert!(
        states.contains(&"InService") || states.contains(&"Pending"),
        "{states:?}"
    );
}

/// Issue 30 (instance refresh): boto3 starts one with checkpoints and reads it back (its
/// preferences, its progress); a second is refused with the modelled code; the AWS CLI cancels
/// it and sees Cancelled once the replacement under way is done.
#[tokio::test(flavor = "multi_thread")]
async fn instance_refresh_through_boto3_and_the_cli() {
    let r = start().await;
    let url = r.url.clone();
    let script = r#"
import boto3, json, botocore
asg = boto3.client('autoscaling')
asg.create_auto_scaling_group(AutoScalingGroupName='web', MinSize=1, MaxSize=6, DesiredCapacity=4,
    AvailabilityZones=['us-east-1a', 'us-east-1b'], LaunchTemplate={'LaunchTemplateName': 'web-template'})
rid = asg.start_instance_refresh(AutoScalingGroupName='web', Strategy='Rolling',
    DesiredConfiguration={'LaunchTemplate': {'LaunchTemplateName': 'web-template-2'}},
    Preferences={'MinHealthyPercentage': 75, 'InstanceWarmup': 30, 'CheckpointPercentages': [50, 100],
                 'CheckpointDelay': 600, 'StandbyInstances': 'Terminate', 'ScaleInProtectedInstances': 'Refresh'})['InstanceRefreshId']
try:
    asg.start_instance_refresh(AutoScalingGroupName='web')
    again = None
except botocore.exceptions.ClientError as e:
    again = e.response['Error']['Code']
try:
    asg.start_instance_refresh(AutoScalingGroupName='web', Preferences={'StandbyInstances': 'Maybe'})
    bad = None
except botocore.exceptions.ClientError as e:
    bad = e.response['Error']['Message']
r = asg.describe_instance_refreshes(AutoScalingGroupName='web')['InstanceRefreshes'][0]
print(json.dumps({'id': rid, 'again': again, 'bad': bad, 'status': r['Status'],
    'prefs': r['Preferences'], 'template': r['DesiredConfiguration']['LaunchTemplate']['LaunchTemplateName'],
    'to_update': r['InstancesToUpdate']}))
"#;
    let out = tokio::task::spawn_blocking(move || boto3(&url, script, &[]))
        .await
        .expect("join");
    assert_eq!(out["again"], "InstanceRefreshInProgress");
    assert!(
        out["bad"]
            .as_str()
            .is_some_and(|m| m.contains("Member must satisfy enum value set: [Terminate, Ignore, Wait]")),
        "{out}"
    );
    assert_eq!(out["status"], "InProgress");
    assert_eq!(out["prefs"]["CheckpointPercentages"], serde_json::json!([50, 100]));
    assert_eq!(out["prefs"]["StandbyInstances"], "Terminate");
    assert_eq!(out["template"], "web-template-2");
    assert_eq!(out["to_update"], 4);
    let id = out["id"].as_str().expect("id").to_string();
    let url = r.url.clone();
    let fake = r.fake.clone();
    tokio::task::spawn_blocking(move || {
        let (ok, json, err) = aws_cli(
            &url,
            &[
                "autoscaling",
                "cancel-instance-refresh",
                "--auto-scaling-group-name",
                "web",
            ],
        );
        assert!(ok, "{err}");
        assert_eq!(json["InstanceRefreshId"], id.as_str());
        fake.clock.advance_ms(600_000);
        let (ok, json, err) = aws_cli(
            &url,
            &[
                "autoscaling",
                "describe-instance-refreshes",
                "--auto-scaling-group-name",
                "web",
            ],
        );
        assert!(ok, "{err}");
        assert_eq!(json["InstanceRefreshes"][0]["Status"], "Cancelled", "{json}");
        let (ok, _, err) = aws_cli(
            &url,
            &[
                "autoscaling",
                "rollback-instance-refresh",
                "--auto-scaling-group-name",
                "web",
            ],
        );
        assert!(!ok);
        assert!(err.contains("(ActiveInstanceRefreshNotFound)"), "{err}");
    })
    .await
    .expect("cli");
}

/// Issue 30 (Capacity Rebalancing): boto3 creates a group with it on and reads it back; the AWS
/// CLI turns it off (`--no-capacity-rebalance`) and reads it back.
#[tokio::test(flavor = "multi_thread")]
async fn capacity_rebalance_through_boto3_and_the_cli() {
    let r = start().await;
    let url = r.url.clone();
    let script = r#"
import boto3, json
asg = boto3.client('autoscaling')
asg.create_auto_scaling_group(AutoScalingGroupName='spot', MinSize=1, MaxSize=4, DesiredCapacity=2,
    AvailabilityZones=['us-east-1a'], LaunchTemplate={'LaunchTemplateName': 'spot-template'}, CapacityRebalance=True)
g = asg.describe_auto_scaling_groups(AutoScalingGroupNames=['spot'])['AutoScalingGroups'][0]
print(json.dumps({'on': g['CapacityRebalance']}))
"#;
    let out = tokio::task::spawn_blocking(move || boto3(&url, script, &[]))
        .await
        .expect("join");
    assert_eq!(out["on"], true);
    let url = r.url.clone();
    tokio::task::spawn_blocking(move || {
        let (ok, _, err) = aws_cli(
            &url,
            &[
                "autoscaling",
                "update-auto-scaling-group",
                "--auto-scaling-group-name",
                "spot",
                "--no-capacity-rebalance",
            ],
        );
        assert!(ok, "{err}");
        let (ok, json, err) = aws_cli(
            &url,
            &[
                "autoscaling",
                "describe-auto-scaling-groups",
                "--auto-scaling-group-names",
                "spot",
            ],
        );
        assert!(ok, "{err}");
        assert_eq!(json["AutoScalingGroups"][0]["CapacityRebalance"], false, "{json}");
    })
    .await
    .expect("cli");
}

/// Issue 30 item 1: a warm pool put with boto3 (the paginator reads its instances in pages of
/// one), described and force-deleted with the AWS CLI, which also prints the group's
/// `WarmPoolConfiguration` and `WarmPoolSize`.
#[tokio::test]
async fn warm_pool_through_boto3_and_the_cli() {
    let r = start().await;
    let url = r.url.clone();
    let script = r#"
import boto3, json
asg = boto3.client('autoscaling')
asg.create_auto_scaling_group(AutoScalingGroupName='warm', MinSize=1, MaxSize=5, DesiredCapacity=2,
    AvailabilityZones=['us-east-1a'], LaunchTemplate={'LaunchTemplateName': 'warm-template'})
asg.put_warm_pool(AutoScalingGroupName='warm', MinSize=1, PoolState='Hibernated',
    InstanceReusePolicy={'ReuseOnScaleIn': True})
pages = asg.get_paginator('describe_warm_pool').paginate(AutoScalingGroupName='warm', PaginationConfig={'PageSize': 1})
states = [i['LifecycleState'] for p in pages for i in p['Instances']]
conf = asg.describe_warm_pool(AutoScalingGroupName='warm')['WarmPoolConfiguration']
# botocore checks the minimum itself: without its check, the server's message.
from botocore.config import Config
raw = boto3.client('autoscaling', config=Config(parameter_validation=False))
try:
    raw.put_warm_pool(AutoScalingGroupName='warm', MaxGroupPreparedCapacity=-2)
    bad = None
except raw.exceptions.ClientError as e:
    bad = e.response['Error']['Message']
print(json.dumps({'states': states, 'conf': conf, 'bad': bad}))
"#;
    let out = tokio::task::spawn_blocking(move || boto3(&url, script, &[]))
        .await
        .expect("join");
    // MaxSize 5 less 2 desired.
    assert_eq!(out["states"].as_array().map(Vec::len), Some(3), "{out}");
    assert!(
        out["states"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|s| s == "Warmed:Pending"),
        "{out}"
    );
    assert_eq!(out["conf"]["PoolState"], "Hibernated", "{out}");
    assert_eq!(out["conf"]["MinSize"], 1, "{out}");
    assert_eq!(out["conf"]["InstanceReusePolicy"]["ReuseOnScaleIn"], true, "{out}");
    assert!(out["conf"].get("MaxGroupPreparedCapacity").is_none(), "{out}");
    assert_eq!(
        out["bad"],
        "1 validation error detected: Value '-2' at 'maxGroupPreparedCapacity' failed to satisfy constraint: Member must have value greater than or equal to -1"
    );
    r.fake.clock.advance_ms(30_000);
    let url = r.url.clone();
    tokio::task::spawn_blocking(move || {
        let (ok, json, err) = aws_cli(
            &url,
            &["autoscaling", "describe-warm-pool", "--auto-scaling-group-name", "warm"],
        );
        assert!(ok, "{err}");
        let states: Vec<&str> = json["Instances"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["LifecycleState"].as_str())
            .collect();
        assert_eq!(states, ["Warmed:Hibernated"; 3], "{json}");
        let (ok, json, err) = aws_cli(
            &url,
            &[
                "autoscaling",
                "describe-auto-scaling-groups",
                "--auto-scaling-group-names",
                "warm",
            ],
        );
        assert!(ok, "{err}");
        assert_eq!(json["AutoScalingGroups"][0]["WarmPoolSize"], 3, "{json}");
        assert_eq!(
            json["AutoScalingGroups"][0]["WarmPoolConfiguration"]["PoolState"], "Hibernated",
            "{json}"
        );
        assert_eq!(
            json["AutoScalingGroups"][0]["Instances"].as_array().map(Vec::len),
            Some(2),
            "{json}"
        );
        let (ok, _, err) = aws_cli(
            &url,
            &[
                "autoscaling",
                "delete-warm-pool",
                "--auto-scaling-group-name",
                "warm",
                "--force-delete",
            ],
        );
        assert!(ok, "{err}");
        let (ok, json, err) = aws_cli(
            &url,
            &["autoscaling", "describe-warm-pool", "--auto-scaling-group-name", "warm"],
        );
        assert!(ok, "{err}");
        assert!(
            json.get("WarmPoolConfiguration").is_none_or(serde_json::Value::is_null),
            "{json}"
        );
        assert_eq!(json["Instances"].as_array().map(Vec::len), Some(0), "{json}");
    })
    .await
    .expect("cli");
}
