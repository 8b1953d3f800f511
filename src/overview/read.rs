//! What the store says about each target, gathered for [`super::row`] with one read of each
//! kind: per owner one read of its run records (every environment at once), per target one
//! read of the latest-plan pointer, and for the whole fleet one listing of the state locks
//! held and one of the recent provisioning requests. Owners are read [`PARALLEL_READS`] at
//! a time (on S3 each read is a round trip); rows come back in the targets' order.

use std::collections::HashMap;

use futures_util::stream::{self, StreamExt};

use super::{Facts, RequestHere, Row, row};
use crate::config::Config;
use crate::error::CommandError;
use crate::fleet::Selected;
use crate::identity::{EnvName, Owner, Target};
use crate::store::request::{RECENT_REQUESTS, RequestRecord};
use crate::store::s3::LockInfo;
use crate::store::{RunRecord, Store};
use crate::tenants::git::ManagerRepo;

/// How many owners' records are read at once.
pub const PARALLEL_READS: usize = 16;

/// Where the rows are read from.
pub struct Sources<'a> {
    pub config: &'a Config,
    pub store: &'a dyn Store,
    /// The manager checkout, where a request's commit is followed.
    pub manager: &'a ManagerRepo,
    /// Only this environment's records are read.
    pub env: Option<&'a EnvName>,
}

/// One target's row, with the target it is of and the records it was made from (newest
/// first), for a renderer that also shows a target's runs (the status page's timeline)
/// without reading them again.
#[derive(Debug, Clone)]
pub struct TargetRead {
    pub target: Target,
    pub row: Row,
    pub records: Vec<RunRecord>,
}

/// The rows of `targets`, in their order, as of `now`.
pub async fn rows(sources: &Sources<'_>, targets: &[Selected], now: jiff::Timestamp) -> Result<Vec<Row>, CommandError> {
    Ok(with_records(sources, targets, now).await?.into_iter().map(|read| read.row).collect())
}

/// The rows of `targets` with their records, in the targets' order, as of `now`.
pub async fn with_records(
    sources: &Sources<'_>,
    targets: &[Selected],
    now: jiff::Timestamp,
) -> Result<Vec<TargetRead>, CommandError> {
    let locks: HashMap<Target, LockInfo> = sources
        .store
        .held_locks()
        .await?
        .into_iter()
        .filter_map(|lock| Some((Target { owner: lock.customer.clone()?, env: lock.environment.clone()? }, lock)))
        .collect();
    let requests = if targets.iter().any(|s| matches!(s.target.owner, Owner::Tenant(_))) {
        sources.store.recent_requests(RECENT_REQUESTS).await?
    } else {
        Vec::new()
    };
    let mut owners: Vec<&Owner> = Vec::new();
    for selected in targets {
        if !owners.contains(&&selected.target.owner) {
            owners.push(&selected.target.owner);
        }
    }
    let per_owner: Vec<Result<Vec<TargetRead>, CommandError>> = stream::iter(owners)
        .map(|owner| {
            let mine: Vec<&Selected> = targets.iter().filter(|s| &s.target.owner == owner).collect();
            owner_rows(sources, owner, mine, &locks, &requests, now)
        })
        .buffered(PARALLEL_READS)
        .collect()
        .await;
    let mut read: HashMap<Target, TargetRead> = HashMap::new();
    for owner_rows in per_owner {
        for r in owner_rows? {
            read.insert(r.target.clone(), r);
        }
    }
    Ok(targets.iter().filter_map(|s| read.remove(&s.target)).collect())
}

/// One owner's rows: its records read once, then each of its targets' latest plan.
async fn owner_rows(
    sources: &Sources<'_>,
    owner: &Owner,
    targets: Vec<&Selected>,
    locks: &HashMap<Target, LockInfo>,
    requests: &[RequestRecord],
    now: jiff::Timestamp,
) -> Result<Vec<TargetRead>, CommandError> {
    let history = sources.store.history(owner, sources.env).await?;
    let mut rows = Vec::with_capacity(targets.len());
    for selected in targets {
        let target = &selected.target;
        let records: Vec<RunRecord> =
            history.iter().filter(|r| r.environment == target.env.as_str()).cloned().collect();
        let latest_plan = sources.store.latest_plan(target).await?;
        let here = requests_here(sources.manager, target, requests, &records).await?;
        let approval =
            sources.config.environments.iter().find(|(e, _)| e == &target.env).and_then(|(_, c)| c.approval.as_ref());
        let row = row(&Facts {
            target,
            expires_at: selected.expires_at,
            approval,
            records: &records,
            latest_plan: latest_plan.as_ref(),
            lock: locks.get(target),
            requests: &here,
            now,
        });
        rows.push(TargetRead { target: target.clone(), row, records });
    }
    Ok(rows)
}

/// The recent requests for a tenant's environment, with where each is among its `records`
/// (`requests list`'s rule). A request whose commit the checkout does not have is left out,
/// with a warning: where it is can't be told.
async fn requests_here(
    manager: &ManagerRepo,
    target: &Target,
    requests: &[RequestRecord],
    records: &[RunRecord],
) -> Result<Vec<RequestHere>, CommandError> {
    let Owner::Tenant(tenant) = &target.owner else { return Ok(Vec::new()) };
    let mut here = Vec::new();
    for request in requests {
        let (Some(of), Some(sha)) = (request.tenant(), request.sha()) else { continue };
        if &of != tenant || !request.environments().contains(&target.env) {
            continue;
        }
        match crate::tenants::follow::status_in(manager, request, (tenant, &sha), &target.env, records).await? {
            Some(status) => here.push(RequestHere {
                request_id: request.request_id.clone(),
                requested_at: request.requested_at.clone(),
                step: status.current,
            }),
            None => crate::output::log(&format!(
                "warning: request `{}` of {target}: the manager checkout does not have its commit {}",
                request.request_id,
                sha.short()
            )),
        }
    }
    Ok(here)
}
