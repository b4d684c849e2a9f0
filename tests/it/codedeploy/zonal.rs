//! Zonal deployment configurations (`zonalConfig`) through the Rust SDK, boto3 and the AWS CLI:
//! created, described back with the members given, and refused with
//! `InvalidZonalDeploymentConfigurationException` when not valid.

use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::{
    ComputePlatform, MinimumHealthyHosts, MinimumHealthyHostsPerZone, MinimumHealthyHostsPerZoneType,
    MinimumHealthyHostsType, ZonalConfig,
};

use crate::botocore::{aws_cli, boto3};
use crate::util::*;

use super::*;

fn three_healthy() -> MinimumHealthyHosts {
    MinimumHealthyHosts::builder()
        .r#type(MinimumHealthyHostsType::HostCount)
        .value(3)
        .build()
}

#[tokio::test]
async fn the_rust_sdk_creates_and_reads_a_zonal_configuration() {
    let r = start().await;
    let cd = client(&r.url).await;
    cd.create_deployment_config()
        .deployment_config_name("ZoneByZone")
        .minimum_healthy_hosts(three_healthy())
        .zonal_config(
            ZonalConfig::builder()
                .first_zone_monitor_duration_in_seconds(600)
                .monitor_duration_in_seconds(300)
                .minimum_healthy_hosts_per_zone(
                    MinimumHealthyHostsPerZone::builder()
                        .r#type(MinimumHealthyHostsPerZoneType::HostCount)
                        .value(1)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("zonal config");
    let info = cd
        .get_deployment_config()
        .deployment_config_name("ZoneByZone")
        .send()
        .await
        .expect("get")
        .deployment_config_info
        .expect("info");
    let z = info.zonal_config().expect("zonalConfig described back");
    assert_eq!(z.first_zone_monitor_duration_in_seconds(), Some(600));
    assert_eq!(z.monitor_duration_in_seconds(), Some(300));
    let per_zone = z.minimum_healthy_hosts_per_zone().expect("per zone");
    assert_eq!(per_zone.r#type(), Some(&MinimumHealthyHostsPerZoneType::HostCount));
    assert_eq!(per_zone.value(), 1);

    // A configuration without one has none; the built-in ones neither.
    let plain = cd
        .get_deployment_config()
        .deployment_config_name("CodeDeployDefault.HalfAtATime")
        .send()
        .await
        .expect("built-in");
    assert!(plain.deployment_config_info().and_then(|i| i.zonal_config()).is_none());

    // Refused: a negative wait, a percentage per zone of 100, a Lambda configuration.
    let bad = |z: ZonalConfig, platform: Option<ComputePlatform>| {
        let cd = cd.clone();
        async move {
            cd.create_deployment_config()
                .deployment_config_name("Bad")
                .minimum_healthy_hosts(three_healthy())
                .set_compute_platform(platform)
                .zonal_config(z)
                .send()
                .await
                .expect_err("refused")
        }
    };
    let e = bad(ZonalConfig::builder().monitor_duration_in_seconds(-1).build(), None).await;
    assert_eq!(e.code(), Some("InvalidZonalDeploymentConfigurationException"));
    assert_eq!(
        e.message(),
        Some("The ZonalConfig object is not valid: monitorDurationInSeconds is -1; it must be 0 or more.")
    );
    let e = bad(
        ZonalConfig::builder()
            .minimum_healthy_hosts_per_zone(
                MinimumHealthyHostsPerZone::builder()
                    .r#type(MinimumHealthyHostsPerZoneType::FleetPercent)
                    .value(100)
                    .build(),
            )
            .build(),
        None,
    )
    .await;
    assert_eq!(e.code(), Some("InvalidZonalDeploymentConfigurationException"));
    assert!(e.message().is_some_and(|m| m.contains("FLEET_PERCENT 100")), "{e:?}");
    let e = bad(ZonalConfig::builder().build(), Some(ComputePlatform::Lambda)).await;
    assert_eq!(e.code(), Some("InvalidZonalDeploymentConfigurationException"));
    assert!(cd
        .get_deployment_config()
        .deployment_config_name("Bad")
        .send()
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn boto3_and_the_cli_create_and_read_a_zonal_configuration() {
    let r = start().await;
    let url = r.url.clone();
    let got = tokio::task::spawn_blocking(move || {
        boto3(
            &url,
            r#"
import boto3, json
cd = boto3.client('codedeploy')
cd.create_deployment_config(deploymentConfigName='Zonal',
    minimumHealthyHosts={'type': 'FLEET_PERCENT', 'value': 50},
    zonalConfig={'monitorDurationInSeconds': 120,
                 'minimumHealthyHostsPerZone': {'type': 'FLEET_PERCENT', 'value': 50}})
info = cd.get_deployment_config(deploymentConfigName='Zonal')['deploymentConfigInfo']
try:
    cd.create_deployment_config(deploymentConfigName='Bad',
        minimumHealthyHosts={'type': 'HOST_COUNT', 'value': 1},
        zonalConfig={'firstZoneMonitorDurationInSeconds': -5})
    err = None
except cd.exceptions.InvalidZonalDeploymentConfigurationException as e:
    err = str(e)
print(json.dumps({'zonal': info['zonalConfig'], 'err': err}))
"#,
            &[],
        )
    })
    .await
    .expect("boto3");
    assert_eq!(
        got["zonal"],
        serde_json::json!({"monitorDurationInSeconds": 120, "minimumHealthyHostsPerZone": {"type": "FLEET_PERCENT", "value": 50}})
    );
    assert!(got["err"]
        .as_str()
        .is_some_and(|e| e.contains("firstZoneMonitorDurationInSeconds is -5")));

    let url = r.url.clone();
    tokio::task::spawn_blocking(move || {
        let (ok, _, err) = aws_cli(
            &url,
            &[
                "deploy",
                "create-deployment-config",
                "--deployment-config-name",
                "300Total50PerAZ",
                "--minimum-healthy-hosts",
                "type=HOST_COUNT,value=300",
                "--zonal-config",
                r#"{"monitorDurationInSeconds":3600,"minimumHealthyHostsPerZone":{"type":"HOST_COUNT","value":50}}"#,
            ],
        );
        assert!(ok, "{err}");
        let (ok, out, err) = aws_cli(
            &url,
            &[
                "deploy",
                "get-deployment-config",
                "--deployment-config-name",
                "300Total50PerAZ",
            ],
        );
        assert!(ok, "{err}");
        let z = &out["deploymentConfigInfo"]["zonalConfig"];
        assert_eq!(z["monitorDurationInSeconds"], 3600);
        assert_eq!(z["minimumHealthyHostsPerZone"]["value"], 50);
        let (ok, _, err) = aws_cli(
            &url,
            &[
                "deploy",
                "create-deployment-config",
                "--deployment-config-name",
                "BadZone",
                "--minimum-healthy-hosts",
                "type=HOST_COUNT,value=1",
                "--zonal-config",
                r#"{"minimumHealthyHostsPerZone":{"type":"HOST_COUNT","value":-1}}"#,
            ],
        );
        assert!(!ok);
        assert!(
            err.contains("(InvalidZonalDeploymentConfigurationException)") && err.contains("HOST_COUNT -1"),
            "{err}"
        );
    })
    .await
    .expect("cli");
}
