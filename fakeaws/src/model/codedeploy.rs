//! CodeDeploy's resources as the fake keeps them: applications, deployment groups, deployment
//! configurations, deployments with their instances and lifecycle events, and registered
//! revisions. Times are simulated milliseconds; the API writes them as epoch seconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::domain::api_enum;

api_enum! {
    /// Where a deployment stands.
    DeploymentStatus {
        Created = "Created",
        Queued = "Queued",
        InProgress = "InProgress",
        Baking = "Baking",
        Succeeded = "Succeeded",
        Failed = "Failed",
        Stopped = "Stopped",
        Ready = "Ready",
    }
}

impl DeploymentStatus {
    /// Succeeded, Failed or Stopped: nothing more happens to it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Stopped)
    }
}

api_enum! {
    /// Where one instance of a deployment stands (also a deployment target's status).
    InstanceStatus {
        Pending = "Pending",
        InProgress = "InProgress",
        Succeeded = "Succeeded",
        Failed = "Failed",
        Skipped = "Skipped",
        Unknown = "Unknown",
        Ready = "Ready",
    }
}

impl InstanceStatus {
    /// Succeeded, Failed or Skipped.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Skipped)
    }
}

api_enum! {
    /// A lifecycle event of an EC2/on-premises in-place deployment, declared in the order
    /// CodeDeploy runs them ([`LifecycleEvent::ALL`]): the one place that order is written.
    LifecycleEvent {
        BeforeBlockTraffic = "BeforeBlockTraffic",
        BlockTraffic = "BlockTraffic",
        AfterBlockTraffic = "AfterBlockTraffic",
        ApplicationStop = "ApplicationStop",
        DownloadBundle = "DownloadBundle",
        BeforeInstall = "BeforeInstall",
        Install = "Install",
        AfterInstall = "AfterInstall",
        ApplicationStart = "ApplicationStart",
        ValidateService = "ValidateService",
        BeforeAllowTraffic = "BeforeAllowTraffic",
        AllowTraffic = "AllowTraffic",
        AfterAllowTraffic = "AfterAllowTraffic",
    }
}

impl LifecycleEvent {
    /// The events of an in-place deployment, in order; with traffic control, CodeDeploy's own
    /// traffic events around the agent's.
    pub fn in_place(traffic_control: bool) -> impl Iterator<Item = LifecycleEvent> {
        Self::ALL
            .iter()
            .copied()
            .filter(move |e| traffic_control || !e.is_traffic())
    }

    /// The events of a termination deployment (an instance the group terminates): the Block
    /// events only.
    pub const TERMINATION: [LifecycleEvent; 3] =
        [Self::BeforeBlockTraffic, Self::BlockTraffic, Self::AfterBlockTraffic];

    /// The six events that exist only when the deployment group controls traffic.
    pub fn is_traffic(self) -> bool {
        matches!(
            self,
            Self::BeforeBlockTraffic
                | Self::BlockTraffic
                | Self::AfterBlockTraffic
                | Self::BeforeAllowTraffic
                | Self::AllowTraffic
                | Self::AfterAllowTraffic
        )
    }

    /// Whether the agent runs this event's scripts from the previous revision (the one being
    /// replaced): ApplicationStop and the Block events.
    pub fn runs_previous_revision(self) -> bool {
        matches!(
            self,
            Self::BeforeBlockTraffic | Self::BlockTraffic | Self::AfterBlockTraffic | Self::ApplicationStop
        )
    }

    /// Whether an appspec may name scripts for it: every event but CodeDeploy's own steps
    /// (Install, BlockTraffic, AllowTraffic).
    pub fn takes_scripts(self) -> bool {
        !matches!(self, Self::Install | Self::BlockTraffic | Self::AllowTraffic)
    }
}

api_enum! {
    /// Where one lifecycle event of one instance stands.
    LifecycleEventStatus {
        Pending = "Pending",
        InProgress = "InProgress",
        Succeeded = "Succeeded",
        Failed = "Failed",
        Skipped = "Skipped",
        Unknown = "Unknown",
    }
}

