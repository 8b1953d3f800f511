//! The versions of a target's state object, as bucket versioning keeps them, and a version
//! written back under Terraform's lock.
//!
//! A version's serial and lineage come from its first [`HEADER_BYTES`] (a ranged GET), so
//! a listing does not download whole states. A state written here is written as Terraform's
//! S3 backend writes it: the object (SSE-S3, `application/json`), then, with a lock table,
//! the `<LockID>-md5` item holding the object's MD5, which Terraform checks on every read.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::client::{error_code, http_status, remote};
use super::locks::{self, LockError, LockInfo};
use super::{LockMode, S3Store, plans};
use crate::identity::Target;
use crate::store::StoreError;
use crate::store::versions::{
    HEADER_BYTES, Holder, LockedState, StateVersion, StateVersions, lock_info_json, valid_version_id,
};

#[async_trait]
impl StateVersions for S3Store {
    async fn unversioned(&self) -> Result<Option<String>, StoreError> {
        let bucket = self.layout().bucket();
        Ok((!super::bootstrap::versioning_enabled(self).await?)
            .then(|| format!("versioning is not enabled on the bucket `{bucket}`")))
    }

    async fn keep_current(&self, target: &Target) -> Result<Option<StateVersion>, StoreError> {
        current(self, target).await
    }

    async fn version_list(&self, target: &Target, limit: usize) -> Result<Vec<StateVersion>, StoreError> {
        list(self, target, limit).await
    }

    async fn read_head(&self, target: &Target, version_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !valid_version_id(version_id) {
            return Ok(None);
        }
        Ok(get(self, target, Some(version_id), Some(&head_range())).await?.map(|(bytes, _, _)| bytes))
    }

    async fn read_version(&self, target: &Target, version_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !valid_version_id(version_id) {
            return Ok(None);
        }
        Ok(get(self, target, Some(version_id), None).await?.map(|(bytes, _, _)| bytes))
    }

    async fn lock_state<'s>(
        &'s self,
        target: &Target,
        holder: &Holder,
    ) -> Result<Box<dyn LockedState + 's>, LockError> {
        let info = lock_info_json(holder, &self.layout().lock_id(target));
        let lock = locks::acquire(self, target, &info).await?;
        Ok(Box::new(S3Locked { store: self, target: target.clone(), lock }))
    }
}

/// A target's state while this run holds its lock.
struct S3Locked<'s> {
    store: &'s S3Store,
    target: Target,
    lock: LockInfo,
}

#[async_trait]
impl LockedState for S3Locked<'_> {
    async fn read(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(get(self.store, &self.target, None, None).await?.map(|(bytes, _, _)| bytes))
    }

    async fn write(&mut self, state: &[u8]) -> Result<StateVersion, StoreError> {
        write(self.store, &self.target, state).await
    }

    async fn release(self: Box<Self>) -> Result<(), LockError> {
        locks::release_taken(self.store, &self.target, &self.lock).await
    }
}

/// The state object's versions (id, time, whether current), newest first, at most `limit`.
async fn list(store: &S3Store, target: &Target, limit: usize) -> Result<Vec<StateVersion>, StoreError> {
    let layout = store.layout();
    let key = layout.state_key(target);
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    let mut out = Vec::new();
    loop {
        let page = store
            .clients()
            .s3
            .list_object_versions()
            .bucket(layout.bucket())
            .prefix(&key)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| remote("s3", "ListObjectVersions", layout.s3_uri(&key), e))?;
        // The prefix also matches `<key>.tflock` and the like: only the state object counts.
        for version in page.versions().iter().filter(|v| v.key() == Some(key.as_str())) {
            match version.version_id().filter(|id| valid_version_id(id)) {
                Some(id) => out.push(StateVersion {
                    version_id: id.to_owned(),
                    written_at: version.last_modified().map(ToString::to_string),
                    serial: None,
                    lineage: None,
                    current: version.is_latest() == Some(true),
                }),
                None => tracing::warn!(key, "leaving out a state version whose id is not usable"),
            }
            if out.len() >= limit {
                return Ok(out);
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(out);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
        if key_marker.is_none() && version_marker.is_none() {
            return Ok(out);
        }
    }
}

/// The first [`HEADER_BYTES`] of an object, as a `Range` header.
fn head_range() -> String {
    format!("bytes=0-{}", HEADER_BYTES - 1)
}

/// The current version of the state, read from its first bytes.
async fn current(store: &S3Store, target: &Target) -> Result<Option<StateVersion>, StoreError> {
    let Some((bytes, id, written_at)) = get(store, target, None, Some(&head_range())).await? else { return Ok(None) };
    // An unversioned bucket's object is S3's `null` version.
    let id = id.filter(|id| valid_version_id(id)).unwrap_or_else(|| "null".to_owned());
    Ok(Some(StateVersion::of(id, written_at, &bytes, true)))
}

/// A version of the state object (`None`: the current one), or its first bytes: the bytes,
/// the version id and the time. `None` when there is no such object or version.
async fn get(
    store: &S3Store,
    target: &Target,
    version: Option<&str>,
    range: Option<&str>,
) -> Result<Option<(Vec<u8>, Option<String>, Option<String>)>, StoreError> {
    let layout = store.layout();
    let key = layout.state_key(target);
    let location = || match version {
        Some(v) => format!("{} (version {v})", layout.s3_uri(&key)),
        None => layout.s3_uri(&key),
    };
    let request = store.clients().s3.get_object().bucket(layout.bucket()).key(&key);
    let output =
        match request.set_version_id(version.map(str::to_owned)).set_range(range.map(str::to_owned)).send().await {
            Ok(output) => output,
            // No object, no such version, or an id S3 does not take as one.
            Err(e)
                if matches!(error_code(&e), Some("NoSuchKey" | "NoSuchVersion" | "InvalidArgument"))
                    || matches!(http_status(&e), Some(404)) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(remote("s3", "GetObject", location(), e)),
        };
    let id = output.version_id().map(str::to_owned);
    let written_at = output.last_modified().map(ToString::to_string);
    Ok(Some((plans::body(output, &location()).await?, id, written_at)))
}

/// Writes `state` as the current state object, then its digest item (with a lock table).
async fn write(store: &S3Store, target: &Target, state: &[u8]) -> Result<StateVersion, StoreError> {
    let layout = store.layout();
    let key = layout.state_key(target);
    let output = plans::put_object(store, &key, state.to_vec(), "application/json", plans::Condition::None)
        .await
        .map_err(|e| remote("s3", "PutObject", layout.s3_uri(&key), e))?;
    if store.settings().lock == LockMode::Dynamodb {
        put_digest(store, target, state).await?;
    }
    let id = output.version_id().filter(|id| valid_version_id(id)).unwrap_or("null").to_owned();
    Ok(StateVersion::of(id, Some(crate::pipeline::now()), state, true))
}

/// Terraform's digest item: the hex MD5 of the state object it must read back.
async fn put_digest(store: &S3Store, target: &Target, state: &[u8]) -> Result<(), StoreError> {
    use md5::Digest;
    let table = &store.settings().lock_table;
    let id = store.layout().digest_id(target);
    store
        .clients()
        .dynamodb
        .put_item()
        .table_name(table)
        .item("LockID", AttributeValue::S(id.clone()))
        .item("Digest", AttributeValue::S(hex::encode(md5::Md5::digest(state))))
        .send()
        .await
        .map_err(|e| remote("dynamodb", "PutItem", format!("table {table}, LockID {id}"), e))?;
    Ok(())
}
