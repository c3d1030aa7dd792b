//! Latency histograms and the live-mode report.

use std::collections::BTreeMap;

use serde::Serialize;

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;

/// A log-linear histogram of microseconds (HDR-style): exact below 64 µs, then 64 buckets per
/// power of two, so any percentile is within 1.6 % of the true value. Fixed size, mergeable.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; (64 - SUB_BITS as usize + 1) * SUB as usize],
            total: 0,
            max: 0,
            sum: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let sub = (v >> (exp - SUB_BITS)) & (SUB - 1);
    ((exp - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

fn lower_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let exp = i / SUB + u64::from(SUB_BITS) - 1;
    let sub = i % SUB;
    (1u64 << exp) | (sub << (exp - u64::from(SUB_BITS)))
}

impl Histogram {
    /// Records one value in microseconds.
    pub fn record(&mut self, micros: u64) {
        if let Some(c) = self.counts.get_mut(index(micros)) {
            *c += 1;
        }
        self.total += 1;
        self.max = self.max.max(micros);
        self.sum += u128::from(micros);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    /// How many values.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The mean, 0 when empty.
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at quantile `q` (0..=1), 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        if rank >= self.total {
            return self.max;
        }
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return lower_bound(i).min(self.max);
            }
        }
        self.max
    }
}

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl From<&Histogram> for Latency {
    fn from(h: &Histogram) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            p50: ms(h.quantile(0.5)),
            p90: ms(h.quantile(0.9)),
            p99: ms(h.quantile(0.99)),
            p999: ms(h.quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// The live-mode report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// The scenario.
    pub scenario: String,
    /// The arrival process.
    pub arrival: String,
    /// Requests per second asked for.
    pub offered_rate: f64,
    /// Responses per second, from the start to the last response.
    pub achieved_rate: f64,
    /// Planned run length, seconds.
    pub duration_secs: f64,
    /// Wall time from the start to the last response, seconds.
    pub elapsed_secs: f64,
    /// Requests the schedule held.
    pub scheduled: u64,
    /// Requests written to a connection.
    pub sent: u64,
    /// Responses received.
    pub completed: u64,
    /// Requests that got no response (connection errors).
    pub transport_errors: u64,
    /// Responses by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Failed responses by AWS error code (`__type` without its namespace).
    pub by_error: BTreeMap<String, u64>,
    /// Successful calls by operation.
    pub by_operation: BTreeMap<String, u64>,
    /// Latency from each request's intended send time to its full response (no coordinated omission).
    pub latency_ms: Latency,
    /// Whether Ctrl-C ended the run early.
    pub interrupted: bool,
    /// The errors the scenario meant to meet, by code: its planned mistakes that were sent and
    /// the `Describe*` calls of workflows confirming a deletion. `by_error` beyond these counts
    /// is what the scenario did not intend.
    pub planned_errors: BTreeMap<String, u64>,
    /// Errors by code beyond those the scenario planned (see [`unplanned`]).
    pub unplanned_errors: BTreeMap<String, u64>,
    /// Calls of the setup phase (not counted above).
    pub setup_calls: u64,
    /// Resources ACTIVE when the timed run started, made or adopted by the setup phase.
    pub setup_present: u64,
    /// Of those, how many an earlier run had made.
    pub setup_adopted: u64,
    /// The setup phase's wall time, seconds.
    pub setup_secs: f64,
}

/// Errors by code in `by_error` beyond their count in `planned`.
pub fn unplanned(by_error: &BTreeMap<String, u64>, planned: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    by_error
        .iter()
        .filter_map(|(code, n)| {
            let extra = n.saturating_sub(planned.get(code).copied().unwrap_or(0));
            (extra > 0).then(|| (code.clone(), extra))
        })
        .collect()
}

impl Report {
    /// The human-readable form.
    pub fn text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "scenario {} ({} arrivals)\n",
            self.scenario, self.arrival
        ));
        s.push_str(&format!(
            "offered  {:>10.1} req/s over {:.1} s ({} scheduled)\n",
            self.offered_rate, self.duration_secs, self.scheduled
        ));
        let diff = if self.offered_rate > 0.0 {
            (self.achieved_rate / self.offered_rate - 1.0) * 100.0
        } else {
            0.0
        };
        s.push_str(&format!(
            "achieved {:>10.1} req/s ({:+.2} %), {} sent, {} completed in {:.2} s{}\n",
            self.achieved_rate,
            diff,
            self.sent,
            self.completed,
            self.elapsed_secs,
            if self.interrupted { " (interrupted)" } else { "" }
        ));
        if self.setup_calls > 0 {
            s.push_str(&format!(
                "setup    {} resources ACTIVE before the run ({} adopted), {} calls in {:.1} s, not counted above\n",
                self.setup_present, self.setup_adopted, self.setup_calls, self.setup_secs
            ));
        }
        if self.transport_errors > 0 {
            s.push_str(&format!("transport errors {}\n", self.transport_errors));
        }
        let statuses: Vec<String> = self.by_status.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        s.push_str(&format!("status   {}\n", statuses.join(", ")));
        if !self.by_error.is_empty() {
            s.push_str("errors\n");
            for (k, v) in &self.by_error {
                let planned = self.planned_errors.get(k).copied().unwrap_or(0);
                s.push_str(&format!("  {k:<40} {v:>8}  ({} planned)\n", planned.min(*v)));
            }
        }
        let l = &self.latency_ms;
        s.push_str(&format!(
            "latency  p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms  mean {:.3} ms\n",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_close() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (q, want) in [(0.5, 50_000.0), (0.9, 90_000.0), (0.99, 99_000.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.02, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.max(), 100_000);
        assert_eq!(h.quantile(1.0), 100_000);
        let mut g = Histogram::default();
        g.record(3);
        g.merge(&h);
        assert_eq!(g.count(), 100_001);
        assert_eq!(Histogram::default().quantile(0.5), 0);
        for v in [0, 1, 63, 64, 65, 1000, u64::MAX / 2] {
            assert!(lower_bound(index(v)) <= v);
        }
    }
}
