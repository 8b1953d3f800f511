//! Cancellation: a SIGINT or SIGTERM, or the run's overall time bound, asks the run to stop.
//! Terraform is then interrupted once (it stops, writes state and releases its lock), and
//! the run ends as cancelled. A second signal (GitHub's runner sends SIGTERM 7.5 s after
//! its SIGINT, and kills the process tree 2.5 s later) ends the waiting: the run reports
//! and exits while Terraform goes on stopping on its own.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::output;

/// A shared request to stop, with the reason it was made.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    token: CancellationToken,
    /// Fired by a second signal: stop waiting for anything, report and exit.
    urgent: CancellationToken,
    reason: Arc<OnceLock<String>>,
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop; the first reason given is the one kept.
    pub fn cancel(&self, reason: impl Into<String>) {
        let reason = reason.into();
        if self.reason.set(reason.clone()).is_ok() {
            output::log(&format!("{reason}: stopping (Terraform is interrupted and given time to stop cleanly)"));
        }
        self.token.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when the run is asked to stop.
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// Completes on a second signal: the run must report and exit now.
    pub async fn urgent(&self) {
        self.urgent.cancelled().await;
    }

    /// Waits `wait`, or less if the run is asked to stop meanwhile: `false` then.
    pub async fn sleep(&self, wait: Duration) -> bool {
        tokio::select! {
            biased;
            () = self.cancelled() => false,
            () = tokio::time::sleep(wait) => true,
        }
    }

    /// Why the run was asked to stop (`received SIGTERM`, `the run took longer than 1h`).
    pub fn reason(&self) -> String {
        self.reason.get().cloned().unwrap_or_else(|| "cancelled".to_owned())
    }

    /// Cancels on SIGINT or SIGTERM. Call inside the runtime.
    pub fn on_signals(&self) {
        use tokio::signal::unix::{SignalKind, signal};
        for (kind, name) in [(SignalKind::interrupt(), "SIGINT"), (SignalKind::terminate(), "SIGTERM")] {
            match signal(kind) {
                Ok(mut stream) => {
                    let cancel = self.clone();
                    tokio::spawn(async move {
                        while stream.recv().await.is_some() {
                            if cancel.is_cancelled() {
                                output::log(&format!("received {name} again: reporting and exiting now"));
                                cancel.urgent.cancel();
                            } else {
                                cancel.cancel(format!("received {name}"));
                            }
                        }
                    });
                }
                Err(e) => output::log(&format!("warning: can't listen for {name}: {e}")),
            }
        }
    }

    /// Cancels once `bound` has passed (`terraform.run_timeout`). Call inside the runtime.
    pub fn after(&self, bound: Duration) {
        let cancel = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(bound).await;
            cancel.cancel(format!(
                "the run took longer than its bound of {}s (`terraform.run_timeout`)",
                bound.as_secs()
            ));
        });
    }
}
