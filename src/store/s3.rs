//! The S3 + DynamoDB store: Terraform state, stored plans, run records and locks on AWS.
//!
//! [`S3Store`] implements [`Store`] for the production backend. Its settings come from the
//! `state:` section of `infra-manager.yml` ([`S3Settings`]). One submodule per concept:
//!
//! - [`client`]: the SDK clients (credential chain, region, endpoint, ring TLS);
//! - [`keys`]: pure key layout — state key, plan keys, lock IDs, and back to a target;
//! - [`plans`]: plan files, their metadata and the conditional latest-plan pointer;
//! - [`records`]: the run-records table;
//! - [`locks`]: listing and releasing Terraform's state locks;
//! - [`bootstrap`]: creating the bucket and tables idempotently;
//! - [`versions`]: the state object's versions, and one written back under the lock.

pub mod bootstrap;
pub mod client;
pub mod keys;
pub mod locks;
pub mod plans;
pub mod records;
pub mod versions;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::identity::{Sha, Target};
use crate::store::{Backend, Bootstrap, LockAdmin, PlanKey, PlanMeta, RunRecord, Store, StoreError};

/// How Terraform locks S3 state (`state.lock` in infra-manager.yml).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// A `LockID` item in the lock table (`dynamodb_table`).
    #[default]
    Dynamodb,
    /// S3-native lock objects, `<state key>.tflock` (`use_lockfile = true`).
    Lockfile,
}

pub use bootstrap::{BootstrapReport, Inspected, ResourceKind, ResourceOutcome, ResourceReport, bootstrap};
pub use client::AwsClients;
pub use keys::KeyLayout;
pub use locks::{LockError, LockInfo, ReleaseOutcome, list_locks, release_lock};

/// The `state:` settings of the S3 backend; missing keys take the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// An S3-compatible endpoint (also used for DynamoDB); `AWS_ENDPOINT_URL` when unset.
    pub endpoint: Option<String>,
    pub force_path_style: bool,
    /// State keys are `<key_prefix>/<owner>/<repo>/<env>/terraform.tfstate`; may be empty.
    pub key_prefix: String,
    pub lock: LockMode,
    pub lock_table: String,
    pub records_table: String,
    /// The bound on one S3 or DynamoDB call attempt (`state.call_timeout`); a call with
    /// its retries gives up after three times this.
    #[serde(skip, default = "default_call_timeout")]
    pub call_timeout: std::time::Duration,
}

fn default_call_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

impl Default for S3Settings {
    /// The defaults of `infra-manager.yml`'s `state:` section.
    fn default() -> Self {
        Self {
            bucket: "service-provider-terraform-state".to_owned(),
            region: "us-east-1".to_owned(),
            endpoint: None,
            force_path_style: false,
            key_prefix: "customers".to_owned(),
            lock: LockMode::Dynamodb,
            lock_table: "terraform-state-locks".to_owned(),
            records_table: "infra-manager-runs".to_owned(),
            call_timeout: default_call_timeout(),
        }
    }
}

/// Settings that can't be used, found before any call is made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("state key prefix `{prefix}` is not allowed: {reason}")]
    KeyPrefix { prefix: String, reason: &'static str },
    #[error("state bucket `{bucket}` is not a valid S3 bucket name")]
    Bucket { bucket: String },
    #[error("{what} `{name}` is not a valid DynamoDB table name")]
    Table { what: &'static str, name: String },
    #[error("region `{region}` is not valid")]
    Region { region: String },
    #[error("endpoint `{endpoint}` is not an http(s) URL")]
    Endpoint { endpoint: String },
}

impl SettingsError {
    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::KeyPrefix { .. } => "use a relative prefix such as `customers`, made of `A-Z a-z 0-9 . _ - /`",
            Self::Bucket { .. } => "use 3 to 63 characters from `a-z 0-9 . -`",
            Self::Table { .. } => "use 3 to 255 characters from `A-Z a-z 0-9 . _ -`",
            Self::Region { .. } => "set `state.region` (or `AWS_REGION`), e.g. `us-east-1`",
            Self::Endpoint { .. } => "set `state.endpoint` or `AWS_ENDPOINT_URL` to e.g. `http://127.0.0.1:5000`",
        }
    }
}

