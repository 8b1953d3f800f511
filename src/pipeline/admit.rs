//! Admission: every check that can refuse a run, made once, before the run writes anything
//! anywhere (no record, no status, no Terraform process).
//!
//! [`registered`] is the registry's part (membership, environment enabled and configured):
//! pure, so a dispatch is refused before any GitHub or store call. [`admit`] is the whole
//! admission of a flow: the registry's part, expiry (by the registry or the file), the
//! commit last applied (read once and carried on), the owner's file at the commit, for a
//! plan the file at the commit last applied ([`Previous`]), and the protected-removal rule
//! ([`super::destroy`]). A file that can't be read or does not validate is not a refusal:
//! the run reports it (status, comment, record) like any failure, and never reaches
//! Terraform.

use super::destroy;
use super::prepare::{Validated, fetch, validate};
use super::previous::Previous;
use super::{Deps, Request};
use crate::config::Config;
use crate::error::CommandError;
use crate::identity::{Sha, Target};
use crate::refusal::Refusal;
use crate::registry::Registration;
use crate::store::{RunKind, RunStatus, Store};

/// What a run is for: each intent admits by its own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// A plan a reviewer reads and apply may apply.
    Plan,
    /// A fleet re-plan only to look at (`plan --all`): never stored.
    Preview,
    /// A destroy plan of the configuration last applied.
    Destroy,
    /// The apply of a stored plan.
    Apply,
    /// A drift check of the configuration last applied.
    Drift,
}

/// The target's last successful apply, as the records say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastApplied {
    pub sha: Sha,
    /// When that apply started (plans before it were superseded by it).
    pub started_at: Option<jiff::Timestamp>,
}

/// An admitted run: what admission read, for the run to use instead of reading again.
pub struct Admitted {
    pub last_applied: Option<LastApplied>,
    /// The owner's file at the request's commit, validated; or why it can't be used, for
    /// the run to report. `None` for an apply, which rebuilds from the stored plan's commit
    /// inside the run.
    pub file: Option<Result<Validated, CommandError>>,
    /// A destroy of protected components the operator allowed: what the run's record says.
    pub overridden: Option<String>,
    /// An apply's governance (approver, requester, break-glass reason), for its record.
    pub governance: crate::store::Governance,
    /// A plan's: the configuration last applied, read once for every use.
    pub previous: Option<Previous>,
    /// When the target expires: by the registry, or by its file where the file was read.
    pub expires_at: Option<jiff::Timestamp>,
}

/// The registry's part: the owner is registered, the environment enabled for it and
/// configured. Pure: nothing is read or written.
pub fn registered<'c>(config: &'c Config, target: &Target) -> Result<Registration<'c>, Refusal> {
    let Some(registration) = config.registration(&target.owner) else {
        return Err(Refusal::NotRegistered { owner: target.owner.clone() });
    };
    if !registration.allows(&target.env) {
        let enabled = registration.environments.unwrap_or_default();
        return Err(Refusal::EnvNotEnabled {
            owner: target.owner.clone(),
            env: target.env.clone(),
            enabled: enabled.iter().map(ToString::to_string).collect(),
        });
    }
    if config.environment(&target.env).is_none() {
        return Err(Refusal::UnknownEnv {
            env: target.env.clone(),
            configured: config.environment_names().iter().map(|s| (*s).to_owned()).collect(),
        });
    }
    Ok(registration)
}

/// When `target` expires, by the registry or by its file (a tenant's `spec.expiresAt`).
pub fn expiry(registration: &Registration<'_>, target: &Target, file: Option<&Validated>) -> Option<jiff::Timestamp> {
    let by_file = match file {
        Some(Validated::V2(customer, _)) => customer.expires_at,
        _ => None,
    };
    registration.expiry(&target.env).into_iter().chain(by_file).min()
}

/// The whole admission of a run of `intent` for `req`.
pub async fn admit(deps: &Deps<'_>, req: &Request, intent: Intent) -> Result<Admitted, CommandError> {
    let registration = registered(deps.config, &req.target)?;
    let now = jiff::Timestamp::now();
    let plans = matches!(intent, Intent::Plan | Intent::Preview);
    // An expired environment is only destroyed: planning it again would re-create what
    // expiry ended.
    if plans && let Some(at) = registration.expiry(&req.target.env).filter(|at| *at <= now) {
        return Err(Refusal::Expired { target: req.target.clone(), at: at.to_string() }.into());
    }
    let last_applied = match last_applied(deps.store, &req.target).await {
        Ok(applied) => applied,
        Err(error) => {
            // A store that can't be read can't record the run either: the commit's status
            // says why, so the pull request is not left without one.
            if matches!(intent, Intent::Plan | Intent::Destroy | Intent::Apply) {
                super::frame::report_unrecorded(deps, req, &error).await;
            }
            return Err(error);
        }
    };
    if intent == Intent::Apply {
        let governance = super::governance::gate(deps, req, &registration, now).await?;
        let expires_at = registration.expiry(&req.target.env);
        return Ok(Admitted { last_applied, file: None, overridden: None, governance, previous: None, expires_at });
    }
    if intent == Intent::Destroy {
        destroy::from_last_applied(req, last_applied.as_ref())?;
    }
    let file = match fetch(deps.files, req).await {
        Ok(text) => validate(deps.config, &req.target.owner, &text),
        Err(e) => Err(e),
    };
    let mut overridden = None;
    let mut previous = None;
    if intent == Intent::Destroy {
        // Fails closed: a configuration that can't be read or checked can't show that it
        // allows the destroy.
        match &file {
            Ok(valid) => overridden = destroy::allowed(req, valid)?,
            Err(e) => return Err(destroy::unreadable(&req.target, &req.sha, e)),
        }
    }
    if let Ok(valid) = &file {
        if plans && let Some(at) = expiry(&registration, &req.target, Some(valid)).filter(|at| *at <= now) {
            return Err(Refusal::Expired { target: req.target.clone(), at: at.to_string() }.into());
        }
        if matches!(intent, Intent::Plan | Intent::Destroy) {
            let read = Previous::read(deps, req, last_applied.as_ref()).await;
            if intent == Intent::Plan
                && let Validated::V2(current, catalog) = valid
            {
                destroy::check_removals(&req.target, &read, current, catalog)?;
            }
            previous = Some(read);
        }
    }
    let expires_at = expiry(&registration, &req.target, file.as_ref().ok());
    Ok(Admitted { last_applied, file: Some(file), overridden, governance: Default::default(), previous, expires_at })
}

/// The target's last successful apply, from the run records.
pub async fn last_applied(store: &dyn Store, target: &Target) -> Result<Option<LastApplied>, CommandError> {
    let runs = store.history(&target.owner, Some(&target.env)).await?;
    let Some(run) = runs.into_iter().find(|r| r.kind == RunKind::Apply && r.status == RunStatus::Succeeded) else {
        return Ok(None);
    };
    let sha = Sha::parse(&run.sha).map_err(|e| CommandError::bad_sha(&e))?;
    Ok(Some(LastApplied { sha, started_at: run.started_at.parse().ok() }))
}