api_enum! {
    /// Who or what created a deployment.
    DeploymentCreator {
        User = "user",
        Autoscaling = "autoscaling",
        CodeDeployRollback = "codeDeployRollback",
        CodeDeploy = "CodeDeploy",
        CodeDeployAutoUpdate = "CodeDeployAutoUpdate",
        CloudFormation = "CloudFormation",
        CloudFormationRollback = "CloudFormationRollback",
        AutoscalingTermination = "autoscalingTermination",
    }
}

api_enum! {
    /// How a minimum number of healthy hosts is counted.
    MinimumHealthyHostsType {
        HostCount = "HOST_COUNT",
        FleetPercent = "FLEET_PERCENT",
        /// What GetDeploymentConfig answers for `CodeDeployDefault.OneAtATime` (with value 1); not
        /// accepted by CreateDeploymentConfig.
        MostConcurrency = "MOST_CONCURRENCY",
    }
}

api_enum! {
    /// The archive format of a revision.
    BundleType {
        Tar = "tar",
        Tgz = "tgz",
        Zip = "zip",
        Yaml = "YAML",
        Json = "JSON",
    }
}

api_enum! {
    /// Whether CodeDeploy routes traffic around the instances itself.
    DeploymentOption {
        WithTrafficControl = "WITH_TRAFFIC_CONTROL",
        WithoutTrafficControl = "WITHOUT_TRAFFIC_CONTROL",
    }
}

api_enum! {
    /// In place or blue/green.
    DeploymentType {
        InPlace = "IN_PLACE",
        BlueGreen = "BLUE_GREEN",
    }
}

api_enum! {
    /// What becomes of instances launched while a deployment runs.
    OutdatedInstancesStrategy {
        Update = "UPDATE",
        Ignore = "IGNORE",
    }
}

api_enum! {
    /// Where a revision lives.
    RevisionType {
        S3 = "S3",
        GitHub = "GitHub",
        String = "String",
        AppSpecContent = "AppSpecContent",
    }
}

api_enum! {
    /// What a deployment runs on.
    ComputePlatform {
        Server = "Server",
        Lambda = "Lambda",
        Ecs = "ECS",
    }
}

api_enum! {
    /// The events a trigger or an automatic rollback listens for.
    TriggerEventType {
        DeploymentStart = "DeploymentStart",
        DeploymentSuccess = "DeploymentSuccess",
        DeploymentFailure = "DeploymentFailure",
        DeploymentStop = "DeploymentStop",
        DeploymentRollback = "DeploymentRollback",
        DeploymentReady = "DeploymentReady",
        InstanceStart = "InstanceStart",
        InstanceSuccess = "InstanceSuccess",
        InstanceFailure = "InstanceFailure",
        InstanceReady = "InstanceReady",
    }
}

api_enum! {
    /// The events an automatic rollback can follow.
    AutoRollbackEvent {
        DeploymentFailure = "DEPLOYMENT_FAILURE",
        DeploymentStopOnAlarm = "DEPLOYMENT_STOP_ON_ALARM",
        DeploymentStopOnRequest = "DEPLOYMENT_STOP_ON_REQUEST",
    }
}

api_enum! {
    /// How an EC2 tag filter matches.
    TagFilterType {
        KeyOnly = "KEY_ONLY",
        ValueOnly = "VALUE_ONLY",
        KeyAndValue = "KEY_AND_VALUE",
    }
}

/// An application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub created_ms: i64,
    pub compute_platform: ComputePlatform,
    /// Its deployment groups by name.
    pub groups: BTreeMap<String, DeploymentGroup>,
    /// Its registered revisions, oldest first.
    pub revisions: Vec<RegisteredRevision>,
}

/// A minimum number of healthy hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinimumHealthyHosts {
    pub kind: MinimumHealthyHostsType,
    pub value: i64,
}

