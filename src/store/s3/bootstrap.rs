//! Creates the state bucket and the DynamoDB tables, idempotently.
//!
//! The bucket gets versioning, default SSE-S3 encryption and a full public access block;
//! the tables use on-demand billing. An existing resource is left as it is, except that a
//! bucket missing one of those protections gets it (and the report says so); running
//! bootstrap again reports everything as already existing and changes nothing. The lock
//! table (`LockID` hash key, as Terraform's S3 backend expects) is only made when
//! `lock: dynamodb`; with `lock: lockfile` Terraform locks with S3 objects instead.

use std::fmt;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use serde::Serialize;

use crate::store::StoreError;

use super::client::{error_code, http_status, remote};
use super::{LockMode, S3Store, records};

/// How long to wait for a new table to become `ACTIVE`.
const TABLE_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Which resource a report line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Bucket,
    LockTable,
    RecordsTable,
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bucket => "state bucket",
            Self::LockTable => "lock table",
            Self::RecordsTable => "records table",
        })
    }
}

/// Whether bootstrap made the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceOutcome {
    Created,
    AlreadyExisted,
}

impl fmt::Display for ResourceOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Created => "created",
            Self::AlreadyExisted => "already existed",
        })
    }
}

/// One resource's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceReport {
    pub kind: ResourceKind,
    pub name: String,
    pub outcome: ResourceOutcome,
    /// Settings turned on on a resource that already existed (e.g. `versioning enabled`).
    pub fixed: Vec<String>,
}

impl fmt::Display for ResourceReport {
    /// `state bucket `b`: already existed (fixed: versioning enabled)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`: {}", self.kind, self.name, self.outcome)?;
        if !self.fixed.is_empty() {
            write!(f, " (fixed: {})", self.fixed.join(", "))?;
        }
        Ok(())
    }
}

/// What [`bootstrap`] found and did, one line per resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootstrapReport {
    pub resources: Vec<ResourceReport>,
}

impl BootstrapReport {
    /// Whether anything was created or changed.
    pub fn changed(&self) -> bool {
        self.resources.iter().any(|r| r.outcome == ResourceOutcome::Created || !r.fixed.is_empty())
    }
}

/// Creates whatever of the bucket and tables is missing.
pub async fn bootstrap(store: &S3Store) -> Result<BootstrapReport, StoreError> {
    let settings = store.settings();
    let mut resources = vec![ensure_bucket(store).await?];
    if settings.lock == LockMode::Dynamodb {
        let key = [("LockID", KeyType::Hash)];
        resources.push(ensure_table(store, ResourceKind::LockTable, &settings.lock_table, &key).await?);
    }
    let key = [(records::PARTITION_KEY, KeyType::Hash), (records::SORT_KEY, KeyType::Range)];
    resources.push(ensure_table(store, ResourceKind::RecordsTable, &settings.records_table, &key).await?);
    Ok(BootstrapReport { resources })
}

/// One thing `inspect` looked at, and what is wrong with it (`None`: nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspected {
    pub what: String,
    pub problem: Option<String>,
    pub hint: Option<String>,
}

