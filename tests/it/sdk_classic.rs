//! Classic ELB (2012-06-01) through the real `aws-sdk-elasticloadbalancing` client and the AWS CLI:
//! the operations whose names collide with ELBv2 are routed by Version.

use aws_sdk_elasticloadbalancing::types::{
    ConnectionDraining, HealthCheck, Instance, Listener, LoadBalancerAttributes,
};

use crate::util::*;

async fn classic(url: &str) -> aws_sdk_elasticloadbalancing::Client {
    aws_sdk_elasticloadbalancing::Client::new(&sdk_config(url).await)
}

async fn create(c: &aws_sdk_elasticloadbalancing::Client, name: &str, instance_port: i32) {
    c.create_load_balancer()
        .load_balancer_name(name)
        .listeners(
            Listener::builder()
                .protocol("HTTP")
                .load_balancer_port(80)
                .instance_port(instance_port)
                .build()
                .expect("listener"),
        )
        .availability_zones("us-east-1a")
        .send()
        .await
        .expect("create");
}

async fn state(c: &aws_sdk_elasticloadbalancing::Client, lb: &str, id: &str) -> (String, String) {
    let h = c
        .describe_instance_health()
        .load_balancer_name(lb)
        .instances(Instance::builder().instance_id(id).build())
        .send()
        .await
        .expect("health");
    let s = &h.instance_states()[0];
    (
        s.state().unwrap_or_default().to_string(),
        s.description().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn classic_lifecycle_with_connection_draining() {
    let r = start().await;
    let c = classic(&r.url).await;
    let v2 = elb(&r.url).await;
    create(&c, "old-web", 8080).await;
    c.configure_health_check()
        .load_balancer_name("old-web")
        .health_check(
            HealthCheck::builder()
                .target("HTTP:8080/")
                .interval(10)
                .timeout(5)
                .healthy_threshold(3)
                .unhealthy_threshold(2)
                .build()
                .expect("hc"),
        )
        .send()
        .await
        .expect("hc");
    c.modify_load_balancer_attributes()
        .load_balancer_name("old-web")
        .load_balancer_attributes(
            LoadBalancerAttributes::builder()
                .connection_draining(ConnectionDraining::builder().enabled(true).timeout(45).build())
                .build(),
        )
        .send()
        .await
        .expect("attrs");
    let attrs = c
        .describe_load_balancer_attributes()
        .load_balancer_name("old-web")
        .send()
        .await
        .expect("attrs");
    assert_eq!(
        attrs
            .load_balancer_attributes()
            .and_then(|a| a.connection_draining())
            .map(|d| d.timeout()),
        Some(Some(45))
    );
    // Same operation name, two services: each sees only its own load balancers.
    let d = c.describe_load_balancers().send().await.expect("classic describe");
    assert_eq!(d.load_balancer_descriptions().len(), 1);
    assert!(v2
        .describe_load_balancers()
        .send()
        .await
        .expect("v2 describe")
        .load_balancers()
        .is_empty());
    let id = r.fake.world().create_instance("us-east-1a", None, None);
    c.register_instances_with_load_balancer()
        .load_balancer_name("old-web")
        .instances(Instance::builder().instance_id(&id).build())
        .send()
        .await
        .expect("register");
    assert_eq!(
        state(&c, "old-web", &id).await,
        (
            "OutOfService".into(),
            "Instance registration is still in progress.".into()
        )
    );
    advance(&r.fake, 30);
    assert_eq!(state(&c, "old-web", &id).await.0, "InService");
    c.deregister_instances_from_load_balancer()
        .load_balancer_name("old-web")
        .instances(Instance::builder().instance_id(&id).build())
        .send()
        .await
        .expect("deregister");
    assert_eq!(
        state(&c, "old-web", &id).await,
        (
            "InService".into(),
            "Instance deregistration currently in progress.".into()
        )
    );
    advance(&r.fake, 45);
    assert_eq!(
        state(&c, "old-web", &id).await,
        (
            "OutOfService".into(),
            "Instance is not currently registered with the LoadBalancer.".into()
        )
    );
    let err = c
        .describe_load_balancers()
        .load_balancer_names("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("LoadBalancerNotFound"));
}

#[tokio::test]
async fn auto_scaling_groups_register_launches_and_drain_standby_out_of_classic() {
    let r = start().await;
    let c = classic(&r.url).await;
    let asg = asg(&r.url).await;
    create(&c, "old-web", 80).await;
    asg.create_auto_scaling_group()
        .auto_scaling_group_name("g")
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_name("lt")
                .build(),
        )
        .min_size(1)
        .max_size(3)
        .desired_capacity(2)
        .availability_zones("us-east-1a")
        .load_balancer_names("old-web")
        .send()
        .await
        .expect("asg");
    advance(&r.fake, 30 + 300);
    let ids = r.fake.world().groups()["g"].instances.to_vec();
    assert_eq!(state(&c, "old-web", &ids[0]).await.0, "InService");
    let lbs = asg
        .describe_load_balancers()
        .auto_scaling_group_name("g")
        .send()
        .await
        .expect("lbs");
    assert_eq!(lbs.load_balancers()[0].load_balancer_name(), Some("old-web"));
    asg.enter_standby()
        .auto_scaling_group_name("g")
        .instance_ids(&ids[0])
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("standby");
    // Draining is off by default: out at once, Standby at once.
    assert_eq!(r.fake.world().instances()[&ids[0]].lifecycle.as_str(), "Standby");
    assert_eq!(state(&c, "old-web", &ids[0]).await.0, "OutOfService");
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_routes_classic_and_v2_describe_load_balancers_apart() {
    let r = start().await;
    let url = r.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let o = std::process::Command::new("aws")
                .args(args)
                .args(["--output", "json"])
                .env("AWS_ACCESS_KEY_ID", fakeaws::protocol::sigv4::DEFAULT_ACCESS_KEY_ID)
                .env(
                    "AWS_SECRET_ACCESS_KEY",
                    fakeaws::protocol::sigv4::DEFAULT_SECRET_ACCESS_KEY,
                )
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .env("AWS_ENDPOINT_URL", &url)
                .env("AWS_CONFIG_FILE", "/nonexistent")
                .output()
                .expect("aws CLI");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or(serde_json::Value::Null)
        };
        run(&[
            "elb",
            "create-load-balancer",
            "--load-balancer-name",
            "cli-old",
            "--listeners",
            "Protocol=HTTP,LoadBalancerPort=80,InstancePort=80",
            "--availability-zones",
            "us-east-1a",
        ]);
        (
            run(&["elb", "describe-load-balancers"]),
            run(&["elbv2", "describe-load-balancers"]),
        )
    })
    .await
    .expect("join");
    assert_eq!(out.0["LoadBalancerDescriptions"][0]["LoadBalancerName"], "cli-old");
    assert_eq!(out.1["LoadBalancers"], serde_json::json!([]));
}