impl MinimumHealthyHosts {
    /// The instances that must stay healthy out of `n`, as CodeDeploy counts them: a host count as
    /// given, a percentage rounded up.
    pub fn of(self, n: usize) -> usize {
        match self.kind {
            MinimumHealthyHostsType::HostCount => self.value.max(0) as usize,
            MinimumHealthyHostsType::FleetPercent => ((n as i64 * self.value + 99) / 100).max(0) as usize,
            MinimumHealthyHostsType::MostConcurrency => n.saturating_sub(self.value.max(1) as usize),
        }
    }
}

/// A deployment configuration (a built-in one or the account's own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentConfig {
    pub id: String,
    pub name: String,
    pub minimum_healthy_hosts: MinimumHealthyHosts,
    pub created_ms: i64,
    pub compute_platform: ComputePlatform,
    /// `zonalConfig`: deploy one Availability Zone at a time (custom server configurations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zonal: Option<ZonalConfig>,
}

/// `ZonalConfig`: one Availability Zone at a time, a bake after each, and a minimum per zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZonalConfig {
    /// `firstZoneMonitorDurationInSeconds` (as given; `None`: the monitor duration).
    pub first_zone_monitor_seconds: Option<i64>,
    /// `monitorDurationInSeconds` (as given; `None`: the next zone starts at once).
    pub monitor_seconds: Option<i64>,
    /// `minimumHealthyHostsPerZone` (as given; `None`: 0 percent).
    pub per_zone: Option<MinimumHealthyHosts>,
}

impl ZonalConfig {
    /// The bake after the first zone, in seconds.
    pub fn first_bake_seconds(&self) -> i64 {
        self.first_zone_monitor_seconds.or(self.monitor_seconds).unwrap_or(0)
    }

    /// The bake after every later zone, in seconds.
    pub fn bake_seconds(&self) -> i64 {
        self.monitor_seconds.unwrap_or(0)
    }

    /// The minimum per zone, CodeDeploy's default (0 percent) when none is given.
    pub fn per_zone_minimum(&self) -> MinimumHealthyHosts {
        self.per_zone.unwrap_or(MinimumHealthyHosts {
            kind: MinimumHealthyHostsType::FleetPercent,
            value: 0,
        })
    }
}

/// An EC2 tag filter of a deployment group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagFilter {
    pub key: Option<String>,
    pub value: Option<String>,
    pub kind: TagFilterType,
}

/// A trigger: where deployment and instance events are announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub name: String,
    pub target_arn: String,
    pub events: Vec<TriggerEventType>,
}

/// Automatic rollback settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoRollback {
    pub enabled: bool,
    pub events: Vec<AutoRollbackEvent>,
}

/// A deployment group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentGroup {
    pub id: String,
    pub application: String,
    pub name: String,
    pub config: String,
    pub service_role_arn: String,
    /// Auto Scaling group name -> the launch lifecycle hook CodeDeploy put on it.
    pub autoscaling_groups: BTreeMap<String, String>,
    pub ec2_tag_filters: Vec<TagFilter>,
    /// Classic Load Balancer names.
    pub elb_names: Vec<String>,
    /// Target group names.
    pub target_group_names: Vec<String>,
    pub deployment_type: DeploymentType,
    pub deployment_option: DeploymentOption,
    pub auto_rollback: AutoRollback,
    pub triggers: Vec<Trigger>,
    pub outdated_instances_strategy: OutdatedInstancesStrategy,
    pub termination_hook_enabled: bool,
    /// The revision last deployed to the group.
    pub target_revision: Option<Revision>,
    pub last_successful: Option<String>,
    pub last_attempted: Option<String>,
}

/// Where a revision lives (only S3 and inline revisions are run by the fake).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Revision {
    pub kind: RevisionType,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub bundle_type: Option<BundleType>,
    pub version: Option<String>,
    pub etag: Option<String>,
    /// GitHub's repository and commit, or an inline revision's content.
    pub repository: Option<String>,
    pub commit_id: Option<String>,
    pub content: Option<String>,
}

