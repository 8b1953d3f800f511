//! Where things live in the state bucket and lock table: pure key building and parsing.
//!
//! Layout, per customer environment (`<dir>` = `<key_prefix>/<owner>/<repo>/<env>`):
//!
//! - `<dir>/terraform.tfstate` — Terraform state (the backend `key`);
//! - `<dir>/terraform.tfstate.tflock` — Terraform's S3-native lock (lockfile mode);
//! - `<dir>/plans/<sha>.tfplan` and `<dir>/plans/<sha>.json` — a stored plan and its metadata;
//! - `<dir>/plans/<sha>.reviewable.json` — what apply compares across a merge;
//! - `<dir>/plans/latest.json` — the pointer to the newest plan;
//! - lock table item `LockID = <bucket>/<dir>/terraform.tfstate` (plus Terraform's `-md5` item).

use crate::identity::{EnvName, Owner, Sha, Target};

use super::SettingsError;

const STATE_FILE: &str = "terraform.tfstate";
const LOCKFILE_SUFFIX: &str = ".tflock";
const DIGEST_SUFFIX: &str = "-md5";

/// The validated bucket and key prefix, and every key derived from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    bucket: String,
    /// Empty, or a relative path without leading/trailing `/`.
    prefix: String,
}

impl KeyLayout {
    /// Validates the bucket name and key prefix.
    pub fn new(bucket: &str, prefix: &str) -> Result<Self, SettingsError> {
        check_bucket(bucket)?;
        check_prefix(prefix)?;
        Ok(Self { bucket: bucket.to_owned(), prefix: prefix.to_owned() })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<key_prefix>/<owner>/<repo>/<env>`.
    pub fn target_dir(&self, target: &Target) -> String {
        let tail = format!("{}/{}", target.owner.key(), target.env);
        if self.prefix.is_empty() { tail } else { format!("{}/{tail}", self.prefix) }
    }

    /// The Terraform state key, the backend's `key`.
    pub fn state_key(&self, target: &Target) -> String {
        format!("{}/{STATE_FILE}", self.target_dir(target))
    }

    /// The S3-native lock object Terraform writes with `use_lockfile = true`.
    pub fn lockfile_key(&self, target: &Target) -> String {
        format!("{}{LOCKFILE_SUFFIX}", self.state_key(target))
    }

    /// The lock table's `LockID` for the target's state: `<bucket>/<state key>`.
    pub fn lock_id(&self, target: &Target) -> String {
        format!("{}/{}", self.bucket, self.state_key(target))
    }

    /// Terraform's digest item for the target's state (the state's MD5), beside its lock.
    pub fn digest_id(&self, target: &Target) -> String {
        format!("{}{DIGEST_SUFFIX}", self.lock_id(target))
    }

    pub fn plans_dir(&self, target: &Target) -> String {
        format!("{}/plans", self.target_dir(target))
    }

    /// The stored plan file for `sha`.
    pub fn plan_key(&self, target: &Target, sha: &Sha) -> String {
        format!("{}/{sha}.tfplan", self.plans_dir(target))
    }

    /// The stored plan's metadata (`PlanMeta` as JSON).
    pub fn plan_meta_key(&self, target: &Target, sha: &Sha) -> String {
        format!("{}/{sha}.json", self.plans_dir(target))
    }

    /// What apply compares across a merge ([`crate::terraform::reviewable`]).
    pub fn reviewable_key(&self, target: &Target, sha: &Sha) -> String {
        format!("{}/{sha}.reviewable.json", self.plans_dir(target))
    }

    /// The pointer to the newest plan (a copy of its `PlanMeta`).
    pub fn latest_key(&self, target: &Target) -> String {
        format!("{}/latest.json", self.plans_dir(target))
    }

    /// `s3://<bucket>/<key>`, for display.
    pub fn s3_uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The key prefix under which all customer objects live (`<prefix>/` or empty).
    pub fn list_prefix(&self) -> String {
        if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) }
    }

    /// The target whose state key this is, if it is one of ours.
    pub fn target_of_state_key(&self, key: &str) -> Option<Target> {
        let rest = if self.prefix.is_empty() { key } else { key.strip_prefix(&self.prefix)?.strip_prefix('/')? };
        let rest = rest.strip_suffix(STATE_FILE)?.strip_suffix('/')?;
        let mut parts = rest.split('/');
        let (owner, repo, env) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let owner = Owner::from_key(owner, repo)?;
        let env = EnvName::parse(env).ok()?;
        Some(Target { owner, env })
    }

    /// The target whose lock this `LockID` is, if it is one of ours.
    pub fn target_of_lock_id(&self, lock_id: &str) -> Option<Target> {
        let key = lock_id.strip_prefix(&self.bucket)?.strip_prefix('/')?;
        self.target_of_state_key(key)
    }

    /// The target whose `.tflock` object this is, if it is one of ours.
    pub fn target_of_lockfile_key(&self, key: &str) -> Option<Target> {
        self.target_of_state_key(key.strip_suffix(LOCKFILE_SUFFIX)?)
    }
}

