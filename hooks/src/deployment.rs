//! The deployment as a whole, asked of CodeDeploy: whether instances of this deployment, or of
//! another deployment of the group under way, are still to go. The last instance back resumes the
//! scaling processes only when none is (AZRebalance and the others stay suspended in the gaps
//! between instances), and then in every Auto Scaling group of the deployment group. Needs
//! `codedeploy:ListDeployments`, `codedeploy:ListDeploymentTargets` and
//! `codedeploy:GetDeploymentGroup` on the deployment group; without them, or outside a deployment,
//! the hooks decide per instance as before and say so.

use serde_json::json;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::state::State;

/// What CodeDeploy says about the rest of the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rest {
    /// Instances are still to go (why, for the log).
    Left(String),
    /// No instance of any deployment of the group is left to go.
    Done,
    /// CodeDeploy cannot be asked (why, for the log): decide per instance.
    Unknown(String),
}

/// The deployment's application and group names, when the agent gave them.
fn names(ctx: &Ctx) -> Option<(&str, &str)> {
    if ctx.deployment_id == "manual" {
        return None;
    }
    Some((ctx.application.as_deref()?, ctx.deployment_group_name.as_deref()?))
}

/// Asks CodeDeploy whether instances are left to go: this deployment's instances not yet started,
/// and any other deployment of the group that is created, queued or has instances not yet started
/// (a launch deployment beside a user deployment). Two small answers: the group's active
/// deployments, then each one's pending targets (not GetDeployment, whose large answer would cost
/// the binaries more). An instance of them that has started either
/// is out of service now (and the caller sees it in the group) or suspends the processes itself
/// when it leaves.
pub async fn rest(ctx: &Ctx) -> Result<Rest> {
    let Some((app, group)) = names(ctx) else {
        return Ok(Rest::Unknown(
            "not run by CodeDeploy (no DEPLOYMENT_ID, APPLICATION_NAME and DEPLOYMENT_GROUP_NAME)".into(),
        ));
    };
    if let Some(why) = ctx.store.codedeploy_unavailable(&ctx.deployment_id) {
        return Ok(Rest::Unknown(format!(
            "{why} (found by an earlier run in this deployment: not asked again)"
        )));
    }
    let listed = deployments(ctx, app, group, &["Created", "Queued", "InProgress", "Baking", "Ready"]).await;
    let ids = match listed {
        Ok(ids) => ids,
        Err(e) => return Ok(unknown(ctx, "codedeploy:ListDeployments", &e)),
    };
    for id in ids {
        // Page by page (CodeDeploy lists 100 at a time), until one still in a group is found.
        let mut live = Live::default();
        let mut complete = false;
        let mut token = None;
        for _ in 0..MAX_PAGES {
            let (pending, next) = match targets_page(ctx, &id, "Pending", token.as_deref()).await {
                Ok(page) => page,
                Err(e) if e.code.as_deref() == Some("DeploymentNotStartedException") => {
                    return Ok(Rest::Left(format!("deployment {id} of the group has not started yet")));
                }
                Err(e) => return Ok(unknown(ctx, "codedeploy:ListDeploymentTargets", &e)),
            };
            // CodeDeploy's list keeps an instance that left the group before its turn (a
            // scale-in, a termination, a detach) until the deployment ends: it will never come
            // back out, so it does not hold the processes.
            let whole_page = match still_in_a_group(ctx, &pending, &mut live).await {
                Ok(whole) => whole,
                Err(e) => return Ok(unknown(ctx, "autoscaling:DescribeAutoScalingInstances", &e)),
            };
            token = next;
            if live.found > 0 || token.is_none() {
                complete = whole_page && token.is_none();
                break;
            }
        }
        if live.found > 0 {
            let whose = if id == ctx.deployment_id {
                "this deployment".to_string()
            } else {
                format!("deployment {id}")
            };
            let n = live.found;
            return Ok(Rest::Left(if complete {
                format!("{n} instance(s) of {whose} still to go")
            } else {
                format!(
                    "{n}+ instance(s) of {whose} still to go (the first {} not yet started looked up)",
                    live.checked
                )
            }));
        }
    }
    Ok(Rest::Done)
}

