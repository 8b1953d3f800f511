//! The one call the plan pipeline makes after Terraform's plan (and before the plan is
//! stored), for customers and tenants alike; and the one call apply makes to refuse a
//! commit whose plan the policies denied.

use super::{PolicyError, Verdict, evaluate, input, load, plan, request};
use crate::error::CommandError;
use crate::pipeline::prepare::Validated;
use crate::pipeline::{Deps, Request};
use crate::store::governance::PolicyMessage;
use crate::store::{RunKind, RunStatus};
use crate::terraform::PlanKind;

/// The policies' verdict on a plan (`printed`: its `show -json` as Terraform printed it;
/// `None` for a plan read as counts only), with the environment's monthly cost: `Ok` with the
/// warnings (and no denies) when the plan may go on; [`PolicyError::Denied`] with every
/// message when it may not (a policy's deny, or a cost over the tier's `max_monthly_cost`);
/// any failure to read, compile or evaluate a policy fails closed.
pub async fn check(
    deps: &Deps<'_>,
    req: &Request,
    kind: PlanKind,
    printed: Option<&str>,
    file: &Validated,
    previous: Option<&Validated>,
) -> Result<Verdict, CommandError> {
    let started = std::time::Instant::now();
    let policy = &deps.config.policy;
    let tier = deps.config.registration(&req.target.owner).map(|r| r.tier);
    let files = load::set(&policy.dir, tier, req.target.env.as_str())?;
    let cost = cost(deps, req, file, previous);
    let mut verdict = Verdict { cost: cost.as_ref().map(|(change, _)| change.clone()), ..Verdict::default() };
    if let (Some((change, _)), Some(tier)) = (&cost, tier)
        && let Some(max) = deps.config.tiers.get(tier).and_then(|t| t.max_monthly_cost)
        && change.after > max
    {
        verdict.denies.push(PolicyMessage {
            policy: format!("tiers.{tier}.max_monthly_cost"),
            rule: "deny".into(),
            msg: format!("the monthly cost would be {}, over the tier's max_monthly_cost of {max}", change.after),
            component: None,
        });
    }
    if !files.is_empty() {
        let plan = printed.map(plan::document).transpose()?;
        let facts = input::Facts {
            target: &req.target,
            tier,
            run: input::Run { kind, reason: req.destroy_reason },
            file,
            cost: cost.as_ref().map_or(serde_json::Value::Null, |(change, after)| change.input(after)),
            request: request::made_by(deps, req, kind).await?,
            now: jiff::Timestamp::now(),
        };
        let said = evaluate::evaluate(&files, &input::document(&facts, plan), policy.timeout)?;
        verdict.denies.extend(said.denies);
        verdict.warnings.extend(said.warnings);
    }
    for m in verdict.denies.iter().chain(&verdict.warnings) {
        crate::output::log(&format!("policy {}: {}", m.rule, crate::output::neutralise(&m.line())));
    }
    if !files.is_empty() || verdict.cost.is_some() {
        // What governance added to the plan (bench/bench.py `policy` reads this line).
        let micros = started.elapsed().as_micros();
        crate::output::log(&format!("policies and cost: {} file(s) evaluated in {micros} µs", files.len()));
    }
    if verdict.denies.is_empty() { Ok(verdict) } else { Err(PolicyError::Denied { verdict: Box::new(verdict) }.into()) }
}

/// The environment's monthly cost before (`previous`, the configuration last applied) and
/// after (this file); `None` when nothing it uses is priced. A last-applied file that can't
/// be read any more leaves `before` empty: the figure is informative, the limit is on `after`.
fn cost(
    deps: &Deps<'_>,
    req: &Request,
    file: &Validated,
    previous: Option<&Validated>,
) -> Option<(crate::cost::Change, crate::cost::Monthly)> {
    let catalog = &deps.config.catalog;
    let env = req.target.env.as_str();
    let Validated::V2(customer, _) = file else { return None };
    let after = crate::cost::monthly(customer, catalog, env)?;
    let before = match previous {
        Some(Validated::V2(customer, _)) => crate::cost::monthly(customer, catalog, env),
        _ => None,
    };
    Some((crate::cost::Change::new(before.as_ref(), &after), after))
}

