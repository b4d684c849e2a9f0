//! Smooth weighted round robin: the slots a weighted forward's requests go through, so that any
//! run of requests is split close to the weights.

/// At most this many round-robin slots describe a weighted forward (weights are approximated
/// beyond it).
const MAX_SLOTS: usize = 100_000;

/// The slots of a weighted forward: each group's targets in turn, each group getting its share
/// of the slots by weight, interleaved (smooth weighted round robin) so that any run of requests
/// is split close to the weights.
pub(super) fn weighted<T: Clone>(groups: Vec<(i64, Vec<T>)>) -> Vec<T> {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let lcm = groups
        .iter()
        .map(|(_, r)| r.len() as u64)
        .try_fold(1u64, |l, n| l.checked_mul(n / gcd(l, n)))
        .unwrap_or(u64::MAX);
    let total_weight: u64 = groups.iter().map(|(w, _)| *w as u64).sum();
    // Weight of each target: its group's weight spread over the group's targets.
    let mut items: Vec<(T, u64)> = Vec::new();
    let exact = lcm.saturating_mul(total_weight) <= MAX_SLOTS as u64;
    for (w, routed) in &groups {
        let n = routed.len() as u64;
        let each = if exact {
            *w as u64 * (lcm / n)
        } else {
            ((*w as u64 * 1000) / (total_weight * n)).max(1)
        };
        items.extend(routed.iter().map(|r| (r.clone(), each)));
    }
    let len: u64 = items.iter().map(|(_, w)| w).sum();
    let mut current = vec![0i64; items.len()];
    let mut out = Vec::with_capacity(len as usize);
    for _ in 0..len {
        for (c, (_, w)) in current.iter_mut().zip(&items) {
            *c += *w as i64;
        }
        let (best, _) = current
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
            .unwrap_or((0, &0));
        current[best] -= len as i64;
        out.push(items[best].0.clone());
    }
    out
}
