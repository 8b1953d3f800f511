//! A provisioning request's record: its own id and its own type, kept in the records
//! table under the request's partition (`requests/<id>`, [`RequestId::key`]), which no
//! owner's records share. How it is written into a run-record item is this module's
//! business alone.

use serde::{Deserialize, Serialize};

use super::{RunKind, RunRecord, RunStatus};
use crate::identity::{EnvName, RequestId, Sha, TenantName};

/// A request that `tenants request|remove` committed (a refused request is never recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub request_id: String,
    pub tenant: String,
    /// `write` or `remove`.
    pub action: String,
    /// Where its commit is, and whether it needs a review.
    pub branch: String,
    pub auto_approved: bool,
    pub committed: bool,
    /// The branch's commit after the request.
    pub sha: String,
    /// When the request was taken (RFC 3339).
    pub requested_at: String,
    pub run_url: Option<String>,
    /// The catalog type asked for (a removal names none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// The tenant's environments the request asks for (none for a removal).
    #[serde(default)]
    pub environments: Vec<String>,
    /// One line for people.
    pub message: String,
    /// What the request asked (none on a record written before digests were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<RequestContent>,
    /// [`RequestContent::digest`] of `content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The provision workflow's run (`GITHUB_RUN_ID`): the `workflow_run_id` GitHub
    /// answers a `workflow_dispatch` with when asked for `return_run_details`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
}

/// What a request asks, field by field: the same request id must always ask the same.
/// The inputs are kept as a digest of their canonical JSON (keys sorted, no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContent {
    /// `write` or `remove`.
    pub action: String,
    pub tenant: String,
    #[serde(default)]
    pub type_name: Option<String>,
    #[serde(default)]
    pub inputs_sha256: Option<String>,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
}

impl RequestContent {
    /// The request's digest: sha256 of its fields as JSON, in their declared order.
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        format!("sha256:{}", Self::sha256(&text))
    }

    pub fn sha256(text: &str) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    }

    /// The fields in which `other` asks something else, by name (as the backend sends them).
    pub fn differences(&self, other: &Self) -> Vec<&'static str> {
        [
            ("action", self.action == other.action),
            ("tenant", self.tenant == other.tenant),
            ("type", self.type_name == other.type_name),
            ("inputs", self.inputs_sha256 == other.inputs_sha256),
            ("tier", self.tier == other.tier),
            ("expires_at", self.expires_at == other.expires_at),
        ]
        .into_iter()
        .filter_map(|(name, same)| (!same).then_some(name))
        .collect()
    }
}

/// The partition that indexes every request (one item per request, beside the one in its
/// own partition), so that the recent ones are one read: no request id starts with `_`
/// ([`RequestId::parse`]) and no owner's key starts with `requests/`, so it meets neither.
pub const INDEX_PARTITION: &str = "requests/_index";

/// The most requests one listing reads from the index: a bound on the time and memory
/// `requests list` and `overview` take however many requests were ever made.
pub const RECENT_REQUESTS: usize = 200;

#[cfg(test)]
impl RequestRecord {
    /// A committed request's record (`req-1`, tenant `alice-xero`, a connector on `main` at
    /// `aaa…`), for tests to vary.
    pub fn example() -> Self {
        Self {
            request_id: "req-1".into(),
            tenant: "alice-xero".into(),
            action: "write".into(),
            branch: "main".into(),
            auto_approved: true,
            committed: true,
            sha: "a".repeat(40),
            requested_at: "2026-12-07T12:00:00Z".into(),
            run_url: None,
            type_name: Some("connector".into()),
            environments: vec!["staging".into()],
            message: "requested".into(),
            content: None,
            digest: None,
            run_id: None,
        }
    }
}

/// A request's record stands in no environment: this fills the item's environment field
/// (never a valid environment name, so it can't be mistaken for one).
const NO_ENVIRONMENT: &str = "-";

