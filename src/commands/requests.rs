//! `requests list`: the recent provisioning requests (one read of the store's index of
//! requests), newest first, and where each one's change is in each of its environments:
//! the steps `status --request` shows, followed in the manager checkout
//! ([`crate::tenants::follow`]).

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::cli::RequestsListArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::{EnvName, Owner, TenantName};
use crate::report::name_of;
use crate::status::Step;
use crate::store::RunRecord;
use crate::tenants::follow;

/// The requests, as `--json` prints them.
#[derive(Debug, Clone, Serialize)]
pub struct RequestList {
    pub requests: Vec<ListedRequest>,
}

/// One request and where it is.
#[derive(Debug, Clone, Serialize)]
pub struct ListedRequest {
    pub request_id: String,
    pub tenant: String,
    /// `write` or `remove`.
    pub action: String,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub requested_at: String,
    /// Where its commit went, and whether it needs a review.
    pub branch: String,
    pub auto_approved: bool,
    pub run_url: Option<String>,
    /// Per environment of the request (none for a removal).
    pub environments: Vec<Where>,
}

/// Where a request's change is in one environment.
#[derive(Debug, Clone, Serialize)]
pub struct Where {
    pub environment: String,
    /// Its last step; `null` when the manager checkout does not have the request's commit.
    pub current: Option<Step>,
    /// When it reached it.
    pub at: Option<String>,
}

impl Outcome for RequestList {}

pub async fn list(ctx: &Context<'_>, args: &RequestsListArgs) -> Result<RequestList, CommandError> {
    // The name is checked before the store is opened.
    let only = args.tenant.as_deref().map(super::target::tenant_name).transpose()?;
    let store = ctx.store().await?;
    let repo = ctx.manager_repo(&args.repo.repo);
    let scan = crate::store::request::RECENT_REQUESTS;
    let records = store.recent_requests(scan).await?;
    // Each (tenant, environment)'s runs are read once, however many requests it has.
    let mut histories: HashMap<(TenantName, EnvName), Vec<RunRecord>> = HashMap::new();
    let mut requests = Vec::new();
    for record in records {
        let (Some(tenant), sha) = (record.tenant(), record.sha()) else { continue };
        if only.as_ref().is_some_and(|o| o != &tenant) {
            continue;
        }
        if requests.len() == usize::from(args.limit) {
            break;
        }
        let mut environments = Vec::new();
        for env in record.environments() {
            let key = (tenant.clone(), env.clone());
            if !histories.contains_key(&key) {
                let history = store.history(&Owner::Tenant(tenant.clone()), Some(&env)).await?;
                histories.insert(key.clone(), history);
            }
            let history = histories.get(&key).map(Vec::as_slice).unwrap_or_default();
            let status = match &sha {
                Some(sha) => follow::status_in(&repo, &record, (&tenant, sha), &env, history).await?,
                None => None,
            };
            environments.push(Where {
                environment: env.to_string(),
                current: status.as_ref().map(|s| s.current),
                at: status.and_then(|s| s.steps.last().map(|s| s.at.clone())),
            });
        }
        requests.push(ListedRequest {
            request_id: record.request_id.clone(),
            tenant: tenant.to_string(),
            action: record.action.clone(),
            type_name: record.type_name.clone(),
            requested_at: record.requested_at.clone(),
            branch: record.branch.clone(),
            auto_approved: record.auto_approved,
            run_url: record.run_url.clone(),
            environments,
        });
    }
    if requests.is_empty() {
        crate::output::log("no provisioning requests on record");
    }
    Ok(RequestList { requests })
}

impl fmt::Display for RequestList {
    /// One line per request: id, time, tenant, what, branch; then where it is per environment.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.requests {
            let what = match &r.type_name {
                Some(t) => format!("{} {t}", r.action),
                None => r.action.clone(),
            };
            let review = if r.auto_approved { "auto-approved" } else { "for review" };
            writeln!(
                f,
                "{}  {}  tenant {}  {what}  on `{}` ({review})",
                r.request_id,
                crate::overview::cells::time(&r.requested_at, &str::to_owned),
                r.tenant,
                r.branch
            )?;
            for w in &r.environments {
                match (&w.current, &w.at) {
                    (Some(step), Some(at)) => writeln!(
                        f,
                        "  {}: {} at {}",
                        w.environment,
                        name_of(step),
                        crate::overview::cells::time(at, &str::to_owned)
                    )?,
                    _ => writeln!(f, "  {}: unknown (the manager checkout does not have its commit)", w.environment)?,
                }
            }
        }
        Ok(())
    }
}
