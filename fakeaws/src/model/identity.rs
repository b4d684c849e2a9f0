//! Who may call the fake, as a world file declares it: instance roles with their identity-based
//! policies, and static identities (IAM users) with their key pairs and policies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The identities of the simulated account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identities {
    /// Instance roles' policies, by role name. A role not listed has the hooks' least-privilege
    /// policy (`hooks/iam-policy.json`).
    #[serde(default)]
    pub roles: BTreeMap<String, Vec<Value>>,
    /// Static identities, by access key id.
    #[serde(default)]
    pub users: BTreeMap<String, User>,
}

/// A static identity: an IAM user's access key.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user's name (`arn:aws:iam::ACCOUNT:user/NAME`).
    pub name: String,
    pub secret_access_key: String,
    /// Its identity-based policies; `None` allows everything.
    #[serde(default)]
    pub policies: Option<Vec<Value>>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("secret_access_key", &"<redacted>")
            .field("policies", &self.policies)
            .finish()
    }
}
