//! The invariants every request must leave intact.

use super::World;
impl World {
    /// Invariants that must hold after every request.
    pub fn check_invariants(&self) -> Result<(), String> {
        for g in self.groups.values() {
            if !(g.min <= g.desired && g.desired <= g.max) {
                return Err(format!(
                    "group {}: min {} desired {} max {}",
                    g.name, g.min, g.desired, g.max
                ));
            }
            for id in &g.instances {
                match self.instances.get(id) {
                    Some(i) if i.group.as_deref() == Some(g.name.as_str()) => {}
                    _ => return Err(format!("group {} lists {id}, which does not belong to it", g.name)),
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for g in self.groups.values() {
            for id in &g.instances {
                if !seen.insert(id) {
                    return Err(format!("instance {id} is in two groups"));
                }
            }
        }
        Ok(())
    }
}
