//! `destroy`: offboarding. Plans the destruction of everything in a customer environment,
//! from the configuration last applied to it, and stores and shows that plan (destroys
//! first, with a loud warning). Nothing is destroyed here: `apply` applies the stored plan
//! with exactly the checks of any apply, from the manager's protected `<env>-destroy`
//! environment.

use super::plan::{PlanOutcome, planned};
use super::target::{self, Source};
use crate::cli::{DestroyArgs, TargetArgs, Verb};
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::{CustomerId, EnvName, Target};
use crate::pipeline::{Request, destroy_from};
use crate::terraform::PlanKind;

pub async fn run(ctx: &Context<'_>, args: &DestroyArgs) -> Result<PlanOutcome, CommandError> {
    let (req, source) = match &args.source_dir {
        Some(_) => {
            let local = TargetArgs {
                source_dir: args.source_dir.clone(),
                customer: args.customer.clone(),
                env: Some(args.env.clone()),
                sha: None,
            };
            target::request(ctx, &local).await?
        }
        None => (provider_request(ctx, args).await?, Source::Provider),
    };
    planned(ctx, Verb::Destroy, &req, &source, PlanKind::Destroy).await
}

/// The target at the commit last applied to it: the configuration that made what is in the
/// state, which also plans the destroy of an environment since removed from the file.
async fn provider_request(ctx: &Context<'_>, args: &DestroyArgs) -> Result<Request, CommandError> {
    let customer =
        CustomerId::parse(args.customer.as_deref().unwrap_or_default()).map_err(|e| CommandError::bad_customer(&e))?;
    let env = EnvName::parse(&args.env).map_err(|e| CommandError::bad_env(&e))?;
    let target = Target { customer, env };
    crate::pipeline::admit::admit(ctx.config().await?, &target)?;
    let sha = destroy_from(ctx.store().await?, &target).await?;
    Ok(Request { target, sha, pull_request: None })
}
