//! Rehearse your pipeline, end to end, as docs/rehearse.md shows it: `rehearse serve` on a world file,
//! then only the AWS CLI: a bucket, an application and a deployment group, `aws deploy push` of a
//! revision built from the sample app and the hook binaries, `aws deploy create-deployment`,
//! `aws deploy wait deployment-successful`; then every instance is healthy in the target group and
//! CodeDeploy records the pushed revision (its ETag) as the group's last successful one. A second
//! push goes through the same way; a deployment of a key nobody pushed fails naming it, and one to a
//! group without instances fails NO_INSTANCES.

mod hooks;

use std::path::{Path, PathBuf};

use scenarios::bundle::{self, Input};

mod common;
use common::{aws, fresh_dir, ok, serve, web_deployment_group};

const WORLD: &str = r#"
[[target_groups]]
name = "web"
port = 80
deregistration_delay = 30
health_check = { interval = 10, healthy_threshold = 2, unhealthy_threshold = 2, timeout = 5 }

[[load_balancers]]
name = "web-alb"
listeners = [{ port = 80, target_group = "web" }]

[[groups]]
name = "web-asg"
min = 2
max = 4
desired = 3
availability_zones = ["us-east-1a", "us-east-1b"]
target_groups = ["web"]
health_check_type = "ELB"
"#;

/// The sample app with the hook binaries, as `cargo xtask bundle` lays a revision out (unpacked:
/// `aws deploy push` zips the folder itself).
fn revision_folder(dir: &Path, marker: &str) -> PathBuf {
    let entries = bundle::collect(&Input {
        app: scenarios::scenarios_dir().join("revisions/sample"),
        appspec: None,
        config: None,
        hooks_dir: hooks::hooks_dir(),
    })
    .expect("collect");
    let root = dir.join(format!("app-{marker}"));
    for e in &entries {
        let to = root.join(&e.path);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("dir");
        std::fs::write(&to, &e.data).expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(e.mode)).expect("chmod");
    }
    // Two pushes of the same app differ by a file, so their ETags differ.
    std::fs::write(root.join("release.txt"), marker).expect("marker");
    root
}

/// `aws deploy push` then `aws deploy create-deployment` with the location push printed: the
/// deployment id and the pushed revision's ETag.
fn push_and_deploy(url: &str, dir: &Path, key: &str, marker: &str) -> (String, String) {
    push_and_deploy_folder(url, dir, key, &revision_folder(dir, marker))
}

/// [`push_and_deploy`] of a revision folder made beforehand.
fn push_and_deploy_folder(url: &str, dir: &Path, key: &str, app: &Path) -> (String, String) {
    let location = format!("s3://releases/{key}");
    let pushed = ok(
        url,
        dir,
        &[
            "deploy",
            "push",
            "--application-name",
            "web",
            "--s3-location",
            &location,
            "--source",
            &app.display().to_string(),
        ],
    );
    // "aws deploy create-deployment --application-name web --s3-location bucket=...,eTag=... ..."
    let s3 = pushed
        .split_whitespace()
        .skip_while(|w| *w != "--s3-location")
        .nth(1)
        .unwrap_or_else(|| panic!("push names the location: {pushed}"))
        .to_string();
    let etag = s3
        .split(',')
        .find_map(|p| p.strip_prefix("eTag="))
        .unwrap_or_else(|| panic!("push records an ETag: {s3}"))
        .to_string();
    let id = ok(
        url,
        dir,
        &[
            "deploy",
            "create-deployment",
            "--application-name",
            "web",
            "--deployment-group-name",
            "web-dg",
            "--s3-location",
            &s3,
            "--query",
            "deploymentId",
            "--output",
            "text",
        ],
    );
    (id, etag)
}

