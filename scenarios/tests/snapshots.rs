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

#[test]
fn the_same_scenario_gives_byte_identical_outcomes() {
    for path in scenarios::scenario_files(None).expect("files") {
        let first = serde_json::to_string(&run(&path)).expect("json");
        for _ in 0..2 {
            assert_eq!(
                serde_json::to_string(&run(&path)).expect("json"),
                first,
                "{}",
                path.display()
            );
        }
    }
}
