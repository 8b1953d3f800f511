//! The GitHub API budget of a run (issue 23 item 4): every call counted, the calls that
//! create or change content (statuses, comments, check runs, issues, dispatches: every
//! `POST` and `PATCH` but the App's token exchange) counted apart, and those paced under
//! GitHub's secondary rate limit.
//!
//! **Counting.** The client counts each request it sends (each attempt: a retry is a call
//! to GitHub too) into the [`Usage`] of every [`tallied`] scope the call runs in: the
//! whole run's (`app::run`) and, in a fleet run, its target's (`fleet::each`), so a
//! target's run record holds that target's calls ([`so_far`]) and the step summary the
//! run's. A scope is task-local: calls made from a spawned task would not be counted (the
//! client is never called from one).
//!
//! **Pacing.** GitHub allows at most 80 content-creating requests a minute and 500 an
//! hour. [`Pacer`] holds two token buckets, one per window, shared by all of a process's
//! targets (one client per process); a creating call takes a token from both, waiting when
//! either is empty. A bucket of `burst` tokens refilled one per `every` lets through at most
//! `burst + window / every` in any window, so the sizes keep each window at its limit:
//! 20 + 60 s / 1 s = 80 a minute, and 100 + 3600 s / 9 s = 500 an hour. GitHub's own
//! secondary-limit answers are still honoured by the retry policy (`retry`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Calls to GitHub, and how many of them created or changed content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub calls: u64,
    /// `POST`s and `PATCH`es that create or change content (the paced ones).
    pub writes: u64,
}

impl Usage {
    /// `3 GitHub API calls (1 creating content)`, and `, 0.5 per target` over `targets`.
    pub fn line(self, targets: Option<usize>) -> String {
        let plural = if self.calls == 1 { "" } else { "s" };
        let mut line = format!("{} GitHub API call{plural} ({} creating content)", self.calls, self.writes);
        if let Some(targets) = targets.filter(|n| *n > 0) {
            // Counts far below 2^52: exact as f64.
            #[allow(clippy::cast_precision_loss)]
            let per = self.calls as f64 / targets as f64;
            line.push_str(&format!(", {per:.2} per target over {targets}"));
        }
        line
    }
}

impl std::ops::Add for Usage {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self { calls: self.calls + other.calls, writes: self.writes + other.writes }
    }
}

/// One scope's counts, and the scope it runs inside (which counts them too).
#[derive(Debug, Default)]
struct Tally {
    calls: AtomicU64,
    writes: AtomicU64,
    outer: Option<Arc<Tally>>,
}

tokio::task_local! {
    static TALLY: Arc<Tally>;
}

/// Runs `work` in a scope of its own: the calls it makes are counted there, and in every
/// scope it runs inside. Returns its output and what it used.
pub async fn tallied<F: Future>(work: F) -> (F::Output, Usage) {
    let outer = TALLY.try_with(Arc::clone).ok();
    let tally = Arc::new(Tally { outer, ..Tally::default() });
    let output = TALLY.scope(Arc::clone(&tally), work).await;
    (output, usage(&tally))
}

/// What the innermost scope used so far (nothing outside any).
pub fn so_far() -> Usage {
    TALLY.try_with(|tally| usage(tally)).unwrap_or_default()
}

fn usage(tally: &Tally) -> Usage {
    Usage { calls: tally.calls.load(Ordering::Relaxed), writes: tally.writes.load(Ordering::Relaxed) }
}

/// Counts one request in every scope it runs in.
pub(super) fn count(creates: bool) {
    let _ = TALLY.try_with(|tally| {
        let mut scope = Some(tally);
        while let Some(t) = scope {
            t.calls.fetch_add(1, Ordering::Relaxed);
            if creates {
                t.writes.fetch_add(1, Ordering::Relaxed);
            }
            scope = t.outer.as_ref();
        }
    });
}

/// A token bucket: `burst` tokens at most, one more every `every`.
#[derive(Debug)]
struct Bucket {
    burst: f64,
    every: Duration,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(burst: u32, every: Duration, now: Instant) -> Self {
        Self { burst: f64::from(burst), every, tokens: f64::from(burst), last: now }
    }

    fn refill(&mut self, now: Instant) {
        let earned = now.saturating_duration_since(self.last).as_secs_f64() / self.every.as_secs_f64();
        self.tokens = (self.tokens + earned).min(self.burst);
        self.last = now;
    }

