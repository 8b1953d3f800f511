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
        "request id `{0}` must be 1 to 64 of `A-Z`, `a-z`, `0-9`, `.`, `_` and `-`, starting and ending with a letter or digit, without `..` or a `.lock` ending"
    )]
    Request(String),
    #[error(
        "tenant name `{0}` must be a DNS label: 1 to 63 lowercase letters, digits and `-`, starting with a letter and not ending with `-`"
    )]
    Tenant(String),
}

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

/// A GitHub repository, `owner/repo`, both parts validated: a customer's repository, or
/// the manager repository. Any owner name is a repository's; none is reserved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoId {
    owner: String,
    repo: String,
}

impl RepoId {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let (owner, repo) = value.split_once('/').ok_or_else(|| NameError::NotOwnerRepo(value.to_owned()))?;
        if repo.contains('/') {
            return Err(NameError::NotOwnerRepo(value.to_owned()));
        }
        check_segment("owner", owner)?;
        check_segment("repository", repo)?;
        Ok(Self { owner: owner.to_owned(), repo: repo.to_owned() })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn repo(&self) -> &str {
        &self.repo
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.repo)
    }
}

impl Serialize for RepoId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Whose infrastructure a target is: a customer repository, whose `infra/variables.yml`
/// is read at a commit through GitHub (or a local checkout), or a provider tenant, whose
/// `tenants/<name>.yml` is read at a commit of the manager checkout.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    Customer(RepoId),
    Tenant(TenantName),
}

/// The first key segment of every tenant's keys and records (`<prefix>/tenants/<name>/…`).
const TENANTS_SEGMENT: &str = "tenants";
/// The first key segment of provisioning requests' records (`requests/<id>`).
const REQUESTS_SEGMENT: &str = "requests";

impl Owner {
    /// The two key segments under which the owner's states, plans and records live.
    ///
    /// Customers keep `<owner>/<repo>`; tenants are `tenants/<name>` and requests'
    /// records `requests/<id>`. A customer whose owner would collide with one of those
    /// (or starts with `_`, the escape) is written `_<owner>/<repo>`: no GitHub owner
    /// starts with `_`, so every customer key that existed before stays where it is, and
    /// [`Owner::from_key`] reads each key back as exactly one owner.
    pub fn key_segments(&self) -> (String, String) {
        match self {
            Owner::Customer(repo) => {
                let escaped =
                    [TENANTS_SEGMENT, REQUESTS_SEGMENT].contains(&repo.owner()) || repo.owner().starts_with('_');
                let owner = if escaped { format!("_{}", repo.owner()) } else { repo.owner().to_owned() };
                (owner, repo.repo().to_owned())
            }
            Owner::Tenant(name) => (TENANTS_SEGMENT.to_owned(), name.as_str().to_owned()),
        }
    }

    /// `<segment>/<segment>`: the owner's part of every key and its records' partition.
    pub fn key(&self) -> String {
        let (a, b) = self.key_segments();
        format!("{a}/{b}")
    }

    /// The owner whose key segments these are; `None` for anything that is not one (a
    /// request's records, a stray object).
    pub fn from_key(first: &str, second: &str) -> Option<Self> {
        match first {
            TENANTS_SEGMENT => TenantName::parse(second).ok().map(Owner::Tenant),
            REQUESTS_SEGMENT => None,
            _ => {
                let owner = first.strip_prefix('_').unwrap_or(first);
                let repo = RepoId::parse(&format!("{owner}/{second}")).ok()?;
                // Only the escaped spelling of an escaped owner is a key of ours.
                (Owner::Customer(repo.clone()).key_segments().0 == first).then_some(Owner::Customer(repo))
            }
        }
    }

    /// The file that says what the owner wants: `infra/variables.yml` in a customer
    /// repository, `tenants/<name>.yml` in the manager repository.
    pub fn file(&self) -> String {
        match self {
            Owner::Customer(_) => crate::variables::PATH.to_owned(),
            Owner::Tenant(name) => name.file(),
        }
    }

