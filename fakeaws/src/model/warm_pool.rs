//! Warm pools (PutWarmPool): pre-initialised instances kept beside a group, which scale-outs take
//! before launching new ones. The rule that sizes and moves them is `world/warm_pool.rs`.

use serde::{Deserialize, Serialize};

use super::domain::api_enum;
use super::Lifecycle;

api_enum! {
    /// `PoolState`: the state warm-pool instances rest in.
    PoolState {
        Stopped = "Stopped",
        Running = "Running",
        Hibernated = "Hibernated",
    }
}

impl PoolState {
    /// The lifecycle state an instance rests in in a pool of this state.
    pub fn resting(self) -> Lifecycle {
        match self {
            PoolState::Stopped => Lifecycle::WarmedStopped,
            PoolState::Running => Lifecycle::WarmedRunning,
            PoolState::Hibernated => Lifecycle::WarmedHibernated,
        }
    }
}

/// A group's warm pool configuration, as PutWarmPool sets it (defaults filled in as AWS does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmPool {
    /// `MaxGroupPreparedCapacity` (`None`: the group's MaxSize).
    pub max_group_prepared_capacity: Option<i64>,
    /// `MinSize`: the pool never shrinks below it.
    pub min_size: i64,
    pub pool_state: PoolState,
    /// `InstanceReusePolicy.ReuseOnScaleIn`: a scale-in returns instances to the pool.
    pub reuse_on_scale_in: bool,
    /// DeleteWarmPool was called: `Status` is `PendingDelete` until the pool is empty.
    pub pending_delete: bool,
}

impl WarmPool {
    /// How many instances the pool keeps beside a group of `max` size whose instances (in any
    /// state but terminated, Standby included) number `members`, and whose desired capacity is
    /// `desired`: the prepared capacity (MaxGroupPreparedCapacity, by default MaxSize) less the
    /// group's instances, never below MinSize (User Guide, "Warm pools for Amazon EC2 Auto
    /// Scaling": the maximum prepared capacity counts "instances in the warm pool or in any
    /// state except Terminated", and by default the pool holds MaxSize less the desired
    /// capacity). Nothing once DeleteWarmPool was called.
    pub fn size(&self, members: i64, desired: i64, max: i64) -> i64 {
        if self.pending_delete {
            return 0;
        }
        let prepared = self.max_group_prepared_capacity.unwrap_or(max);
        (prepared - members.max(desired)).max(0).max(self.min_size)
    }
}
