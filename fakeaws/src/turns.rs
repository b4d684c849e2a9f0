//! Turns: a fixed order for the AWS calls of processes acting at the same simulated instant.
//!
//! A driver (the scenario runner) lets several processes act at once (scripts it starts, sleepers
//! it wakes) and wants what they do to the world never to depend on how the operating system
//! schedules them. It names them, in order, while the turns are held ([`Turns::hold`],
//! [`Turns::join`], [`Turns::open`]); from then on each *action* of a named process (an AWS call
//! signed with its instance's credentials, or a sleep on the clock) is served only on its turn,
//! and the turn passes round the order one action at a time: a call keeps the caller in the
//! order, a sleep or an exit ([`Turns::leave`]) takes it out. The processes still compute in
//! parallel between their actions (decoding an answer while the next one's call is served), so
//! the order costs nothing but the fake's own work, which was serial anyway.
//!
//! Callers that are not named (another client, a fake used without a driver) are served at once.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::clock::{Clock, Sleep};

#[derive(Debug)]
struct Entry {
    /// The process's name on the clock (`ELB_HOOKS_CLOCK_WHO`).
    who: String,
    /// The instance whose credentials its calls are signed with.
    instance: String,
    wake: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Inner {
    order: Vec<Entry>,
    /// Who has the turn (`None`: nobody acts, or the order is being assembled).
    holder: Option<String>,
    held: bool,
}

impl Inner {
    fn position(&self, who: &str) -> Option<usize> {
        self.order.iter().position(|e| e.who == who)
    }

    /// Gives the turn to the entry at `i` (wrapping), waking it.
    fn give(&mut self, i: usize) {
        if self.held || self.order.is_empty() {
            self.holder = None;
            return;
        }
        let e = &self.order[i % self.order.len()];
        self.holder = Some(e.who.clone());
        e.wake.notify_one();
    }

    /// Takes `who` out of the order; the turn moves on if it was theirs.
    fn remove(&mut self, who: &str) {
        let Some(i) = self.position(who) else {
            return;
        };
        // Anyone still waiting under this name looks again (and finds it gone), and so does one
        // about to wait (it took the name's wake-up before this, but has not waited on it yet).
        let wake = self.order.remove(i).wake;
        wake.notify_waiters();
        wake.notify_one();
        if self.holder.as_deref() == Some(who) {
            self.give(i);
        }
    }
}

/// The turn table. Cheap to share; empty (every caller served at once) until a driver uses it.
#[derive(Debug, Default)]
pub struct Turns {
    inner: Mutex<Inner>,
}

/// The turn of one action; dropping it passes the turn on.
#[derive(Debug)]
pub struct Turn<'a> {
    turns: &'a Turns,
    who: String,
    /// Whether the process stays in the order after this action (a call) or leaves it (a sleep).
    stays: bool,
}

impl Turn<'_> {
    /// This action ends the process's part in the round (it goes to sleep on the clock).
    pub fn leaves(mut self) -> Self {
        self.stays = false;
        self
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut inner = self.turns.lock();
        if !self.stays {
            inner.remove(&self.who);
            return;
        }
        if inner.holder.as_deref() == Some(self.who.as_str()) {
            if let Some(i) = inner.position(&self.who) {
                inner.give(i + 1);
            }
        }
    }
}

impl Turns {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops handing out turns while the driver names the next processes.
    pub fn hold(&self) {
        let mut inner = self.lock();
        inner.held = true;
        inner.holder = None;
    }

    /// Names a process, after those already named. `instance` is the instance whose role
    /// credentials sign its calls.
    /// `false` if `who` was named already (and so keeps its place): a driver that names a
    /// process twice has lost track of it, and should say so.
    #[must_use]
    pub fn join(&self, who: &str, instance: &str) -> bool {
        let mut inner = self.lock();
        if inner.position(who).is_some() {
            return false;
        }
        inner.order.push(Entry {
            who: who.to_string(),
            instance: instance.to_string(),
            wake: Arc::new(Notify::new()),
        });
        true
    }

    /// Hands out turns again, from the first named process.
    pub fn open(&self) {
        let mut inner = self.lock();
        inner.held = false;
        inner.give(0);
    }

    /// The process has exited (or will never act): out of the order, the turn moves on.
    pub fn leave(&self, who: &str) {
        self.lock().remove(who);
    }

    /// How many processes are named.
    pub fn acting(&self) -> usize {
        self.lock().order.len()
    }

