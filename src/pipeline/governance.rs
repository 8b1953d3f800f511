//! The apply's governance gate (issue 22), part of its admission: the environment's
//! windows and freezes ([`super::window`]) and its approval rule ([`super::approval`]),
//! checked before anything is written, for customers and tenants alike. What it finds (the
//! approver, the requester, a break-glass reason) goes into the run's record.
//!
//! A refused apply sets the commit's failure status saying who must approve or when the
//! next window opens, and runs no Terraform.

use super::approval::{self, Approved, Place};
use super::window::{self, Closed};
use super::{Deps, Request};
use crate::error::CommandError;
use crate::identity::{Owner, RepoId};
use crate::output;
use crate::refusal::Refusal;
use crate::registry::Registration;
use crate::store::Governance;

/// Checks the apply of `req` against its environment's windows and approval rule at `now`.
pub async fn gate(
    deps: &Deps<'_>,
    req: &Request,
    registration: &Registration<'_>,
    now: jiff::Timestamp,
) -> Result<Governance, CommandError> {
    let mut governance = Governance::default();
    let Some(env) = deps.config.environment(&req.target.env) else { return Ok(governance) };
    let (pulls_repo, manager) = repositories(&req.target.owner, deps.identity.actions.as_ref());
    let place = Place { pulls_repo: pulls_repo.as_ref(), run: manager.as_ref().map(|(repo, id)| (repo, *id)) };
    if let (Some(approvals), Some(repo)) = (deps.approvals, place.pulls_repo) {
        // Best effort: who asked is for the record, not a condition of the apply.
        match approvals.merged_pulls(repo, &req.sha).await {
            Ok(pulls) => governance.requester = pulls.first().map(|p| p.author.clone()).filter(|a| !a.is_empty()),
            Err(e) => output::log(&format!("warning: could not read who requested the change: {e}")),
        }
    }
    let break_glass = req.break_glass.as_deref().map(str::trim).filter(|r| !r.is_empty());
    match window::check(env, registration.tier, now) {
        Ok(()) => {}
        Err(closed) if break_glass.is_none() => {
            return Err(match closed {
                Closed::Frozen { reason, through } => {
                    Refusal::Frozen { env: req.target.env.clone(), reason, through: through.to_string() }
                }
                Closed::Outside { next } => Refusal::OutsideWindow { env: req.target.env.clone(), next },
            }
            .into());
        }
        Err(_) => {
            if env.approval.is_none() {
                return Err(Refusal::BreakGlassWithoutRule { env: req.target.env.clone() }.into());
            }
            governance.break_glass_reason = break_glass.map(str::to_owned);
        }
    }
    if let Some(rule) = &env.approval {
        // A plan shown to differ from the one reviewed needs an approval given after that.
        let shown = match super::reviewed::shown_at(deps.store, &req.target, &req.sha).await {
            Ok(shown) => shown,
            Err(e) => return Err(e.into()),
        };
        match approval::verify(deps.approvals, rule, &place, &req.sha, shown).await? {
            Ok(Approved { approver, source }) => {
                governance.approver = Some(approver);
                governance.approval_source = Some(source);
            }
            Err(missing) => {
                return Err(Refusal::NotApproved {
                    env: req.target.env.clone(),
                    who: rule.who(),
                    reason: missing.reason,
                }
                .into());
            }
        }
    }
    Ok(governance)
}

/// Where `owner`'s approvals are read: the repository whose pull request was merged as the
/// commit (a customer's own; the manager repository for a tenant) and this workflow run of
/// the manager repository (`actions`: `GITHUB_REPOSITORY`, `GITHUB_RUN_ID`, attempt).
fn repositories(owner: &Owner, actions: Option<&(String, u64, u32)>) -> (Option<RepoId>, Option<(RepoId, u64)>) {
    let manager = actions.and_then(|(repo, id, _)| Some((RepoId::parse(repo).ok()?, *id)));
    let pulls_repo = match owner {
        Owner::Customer(repo) => Some(repo.clone()),
        Owner::Tenant(_) => manager.as_ref().map(|(repo, _)| repo.clone()),
    };
    (pulls_repo, manager)
}

