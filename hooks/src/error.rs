//! The hooks' failure kinds and their exit codes (documented in the README).

/// A failure, with the exit code the binary returns for it.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// Exit 2: bad configuration or usage; nothing was changed.
    #[error("configuration: {0}")]
    Config(String),
    /// Exit 1: an AWS call failed (after retries, if the error was transient).
    #[error("{0}")]
    Aws(String),
    /// Exit 3: refused because going on would be unsafe (e.g. Launch suspended); nothing was changed.
    #[error("refused: {0}")]
    Refused(String),
    /// Exit 4: a wait timed out; the state file lets the next run repair what was changed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Exit 5: the instance metadata service could not be read; nothing was changed.
    #[error("instance metadata: {0}")]
    Metadata(String),
    /// Exit 6: the local state file could not be read or written.
    #[error("state file: {0}")]
    State(String),
}

impl HookError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            HookError::Aws(_) => 1,
            HookError::Config(_) => 2,
            HookError::Refused(_) => 3,
            HookError::Timeout(_) => 4,
            HookError::Metadata(_) => 5,
            HookError::State(_) => 6,
        }
    }
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, HookError>;
