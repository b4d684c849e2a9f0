//! The explorer's oracle catches a known bug: issue 24's follow-up deployment to failed instances,
//! brought back behind the test-only `SCENARIOS_REINTRODUCE_BUG` switch, is reported (with a
//! counterexample that runs as a scenario file), while the fixed code passes the same variants.

mod hooks;

use scenarios::explore::drive::{run, Options};

fn options(out: &std::path::Path) -> Options {
    Options {
        scenarios: vec!["happy_one_at_a_time".into()],
        events: vec!["script_fail".into()],
        seed: 1,
        jobs: 2,
        out: Some(out.to_path_buf()),
        json: Some(out.join("explore.json")),
        ..Options::default()
    }
}

#[test]
fn the_oracle_reports_a_reintroduced_bug_and_passes_the_fix() {
    let dir = std::env::temp_dir().join(format!("explore-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        run(&options(&dir), &hooks::paths()).expect("explores"),
        "the fixed code passes"
    );
    // Each test runs in its own process under nextest: the switch reaches this run only.
    std::env::set_var("SCENARIOS_REINTRODUCE_BUG", "follow_up_all");
    let bad = run(&options(&dir), &hooks::paths()).expect("explores");
    std::env::remove_var("SCENARIOS_REINTRODUCE_BUG");
    assert!(!bad, "the reintroduced bug is reported");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("explore.json")).expect("json")).expect("parses");
    let findings = json[0]["findings"].as_array().expect("findings");
    let follow = findings
        .iter()
        .find(|f| f["property"] == "follow_up_on_old_instance")
        .expect("the follow-up finding");
    // The counterexample is a scenario file the suite's reader accepts, with the fault planned.
    let file = follow["file"].as_str().expect("file");
    let sc = scenarios::runner::read_file(std::path::Path::new(file)).expect("a scenario file");
    assert_eq!(sc.script_faults.len(), 1);
    assert_eq!(sc.deployments.len(), 2, "the deployment and its repair");
    // Shrunk: the base has three instances, two are enough to show the bug.
    assert_eq!(sc.fleet.groups[0].desired, Some(2), "shrunk to two instances");
    assert!(!follow["shrunk"].as_array().expect("shrunk").is_empty());
    // The findings page lists it, with a link to the counterexample's timeline page.
    let index = std::fs::read_to_string(dir.join("index.html")).expect("findings page");
    let page = follow["page"].as_str().expect("page");
    assert!(std::path::Path::new(page).is_file(), "{page}");
    assert!(
        index.contains("follow_up_on_old_instance") && index.contains("happy_one_at_a_time/follow_up_on_old_instance"),
        "{index}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
