//! Who may call: the credentials requests may be signed with, whether signatures are checked,
//! the admin API's token, and the log line that explains an unknown key once.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::protocol::sigv4::{Keyring, Known, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY};

/// The fake's credentials and checks.
#[derive(Debug)]
pub struct Auth {
    /// The credentials requests may be signed with (the world's identities aside).
    keys: Mutex<Keyring>,
    /// Unknown access keys already explained in the log (a few: each is said once).
    explained_keys: Mutex<BTreeSet<String>>,
    verify_signatures: AtomicBool,
    /// The token non-loopback peers must present to the admin API.
    admin_token: OnceLock<AdminToken>,
}

/// The admin token, never shown by `Debug`.
struct AdminToken(String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Default for Auth {
    /// The default key pair, signatures checked, no admin token.
    fn default() -> Auth {
        Auth {
            keys: Mutex::new(Keyring::from([(
                DEFAULT_ACCESS_KEY_ID.to_string(),
                Known {
                    secret: DEFAULT_SECRET_ACCESS_KEY.to_string(),
                    token: None,
                    expires_ms: None,
                    principal: None,
                },
            )])),
            explained_keys: Mutex::default(),
            verify_signatures: AtomicBool::new(true),
            admin_token: OnceLock::new(),
        }
    }
}

impl Auth {
    /// Sets the token non-loopback peers must present to the admin API (once).
    pub fn set_admin_token(&self, token: String) {
        let _ = self.admin_token.set(AdminToken(token));
    }

    /// The admin token, if one is configured.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.get().map(|t| t.0.as_str())
    }

    /// Turns SigV4 verification on or off (on by default; `--no-verify-signatures`).
    pub fn set_verify_signatures(&self, on: bool) {
        self.verify_signatures.store(on, Ordering::Relaxed);
    }

    /// Whether requests must be signed.
    pub fn verifies_signatures(&self) -> bool {
        self.verify_signatures.load(Ordering::Relaxed)
    }

    /// Accepts requests signed with this key pair from now on (a session token and an expiry, in
    /// real milliseconds since the epoch, for temporary credentials).
    pub fn add_credentials(&self, access_key_id: &str, known: Known) {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(access_key_id.to_string(), known);
    }

    /// One of the fake's own keys (not the world's identities).
    pub(crate) fn key(&self, access_key_id: &str) -> Option<Known> {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(access_key_id)
            .cloned()
    }

    /// The instance whose role credentials signed a request (from its `Authorization` header),
    /// if any: the identity [`crate::turns`] orders calls by.
    pub(crate) fn caller_instance(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        let auth = headers.get("authorization")?.to_str().ok()?;
        let key = auth.split("Credential=").nth(1)?.split('/').next()?;
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let arn = &keys.get(key)?.principal.as_ref()?.arn;
        let last = arn.rsplit('/').next()?;
        last.starts_with("i-").then(|| last.to_string())
    }

    /// The answer to an unknown key is AWS's, word for word; the log says once per key which keys
    /// the fake knows and how to turn checking off (moto-style dummy keys such as `testing` are
    /// the usual case).
    pub(crate) fn explain_unknown_key(&self, headers: &axum::http::HeaderMap, lookup: &dyn Fn(&str) -> Option<Known>) {
        let Some(key) = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next())
        else {
            return;
        };
        if lookup(key).is_some() {
            return; // known key, wrong or missing session token
        }
        let mut explained = self.explained_keys.lock().unwrap_or_else(|e| e.into_inner());
        if explained.len() >= 16 || !explained.insert(key.to_string()) {
            return;
        }
        tracing::warn!(
            "a request was signed with access key {key:?}, which fakeaws does not know (answered InvalidClientTokenId, as AWS would): sign with the default pair {} / {}, a pair given with --credentials KEY:SECRET, an instance's role credentials or a world file's [[identities]], or start fakeaws with --no-verify-signatures to accept any",
            DEFAULT_ACCESS_KEY_ID,
            DEFAULT_SECRET_ACCESS_KEY
        );
    }
}
