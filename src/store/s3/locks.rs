//! Terraform's state locks: list them, and release a stuck one without racing its owner.
//!
//! With `lock: dynamodb` a lock is the lock-table item `LockID = <bucket>/<state key>`
//! whose `Info` attribute holds Terraform's lock info as JSON; the `<bucket>/<key>-md5`
//! items next to it are state digests, not locks. With `lock: lockfile` a lock is the
//! S3 object `<state key>.tflock` holding the same JSON. Releasing deletes the lock only
//! if it is still exactly the lock that was read (a DynamoDB condition on `Info`, or
//! `If-Match` on the object's ETag), and refuses a lock younger than a guard unless forced.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::identity::{EnvName, Target};
use crate::store::StoreError;

use super::client::{error_code, http_status, remote};
use super::keys::{is_digest_item, is_lockfile_key};
use super::plans::read_object;
use super::{KeyLayout, LockMode, S3Store};

const LOCK_ID: &str = "LockID";
const INFO: &str = "Info";

/// One held Terraform lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockInfo {
    /// The lock table's `LockID`, or the `.tflock` object key in lockfile mode.
    pub lock_id: String,
    /// The customer and environment whose state is locked; `None` for a lock on a state
    /// outside this service's key layout.
    pub customer: Option<crate::identity::Owner>,
    pub environment: Option<EnvName>,
    /// Terraform's lock ID (what `terraform force-unlock` takes).
    pub id: String,
    /// E.g. `OperationTypeApply`.
    pub operation: String,
    /// `user@host` of the holder.
    pub who: String,
    /// The holder's Terraform version.
    pub version: String,
    /// When the lock was taken, if Terraform's info could be read.
    pub created: Option<jiff::Timestamp>,
    pub path: String,
    /// What the lock is compared against when it is deleted.
    #[serde(skip)]
    guard: DeleteGuard,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DeleteGuard {
    /// The `Info` attribute as read (`None` when the item had none).
    Info(Option<String>),
    /// The lock object's ETag.
    ETag(Option<String>),
}

impl LockInfo {
    /// How long the lock has been held at `now`; `None` when its creation time is unknown.
    pub fn age(&self, now: jiff::Timestamp) -> Option<Duration> {
        let created = self.created?;
        let held = now.duration_since(created);
        Some(Duration::try_from(held).unwrap_or(Duration::ZERO))
    }

    /// `owner/repo (env)` when the lock is on a customer state, else its lock ID.
    pub fn subject(&self) -> String {
        match (&self.customer, &self.environment) {
            (Some(customer), Some(env)) => format!("{customer} ({env})"),
            _ => self.lock_id.clone(),
        }
    }
}

impl LockInfo {
    /// A lock whose Terraform lock info (JSON) `info` was read at `location`, on `target`'s
    /// state: the local backend's lock info file, read by the local store.
    pub(crate) fn from_terraform(location: &str, target: Target, info: &str) -> Self {
        parse_lock(location, Some(target), Some(info), DeleteGuard::Info(Some(info.to_owned())))
    }
}

/// Terraform's lock info JSON (`statemgr.LockInfo`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TerraformLockInfo {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Operation")]
    operation: String,
    #[serde(rename = "Who")]
    who: String,
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Created")]
    created: String,
    #[serde(rename = "Path")]
    path: String,
}

/// Builds a [`LockInfo`] from Terraform's JSON; unreadable info still yields a lock (with
/// empty fields and no creation time) so it is listed, and only released with force.
fn parse_lock(lock_id: &str, target: Option<Target>, info: Option<&str>, guard: DeleteGuard) -> LockInfo {
    let parsed: TerraformLockInfo = info.and_then(|raw| serde_json::from_str(raw).ok()).unwrap_or_default();
    let (customer, environment) = match target {
        Some(target) => (Some(target.owner), Some(target.env)),
        None => (None, None),
    };
    LockInfo {
        lock_id: lock_id.to_owned(),
        customer,
        environment,
        id: parsed.id,
        operation: parsed.operation,
        who: parsed.who,
        version: parsed.version,
        created: parsed.created.parse().ok(),
        path: parsed.path,
        guard,
    }
}

