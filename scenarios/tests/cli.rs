//! The `rehearse` command line answers `--help` and `--version`, names bad input, and runs a
//! user's own files from a folder outside the workspace: `init`, then `test` with snapshots beside
//! the file (new, ok, changed, accepted), a report and the agent's logs in that folder (issue 28).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rehearse");

#[test]
fn help_names_every_subcommand_and_the_exit_codes() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["init", "test PATH", "explore", "serve", "--fleet", "Exit codes"] {
        assert!(text.contains(word), "{word}: {text}");
    }
    let out = Command::new(BIN).arg("--version").output().expect("run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("rehearse {}", env!("CARGO_PKG_VERSION"))
    );
}

/// A scenario file naming a revision, a configuration or a state that does not exist is refused
/// with the valid choices and the line (issue 28).
#[test]
fn unknown_revisions_and_configurations_are_named_with_the_valid_choices() {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/happy_one_at_a_time.toml"),
    )
    .expect("shipped scenario");
    let dir = std::env::temp_dir().join(format!("cli-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cases = [
        (
            "revision",
            shipped.replace("revision = \"v2\"", "revision = \"v3\""),
            "revision.toml:19: deployments[0]: unknown revision \"v3\" (this file's revisions: v1, v2)",
        ),
        (
            "config",
            shipped.replace("config = \"OneAtATime\"", "config = \"OneAtATim\""),
            "config.toml:16: deployment_group.config: unknown deployment configuration \"OneAtATim\" (one of OneAtATime, HalfAtATime, AllAtOnce",
        ),
        (
            "custom",
            shipped.replace(
                "config = \"OneAtATime\"",
                "config = { type = \"HOST_CONT\", value = 1 }",
            ),
            "unknown minimum healthy hosts type \"HOST_CONT\" (HOST_COUNT or FLEET_PERCENT)",
        ),
        (
            "zonal_field",
            shipped.replace(
                "config = \"OneAtATime\"",
                "config = { type = \"HOST_COUNT\", value = 1, zonal = { monitor_secs = 60 } }",
            ),
            "unknown field `monitor_secs`, expected one of `monitor_seconds`",
        ),
        (
            "zonal_type",
            shipped.replace(
                "config = \"OneAtATime\"",
                "config = { type = \"HOST_COUNT\", value = 1, zonal = { per_zone = { type = \"HOST\", value = 1 } } }",
            ),
            "deployment_group.config.zonal.per_zone: unknown minimum healthy hosts type \"HOST\"",
        ),
        (
            "state",
            format!("{shipped}\n[[events]]\nwhen = {{ deployment = 1, instance = 1, reaches = \"Standbyy\" }}\ndo = \"scale_out\"\ncount = 1\n"),
            "unknown variant `Standbyy`, expected one of",
        ),
    ];
    for (name, text, want) in cases {
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, text).expect("write");
        let out = Command::new(BIN).arg(&file).output().expect("run");
        assert!(!out.status.success(), "{name}: refused");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains(want), "{name}: {want}\n{all}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A new user's way, from an empty folder outside the workspace: `init`, then `test`.
#[test]
fn init_then_test_from_an_empty_folder() {
    let dir = std::env::temp_dir().join(format!("cli-own-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).current_dir(&dir).output().expect("run");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = run(&["init"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        dir.join("deployment.toml").is_file() && dir.join("app/appspec.yml").is_file(),
        "{text}"
    );
    let (code, text) = run(&["init"]);
    assert_eq!(code, Some(2), "init never overwrites: {text}");

    // First run: the snapshot is written beside the file, and that is no failure.
    let (code, text) = run(&["test", "deployment.toml"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("deployment  new"), "{text}");
    let snap = std::fs::read_to_string(dir.join("snapshots/deployment.snap")).expect("snapshot beside the file");
    assert!(snap.contains("verdict: ok"), "{snap}");
    // The same again: ok. The folder form finds the scenario and leaves world.toml alone.
    let (code, text) = run(&["test", "."]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("deployment  ok") && text.contains("1 passed"), "{text}");

    // A change to the scenario: the difference is shown and the run fails, until accepted.
    let scenario = std::fs::read_to_string(dir.join("deployment.toml")).expect("scenario");
    std::fs::write(dir.join("deployment.toml"), scenario.replace("rate = 10", "rate = 20")).expect("edit");
    let (code, text) = run(&["test", "deployment.toml"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("snapshot changed") && text.contains("+    sent: "),
        "{text}"
    );
    let (code, text) = run(&["test", "deployment.toml", "--accept", "--report", "--logs", "logs"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("accepted"), "{text}");
    assert!(
        dir.join("scenario-report/deployment.html").is_file(),
        "the report is in the folder: {text}"
    );
    let logs = dir.join("logs/deployment");
    assert!(
        std::fs::read_dir(&logs).map(|d| d.count()).unwrap_or(0) >= 3,
        "a log folder per instance deployed to under {}",
        logs.display()
    );
    let (code, _) = run(&["test", "deployment.toml"]);
    assert_eq!(code, Some(0));

    // Bad input: exit 2, naming it.
    let (code, text) = run(&["test", "missing.toml"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("missing.toml: no such file or folder"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
