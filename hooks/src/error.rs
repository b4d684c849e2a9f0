//! The hooks' failure kinds and their exit codes (documented in docs/hooks.md). Variants keep the
//! error that caused them as their `source`; the binary prints the whole chain once, at the top,
//! with anyhow's `{:#}`: `EnterStandby failed: ValidationError: The instance ... is not in InService.`

use std::path::PathBuf;

/// A boxed cause.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An AWS error as the hooks classify it: its code (if AWS sent one), AWS's message, and whether
/// trying again later may help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct AwsFailure {
    pub code: Option<String>,
    pub message: String,
    pub transient: bool,
}

/// A failure, with the exit code the binary returns for it.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// Exit 1: an AWS call failed (after retries, if the error was transient).
    #[error("{operation} failed")]
    Aws {
        operation: String,
        #[source]
        source: AwsFailure,
    },
    /// Exit 1: AWS answered, but not with what the hooks need (e.g. the group is gone).
    #[error("{0}")]
    Unexpected(String),
    /// Exit 1: the simulated clock (rehearsals only) could not be used.
    #[error("waiting on the simulated clock")]
    Clock(#[source] Cause),
    /// Exit 3: refused because going on would be unsafe (e.g. Launch suspended); nothing was changed.
    #[error("refused: {0}")]
    Refused(String),
    /// Exit 4: a wait timed out; the state file lets the next run repair what was changed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Exit 5: the instance metadata service could not be read; nothing was changed.
    #[error("instance metadata: {what}")]
    Metadata {
        what: String,
        #[source]
        source: Option<Cause>,
    },
    /// Exit 6: the local state file could not be read or written.
    #[error("state file: {what} {}", path.display())]
    State {
        what: String,
        path: PathBuf,
        #[source]
        source: Option<Cause>,
    },
}

impl HookError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            HookError::Aws { .. } | HookError::Unexpected(_) | HookError::Clock(_) => 1,
            HookError::Refused(_) => 3,
            HookError::Timeout(_) => 4,
            HookError::Metadata { .. } => 5,
            HookError::State { .. } => 6,
        }
    }
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, HookError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_the_operation_and_aws_message() {
        let e = HookError::Aws {
            operation: "EnterStandby".into(),
            source: AwsFailure {
                code: Some("ValidationError".into()),
                message: "The instance i-1 is not in InService.".into(),
                transient: false,
            },
        };
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            format!("{:#}", anyhow::Error::from(e)),
            "EnterStandby failed: ValidationError: The instance i-1 is not in InService."
        );
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        let e = HookError::State {
            what: "cannot write".into(),
            path: "/x/y.json".into(),
            source: Some(Box::new(io)),
        };
        assert_eq!(e.exit_code(), 6);
        assert_eq!(
            format!("{:#}", anyhow::Error::from(e)),
            "state file: cannot write /x/y.json: permission denied"
        );
    }
}
