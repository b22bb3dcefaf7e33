//! `/metrics` in Prometheus's text format, written by hand from a few atomics: commands by name
//! and code, request latency, group-commit sizes, marketplace pushes by marketplace and outcome,
//! the periodic pulls, and the delivery queue's depth (read from the store at each scrape).

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::Duration,
};

/// Upper bounds of the latency histogram's buckets, in seconds.
const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Upper bounds of the group-size histogram's buckets, in commands.
const GROUP_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// A Prometheus histogram: cumulative buckets are summed when written.
struct Histogram {
    bounds: &'static [f64],
    /// One count per bound, and one past the last (`+Inf`).
    counts: Vec<AtomicU64>,
    /// The sum of the observations, in millionths (of a second, or of a command).
    sum_millionths: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_millionths: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: f64) {
        let index = self
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(self.bounds.len());
        if let Some(count) = self.counts.get(index) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        let millionths = (value * 1e6).round().max(0.0) as u64;
        self.sum_millionths.fetch_add(millionths, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (index, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let le = self
                .bounds
                .get(index)
                .map_or_else(|| "+Inf".to_owned(), f64::to_string);
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_millionths.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
    }
}

/// The server's counters.
pub(crate) struct Metrics {
    /// Answered commands by `(cmd, code)`; `code` is `ok` for a success, `cmd` is `-` for a
    /// request that named none the engine could read.
    commands: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Requests refused for their token.
    unauthenticated: AtomicU64,
    /// Time from a request's arrival to its answer.
    latency: Histogram,
    /// Commands per group commit.
    groups: Histogram,
    /// Marketplace pushes by `(marketplace, outcome)`: `accepted`, `duplicate`, an error code,
    /// and, once processed, `synced` or `sync_failed`.
    webhooks: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Shops synced and failed by the periodic pull, and notices it retried.
    pulls: Mutex<BTreeMap<&'static str, u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            commands: Mutex::default(),
            unauthenticated: AtomicU64::new(0),
            latency: Histogram::new(LATENCY_BUCKETS_SECONDS),
            groups: Histogram::new(GROUP_BUCKETS),
            webhooks: Mutex::default(),
            pulls: Mutex::default(),
        }
    }
}

impl Metrics {
    pub(crate) fn command(&self, cmd: &'static str, code: &'static str) {
        let mut commands = match self.commands.lock() {
            Ok(commands) => commands,
            Err(poisoned) => poisoned.into_inner(),
        };
        *commands.entry((cmd, code)).or_default() += 1;
    }

    pub(crate) fn webhook(&self, marketplace: &str, outcome: &'static str) {
        let mut webhooks = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        *webhooks
            .entry((marketplace.to_owned(), outcome))
            .or_default() += 1;
    }

    pub(crate) fn pulled(&self, report: &distributary::shops::PullReport) {
        let mut pulls = self.pulls.lock().unwrap_or_else(|p| p.into_inner());
        for (outcome, count) in [
            ("shop_synced", report.shops_synced),
            ("shop_failed", report.shops_failed),
            ("notice_processed", report.notices_processed),
            ("notice_failed", report.notices_failed),
        ] {
            *pulls.entry(outcome).or_default() += count as u64;
        }
    }

    pub(crate) fn unauthenticated(&self) {
        self.unauthenticated.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn latency(&self, elapsed: Duration) {
        self.latency.observe(elapsed.as_secs_f64());
    }

    pub(crate) fn group(&self, commands: usize) {
        self.groups.observe(commands as f64);
    }

    /// The text of `/metrics`; `queued` is the delivery queue's depth, when it could be read.
    pub(crate) fn render(&self, queued: Option<u64>) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP distributary_commands_total Commands answered, by command and code (ok for a success).\n\
             # TYPE distributary_commands_total counter\n",
        );
        let commands = match self.commands.lock() {
            Ok(commands) => commands.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for ((cmd, code), count) in commands {
            let _ = writeln!(
                out,
                "distributary_commands_total{{cmd=\"{cmd}\",code=\"{code}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP distributary_unauthenticated_total Requests refused for their bearer token.\n\
             # TYPE distributary_unauthenticated_total counter\n\
             distributary_unauthenticated_total {}",
            self.unauthenticated.load(Ordering::Relaxed)
        );
        self.latency.write(
            &mut out,
            "distributary_request_duration_seconds",
            "Time from a request's arrival to its answer (after the commit).",
        );
        self.groups.write(
            &mut out,
            "distributary_group_commit_size",
            "Commands committed together in one transaction.",
        );
        out.push_str(
            "# HELP distributary_webhooks_total Marketplace pushes by marketplace and outcome \
             (accepted, duplicate, an error code; then synced or sync_failed).\n\
             # TYPE distributary_webhooks_total counter\n",
        );
        let webhooks = self
            .webhooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for ((marketplace, outcome), count) in webhooks {
            let _ = writeln!(
                out,
                "distributary_webhooks_total{{marketplace=\"{marketplace}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP distributary_pull_total What the periodic pulls did: shops synced or failed, \
             notices retried and processed or failed again.\n\
             # TYPE distributary_pull_total counter\n",
        );
        let pulls = self.pulls.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (outcome, count) in pulls {
            let _ = writeln!(
                out,
                "distributary_pull_total{{outcome=\"{outcome}\"}} {count}"
            );
        }
        if let Some(queued) = queued {
            let _ = writeln!(
                out,
                "# HELP distributary_delivery_queue_depth Pushed orders waiting for delivery.\n\
                 # TYPE distributary_delivery_queue_depth gauge\n\
                 distributary_delivery_queue_depth {queued}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_commands_labelled() {
        let metrics = Metrics::default();
        metrics.group(1);
        metrics.group(3);
        metrics.group(3);
        metrics.group(10_000);
        metrics.command("push", "ok");
        metrics.command("push", "ok");
        metrics.command("push", "insufficient_balance");
        let text = metrics.render(Some(7));
        for line in [
            "distributary_group_commit_size_bucket{le=\"1\"} 1",
            "distributary_group_commit_size_bucket{le=\"2\"} 1",
            "distributary_group_commit_size_bucket{le=\"4\"} 3",
            "distributary_group_commit_size_bucket{le=\"+Inf\"} 4",
            "distributary_group_commit_size_sum 10007",
            "distributary_group_commit_size_count 4",
            "distributary_commands_total{cmd=\"push\",code=\"ok\"} 2",
            "distributary_commands_total{cmd=\"push\",code=\"insufficient_balance\"} 1",
            "distributary_delivery_queue_depth 7",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }
}