/// What bootstrap would create or fix, read and changed nothing: the bucket and its
/// versioning, encryption and public access block, and each table with its key.
pub async fn inspect(store: &S3Store) -> Result<Vec<Inspected>, StoreError> {
    let settings = store.settings();
    let bucket = store.layout().bucket();
    let mut found = Vec::new();
    // Every problem but a foreign bucket is one bootstrap fixes.
    let line = |what: String, problem: Option<String>| {
        let hint = problem.as_ref().map(|_| "run `infra-manager bootstrap`, which creates and fixes it".to_owned());
        Inspected { what, problem, hint }
    };
    match store.clients().s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => {
            let checks = [
                ("versioning", versioning_enabled(store).await?, "off: an overwritten state can't be recovered"),
                ("default encryption", encryption_on(store).await?, "off"),
                ("public access block", public_access_blocked(store).await?, "not complete"),
            ];
            found.push(line(format!("state bucket `{bucket}`"), None));
            for (name, ok, problem) in checks {
                let problem = (!ok).then(|| problem.to_owned());
                found.push(line(format!("state bucket `{bucket}` {name}"), problem));
            }
        }
        Err(e) if http_status(&e) == Some(404) => {
            found.push(line(format!("state bucket `{bucket}`"), Some("missing".to_owned())));
        }
        Err(e) if http_status(&e) == Some(403) => found.push(Inspected {
            what: format!("state bucket `{bucket}`"),
            problem: Some("these credentials can't use it (403)".to_owned()),
            hint: Some("the bucket may belong to another account: name another in `state.bucket`".to_owned()),
        }),
        Err(e) => return Err(remote("s3", "HeadBucket", format!("s3://{bucket}"), e)),
    }
    let mut tables = Vec::new();
    if settings.lock == LockMode::Dynamodb {
        tables.push((ResourceKind::LockTable, settings.lock_table.as_str(), vec![("LockID", KeyType::Hash)]));
    }
    tables.push((
        ResourceKind::RecordsTable,
        settings.records_table.as_str(),
        vec![(records::PARTITION_KEY, KeyType::Hash), (records::SORT_KEY, KeyType::Range)],
    ));
    for (kind, name, key) in tables {
        match store.clients().dynamodb.describe_table().table_name(name).send().await {
            Ok(output) => {
                let schema = output.table().map(|t| t.key_schema()).unwrap_or_default();
                let actual: Vec<_> =
                    schema.iter().map(|k| (k.attribute_name().to_owned(), k.key_type().clone())).collect();
                found.push(match check_key_schema(name, &actual, &key) {
                    Ok(()) => line(format!("{kind} `{name}`"), None),
                    Err(e) => Inspected {
                        what: format!("{kind} `{name}`"),
                        problem: Some(e.to_string()),
                        hint: Some("the table was made for something else: name another one in `state:`".to_owned()),
                    },
                });
            }
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {
                found.push(line(format!("{kind} `{name}`"), Some("missing".to_owned())));
            }
            Err(e) => return Err(remote("dynamodb", "DescribeTable", format!("table {name}"), e)),
        }
    }
    Ok(found)
}

async fn ensure_bucket(store: &S3Store) -> Result<ResourceReport, StoreError> {
    let s3 = &store.clients().s3;
    let bucket = store.layout().bucket();
    let location = format!("s3://{bucket}");
    let outcome = match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => ResourceOutcome::AlreadyExisted,
        Err(e) if http_status(&e) == Some(404) => create_bucket(store).await?,
        Err(e) if http_status(&e) == Some(403) => {
            return Err(StoreError::Remote {
                service: "s3",
                operation: "HeadBucket",
                location,
                message: "the bucket exists but these credentials can't use it (403); it may belong to another account"
                    .to_owned(),
            });
        }
        Err(e) => return Err(remote("s3", "HeadBucket", location, e)),
    };
    let mut fixed = Vec::new();
    fixed.extend(ensure_versioning(store).await?);
    fixed.extend(ensure_encryption(store).await?);
    fixed.extend(ensure_public_access_block(store).await?);
    if outcome == ResourceOutcome::Created {
        fixed.clear();
    }
    Ok(ResourceReport { kind: ResourceKind::Bucket, name: bucket.to_owned(), outcome, fixed })
}

async fn create_bucket(store: &S3Store) -> Result<ResourceOutcome, StoreError> {
    let bucket = store.layout().bucket();
    let region = &store.settings().region;
    let mut request = store.clients().s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        let configuration = CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region.as_str()))
            .build();
        request = request.create_bucket_configuration(configuration);
    }
    match request.send().await {
        Ok(_) => Ok(ResourceOutcome::Created),
        // Someone (another bootstrap) made it between our check and create.
        Err(e) if error_code(&e) == Some("BucketAlreadyOwnedByYou") => Ok(ResourceOutcome::AlreadyExisted),
        Err(e) => Err(remote("s3", "CreateBucket", format!("s3://{bucket}"), e)),
    }
}

pub(super) async fn versioning_enabled(store: &S3Store) -> Result<bool, StoreError> {
    let bucket = store.layout().bucket();
    let status = match store.clients().s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(current) => current.status().cloned(),
        // A success the SDK could not parse: moto (5.2.x) names the root element
        // `GetBucketVersioningResponse` instead of `VersioningConfiguration`.
        Err(SdkError::ServiceError(e)) if e.raw().status().is_success() => {
            versioning_status_from_xml(e.raw().body().bytes().unwrap_or_default())
        }
        Err(e) => return Err(remote("s3", "GetBucketVersioning", format!("s3://{bucket}"), e)),
    };
    Ok(status == Some(BucketVersioningStatus::Enabled))
}

