//! Validated names that become state keys, paths and resource names.
//!
//! Everything a customer or a dispatch payload can influence passes through these types
//! before it reaches a path, an S3 key, a template or a command line.

use std::fmt;

use serde::{Serialize, Serializer};

/// Why a name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} `{value}` is longer than {max} characters")]
    TooLong { what: &'static str, value: String, max: usize },
    #[error("{what} `{value}` may only contain lowercase letters, digits, `.`, `_` and `-`, and may not contain `..`")]
    Charset { what: &'static str, value: String },
    #[error("customer `{0}` is not of the form `owner/repo`")]
    NotOwnerRepo(String),
    #[error("environment `{0}` must start with a lowercase letter and contain only `a-z`, `0-9` and `-`")]
    Environment(String),
    #[error(
        "owner `{TENANTS_OWNER}` is reserved for the provider's tenants (`tenants/<name>.yml` in the manager repository)"
    )]
    ReservedOwner,
    #[error("owner `{REQUESTS_OWNER}` is reserved for the records of provisioning requests")]
    ReservedRequestsOwner,
    #[error(
        "request id `{0}` must be 1 to 64 of `A-Z`, `a-z`, `0-9`, `.`, `_` and `-`, starting and ending with a letter or digit, without `..` or a `.lock` ending"
    )]
    Request(String),
    #[error(
        "tenant name `{0}` must be a DNS label: 1 to 63 lowercase letters, digits and `-`, starting with a letter and not ending with `-`"
    )]
    Tenant(String),
}

/// The owner segment of every tenant's keys (`<key_prefix>/tenants/<name>/<env>/…`).
/// [`CustomerId::parse`] refuses it, so no customer repository can share a tenant's keys.
pub const TENANTS_OWNER: &str = "tenants";

/// The owner of provisioning requests' records (`requests/<request id>`), reserved like
/// [`TENANTS_OWNER`] so no customer's records mix with a request's.
pub const REQUESTS_OWNER: &str = "requests";

/// Checks one segment of a key: lowercase `[a-z0-9._-]`, no `..`, not `.` alone, ≤ 100 chars.
fn check_segment(what: &'static str, value: &str) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty { what });
    }
    if value.len() > 100 {
        return Err(NameError::TooLong { what, value: value.to_owned(), max: 100 });
    }
    let charset_ok =
        value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if !charset_ok || value.contains("..") || value == "." {
        return Err(NameError::Charset { what, value: value.to_owned() });
    }
    Ok(())
}

/// A customer repository, `owner/repo`, both parts validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId {
    owner: String,
    repo: String,
}

impl CustomerId {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let (owner, repo) = value.split_once('/').ok_or_else(|| NameError::NotOwnerRepo(value.to_owned()))?;
        if repo.contains('/') {
            return Err(NameError::NotOwnerRepo(value.to_owned()));
        }
        check_segment("owner", owner)?;
        check_segment("repository", repo)?;
        if owner == TENANTS_OWNER {
            return Err(NameError::ReservedOwner);
        }
        if owner == REQUESTS_OWNER {
            return Err(NameError::ReservedRequestsOwner);
        }
        Ok(Self { owner: owner.to_owned(), repo: repo.to_owned() })
    }

    /// The owner of a provisioning request's record: `requests/<id>`, which
    /// [`CustomerId::parse`] never returns.
    pub fn request(id: &RequestId) -> Self {
        Self { owner: REQUESTS_OWNER.to_owned(), repo: id.0.clone() }
    }

    /// The owner of a tenant's states and records: `tenants/<name>`, which
    /// [`CustomerId::parse`] never returns.
    pub fn tenant(name: &TenantName) -> Self {
        Self { owner: TENANTS_OWNER.to_owned(), repo: name.0.clone() }
    }

    /// The tenant this is, if it is one.
    pub fn as_tenant(&self) -> Option<TenantName> {
        (self.owner == TENANTS_OWNER).then(|| TenantName(self.repo.clone()))
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// `owner/repo`, the form used for keys and display.
    pub fn key_path(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.repo)
    }
}

