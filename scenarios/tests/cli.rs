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