/// Refuses the apply of `req.sha` when its newest plan run was denied by policy.
pub async fn refuse_denied(deps: &Deps<'_>, req: &Request) -> Result<(), CommandError> {
    let runs = deps.store.history(&req.target.owner, Some(&req.target.env)).await?;
    let newest_plan =
        runs.iter().find(|r| r.sha == req.sha.as_str() && matches!(r.kind, RunKind::Plan | RunKind::Destroy));
    if let Some(run) = newest_plan
        && run.status == RunStatus::Failed
        && let Some(first) = run.governance.policy_denies.first()
    {
        return Err(PolicyError::NotApplicable { sha: req.sha.to_string(), first: first.line() }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::codehost::StatusState;
    use crate::error::ExitStatus;
    use crate::pipeline::DestroyReason;
    use crate::pipeline::apply::{Mode, apply};
    use crate::pipeline::plan::{plan, plan_kind};
    use crate::pipeline::testing::Harness;
    use crate::terraform::PlanKind;

    fn with_policy(h: &mut Harness, dir: &tempfile::TempDir, text: &str) {
        std::fs::write(dir.path().join("p.rego"), text).expect("write");
        h.config.policy.dir = dir.path().to_path_buf();
    }

    #[tokio::test]
    async fn a_deny_fails_the_plan_is_commented_recorded_never_stored_and_its_apply_refused() {
        let mut h = Harness::new();
        let dir = tempfile::tempdir().expect("tempdir");
        with_policy(
            &mut h,
            &dir,
            "package infra_manager\ndeny contains \"no creates in staging\" if {\n  input.target.environment == \"staging\"\n  some rc in input.plan.resource_changes\n  \"create\" in rc.change.actions\n}\nwarn contains \"be careful\" if { true }\n",
        );
        let error = plan(&h.deps(), &h.request()).await.expect_err("denied");
        assert_eq!(error.exit_status(), ExitStatus::Failure);
        assert!(error.status_line().contains("p.rego: no creates in staging"), "{}", error.status_line());
        assert_eq!(h.host.states(), [StatusState::Failure]);
        let comments = h.host.comments.lock().expect("lock").clone();
        assert_eq!(comments.len(), 1);
        assert!(comments[0].1.contains("Denied by policy") && comments[0].1.contains("`no creates in staging`"));
        assert!(comments[0].1.contains("`be careful`"), "{}", comments[0].1);
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        assert_eq!(runs[0].governance.policy_denies[0].msg, "no creates in staging");
        assert_eq!(runs[0].governance.policy_warnings[0].msg, "be careful");
        let latest = crate::store::Store::latest_plan(&h.store, &h.request().target).await.expect("store");
        assert!(latest.is_none(), "a denied plan is never stored");
        let refused = apply(&h.deps(), &h.request(), Mode::Apply).await.expect_err("refused");
        assert!(refused.to_string().contains("denied by policy"), "{refused}");
        assert_eq!(refused.exit_status(), ExitStatus::Failure);
    }

    #[tokio::test]
    async fn a_warn_passes_and_is_shown_and_recorded() {
        let mut h = Harness::new();
        let dir = tempfile::tempdir().expect("tempdir");
        with_policy(
            &mut h,
            &dir,
            "package infra_manager\nwarn contains {\"msg\": \"check <b>this</b>\", \"component\": \"web\"} if { true }\n",
        );
        let planned = plan(&h.deps(), &h.request()).await.expect("passes");
        assert!(planned.comment.contains("Policy warnings") && planned.comment.contains("`check <b>this</b>`"));
        let runs = crate::store::Store::records(&h.store, "acme/web", None).await.expect("history");
        assert_eq!(runs[0].governance.policy_warnings[0].component.as_deref(), Some("web"));
    }

    /// What a policy reads: the plan's values whole (a sensitive one masked), what the run
    /// is for, and no request for a customer (its repository makes no claims).
    #[tokio::test]
    async fn policies_read_the_plans_values_masked_what_the_run_is_for_and_a_customers_null_request() {
        let mut h = Harness::new();
        h.terraform.set(|s| {
            s.plan_json["resource_changes"][0]["change"] = serde_json::json!({
                "actions": ["create"], "before": null, "after_unknown": {},
                "after": {"input": {"size": 3}, "password": "hunter2"}, "after_sensitive": {"password": true},
            });
        });
        let dir = tempfile::tempdir().expect("tempdir");
        with_policy(
            &mut h,
            &dir,
            "package infra_manager\nwarn contains sprintf(\"%s/%s size=%d password=%s request=%v\", [input.run.kind, input.run.reason, rc.change.after.input.size, rc.change.after.password, input.request]) if {\n  some rc in input.plan.resource_changes\n}\n",
        );
        let said = |planned: crate::pipeline::plan::Planned| planned.policy.warnings[0].msg.clone();
        let planned = plan(&h.deps(), &h.request()).await.expect("passes");
        assert_eq!(said(planned), "plan/change size=3 password=(sensitive) request=null");
        apply(&h.deps(), &h.request(), Mode::Apply).await.expect("applied");
        let offboard = plan_kind(&h.deps(), &h.request(), PlanKind::Destroy).await.expect("destroy planned");
        assert_eq!(said(offboard), "destroy/offboard size=3 password=(sensitive) request=null");
        let expired = crate::pipeline::Request { destroy_reason: DestroyReason::Expiry, ..h.request() };
        let expired = plan_kind(&h.deps(), &expired, PlanKind::Destroy).await.expect("destroy planned");
        assert_eq!(said(expired), "destroy/expiry size=3 password=(sensitive) request=null");
    }

    #[tokio::test]
    async fn a_policy_syntax_error_fails_the_plan_closed_at_its_line() {
        let mut h = Harness::new();
        let dir = tempfile::tempdir().expect("tempdir");
        with_policy(&mut h, &dir, "package infra_manager\n\ndeny contains msg if {\n  msg := \n}\n");
        let error = plan(&h.deps(), &h.request()).await.expect_err("fails closed");
        assert_eq!(error.exit_status(), ExitStatus::Failure);
        assert!(error.to_string().contains("p.rego:4:7"), "{error}");
        assert!(error.status_line().contains("--> p.rego:4:7"), "{}", error.status_line());
        let latest = crate::store::Store::latest_plan(&h.store, &h.request().target).await.expect("store");
        assert!(latest.is_none());
        let comments = h.host.comments.lock().expect("lock").clone();
        assert!(comments[0].1.contains("p.rego"), "{}", comments[0].1);
    }
}
