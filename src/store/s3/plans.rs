//! Stored plans in the state bucket, and the pointer to each target's newest plan.
//!
//! `put_plan` writes `<sha>.tfplan` and `<sha>.json` (both SSE-S3 encrypted), then moves
//! `plans/latest.json` forward with a conditional write: `If-None-Match: *` when there is
//! no pointer yet, `If-Match: <etag read>` otherwise. A writer that loses the race re-reads
//! the pointer and tries again (bounded), and never replaces a pointer whose plan was made
//! later than its own: it gets [`StoreError::Superseded`] instead, its plan stays stored.

use std::time::Duration;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use sha2::{Digest, Sha256};

use crate::identity::{Sha, Target};
use crate::store::{LIST_PLANS_SCAN, PlanKey, PlanMeta, StoreError};

use super::S3Store;
use super::client::{error_code, http_status, remote};

/// How often a writer re-reads the pointer after losing a race before giving up.
const POINTER_ATTEMPTS: u32 = 8;

/// Stores the plan, its metadata and, when given, its reviewable document (best effort: its
/// outcome comes back beside the plan's), then moves the pointer.
pub(super) async fn put_plan(
    store: &S3Store,
    target: &Target,
    plan: &[u8],
    meta: &PlanMeta,
    reviewable: Option<(&Sha, &[u8])>,
) -> (Result<(), StoreError>, Result<PlanKey, StoreError>) {
    let keep = async {
        match reviewable {
            Some((sha, document)) => put_reviewable(store, target, sha, document).await,
            None => Ok(()),
        }
    };
    // All before the pointer names the plan, in one round trip: none needs another.
    let (kept, stored) = tokio::join!(keep, put_plan_objects(store, target, plan, meta));
    (kept, stored)
}

async fn put_plan_objects(
    store: &S3Store,
    target: &Target,
    plan: &[u8],
    meta: &PlanMeta,
) -> Result<PlanKey, StoreError> {
    let layout = store.layout();
    let sha = check_meta(target, plan, meta, &layout.s3_uri(&layout.plans_dir(target)))?;
    let plan_key = layout.plan_key(target, &sha);
    let meta_key = layout.plan_meta_key(target, &sha);
    let meta_json = to_json(meta, &meta_key)?;

    // Both before the pointer names them; neither needs the other, nor the pointer's first
    // read (a pointer moved meanwhile fails the conditional write, which reads it again).
    let latest = layout.latest_key(target);
    let (_, _, current) = tokio::try_join!(
        async {
            put_object(store, &plan_key, plan.to_vec(), "application/octet-stream", Condition::None)
                .await
                .map_err(|e| remote("s3", "PutObject", layout.s3_uri(&plan_key), e))
        },
        async {
            put_object(store, &meta_key, meta_json.clone(), "application/json", Condition::None)
                .await
                .map_err(|e| remote("s3", "PutObject", layout.s3_uri(&meta_key), e))
        },
        read_object(store, &latest),
    )?;
    advance_pointer(store, target, meta, meta_json, current).await?;
    Ok(layout.s3_uri(&plan_key))
}

pub(super) async fn latest_plan(store: &S3Store, target: &Target) -> Result<Option<PlanMeta>, StoreError> {
    let key = store.layout().latest_key(target);
    match read_object(store, &key).await? {
        None => Ok(None),
        Some((bytes, _etag)) => parse_meta(&bytes, &store.layout().s3_uri(&key)).map(Some),
    }
}

