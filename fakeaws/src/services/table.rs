//! Each service's actions, declared once: the action's name, whether it changes the world, the
//! resource IAM evaluates it on, and its handler. The router, IAM and the call counts read these
//! tables; a service's `handle` is a lookup in its own.

use crate::protocol::error::AwsError;
use crate::protocol::json::Body;
use crate::protocol::query::Params;
use crate::world::World;

/// An AWS service the fake serves.
pub(crate) struct Service<I: 'static, O: 'static> {
    /// The name requests are signed for (SigV4's credential scope), and IAM's action prefix.
    pub signing_name: &'static str,
    /// The API version (`Version=` for the Query APIs).
    pub version: &'static str,
    /// The XML namespace of its answers (Query APIs).
    pub namespace: &'static str,
    /// How AWS names it in an unknown action's message.
    pub title: &'static str,
    /// How it refuses an action it does not have.
    pub unknown: Unknown,
    /// Its actions, in tables (one per room of the service).
    pub actions: &'static [&'static [Action<I, O>]],
}

/// How a service refuses an action it does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// The Query APIs: 400 `InvalidAction`.
    InvalidAction,
    /// The JSON APIs: 400 `UnknownOperationException`.
    UnknownOperation,
}

/// One action of a service.
pub(crate) struct Action<I: 'static, O: 'static> {
    pub name: &'static str,
    /// Whether it may change the world (a change runs on a copy that a failure rolls back).
    pub changes: Change,
    /// What IAM evaluates the call on.
    pub resource: Resource,
    pub handler: fn(&mut World, &I) -> Result<O, AwsError>,
}

/// What an action may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing: a read.
    Nothing,
    /// Tags only: what reads show moves, but nothing the fleet settles on (no tag of a group
    /// or a load balancer launches, terminates or moves an instance), so the fleet is not
    /// settled again for it.
    Tags,
    /// Anything else.
    Fleet,
}

