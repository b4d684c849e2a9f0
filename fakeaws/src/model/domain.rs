//! AWS's enumerated values as types, each spelled as the API spells it: parsed once at the
//! protocol edge (`parse`, with the value's AWS name for the error), written back with `as_str`,
//! saved in a world file under the same spelling.

use serde::{Deserialize, Serialize};

/// An enum of API values: `as_str` gives the API spelling, `parse` reads it, `ALL` lists them
/// in declaration order (which is also their order as map keys).
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The API spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value the API spells `text`, if any.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use api_enum;

api_enum! {
    /// How Auto Scaling decides an instance is healthy.
    HealthCheckType {
        Ec2 = "EC2",
        Elb = "ELB",
        VpcLattice = "VPC_LATTICE",
        Ebs = "EBS",
    }
}

api_enum! {
    /// The processes Auto Scaling can suspend (in the API's alphabetical order, as it lists them).
    Process {
        AzRebalance = "AZRebalance",
        AddToLoadBalancer = "AddToLoadBalancer",
        AlarmNotification = "AlarmNotification",
        HealthCheck = "HealthCheck",
        InstanceRefresh = "InstanceRefresh",
        Launch = "Launch",
        ReplaceUnhealthy = "ReplaceUnhealthy",
        ScheduledActions = "ScheduledActions",
        Terminate = "Terminate",
    }
}

api_enum! {
    /// How a target group picks the target of a request (`load_balancing.algorithm.type`).
    Algorithm {
        RoundRobin = "round_robin",
        LeastOutstandingRequests = "least_outstanding_requests",
        WeightedRandom = "weighted_random",
    }
}

api_enum! {
    /// What a group does with an instance whose termination lifecycle action is abandoned
    /// (`InstanceLifecyclePolicy.RetentionTriggers.TerminateHookAbandon`).
    RetentionAction {
        Retain = "retain",
        Terminate = "terminate",
    }
}

api_enum! {
    /// When a lifecycle hook holds an instance.
    LifecycleTransition {
        Launching = "autoscaling:EC2_INSTANCE_LAUNCHING",
        Terminating = "autoscaling:EC2_INSTANCE_TERMINATING",
    }
}

api_enum! {
    /// Where a scaling activity stands (`StatusCode`).
    ActivityStatus {
        InProgress = "InProgress",
        Successful = "Successful",
        Failed = "Failed",
        Cancelled = "Cancelled",
    }
}

api_enum! {
    /// How a lifecycle action ends.
    LifecycleResult {
        Continue = "CONTINUE",
        Abandon = "ABANDON",
    }
}

api_enum! {
    /// An ELBv2 load balancer's type.
    LoadBalancerType {
        Application = "application",
        Network = "network",
        Gateway = "gateway",
    }
}

api_enum! {
    /// A target's health as DescribeTargetHealth reports it.
    TargetHealthState {
        Initial = "initial",
        Healthy = "healthy",
        Unhealthy = "unhealthy",
        Unused = "unused",
        Draining = "draining",
        Unavailable = "unavailable",
    }
}

api_enum! {
    /// Why a target is not healthy.
    TargetHealthReason {
        RegistrationInProgress = "Elb.RegistrationInProgress",
        InitialHealthChecking = "Elb.InitialHealthChecking",
        ResponseCodeMismatch = "Target.ResponseCodeMismatch",
        Timeout = "Target.Timeout",
        FailedHealthChecks = "Target.FailedHealthChecks",
        NotRegistered = "Target.NotRegistered",
        NotInUse = "Target.NotInUse",
        DeregistrationInProgress = "Target.DeregistrationInProgress",
        InvalidState = "Target.InvalidState",
        HealthCheckDisabled = "Target.HealthCheckDisabled",
    }
}

/// A target's health: its state, and why when it is not healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetHealth {
    pub state: TargetHealthState,
    pub reason: Option<TargetHealthReason>,
    pub description: Option<&'static str>,
}

impl TargetHealth {
    /// A state with no reason (healthy).
    pub fn ok(state: TargetHealthState) -> Self {
        TargetHealth {
            state,
            reason: None,
            description: None,
        }
    }

    /// A state, its reason and AWS's description of it.
    pub fn because(state: TargetHealthState, reason: TargetHealthReason, description: &'static str) -> Self {
        TargetHealth {
            state,
            reason: Some(reason),
            description: Some(description),
        }
    }
}

/// An Auto Scaling group's tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub value: String,
    /// Copied onto instances launched in the group.
    pub propagate_at_launch: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_reads_back_its_own_spelling() {
        for p in Process::ALL {
            assert_eq!(Process::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Process::parse("azrebalance"), None);
        let mut sorted: Vec<&str> = Process::ALL.iter().map(|p| p.as_str()).collect();
        sorted.sort();
        let declared: Vec<&str> = Process::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(sorted, declared, "map keys keep the API's order");
        assert_eq!(
            serde_json::to_string(&LifecycleTransition::Launching).expect("json"),
            "\"autoscaling:EC2_INSTANCE_LAUNCHING\""
        );
    }
}