/// Lists `<dir>/plans/` (page by page, at most [`LIST_PLANS_SCAN`] objects), keeps the
/// `<sha>.json` metadata objects, and reads the `limit` most recently stored.
pub(super) async fn list_plans(store: &S3Store, target: &Target, limit: usize) -> Result<Vec<PlanMeta>, StoreError> {
    let layout = store.layout();
    let prefix = format!("{}/", layout.plans_dir(target));
    let mut pages =
        store.clients().s3.list_objects_v2().bucket(layout.bucket()).prefix(&prefix).into_paginator().send();
    let mut found: Vec<(i64, String)> = Vec::new();
    let mut scanned = 0;
    while scanned < LIST_PLANS_SCAN
        && let Some(page) = pages.next().await
    {
        let page = page.map_err(|e| remote("s3", "ListObjectsV2", layout.s3_uri(&prefix), e))?;
        for object in page.contents() {
            scanned += 1;
            let Some(key) = object.key() else { continue };
            let is_meta = key
                .strip_prefix(&prefix)
                .and_then(|name| name.strip_suffix(".json"))
                .is_some_and(|sha| Sha::parse(sha).is_ok());
            if is_meta {
                found.push((object.last_modified().map_or(0, |t| t.secs()), key.to_owned()));
            }
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut metas = Vec::new();
    for (_, key) in found.into_iter().take(limit) {
        // A plan removed between listing and reading is simply no longer there.
        if let Some((bytes, _)) = read_object(store, &key).await? {
            match parse_meta(&bytes, &layout.s3_uri(&key)) {
                Ok(meta) => metas.push(meta),
                Err(error) => tracing::warn!(%error, "leaving out unreadable plan metadata"),
            }
        }
    }
    crate::store::newest_first(&mut metas);
    Ok(metas)
}

pub(super) async fn get_plan(store: &S3Store, target: &Target, sha: &Sha) -> Result<(Vec<u8>, PlanMeta), StoreError> {
    let layout = store.layout();
    let no_plan = || StoreError::NoPlan { target: format!("{target} at {sha}") };
    let meta_key = layout.plan_meta_key(target, sha);
    let (meta_bytes, _) = read_object(store, &meta_key).await?.ok_or_else(no_plan)?;
    let meta_location = layout.s3_uri(&meta_key);
    let meta = parse_meta(&meta_bytes, &meta_location)?;
    if meta.sha != sha.as_str() {
        return Err(StoreError::Corrupt {
            location: meta_location,
            message: format!("it describes commit `{}`, not `{sha}`", meta.sha),
        });
    }
    let plan_key = layout.plan_key(target, sha);
    let (plan, _) = read_object(store, &plan_key).await?.ok_or_else(no_plan)?;
    let digest = hex::encode(Sha256::digest(&plan));
    if !digest.eq_ignore_ascii_case(&meta.plan_sha256) {
        return Err(StoreError::Checksum {
            location: layout.s3_uri(&plan_key),
            expected: meta.plan_sha256.clone(),
            actual: digest,
        });
    }
    Ok((plan, meta))
}

/// Keeps `<dir>/plans/<sha>.reviewable.json` (encrypted), beside the plan.
pub(super) async fn put_reviewable(
    store: &S3Store,
    target: &Target,
    sha: &Sha,
    document: &[u8],
) -> Result<(), StoreError> {
    let layout = store.layout();
    let key = layout.reviewable_key(target, sha);
    put_object(store, &key, document.to_vec(), "application/json", Condition::None)
        .await
        .map(|_| ())
        .map_err(|e| remote("s3", "PutObject", layout.s3_uri(&key), e))
}

pub(super) async fn get_reviewable(store: &S3Store, target: &Target, sha: &Sha) -> Result<Option<Vec<u8>>, StoreError> {
    let key = store.layout().reviewable_key(target, sha);
    Ok(read_object(store, &key).await?.map(|(bytes, _)| bytes))
}

/// Checks that `meta` describes this target and these plan bytes; returns its SHA.
fn check_meta(target: &Target, plan: &[u8], meta: &PlanMeta, location: &str) -> Result<Sha, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt { location: location.to_owned(), message };
    let sha = Sha::parse(&meta.sha).map_err(|e| corrupt(format!("plan metadata: {e}")))?;
    if meta.customer != target.owner.to_string() || meta.environment != target.env.as_str() {
        return Err(corrupt(format!(
            "plan metadata names {}/{} but the plan is for {target}",
            meta.customer, meta.environment
        )));
    }
    let digest = hex::encode(Sha256::digest(plan));
    if !digest.eq_ignore_ascii_case(&meta.plan_sha256) {
        return Err(corrupt(format!(
            "plan metadata says sha256 `{}` but the plan file's is `{digest}`",
            meta.plan_sha256
        )));
    }
    parse_time(&meta.created_at).map_err(|e| corrupt(format!("plan metadata `created_at`: {e}")))?;
    Ok(sha)
}

/// Moves the latest-plan pointer to `meta`, unless a later plan already holds it.
async fn advance_pointer(
    store: &S3Store,
    target: &Target,
    meta: &PlanMeta,
    meta_json: Vec<u8>,
    first_read: Option<(Vec<u8>, Option<String>)>,
) -> Result<(), StoreError> {
    let key = store.layout().latest_key(target);
    let mut first_read = Some(first_read);
    let location = store.layout().s3_uri(&key);
    let ours =
        parse_time(&meta.created_at).map_err(|message| StoreError::Corrupt { location: location.clone(), message })?;

    for attempt in 1..=POINTER_ATTEMPTS {
        let current = match first_read.take() {
            Some(read) => read,
            None => read_object(store, &key).await?,
        };
        let condition = match current {
            None => Condition::IfAbsent,
            Some((bytes, etag)) => {
                match parse_meta(&bytes, &location) {
                    Ok(current) => {
                        let theirs = parse_time(&current.created_at);
                        if let Ok(theirs) = theirs
                            && theirs > ours
                        {
                            return Err(StoreError::Superseded {
                                target: target.to_string(),
                                sha: meta.sha.clone(),
                                newer: current.sha,
                            });
                        }
                    }
                    Err(error) => tracing::warn!(%error, "replacing an unreadable latest-plan pointer"),
                }
                match etag {
                    Some(etag) => Condition::IfMatch(etag),
                    None => {
                        return Err(StoreError::Corrupt {
                            location,
                            message: "the store returned no ETag, so it can't be updated safely".to_owned(),
                        });
                    }
                }
            }
        };
        match put_object(store, &key, meta_json.clone(), "application/json", condition).await {
            Ok(_) => return Ok(()),
            Err(error) if lost_race(&error) => {
                tracing::debug!(attempt, %location, "latest-plan pointer changed under us; re-reading");
                let pause = 25 * u64::from(attempt) + fastrand::u64(0..50);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Err(error) => return Err(remote("s3", "PutObject", location, error)),
        }
    }
    Err(StoreError::Remote {
        service: "s3",
        operation: "PutObject",
        location,
        message: format!("the latest-plan pointer kept changing; gave up after {POINTER_ATTEMPTS} attempts"),
    })
}

/// Whether a conditional put failed because someone else wrote (or removed) the object first.
fn lost_race<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    matches!(http_status(error), Some(404 | 409 | 412))
        || matches!(error_code(error), Some("PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey"))
}

#[derive(Debug, Clone)]
pub(super) enum Condition {
    None,
    /// `If-None-Match: *`: only if there is no object yet.
    IfAbsent,
    /// `If-Match: <etag>`: only if the object is still the one read.
    IfMatch(String),
}

/// An object written encrypted (SSE-S3), as every object of the store and Terraform's are.
pub(super) async fn put_object(
    store: &S3Store,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
    condition: Condition,
) -> Result<
    aws_sdk_s3::operation::put_object::PutObjectOutput,
    SdkError<aws_sdk_s3::operation::put_object::PutObjectError, aws_sdk_s3::config::http::HttpResponse>,
> {
    let mut request = store
        .clients()
        .s3
        .put_object()
        .bucket(store.layout().bucket())
        .key(key)
        .content_type(content_type)
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from(body));
    request = match condition {
        Condition::None => request,
        Condition::IfAbsent => request.if_none_match("*"),
        Condition::IfMatch(etag) => request.if_match(etag),
    };
    request.send().await
}

