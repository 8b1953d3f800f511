//! `dispatch`: the customer side, sending the `repository_dispatch` for this workflow run's
//! `pull_request`, `push` or `merge_group` event to the manager repository.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use super::target::set_outputs;
use crate::cli::DispatchArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::event;
use crate::oidc;
use crate::output;

/// What was sent, as `--json` prints it; nothing at all for an event that needs no run.
#[derive(Debug, Serialize)]
pub struct Dispatched {
    pub customer: Option<String>,
    pub sha: Option<String>,
    /// `infra-plan` or `infra-apply`; `null` when nothing was sent.
    pub event_type: Option<&'static str>,
}

/// Text mode prints nothing on stdout; what was sent goes to the log.
impl fmt::Display for Dispatched {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl Outcome for Dispatched {}

pub async fn run(ctx: &Context<'_>, args: &DispatchArgs) -> Result<Dispatched, CommandError> {
    let runner = &ctx.settings.runner;
    let (Some(name), Some(path)) = (&runner.event_name, &runner.event_path) else {
        return Err(CommandError::usage(
            "no GITHUB_EVENT_NAME / GITHUB_EVENT_PATH: not running in GitHub Actions",
            "run this from the customer's trigger workflow",
        ));
    };
    let outgoing = event::outgoing(name, &event::read(path)?).map_err(|e| {
        CommandError::usage(
            e.to_string(),
            "the trigger workflow runs on `pull_request`, `push` and `merge_group` events",
        )
    })?;
    let Some(mut outgoing) = outgoing else {
        output::log(&format!("nothing to dispatch for this `{name}` event"));
        return Ok(Dispatched { customer: None, sha: None, event_type: None });
    };
    // With `id-token: write`, the dispatch carries proof of where it comes from: an OIDC
    // token for the manager repository, which verifies it when the registry requires it.
    if let Some(request) = &runner.id_token_request {
        let token = oidc::request_id_token(&request.url, request.token(), &args.manager_repo).await?;
        crate::actions::add_mask_if(&mut std::io::stderr(), &token, runner.in_actions);
        outgoing.client_payload["oidc_token"] = serde_json::Value::String(token);
    }
    let sent = Dispatched {
        customer: outgoing.client_payload["repository"].as_str().map(str::to_owned),
        sha: outgoing.client_payload["sha"].as_str().map(str::to_owned),
        event_type: Some(outgoing.event_type),
    };
    ctx.github().await?.send_dispatch(&args.manager_repo, outgoing.event_type, outgoing.client_payload).await?;
    output::log(&format!("sent `{}` to {}", outgoing.event_type, args.manager_repo));
    set_outputs(runner.output.as_deref(), &[("event_type", outgoing.event_type.to_owned())]);
    Ok(sent)
}
