//! After an apply: every other stored plan of the target (a sibling pull request's, an
//! older push's) was made against the state the apply just changed, so it can't be applied
//! any more. Its commit status says so (`failure`, "superseded by the apply of <sha7>"), so
//! a sibling PR can't be merged on a plan that is no longer true.
//!
//! Best effort: the apply already happened, so a store or host that can't answer is
//! logged, never a failure of the run.

use jiff::Timestamp;

use super::{Deps, Request};
use crate::codehost::{CommitStatus, StatusState};
use crate::identity::Sha;
use crate::output;
use crate::report::status_context;
use crate::store::{PlanMeta, Store, StoreError};

/// How many of the target's newest stored plans are looked at: plans made before the
/// previous apply were already superseded by it.
pub const PLANS_LOOKED_AT: usize = 50;

/// The status description of a superseded plan's commit.
pub fn description(applied: &Sha) -> String {
    format!("superseded by the apply of {}; push again to re-plan", applied.short())
}

/// Marks the commit of every other plan made since the previous apply (and before this one
/// finished) as superseded by `req.sha`'s apply, which finished at `applied_at`.
pub async fn supersede_siblings(deps: &Deps<'_>, req: &Request, since: Option<Timestamp>, applied_at: Timestamp) {
    let siblings = match siblings(deps.store, req, since, applied_at).await {
        Ok(siblings) => siblings,
        Err(e) => {
            output::log(&format!("warning: can't list the other plans of {} to mark them superseded: {e}", req.target));
            return;
        }
    };
    for sha in siblings {
        // A plan whose commit the applied commit contains (the merged pull request's head)
        // is not superseded: what it planned is what was applied.
        match deps.files.contains(&req.target.owner, &req.sha, &sha).await {
            Ok(Some(true)) => continue,
            Ok(_) => {}
            Err(e) => {
                output::log(&format!("warning: can't tell whether {} contains {}: {e}", req.sha.short(), sha.short()))
            }
        }
        let status = CommitStatus {
            state: StatusState::Failure,
            context: status_context(req.target.env.as_str()),
            description: description(&req.sha),
            target_url: deps.run_url.clone(),
        };
        match deps.reporter.set_status(&req.target.owner, &sha, &status).await {
            Ok(()) => output::log(&format!("the plan of {} is superseded by this apply", sha.short())),
            Err(e) => output::log(&format!("warning: can't mark the plan of {} superseded: {e}", sha.short())),
        }
    }
}

async fn siblings(
    store: &dyn Store,
    req: &Request,
    since: Option<Timestamp>,
    applied_at: Timestamp,
) -> Result<Vec<Sha>, StoreError> {
    let plans = store.list_plans(&req.target, PLANS_LOOKED_AT).await?;
    Ok(superseded(&plans, &req.sha, since, applied_at))
}

/// The commits whose plans this apply supersedes: other commits, planned after the previous
/// apply started (older plans were superseded by it, or applied) and before this apply
/// finished (a later plan already saw the new state).
pub fn superseded(plans: &[PlanMeta], applied: &Sha, since: Option<Timestamp>, until: Timestamp) -> Vec<Sha> {
    plans
        .iter()
        .filter(|meta| meta.sha != applied.as_str())
        .filter(|meta| {
            meta.created_at.parse::<Timestamp>().is_ok_and(|at| at < until && since.is_none_or(|since| at > since))
        })
        .filter_map(|meta| Sha::parse(&meta.sha).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(sha: char, created_at: &str) -> PlanMeta {
        PlanMeta {
            plan_sha256: String::new(),
            config_sha256: String::new(),
            ..PlanMeta::example(&sha.to_string().repeat(40), created_at)
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    #[test]
    fn only_other_plans_made_between_the_two_applies_are_superseded() {
        let plans = [
            meta('a', "2026-01-01T10:00:00Z"), // the applied one
            meta('b', "2026-01-01T09:00:00Z"), // a sibling PR's plan
            meta('c', "2026-01-01T07:00:00Z"), // before the previous apply: done with
            meta('d', "2026-01-01T12:00:00Z"), // after this apply: saw the new state
            meta('e', "yesterday"),            // unreadable: left alone
        ];
        let applied = Sha::parse(&"a".repeat(40)).expect("sha");
        let shas = |since| -> Vec<String> {
            superseded(&plans, &applied, since, at("2026-01-01T11:00:00Z"))
                .iter()
                .map(|s| s.short().to_owned())
                .collect()
        };
        assert_eq!(shas(Some(at("2026-01-01T08:00:00Z"))), ["bbbbbbb"]);
        assert_eq!(shas(None), ["bbbbbbb", "ccccccc"], "no previous apply: every earlier plan");
        assert_eq!(description(&applied), "superseded by the apply of aaaaaaa; push again to re-plan");
    }
}
