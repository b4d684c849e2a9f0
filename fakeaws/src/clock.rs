//! The simulated clock every timed behaviour of the fake runs on.
//!
//! Real time by default (optionally scaled), or frozen until advanced: tests and the scenario runner
//! advance it instead of sleeping. Processes outside the fake (the hooks) can sleep *on* this clock
//! through the admin API; the clock keeps a table of those sleepers so a driver can see when every
//! participant is waiting and jump straight to the earliest wake-up (discrete-event simulation).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::watch;

/// How simulated time relates to real time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMode {
    /// Simulated time runs `scale` times as fast as real time (1.0 = real time), plus manual advances.
    Scaled(f64),
    /// Simulated time stands still until advanced.
    Manual,
}

#[derive(Debug)]
struct Inner {
    start_ms: i64,
    start_real: Instant,
    offset_ms: i64,
    mode: ClockMode,
    next_sleeper: u64,
    sleepers: BTreeMap<u64, Sleeper>,
    /// Gated: a due sleeper wakes only once released (see [`Clock::set_gated`]).
    gated: bool,
    released: std::collections::BTreeSet<u64>,
}

/// A process waiting on the simulated clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sleeper {
    /// The sleep's id (for [`Clock::release`]).
    pub id: u64,
    /// Who sleeps (free text the sleeper gives, e.g. `i-0abc:deregister-from-elb`).
    pub who: String,
    /// Simulated wake-up time in milliseconds since the Unix epoch.
    pub wake_ms: i64,
}

/// The clock. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Clock {
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
}

impl Clock {
    /// A clock starting at `start_ms` (milliseconds since the Unix epoch).
    pub fn new(mode: ClockMode, start_ms: i64) -> Self {
        let (changed, _) = watch::channel(0);
        Clock {
            inner: Mutex::new(Inner {
                start_ms,
                start_real: Instant::now(),
                offset_ms: 0,
                mode,
                next_sleeper: 0,
                sleepers: BTreeMap::new(),
                gated: false,
                released: Default::default(),
            }),
            changed,
        }
    }

    /// A clock starting at the current wall-clock time.
    pub fn starting_now(mode: ClockMode) -> Self {
        Clock::new(mode, chrono::Utc::now().timestamp_millis())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current simulated time in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let inner = self.lock();
        Self::now_locked(&inner)
    }

    fn now_locked(inner: &Inner) -> i64 {
        let running = match inner.mode {
            ClockMode::Manual => 0,
            ClockMode::Scaled(scale) => (inner.start_real.elapsed().as_secs_f64() * 1000.0 * scale) as i64,
        };
        inner.start_ms + running + inner.offset_ms
    }

    /// The clock's mode.
    pub fn mode(&self) -> ClockMode {
        self.lock().mode
    }

    /// Moves simulated time forward by `ms` milliseconds (negative values are ignored).
    pub fn advance_ms(&self, ms: i64) -> i64 {
        let now = {
            let mut inner = self.lock();
            inner.offset_ms += ms.max(0);
            Self::now_locked(&inner)
        };
        self.changed.send_modify(|v| *v += 1);
        now
    }

    /// Moves simulated time forward to `target_ms` if it is in the future.
    pub fn advance_to(&self, target_ms: i64) -> i64 {
        let now = self.now_ms();
        self.advance_ms(target_ms - now)
    }

    /// Everyone currently sleeping on the clock, earliest wake-up first.
    pub fn sleepers(&self) -> Vec<Sleeper> {
        let mut all: Vec<Sleeper> = self.lock().sleepers.values().cloned().collect();
        all.sort_by(|a, b| a.wake_ms.cmp(&b.wake_ms).then_with(|| a.who.cmp(&b.who)));
        all
    }

    /// Sleeps until simulated time reaches `now + ms`. Registers as a sleeper while waiting.
    pub async fn sleep_ms(&self, who: &str, ms: i64) {
        self.start_sleep(who, ms).wait().await
    }

