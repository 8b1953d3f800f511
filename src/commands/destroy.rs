//! `destroy`: offboarding. Plans the destruction of everything in a customer's or a
//! tenant's environment, from the configuration last applied to it, through the one destroy
//! path ([`crate::pipeline::destroy`]: a protected component without `allow_destroy: true`
//! refuses it), and stores and shows that plan (destroys first, with a loud warning).
//! Nothing is destroyed here: `apply` applies the stored plan with exactly the checks of
//! any apply, from the manager's protected `<env>-destroy` environment.

use super::plan::{PlanOutcome, planned};
use super::target;
use crate::cli::{DestroyArgs, Verb};
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::Sha;
use crate::pipeline::{Request, admit, destroy};
use crate::terraform::PlanKind;

pub async fn run(ctx: &Context<'_>, args: &DestroyArgs) -> Result<PlanOutcome, CommandError> {
    // The commit destroyed is the one last applied, set below.
    let (req, source) = target::request(ctx, &target::at_placeholder(&args.target, &args.env)).await?;
    let report_to = args.report_to.as_deref().map(Sha::parse).transpose().map_err(|e| CommandError::bad_sha(&e))?;
    let req = at_last_applied(ctx, &req).await?;
    let req = Request { report_to, allow_protected: args.allow_protected, ..req };
    planned(ctx, Verb::Destroy, &req, &source, PlanKind::Destroy).await
}

/// `req`'s target at the commit last applied to it: the configuration that made what is in
/// the state, which also plans the destroy of an environment since removed from the file.
/// (A local checkout's stand-in commit is its file's digest: the version applied is read
/// back from the history the local host keeps.) The registry is asked first, so an unknown
/// target never reaches the store.
pub(super) async fn at_last_applied(ctx: &Context<'_>, req: &Request) -> Result<Request, CommandError> {
    admit::registered(ctx.config().await?, &req.target)?;
    let mut at = destroy::request(ctx.store().await?, &req.target).await?;
    at.pull_request = req.pull_request;
    Ok(at)
}
