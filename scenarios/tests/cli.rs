//! The `scenarios` command line answers `--help` and `--version` (issue 28).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_scenarios");

#[test]
fn help_names_every_subcommand_and_the_exit_codes() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["explore", "serve", "--fleet", "exit codes"] {
        assert!(text.contains(word), "{word}: {text}");
    }
    let out = Command::new(BIN).arg("--version").output().expect("run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("scenarios {}", env!("CARGO_PKG_VERSION"))
    );
}

/// A scenario file naming a revision or a configuration that does not exist is refused with the
/// valid choices (issue 28).
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
            "deployments[0]: unknown revision \"v3\" (this file's revisions: v1, v2)",
        ),
        (
            "config",
            shipped.replace("config = \"OneAtATime\"", "config = \"OneAtATim\""),
            "deployment_group.config: unknown deployment configuration \"OneAtATim\" (one of OneAtATime, HalfAtATime, AllAtOnce",
        ),
        (
            "custom",
            shipped.replace(
                "config = \"OneAtATime\"",
                "config = { type = \"HOST_CONT\", value = 1 }",
            ),
            "unknown minimum healthy hosts type \"HOST_CONT\" (HOST_COUNT or FLEET_PERCENT)",
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
