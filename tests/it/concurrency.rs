//! Many SDK clients at once: no lost update, and the invariants hold throughout.

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_keep_the_invariants() {
    let r = start().await;
    let (group, _) = standard_world(&r, 2, 20, 10).await;
    let asg = asg(&r.url).await;
    let ids: Vec<String> = r.fake.world().groups()[&group].instances.to_vec();
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let asg = asg.clone();
        let (group, id) = (group.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            // Everyone tries to enter Standby with decrement: only desired - min may succeed.
            let ok = asg
                .enter_standby()
                .auto_scaling_group_name(&group)
                .instance_ids(&id)
                .should_decrement_desired_capacity(true)
                .send()
                .await
                .is_ok();
            let _ = asg
                .set_desired_capacity()
                .auto_scaling_group_name(&group)
                .desired_capacity(5 + (i as i32 % 7))
                .send()
                .await;
            ok
        }));
    }
    let mut succeeded = 0;
    for t in tasks {
        if t.await.expect("join") {
            succeeded += 1;
        }
        r.fake.world().check_invariants().expect("invariants hold");
    }
    assert!(succeeded >= 1);
    let w = r.fake.world();
    let g = &w.groups()[&group];
    assert!(g.min <= g.desired && g.desired <= g.max);
    let standby = g
        .instances
        .iter()
        .filter(|i| w.instances()[*i].lifecycle.as_str().contains("Standby"))
        .count();
    assert_eq!(
        standby, succeeded,
        "every successful EnterStandby is reflected, none lost"
    );
}