impl S3Settings {
    /// Checks every name before it is used in a key, a table call or a backend block.
    pub fn validate(&self) -> Result<(), SettingsError> {
        KeyLayout::new(&self.bucket, &self.key_prefix)?;
        for (what, name) in [("lock table", &self.lock_table), ("records table", &self.records_table)] {
            let ok = (3..=255).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if !ok {
                return Err(SettingsError::Table { what, name: name.clone() });
            }
        }
        let region_ok = !self.region.is_empty()
            && self.region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(SettingsError::Region { region: self.region.clone() });
        }
        if let Some(endpoint) = &self.endpoint {
            check_endpoint(endpoint)?;
        }
        Ok(())
    }

    /// These settings with `endpoint` filled from `env_endpoint` (`AWS_ENDPOINT_URL`, read by
    /// the settings layer) when the file names none.
    pub fn with_env_endpoint(self, env_endpoint: Option<&str>) -> Self {
        let endpoint = self.endpoint.or_else(|| env_endpoint.filter(|v| !v.trim().is_empty()).map(str::to_owned));
        Self { endpoint, ..self }
    }
}

fn check_endpoint(endpoint: &str) -> Result<(), SettingsError> {
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        Ok(())
    } else {
        Err(SettingsError::Endpoint { endpoint: endpoint.to_owned() })
    }
}

/// Plans, records and state on S3 and DynamoDB.
#[derive(Debug, Clone)]
pub struct S3Store {
    settings: S3Settings,
    layout: KeyLayout,
    endpoint: Option<String>,
    clients: AwsClients,
}

impl S3Store {
    /// Connects with the standard AWS credential chain (environment, profile, SSO, web
    /// identity, container and instance metadata).
    pub async fn new(settings: S3Settings) -> Result<Self, SettingsError> {
        Self::connect(settings, None).await
    }

    /// Connects with fixed credentials instead of the credential chain (tests, moto).
    pub async fn with_credentials(
        settings: S3Settings,
        credentials: aws_sdk_s3::config::Credentials,
    ) -> Result<Self, SettingsError> {
        Self::connect(settings, Some(credentials)).await
    }

    async fn connect(
        settings: S3Settings,
        credentials: Option<aws_sdk_s3::config::Credentials>,
    ) -> Result<Self, SettingsError> {
        settings.validate()?;
        let layout = KeyLayout::new(&settings.bucket, &settings.key_prefix)?;
        let endpoint = settings.endpoint.clone();
        let clients = AwsClients::connect(&settings, endpoint.as_deref(), credentials).await;
        Ok(Self { settings, layout, endpoint, clients })
    }

    pub fn settings(&self) -> &S3Settings {
        &self.settings
    }

    pub fn layout(&self) -> &KeyLayout {
        &self.layout
    }

    /// The custom endpoint in use, if any.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The SDK clients, for callers that need a call this store does not wrap.
    pub fn clients(&self) -> &AwsClients {
        &self.clients
    }
}

/// The `backend "s3"` settings for `target`'s state.
pub fn backend_block(settings: &S3Settings, layout: &KeyLayout, endpoint: Option<&str>, target: &Target) -> Backend {
    let mut block = Map::new();
    block.insert("bucket".into(), json!(settings.bucket));
    block.insert("key".into(), json!(layout.state_key(target)));
    block.insert("region".into(), json!(settings.region));
    block.insert("encrypt".into(), json!(true));
    match settings.lock {
        LockMode::Dynamodb => block.insert("dynamodb_table".into(), json!(settings.lock_table)),
        LockMode::Lockfile => block.insert("use_lockfile".into(), json!(true)),
    };
    if let Some(endpoint) = endpoint {
        block.insert("endpoints".into(), json!({ "s3": endpoint, "dynamodb": endpoint }));
        block.insert("use_path_style".into(), json!(true));
        for skip in [
            "skip_credentials_validation",
            "skip_requesting_account_id",
            "skip_metadata_api_check",
            "skip_region_validation",
        ] {
            block.insert(skip.into(), Value::Bool(true));
        }
    } else if settings.force_path_style {
        block.insert("use_path_style".into(), json!(true));
    }
    Backend { kind: "s3", settings: block }
}