/// What an IAM policy is evaluated on for one call, as AWS's service authorization reference
/// gives it; every action names one ([`Resource::Any`] for those that take no resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `*`: the action takes no resource (Describe calls among them).
    Any,
    /// The ARN the first present of these parameters carries.
    Arn(&'static [&'static str]),
    /// The Auto Scaling group this parameter names.
    GroupNamed(&'static str),
    /// The Auto Scaling group of the instance this parameter names.
    GroupOfInstance(&'static str),
    /// The Classic Load Balancer this parameter names.
    ClassicNamed(&'static str),
    /// CodeDeploy: the application `applicationName` names.
    Application,
    /// CodeDeploy: the deployment group of `applicationName` this member names.
    DeploymentGroup(&'static str),
    /// CodeDeploy: the deployment group of the deployment `deploymentId` names.
    GroupOfDeployment,
    /// CodeDeploy: the configuration `deploymentConfigName` names.
    DeploymentConfig,
}

/// A request's parameters, Query or JSON, as the resource rules read them.
pub(crate) trait Input {
    fn param(&self, key: &str) -> Option<&str>;
}

impl Input for Params {
    fn param(&self, key: &str) -> Option<&str> {
        self.opt(key)
    }
}

impl Input for Body {
    fn param(&self, key: &str) -> Option<&str> {
        self.str(key).ok().flatten()
    }
}

impl Resource {
    /// The resource's ARN for this call, `*` when the call does not name one the world knows.
    pub fn resolve(self, world: &World, input: &impl Input) -> String {
        let any = || "*".to_string();
        let group = |name: Option<&str>| name.and_then(|n| world.groups.get(n)).map(|g| g.arn.clone());
        let codedeploy_group = |app: Option<&str>, group: Option<&str>| match (app, group) {
            (Some(a), Some(g)) => Some(world.arn("codedeploy", &format!("deploymentgroup:{a}/{g}"))),
            _ => None,
        };
        let arn = match self {
            Resource::Any => None,
            Resource::Arn(keys) => keys.iter().find_map(|k| input.param(k)).map(str::to_string),
            Resource::GroupNamed(key) => group(input.param(key)),
            Resource::GroupOfInstance(key) => group(
                input
                    .param(key)
                    .and_then(|i| world.instances.get(i))
                    .and_then(|i| i.group.as_deref()),
            ),
            Resource::ClassicNamed(key) => input
                .param(key)
                .map(|n| world.arn("elasticloadbalancing", &format!("loadbalancer/{n}"))),
            Resource::Application => input
                .param("applicationName")
                .map(|a| world.arn("codedeploy", &format!("application:{a}"))),
            Resource::DeploymentGroup(key) => codedeploy_group(input.param("applicationName"), input.param(key)),
            Resource::GroupOfDeployment => input
                .param("deploymentId")
                .and_then(|id| world.deployment(id).ok())
                .and_then(|d| codedeploy_group(Some(&d.application), Some(&d.group))),
            Resource::DeploymentConfig => input
                .param("deploymentConfigName")
                .map(|c| world.arn("codedeploy", &format!("deploymentconfig:{c}"))),
        };
        arn.unwrap_or_else(any)
    }
}

impl<I, O> Service<I, O> {
    /// The action named `name`, if the service has it.
    pub fn action(&self, name: &str) -> Option<&'static Action<I, O>> {
        self.all().find(|a| a.name == name)
    }

    /// Every action of the service.
    pub fn all(&self) -> impl Iterator<Item = &'static Action<I, O>> {
        self.actions.iter().flat_map(|t| t.iter())
    }

    /// Runs the action named `name`; an unknown one is AWS's `InvalidAction` (the router looks
    /// the action up itself; this is for tests).
    #[cfg(test)]
    pub fn handle(&self, world: &mut World, name: &str, input: &I) -> Result<O, AwsError> {
        match self.action(name) {
            Some(a) => (a.handler)(world, input),
            None => Err(self.unknown(name)),
        }
    }

    /// AWS's answer to an action the service does not have (or the fake does not serve).
    pub fn unknown(&self, name: &str) -> AwsError {
        match self.unknown {
            Unknown::InvalidAction => AwsError::new(
                400,
                "InvalidAction",
                format!(
                    "The action {name} is not valid for this web service ({}, {}), or fakeaws does not implement it.",
                    self.title, self.version
                ),
            ),
            Unknown::UnknownOperation => AwsError::new(
                400,
                "UnknownOperationException",
                format!("fakeaws does not serve {} action {name}.", self.title),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::{autoscaling, classic, codedeploy, elbv2};

    fn query() -> [&'static Service<Params, Option<String>>; 3] {
        [&autoscaling::SERVICE, &elbv2::SERVICE, &classic::SERVICE]
    }

    /// Each action is declared once per service, and reads are the actions AWS names as reads.
    #[test]
    fn each_action_once_and_reads_never_change() {
        let names = |all: Vec<(&str, bool)>, reads: &[&str]| {
            let mut seen = std::collections::BTreeSet::new();
            for (name, changes) in all {
                assert!(seen.insert(name), "{name} declared twice");
                let read = reads.iter().any(|p| name.starts_with(p));
                assert_eq!(changes, !read, "{name}: changes = {changes}");
            }
        };
        for s in query() {
            names(
                s.all().map(|a| (a.name, a.changes != Change::Nothing)).collect(),
                &["Describe", "Get", "List"],
            );
        }
        names(
            codedeploy::SERVICE
                .all()
                .map(|a| (a.name, a.changes != Change::Nothing))
                .collect(),
            &["Get", "List", "BatchGet"],
        );
    }

    /// Every action of the hooks' IAM policy is served, and those that act on a group, a
    /// target group, a listener or a rule are evaluated on it, not on `*`.
    #[test]
    fn the_hooks_policy_names_served_actions_with_their_resources() {
        let policy: serde_json::Value = serde_json::from_str(crate::iam::HOOKS_POLICY).expect("policy");
        let mut checked = 0;
        for st in policy["Statement"].as_array().expect("statements") {
            let actions: Vec<&str> = match &st["Action"] {
                serde_json::Value::String(s) => vec![s.as_str()],
                serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
                _ => Vec::new(),
            };
            let scoped = st["Resource"] != "*";
            for full in actions {
                let (prefix, name) = full.split_once(':').expect("service:Action");
                let resource = match prefix {
                    "codedeploy" => codedeploy::SERVICE.action(name).map(|a| a.resource),
                    _ => query()
                        .iter()
                        .filter(|s| s.signing_name == prefix)
                        .find_map(|s| s.action(name))
                        .map(|a| a.resource),
                };
                let resource = resource.unwrap_or_else(|| panic!("{full} is in the hooks' policy but not served"));
                if scoped {
                    assert_ne!(
                        resource,
                        Resource::Any,
                        "{full}: the policy scopes it, the table does not"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 10, "{checked} actions checked");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, .. Default::default() })]

        /// Any body, any action name, through every Query service: an answer (often an error),
        /// never a panic, and the world's invariants hold.
        #[test]
        fn random_bodies_never_panic(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            action in "[A-Za-z]{0,30}",
        ) {
            let mut bytes = format!("Action={action}&Version=2011-01-01&").into_bytes();
            bytes.extend(body);
            let Ok(p) = Params::decode(&bytes) else { return Ok(()) };
            let mut world = World::new("us-east-1", 0);
            for s in query() {
                let _ = s.handle(&mut world, &action, &p);
            }
            proptest::prop_assert!(world.check_invariants().is_ok());
        }
    }
}
