//! Log lines for CodeDeploy's `scripts.log`: one short line per step, with the elapsed time.
//! Text by default, JSON on request. Nothing secret is ever passed in.

use crate::config::LogFormat;

/// Writes log lines to stdout (the agent captures them).
#[derive(Debug, Clone)]
pub struct Log {
    pub hook: &'static str,
    pub format: LogFormat,
}

impl Log {
    /// One line.
    pub fn line(&self, elapsed: std::time::Duration, level: &str, msg: &str) {
        let secs = elapsed.as_secs_f64();
        match self.format {
            LogFormat::Text => {
                let tag = if level == "info" {
                    String::new()
                } else {
                    format!("{}: ", level.to_uppercase())
                };
                println!("[{secs:7.1}s] {}: {tag}{msg}", self.hook);
            }
            LogFormat::Json => println!(
                "{}",
                serde_json::json!({ "elapsed_s": (secs * 10.0).round() / 10.0, "hook": self.hook, "level": level, "msg": msg })
            ),
        }
    }
}
