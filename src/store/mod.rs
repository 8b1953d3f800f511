//! The `Store` seam: where plans, run records and Terraform state live.
//!
//! Two implementations share this trait: [`local::LocalStore`] keeps everything under a
//! directory (local mode, the default), and `s3::S3Store` uses an S3 bucket and DynamoDB
//! tables. The store also says which Terraform backend block the rendered root module gets,
//! so state and stored plans always sit side by side.

pub mod governance;
pub mod local;
pub mod request;
pub mod s3;
pub mod versions;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::identity::{EnvName, Owner, RequestId, Sha, Target};
pub use governance::Governance;
pub use versions::{StateVersion, StateVersions, StateWritten};

/// A stored plan's metadata, written next to the plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanMeta {
    /// `owner/repo`.
    pub customer: String,
    pub environment: String,
    /// The customer commit the plan was made from.
    pub sha: String,
    /// Hex sha256 of the plan file's bytes.
    pub plan_sha256: String,
    pub terraform_version: String,
    /// Hex sha256 over the rendered working directory (configuration + lock file), so apply
    /// can tell a configuration change from a tampered plan.
    pub config_sha256: String,
    /// The manager repository commit (`GITHUB_SHA`), or [`LOCAL_MANAGER_COMMIT`].
    pub manager_commit: String,
    /// RFC 3339 timestamp.
    pub created_at: String,
    pub run_url: Option<String>,
    /// State lineage and serial when the plan was made; a different one at apply time
    /// means the plan is stale.
    pub state_lineage: Option<String>,
    pub state_serial: Option<u64>,
    pub has_changes: bool,
    pub add: u32,
    pub change: u32,
    pub destroy: u32,
}

/// A plan's `manager_commit` when it was made outside GitHub Actions.
pub const LOCAL_MANAGER_COMMIT: &str = "local";

/// Newest first by `created_at` (as instants; an unreadable time sorts last).
pub(crate) fn newest_first(metas: &mut [PlanMeta]) {
    let time = |m: &PlanMeta| m.created_at.parse::<jiff::Timestamp>().ok();
    metas.sort_by_key(|m| std::cmp::Reverse(time(m)));
}

/// The most plan objects a listing looks at, however many are stored: a bound on the time
/// and memory one listing takes.
pub(crate) const LIST_PLANS_SCAN: usize = 5_000;

/// Where a stored plan lives, for display and `--json` (`plan_key`).
#[cfg(test)]
impl PlanMeta {
    /// A plan of `acme/web` `staging` at `sha`, made at `created_at`: 1 to add.
    pub fn example(sha: &str, created_at: &str) -> Self {
        Self {
            customer: "acme/web".into(),
            environment: "staging".into(),
            sha: sha.into(),
            plan_sha256: "00".into(),
            terraform_version: "1.11.4".into(),
            config_sha256: "11".into(),
            manager_commit: "local".into(),
            created_at: created_at.into(),
            run_url: None,
            state_lineage: None,
            state_serial: None,
            has_changes: true,
            add: 1,
            change: 0,
            destroy: 0,
        }
    }
}

pub type PlanKey = String;

/// What kind of run a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Plan,
    Apply,
    Drift,
    Destroy,
    /// A fleet re-plan (`plan --all`): looked at, never stored, never a target's latest change.
    Replan,
    /// A provisioning request (`tenants request|remove`), recorded under
    /// `requests/<id>` once its commit is made.
    Request,
    /// A state version written back (`state rollback`); its record keeps the version it
    /// restored and the one it wrote.
    Rollback,
}

/// A run's status in the records table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Started,
    Succeeded,
    Failed,
    /// Stopped by a signal or the run's time bound; Terraform was interrupted cleanly.
    Cancelled,
}