/// Whether a lock-table `LockID` names Terraform's state digest item rather than a lock.
pub fn is_digest_item(lock_id: &str) -> bool {
    lock_id.ends_with(DIGEST_SUFFIX)
}

/// Whether an object key is an S3-native lock object.
pub fn is_lockfile_key(key: &str) -> bool {
    key.ends_with(LOCKFILE_SUFFIX)
}

/// The one rule for `state.key_prefix`, used by the config parser and the store alike:
/// why `prefix` can't be used, or `None` when it can (empty is allowed).
pub fn prefix_problem(prefix: &str) -> Option<&'static str> {
    if prefix.contains("..") {
        Some("it contains `..`")
    } else if prefix.starts_with('/') || prefix.ends_with('/') {
        Some("it starts or ends with `/`")
    } else if prefix.contains("//") {
        Some("it contains an empty path segment")
    } else if prefix.split('/').any(|segment| segment == ".") {
        Some("it contains a `.` path segment")
    } else if prefix.len() > 200 {
        Some("it is longer than 200 characters")
    } else if !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/')) {
        Some("it contains a character outside `A-Z a-z 0-9 . _ - /`")
    } else {
        None
    }
}

fn check_prefix(prefix: &str) -> Result<(), SettingsError> {
    match prefix_problem(prefix) {
        Some(reason) => Err(SettingsError::KeyPrefix { prefix: prefix.to_owned(), reason }),
        None => Ok(()),
    }
}