    /// How long until a whole token is there.
    fn wait(&self) -> Duration {
        if self.tokens >= 1.0 { Duration::ZERO } else { self.every.mul_f64(1.0 - self.tokens) }
    }
}

/// GitHub's secondary limit on content creation, as two token buckets (see the module).
#[derive(Debug)]
pub(crate) struct Pacer {
    buckets: tokio::sync::Mutex<[Bucket; 2]>,
}

impl Pacer {
    /// 80 a minute and 500 an hour, in any window.
    pub(crate) fn github() -> Self {
        let now = Instant::now();
        Self {
            buckets: tokio::sync::Mutex::new([
                Bucket::new(20, Duration::from_secs(1), now),
                Bucket::new(100, Duration::from_secs(9), now),
            ]),
        }
    }

    /// Takes a token from both buckets, waiting until there is one; returns how long it
    /// waited. Waiters are served in turn (the lock is fair and held while waiting).
    pub(crate) async fn take(&self) -> Duration {
        let started = Instant::now();
        let mut buckets = self.buckets.lock().await;
        loop {
            let now = Instant::now();
            let mut wait = Duration::ZERO;
            for bucket in buckets.iter_mut() {
                bucket.refill(now);
                wait = wait.max(bucket.wait());
            }
            if wait.is_zero() {
                for bucket in buckets.iter_mut() {
                    bucket.tokens -= 1.0;
                }
                return started.elapsed();
            }
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `n` tokens; returns when each was granted, from the start.
    async fn grants(pacer: &Pacer, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let mut at = Vec::with_capacity(n);
        for _ in 0..n {
            pacer.take().await;
            at.push(start.elapsed());
        }
        at
    }

    /// The most grants in any `window`, both ends included (grants sorted).
    fn most_in(grants: &[Duration], window: Duration) -> usize {
        let within = |i: usize| grants[i..].iter().take_while(|u| **u <= grants[i] + window).count();
        (0..grants.len()).map(within).max().unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_one_a_second() {
        let pacer = Pacer::github();
        let at = grants(&pacer, 23).await;
        assert!(at[..20].iter().all(Duration::is_zero), "{at:?}");
        assert_eq!(at[20..], [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(3)]);
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_80_in_a_minute_nor_500_in_an_hour() {
        let pacer = Pacer::github();
        let at = grants(&pacer, 700).await;
        assert_eq!(most_in(&at, Duration::from_secs(60)), 80);
        assert_eq!(most_in(&at, Duration::from_secs(3600)), 500);
        // The hour's tokens run out after 100 + what 9 s each brought back.
        assert!(at[699] > Duration::from_secs(3600), "{:?}", at[699]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_buckets_fill_again_while_nothing_is_created() {
        let pacer = Pacer::github();
        grants(&pacer, 20).await;
        tokio::time::advance(Duration::from_secs(20)).await;
        let at = grants(&pacer, 20).await;
        assert!(at.iter().all(Duration::is_zero), "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn targets_share_one_pacer_and_are_served_in_turn() {
        let pacer = Arc::new(Pacer::github());
        grants(&pacer, 20).await;
        let start = Instant::now();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let pacer = Arc::clone(&pacer);
                tokio::spawn(async move { pacer.take().await })
            })
            .collect();
        let mut waited = Vec::new();
        for w in waiters {
            waited.push(w.await.expect("joined"));
        }
        waited.sort();
        assert_eq!(waited, [1, 2, 3].map(Duration::from_secs));
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test]
    async fn calls_count_in_their_scope_and_every_scope_around_it() {
        let (((), inner), run) = tallied(async {
            count(false);
            tallied(async {
                count(true);
                count(false);
                assert_eq!(so_far(), Usage { calls: 2, writes: 1 });
            })
            .await
        })
        .await;
        assert_eq!(inner, Usage { calls: 2, writes: 1 });
        assert_eq!(run, Usage { calls: 3, writes: 1 });
        count(true);
        assert_eq!(so_far(), Usage::default(), "outside any scope nothing is counted");
    }

    #[test]
    fn the_line_says_calls_writes_and_calls_per_target() {
        let usage = Usage { calls: 3, writes: 1 };
        assert_eq!(usage.line(None), "3 GitHub API calls (1 creating content)");
        assert_eq!(usage.line(Some(4)), "3 GitHub API calls (1 creating content), 0.75 per target over 4");
        assert_eq!(Usage { calls: 1, writes: 0 }.line(Some(0)), "1 GitHub API call (0 creating content)");
    }
}
