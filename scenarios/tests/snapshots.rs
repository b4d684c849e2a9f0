//! Every scenario file against its snapshot (`cargo test` runs the same check as
//! `cargo xtask test-scenarios`), and proof that outcomes are deterministic.

mod hooks;

fn run(path: &std::path::Path) -> scenarios::report::Outcome {
    let paths = hooks::paths();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(scenarios::runner::run_file(path, &paths))
        .expect("scenario runs")
}

#[test]
fn scenarios_match_their_snapshots() {
    insta::glob!("../scenarios", "*.toml", |path| {
        let outcome = run(path);
        assert!(outcome.passed, "{}: {}", path.display(), outcome.verdict);
        snapshot_settings(path).bind(|| insta::assert_yaml_snapshot!("scenario", &outcome));
        // The suite's own check (no insta in the shipped binary) reads the same file the same way.
        assert_eq!(
            scenarios::own::check_shipped(path, &outcome).expect("snapshot"),
            scenarios::own::Snapshot::Same,
            "{}",
            path.display()
        );
    });
}

/// Where insta keeps a shipped scenario's snapshot, and how it names it.
fn snapshot_settings(file: &std::path::Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(scenarios::scenarios_dir().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_input_file(file);
    s.set_snapshot_suffix(
        file.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
    );
    s.set_omit_expression(true);
    s
}

/// The outcome and the report page, as bytes.
fn bytes(path: &std::path::Path) -> (String, String) {
    let outcome = run(path);
    let name = path.file_stem().expect("name").to_string_lossy().to_string();
    (
        serde_json::to_string(&outcome).expect("json"),
        scenarios::html::scenario_page(&name, &outcome),
    )
}

#[test]
fn the_same_scenario_gives_byte_identical_outcomes() {
    for path in scenarios::scenario_files(None).expect("files") {
        let first = bytes(&path);
        for _ in 0..2 {
            let again = bytes(&path);
            assert_eq!(again.0, first.0, "{}", path.display());
            assert!(
                again.1 == first.1,
                "{}: the report page differs between runs",
                path.display()
            );
        }
    }
}
