//! Instance refreshes (StartInstanceRefresh): a group's instances replaced in batches on the
//! simulated clock, with the preferences that shape it. The rule that runs them is
//! `world/refresh.rs`.

use serde::{Deserialize, Serialize};

use super::domain::api_enum;

api_enum! {
    /// Where an instance refresh stands.
    RefreshStatus {
        Pending = "Pending",
        InProgress = "InProgress",
        Successful = "Successful",
        Failed = "Failed",
        Cancelling = "Cancelling",
        Cancelled = "Cancelled",
        RollbackInProgress = "RollbackInProgress",
        RollbackFailed = "RollbackFailed",
        RollbackSuccessful = "RollbackSuccessful",
        Baking = "Baking",
    }
}

impl RefreshStatus {
    /// Still under way: StartInstanceRefresh is refused and CancelInstanceRefresh finds it.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::Pending | Self::InProgress | Self::Cancelling | Self::RollbackInProgress | Self::Baking
        )
    }
}

api_enum! {
    /// `StandbyInstances`: what a refresh does with instances in Standby.
    StandbyPreference {
        Terminate = "Terminate",
        Ignore = "Ignore",
        Wait = "Wait",
    }
}

api_enum! {
    /// `ScaleInProtectedInstances`: what a refresh does with instances protected from scale in.
    ProtectedPreference {
        Refresh = "Refresh",
        Ignore = "Ignore",
        Wait = "Wait",
    }
}

/// `Preferences` as kept (defaults filled in as the CLI and SDKs get them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshPreferences {
    pub min_healthy_percentage: i64,
    pub max_healthy_percentage: i64,
    /// `InstanceWarmup` in seconds (`None`: the group's health check grace period).
    pub instance_warmup_s: Option<i64>,
    pub checkpoint_percentages: Vec<i64>,
    pub checkpoint_delay_s: Option<i64>,
    pub skip_matching: bool,
    pub auto_rollback: bool,
    pub standby_instances: StandbyPreference,
    pub scale_in_protected_instances: ProtectedPreference,
    pub bake_time_s: i64,
}

impl Default for RefreshPreferences {
    fn default() -> Self {
        RefreshPreferences {
            min_healthy_percentage: 90,
            max_healthy_percentage: 100,
            instance_warmup_s: None,
            checkpoint_percentages: Vec::new(),
            checkpoint_delay_s: None,
            skip_matching: false,
            auto_rollback: false,
            standby_instances: StandbyPreference::Wait,
            scale_in_protected_instances: ProtectedPreference::Wait,
            bake_time_s: 0,
        }
    }
}

/// One instance refresh of a group and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRefresh {
    pub id: String,
    pub group: String,
    pub status: RefreshStatus,
    pub status_reason: Option<String>,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub preferences: RefreshPreferences,
    /// `DesiredConfiguration.LaunchTemplate` (name), if given.
    pub desired_template: Option<String>,
    /// The group's launch template as the refresh started (what a rollback goes back to).
    pub previous_template: Option<String>,
    /// The members as it started (a member not among them was launched since); a set, as each
    /// step asks it of every member.
    pub original: std::collections::BTreeSet<String>,
    /// Instances still to replace, in the order they are taken.
    pub to_replace: Vec<String>,
    /// How many it set out to replace (less those it leaves alone: `Ignore`).
    pub total: usize,
    /// Instances it is terminating now.
    pub replacing: Vec<String>,
    /// Instances it replaced (terminated).
    pub replaced: Vec<String>,
    /// New instances and when their warm-up ends (set when they reach InService).
    pub warm_until: std::collections::BTreeMap<String, i64>,
    /// Checkpoints passed (how many of `checkpoint_percentages`).
    pub checkpoints_passed: usize,
    /// While it pauses at a checkpoint: until when.
    pub checkpoint_until: Option<i64>,
    /// Since when it waits for Standby or protected instances (it fails after an hour).
    pub waiting_since: Option<i64>,
    /// While `Baking`: until when.
    pub bake_until: Option<i64>,
}

impl InstanceRefresh {
    /// `PercentageComplete`: the share replaced whose replacements have warmed up.
    pub fn percentage_complete(&self, warmed: usize) -> i64 {
        if self.total == 0 {
            return 100;
        }
        ((self.replaced.len().min(warmed) * 100) / self.total) as i64
    }

    /// `InstancesToUpdate`: not yet replaced.
    pub fn instances_to_update(&self) -> usize {
        self.to_replace.len() + self.replacing.len()
    }
}