impl Serialize for CustomerId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A provider-managed tenant: the name of its file `tenants/<name>.yml` in the manager
/// repository and its `metadata.name`; a DNS label, so also a valid key segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let ok = !value.is_empty()
            && value.len() <= 63
            && value.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && !value.ends_with('-')
            && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok { Ok(Self(value.to_owned())) } else { Err(NameError::Tenant(value.chars().take(80).collect())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `tenants/<name>.yml`, the file in the manager repository.
    pub fn file(&self) -> String {
        format!("{TENANTS_OWNER}/{}.yml", self.0)
    }
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for TenantName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A provisioning request's id, chosen by the backend that sends it: a record key
/// segment and part of a Git branch name (`tenant-request/<id>`), so it is checked against
/// both (Git refuses a component ending in `.lock` or `.`, or holding `..`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
        let ok = (1..=64).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && edge(value.bytes().next())
            && edge(value.bytes().last())
            && !value.contains("..")
            && !value.ends_with(".lock");
        if ok { Ok(Self(value.to_owned())) } else { Err(NameError::Request(value.chars().take(80).collect())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// An environment name such as `staging`: `[a-z][a-z0-9-]*`, ≤ 32 chars.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvName(String);

impl EnvName {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        if value.is_empty() {
            return Err(NameError::Empty { what: "environment" });
        }
        if value.len() > 32 {
            return Err(NameError::TooLong { what: "environment", value: value.to_owned(), max: 32 });
        }
        let mut bytes = value.bytes();
        let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
        if !first_ok || !bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(NameError::Environment(value.to_owned()));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for EnvName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A commit SHA (40 lowercase hex) or, in local mode, a content digest of the same shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sha(String);

impl Sha {
    pub fn parse(value: &str) -> Result<Self, ShaError> {
        if value.len() == 40 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(value.to_owned()))
        } else {
            Err(ShaError(value.chars().take(64).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first seven characters, as GitHub shows them.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a commit SHA (40 lowercase hex characters)")]
pub struct ShaError(String);

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Sha {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// One unit of work: a customer's environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub customer: CustomerId,
    pub env: EnvName,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.customer, self.env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_names_that_could_escape_a_key_are_refused() {
        for bad in ["../x", "a/b/c", "Acme/web", "", "acme/", "/web", "acme/..", "acme/.", "a b/c", "acme/we$b"] {
            assert!(CustomerId::parse(bad).is_err(), "{bad} should be refused");
        }
        let ok = CustomerId::parse("acme/web-shop.v2_x").expect("valid");
        assert_eq!(ok.key_path(), "acme/web-shop.v2_x");
    }

    /// Issue 14: a tenant's keys are `tenants/<name>/…`, and no customer can be `tenants/…`.
    #[test]
    fn no_customer_shares_a_tenant_s_keys() {
        for reserved in ["tenants/web", "tenants/shop"] {
            assert_eq!(CustomerId::parse(reserved), Err(NameError::ReservedOwner), "{reserved}");
        }
        let tenant = CustomerId::tenant(&TenantName::parse("billing").expect("valid"));
        assert_eq!(tenant.key_path(), "tenants/billing");
        assert_eq!(tenant.as_tenant().map(|t| t.file()).as_deref(), Some("tenants/billing.yml"));
        assert_eq!(CustomerId::parse("acme/tenants").expect("valid").as_tenant(), None);
        assert_eq!(CustomerId::parse("requests/r1"), Err(NameError::ReservedRequestsOwner));
        for bad in ["", "Billing", "1st", "a_b", "a.b", "x-", "../x", &"x".repeat(64)] {
            assert!(TenantName::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn environment_names_are_dns_like() {
        for bad in ["", "Prod", "1st", "a_b", "a/b", "..", "staging.", &"x".repeat(33)] {
            assert!(EnvName::parse(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(EnvName::parse("prod-eu1").expect("valid").as_str(), "prod-eu1");
    }

    #[test]
    fn sha_must_be_forty_lowercase_hex() {
        assert!(Sha::parse(&"a".repeat(40)).is_ok());
        assert!(Sha::parse(&"A".repeat(40)).is_err());
        assert!(Sha::parse("abc").is_err());
        assert!(Sha::parse(&format!("{}/..", "a".repeat(37))).is_err());
    }

    #[test]
    fn request_ids_are_record_keys_and_branch_name_components() {
        for ok in ["r1", "req-2026.12.02_a", "A1B2", &"x".repeat(64)] {
            assert!(RequestId::parse(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(65);
        for bad in ["", ".a", "a.", "-a", "a..b", "a.lock", "a/b", "a b", "a\nb", long.as_str()] {
            assert!(RequestId::parse(bad).is_err(), "{bad}");
        }
    }
}
