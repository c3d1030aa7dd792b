//! The `LookupEvents` rate limit, by the injected clock.

use std::collections::HashMap;
use std::sync::Mutex;

use time::OffsetDateTime;

use crate::clock::SharedClock;

use super::HistoryError;
use super::segments::Pair;

/// The `LookupEvents` rate limit: a token bucket per (account, Region), `rate` requests per
/// second with a burst of `rate` (AWS documents 2 per second per account per Region).
pub struct LookupThrottle {
    rate: f64,
    clock: SharedClock,
    buckets: Mutex<HashMap<Pair, (f64, OffsetDateTime)>>,
}

impl std::fmt::Debug for LookupThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupThrottle")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

/// Most (account, Region) buckets remembered; full buckets are forgotten beyond it.
const MAX_BUCKETS: usize = 10_000;

impl LookupThrottle {
    /// `rate` requests per second; 0 or less disables throttling.
    pub fn new(rate: f64, clock: SharedClock) -> Self {
        LookupThrottle {
            rate,
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request's token, or answers `ThrottlingException`.
    pub fn check(&self, account: &str, region: &str) -> Result<(), HistoryError> {
        if self.rate <= 0.0 || !self.rate.is_finite() {
            return Ok(());
        }
        let now = self.clock.now();
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if b.len() >= MAX_BUCKETS {
            let rate = self.rate;
            b.retain(|_, (tokens, at)| *tokens + (now - *at).as_seconds_f64() * rate < rate);
        }
        let (tokens, at) = b
            .entry((account.to_owned(), region.to_owned()))
            .or_insert((self.rate, now));
        let elapsed = (now - *at).as_seconds_f64().max(0.0);
        *tokens = (*tokens + elapsed * self.rate).min(self.rate);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(HistoryError::Throttling("Rate exceeded".to_owned()))
        }
    }
}