/// One run, as kept in the records table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique per run, sortable by time: `<started_at>#<random>`.
    pub run_id: String,
    pub kind: RunKind,
    /// The partition: the owner's key ([`Owner::key`]: `owner/repo`, `tenants/<name>`) or a
    /// request's (`requests/<id>`).
    pub customer: String,
    pub environment: String,
    pub sha: String,
    pub pull_request: Option<u64>,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub run_url: Option<String>,
    pub add: Option<u32>,
    pub change: Option<u32>,
    pub destroy: Option<u32>,
    pub message: Option<String>,
    /// After a drift check or a fleet re-plan: how many resources changed outside
    /// Terraform (`resource_drift`), which the counts alone do not show. Absent on other
    /// runs and on records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_outside: Option<u32>,
    /// After an apply: what the health check after it found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthState>,
    /// After an apply: the outputs not marked sensitive, as a JSON object (at most
    /// [`crate::limits::RECORD_OUTPUTS_CHARS`]; larger ones are left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<String>,
    /// Who ran it, so a later run can tell whether it is still alive (a lock it left): the
    /// host and process, and in GitHub Actions the workflow run and its attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_run_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_run_attempt: Option<u32>,
    /// The GitHub API calls the run made for this target, and how many of them created or
    /// changed content (`github::budget`); absent when it made none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_calls: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_writes: Option<u64>,
    /// What governance adds to a run; its fields sit beside the others in the record.
    #[serde(flatten, default)]
    pub governance: Governance,
    /// What `sha` names: a commit, or in local mode the digest of the customer's file.
    #[serde(default, skip_serializing_if = "Revision::is_commit")]
    pub revision: Revision,
    /// After a drift check: whether it found drift (the next check's notification is
    /// decided from it, [`crate::notify`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drifted: Option<bool>,
    /// What became of the notifications the run made, one line per webhook and event
    /// (`ops drifted: delivered (HTTP 204, 1 attempt)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<String>,
    /// The state version an apply, a destroy or a rollback wrote.
    #[serde(flatten, default)]
    pub state: StateWritten,
}

/// What a run's `sha` is. Local mode has no commits: its stand-in is the digest of the file,
/// which must never be shown as if it were a commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Revision {
    #[default]
    Commit,
    FileDigest,
}

impl Revision {
    pub fn is_commit(&self) -> bool {
        *self == Self::Commit
    }

    /// `sha` as people read it: a commit's first 7 characters, or `file:` and the digest's.
    pub fn shown(self, sha: &str) -> String {
        let short = sha.get(..7).unwrap_or(sha);
        match self {
            Self::Commit => short.to_owned(),
            Self::FileDigest => format!("file:{short}"),
        }
    }
}

impl RunRecord {
    /// A record of `kind` in `status` with every optional field empty; the caller sets the
    /// identity fields (`run_id`, `customer`, `environment`, `sha`, `started_at`), which are
    /// left empty here.
    pub fn empty(kind: RunKind, status: RunStatus) -> Self {
        Self {
            run_id: String::new(),
            kind,
            customer: String::new(),
            environment: String::new(),
            sha: String::new(),
            pull_request: None,
            status,
            started_at: String::new(),
            finished_at: None,
            run_url: None,
            add: None,
            change: None,
            destroy: None,
            message: None,
            changed_outside: None,
            health: None,
            outputs: None,
            runner_host: None,
            runner_pid: None,
            actions_repository: None,
            actions_run_id: None,
            actions_run_attempt: None,
            github_calls: None,
            github_writes: None,
            governance: Governance::default(),
            revision: Revision::Commit,
            drifted: None,
            notifications: None,
            state: StateWritten::default(),
        }
    }

    /// A run of `kind` on `target` at `sha`, just started: the partition is the owner's key.
    pub fn started(
        kind: RunKind,
        target: &Target,
        sha: &Sha,
        pull_request: Option<u64>,
        run_url: Option<String>,
    ) -> Self {
        let started = crate::pipeline::now();
        Self {
            run_id: format!("{started}#{:08x}", fastrand::u32(..)),
            customer: target.owner.key(),
            environment: target.env.to_string(),
            sha: sha.to_string(),
            pull_request,
            started_at: started,
            run_url,
            ..Self::empty(kind, RunStatus::Started)
        }
    }
}

/// The health check after an apply, as a record keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Healthy,
    Unhealthy,
    /// The module has no health check URL.
    Skipped,
}

