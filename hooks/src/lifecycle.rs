//! What a lifecycle state of Auto Scaling means for the hooks: out of service, being terminated,
//! leaving the group for good, in a warm pool. Read by the Auto Scaling path and by the look at
//! CodeDeploy's instances still to go.

use aws_sdk_autoscaling::types::LifecycleState;

/// Whether a lifecycle state is one of a warm pool's (`Warmed:*`).
pub fn is_warm(state: &LifecycleState) -> bool {
    state.as_str().starts_with("Warmed:")
}

/// Whether an instance in this state is out of service in Standby (or on its way there).
pub(crate) fn out_of_service(state: &LifecycleState) -> bool {
    matches!(state, LifecycleState::Standby | LifecycleState::EnteringStandby)
}

/// Whether an instance in this state is being terminated (or is).
pub(crate) fn terminating(state: &LifecycleState) -> bool {
    matches!(
        state,
        LifecycleState::Terminating
            | LifecycleState::TerminatingWait
            | LifecycleState::TerminatingProceed
            | LifecycleState::TerminatingRetained
            | LifecycleState::Terminated
    )
}

/// Whether an instance in this state is on its way out of its group for good (being terminated,
/// or detached).
pub(crate) fn departing(state: &LifecycleState) -> bool {
    terminating(state) || matches!(state, LifecycleState::Detaching | LifecycleState::Detached)
}
