//! `rehearse init [DIR]`: a starting point for rehearsing your own deployment. Writes a commented
//! scenario (`deployment.toml`: an Auto Scaling group behind an ALB, one deployment under a
//! scale-out), the same fleet as a world file for `rehearse serve` (`world.toml`), and a revision
//! folder (`app/`: appspec, scripts, content) to replace with your own. Never overwrites a file.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The fleet, shared by the scenario (under `fleet.`) and the world file.
const FLEET: &str = r#"# The target group the ALB forwards to, with its health check and draining delay.
[[PREFIXtarget_groups]]
name = "web"
port = 80
deregistration_delay = 60          # seconds a leaving instance drains (deregistration_delay.timeout_seconds)
health_check = { interval = 10, healthy_threshold = 3, unhealthy_threshold = 2, timeout = 5 }

[[PREFIXload_balancers]]
name = "web-alb"
listeners = [{ port = 80, target_group = "web" }]

# The Auto Scaling group CodeDeploy deploys to.
[[PREFIXgroups]]
name = "web-asg"
min = 2
max = 6
desired = 3
availability_zones = ["us-east-1a", "us-east-1b"]
target_groups = ["web"]
health_check_type = "ELB"
health_check_grace_period = 300
"#;

const SCENARIO: &str = r#"# Your deployment, rehearsed: `rehearse test deployment.toml` (the first run writes
# snapshots/deployment.snap and says "new"; later runs compare with it), `--report` for a timeline.
# Every field is described in the project's scenarios/README.md.
description = "Our web tier: OneAtATime over three instances behind an ALB, while the group scales out."

# What every instance runs before the deployment (omit for a first deployment).
initial_revision = "v1"

# Revisions: a folder beside this file with appspec.yml and its scripts (the hook binaries are added
# to bin/ as `cargo xtask bundle` does), or `bundle = "dist/web.zip"` for an archive you built.
[[revisions]]
name = "v1"
dir = "app"

[[revisions]]
name = "v2"
dir = "app"

[deployment_group]
name = "web-dg"
autoscaling_groups = ["web-asg"]
config = "OneAtATime"                # or HalfAtATime, AllAtOnce, { type = "HOST_COUNT", value = 2 }
# rollback = true                    # roll back automatically when the deployment fails

[[deployments]]
revision = "v2"

# A fleet event while the deployment runs: the group scales out by one as instance 1 reaches
# Standby. Others: scale_in, terminate, app_down, add_zone, alarm, operator actions, faults.
[[events]]
when = { deployment = 1, instance = 1, reaches = "Standby" }
do = "scale_out"
count = 1

# Requests users send through the ALB while it plays (per simulated second).
[traffic]
rate = 10

"#;

const WORLD_HEAD: &str = "# The same fleet for `rehearse serve --world world.toml` (or `cargo xtask rehearse`),\n# to rehearse your pipeline's own `aws deploy` commands against it.\n\n";

/// The files `init` writes, relative to its folder, with their contents and modes.
fn files(sample: &Path) -> anyhow::Result<Vec<(PathBuf, Vec<u8>, u32)>> {
    let mut out = vec![
        (
            PathBuf::from("deployment.toml"),
            format!("{SCENARIO}{}", FLEET.replace("PREFIX", "fleet.")).into_bytes(),
            0o644,
        ),
        (
            PathBuf::from("world.toml"),
            format!("{WORLD_HEAD}{}", FLEET.replace("PREFIX", "")).into_bytes(),
            0o644,
        ),
    ];
    let mut stack = vec![sample.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(sample)?.to_path_buf();
            let mode = if rel.starts_with("scripts") { 0o755 } else { 0o644 };
            out.push((Path::new("app").join(rel), std::fs::read(&p)?, mode));
        }
    }
    out.sort();
    Ok(out)
}

/// Writes the starter files into `dir`; returns what it wrote. Refuses, before writing anything,
/// when one of them is already there.
pub fn init(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    write_all(dir, files(&crate::scenarios_dir().join("revisions/sample"))?)
}

/// Writes only the starter revision, `dir/app/`.
pub fn sample_revision(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let all = files(&crate::scenarios_dir().join("revisions/sample"))?
        .into_iter()
        .filter(|(p, _, _)| p.starts_with("app"))
        .collect();
    write_all(dir, all)
}

fn write_all(dir: &Path, all: Vec<(PathBuf, Vec<u8>, u32)>) -> anyhow::Result<Vec<PathBuf>> {
    let taken: Vec<String> = all
        .iter()
        .filter(|(p, _, _)| dir.join(p).exists())
        .map(|(p, _, _)| dir.join(p).display().to_string())
        .collect();
    anyhow::ensure!(
        taken.is_empty(),
        "init writes nothing over existing files; already there: {}",
        taken.join(", ")
    );
    let mut written = Vec::new();
    for (rel, bytes, mode) in all {
        let path = dir.join(&rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_files_parse_and_are_not_overwritten() {
        let dir = std::env::temp_dir().join(format!("init-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let written = init(&dir).expect("init");
        assert!(written.iter().any(|p| p.ends_with("app/appspec.yml")));
        let sc = crate::runner::read_file(&dir.join("deployment.toml")).expect("the scenario parses");
        sc.validate_names().expect("its names are known");
        assert!(
            sc.revisions[0].dir.ends_with("/app"),
            "the revision is the folder beside it"
        );
        let world = std::fs::read_to_string(dir.join("world.toml")).expect("world");
        fakeaws::spec::parse(&world, "world.toml").expect("the world file parses");
        let e = init(&dir).expect_err("a second init");
        assert!(e.to_string().contains("already there"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