#[async_trait]
impl Store for S3Store {
    fn backend(&self, target: &Target) -> Backend {
        backend_block(&self.settings, &self.layout, self.endpoint.as_deref(), target)
    }

    fn plan_key(&self, target: &Target, sha: &Sha) -> PlanKey {
        self.layout.s3_uri(&self.layout.plan_key(target, sha))
    }

    async fn put_errored_state(&self, target: &Target, state: &[u8]) -> Result<String, StoreError> {
        plans::put_errored_state(self, target, state).await
    }

    async fn put_plan(&self, target: &Target, plan: &[u8], meta: &PlanMeta) -> Result<PlanKey, StoreError> {
        plans::put_plan(self, target, plan, meta, None).await.1
    }

    /// The document goes with the plan's own objects, in the same round trip.
    async fn put_plan_and_reviewable(
        &self,
        target: &Target,
        plan: &[u8],
        meta: &PlanMeta,
        sha: &Sha,
        reviewable: &[u8],
    ) -> (Result<(), StoreError>, Result<PlanKey, StoreError>) {
        plans::put_plan(self, target, plan, meta, Some((sha, reviewable))).await
    }

    async fn put_reviewable(&self, target: &Target, sha: &Sha, document: &[u8]) -> Result<(), StoreError> {
        plans::put_reviewable(self, target, sha, document).await
    }

    async fn get_reviewable(&self, target: &Target, sha: &Sha) -> Result<Option<Vec<u8>>, StoreError> {
        plans::get_reviewable(self, target, sha).await
    }

    async fn latest_plan(&self, target: &Target) -> Result<Option<PlanMeta>, StoreError> {
        plans::latest_plan(self, target).await
    }

    async fn list_plans(&self, target: &Target, limit: usize) -> Result<Vec<PlanMeta>, StoreError> {
        plans::list_plans(self, target, limit).await
    }

    async fn get_plan(&self, target: &Target, sha: &Sha) -> Result<(Vec<u8>, PlanMeta), StoreError> {
        plans::get_plan(self, target, sha).await
    }

    async fn record_run(&self, record: &RunRecord) -> Result<(), StoreError> {
        records::record_run(self, record).await
    }

    async fn records(&self, partition: &str, env: Option<&str>) -> Result<Vec<RunRecord>, StoreError> {
        records::history(self, partition, env).await
    }

    fn locks(&self) -> Option<&dyn LockAdmin> {
        Some(self)
    }

    fn states(&self) -> Option<&dyn super::States> {
        Some(self)
    }

    fn bootstrapper(&self) -> Option<&dyn Bootstrap> {
        Some(self)
    }

    fn versions(&self) -> Option<&dyn crate::store::StateVersions> {
        Some(self)
    }
}

#[async_trait]
impl super::States for S3Store {
    async fn state_targets(&self) -> Result<Vec<Target>, StoreError> {
        plans::state_targets(self).await
    }

    async fn state_resources(&self, target: &Target) -> Result<Option<usize>, StoreError> {
        let key = self.layout().state_key(target);
        let Some((bytes, _)) = plans::read_object(self, &key).await? else { return Ok(None) };
        super::count_resources(&bytes)
            .map(Some)
            .map_err(|message| StoreError::Corrupt { location: self.layout().s3_uri(&key), message })
    }
}

#[async_trait]
impl LockAdmin for S3Store {
    async fn list_locks(&self) -> Result<Vec<LockInfo>, LockError> {
        list_locks(self).await
    }

    async fn lock_of(&self, target: &Target) -> Result<Option<LockInfo>, LockError> {
        locks::lock_of(self, target).await
    }

    async fn release_lock(
        &self,
        target: &Target,
        older_than: std::time::Duration,
        force: bool,
    ) -> Result<ReleaseOutcome, LockError> {
        release_lock(self, target, older_than, force).await
    }
}

