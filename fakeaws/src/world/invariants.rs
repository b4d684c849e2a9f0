//! The invariants every request must leave intact: each group's sizes in order, each member
//! listed by exactly one group, the one it belongs to.

use super::World;
use imbl::ordmap::DiffItem;

impl World {
    /// Invariants that must hold after every request, checked over the whole world.
    pub fn check_invariants(&self) -> Result<(), String> {
        for g in self.groups.values() {
            sizes_in_order(g)?;
        }
        self.check_membership()
    }

    /// The invariants after a change from `before`, a world that held them: only what the change
    /// touched is looked at. The sizes of each group it changed; the members, over the whole
    /// world, only when it changed a group's list of members, added or removed a group, or
    /// changed which group an instance belongs to (anything else leaves them as they held). A
    /// request that touches a group's tags, processes or sizes, or an instance's state, costs what
    /// it touched, not a look-up per member of the fleet.
    pub fn check_invariants_since(&self, before: &World) -> Result<(), String> {
        let mut members_moved = false;
        for d in before.groups.diff(&self.groups) {
            match d {
                DiffItem::Add(_, g) => {
                    sizes_in_order(g)?;
                    members_moved = true;
                }
                DiffItem::Remove(..) => members_moved = true,
                DiffItem::Update {
                    old: (_, o),
                    new: (_, n),
                } => {
                    sizes_in_order(n)?;
                    members_moved |= o.instances != n.instances;
                }
            }
        }
        if !members_moved {
            members_moved = before.instances.diff(&self.instances).any(|d| match d {
                DiffItem::Add(_, i) | DiffItem::Remove(_, i) => i.group.is_some(),
                DiffItem::Update {
                    old: (_, o),
                    new: (_, n),
                } => o.group != n.group,
            });
        }
        if members_moved {
            self.check_membership()
        } else {
            Ok(())
        }
    }

    /// Each listed member belongs to the group that lists it, and no instance is listed twice.
    fn check_membership(&self) -> Result<(), String> {
        for g in self.groups.values() {
            for id in g.instances.iter() {
                match self.instances.get(id) {
                    Some(i) if i.group.as_deref() == Some(g.name.as_str()) => {}
                    _ => return Err(format!("group {} lists {id}, which does not belong to it", g.name)),
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for g in self.groups.values() {
            for id in g.instances.iter() {
                if !seen.insert(id) {
                    return Err(format!("instance {id} is in two groups"));
                }
            }
        }
        Ok(())
    }
}

fn sizes_in_order(g: &crate::model::Group) -> Result<(), String> {
    if g.min <= g.desired && g.desired <= g.max {
        Ok(())
    } else {
        Err(format!(
            "group {}: min {} desired {} max {}",
            g.name, g.min, g.desired, g.max
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two groups of two instances each, settled.
    fn two_groups() -> World {
        let (mut w, _) = crate::spec::applied(
            "[[groups]]\nname = \"a\"\nmin = 1\nmax = 4\ndesired = 2\navailability_zones = [\"us-east-1a\"]\n\
             [[groups]]\nname = \"b\"\nmin = 1\nmax = 4\ndesired = 2\navailability_zones = [\"us-east-1a\"]\n",
        );
        w.tick(600_000);
        w.check_invariants().expect("a fresh world holds them");
        w
    }

    #[test]
    fn a_change_is_checked_where_it_touched_the_world() {
        let before = two_groups();
        let b_first = before.groups["b"].instances[0].clone();

        // Sizes out of order in the group changed.
        let mut w = before.clone();
        w.groups.get_mut("a").expect("a").desired = 9;
        let e = w.check_invariants_since(&before).expect_err("sizes");
        assert!(e.contains("group a: min 1 desired 9 max 4"), "{e}");

        // An instance of b listed by a as well: its list of members changed.
        let mut w = before.clone();
        w.groups.get_mut("a").expect("a").instances_mut().push(b_first.clone());
        let e = w.check_invariants_since(&before).expect_err("listed twice");
        assert!(e.contains(&format!("group a lists {b_first}")), "{e}");

        // An instance that says it belongs to another group than the one listing it.
        let mut w = before.clone();
        w.instances.get_mut(&b_first).expect("instance").group = Some("a".into());
        let e = w.check_invariants_since(&before).expect_err("moved");
        assert!(e.contains(&format!("group b lists {b_first}")), "{e}");

        // A change of tags, processes or lifecycle state leaves membership as it held.
        let mut w = before.clone();
        w.groups.get_mut("a").expect("a").desired = 3;
        w.instances.get_mut(&b_first).expect("instance").healthy = false;
        w.check_invariants_since(&before).expect("holds");
        w.check_invariants().expect("and over the whole world too");
    }
}
