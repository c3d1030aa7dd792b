//! The long run's tail attribution: the emulator's threads sampled every 20 ms (on-CPU and
//! run-queue time from `/proc/<pid>/task/*/schedstat`), and the p99 of requests sent while the
//! delivery threads were working set beside the p99 of the rest.

use super::*;

/// CPU accounting of one process's threads, grouped by kind, sampled over time.
pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Vec<Sample>>,
}

/// Cumulative nanoseconds at one instant (from the phase start).
#[derive(Clone, Copy, Default)]
pub(crate) struct Sample {
    at_us: u64,
    /// On-CPU time of the threads that compress and write log files (`ct-compress-*`).
    delivery_run: u64,
    /// On-CPU time of the tokio workers.
    tokio_run: u64,
    /// Time the tokio workers were runnable but waiting for a CPU.
    tokio_wait: u64,
    /// Machine-wide busy time (all CPUs, from /proc/stat), in nanoseconds.
    machine_busy: u64,
}

pub(crate) fn sample(pid: u32, start: Instant) -> Sample {
    let mut s = Sample {
        at_us: start.elapsed().as_micros() as u64,
        ..Sample::default()
    };
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let dir = t.path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            let stat = std::fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
            let mut f = stat.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
            let (run, wait) = (f.next().unwrap_or(0), f.next().unwrap_or(0));
            if comm.starts_with("ct-compress") {
                s.delivery_run += run;
            } else if comm.starts_with("tokio-rt-worker") {
                s.tokio_run += run;
                s.tokio_wait += wait;
            }
        }
    }
    s.machine_busy = machine_busy_ns();
    s
}

impl Sampler {
    pub(crate) fn start(pid: u32, start: Instant) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut out = Vec::new();
            let mut next = start;
            while !flag.load(Ordering::Relaxed) {
                out.push(sample(pid, start));
                next += WINDOW;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            out
        });
        Sampler { stop, handle }
    }

    pub(crate) fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

/// Splits the run into the sampler's windows and compares the latency of requests sent while
/// the delivery threads were busy with the rest.
pub(crate) fn attribute_tail(stats: &Stats, samples: &[Sample], timeline: Option<&str>) {
    if samples.len() < 2 {
        return;
    }
    let mut busy_lat = Vec::new();
    let mut quiet_lat = Vec::new();
    let mut csv = String::from(
        "window_start_ms,requests,p99_ms,max_ms,delivery_cpu_ms,tokio_cpu_ms,tokio_runqueue_wait_ms,machine_busy_ms\n",
    );
    let mut k = 0;
    let (mut busy_windows, mut windows) = (0, 0);
    let mut wait_busy = 0u64;
    let mut wait_quiet = 0u64;
    for w in samples.windows(2) {
        let (a, b) = (w[0], w[1]);
        let delivery = b.delivery_run.saturating_sub(a.delivery_run);
        let tokio_wait = b.tokio_wait.saturating_sub(a.tokio_wait);
        let mut lat = Vec::new();
        while k < stats.samples.len() && u64::from(stats.samples[k].0) < b.at_us {
            if u64::from(stats.samples[k].0) >= a.at_us {
                lat.push(stats.samples[k].1);
            }
            k += 1;
        }
        lat.sort_unstable();
        // Delivery counts as busy in a window once its threads ran for a millisecond of it.
        let busy = delivery >= 1_000_000;
        windows += 1;
        if busy {
            busy_windows += 1;
            busy_lat.extend_from_slice(&lat);
            wait_busy += tokio_wait;
        } else {
            quiet_lat.extend_from_slice(&lat);
            wait_quiet += tokio_wait;
        }
        csv.push_str(&format!(
            "{:.0},{},{:.3},{:.3},{:.2},{:.2},{:.2},{:.1}\n",
            a.at_us as f64 / 1000.0,
            lat.len(),
            percentile(&lat, 0.99),
            percentile(&lat, 1.0),
            delivery as f64 / 1e6,
            b.tokio_run.saturating_sub(a.tokio_run) as f64 / 1e6,
            tokio_wait as f64 / 1e6,
            b.machine_busy.saturating_sub(a.machine_busy) as f64 / 1e6,
        ));
    }
    busy_lat.sort_unstable();
    quiet_lat.sort_unstable();
    let quiet_windows = windows - busy_windows;
    println!(
        "  tail attribution ({} ms windows): log files being compressed and written in {busy_windows} of {windows} windows",
        WINDOW.as_millis()
    );
    for (label, lat, wait, windows) in [
        ("while delivery ran:", &busy_lat, wait_busy, busy_windows),
        ("otherwise:", &quiet_lat, wait_quiet, quiet_windows),
    ] {
        println!(
            "    requests sent {label:<19} {:>7}  p50 {:.3} ms  p99 {:.3} ms  tokio run-queue wait {:.2} ms/window",
            lat.len(),
            percentile(lat, 0.5),
            percentile(lat, 0.99),
            wait as f64 / 1e6 / windows.max(1) as f64
        );
    }
    let first = samples.first().copied().unwrap_or_default();
    let last = samples.last().copied().unwrap_or_default();
    let secs = (last.at_us - first.at_us) as f64 / 1e6;
    println!(
        "    emulator CPU: tokio workers {:.0}% of a core (request handling and the pipeline's own task), \
         compression threads {:.0}%; machine busy {:.0}% of {} cores",
        (last.tokio_run - first.tokio_run) as f64 / 1e7 / secs,
        (last.delivery_run - first.delivery_run) as f64 / 1e7 / secs,
        (last.machine_busy - first.machine_busy) as f64 / 1e7 / secs / cores() as f64,
        cores()
    );
    if let Some(path) = timeline {
        match std::fs::write(path, csv) {
            Ok(()) => println!("    timeline written to {path}"),
            Err(e) => println!("    timeline not written to {path}: {e}"),
        }
    }
}