/// Errors of listing or releasing locks.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the lock on {target} is {} (held by `{}` for `{}`, lock ID `{}`); refusing to release a lock younger than {}",
        describe_age(*.age), .lock.who, .lock.operation, .lock.id, crate::duration::hms(*.guard)
    )]
    TooYoung { target: String, age: Option<Duration>, guard: Duration, lock: Box<LockInfo> },
    #[error(
        "the lock on {target} changed while it was being released (another run took it over or released it); nothing was deleted"
    )]
    Changed { target: String },
    /// Another run holds the lock this run asked for; nothing was written.
    #[error("the state of {target} is locked: {}; nothing was changed", held_by(.lock))]
    Held { target: String, lock: Box<LockInfo> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LockError {
    /// What to do about it; `None` for a store failure.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::TooYoung { .. } => Some("pass `--force` if the run holding it is gone"),
            Self::Changed { .. } => Some("run `infra-manager locks list` and try again"),
            Self::Held { .. } => Some(
                "wait for the run holding it to finish and try again; if that run is gone, `infra-manager locks release` \
                 (S3) or `terraform force-unlock` (local) frees the lock",
            ),
            Self::Store(e) => e.hint(),
        }
    }
}

/// What [`release_lock`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReleaseOutcome {
    /// The lock was deleted.
    Released { lock: Box<LockInfo> },
    /// There was no lock to release.
    NotLocked,
}

/// Every lock currently held, sorted by lock ID.
pub async fn list_locks(store: &S3Store) -> Result<Vec<LockInfo>, LockError> {
    let mut locks = match store.settings().lock {
        LockMode::Dynamodb => list_table_locks(store).await?,
        LockMode::Lockfile => list_lockfiles(store).await?,
    };
    locks.sort_by(|a, b| a.lock_id.cmp(&b.lock_id));
    Ok(locks)
}

/// The lock on `target`'s state, if one is held.
pub async fn lock_of(store: &S3Store, target: &Target) -> Result<Option<LockInfo>, LockError> {
    Ok(match store.settings().lock {
        LockMode::Dynamodb => read_table_lock(store, target).await?,
        LockMode::Lockfile => read_lockfile(store, target).await?,
    })
}

/// Releases `target`'s lock if there is one. A lock younger than `guard` is refused unless
/// `force`; a lock that changed between reading and deleting is never deleted.
pub async fn release_lock(
    store: &S3Store,
    target: &Target,
    guard: Duration,
    force: bool,
) -> Result<ReleaseOutcome, LockError> {
    let lock = match store.settings().lock {
        LockMode::Dynamodb => read_table_lock(store, target).await?,
        LockMode::Lockfile => read_lockfile(store, target).await?,
    };
    let Some(lock) = lock else { return Ok(ReleaseOutcome::NotLocked) };
    check_guard(&lock, target, jiff::Timestamp::now(), guard, force)?;
    release_taken(store, target, &lock).await?;
    Ok(ReleaseOutcome::Released { lock: Box::new(lock) })
}

/// Refuses a lock younger than `guard` (or of unknown age) unless `force`.
fn check_guard(
    lock: &LockInfo,
    target: &Target,
    now: jiff::Timestamp,
    guard: Duration,
    force: bool,
) -> Result<(), LockError> {
    let age = lock.age(now);
    let old_enough = age.is_some_and(|age| age >= guard);
    if old_enough || force {
        return Ok(());
    }
    Err(LockError::TooYoung { target: target.to_string(), age, guard, lock: Box::new(lock.clone()) })
}

async fn list_table_locks(store: &S3Store) -> Result<Vec<LockInfo>, StoreError> {
    let table = &store.settings().lock_table;
    let mut pages = store.clients().dynamodb.scan().table_name(table).into_paginator().send();
    let mut locks = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| remote("dynamodb", "Scan", format!("table {table}"), e))?;
        locks.extend(page.items().iter().filter_map(|item| lock_from_item(store.layout(), item)));
    }
    Ok(locks)
}

/// A lock-table item as a lock; `None` for digest items and items without a `LockID`.
fn lock_from_item(layout: &KeyLayout, item: &HashMap<String, AttributeValue>) -> Option<LockInfo> {
    let lock_id = item.get(LOCK_ID)?.as_s().ok()?;
    let info = item.get(INFO).and_then(|v| v.as_s().ok());
    if info.is_none() && is_digest_item(lock_id) {
        return None;
    }
    let guard = DeleteGuard::Info(info.cloned());
    Some(parse_lock(lock_id, layout.target_of_lock_id(lock_id), info.map(String::as_str), guard))
}

