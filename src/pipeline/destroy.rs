//! The one destroy path. Every way a target's resources are destroyed (offboarding with
//! `destroy`, a deleted tenant file or an environment dropped from one, expiry with
//! `reap`, a local `plan --destroy`) plans from the configuration last applied and applies
//! one rule: a component of a `protect_destroy` type is destroyed only when that applied
//! configuration says `allow_destroy: true` on it. Removing a protected component from a
//! file (a partial destroy) meets the same rule, with the same text and hint.

use super::Request;
use super::admit::LastApplied;
use super::prepare::Validated;
use super::previous::Previous;
use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::error::CommandError;
use crate::identity::{Sha, Target, owner_flag};
use crate::refusal::Refusal;
use crate::store::Store;
use crate::variables::v2::{Component, Customer};

/// The request that destroys `target`: at the commit last applied to it (the configuration
/// that made what is in the state). A target never applied has nothing to destroy.
pub async fn request(store: &dyn Store, target: &Target) -> Result<Request, CommandError> {
    let Some(applied) = super::admit::last_applied(store, target).await? else {
        return Err(Refusal::NeverApplied { target: target.clone() }.into());
    };
    Ok(Request::new(target.clone(), applied.sha))
}

/// What the rule says of destroying a whole target.
#[derive(Debug)]
pub enum Verdict {
    Allowed,
    /// The configuration last applied holds protected components that do not allow it,
    /// each at its place in that configuration.
    Protected(Vec<Diagnostic>),
}

/// A destroy plans from the commit last applied: `req` must name it.
pub fn from_last_applied(req: &Request, applied: Option<&LastApplied>) -> Result<(), CommandError> {
    let Some(applied) = applied else { return Err(Refusal::NeverApplied { target: req.target.clone() }.into()) };
    if applied.sha == req.sha {
        return Ok(());
    }
    Err(CommandError::usage(
        format!(
            "a destroy of {} plans from the commit last applied ({}), not {}",
            req.target,
            applied.sha.short(),
            req.sha.short()
        ),
        format!("run `infra-manager destroy {} --env {}`", owner_flag(&req.target.owner), req.target.env),
    ))
}

/// The rule for destroying everything `file` (the configuration applied at `sha`) made.
pub fn verdict(target: &Target, sha: &Sha, file: &Validated) -> Verdict {
    let refused = match file {
        Validated::V1(_) => Vec::new(),
        Validated::V2(previous, catalog) => refusals(target, sha, previous, None, catalog),
    };
    if refused.is_empty() { Verdict::Allowed } else { Verdict::Protected(refused) }
}

/// [`verdict`] as admission: a protected component refuses the destroy at its place, unless
/// the operator allowed it (`destroy --allow-protected`); then what was allowed is returned,
/// for the run's record, and logged.
pub fn allowed(req: &Request, file: &Validated) -> Result<Option<String>, CommandError> {
    match verdict(&req.target, &req.sha, file) {
        Verdict::Allowed => Ok(None),
        Verdict::Protected(refused) if req.allow_protected => {
            let names: Vec<&str> = refused.iter().map(|d| d.message.as_str()).collect();
            let note = format!(
                "operator override (--allow-protected): protected components are destroyed: {}",
                names.join("; ")
            );
            crate::output::log(&format!("warning: {note}"));
            Ok(Some(note))
        }
        Verdict::Protected(refused) => Err(CommandError::Invalid(refused)),
    }
}

/// The configuration last applied can't be read or no longer validates: the rule can't be
/// checked, so the destroy is refused.
pub fn unreadable(target: &Target, sha: &Sha, why: &CommandError) -> CommandError {
    let path = target.owner.file();
    CommandError::usage(
        format!(
            "`{path}` as last applied to {target} at {} can't be used ({}), so its protected components can't be checked",
            sha.short(),
            why.status_line()
        ),
        format!(
            "restore a valid `{path}` and apply it first (`infra-manager history {} --env {}` lists the runs)",
            owner_flag(&target.owner),
            target.env
        ),
    )
}

/// A plan that removes components: those of the configuration last applied (`previous`)
/// that `current` no longer has must pass the rule. A v1 file there has no components,
/// nothing to protect; a file that is gone or no longer validates is an error: the rule
/// can't be checked against it.
pub(super) fn check_removals(
    target: &Target,
    previous: &Previous,
    current: &Customer,
    catalog: &Catalog,
) -> Result<(), CommandError> {
    let Previous::At(sha, file) = previous else { return Ok(()) };
    let refused = match file {
        Ok(Validated::V1(_)) => return Ok(()),
        Ok(Validated::V2(previous, _)) => refusals(target, sha, previous, Some(current), catalog),
        Err(e) => return Err(unreadable(target, sha, e)),
    };
    if refused.is_empty() { Ok(()) } else { Err(CommandError::Invalid(refused)) }
}

