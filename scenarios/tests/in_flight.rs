//! Requests that take time (`[traffic] duration_seconds`), end to end through the runner: the
//! requests an instance answers when its deregistration delay ends are cut, a delay longer than
//! the requests cuts none, and least outstanding requests changes who serves where round robin
//! would not.

mod hooks;

use scenarios::runner::{read_file, run_scenario};
use scenarios::schema::Scenario;

fn shipped(name: &str) -> Scenario {
    read_file(&scenarios::scenarios_dir().join(format!("scenarios/{name}.toml"))).expect("a shipped scenario")
}

fn run(sc: Scenario, name: &str) -> scenarios::report::Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run_scenario(sc, name, &hooks::paths(), false))
        .expect("runs")
        .0
}

#[test]
fn a_delay_shorter_than_the_requests_cuts_them_and_a_longer_one_does_not() {
    let short = run(shipped("long_requests_cut_at_drain_end"), "in-flight-short");
    let t = &short.traffic["web-alb:80"];
    let cut = t.failed.get("502 cut in flight").copied().unwrap_or(0);
    // Instances 2 and 3 are each answering the requests of the 30 s before they left (10 per
    // second, a third to a half each) when their delay ends; instance 1 leaves as traffic starts.
    assert!((200..=300).contains(&cut), "{:?}", t.failed);
    assert_eq!(
        t.failed.values().sum::<u64>(),
        cut,
        "nothing else fails: {:?}",
        t.failed
    );
    assert_eq!(
        t.served.values().sum::<u64>() + cut,
        t.sent,
        "each request counted once"
    );

    let mut same = shipped("long_requests_cut_at_drain_end");
    same.traffic.duration_seconds = 0.0;
    same.expect_violations.clear();
    let instant = run(same, "in-flight-instant");
    assert!(
        instant.traffic["web-alb:80"].failed.is_empty(),
        "answered at once, nothing to cut"
    );

    let long = run(shipped("long_requests_within_the_drain"), "in-flight-long");
    assert!(long.traffic["web-alb:80"].failed.is_empty(), "{:?}", long.traffic);
}

#[test]
fn least_outstanding_requests_sends_more_to_a_returning_instance_than_round_robin() {
    let lor = run(shipped("least_outstanding_long_requests"), "in-flight-lor");
    let mut rr = shipped("least_outstanding_long_requests");
    rr.fleet.target_groups[0].algorithm = None;
    let rr = run(rr, "in-flight-rr");
    let (lor, rr) = (&lor.traffic["web-alb:80"], &rr.traffic["web-alb:80"]);
    assert_eq!(lor.sent, rr.sent, "the same story");
    assert!(lor.failed.is_empty() && rr.failed.is_empty());
    // The instances back with v2 start empty; least outstanding fills them first.
    assert!(
        lor.served["v2"] > rr.served["v2"],
        "least outstanding {:?}, round robin {:?}",
        lor.served,
        rr.served
    );
}