async fn read_table_lock(store: &S3Store, target: &Target) -> Result<Option<LockInfo>, StoreError> {
    let table = &store.settings().lock_table;
    let lock_id = store.layout().lock_id(target);
    let output = store
        .clients()
        .dynamodb
        .get_item()
        .table_name(table)
        .key(LOCK_ID, AttributeValue::S(lock_id.clone()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| remote("dynamodb", "GetItem", format!("table {table}, LockID {lock_id}"), e))?;
    Ok(output.item().and_then(|item| lock_from_item(store.layout(), item)))
}

async fn delete_table_lock(store: &S3Store, target: &Target, lock: &LockInfo) -> Result<(), LockError> {
    let table = &store.settings().lock_table;
    let lock_id = store.layout().lock_id(target);
    let mut request = store
        .clients()
        .dynamodb
        .delete_item()
        .table_name(table)
        .key(LOCK_ID, AttributeValue::S(lock_id.clone()))
        .expression_attribute_names("#id", LOCK_ID)
        .expression_attribute_names("#info", INFO);
    request = match &lock.guard {
        DeleteGuard::Info(Some(info)) => request
            .condition_expression("attribute_exists(#id) AND #info = :info")
            .expression_attribute_values(":info", AttributeValue::S(info.clone())),
        _ => request.condition_expression("attribute_exists(#id) AND attribute_not_exists(#info)"),
    };
    match request.send().await {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e)) if matches!(e.err(), DeleteItemError::ConditionalCheckFailedException(_)) => {
            Err(LockError::Changed { target: target.to_string() })
        }
        Err(e) => Err(remote("dynamodb", "DeleteItem", format!("table {table}, LockID {lock_id}"), e).into()),
    }
}

async fn list_lockfiles(store: &S3Store) -> Result<Vec<LockInfo>, StoreError> {
    let layout = store.layout();
    let keys = super::plans::keys_where(store, is_lockfile_key).await?;
    let mut locks = Vec::with_capacity(keys.len());
    for key in keys {
        // A lock released between listing and reading is simply no longer there.
        if let Some((body, etag)) = read_object(store, &key).await? {
            let info = String::from_utf8_lossy(&body);
            locks.push(parse_lock(&key, layout.target_of_lockfile_key(&key), Some(&info), DeleteGuard::ETag(etag)));
        }
    }
    Ok(locks)
}

async fn read_lockfile(store: &S3Store, target: &Target) -> Result<Option<LockInfo>, StoreError> {
    let key = store.layout().lockfile_key(target);
    Ok(read_object(store, &key).await?.map(|(body, etag)| {
        let info = String::from_utf8_lossy(&body);
        parse_lock(&key, Some(target.clone()), Some(&info), DeleteGuard::ETag(etag))
    }))
}

async fn delete_lockfile(store: &S3Store, target: &Target, lock: &LockInfo) -> Result<(), LockError> {
    let layout = store.layout();
    let key = layout.lockfile_key(target);
    let DeleteGuard::ETag(Some(etag)) = &lock.guard else {
        return Err(StoreError::Corrupt {
            location: layout.s3_uri(&key),
            message: "the store returned no ETag for the lock object, so it can't be deleted safely".to_owned(),
        }
        .into());
    };
    let result = store.clients().s3.delete_object().bucket(layout.bucket()).key(&key).if_match(etag).send().await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if matches!(http_status(&e), Some(404 | 409 | 412)) || error_code(&e) == Some("PreconditionFailed") => {
            Err(LockError::Changed { target: target.to_string() })
        }
        Err(e) => Err(remote("s3", "DeleteObject", layout.s3_uri(&key), e).into()),
    }
}

/// Who holds `lock`, for what and since when (values from the lock's info, quoted safely).
fn held_by(lock: &LockInfo) -> String {
    let or_unknown = |v: &str| if v.is_empty() { "unknown".to_owned() } else { crate::diagnostic::shown(v) };
    let since = lock.created.map_or_else(|| "since an unknown time".to_owned(), |t| format!("since {t}"));
    format!(
        "held by `{}` for `{}` {since} (lock ID `{}`)",
        or_unknown(&lock.who),
        or_unknown(&lock.operation),
        or_unknown(&lock.id)
    )
}

