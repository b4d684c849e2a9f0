//! Every scenario file against its snapshot (`cargo test` runs the same check as
//! `cargo xtask test-scenarios`), and proof that outcomes are deterministic.

fn run(path: &std::path::Path) -> scenarios::report::Outcome {
    let paths = scenarios::default_paths().expect("hook binaries");
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
        scenarios::snapshot_settings(path).bind(|| insta::assert_yaml_snapshot!("scenario", &outcome));
    });
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