    /// `customer` or `tenant`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Owner::Customer(_) => "customer",
            Owner::Tenant(_) => "tenant",
        }
    }

    /// The customer repository, if the owner is one.
    pub fn repository(&self) -> Option<&RepoId> {
        match self {
            Owner::Customer(repo) => Some(repo),
            Owner::Tenant(_) => None,
        }
    }
}

impl From<RepoId> for Owner {
    fn from(repo: RepoId) -> Self {
        Owner::Customer(repo)
    }
}

impl From<TenantName> for Owner {
    fn from(name: TenantName) -> Self {
        Owner::Tenant(name)
    }
}

impl fmt::Display for Owner {
    /// `acme/web` for a customer, `tenants/billing` for a tenant (its file, as people know it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Customer(repo) => repo.fmt(f),
            Owner::Tenant(name) => write!(f, "{TENANTS_SEGMENT}/{name}"),
        }
    }
}

impl Serialize for Owner {
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
        if ok { Ok(Self(value.to_owned())) } else { Err(NameError::Tenant(crate::diagnostic::shown(value))) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `tenants/<name>.yml`, the file in the manager repository.
    pub fn file(&self) -> String {
        format!("{TENANTS_SEGMENT}/{}.yml", self.0)
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
        if ok { Ok(Self(value.to_owned())) } else { Err(NameError::Request(crate::diagnostic::shown(value))) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The partition of the request's records: `requests/<id>`, which no owner's key is.
    pub fn key(&self) -> String {
        format!("{REQUESTS_SEGMENT}/{}", self.0)
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
            Err(ShaError(crate::diagnostic::shown(value)))
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

/// The flag that names `owner` on a per-target verb: `--customer acme/web` or
/// `--tenant billing`.
pub fn owner_flag(owner: &Owner) -> String {
    match owner {
        Owner::Customer(repo) => format!("--customer {repo}"),
        Owner::Tenant(name) => format!("--tenant {name}"),
    }
}

/// One unit of work: an owner's environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub owner: Owner,
    pub env: EnvName,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.owner, self.env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_names_that_could_escape_a_key_are_refused() {
        for bad in ["../x", "a/b/c", "Acme/web", "", "acme/", "/web", "acme/..", "acme/.", "a b/c", "acme/we$b"] {
            assert!(RepoId::parse(bad).is_err(), "{bad} should be refused");
        }
        let ok = Owner::Customer(RepoId::parse("acme/web-shop.v2_x").expect("valid"));
        assert_eq!(ok.key(), "acme/web-shop.v2_x");
    }

    /// Issue 19: no owner name is reserved, and customers' and tenants' keys stay disjoint
    /// whatever the registry holds; keys that existed before keep their place.
    #[test]
    fn every_owner_has_its_own_key_and_reads_back_as_itself() {
        let tenant = Owner::Tenant(TenantName::parse("billing").expect("valid"));
        let owners: Vec<Owner> = ["tenants/billing", "requests/r1", "_x/y", "__x/y", "acme/web", "tenants-x/web"]
            .into_iter()
            .map(|r| Owner::Customer(RepoId::parse(r).expect("any owner name is a repository's")))
            .chain([tenant.clone()])
            .collect();
        let keys: Vec<String> = owners.iter().map(Owner::key).collect();
        assert_eq!(
            keys,
            ["_tenants/billing", "_requests/r1", "__x/y", "___x/y", "acme/web", "tenants-x/web", "tenants/billing"]
        );
        let unique: std::collections::BTreeSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "no two owners share a key");
        let request = RequestId::parse("r1").expect("id").key();
        assert!(!keys.contains(&request), "a request's records are no owner's");
        for owner in &owners {
            let (a, b) = owner.key_segments();
            assert_eq!(Owner::from_key(&a, &b).as_ref(), Some(owner), "{owner}");
        }
        assert_eq!(Owner::from_key("requests", "r1"), None);
        assert_eq!(Owner::from_key("_acme", "web"), None, "only an escaped owner is written escaped");
        assert_eq!(tenant.file(), "tenants/billing.yml");
        assert_eq!(tenant.to_string(), "tenants/billing");
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