/// The instances of the group's deployments that are in progress now (CodeDeploy's
/// `InProgress` targets of each active deployment); `None` (logged) when CodeDeploy cannot be
/// asked.
pub async fn in_progress(ctx: &Ctx) -> Result<Option<Vec<String>>> {
    let Some((app, group)) = names(ctx) else {
        return Ok(None);
    };
    if ctx.store.codedeploy_unavailable(&ctx.deployment_id).is_some() {
        return Ok(None);
    }
    let ids = match deployments(ctx, app, group, &["InProgress", "Baking", "Ready"]).await {
        Ok(ids) => ids,
        Err(e) => {
            unanswered(ctx, "codedeploy:ListDeployments", &e);
            return Ok(None);
        }
    };
    let mut busy = Vec::new();
    for id in ids {
        match targets(ctx, &id, "InProgress").await {
            Ok(ids) => busy.extend(ids),
            Err(e) => {
                unanswered(ctx, "codedeploy:ListDeploymentTargets", &e);
                return Ok(None);
            }
        }
    }
    Ok(Some(busy))
}

/// The group's deployments in one of `statuses` (ListDeployments, every page).
async fn deployments(
    ctx: &Ctx,
    app: &str,
    group: &str,
    statuses: &[&str],
) -> std::result::Result<Vec<String>, crate::ctx::AwsFailure> {
    let input = json!({
        "applicationName": app,
        "deploymentGroupName": group,
        "includeOnlyStatuses": statuses,
    });
    list_all(ctx, "ListDeployments", input, "deployments").await
}

/// One deployment's targets with `status` (ListDeploymentTargets, every page).
async fn targets(ctx: &Ctx, id: &str, status: &str) -> std::result::Result<Vec<String>, crate::ctx::AwsFailure> {
    list_all(ctx, "ListDeploymentTargets", targets_input(id, status), "targetIds").await
}

/// One page of a deployment's targets with `status` from `token` on, and the next page's token.
async fn targets_page(
    ctx: &Ctx,
    id: &str,
    status: &str,
    token: Option<&str>,
) -> std::result::Result<(Vec<String>, Option<String>), crate::ctx::AwsFailure> {
    list_page(
        ctx,
        "ListDeploymentTargets",
        targets_input(id, status),
        "targetIds",
        token,
    )
    .await
}

fn targets_input(id: &str, status: &str) -> serde_json::Value {
    json!({ "deploymentId": id, "targetFilters": { "TargetStatus": [status] } })
}

/// Every page of a CodeDeploy list (`key` of each answer), following `nextToken`.
async fn list_all(
    ctx: &Ctx,
    op: &'static str,
    input: serde_json::Value,
    key: &str,
) -> std::result::Result<Vec<String>, crate::ctx::AwsFailure> {
    let mut all = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let (items, next) = list_page(ctx, op, input.clone(), key, token.as_deref()).await?;
        all.extend(items);
        token = next;
        if token.is_none() {
            break;
        }
    }
    Ok(all)
}

/// One page of a CodeDeploy list from `token` on, and the next page's token.
async fn list_page(
    ctx: &Ctx,
    op: &'static str,
    mut input: serde_json::Value,
    key: &str,
    token: Option<&str>,
) -> std::result::Result<(Vec<String>, Option<String>), crate::ctx::AwsFailure> {
    if let Some(t) = token {
        input["nextToken"] = json!(t);
    }
    let out = ctx.call(op, || ctx.codedeploy.call(op, input.clone())).await?;
    Ok((strings(&out[key]), out["nextToken"].as_str().map(str::to_string)))
}

/// Logs why the instances in progress are not known: every member out of service keeps counting.
fn unanswered(ctx: &Ctx, what: &str, e: &crate::ctx::AwsFailure) {
    note_if_lasting(ctx, what, e);
    ctx.info(format!(
        "no answer to {what} ({}): every instance out of service still counts as these hooks'",
        e.code.as_deref().unwrap_or("transport error")
    ));
}

/// Pages of a list CodeDeploy answers with `nextToken` read at most (10,000 entries of its 100 a
/// page): a guard against an answer that never ends, far above a deployment group's fleet.
const MAX_PAGES: usize = 100;

