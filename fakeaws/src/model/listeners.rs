//! ELBv2 listeners and their rules: actions (forward, weighted forward, fixed-response, redirect)
//! and conditions (path pattern, host header, HTTP header, query string), with the matching rules
//! ALB applies to a request.

use serde::{Deserialize, Serialize};

/// A target group of a forward action, with its weight (0-999).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedTarget {
    pub arn: String,
    pub weight: i64,
}

/// What an action does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ActionKind {
    /// Forward to one target group, or to several by weight.
    Forward {
        target_groups: Vec<WeightedTarget>,
        /// Given as a plain `TargetGroupArn` (echoed back that way too).
        #[serde(default)]
        single: bool,
        #[serde(default)]
        stickiness: Option<i64>,
    },
    /// Answer directly.
    FixedResponse {
        status_code: u16,
        content_type: Option<String>,
        message_body: Option<String>,
    },
    /// Answer with a redirect; `#{host}`-style placeholders keep the request's parts.
    Redirect {
        protocol: String,
        port: String,
        host: String,
        path: String,
        query: String,
        /// 301 or 302.
        status_code: u16,
    },
}

/// One action of a listener's default actions or of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub order: Option<i64>,
    #[serde(flatten)]
    pub kind: ActionKind,
}

impl Action {
    /// The target groups this action forwards to (weight 0 included).
    pub fn target_groups(&self) -> impl Iterator<Item = &str> {
        let list: &[WeightedTarget] = match &self.kind {
            ActionKind::Forward { target_groups, .. } => target_groups,
            _ => &[],
        };
        list.iter().map(|t| t.arn.as_str())
    }

    /// The API's name for the action type.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            ActionKind::Forward { .. } => "forward",
            ActionKind::FixedResponse { .. } => "fixed-response",
            ActionKind::Redirect { .. } => "redirect",
        }
    }
}

/// A rule condition. Within one condition any value may match; every condition must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "field", rename_all = "kebab-case")]
pub enum Condition {
    /// Case-sensitive path patterns (`*` and `?` wildcards).
    PathPattern { values: Vec<String> },
    /// Case-insensitive host names (`*` and `?` wildcards).
    HostHeader { values: Vec<String> },
    /// A header (name case-insensitive) whose value matches one pattern (case-insensitive).
    HttpHeader { name: String, values: Vec<String> },
    /// Query parameters: key (optional) and value patterns, case-insensitive.
    QueryString { values: Vec<(Option<String>, String)> },
}

impl Condition {
    /// The API's `Field`.
    pub fn field(&self) -> &'static str {
        match self {
            Condition::PathPattern { .. } => "path-pattern",
            Condition::HostHeader { .. } => "host-header",
            Condition::HttpHeader { .. } => "http-header",
            Condition::QueryString { .. } => "query-string",
        }
    }

    /// How many values count against the rule's limit of five.
    pub fn value_count(&self) -> usize {
        match self {
            Condition::PathPattern { values } | Condition::HostHeader { values } => values.len(),
            Condition::HttpHeader { values, .. } => values.len(),
            Condition::QueryString { values } => values.len(),
        }
    }

    /// Whether a request matches.
    pub fn matches(&self, req: &Request) -> bool {
        match self {
            Condition::PathPattern { values } => values.iter().any(|v| wildcard(v, &req.path, false)),
            Condition::HostHeader { values } => {
                let host = req.host.split(':').next().unwrap_or_default();
                values.iter().any(|v| wildcard(v, host, true))
            }
            Condition::HttpHeader { name, values } => req
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .any(|(_, got)| values.iter().any(|v| wildcard(v, got, true))),
            Condition::QueryString { values } => values.iter().any(|(key, value)| {
                req.query
                    .iter()
                    .any(|(k, v)| key.as_deref().is_none_or(|key| wildcard(key, k, true)) && wildcard(value, v, true))
            }),
        }
    }
}

/// A listener rule (not the default rule, which is the listener's default actions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub arn: String,
    pub priority: i64,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

/// An ELBv2 listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    pub arn: String,
    pub load_balancer_arn: String,
    pub port: i64,
    pub protocol: String,
    pub actions: Vec<Action>,
    /// Rules in priority order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl Listener {
    /// The ARN of the listener's default rule (derived from the listener's).
    pub fn default_rule_arn(&self) -> String {
        let hash = self.arn.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        format!("{}/{hash:016x}", self.arn.replacen(":listener/", ":listener-rule/", 1))
    }

    /// Every action of the listener: default actions and rules'.
    pub fn all_actions(&self) -> impl Iterator<Item = &Action> {
        self.actions
            .iter()
            .chain(self.rules.iter().flat_map(|r| r.actions.iter()))
    }

    /// The actions a request gets: the first rule (by priority) whose conditions all match, else
    /// the default actions.
    pub fn actions_for(&self, req: &Request) -> &[Action] {
        self.rules
            .iter()
            .find(|r| r.conditions.iter().all(|c| c.matches(req)))
            .map_or(&self.actions[..], |r| &r.actions[..])
    }
}

/// The parts of an HTTP request a listener rule can look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub host: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
}

impl Request {
    /// A `GET path` for `host`.
    pub fn get(host: &str, path_and_query: &str) -> Request {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let query = query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        Request {
            host: host.to_string(),
            path: if path.is_empty() { "/".into() } else { path.to_string() },
            headers: Vec::new(),
            query,
        }
    }
}

/// ALB's wildcard match: `*` any run of characters, `?` exactly one.
pub fn wildcard(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (norm(pattern), norm(text));
    // Iterative matcher with one backtrack point (linear in practice, no recursion).
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_alb_documents() {
        assert!(wildcard("/img/*", "/img/a/b.png", false));
        assert!(!wildcard("/img/*", "/IMG/a.png", false));
        assert!(wildcard("*.example.com", "WWW.Example.com", true));
        assert!(wildcard("/a?c", "/abc", false));
        assert!(!wildcard("/a?c", "/ac", false));
        assert!(wildcard("*", "", false));
        assert!(!wildcard("/x", "/xy", false));
    }

    #[test]
    fn query_and_header_conditions() {
        let mut req = Request::get("shop.example.com:8080", "/cart?Version=beta&x=1");
        req.headers.push(("User-Agent".into(), "Mozilla/5.0 Mobile".into()));
        assert!(Condition::QueryString {
            values: vec![(Some("version".into()), "BETA".into())]
        }
        .matches(&req));
        assert!(Condition::QueryString {
            values: vec![(None, "1".into())]
        }
        .matches(&req));
        assert!(Condition::HttpHeader {
            name: "user-agent".into(),
            values: vec!["*mobile*".into()]
        }
        .matches(&req));
        assert!(Condition::HostHeader {
            values: vec!["shop.example.com".into()]
        }
        .matches(&req));
        assert!(!Condition::PathPattern {
            values: vec!["/".into()]
        }
        .matches(&req));
    }
}