#[async_trait]
impl Bootstrap for S3Store {
    async fn bootstrap(&self) -> Result<BootstrapReport, StoreError> {
        bootstrap(self).await
    }

    async fn inspect(&self) -> Result<Vec<Inspected>, StoreError> {
        bootstrap::inspect(self).await
    }
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

    fn settings() -> S3Settings {
        S3Settings { bucket: "state-bucket".into(), ..S3Settings::default() }
    }

    #[test]
    fn backend_on_aws_uses_the_lock_table_and_no_endpoint_overrides() {
        let settings = settings();
        let layout = KeyLayout::new(&settings.bucket, &settings.key_prefix).expect("valid");
        let backend = backend_block(&settings, &layout, None, &target());
        assert_eq!(backend.kind, "s3");
        assert_eq!(
            Value::Object(backend.settings),
            json!({
                "bucket": "state-bucket",
                "key": "customers/acme/webshop/staging/terraform.tfstate",
                "region": "us-east-1",
                "encrypt": true,
                "dynamodb_table": "terraform-state-locks",
            })
        );
    }

    #[test]
    fn backend_with_a_custom_endpoint_points_both_services_at_it() {
        let settings = S3Settings { lock: LockMode::Lockfile, key_prefix: String::new(), ..settings() };
        let layout = KeyLayout::new(&settings.bucket, &settings.key_prefix).expect("valid");
        let backend = backend_block(&settings, &layout, Some("http://127.0.0.1:5000"), &target());
        assert_eq!(
            Value::Object(backend.settings),
            json!({
                "bucket": "state-bucket",
                "key": "acme/webshop/staging/terraform.tfstate",
                "region": "us-east-1",
                "encrypt": true,
                "use_lockfile": true,
                "endpoints": { "s3": "http://127.0.0.1:5000", "dynamodb": "http://127.0.0.1:5000" },
                "use_path_style": true,
                "skip_credentials_validation": true,
                "skip_requesting_account_id": true,
                "skip_metadata_api_check": true,
                "skip_region_validation": true,
            })
        );
    }

    #[test]
    fn force_path_style_alone_sets_use_path_style() {
        let settings = S3Settings { force_path_style: true, ..settings() };
        let layout = KeyLayout::new(&settings.bucket, &settings.key_prefix).expect("valid");
        let backend = backend_block(&settings, &layout, None, &target());
        assert_eq!(backend.settings.get("use_path_style"), Some(&json!(true)));
        assert!(!backend.settings.contains_key("endpoints"));
    }

    #[test]
    fn settings_validation_names_the_bad_value() {
        let cases: [(S3Settings, &str); 5] = [
            (S3Settings { key_prefix: "a/../b".into(), ..settings() }, "`a/../b`"),
            (S3Settings { bucket: "Bad_Bucket".into(), ..settings() }, "`Bad_Bucket`"),
            (S3Settings { lock_table: "x".into(), ..settings() }, "lock table `x`"),
            (S3Settings { region: "".into(), ..settings() }, "region ``"),
            (S3Settings { endpoint: Some("127.0.0.1:5000".into()), ..settings() }, "`127.0.0.1:5000`"),
        ];
        for (settings, expected) in cases {
            let error = settings.validate().expect_err("should be refused");
            assert!(error.to_string().contains(expected), "{error:?} should contain {expected:?}");
            assert!(!error.hint().is_empty(), "{error:?} should carry a hint");
        }
        settings().validate().expect("defaults are valid");
    }

    #[test]
    fn partial_settings_take_the_documented_defaults() {
        let settings: S3Settings =
            serde_json::from_value(json!({ "bucket": "b-state", "lock": "lockfile" })).expect("parses");
        assert_eq!(
            settings,
            S3Settings { bucket: "b-state".into(), lock: LockMode::Lockfile, ..S3Settings::default() }
        );
    }

    #[test]
    fn lock_mode_uses_lowercase_names() {
        assert_eq!(serde_json::to_value(LockMode::Dynamodb).expect("serializes"), json!("dynamodb"));
        let mode: LockMode = serde_json::from_value(json!("lockfile")).expect("parses");
        assert_eq!(mode, LockMode::Lockfile);
    }
}