impl RequestRecord {
    /// The item that keeps it: a `request` run, succeeded, in the request's partition.
    pub(super) fn to_item(&self, id: &RequestId) -> RunRecord {
        RunRecord {
            run_id: format!("{}#{}", self.requested_at, self.request_id),
            customer: id.key(),
            environment: NO_ENVIRONMENT.to_owned(),
            sha: self.sha.clone(),
            started_at: self.requested_at.clone(),
            finished_at: Some(self.requested_at.clone()),
            run_url: self.run_url.clone(),
            message: Some(self.message.clone()),
            outputs: serde_json::to_string(self).ok(),
            ..RunRecord::empty(RunKind::Request, RunStatus::Succeeded)
        }
    }

    /// The item that indexes it: the same item, in [`INDEX_PARTITION`].
    pub(super) fn to_index_item(&self, id: &RequestId) -> RunRecord {
        RunRecord { customer: INDEX_PARTITION.to_owned(), ..self.to_item(id) }
    }

    /// The record an item keeps; `None` for an item that is not one.
    pub(super) fn from_item(item: &RunRecord) -> Option<Self> {
        (item.kind == RunKind::Request).then_some(())?;
        serde_json::from_str(item.outputs.as_deref()?).ok()
    }

    /// The tenant, checked again: the record is read back from a store.
    pub fn tenant(&self) -> Option<TenantName> {
        TenantName::parse(&self.tenant).ok()
    }

    /// The environments, checked again.
    pub fn environments(&self) -> Vec<EnvName> {
        self.environments.iter().filter_map(|e| EnvName::parse(e).ok()).collect()
    }

    /// The commit, checked again.
    pub fn sha(&self) -> Option<Sha> {
        Sha::parse(&self.sha).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A request's record is its own type, in a partition no owner's records share, and
    /// reads back as it was written.
    #[tokio::test]
    async fn a_request_record_reads_back_in_its_own_partition() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::store::local::LocalStore::open(dir.path()).expect("store");
        let id = RequestId::parse("req-1").expect("id");
        let record = RequestRecord {
            branch: "tenant-request/req-1".into(),
            auto_approved: false,
            run_id: Some(7),
            ..record("req-1", "2026-12-07T12:00:00Z")
        };
        store.put_request(&id, &record).await.expect("put");
        assert_eq!(store.request(&id).await.expect("read"), Some(record.clone()));
        assert_eq!(store.request(&RequestId::parse("other").expect("id")).await.expect("read"), None);
        let tenant = crate::identity::Owner::Tenant(record.tenant().expect("tenant"));
        assert!(store.history(&tenant, None).await.expect("history").is_empty(), "not the tenant's records");
        assert_eq!(record.environments(), [EnvName::parse("staging").expect("env")]);
    }

    fn record(id: &str, at: &str) -> RequestRecord {
        RequestRecord { request_id: id.into(), requested_at: at.into(), ..RequestRecord::example() }
    }

    /// The index lists the recent requests in one read, newest first, once per request
    /// (a request recorded again, its record having been lost, is listed at its latest).
    #[tokio::test]
    async fn the_recent_requests_are_one_read_of_the_index_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::store::local::LocalStore::open(dir.path()).expect("store");
        assert!(store.recent_requests(10).await.expect("empty").is_empty());
        for (id, at) in [("r1", "2026-12-07T10:00:00Z"), ("r2", "2026-12-07T11:00:00Z"), ("r1", "2026-12-07T12:00:00Z")]
        {
            store.put_request(&RequestId::parse(id).expect("id"), &record(id, at)).await.expect("put");
        }
        let ids = |records: Vec<RequestRecord>| records.into_iter().map(|r| r.request_id).collect::<Vec<_>>();
        assert_eq!(ids(store.recent_requests(10).await.expect("list")), ["r1", "r2"]);
        assert_eq!(ids(store.recent_requests(1).await.expect("list")), ["r1"]);
        // The index meets no request's own partition.
        assert!(RequestId::parse(INDEX_PARTITION.trim_start_matches("requests/")).is_err());
    }
}