    /// Waits for the turn of the named process `who`; `None` (at once) if it is not named.
    pub async fn by_name(&self, who: &str) -> Option<Turn<'_>> {
        self.wait(|e| e.who == who).await
    }

    /// A sleep on `clock` of `who`, on its turn: `who` leaves the order, then shows as asleep.
    ///
    /// In that order: a driver that sees a process asleep may wake it and name it again at once;
    /// were the name still in the order then, the new naming would be skipped and the old one
    /// taken out when this turn ended, and the woken process would act unordered.
    pub async fn sleep<'c>(&self, clock: &'c Clock, who: &str, ms: i64) -> Sleep<'c> {
        if let Some(turn) = self.by_name(who).await {
            drop(turn.leaves());
        }
        clock.start_sleep(who, ms)
    }

    /// Waits for the turn of the process acting for `instance`; `None` (at once) if none is named.
    pub async fn by_instance(&self, instance: &str) -> Option<Turn<'_>> {
        self.wait(|e| e.instance == instance).await
    }

    async fn wait(&self, matches: impl Fn(&Entry) -> bool) -> Option<Turn<'_>> {
        loop {
            let (who, wake) = {
                let inner = self.lock();
                let e = inner.order.iter().find(|e| matches(e))?;
                if inner.holder.as_deref() == Some(e.who.as_str()) {
                    return Some(Turn {
                        turns: self,
                        who: e.who.clone(),
                        stays: true,
                    });
                }
                (e.who.clone(), e.wake.clone())
            };
            wake.notified().await;
            // Still named? (An exit may have taken it out meanwhile.)
            self.lock().position(&who)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lets every spawned task run until it waits (the test runtime has one thread).
    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    /// Three named processes send their calls in the reverse of the turn order: they are
    /// served in the turn order, one call each round.
    #[tokio::test]
    async fn calls_are_served_round_by_round_in_the_named_order() {
        let turns = Arc::new(Turns::default());
        turns.hold();
        for w in ["a", "b", "c"] {
            assert!(turns.join(w, &format!("i-{w}")));
        }
        turns.open();
        let served = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (w, calls) in [("c", 1), ("b", 2), ("a", 2)] {
            let (turns, served) = (turns.clone(), served.clone());
            tasks.push(tokio::spawn(async move {
                for n in 0..calls {
                    let t = turns.by_instance(&format!("i-{w}")).await.expect("named");
                    served.lock().unwrap().push(format!("{w}{n}"));
                    if n + 1 == calls {
                        drop(t.leaves());
                    }
                }
            }));
            settle().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*served.lock().unwrap(), ["a0", "b0", "c0", "a1", "b1"]);
        assert_eq!(turns.acting(), 0);
    }

    /// An exit passes the turn on; a caller nobody named is served at once.
    #[tokio::test]
    async fn an_exit_passes_the_turn_and_strangers_are_not_held() {
        let turns = Arc::new(Turns::default());
        turns.hold();
        assert!(turns.join("a", "i-a"));
        assert!(turns.join("b", "i-b"));
        turns.open();
        assert!(turns.by_instance("i-z").await.is_none());
        let waiting = {
            let turns = turns.clone();
            tokio::spawn(async move { turns.by_instance("i-b").await.map(|t| t.who.clone()) })
        };
        settle().await;
        assert!(!waiting.is_finished(), "b waits for a");
        turns.leave("a");
        assert_eq!(waiting.await.unwrap().as_deref(), Some("b"));
    }

    /// A driver that sees a process asleep finds it out of the order, so that it can name it
    /// again when it wakes it. A watcher thread looks at the clock's sleepers without pause
    /// while processes go to sleep on their turn, a few thousand times.
    #[test]
    fn a_sleeper_is_out_of_the_order_before_a_driver_sees_it() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

        use crate::clock::ClockMode;

        let clock = Clock::new(ClockMode::Manual, 0);
        let turns = Turns::default();
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let (seen, stop, still_named) = (AtomicUsize::new(0), AtomicBool::new(false), AtomicUsize::new(0));
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    for sleeper in clock.sleepers() {
                        if turns.lock().position(&sleeper.who).is_some() {
                            still_named.fetch_add(1, Ordering::Relaxed);
                        }
                        let n: usize = sleeper.who.parse().expect("number");
                        seen.fetch_max(n, Ordering::Relaxed);
                    }
                }
            });
            for n in 1..=3000 {
                let who = n.to_string();
                turns.hold();
                assert!(turns.join(&who, "i-1"));
                turns.open();
                let sleep = rt.block_on(turns.sleep(&clock, &who, 1_000));
                while seen.load(Ordering::Relaxed) < n {
                    std::hint::spin_loop();
                }
                drop(sleep);
            }
            stop.store(true, Ordering::Relaxed);
        });
        assert_eq!(
            still_named.load(Ordering::Relaxed),
            0,
            "sleepers seen while still named"
        );
    }

    /// While held, not even the first named process is served.
    #[tokio::test]
    async fn nothing_is_served_while_the_order_is_assembled() {
        let turns = Arc::new(Turns::default());
        turns.hold();
        assert!(turns.join("a", "i-a"));
        let waiting = {
            let turns = turns.clone();
            tokio::spawn(async move { turns.by_name("a").await.is_some() })
        };
        settle().await;
        assert!(!waiting.is_finished());
        turns.open();
        assert!(waiting.await.unwrap());
    }
}
