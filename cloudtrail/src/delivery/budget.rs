//! The memory budget: how many bytes of record JSON the pipeline holds (spooled but not yet
//! delivered). `submit` waits while it is spent, so memory stays bounded instead of records
//! being dropped.

use std::sync::Mutex;

use tokio::sync::Notify;

/// The memory budget: `submit` waits while spooled-but-undelivered JSON exceeds it.
pub(super) struct Budget {
    used: Mutex<usize>,
    freed: Notify,
    /// The budget; an empty pipeline takes a record of any size.
    pub(super) max: usize,
}

impl Budget {
    /// A budget of `max` bytes, none used.
    pub(super) fn new(max: usize) -> Budget {
        Budget {
            used: Mutex::new(0),
            freed: Notify::new(),
            max,
        }
    }

    /// Takes `n` bytes if they fit now.
    fn try_take(&self, n: usize) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        // An empty pipeline always takes a record, however large.
        if *used == 0 || *used + n <= self.max {
            *used += n;
            return true;
        }
        false
    }

    /// Takes `n` bytes, waiting while they do not fit.
    #[cfg(test)]
    pub(super) async fn acquire(&self, n: usize) {
        self.acquire_within(n, None).await;
    }

    /// Takes `n` bytes, waiting while they do not fit, at most `wait` (none: for as long as it
    /// takes). Whether they were taken. When they fit at once, as they nearly always do, no
    /// waiter and no timer is set up.
    pub(super) async fn acquire_within(&self, n: usize, wait: Option<std::time::Duration>) -> bool {
        if self.try_take(n) {
            return true;
        }
        let waiting = async {
            loop {
                let freed = self.freed.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                if self.try_take(n) {
                    return;
                }
                freed.await;
            }
        };
        match wait {
            None => {
                waiting.await;
                true
            }
            Some(d) => tokio::time::timeout(d, waiting).await.is_ok(),
        }
    }

    /// Takes `n` bytes whether or not they fit (records replayed from the spool).
    pub(super) fn force(&self, n: usize) {
        *self.used.lock().unwrap_or_else(|e| e.into_inner()) += n;
    }

    /// Gives `n` bytes back and wakes the waiters.
    pub(super) fn release(&self, n: usize) {
        {
            let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
            *used = used.saturating_sub(n);
        }
        self.freed.notify_waiters();
    }

    /// Bytes in use.
    pub(super) fn used(&self) -> usize {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn budget_waits_and_always_admits_into_an_empty_pipeline() {
        let b = Arc::new(Budget::new(100));
        b.acquire(1000).await;
        assert_eq!(b.used(), 1000);
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.acquire(10).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        b.release(1000);
        waiter.await.unwrap();
        assert_eq!(b.used(), 10);
    }
}