/// The rule: each component of `previous` (the configuration applied at `sha`) of a
/// protected type, without `allow_destroy: true`, that `current` does not keep (`None`:
/// nothing is kept), at its place in `previous`.
pub fn refusals(
    target: &Target,
    sha: &Sha,
    previous: &Customer,
    current: Option<&Customer>,
    catalog: &Catalog,
) -> Vec<Diagnostic> {
    let path = target.owner.file();
    protected(previous, catalog)
        .filter(|p| {
            current.is_none_or(|c| !c.components.iter().any(|k| k.name == p.name && k.type_name == p.type_name))
        })
        .map(|p| Diagnostic {
            file: path.clone(),
            line: p.at.line,
            column: p.at.column,
            message: format!(
                "component `{}` (type `{}`, protected) would be destroyed, but the configuration applied to {} at {} does not allow its destruction",
                p.name,
                p.type_name,
                target,
                sha.short()
            ),
            hint: Some(format!(
                "destroying a protected component takes two reviewed changes: first set `allow_destroy: true` on `{}` and apply that, then remove it (the line and column are in `{path}` as applied at {})",
                p.name,
                sha.short()
            )),
        })
        .collect()
}

/// The components of `file` whose type is protected (`protect_destroy`) and that do not
/// carry `allow_destroy: true`: what may not be destroyed yet.
pub fn protected<'a>(file: &'a Customer, catalog: &'a Catalog) -> impl Iterator<Item = &'a Component> {
    file.components.iter().filter(|p| !p.allow_destroy && catalog.get(&p.type_name).is_some_and(|t| t.protect_destroy))
}

#[cfg(test)]
mod tests {
    use crate::codehost::StatusState;
    use crate::error::ExitStatus;
    use crate::pipeline::Request;
    use crate::pipeline::apply::{Mode, apply};
    use crate::pipeline::plan::{plan, plan_kind};
    use crate::pipeline::testing::{Harness, SHA};
    use crate::terraform::PlanKind;

    /// A deleted tenant's destroy plans the commit last applied but reports on the commit
    /// it is about (the pushed deletion), where a backend polls.
    #[tokio::test]
    async fn a_destroy_reports_on_the_commit_it_is_about() {
        let h = Harness::new();
        plan(&h.deps(), &h.request()).await.expect("planned");
        apply(&h.deps(), &h.request(), Mode::Apply).await.expect("applied");
        let before = h.host.statuses_of(SHA).len();
        let deletion = crate::identity::Sha::parse(&"9".repeat(40)).expect("sha");
        let req = Request { report_to: Some(deletion.clone()), pull_request: None, ..h.request() };
        plan_kind(&h.deps(), &req, PlanKind::Destroy).await.expect("destroy planned");
        let states: Vec<StatusState> = h.host.statuses_of(deletion.as_str()).iter().map(|s| s.state).collect();
        assert_eq!(states, [StatusState::Success]);
        assert_eq!(h.host.statuses_of(SHA).len(), before, "nothing on the commit last applied");
    }

    /// A destroy plans only from the commit last applied, and never for a target that
    /// was never applied: refused before anything is written.
    #[tokio::test]
    async fn a_destroy_plans_only_from_the_commit_last_applied() {
        let h = Harness::new();
        let error = plan_kind(&h.deps(), &h.request(), PlanKind::Destroy).await.expect_err("never applied");
        assert_eq!(error.exit_status(), ExitStatus::Usage);
        assert!(h.host.states().is_empty() && h.terraform.calls().is_empty(), "nothing written, nothing run");
        plan(&h.deps(), &h.request()).await.expect("planned");
        apply(&h.deps(), &h.request(), Mode::Apply).await.expect("applied");
        let other = Request { sha: crate::identity::Sha::parse(&"2".repeat(40)).expect("sha"), ..h.request() };
        let statuses = h.host.states().len();
        let error = plan_kind(&h.deps(), &other, PlanKind::Destroy).await.expect_err("not the commit last applied");
        assert!(error.to_string().contains("plans from the commit last applied"), "{error}");
        assert_eq!(h.host.states().len(), statuses, "refused before any status");
    }
}