/// How many instances CodeDeploy lists as not yet started are still members of an Auto Scaling
/// group (on their way in or in service: not terminating, terminated, detaching or detached),
/// among how many were looked up.
#[derive(Default)]
struct Live {
    found: usize,
    checked: usize,
}

/// Looks `ids` up in DescribeAutoScalingInstances, 50 per call (AWS's limit), adding to `live`,
/// until a call finds one still in a group: one is enough to keep the processes suspended, and a
/// fleet's first batch back would otherwise each look up every instance still to go. None when
/// `ids` is empty. `Ok(true)`: every one of `ids` was looked up.
async fn still_in_a_group(
    ctx: &Ctx,
    ids: &[String],
    live: &mut Live,
) -> std::result::Result<bool, crate::ctx::AwsFailure> {
    for chunk in ids.chunks(50) {
        if live.found > 0 {
            return Ok(false);
        }
        let out = ctx
            .call("DescribeAutoScalingInstances", || {
                ctx.asg
                    .describe_auto_scaling_instances()
                    .set_instance_ids(Some(chunk.to_vec()))
                    .send()
            })
            .await?;
        let (alive, gone): (Vec<_>, Vec<_>) = out.auto_scaling_instances().iter().partition(|i| {
            !i.lifecycle_state()
                .is_some_and(|s| crate::lifecycle::departing(&aws_sdk_autoscaling::types::LifecycleState::from(s)))
        });
        let left = chunk.len() - alive.len();
        if left > 0 {
            ctx.info(format!(
                "{left} instance(s) CodeDeploy still lists are no longer in an Auto Scaling group ({} leaving): not waited for",
                gone.len()
            ));
        }
        live.found += alive.len();
        live.checked += chunk.len();
    }
    Ok(true)
}