/// A governance refusal of a real apply sets the commit's failure status (who must approve,
/// when the next window opens), so the pull request's checks say why nothing was applied.
pub async fn report_refusal<T>(
    deps: &Deps<'_>,
    req: &Request,
    result: Result<T, CommandError>,
) -> Result<T, CommandError> {
    if let Err(error) = &result
        && matches!(
            error.refusal(),
            Some(
                Refusal::NotApproved { .. }
                    | Refusal::Frozen { .. }
                    | Refusal::OutsideWindow { .. }
                    | Refusal::BreakGlassWithoutRule { .. }
            )
        )
    {
        super::frame::report_unrecorded(deps, req, error).await;
    }
    result
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::codehost::{CodeHostError, StatusState};
    use crate::config::{ApprovalRule, Freeze};
    use crate::error::ExitStatus;
    use crate::identity::Sha;
    use crate::pipeline::apply::{Mode, apply};
    use crate::pipeline::approval::{Approvals, MergedPull, Review, RunApproval};
    use crate::pipeline::plan::plan;
    use crate::pipeline::testing::{Harness, SHA};
    use crate::store::{RunKind, Store};

    #[derive(Default)]
    struct FakeApprovals {
        reviews: Mutex<Vec<Review>>,
        runs: Mutex<Vec<RunApproval>>,
    }

    #[async_trait]
    impl Approvals for FakeApprovals {
        async fn merged_pulls(&self, _: &RepoId, _: &Sha) -> Result<Vec<MergedPull>, CodeHostError> {
            Ok(vec![MergedPull { number: 7, author: "paula".into(), head_sha: "h".repeat(40) }])
        }
        async fn reviews(&self, _: &RepoId, _: u64) -> Result<Vec<Review>, CodeHostError> {
            Ok(self.reviews.lock().expect("lock").clone())
        }
        async fn run_approvals(&self, _: &RepoId, _: u64) -> Result<Option<Vec<RunApproval>>, CodeHostError> {
            Ok(Some(self.runs.lock().expect("lock").clone()))
        }
    }

    fn deps<'a>(h: &'a Harness, approvals: &'a FakeApprovals) -> Deps<'a> {
        let identity = crate::pipeline::lock_owner::RunIdentity {
            actions: Some(("p/manager".into(), 99, 1)),
            ..Default::default()
        };
        Deps { approvals: Some(approvals), identity, ..h.deps() }
    }

    fn staging(h: &mut Harness) -> &mut crate::config::EnvironmentConfig {
        &mut h.config.environments.iter_mut().find(|(n, _)| n.as_str() == "staging").expect("staging").1
    }

    async fn apply_record(h: &Harness) -> Option<crate::store::RunRecord> {
        let runs = h.store.records("acme/web", None).await.expect("records");
        runs.into_iter().find(|r| r.kind == RunKind::Apply)
    }

    #[test]
    fn a_tenants_approvals_are_read_in_the_manager_repository_and_a_customers_in_its_own() {
        let actions = ("p/manager".to_owned(), 99, 1);
        let manager = RepoId::parse("p/manager").expect("repo");
        let tenant = Owner::Tenant(crate::identity::TenantName::parse("billing").expect("name"));
        assert_eq!(repositories(&tenant, Some(&actions)), (Some(manager.clone()), Some((manager.clone(), 99))));
        assert_eq!(repositories(&tenant, None), (None, None), "no manager repository: no approval");
        let web = RepoId::parse("acme/web").expect("repo");
        let customer = Owner::Customer(web.clone());
        assert_eq!(repositories(&customer, Some(&actions)), (Some(web), Some((manager, 99))));
    }

    #[tokio::test]
    async fn an_apply_needing_a_review_is_refused_without_one_and_applied_with_one() {
        let mut h = Harness::new();
        staging(&mut h).approval = Some(ApprovalRule::Reviewers(vec!["alice".into()]));
        let fake = FakeApprovals::default();
        plan(&deps(&h, &fake), &h.request()).await.expect("plan");
        // A review by someone else, and one by alice on an older commit: no approval.
        fake.reviews.lock().expect("lock").extend([
            Review {
                login: "mallory".into(),
                state: "APPROVED".into(),
                commit_id: Some("h".repeat(40)),
                submitted_at: None,
            },
            Review {
                login: "alice".into(),
                state: "APPROVED".into(),
                commit_id: Some("o".repeat(40)),
                submitted_at: None,
            },
        ]);
        let error = apply(&deps(&h, &fake), &h.request(), Mode::Apply).await.expect_err("refused");
        assert_eq!(error.exit_status(), ExitStatus::Usage);
        assert!(matches!(error.refusal(), Some(Refusal::NotApproved { .. })), "{error}");
        assert!(!h.terraform.calls().contains(&"apply".to_owned()), "no Terraform apply");
        assert_eq!(h.host.states().last(), Some(&StatusState::Failure));
        assert!(
            h.host.last_description().contains("needs an approval by one of alice"),
            "{}",
            h.host.last_description()
        );
        assert!(apply_record(&h).await.is_none(), "nothing recorded as applied");

        fake.reviews.lock().expect("lock").push(Review {
            login: "alice".into(),
            state: "APPROVED".into(),
            commit_id: Some("h".repeat(40)),
            submitted_at: None,
        });
        let applied = apply(&deps(&h, &fake), &h.request(), Mode::Apply).await.expect("applied");
        assert_eq!(applied.approved_by.as_deref(), Some("alice"));
        assert!(h.host.last_description().contains("; approved by alice"), "{}", h.host.last_description());
        let record = apply_record(&h).await.expect("an apply record");
        assert_eq!(record.governance.approver.as_deref(), Some("alice"));
        assert_eq!(record.governance.approval_source.as_deref(), Some("review:#7"));
        assert_eq!(record.governance.requester.as_deref(), Some("paula"));
        assert!(record.governance.plan_sha256.is_some());
    }

    #[tokio::test]
    async fn an_environment_approval_is_read_from_the_runs_review_history() {
        let mut h = Harness::new();
        staging(&mut h).approval = Some(ApprovalRule::Environment("staging-apply".into()));
        let fake = FakeApprovals::default();
        plan(&deps(&h, &fake), &h.request()).await.expect("plan");
        fake.runs.lock().expect("lock").push(RunApproval {
            login: "carol".into(),
            state: "approved".into(),
            environments: vec!["other".into()],
        });
        let error = apply(&deps(&h, &fake), &h.request(), Mode::Apply).await.expect_err("refused");
        assert!(error.to_string().contains("run 99 has no approved deployment to `staging-apply`"), "{error}");
        fake.runs.lock().expect("lock").push(RunApproval {
            login: "carol".into(),
            state: "approved".into(),
            environments: vec!["staging-apply".into()],
        });
        apply(&deps(&h, &fake), &h.request(), Mode::Apply).await.expect("applied");
        let record = apply_record(&h).await.expect("an apply record");
        assert_eq!(record.governance.approver.as_deref(), Some("carol"));
        assert_eq!(record.governance.approval_source.as_deref(), Some("environment:staging-apply"));
    }

    #[tokio::test]
    async fn a_frozen_environment_refuses_the_apply_but_not_the_plan_and_break_glass_needs_the_approval() {
        let mut h = Harness::new();
        let today = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        staging(&mut h).freezes = vec![Freeze {
            from: today.yesterday().expect("date"),
            to: today.tomorrow().expect("date"),
            reason: "year-end".into(),
            time_zone: jiff::tz::TimeZone::UTC,
            tiers: vec![],
        }];
        let fake = FakeApprovals::default();
        plan(&deps(&h, &fake), &h.request()).await.expect("a plan goes on");
        let error = apply(&deps(&h, &fake), &h.request(), Mode::Apply).await.expect_err("refused");
        assert_eq!(error.exit_status(), ExitStatus::Usage);
        assert!(matches!(error.refusal(), Some(Refusal::Frozen { .. })), "{error}");
        assert!(h.host.last_description().contains("frozen through"), "{}", h.host.last_description());
        assert!(!h.terraform.calls().contains(&"apply".to_owned()));

        let glass = crate::pipeline::Request { break_glass: Some("outage INC-1".into()), ..h.request() };
        let error = apply(&deps(&h, &fake), &glass, Mode::Apply).await.expect_err("no approval rule");
        assert!(matches!(error.refusal(), Some(Refusal::BreakGlassWithoutRule { .. })), "{error}");

        staging(&mut h).approval = Some(ApprovalRule::Reviewers(vec!["alice".into()]));
        let error = apply(&deps(&h, &fake), &glass, Mode::Apply).await.expect_err("not approved");
        assert!(matches!(error.refusal(), Some(Refusal::NotApproved { .. })), "{error}");
        fake.reviews.lock().expect("lock").push(Review {
            login: "alice".into(),
            state: "APPROVED".into(),
            commit_id: Some("h".repeat(40)),
            submitted_at: None,
        });
        apply(&deps(&h, &fake), &glass, Mode::Apply).await.expect("break glass with the approval");
        let record = apply_record(&h).await.expect("an apply record");
        assert_eq!(record.governance.break_glass_reason.as_deref(), Some("outage INC-1"));
        assert_eq!(record.sha, SHA);
    }
}
