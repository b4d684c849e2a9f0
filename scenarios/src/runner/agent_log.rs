//! What the CodeDeploy agent keeps of a lifecycle event's scripts, as the agent does it: every
//! line a script prints, as `[stdout]LINE` or `[stderr]LINE`, after a `LifecycleEvent - NAME` line
//! (the event's first script) and a `Script - LOCATION` line (each script), appended to
//! `deployment-root/<deployment group id>/<deployment id>/logs/scripts.log` with the simulated
//! time in front; and the event's last 2,048 characters of those lines, which CodeDeploy shows as
//! a failed event's `logTail`. The per-instance folders are kept under `--logs DIR` when given.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncBufReadExt as _;

use super::Sim;

/// How much of an event's output the agent keeps for the log tail.
const TAIL: usize = 2048;

/// Lines a script printed, with the simulated time each was read.
pub(super) type Lines = Arc<Mutex<Vec<(i64, String)>>>;

/// One lifecycle event's log on one instance: the tail CodeDeploy reports.
#[derive(Debug, Default)]
pub(super) struct EventLog {
    entries: VecDeque<String>,
    len: usize,
    /// Whether a script of the event has started (its `LifecycleEvent - ` line is written).
    started: bool,
}

impl EventLog {
    /// Appends an entry, keeping the newest entries that together stay under 2,048 characters.
    fn push(&mut self, entry: String) {
        self.len += entry.len();
        self.entries.push_back(entry);
        while self.len >= TAIL {
            match self.entries.pop_front() {
                Some(e) => self.len -= e.len(),
                None => break,
            }
        }
    }

    /// The log tail, as `logTail` shows it.
    pub(super) fn tail(&self) -> String {
        self.entries.iter().map(String::as_str).collect()
    }
}

/// Reads a script's stdout and stderr line by line into `lines` until both close.
pub(super) fn capture(
    child: &mut tokio::process::Child,
    fake: &std::sync::Arc<fakeaws::Fake>,
) -> (Lines, tokio::task::JoinHandle<()>) {
    let lines: Lines = Arc::default();
    let mut tasks = Vec::new();
    let out = child
        .stdout
        .take()
        .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>);
    let err = child
        .stderr
        .take()
        .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>);
    for (stream, prefix) in [(out, "[stdout]"), (err, "[stderr]")] {
        let Some(stream) = stream else { continue };
        let (lines, fake) = (lines.clone(), fake.clone());
        tasks.push(tokio::spawn(async move {
            let mut reader = tokio::io::BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let mut line = String::from_utf8_lossy(&buf).into_owned();
                        if !line.ends_with('\n') {
                            line.push('\n');
                        }
                        if let Ok(mut l) = lines.lock() {
                            l.push((fake.clock.now_ms(), format!("{prefix}{line}")));
                        }
                    }
                }
            }
        }));
    }
    let all = tokio::spawn(async move {
        for t in tasks {
            let _ = t.await;
        }
    });
    (lines, all)
}

/// `2026-12-06 13:29:04`, as the agent stamps each line of `scripts.log`.
fn stamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

impl Sim {
    /// Keeps the agent's logs of each instance under `dir/<instance id>/`.
    pub(super) fn set_logs_dir(&mut self, dir: PathBuf) {
        self.agent.logs_dir = Some(dir);
    }

    /// Where the agent's logs are kept, when not in the instances' scratch folders.
    pub(super) fn logs_dir(&self) -> Option<&std::path::Path> {
        self.agent.logs_dir.as_deref()
    }

    /// The agent's folder of one deployment on one instance: `.../deployment-root/<group id>/<id>`.
    fn deployment_root(&self, instance: &str, deployment: usize) -> PathBuf {
        let base = match &self.agent.logs_dir {
            Some(dir) => dir.join(instance),
            None => self.instance_root(instance).join("opt/codedeploy-agent"),
        };
        base.join("deployment-root")
            .join(self.deployment_group_id())
            .join(self.deployment_id(deployment))
    }

    /// Appends entries to the event's tail and to `scripts.log`.
    fn log(&mut self, instance: &str, deployment: usize, entries: Vec<(i64, String)>) {
        let log = self.agent.event_logs.entry(instance.to_string()).or_default();
        for (_, e) in &entries {
            log.push(e.clone());
        }
        let path = self.deployment_root(instance, deployment).join("logs/scripts.log");
        // One write of the whole batch (a `write!` to the file would be a write per piece).
        let mut text = String::new();
        for (ms, e) in &entries {
            text.push_str(&stamp(*ms));
            text.push(' ');
            text.push_str(e);
        }
        let written = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().unwrap_or(&path))?;
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
            f.write_all(text.as_bytes())
        })();
        if let Err(e) = written {
            eprintln!("scenarios: cannot write {}: {e}", path.display());
        }
    }

    /// A lifecycle event begins on an instance: its tail starts empty.
    pub(super) fn event_log_begins(&mut self, instance: &str) {
        self.agent.event_logs.insert(instance.to_string(), EventLog::default());
    }

    /// A script of `event` starts: `LifecycleEvent - ` (for the event's first) and `Script - `.
    pub(super) fn script_log_begins(
        &mut self,
        instance: &str,
        deployment: usize,
        event: fakeaws::model::codedeploy::LifecycleEvent,
        location: &str,
    ) {
        let now = self.now();
        let first = !self.agent.event_logs.get(instance).is_some_and(|l| l.started);
        let mut entries = Vec::new();
        if first {
            entries.push((now, format!("LifecycleEvent - {event}\n")));
        }
        entries.push((now, format!("Script - {location}\n")));
        self.log(instance, deployment, entries);
        self.agent.event_logs.entry(instance.to_string()).or_default().started = true;
    }

    /// A script's output so far goes into the logs.
    pub(super) fn script_output(&mut self, instance: &str, deployment: usize, lines: &Lines) {
        let taken = lines.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
        if !taken.is_empty() {
            self.log(instance, deployment, taken);
        }
    }

    /// The current event's log tail on an instance.
    pub(super) fn log_tail(&self, instance: &str) -> String {
        self.agent
            .event_logs
            .get(instance)
            .map(EventLog::tail)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_newest_entries_under_2048_characters() {
        let mut log = EventLog::default();
        log.push("LifecycleEvent - ValidateService\n".into());
        for i in 0..100 {
            log.push(format!("[stdout]line {i:03} {}\n", "x".repeat(20)));
        }
        let tail = log.tail();
        assert!(tail.len() < TAIL, "{}", tail.len());
        assert!(tail.ends_with(&format!("[stdout]line 099 {}\n", "x".repeat(20))));
        assert!(!tail.contains("LifecycleEvent"), "the oldest went first");
        let mut big = EventLog::default();
        big.push("y".repeat(3000));
        assert_eq!(
            big.tail(),
            "",
            "an entry longer than the tail is dropped, as the agent does"
        );
    }

    #[test]
    fn stamps_read_as_the_agents() {
        assert_eq!(stamp(1_765_027_744_000), "2025-12-06 13:29:04");
    }
}