/// Errors of any store, with the object or table they concern.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no stored plan for {target}")]
    NoPlan { target: String },
    #[error("can't {action} `{location}`: {source}")]
    Io {
        action: &'static str,
        location: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{location}` is not valid: {message}")]
    Corrupt { location: String, message: String },
    #[error("stored plan `{location}` does not match its checksum (expected sha256:{expected}, found sha256:{actual})")]
    Checksum { location: String, expected: String, actual: String },
    #[error("plan for {sha} is superseded: {newer} was planned later for {target}")]
    Superseded { target: String, sha: String, newer: String },
    #[error("{service} call `{operation}` failed for `{location}`: {message}")]
    Remote { service: &'static str, operation: &'static str, location: String, message: String },
    /// No AWS credentials anywhere the SDK looks.
    #[error("no AWS credentials found for the {service} call `{operation}` (`{location}`)")]
    NoCredentials { service: &'static str, operation: &'static str, location: String },
    /// An S3-compatible store whose bucket can't keep object versions.
    #[error("the state bucket `{location}` can't keep object versions: {why}")]
    NoVersioning { location: String, why: String },
    /// The endpoint could not be reached (connection refused, DNS, timeout).
    #[error("can't reach {service} for `{operation}` (`{location}`): {message}")]
    Unreachable { service: &'static str, operation: &'static str, location: String, message: String },
}

impl StoreError {
    /// What to do about a store that can't be used at all; `None` for the others, whose
    /// message says it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::NoCredentials { .. } => Some(
                "give the job AWS credentials (in GitHub Actions, aws-actions/configure-aws-credentials with a role; \
                 locally, AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or set `state.backend: local` \
                 to try infra-manager without AWS",
            ),
            Self::NoVersioning { .. } => Some(
                "infra-manager needs a versioned state bucket: without versions an overwritten state is lost and \
                 `state rollback` has nothing to restore; use a store with S3 object versioning (AWS S3, MinIO, Ceph RGW) \
                 or turn it on in the store's own console, then run `infra-manager bootstrap` again",
            ),
            Self::Unreachable { .. } => Some(
                "check `state.region` and `state.endpoint` in infra-manager.yml (and AWS_ENDPOINT_URL) and that the \
                 runner can reach them",
            ),
            _ => None,
        }
    }
}

/// The backend block for the rendered root module: `terraform { backend "<kind>" { .. } }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    pub kind: &'static str,
    pub settings: serde_json::Map<String, serde_json::Value>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// The Terraform backend that keeps `target`'s state.
    fn backend(&self, target: &Target) -> Backend;

    /// Where the plan for `sha` is (or would be) kept.
    fn plan_key(&self, target: &Target, sha: &Sha) -> PlanKey;

    /// Stores a plan file and its metadata and marks it as the newest plan for `target`.
    /// The newest-plan marker is written so that two concurrent writers cannot both win, and
    /// never moves back: a plan made before the one it names is stored, but the call returns
    /// [`StoreError::Superseded`].
    async fn put_plan(&self, target: &Target, plan: &[u8], meta: &PlanMeta) -> Result<PlanKey, StoreError>;

    /// The newest plan's metadata for `target`, if any.
    async fn latest_plan(&self, target: &Target) -> Result<Option<PlanMeta>, StoreError>;

    /// The target's stored plans (metadata only), newest first: the `limit` most recently
    /// stored. Metadata that can't be read is left out (and logged), so one bad object does
    /// not hide the others.
    async fn list_plans(&self, target: &Target, limit: usize) -> Result<Vec<PlanMeta>, StoreError>;

    /// Fetches a stored plan file and its metadata.
    async fn get_plan(&self, target: &Target, sha: &Sha) -> Result<(Vec<u8>, PlanMeta), StoreError>;

    /// Keeps the reviewable document of the plan for `sha` (JSON, [`crate::terraform::reviewable`])
    /// beside it, as `<sha>.reviewable.json`: apply compares a merge commit's with the one
    /// of the pull request's head. An object of its own, not part of [`PlanMeta`]: a
    /// 5,000-resource plan's is megabytes, and listings read every metadata object.
    async fn put_reviewable(&self, target: &Target, sha: &Sha, document: &[u8]) -> Result<(), StoreError>;

    /// Stores a plan as [`Store::put_plan`] does, keeping its reviewable document
    /// ([`Store::put_reviewable`]) before the plan becomes the newest: what a merge's apply
    /// compares with is there first. Keeping the document is best effort: its outcome comes
    /// back beside the plan's, never instead of it.
    async fn put_plan_and_reviewable(
        &self,
        target: &Target,
        plan: &[u8],
        meta: &PlanMeta,
        sha: &Sha,
        reviewable: &[u8],
    ) -> (Result<(), StoreError>, Result<PlanKey, StoreError>) {
        let kept = self.put_reviewable(target, sha, reviewable).await;
        (kept, self.put_plan(target, plan, meta).await)
    }

    /// The reviewable document of the plan for `sha`; `None` when none was kept (no plan, a
    /// plan made before documents were kept, or a counts-only plan).
    async fn get_reviewable(&self, target: &Target, sha: &Sha) -> Result<Option<Vec<u8>>, StoreError>;

    /// Keeps a state Terraform could not save (`errored.tfstate`) beside the target's
    /// state, under a name of its own; returns where.
    async fn put_errored_state(&self, target: &Target, state: &[u8]) -> Result<String, StoreError>;

    /// Creates or replaces a run record (same `run_id` updates it).
    async fn record_run(&self, record: &RunRecord) -> Result<(), StoreError>;

    /// The records under one partition (an owner's or a request's key), optionally of one
    /// environment, newest first. Callers ask [`Store::history`] or [`Store::request_records`].
    async fn records(&self, partition: &str, env: Option<&str>) -> Result<Vec<RunRecord>, StoreError>;

    /// Runs for an owner (optionally one environment), newest first.
    async fn history(&self, owner: &Owner, env: Option<&EnvName>) -> Result<Vec<RunRecord>, StoreError> {
        self.records(&owner.key(), env.map(EnvName::as_str)).await
    }

    /// Keeps the record of a provisioning request: in its own partition, then in the index
    /// of requests ([`request::INDEX_PARTITION`]) that [`Store::recent_requests`] reads.
    async fn put_request(&self, id: &RequestId, record: &request::RequestRecord) -> Result<(), StoreError> {
        self.record_run(&record.to_item(id)).await?;
        self.record_run(&record.to_index_item(id)).await
    }

    /// The most recent provisioning requests, newest first, one per request id: at most
    /// `limit`, from the index (requests recorded before the index was kept are not in it).
    async fn recent_requests(&self, limit: usize) -> Result<Vec<request::RequestRecord>, StoreError> {
        let mut seen = std::collections::HashSet::new();
        Ok(self
            .records(request::INDEX_PARTITION, None)
            .await?
            .iter()
            .filter_map(request::RequestRecord::from_item)
            .filter(|r| seen.insert(r.request_id.clone()))
            .take(limit)
            .collect())
    }

    /// The record of a provisioning request, if it was committed.
    async fn request(&self, id: &RequestId) -> Result<Option<request::RequestRecord>, StoreError> {
        Ok(self.records(&id.key(), None).await?.iter().find_map(request::RequestRecord::from_item))
    }

    /// Listing and releasing Terraform's state locks, where the store has such locks.
    fn locks(&self) -> Option<&dyn LockAdmin> {
        None
    }

    /// Every Terraform state lock held, read only (for reports: `overview`); releasing is
    /// [`Store::locks`]'s. A store with [`LockAdmin`] lists its locks; the local store reads
    /// the lock info Terraform's local backend writes beside a state while it holds it.
    async fn held_locks(&self) -> Result<Vec<s3::LockInfo>, s3::LockError> {
        match self.locks() {
            Some(admin) => admin.list_locks().await,
            None => Ok(Vec::new()),
        }
    }

    /// Creating the store's resources, where it has resources to create.
    fn bootstrapper(&self) -> Option<&dyn Bootstrap> {
        None
    }

    /// The Terraform states this store holds (to find orphans).
    fn states(&self) -> Option<&dyn States> {
        None
    }

    /// The versions of each target's state, and writing one back (`state`).
    fn versions(&self) -> Option<&dyn StateVersions> {
        None
    }
}

