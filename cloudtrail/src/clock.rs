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
