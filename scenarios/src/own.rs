//! Your own scenarios, from any folder (`rehearse test PATH...`): files and folders of scenario
//! files, each outcome held in a snapshot beside its file (`snapshots/<name>.snap`, or under
//! `--snapshots DIR`). A first run writes the snapshot and says `new`; a run that differs shows
//! the difference and fails, unless `--accept` writes it. Snapshots are YAML, the outcome's fields
//! in a fixed order, so they read and diff well.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use yaml_rust2::{Yaml, YamlEmitter};

use crate::report::Outcome;

/// The scenario files `paths` name: each file as it is; in a folder, each `*.toml` with a
/// `[deployment_group]` (a world file beside them is not a scenario), not its subfolders, in name
/// order.
pub fn files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|e| e == "toml") && f.is_file())
                .filter(|f| {
                    std::fs::read_to_string(f).is_ok_and(|t| t.lines().any(|l| l.trim() == "[deployment_group]"))
                })
                .collect();
            found.sort();
            anyhow::ensure!(
                !found.is_empty(),
                "{}: no scenario files (*.toml) in this folder",
                p.display()
            );
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            anyhow::bail!("{}: no such file or folder", p.display());
        }
    }
    Ok(out)
}

/// Where a scenario file's snapshot lives.
pub fn snapshot_path(file: &Path, dir: Option<&Path>) -> PathBuf {
    let name = format!(
        "{}.snap",
        file.file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
    );
    match dir {
        Some(d) => d.join(name),
        None => file.parent().unwrap_or(Path::new(".")).join("snapshots").join(name),
    }
}

/// An outcome as snapshot text.
pub fn to_yaml(o: &Outcome) -> anyhow::Result<String> {
    let value = serde_json::to_value(o)?;
    let mut out = String::new();
    YamlEmitter::new(&mut out).dump(&yaml_of(&value))?;
    out.push('\n');
    Ok(out)
}

/// An outcome as YAML with its fields in the order the types declare them (the shipped
/// snapshots' layout): JSON is YAML, and the loader keeps a map's order.
pub fn to_yaml_in_order(o: &Outcome) -> anyhow::Result<String> {
    let json = serde_json::to_string(o)?;
    let doc = yaml_rust2::YamlLoader::load_from_str(&json)?
        .pop()
        .context("an outcome is one YAML document")?;
    let mut out = String::new();
    YamlEmitter::new(&mut out).dump(&doc)?;
    let mut body = out.strip_prefix("---\n").map(str::to_string).unwrap_or(out);
    body.push('\n');
    Ok(body)
}

fn yaml_of(v: &serde_json::Value) -> Yaml {
    match v {
        serde_json::Value::Null => Yaml::Null,
        serde_json::Value::Bool(b) => Yaml::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        serde_json::Value::String(s) => Yaml::String(s.clone()),
        serde_json::Value::Array(a) => Yaml::Array(a.iter().map(yaml_of).collect()),
        serde_json::Value::Object(m) => {
            Yaml::Hash(m.iter().map(|(k, v)| (Yaml::String(k.clone()), yaml_of(v))).collect())
        }
    }
}

/// What became of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Snapshot {
    /// The outcome is the one on record.
    Same,
    /// There was none: written.
    New,
    /// It differed and `--accept` wrote the new one.
    Accepted,
    /// It differs: the unified difference, old to new.
    Changed(String),
}

impl Snapshot {
    /// Whether the run stands (everything but an unaccepted change).
    pub fn stands(&self) -> bool {
        !matches!(self, Snapshot::Changed(_))
    }

    pub fn word(&self) -> &'static str {
        match self {
            Snapshot::Same => "ok",
            Snapshot::New => "new",
            Snapshot::Accepted => "accepted",
            Snapshot::Changed(_) => "snapshot changed",
        }
    }
}