impl Revision {
    /// An S3 revision.
    pub fn s3(bucket: &str, key: &str, bundle_type: BundleType) -> Self {
        Revision {
            kind: RevisionType::S3,
            bucket: Some(bucket.to_string()),
            key: Some(key.to_string()),
            bundle_type: Some(bundle_type),
            version: None,
            etag: None,
            repository: None,
            commit_id: None,
            content: None,
        }
    }
}

/// A revision registered with (or deployed through) an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredRevision {
    pub revision: Revision,
    pub description: Option<String>,
    pub registered_ms: i64,
    pub first_used_ms: Option<i64>,
    pub last_used_ms: Option<i64>,
    pub deployment_groups: Vec<String>,
}

/// What a failed lifecycle event left for diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    pub error_code: String,
    pub script_name: String,
    pub message: String,
    pub log_tail: String,
}

/// One lifecycle event of one instance, as the deployment records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub name: LifecycleEvent,
    pub status: LifecycleEventStatus,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub diagnostics: Option<Diagnostics>,
}

/// One instance of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentInstance {
    pub status: InstanceStatus,
    pub updated_ms: i64,
    pub events: Vec<EventRecord>,
}

/// Why a deployment failed or stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInformation {
    pub code: String,
    pub message: String,
}

/// A deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub application: String,
    pub group: String,
    pub config: String,
    pub revision: Revision,
    pub previous_revision: Option<Revision>,
    pub status: DeploymentStatus,
    pub creator: DeploymentCreator,
    pub description: Option<String>,
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub completed_ms: Option<i64>,
    pub error: Option<ErrorInformation>,
    pub ignore_application_stop_failures: bool,
    pub update_outdated_instances_only: bool,
    pub auto_rollback: AutoRollback,
    /// Rollback bookkeeping: the deployment this one rolls back, or the one that rolled it back.
    pub rollback_of: Option<String>,
    pub rolled_back_by: Option<String>,
    pub deployment_option: DeploymentOption,
    /// Instance id -> its part of the deployment.
    pub instances: imbl::OrdMap<String, DeploymentInstance>,
    /// The order instances were added in (the order the engine deploys them).
    pub order: imbl::Vector<String>,
}

impl Deployment {
    /// The count of instances in each status, as `deploymentOverview` gives it.
    pub fn overview(&self) -> BTreeMap<InstanceStatus, usize> {
        let mut out: BTreeMap<InstanceStatus, usize> = BTreeMap::new();
        for i in self.instances.values() {
            *out.entry(i.status).or_default() += 1;
        }
        out
    }
}

/// A notification a trigger produced (what CodeDeploy publishes to the trigger's SNS topic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerEvent {
    pub at_ms: i64,
    pub trigger_name: String,
    pub target_arn: String,
    pub event: TriggerEventType,
    pub deployment_id: String,
    /// The notification's `Subject` (`STATUS: AWS CodeDeploy d-... in REGION to APPLICATION`).
    pub subject: String,
    /// The notification's `Message`: CodeDeploy's JSON document.
    pub message: String,
}

/// Everything CodeDeploy holds in the account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeDeploy {
    /// Applications (with their groups and revisions) by name.
    pub applications: BTreeMap<String, Application>,
    /// The account's own configurations (the built-in ones are not stored).
    pub configs: BTreeMap<String, DeploymentConfig>,
    /// Persistent maps, as the rest of the world: a change copies only the path it touches.
    pub deployments: imbl::OrdMap<String, Deployment>,
    /// Deployment ids in creation order.
    pub deployment_order: Vec<String>,
    /// What the triggers announced, oldest first (bounded).
    pub notifications: imbl::Vector<TriggerEvent>,
}

/// The built-in server deployment configurations: name, minimum healthy hosts.
pub const BUILT_IN_CONFIGS: [(&str, MinimumHealthyHostsType, i64); 3] = [
    (
        "CodeDeployDefault.OneAtATime",
        MinimumHealthyHostsType::MostConcurrency,
        1,
    ),
    (
        "CodeDeployDefault.HalfAtATime",
        MinimumHealthyHostsType::FleetPercent,
        50,
    ),
    ("CodeDeployDefault.AllAtOnce", MinimumHealthyHostsType::HostCount, 0),
];