/// When the deployment group controls traffic itself (deployment style WITH_TRAFFIC_CONTROL),
/// CodeDeploy's BlockTraffic takes the instance out of the group's target groups and Classic Load
/// Balancers and AllowTraffic puts it back after ValidateService. Hooks that did the same would
/// do the work twice, and register-with-elb would put the instance back in service before its
/// validation. So deregister asks GetDeploymentGroup once per deployment (one call; none outside
/// a CodeDeploy deployment, or once CodeDeploy was found unavailable) and records the answer;
/// register reads the record. Returns the load balancers CodeDeploy names when it controls
/// traffic, and the hooks leave everything alone (unless an earlier run left changes to repair).
pub async fn traffic_control(ctx: &Ctx, deregister: bool, state: &mut State) -> Result<Option<String>> {
    if !deregister {
        return Ok(state
            .traffic_control
            .as_ref()
            .filter(|(d, _)| *d == ctx.deployment_id)
            .map(|(_, lbs)| lbs.clone()));
    }
    state.traffic_control = None;
    let Some((app, group)) = names(ctx) else {
        return Ok(None);
    };
    if ctx.store.codedeploy_unavailable(&ctx.deployment_id).is_some() {
        return Ok(None);
    }
    let got = deployment_group(ctx, app, group).await;
    let info = match got {
        Ok(info) => info,
        // Still failing after the retries: whether CodeDeploy controls traffic is not known, and
        // the deployment's other instances may get an answer. Going on without one would mix the
        // two ways in one deployment: an instance the hooks take out (its processes suspended for
        // the instances to come) followed by instances left to CodeDeploy, so nobody resumes them.
        // Nothing is changed yet: fail, and let the next run ask again.
        Err(e) if e.transient => {
            ctx.warn(format!(
                "GetDeploymentGroup: {} ({}): cannot tell whether CodeDeploy controls this deployment's traffic; changing nothing",
                e.code.as_deref().unwrap_or("transport error"),
                e.message
            ));
            return Err(crate::ctx::aws_error("GetDeploymentGroup", &e));
        }
        Err(e) => {
            // Decided as without traffic control; a lasting refusal is not asked again.
            note_if_lasting(ctx, "codedeploy:GetDeploymentGroup", &e);
            let code = e.code.as_deref().unwrap_or("transport error");
            if denied(code) {
                ctx.warn(format!(
                    "the instance role may not call codedeploy:GetDeploymentGroup ({}): going on as if CodeDeploy did not control traffic",
                    e.message
                ));
            } else {
                ctx.warn(format!(
                    "GetDeploymentGroup: {code} ({}); going on as if CodeDeploy did not control traffic",
                    e.message
                ));
            }
            return Ok(None);
        }
    };
    if info["deploymentStyle"]["deploymentOption"] != "WITH_TRAFFIC_CONTROL" {
        return Ok(None);
    }
    let names_in = |list: &str, item: &str| -> Vec<String> {
        info["loadBalancerInfo"][list]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x[item].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let (tgs, elbs) = (names_in("targetGroupInfoList", "name"), names_in("elbInfoList", "name"));
    let lbs = format!(
        "target groups [{}], Classic Load Balancers [{}]",
        tgs.join(", "),
        elbs.join(", ")
    );
    state.traffic_control = Some((ctx.deployment_id.clone(), lbs.clone()));
    Ok(Some(lbs))
}

/// The Auto Scaling groups of the deployment group (GetDeploymentGroup), for the last instance
/// back to resume what the hooks suspended in each; `None` (logged) when CodeDeploy cannot be
/// asked.
pub async fn groups(ctx: &Ctx) -> Result<Option<Vec<String>>> {
    let Some((app, group)) = names(ctx) else {
        return Ok(None);
    };
    let got = deployment_group(ctx, app, group).await;
    match got {
        Ok(info) => Ok(Some(
            info["autoScalingGroups"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|g| g["name"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        )),
        Err(e) => {
            ctx.warn(format!(
                "GetDeploymentGroup: {} ({}); the deployment group's other Auto Scaling groups keep what the hooks suspended there until their own last instance is back",
                e.code.as_deref().unwrap_or("transport error"),
                e.message
            ));
            Ok(None)
        }
    }
}

/// GetDeploymentGroup: the deployment group's `deploymentGroupInfo`.
async fn deployment_group(
    ctx: &Ctx,
    app: &str,
    group: &str,
) -> std::result::Result<serde_json::Value, crate::ctx::AwsFailure> {
    let out = ctx
        .call("GetDeploymentGroup", || {
            ctx.codedeploy.call(
                "GetDeploymentGroup",
                json!({ "applicationName": app, "deploymentGroupName": group }),
            )
        })
        .await?;
    Ok(out["deploymentGroupInfo"].clone())
}

/// Whether a refusal says the instance role may not make the call.
fn denied(code: &str) -> bool {
    code.starts_with("AccessDenied") || code == "UnauthorizedOperation"
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Codes that will not change while the deployment runs: the application or deployment group the
/// agent named does not exist (a rehearsal's placeholder names), or the role may not ask.
fn lasting(code: &str) -> bool {
    matches!(
        code,
        "ApplicationDoesNotExistException"
            | "DeploymentGroupDoesNotExistException"
            | "InvalidApplicationNameException"
            | "InvalidDeploymentGroupNameException"
    ) || denied(code)
}

/// Notes in the state file that CodeDeploy cannot be asked in this deployment, when `e` will not
/// change while it runs.
fn note_if_lasting(ctx: &Ctx, what: &str, e: &crate::ctx::AwsFailure) {
    let code = e.code.as_deref().unwrap_or_default();
    if lasting(code) {
        let why = format!("{what}: {code} ({})", e.message);
        if let Err(err) = ctx.store.note_codedeploy_unavailable(&ctx.deployment_id, &why) {
            ctx.warn(format!("cannot keep the note that CodeDeploy cannot be asked: {err}"));
        }
    }
}

fn unknown(ctx: &Ctx, what: &str, e: &crate::ctx::AwsFailure) -> Rest {
    note_if_lasting(ctx, what, e);
    let code = e.code.as_deref().unwrap_or_default();
    if denied(code) {
        Rest::Unknown(format!(
            "the instance role may not call {what} ({}): scaling processes are resumed per instance, as without CodeDeploy",
            e.message
        ))
    } else {
        ctx.warn(format!(
            "{what}: {} ({}); cannot tell whether instances of the deployment are left",
            e.code.as_deref().unwrap_or("transport error"),
            e.message
        ));
        Rest::Unknown(format!(
            "no answer to {what}: scaling processes are resumed per instance"
        ))
    }
}