/// Keeps an errored state at `<dir>/errored/<time>-<random>.tfstate` (encrypted).
pub(super) async fn put_errored_state(store: &S3Store, target: &Target, state: &[u8]) -> Result<String, StoreError> {
    let layout = store.layout();
    let name = format!("{}-{:08x}", jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ"), fastrand::u32(..));
    let key = format!("{}/errored/{name}.tfstate", layout.target_dir(target));
    put_object(store, &key, state.to_vec(), "application/json", Condition::IfAbsent)
        .await
        .map_err(|e| remote("s3", "PutObject", layout.s3_uri(&key), e))?;
    Ok(layout.s3_uri(&key))
}

/// Every key under the store's prefix that `keep` accepts (paginated listing).
pub(super) async fn keys_where(store: &S3Store, keep: impl Fn(&str) -> bool) -> Result<Vec<String>, StoreError> {
    let layout = store.layout();
    let prefix = layout.list_prefix();
    let mut pages =
        store.clients().s3.list_objects_v2().bucket(layout.bucket()).prefix(&prefix).into_paginator().send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| remote("s3", "ListObjectsV2", layout.s3_uri(&prefix), e))?;
        keys.extend(page.contents().iter().filter_map(|o| o.key()).filter(|k| keep(k)).map(str::to_owned));
    }
    Ok(keys)
}