impl LockInfo {
    /// The lock whose info is `info` (Terraform's JSON), held on `target`'s state: a local
    /// state's lock, read from Terraform's `.terraform.tfstate.lock.info`.
    pub(crate) fn held(lock_id: &str, target: &Target, info: Option<&str>) -> Self {
        parse_lock(lock_id, Some(target.clone()), info, DeleteGuard::Info(info.map(str::to_owned)))
    }
}

/// Takes `target`'s lock as Terraform does, with `info` (Terraform's lock JSON): the lock
/// table's item only if there is none (`attribute_not_exists(LockID)`), or the lock object
/// only if there is none (`If-None-Match: *`). A lock another run holds is
/// [`LockError::Held`]; the lock taken is returned, to [`release_taken`].
pub(crate) async fn acquire(store: &S3Store, target: &Target, info: &str) -> Result<LockInfo, LockError> {
    let layout = store.layout();
    // A lock released between our attempt and the read of it: try again, a few times.
    for _ in 0..3 {
        let taken = match store.settings().lock {
            LockMode::Dynamodb => put_table_lock(store, target, info).await?,
            LockMode::Lockfile => put_lockfile(store, target, info).await?,
        };
        if let Some(guard) = taken {
            return Ok(parse_lock(&layout.lock_id(target), Some(target.clone()), Some(info), guard));
        }
        if let Some(lock) = lock_of(store, target).await? {
            return Err(LockError::Held { target: target.to_string(), lock: Box::new(lock) });
        }
    }
    let lock = parse_lock(&layout.lock_id(target), Some(target.clone()), None, DeleteGuard::Info(None));
    Err(LockError::Held { target: target.to_string(), lock: Box::new(lock) })
}

/// Releases `lock` (one [`acquire`] took, or one read), only if it is still that lock.
pub(crate) async fn release_taken(store: &S3Store, target: &Target, lock: &LockInfo) -> Result<(), LockError> {
    match store.settings().lock {
        LockMode::Dynamodb => delete_table_lock(store, target, lock).await,
        LockMode::Lockfile => delete_lockfile(store, target, lock).await,
    }
}

/// The lock item, put only if absent; `None` when another holds it.
async fn put_table_lock(store: &S3Store, target: &Target, info: &str) -> Result<Option<DeleteGuard>, StoreError> {
    let table = &store.settings().lock_table;
    let lock_id = store.layout().lock_id(target);
    let result = store
        .clients()
        .dynamodb
        .put_item()
        .table_name(table)
        .item(LOCK_ID, AttributeValue::S(lock_id.clone()))
        .item(INFO, AttributeValue::S(info.to_owned()))
        .condition_expression("attribute_not_exists(#id)")
        .expression_attribute_names("#id", LOCK_ID)
        .send()
        .await;
    match result {
        Ok(_) => Ok(Some(DeleteGuard::Info(Some(info.to_owned())))),
        Err(SdkError::ServiceError(e)) if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) => {
            Ok(None)
        }
        Err(e) => Err(remote("dynamodb", "PutItem", format!("table {table}, LockID {lock_id}"), e)),
    }
}

/// The lock object, put only if absent (encrypted, as Terraform's); `None` when another
/// holds it.
async fn put_lockfile(store: &S3Store, target: &Target, info: &str) -> Result<Option<DeleteGuard>, StoreError> {
    let layout = store.layout();
    let key = layout.lockfile_key(target);
    let result = super::plans::put_object(
        store,
        &key,
        info.as_bytes().to_vec(),
        "application/json",
        super::plans::Condition::IfAbsent,
    )
    .await;
    match result {
        Ok(out) => Ok(Some(DeleteGuard::ETag(out.e_tag().map(str::to_owned)))),
        Err(e) if matches!(http_status(&e), Some(409 | 412)) || error_code(&e) == Some("PreconditionFailed") => {
            Ok(None)
        }
        Err(e) => Err(remote("s3", "PutObject", layout.s3_uri(&key), e)),
    }
}