/// A store whose Terraform states can be listed: a state whose target is no longer
/// registered is an orphan, reported and never destroyed implicitly.
#[async_trait]
pub trait States: Send + Sync {
    /// Every target with a state object, in no particular order.
    async fn state_targets(&self) -> Result<Vec<Target>, StoreError>;

    /// How many resources `target`'s state holds (`None` when it has no state).
    async fn state_resources(&self, target: &Target) -> Result<Option<usize>, StoreError>;
}

/// The number of resources in a state document (`resources`, each with its instances).
pub fn count_resources(state: &[u8]) -> Result<usize, String> {
    let doc: serde_json::Value = serde_json::from_slice(state).map_err(|e| e.to_string())?;
    Ok(doc["resources"].as_array().map_or(0, |r| r.iter().map(|r| r["instances"].as_array().map_or(0, Vec::len)).sum()))
}

/// A store whose Terraform state locks can be listed and released (`locks`).
#[async_trait]
pub trait LockAdmin: Send + Sync {
    /// Every lock held.
    async fn list_locks(&self) -> Result<Vec<s3::LockInfo>, s3::LockError>;

    /// The lock on `target`'s state, if one is held (one read, not a listing).
    async fn lock_of(&self, target: &Target) -> Result<Option<s3::LockInfo>, s3::LockError>;

    /// Releases `target`'s lock if it is older than `older_than` (or `force`), and only if it
    /// is still the lock that was read.
    async fn release_lock(
        &self,
        target: &Target,
        older_than: std::time::Duration,
        force: bool,
    ) -> Result<s3::ReleaseOutcome, s3::LockError>;
}

/// A store with resources to create before first use (`bootstrap`); safe to re-run.
#[async_trait]
pub trait Bootstrap: Send + Sync {
    async fn bootstrap(&self) -> Result<s3::BootstrapReport, StoreError>;
    /// What `bootstrap` would create or fix, found without changing anything.
    async fn inspect(&self) -> Result<Vec<s3::Inspected>, StoreError>;
}