/// Turns versioning on, and refuses a store that can't keep versions (an S3-compatible
/// store without them answers `NotImplemented`, or takes the call and keeps none): without
/// versions an overwritten state is gone and `state rollback` has nothing to restore.
async fn ensure_versioning(store: &S3Store) -> Result<Option<String>, StoreError> {
    let s3 = &store.clients().s3;
    let bucket = store.layout().bucket();
    let location = || format!("s3://{bucket}");
    if versioning_enabled(store).await? {
        return Ok(None);
    }
    let configuration = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    let unversioned = |why: String| StoreError::NoVersioning { location: location(), why };
    match s3.put_bucket_versioning().bucket(bucket).versioning_configuration(configuration).send().await {
        Ok(_) => {}
        Err(e) if http_status(&e) == Some(501) || error_code(&e) == Some("NotImplemented") => {
            let code = error_code(&e).unwrap_or("501 Not Implemented").to_owned();
            return Err(unversioned(format!("it answered `{code}` to turning versioning on")));
        }
        Err(e) => return Err(remote("s3", "PutBucketVersioning", location(), e)),
    }
    if !versioning_enabled(store).await? {
        return Err(unversioned("it took the call to turn versioning on, but versioning is still off".to_owned()));
    }
    Ok(Some("versioning enabled".to_owned()))
}

/// The `<Status>` of a GetBucketVersioning body, whatever its root element is called.
fn versioning_status_from_xml(body: &[u8]) -> Option<BucketVersioningStatus> {
    let text = String::from_utf8_lossy(body);
    let status = text.split_once("<Status>")?.1.split_once("</Status>")?.0;
    Some(BucketVersioningStatus::from(status.trim()))
}

async fn encryption_on(store: &S3Store) -> Result<bool, StoreError> {
    let bucket = store.layout().bucket();
    match store.clients().s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(current) => Ok(current
            .server_side_encryption_configuration()
            .is_some_and(|c| c.rules().iter().any(|r| r.apply_server_side_encryption_by_default().is_some()))),
        Err(e) if error_code(&e) == Some("ServerSideEncryptionConfigurationNotFoundError") => Ok(false),
        Err(e) => Err(remote("s3", "GetBucketEncryption", format!("s3://{bucket}"), e)),
    }
}

async fn ensure_encryption(store: &S3Store) -> Result<Option<String>, StoreError> {
    let s3 = &store.clients().s3;
    let bucket = store.layout().bucket();
    let location = || format!("s3://{bucket}");
    if encryption_on(store).await? {
        return Ok(None);
    }
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(|e| StoreError::Corrupt { location: location(), message: e.to_string() })?;
    let rule = ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(by_default).build();
    let configuration = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .map_err(|e| StoreError::Corrupt { location: location(), message: e.to_string() })?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(configuration)
        .send()
        .await
        .map_err(|e| remote("s3", "PutBucketEncryption", location(), e))?;
    Ok(Some("default encryption (SSE-S3) turned on".to_owned()))
}

async fn public_access_blocked(store: &S3Store) -> Result<bool, StoreError> {
    let bucket = store.layout().bucket();
    match store.clients().s3.get_public_access_block().bucket(bucket).send().await {
        Ok(current) => Ok(current.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        })),
        Err(e) if error_code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => Ok(false),
        Err(e) => Err(remote("s3", "GetPublicAccessBlock", format!("s3://{bucket}"), e)),
    }
}

async fn ensure_public_access_block(store: &S3Store) -> Result<Option<String>, StoreError> {
    let s3 = &store.clients().s3;
    let bucket = store.layout().bucket();
    let location = || format!("s3://{bucket}");
    if public_access_blocked(store).await? {
        return Ok(None);
    }
    let configuration = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(configuration)
        .send()
        .await
        .map_err(|e| remote("s3", "PutPublicAccessBlock", location(), e))?;
    Ok(Some("public access blocked".to_owned()))
}