fn describe_age(age: Option<Duration>) -> String {
    match age {
        Some(age) => format!("only {} old", crate::duration::hms(age)),
        None => "of unknown age".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO_JSON: &str = r#"{"ID":"6b9f0c2e-1111-2222-3333-444455556666","Operation":"OperationTypeApply","Info":"","Who":"runner@host","Version":"1.11.4","Created":"2025-01-02T03:04:05.123456789Z","Path":"state/customers/acme/webshop/staging/terraform.tfstate"}"#;

    fn layout() -> KeyLayout {
        KeyLayout::new("state", "customers").expect("valid")
    }

    fn item(pairs: &[(&str, &str)]) -> HashMap<String, AttributeValue> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), AttributeValue::S((*v).to_owned()))).collect()
    }

    fn target() -> Target {
        Target {
            owner: crate::identity::Owner::Customer(crate::identity::RepoId::parse("acme/webshop").expect("valid")),
            env: EnvName::parse("staging").expect("valid"),
        }
    }

    #[test]
    fn lock_items_are_parsed_and_mapped_to_their_customer() {
        let lock_id = "state/customers/acme/webshop/staging/terraform.tfstate";
        let lock = lock_from_item(&layout(), &item(&[(LOCK_ID, lock_id), (INFO, INFO_JSON)])).expect("a lock");
        assert_eq!(lock.lock_id, lock_id);
        assert_eq!(lock.subject(), "acme/webshop (staging)");
        assert_eq!(lock.id, "6b9f0c2e-1111-2222-3333-444455556666");
        assert_eq!(lock.operation, "OperationTypeApply");
        assert_eq!(lock.who, "runner@host");
        assert_eq!(lock.version, "1.11.4");
        assert_eq!(lock.created, Some("2025-01-02T03:04:05.123456789Z".parse().expect("valid")));
        let later: jiff::Timestamp = "2025-01-02T03:06:05.123456789Z".parse().expect("valid");
        assert_eq!(lock.age(later), Some(Duration::from_secs(120)));
    }

    #[test]
    fn digest_items_are_not_locks() {
        let digest = item(&[
            (LOCK_ID, "state/customers/acme/webshop/staging/terraform.tfstate-md5"),
            ("Digest", "0123456789abcdef0123456789abcdef"),
        ]);
        assert_eq!(lock_from_item(&layout(), &digest), None);
    }

    #[test]
    fn foreign_and_unreadable_locks_are_still_listed() {
        let foreign =
            lock_from_item(&layout(), &item(&[(LOCK_ID, "state/manager/terraform.tfstate"), (INFO, INFO_JSON)]))
                .expect("a lock");
        assert_eq!((&foreign.customer, &foreign.environment), (&None, &None));
        assert_eq!(foreign.subject(), "state/manager/terraform.tfstate");

        let garbled = lock_from_item(&layout(), &item(&[(LOCK_ID, "state/x/terraform.tfstate"), (INFO, "{not json")]))
            .expect("a lock");
        assert_eq!(garbled.created, None);
        assert_eq!(garbled.age(jiff::Timestamp::now()), None);
    }

    #[test]
    fn young_or_undated_locks_need_force() {
        let lock = parse_lock("id", Some(target()), Some(INFO_JSON), DeleteGuard::Info(None));
        let created = lock.created.expect("dated");
        let young = created + jiff::SignedDuration::from_secs(30);
        let old = created + jiff::SignedDuration::from_secs(3600);
        let guard = Duration::from_secs(600);

        let refused = check_guard(&lock, &target(), young, guard, false).expect_err("too young");
        assert_eq!(refused.hint(), Some("pass `--force` if the run holding it is gone"));
        let error = refused.to_string();
        assert!(error.contains("is only 30s old"), "{error}");
        assert!(error.contains("`runner@host`"), "{error}");
        assert!(error.contains("younger than 10m 0s"), "{error}");
        check_guard(&lock, &target(), young, guard, true).expect("forced");
        check_guard(&lock, &target(), old, guard, false).expect("old enough");

        let undated = parse_lock("id", Some(target()), Some("{}"), DeleteGuard::Info(None));
        let error = check_guard(&undated, &target(), old, guard, false).expect_err("unknown age").to_string();
        assert!(error.contains("is of unknown age"), "{error}");
    }
}
