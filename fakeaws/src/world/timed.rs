//! What a world rule is: something that happens by itself on the simulated clock ([`Timed`]);
//! the rules are registered in `schedule.rs`.

use super::World;

/// A behaviour of the world that happens by itself, at a time.
pub(crate) trait Timed: Sync {
    /// The next moment this rule has something to do, if any.
    fn next_due(&self, world: &World) -> Option<i64>;
    /// Does what is due at `world.now_ms` (and nothing that is not).
    fn fire(&self, world: &mut World);
}