/// Compares an outcome with its snapshot, writing it when there is none or `accept` says so.
pub fn check(path: &Path, o: &Outcome, accept: bool) -> anyhow::Result<Snapshot> {
    let now = to_yaml(o)?;
    let write = |text: &str| -> anyhow::Result<()> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    };
    let before = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write(&now)?;
            return Ok(Snapshot::New);
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if before == now {
        return Ok(Snapshot::Same);
    }
    if accept {
        write(&now)?;
        return Ok(Snapshot::Accepted);
    }
    let diff = similar::TextDiff::from_lines(&before, &now)
        .unified_diff()
        .context_radius(2)
        .header(&path.display().to_string(), "this run")
        .to_string();
    Ok(Snapshot::Changed(diff))
}

/// Compares a shipped scenario's outcome with its snapshot in `scenarios/snapshots/` (insta's
/// file: a metadata header, then the YAML [`to_yaml_in_order`] writes, byte for byte). A
/// difference is also written beside it as `.snap.new`, for `cargo insta review`.
pub fn check_shipped(file: &Path, o: &Outcome) -> anyhow::Result<Snapshot> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let path = crate::scenarios_dir()
        .join("snapshots")
        .join(format!("scenario@{name}.snap"));
    let now = to_yaml_in_order(o)?;
    let (header, before) = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut parts = text.splitn(3, "---\n");
            match (parts.next(), parts.next(), parts.next()) {
                (Some(""), Some(meta), Some(body)) => (format!("---\n{meta}---\n"), body.to_string()),
                _ => anyhow::bail!("{}: not a snapshot file (no --- header)", path.display()),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
            format!("---\nsource: scenarios/tests/snapshots.rs\ninput_file: scenarios/scenarios/{name}\n---\n"),
            String::new(),
        ),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if before == now {
        return Ok(Snapshot::Same);
    }
    let new = path.with_extension("snap.new");
    std::fs::write(&new, format!("{header}{now}")).with_context(|| format!("writing {}", new.display()))?;
    let diff = similar::TextDiff::from_lines(&before, &now)
        .unified_diff()
        .context_radius(2)
        .header(&path.display().to_string(), "this run")
        .to_string();
    Ok(Snapshot::Changed(diff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_run_writes_then_same_then_changed_then_accepted() {
        let dir = std::env::temp_dir().join(format!("own-snap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("mine.toml");
        let snap = snapshot_path(&file, None);
        assert_eq!(snap, dir.join("snapshots/mine.snap"));
        let mut o = Outcome {
            description: "mine".into(),
            verdict: "ok".into(),
            simulated_seconds: 10,
            ..Default::default()
        };
        assert_eq!(check(&snap, &o, false).expect("check"), Snapshot::New);
        assert_eq!(check(&snap, &o, false).expect("check"), Snapshot::Same);
        o.simulated_seconds = 11;
        match check(&snap, &o, false).expect("check") {
            Snapshot::Changed(d) => assert!(
                d.contains("-simulated_seconds: 10") && d.contains("+simulated_seconds: 11"),
                "{d}"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(check(&snap, &o, true).expect("check"), Snapshot::Accepted);
        assert_eq!(check(&snap, &o, false).expect("check"), Snapshot::Same);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_paths_and_empty_folders_are_named() {
        let e = files(&[PathBuf::from("/no/such/scenario.toml")]).expect_err("missing");
        assert!(
            e.to_string().contains("/no/such/scenario.toml: no such file or folder"),
            "{e}"
        );
        let dir = std::env::temp_dir().join(format!("own-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("world.toml"), "[[groups]]\nname = \"web\"\n").expect("world");
        let e = files(std::slice::from_ref(&dir)).expect_err("empty");
        assert!(e.to_string().contains("no scenario files"), "{e}");
        std::fs::write(dir.join("mine.toml"), "[deployment_group]\nname = \"dg\"\n").expect("scenario");
        assert_eq!(
            files(std::slice::from_ref(&dir)).expect("files"),
            [dir.join("mine.toml")]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