/// Makes the table with `key` (all string attributes) unless it exists; an existing table
/// must have exactly that key schema.
async fn ensure_table(
    store: &S3Store,
    kind: ResourceKind,
    name: &str,
    key: &[(&str, KeyType)],
) -> Result<ResourceReport, StoreError> {
    let dynamodb = &store.clients().dynamodb;
    let location = || format!("table {name}");
    let outcome = match dynamodb.describe_table().table_name(name).send().await {
        Ok(_) => ResourceOutcome::AlreadyExisted,
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {
            let mut request = dynamodb.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
            for (attribute, key_type) in key {
                let definition = AttributeDefinition::builder()
                    .attribute_name(*attribute)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| StoreError::Corrupt { location: location(), message: e.to_string() })?;
                let element = KeySchemaElement::builder()
                    .attribute_name(*attribute)
                    .key_type(key_type.clone())
                    .build()
                    .map_err(|e| StoreError::Corrupt { location: location(), message: e.to_string() })?;
                request = request.attribute_definitions(definition).key_schema(element);
            }
            match request.send().await {
                Ok(_) => ResourceOutcome::Created,
                Err(e) if error_code(&e) == Some("ResourceInUseException") => ResourceOutcome::AlreadyExisted,
                Err(e) => return Err(remote("dynamodb", "CreateTable", location(), e)),
            }
        }
        Err(e) => return Err(remote("dynamodb", "DescribeTable", location(), e)),
    };
    let actual = wait_until_active(store, name).await?;
    check_key_schema(name, &actual, key)?;
    Ok(ResourceReport { kind, name: name.to_owned(), outcome, fixed: Vec::new() })
}

/// Waits for the table to be `ACTIVE` and returns its key schema.
async fn wait_until_active(store: &S3Store, name: &str) -> Result<Vec<(String, KeyType)>, StoreError> {
    let started = std::time::Instant::now();
    loop {
        let output = store
            .clients()
            .dynamodb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| remote("dynamodb", "DescribeTable", format!("table {name}"), e))?;
        let table = output.table();
        let status = table.and_then(|t| t.table_status());
        if status != Some(&TableStatus::Creating) || started.elapsed() > TABLE_READY_TIMEOUT {
            let schema = table.map(|t| t.key_schema()).unwrap_or_default();
            return Ok(schema.iter().map(|k| (k.attribute_name().to_owned(), k.key_type().clone())).collect());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn check_key_schema(name: &str, actual: &[(String, KeyType)], expected: &[(&str, KeyType)]) -> Result<(), StoreError> {
    let matches = actual.len() == expected.len()
        && expected.iter().all(|(attribute, key_type)| actual.iter().any(|(a, k)| a == attribute && k == key_type));
    if matches {
        return Ok(());
    }
    let describe = |keys: Vec<(&str, &KeyType)>| {
        keys.iter().map(|(a, k)| format!("`{a}` ({})", k.as_str())).collect::<Vec<_>>().join(" + ")
    };
    Err(StoreError::Corrupt {
        location: format!("table {name}"),
        message: format!(
            "its key is {} but infra-manager needs {}",
            describe(actual.iter().map(|(a, k)| (a.as_str(), k)).collect()),
            describe(expected.iter().map(|(a, k)| (*a, k)).collect()),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_schema_mismatch_names_both_keys() {
        let expected = [("LockID", KeyType::Hash)];
        check_key_schema("locks", &[("LockID".into(), KeyType::Hash)], &expected).expect("matches");
        let error =
            check_key_schema("locks", &[("id".into(), KeyType::Hash)], &expected).expect_err("mismatch").to_string();
        assert_eq!(error, "`table locks` is not valid: its key is `id` (HASH) but infra-manager needs `LockID` (HASH)");
    }

    #[test]
    fn versioning_status_is_read_from_any_root_element() {
        let moto = br#"<?xml version="1.0"?><GetBucketVersioningResponse xmlns="x"><Status>Enabled</Status></GetBucketVersioningResponse>"#;
        assert_eq!(versioning_status_from_xml(moto), Some(BucketVersioningStatus::Enabled));
        let suspended = b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>";
        assert_eq!(versioning_status_from_xml(suspended), Some(BucketVersioningStatus::Suspended));
        assert_eq!(versioning_status_from_xml(b"<GetBucketVersioningResponse xmlns=\"x\"/>"), None);
    }

    #[test]
    fn report_lines_read_well() {
        let line = ResourceReport {
            kind: ResourceKind::Bucket,
            name: "state".into(),
            outcome: ResourceOutcome::AlreadyExisted,
            fixed: vec!["versioning enabled".into()],
        };
        assert_eq!(line.to_string(), "state bucket `state`: already existed (fixed: versioning enabled)");
        let report = BootstrapReport { resources: vec![line] };
        assert!(report.changed());
    }
}
