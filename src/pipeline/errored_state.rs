//! Never delete an errored state. When Terraform can't persist the state (the store went
//! away mid-apply), it writes the whole state to `errored.tfstate` in its working
//! directory: the only copy of what exists. The run keeps that directory (a scratch root is
//! renamed `kept-…`, never removed as abandoned), uploads the file to the store as soon as
//! the store answers (within a bound, cut short by a signal), and names both places and the
//! one command that restores it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Deps, Request};
use crate::output;
use crate::workspace::Workspace;

/// Terraform's name for a state it could not persist.
const ERRORED_STATE: &str = "errored.tfstate";

/// How long the upload keeps trying while the store does not answer: three calls' worth
/// (`state.call_timeout`), at most a minute.
fn upload_budget(deps: &Deps<'_>) -> Duration {
    (deps.config.state.s3.call_timeout * 3).min(Duration::from_secs(60))
}

/// Where an errored state was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The working directory, kept (where the restore command runs).
    pub dir: PathBuf,
    /// The copy in the store, when the store took it.
    pub stored: Option<String>,
}

impl Kept {
    /// What the error says: where the state is and how to put it back.
    pub fn message(&self) -> String {
        let stored = self.stored.as_deref().map(|s| format!(" and in the store at `{s}`")).unwrap_or_default();
        format!(
            "Terraform could not save the state: the whole state it holds is kept at `{}`{stored}; restore it with `terraform -chdir={} state push {ERRORED_STATE}` (under the state lock; Terraform refuses a state of another lineage or an older serial)",
            self.dir.join(ERRORED_STATE).display(),
            self.dir.display()
        )
    }
}

/// Keeps `workspace`'s errored state, if Terraform left one.
pub async fn keep(deps: &Deps<'_>, req: &Request, workspace: &Workspace) -> Option<Kept> {
    let path = workspace.path().join(ERRORED_STATE);
    let bytes = std::fs::read(&path).ok()?;
    let dir = deps.work.keep(workspace);
    output::log(&format!("warning: Terraform could not save the state; keeping `{}`", path.display()));
    let started = Instant::now();
    let budget = upload_budget(deps);
    let stored = loop {
        match deps.store.put_errored_state(&req.target, &bytes).await {
            Ok(location) => break Some(location),
            Err(e) if started.elapsed() < budget && !deps.cancel.is_cancelled() => {
                output::log(&format!("warning: can't keep the errored state in the store yet ({e}); trying again"));
                if !deps.cancel.sleep(Duration::from_secs(2)).await {
                    break None;
                }
            }
            Err(e) => {
                output::log(&format!("warning: the errored state stays only at `{}`: {e}", dir.display()));
                break None;
            }
        }
    };
    Some(Kept { dir, stored })
}
