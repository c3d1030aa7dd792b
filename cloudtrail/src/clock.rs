//! The clock abstraction: real time in production, a hand-driven clock in tests.

use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tokio::sync::watch;

/// A source of "now". Everything that stamps or ages records takes one, so tests
/// advance time instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    /// The current UTC time.
    fn now(&self) -> OffsetDateTime;

    /// A receiver that changes whenever a manual clock is advanced. Real clocks
    /// return `None`: waiters then fall back to real timers.
    fn advanced(&self) -> Option<watch::Receiver<OffsetDateTime>> {
        None
    }
}

/// The shared handle everyone passes around.
pub type SharedClock = Arc<dyn Clock>;

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", crate::timefmt::iso_seconds(self.now()))
    }
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
    tx: watch::Sender<OffsetDateTime>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: OffsetDateTime) -> Arc<Self> {
        let (tx, _) = watch::channel(start);
        Arc::new(Self {
            now: Mutex::new(start),
            tx,
        })
    }

    /// Moves the clock forward and wakes everything waiting on it.
    pub fn advance(&self, by: std::time::Duration) {
        let now = {
            let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
            *now += by;
            *now
        };
        self.tx.send_replace(now);
    }

    /// Sets the clock to an absolute time (backwards too, for skew tests).
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
        self.tx.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn advanced(&self) -> Option<watch::Receiver<OffsetDateTime>> {
        Some(self.tx.subscribe())
    }
}

/// Waits for a time by an injected clock, the one way background loops (the delivery core,
/// the digest runner) sleep: with a real clock through a timer, with a manual clock until the
/// test moves it, so no test waits on real time for a deadline to pass.
pub struct ClockTimer {
    clock: SharedClock,
    advanced: Option<watch::Receiver<OffsetDateTime>>,
}

impl std::fmt::Debug for ClockTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.advanced.is_some() {
            "ClockTimer(manual)"
        } else {
            "ClockTimer"
        })
    }
}

impl ClockTimer {
    /// A timer on `clock`.
    pub fn new(clock: SharedClock) -> Self {
        let advanced = clock.advanced();
        ClockTimer { clock, advanced }
    }

    /// Resolves once `deadline` may have come. A real clock sleeps until the deadline (for
    /// ever when there is none). A manual clock resolves at its next move, whatever the
    /// deadline, so the caller looks at the time again; once the manual clock is gone, time
    /// stands still and this never resolves.
    pub async fn wait_until(&mut self, deadline: Option<OffsetDateTime>) {
        if let Some(rx) = &mut self.advanced {
            if rx.changed().await.is_err() {
                self.advanced = None;
                std::future::pending::<()>().await;
            }
            return;
        }
        match deadline {
            None => std::future::pending().await,
            Some(d) => {
                let left = d - self.clock.now();
                if left.is_positive() {
                    tokio::time::sleep(left.try_into().unwrap_or(std::time::Duration::from_secs(1))).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// Whether `fut` is ready at its first poll.
    async fn ready_now(fut: impl std::future::Future<Output = ()>) -> bool {
        tokio::select! {
            biased;
            () = fut => true,
            () = std::future::ready(()) => false,
        }
    }

    #[tokio::test]
    async fn a_manual_clock_wakes_its_timer_only_when_moved() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00:00 UTC));
        let mut timer = ClockTimer::new(clock.clone());
        let past = Some(datetime!(2025-01-01 00:00:00 UTC));
        // Not even a deadline in the past wakes it: only the clock moving does.
        assert!(!ready_now(timer.wait_until(past)).await);
        clock.advance(std::time::Duration::from_secs(1));
        assert!(ready_now(timer.wait_until(None)).await);
        assert!(!ready_now(timer.wait_until(None)).await);
        clock.set(datetime!(2020-01-01 00:00:00 UTC));
        assert!(ready_now(timer.wait_until(None)).await);
    }

    #[tokio::test]
    async fn a_real_clock_timer_is_due_at_once_for_a_past_deadline() {
        let mut timer = ClockTimer::new(Arc::new(SystemClock));
        assert!(ready_now(timer.wait_until(Some(OffsetDateTime::UNIX_EPOCH))).await);
        assert!(!ready_now(timer.wait_until(None)).await);
    }
}