/// Every target with a state object under the key prefix.
pub(super) async fn state_targets(store: &S3Store) -> Result<Vec<Target>, StoreError> {
    let layout = store.layout();
    let keys = keys_where(store, |k| layout.target_of_state_key(k).is_some()).await?;
    Ok(keys.iter().filter_map(|k| layout.target_of_state_key(k)).collect())
}

/// An object's bytes and ETag, or `None` when there is no such key.
pub(super) async fn read_object(store: &S3Store, key: &str) -> Result<Option<(Vec<u8>, Option<String>)>, StoreError> {
    let location = || store.layout().s3_uri(key);
    let output = match store.clients().s3.get_object().bucket(store.layout().bucket()).key(key).send().await {
        Ok(output) => output,
        Err(SdkError::ServiceError(e)) if matches!(e.err(), GetObjectError::NoSuchKey(_)) => return Ok(None),
        Err(error) => return Err(remote("s3", "GetObject", location(), error)),
    };
    let etag = output.e_tag().map(str::to_owned);
    Ok(Some((body(output, &location()).await?, etag)))
}

/// A GetObject's body, read whole.
pub(super) async fn body(
    output: aws_sdk_s3::operation::get_object::GetObjectOutput,
    location: &str,
) -> Result<Vec<u8>, StoreError> {
    let bytes = output.body.collect().await.map_err(|e| StoreError::Remote {
        service: "s3",
        operation: "GetObject",
        location: location.to_owned(),
        message: format!("reading the body failed: {e}"),
    })?;
    Ok(bytes.into_bytes().to_vec())
}

fn parse_meta(bytes: &[u8], location: &str) -> Result<PlanMeta, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt { location: location.to_owned(), message: format!("not plan metadata: {e}") })
}

fn to_json(meta: &PlanMeta, key: &str) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec_pretty(meta)
        .map_err(|e| StoreError::Corrupt { location: key.to_owned(), message: format!("can't serialize: {e}") })
}

fn parse_time(value: &str) -> Result<jiff::Timestamp, String> {
    value.parse::<jiff::Timestamp>().map_err(|e| format!("`{value}` is not an RFC 3339 timestamp: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{EnvName, RepoId};

    fn target() -> Target {
        Target {
            owner: crate::identity::Owner::Customer(RepoId::parse("acme/webshop").expect("valid")),
            env: EnvName::parse("staging").expect("valid"),
        }
    }

    fn meta(plan: &[u8]) -> PlanMeta {
        PlanMeta {
            customer: "acme/webshop".into(),
            plan_sha256: hex::encode(Sha256::digest(plan)),
            config_sha256: "c".repeat(64),
            ..PlanMeta::example(&"a".repeat(40), "2025-01-02T03:04:05Z")
        }
    }

    #[test]
    fn metadata_must_match_target_plan_and_format() {
        let plan = b"plan bytes";
        assert_eq!(check_meta(&target(), plan, &meta(plan), "loc").expect("valid").as_str(), "a".repeat(40));

        let cases: [(PlanMeta, &str); 5] = [
            (PlanMeta { sha: "../x".into(), ..meta(plan) }, "is not a commit SHA"),
            (PlanMeta { customer: "other/repo".into(), ..meta(plan) }, "names other/repo/staging"),
            (PlanMeta { environment: "production".into(), ..meta(plan) }, "names acme/webshop/production"),
            (PlanMeta { plan_sha256: "0".repeat(64), ..meta(plan) }, "plan file's is"),
            (PlanMeta { created_at: "yesterday".into(), ..meta(plan) }, "`yesterday` is not an RFC 3339"),
        ];
        for (bad, expected) in cases {
            let error = check_meta(&target(), plan, &bad, "loc").expect_err(expected).to_string();
            assert!(error.contains(expected), "{error:?} should contain {expected:?}");
        }
    }

    #[test]
    fn timestamps_compare_as_instants_not_strings() {
        let earlier = parse_time("2025-01-02T03:04:05.9+01:00").expect("valid");
        let later = parse_time("2025-01-02T02:04:06Z").expect("valid");
        assert!(later > earlier);
    }
}