    /// Registers a sleeper at once (a driver sees it asleep from now on); [`Sleep::wait`] waits
    /// for the wake-up, and dropping the [`Sleep`] ends it.
    pub fn start_sleep(&self, who: &str, ms: i64) -> Sleep<'_> {
        let wake_ms = self.now_ms() + ms.max(0);
        let id = {
            let mut inner = self.lock();
            inner.next_sleeper += 1;
            let id = inner.next_sleeper;
            inner.sleepers.insert(
                id,
                Sleeper {
                    id,
                    who: who.to_string(),
                    wake_ms,
                },
            );
            id
        };
        self.changed.send_modify(|v| *v += 1);
        Sleep {
            clock: self,
            id,
            wake_ms,
        }
    }

    /// Gated mode, for a driver that wants same-instant wake-ups in a fixed order: a sleeper whose
    /// time has come stays asleep until [`Clock::release`]d. (The scenario runner releases the due
    /// ones together and has their actions served in turn, see [`crate::turns`], so concurrent
    /// processes never act in an order decided by the operating system.)
    pub fn set_gated(&self, gated: bool) {
        self.lock().gated = gated;
        self.changed.send_modify(|v| *v += 1);
    }

    /// Lets the sleep `id` wake once its time has come (gated mode).
    pub fn release(&self, id: u64) {
        self.lock().released.insert(id);
        self.changed.send_modify(|v| *v += 1);
    }

    /// Tells the watchers something they wait on changed besides the clock (a call held, see
    /// [`crate::gates`]).
    pub fn poke(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// A receiver that sees a new value whenever the clock is advanced or the sleeper table changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// A registered sleep (see [`Clock::start_sleep`]).
#[derive(Debug)]
pub struct Sleep<'a> {
    clock: &'a Clock,
    id: u64,
    wake_ms: i64,
}

impl Sleep<'_> {
    /// Waits until simulated time reaches the wake-up (and, gated, the sleep is released).
    pub async fn wait(self) {
        let clock = self.clock;
        let mut rx = clock.changed.subscribe();
        loop {
            let (now, may_wake) = {
                let inner = clock.lock();
                (
                    Clock::now_locked(&inner),
                    !inner.gated || inner.released.contains(&self.id),
                )
            };
            if now >= self.wake_ms && may_wake {
                break;
            }
            let real_wait = match clock.mode() {
                ClockMode::Manual => std::time::Duration::from_secs(3600),
                ClockMode::Scaled(scale) if scale > 0.0 => {
                    std::time::Duration::from_millis((((self.wake_ms - now) as f64) / scale).ceil() as u64 + 1)
                }
                ClockMode::Scaled(_) => std::time::Duration::from_secs(3600),
            };
            let _ = tokio::time::timeout(real_wait, rx.changed()).await;
        }
    }
}

impl Drop for Sleep<'_> {
    fn drop(&mut self) {
        {
            let mut inner = self.clock.lock();
            inner.sleepers.remove(&self.id);
            inner.released.remove(&self.id);
        }
        self.clock.changed.send_modify(|v| *v += 1);
    }
}

/// Formats milliseconds since the epoch the way AWS does: ISO 8601, UTC, ending in `Z`.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_only_moves_when_advanced() {
        let clock = Clock::new(ClockMode::Manual, 1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance_ms(500);
        assert_eq!(clock.now_ms(), 1_500);
        clock.advance_to(1_200);
        assert_eq!(clock.now_ms(), 1_500);
    }

    #[test]
    fn timestamps_end_in_z() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
    }

    #[tokio::test]
    async fn sleepers_wake_when_the_clock_passes_them() {
        let clock = std::sync::Arc::new(Clock::new(ClockMode::Manual, 0));
        let c2 = clock.clone();
        let task = tokio::spawn(async move { c2.sleep_ms("t", 10_000).await });
        while clock.sleepers().is_empty() {
            tokio::task::yield_now().await;
        }
        assert_eq!(clock.sleepers()[0].wake_ms, 10_000);
        clock.advance_ms(10_000);
        task.await.expect("sleeper finishes");
        assert!(clock.sleepers().is_empty());
    }
}
