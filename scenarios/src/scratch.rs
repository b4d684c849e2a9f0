//! The default scratch folder's housekeeping: a run's folder is `<name>-<pid>`, removed when the
//! run ends; a run killed before that (a `rehearse serve` stopped by a signal, an interrupted
//! explore) leaves it behind, and in `/dev/shm` that is memory (183 MB for a `serve`'s). Each
//! program start removes the folders of processes that no longer exist.

use std::path::Path;

/// Removes the folders in `dir` named `<anything>-<pid>` whose process is gone (on Linux, where
/// `/proc` tells; elsewhere nothing is removed). Errors are ignored: another run may be removing
/// the same folder.
pub fn sweep(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The process a run's folder belongs to: the number after its last `-`.
fn owner(name: &str) -> Option<u32> {
    let (_, pid) = name.rsplit_once('-')?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folders_of_gone_processes_go_and_the_others_stay() {
        let dir = std::env::temp_dir().join(format!("scratch-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let me = std::process::id();
        // No process has the largest pid there is.
        let gone = format!("explore-happy-3-{}", u32::MAX);
        for d in [gone.as_str(), &format!("serve-{me}"), "notes", "serve-1x"] {
            std::fs::create_dir_all(dir.join(d).join("inside")).unwrap();
        }
        sweep(&dir);
        assert!(!dir.join(&gone).exists());
        assert!(dir.join(format!("serve-{me}")).exists());
        assert!(dir.join("notes").exists());
        assert!(dir.join("serve-1x").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_owner_is_the_number_after_the_last_dash() {
        assert_eq!(owner("explore-happy_one_at_a_time-12-4242"), Some(4242));
        assert_eq!(owner("serve-7"), Some(7));
        assert_eq!(owner("serve"), None);
        assert_eq!(owner("serve-x"), None);
    }
}