#[test]
fn push_create_deployment_wait_then_the_fleet_runs_the_new_revision() {
    let dir = fresh_dir("rehearse-test");
    let (_server, url) = serve(&dir, WORLD);
    let url = url.as_str();
    ok(url, &dir, &["s3", "mb", "s3://releases"]);
    web_deployment_group(url, &dir, &["--load-balancer-info", "targetGroupInfoList=[{name=web}]"]);
    let tg = ok(
        url,
        &dir,
        &[
            "elbv2",
            "describe-target-groups",
            "--query",
            "TargetGroups[0].TargetGroupArn",
            "--output",
            "text",
        ],
    );
    let mut last = String::new();
    // Two releases, one after the other.
    for (key, marker) in [("web-v1.zip", "v1"), ("web-v2.zip", "v2")] {
        let (id, etag) = push_and_deploy(url, &dir, key, marker);
        ok(
            url,
            &dir,
            &["deploy", "wait", "deployment-successful", "--deployment-id", &id],
        );
        let status = ok(
            url,
            &dir,
            &[
                "deploy",
                "get-deployment",
                "--deployment-id",
                &id,
                "--query",
                "deploymentInfo.[status,deploymentOverview.Succeeded]",
                "--output",
                "text",
            ],
        );
        assert_eq!(
            status.split_whitespace().collect::<Vec<_>>(),
            ["Succeeded", "3"],
            "{key}"
        );
        let health = ok(
            url,
            &dir,
            &[
                "elbv2",
                "describe-target-health",
                "--target-group-arn",
                &tg,
                "--query",
                "TargetHealthDescriptions[].TargetHealth.State",
                "--output",
                "text",
            ],
        );
        assert_eq!(health.split_whitespace().collect::<Vec<_>>(), ["healthy"; 3], "{key}");
        let recorded = ok(
            url,
            &dir,
            &[
                "deploy",
                "get-deployment-group",
                "--application-name",
                "web",
                "--deployment-group-name",
                "web-dg",
                "--query",
                "deploymentGroupInfo.[lastSuccessfulDeployment.deploymentId,targetRevision.s3Location.eTag]",
                "--output",
                "text",
            ],
        );
        assert_eq!(
            recorded.split_whitespace().collect::<Vec<_>>(),
            [id.as_str(), etag.as_str()],
            "{key}"
        );
        last = id;
    }
    assert!(!last.is_empty());
    the_scripts_see_codedeploys_environment_and_a_failure_its_log_tail(url, &dir);
    // A key nobody pushed: the deployment fails, naming it.
    let id = ok(
        url,
        &dir,
        &[
            "deploy",
            "create-deployment",
            "--application-name",
            "web",
            "--deployment-group-name",
            "web-dg",
            "--s3-location",
            "bucket=releases,key=nothing-here.zip,bundleType=zip",
            "--query",
            "deploymentId",
            "--output",
            "text",
        ],
    );
    let (waited, _, err) = aws(
        url,
        &dir,
        &["deploy", "wait", "deployment-successful", "--deployment-id", &id],
    );
    assert!(!waited && err.contains("terminal failure state"), "{err}");
    let why = ok(
        url,
        &dir,
        &[
            "deploy",
            "get-deployment",
            "--deployment-id",
            &id,
            "--query",
            "deploymentInfo.errorInformation.[code,message]",
            "--output",
            "text",
        ],
    );
    assert!(
        why.starts_with("REVISION_MISSING") && why.contains("s3://releases/nothing-here.zip"),
        "{why}"
    );
    // A group with no instances: the deployment fails as CodeDeploy's does.
    ok(
        url,
        &dir,
        &[
            "deploy",
            "create-deployment-group",
            "--application-name",
            "web",
            "--deployment-group-name",
            "empty-dg",
            "--service-role-arn",
            "arn:aws:iam::123456789012:role/CodeDeployServiceRole",
        ],
    );
    let id = ok(
        url,
        &dir,
        &[
            "deploy",
            "create-deployment",
            "--application-name",
            "web",
            "--deployment-group-name",
            "empty-dg",
            "--s3-location",
            "bucket=releases,key=web-v1.zip,bundleType=zip",
            "--query",
            "deploymentId",
            "--output",
            "text",
        ],
    );
    let (waited, _, _) = aws(
        url,
        &dir,
        &["deploy", "wait", "deployment-successful", "--deployment-id", &id],
    );
    assert!(!waited);
    let code = ok(
        url,
        &dir,
        &[
            "deploy",
            "get-deployment",
            "--deployment-id",
            &id,
            "--query",
            "deploymentInfo.errorInformation.code",
            "--output",
            "text",
        ],
    );
    assert_eq!(code, "NO_INSTANCES");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A release whose ValidateService prints the agent's variables and fails: the script saw the
/// deployment's own application, group name and id, deployment id and event; GetDeploymentInstance
/// shows the agent's message and the output's tail (`[stdout]`/`[stderr]` lines); `--logs` holds
/// `scripts.log` where the agent keeps it.
fn the_scripts_see_codedeploys_environment_and_a_failure_its_log_tail(url: &str, dir: &Path) {
    let group_id = ok(
        url,
        dir,
        &[
            "deploy",
            "get-deployment-group",
            "--application-name",
            "web",
            "--deployment-group-name",
            "web-dg",
            "--query",
            "deploymentGroupInfo.deploymentGroupId",
            "--output",
            "text",
        ],
    );
    let app = revision_folder(dir, "env");
    let script = app.join("scripts/validate.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"seen: APPLICATION_NAME=$APPLICATION_NAME DEPLOYMENT_GROUP_NAME=$DEPLOYMENT_GROUP_NAME DEPLOYMENT_GROUP_ID=$DEPLOYMENT_GROUP_ID DEPLOYMENT_ID=$DEPLOYMENT_ID LIFECYCLE_EVENT=$LIFECYCLE_EVENT BUNDLE_KEY=$BUNDLE_KEY\"\necho 'the app did not answer' >&2\nexit 3\n",
    )
    .expect("script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (id, _) = push_and_deploy_folder(url, dir, "web-env.zip", &app);
    let (waited, _, _) = aws(
        url,
        dir,
        &["deploy", "wait", "deployment-successful", "--deployment-id", &id],
    );
    assert!(!waited, "the deployment fails");
    let instances = ok(
        url,
        dir,
        &[
            "deploy",
            "list-deployment-instances",
            "--deployment-id",
            &id,
            "--instance-status-filter",
            "Failed",
            "--query",
            "instancesList[0]",
            "--output",
            "text",
        ],
    );
    let instance = instances.trim();
    let diagnostics = ok(
        url,
        dir,
        &[
            "deploy",
            "get-deployment-instance",
            "--deployment-id",
            &id,
            "--instance-id",
            instance,
            "--query",
            "instanceSummary.lifecycleEvents[?lifecycleEventName=='ValidateService'].diagnostics | [0]",
            "--output",
            "json",
        ],
    );
    let d: serde_json::Value = serde_json::from_str(&diagnostics).expect("json");
    assert_eq!(d["errorCode"], "ScriptFailed", "{d}");
    assert_eq!(d["scriptName"], "scripts/validate.sh", "{d}");
    assert_eq!(
        d["message"], "Script at specified location: scripts/validate.sh failed with exit code 3",
        "{d}"
    );
    let tail = d["logTail"].as_str().expect("a log tail");
    let expected = format!(
        "[stdout]seen: APPLICATION_NAME=web DEPLOYMENT_GROUP_NAME=web-dg DEPLOYMENT_GROUP_ID={} DEPLOYMENT_ID={id} LIFECYCLE_EVENT=ValidateService BUNDLE_KEY=web-env.zip\n",
        group_id.trim()
    );
    assert!(
        tail.starts_with("LifecycleEvent - ValidateService\nScript - scripts/validate.sh\n"),
        "{tail}"
    );
    assert!(tail.contains(&expected), "{tail}");
    // Two pipes: which of the two lines is read first is the operating system's choice, as it is
    // for the agent's two reader threads.
    assert!(tail.contains("[stderr]the app did not answer\n"), "{tail}");
    let log = dir
        .join("logs")
        .join(instance)
        .join("deployment-root")
        .join(group_id.trim())
        .join(&id)
        .join("logs/scripts.log");
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(text.contains(&expected), "{text}");
    // The hooks found the deployment in its own application: no lookup fell back to resuming
    // processes per instance.
    let mut logs = Vec::new();
    let mut stack = vec![dir.join("logs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("logs").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.ends_with("logs/scripts.log") {
                logs.push(std::fs::read_to_string(&p).expect("log"));
            }
        }
    }
    assert!(
        logs.iter().any(|l| l.contains("register-with-elb")),
        "the hooks' logs are kept"
    );
    assert!(
        !logs.iter().any(|l| l.contains("ApplicationDoesNotExist")),
        "every ListDeployments found the application"
    );
}