fn check_bucket(bucket: &str) -> Result<(), SettingsError> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
        && !bucket.contains("..");
    if ok { Ok(()) } else { Err(SettingsError::Bucket { bucket: bucket.to_owned() }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(customer: &str, env: &str) -> Target {
        Target {
            owner: Owner::Customer(crate::identity::RepoId::parse(customer).expect("valid")),
            env: EnvName::parse(env).expect("valid"),
        }
    }

    fn sha() -> Sha {
        Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("valid")
    }

    /// Issue 19: a tenant's state stays `<key_prefix>/tenants/<name>/<env>/terraform.tfstate`
    /// and reads back as the tenant; a customer repository `tenants/billing` (any owner name
    /// is a repository's) has a key of its own that reads back as that customer.
    #[test]
    fn tenants_and_customers_keys_are_disjoint_and_read_back_as_their_owner() {
        let layout = KeyLayout::new("bucket", "customers").expect("valid");
        let staging = EnvName::parse("staging").expect("valid");
        let tenant = Target {
            owner: Owner::Tenant(crate::identity::TenantName::parse("billing").expect("valid")),
            env: staging.clone(),
        };
        let customer = Target {
            owner: Owner::Customer(crate::identity::RepoId::parse("tenants/billing").expect("valid")),
            env: staging,
        };
        let (t, c) = (layout.state_key(&tenant), layout.state_key(&customer));
        assert_eq!(t, "customers/tenants/billing/staging/terraform.tfstate");
        assert_eq!(c, "customers/_tenants/billing/staging/terraform.tfstate");
        assert_eq!(layout.target_of_state_key(&t), Some(tenant));
        assert_eq!(layout.target_of_state_key(&c), Some(customer));
    }

    #[test]
    fn keys_follow_the_documented_layout() {
        let layout = KeyLayout::new("state", "customers").expect("valid");
        let t = target("acme/webshop", "staging");
        let dir = "customers/acme/webshop/staging";
        assert_eq!(layout.state_key(&t), format!("{dir}/terraform.tfstate"));
        assert_eq!(layout.lockfile_key(&t), format!("{dir}/terraform.tfstate.tflock"));
        assert_eq!(layout.lock_id(&t), format!("state/{dir}/terraform.tfstate"));
        assert_eq!(layout.plan_key(&t, &sha()), format!("{dir}/plans/{}.tfplan", sha()));
        assert_eq!(layout.plan_meta_key(&t, &sha()), format!("{dir}/plans/{}.json", sha()));
        assert_eq!(layout.latest_key(&t), format!("{dir}/plans/latest.json"));
        assert_eq!(layout.s3_uri("k"), "s3://state/k");
    }

    #[test]
    fn nested_and_empty_prefixes() {
        let t = target("acme/webshop", "prod");
        let nested = KeyLayout::new("state", "tenants/eu").expect("valid");
        assert_eq!(nested.state_key(&t), "tenants/eu/acme/webshop/prod/terraform.tfstate");
        assert_eq!(nested.list_prefix(), "tenants/eu/");
        let empty = KeyLayout::new("state", "").expect("valid");
        assert_eq!(empty.state_key(&t), "acme/webshop/prod/terraform.tfstate");
        assert_eq!(empty.list_prefix(), "");
    }

    #[test]
    fn prefixes_that_could_escape_or_confuse_are_refused() {
        for bad in ["..", "a/../b", "a..b", "/customers", "customers/", "/", "a//b", "a b", "a\\b", "ünï"] {
            let error = KeyLayout::new("state", bad).expect_err(bad);
            assert!(matches!(error, SettingsError::KeyPrefix { .. }), "{bad}: {error}");
        }
        for good in ["", "customers", "Tenants/eu-1/v2.x", "a_b"] {
            KeyLayout::new("state", good).expect(good);
        }
    }

    #[test]
    fn bucket_names_are_checked() {
        for bad in ["", "ab", "Upper", "a/b", "a..b", &"x".repeat(64)] {
            assert!(KeyLayout::new(bad, "p").is_err(), "{bad} should be refused");
        }
        KeyLayout::new("my.state-bucket-1", "p").expect("valid");
    }

    #[test]
    fn keys_map_back_to_their_target() {
        let layout = KeyLayout::new("state", "customers").expect("valid");
        let t = target("acme/webshop", "staging");
        assert_eq!(layout.target_of_state_key(&layout.state_key(&t)), Some(t.clone()));
        assert_eq!(layout.target_of_lock_id(&layout.lock_id(&t)), Some(t.clone()));
        assert_eq!(layout.target_of_lockfile_key(&layout.lockfile_key(&t)), Some(t.clone()));

        let empty = KeyLayout::new("state", "").expect("valid");
        assert_eq!(empty.target_of_lock_id(&empty.lock_id(&t)), Some(t));
    }

    #[test]
    fn foreign_keys_map_to_no_target() {
        let layout = KeyLayout::new("state", "customers").expect("valid");
        let t = target("acme/webshop", "staging");
        let md5 = format!("{}-md5", layout.lock_id(&t));
        for foreign in [
            md5.as_str(),
            "other/customers/acme/webshop/staging/terraform.tfstate",
            "state/manager/terraform.tfstate",
            "state/customers/acme/webshop/terraform.tfstate",
            "state/customers/acme/webshop/staging/extra/terraform.tfstate",
            "state/customers/Acme/webshop/staging/terraform.tfstate",
            "state/customers/acme/webshop/Staging/terraform.tfstate",
            "state/customersX/acme/webshop/staging/terraform.tfstate",
            "state/customers/acme/webshop/staging/terraform.tfstatex",
        ] {
            assert_eq!(layout.target_of_lock_id(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn digest_items_and_lock_objects_are_told_apart() {
        assert!(is_digest_item("state/customers/a/b/c/terraform.tfstate-md5"));
        assert!(!is_digest_item("state/customers/a/b/c/terraform.tfstate"));
        assert!(is_lockfile_key("customers/a/b/c/terraform.tfstate.tflock"));
        assert!(!is_lockfile_key("customers/a/b/c/terraform.tfstate"));
    }
}
