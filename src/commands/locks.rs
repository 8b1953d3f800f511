//! `locks list` and `locks release`: Terraform's state locks on the S3 backend.
//!
//! Releasing is for a lock whose run is gone (a cancelled job, a lost runner): it is refused
//! for a lock younger than `--older-than` unless `--force`, and never deletes a lock that
//! changed since it was read. With `state.backend: local` there are no such locks.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::cli::ReleaseArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::{EnvName, Target};
use crate::store::LockAdmin;
use crate::store::s3::{LockInfo, ReleaseOutcome};

/// The locks held, as `--json` prints them.
#[derive(Debug, Clone, Serialize)]
pub struct LockList {
    pub locks: Vec<HeldLock>,
}

/// One lock, and whether its run is gone.
#[derive(Debug, Clone, Serialize)]
pub struct HeldLock {
    #[serde(flatten)]
    pub lock: LockInfo,
    /// Older than any live run can be (`terraform.run_timeout` + `stop_timeout`): its run
    /// was killed without cleaning up. The next run on the target releases it.
    pub abandoned: bool,
    /// The run that holds it (a workflow run, or a process on a host), from its record.
    pub run: Option<String>,
    /// Whether that run is alive: `false` when it is known to have ended (GitHub says so,
    /// or its process on this host is gone), `null` when that can't be told.
    pub alive: Option<bool>,
}

impl Outcome for LockList {}

/// What `locks release` did, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Released {
    pub customer: String,
    pub environment: String,
    pub result: ReleaseOutcome,
}

impl Outcome for Released {}

/// `locks` needs a store with locks (S3); the local one locks the state file itself.
async fn lock_admin<'c>(ctx: &'c Context<'_>) -> Result<&'c dyn LockAdmin, CommandError> {
    ctx.store().await?.locks().ok_or_else(|| {
        CommandError::usage(
            "`locks` manages Terraform's S3 state locks, but `state.backend` is `local`",
            "the local backend locks the state file itself; set `state.backend: s3` in infra-manager.yml to use `locks`",
        )
    })
}

pub async fn list(ctx: &Context<'_>) -> Result<LockList, CommandError> {
    let abandoned_after = ctx.config().await?.abandoned_after();
    let locks = lock_admin(ctx).await?.list_locks().await?;
    if locks.is_empty() {
        crate::output::log("no state locks held");
    }
    let now = jiff::Timestamp::now();
    let store = ctx.store().await?;
    let identity = crate::pipeline::lock_owner::RunIdentity::current(&ctx.settings.runner);
    let actions = ctx.actions().await;
    let mut held = Vec::new();
    for lock in locks {
        let owner = match (&lock.customer, &lock.environment) {
            (Some(owner), Some(env)) => {
                let target = Target { owner: owner.clone(), env: env.clone() };
                crate::pipeline::lock_owner::owner_of(store, &target, &lock).await
            }
            _ => None,
        };
        let (run, alive) = match &owner {
            Some(record) => {
                let ended = crate::pipeline::lock_owner::ended(actions, &identity, record).await;
                (Some(crate::pipeline::lock_owner::describe(record)), ended.is_some().then_some(false))
            }
            None => (None, None),
        };
        held.push(HeldLock { abandoned: lock.age(now).is_some_and(|age| age > abandoned_after), run, alive, lock });
    }
    Ok(LockList { locks: held })
}

pub async fn release(ctx: &Context<'_>, args: &ReleaseArgs) -> Result<Released, CommandError> {
    // Names are checked before the store is opened, so a crafted one never reaches a key.
    let owner = super::history::owner(&args.owner)?;
    let env = EnvName::parse(&args.env).map_err(|e| CommandError::bad_env(&e))?;
    let target = Target { owner, env };
    let result = lock_admin(ctx).await?.release_lock(&target, args.older_than, args.force).await?;
    Ok(Released { customer: target.owner.to_string(), environment: target.env.to_string(), result })
}

impl fmt::Display for LockList {
    /// One line per lock: subject, operation, holder, since when, Terraform's lock ID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let now = jiff::Timestamp::now();
        for held in &self.locks {
            let abandoned = if held.abandoned { "  (abandoned: older than any live run)" } else { "" };
            let run = match (&held.run, held.alive) {
                (Some(run), Some(false)) => format!("  (run {run}: ended; the next run frees it)"),
                (Some(run), _) => format!("  (run {run})"),
                (None, _) => String::new(),
            };
            writeln!(f, "{}  {}{abandoned}{run}", held.lock.subject(), describe(&held.lock, now))?;
        }
        Ok(())
    }
}

fn describe(lock: &LockInfo, now: jiff::Timestamp) -> String {
    let operation = if lock.operation.is_empty() { "unknown operation" } else { lock.operation.as_str() };
    let who = if lock.who.is_empty() { "unknown" } else { lock.who.as_str() };
    let since = match (lock.created, lock.age(now)) {
        (Some(created), Some(age)) => {
            format!("since {} ({} ago)", created.strftime("%Y-%m-%dT%H:%M:%SZ"), crate::duration::hms(age))
        }
        _ => "since an unknown time".to_owned(),
    };
    format!("{operation}  held by `{who}`  {since}  lock ID `{}`", lock.id)
}

impl fmt::Display for Released {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.result {
            ReleaseOutcome::Released { lock } => {
                writeln!(f, "released the lock on {}: {}", lock.subject(), describe(lock, jiff::Timestamp::now()))
            }
            ReleaseOutcome::NotLocked => {
                writeln!(f, "{} ({}) is not locked; nothing to release", self.customer, self.environment)
            }
        }
    }
}
