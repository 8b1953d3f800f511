//! A provisioning request (`tenants request`): a backend's one call, checked against the
//! catalog and the registry's `tenants:` section, turned into a tenant file ([`super::file`]),
//! and that file checked by the same v2 validator as any tenant file. Pure: nothing here
//! writes; the command commits the file only once everything here passed.

use serde_json::{Map, Value};

use super::file::{Ask, Written};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::diagnostic::{Diagnostic, shown};
use crate::error::CommandError;
use crate::identity::{EnvName, RequestId, TenantName};
use crate::limits::REQUEST_INPUTS_BYTES;
use crate::store::request::RequestContent;
use crate::variables::Rules;
use crate::variables::document::Document;

/// The trailer that names a commit's request, for people: whether a request was carried out
/// is read from its record (and its commit on the remote), never from a commit message,
/// which anyone who can push a branch can write.
pub const TRAILER: &str = "Request-Id";
/// The trailer that names who asked (a checked login).
pub const REQUESTER_TRAILER: &str = "Requested-By";

/// A request that passed every check; its file is made against the tenant's current one
/// ([`Checked::file`]).
#[derive(Debug, Clone)]
pub struct Checked {
    pub id: RequestId,
    pub tenant: TenantName,
    pub type_name: String,
    pub inputs: Map<String, Value>,
    /// The registry's tenant environments (a new tenant's).
    pub environments: Vec<EnvName>,
    pub expires_at: Option<String>,
    pub requester: Option<String>,
    /// What the request asks, as its record keeps it: the same id must always ask this.
    pub content: RequestContent,
}

/// What the backend sent, unchecked.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a> {
    pub id: &'a str,
    pub tenant: &'a str,
    pub type_name: &'a str,
    pub inputs: &'a str,
    pub tier: Option<&'a str>,
    pub requester: Option<&'a str>,
    /// When the tenant ends (`spec.expiresAt`): a date or an RFC 3339 time.
    pub expires_at: Option<&'a str>,
}

/// Every field checked. Any problem is an error (exit 2) before anything is written.
pub fn check(config: &Config, raw: &Raw<'_>) -> Result<Checked, CommandError> {
    let id = request_id(raw.id)?;
    let tenant = tenant_name(raw.tenant)?;
    let requester = requester(config, raw.requester)?;
    if let Some(tier) = raw.tier
        && tier != config.tenants.tier
    {
        return Err(refused(
            format!("tier `{}` is not the tenants' tier `{}`", shown(tier), config.tenants.tier),
            "send the tier set in `tenants.tier` of infra-manager.yml (or leave `tier` out)",
        ));
    }
    let catalog = Catalog::load(config).map_err(CommandError::Invalid)?;
    let type_name = component_type(config, &catalog, raw.type_name)?;
    let inputs = inputs(raw.inputs)?;
    let environments = match &config.tenants.environments {
        Some(envs) => envs.clone(),
        None => config.environments.iter().map(|(e, _)| e.clone()).collect(),
    };
    let expires_at = raw.expires_at.map(expiry).transpose()?.map(|at| at.to_string());
    let content = RequestContent {
        action: "write".into(),
        tenant: tenant.to_string(),
        type_name: Some(type_name.clone()),
        inputs_sha256: Some(RequestContent::sha256(&Value::Object(inputs.clone()).to_string())),
        tier: Some(config.tenants.tier.to_string()),
        expires_at: expires_at.clone(),
    };
    Ok(Checked { id, tenant, type_name, inputs, environments, expires_at, requester, content })
}

impl Checked {
    /// The tenant file after the request, given the one at the base (if any), checked by
    /// the v2 validator as any tenant file is; `review` says why it may not be auto-approved.
    pub fn file(&self, config: &Config, existing: Option<&str>) -> Result<Written, CommandError> {
        let environments: Vec<String> = self.environments.iter().map(ToString::to_string).collect();
        let ask = Ask {
            id: &self.id,
            tenant: &self.tenant,
            type_name: &self.type_name,
            inputs: &self.inputs,
            environments: &environments,
            expires_at: self.expires_at.as_deref(),
        };
        let written = super::file::write(&ask, existing)?;
        let catalog = Catalog::load(config).map_err(CommandError::Invalid)?;
        validate(config, catalog, &self.id, &self.tenant, &written.text)?;
        Ok(written)
    }

    /// Refused when another tenant's component (in `others`: name, file text) would get the
    /// same resource names ([`super::names`]).
    pub fn names_free(&self, others: &[(TenantName, String)]) -> Result<(), CommandError> {
        let Some(mine) = super::names::key(&self.type_name, &self.inputs) else {
            return Ok(());
        };
        for (tenant, text) in others.iter().filter(|(t, _)| *t != self.tenant) {
            if let Some((_, user)) = super::names::keys_in(text).into_iter().find(|(k, _)| *k == mine) {
                return Err(refused(
                    format!(
                        "tenant `{tenant}` (user id `{}`) already has the names `{mine}-…` that this {} would get",
                        shown(&user),
                        self.type_name
                    ),
                    "user ids that differ only in case or punctuation name the same resources: send the user id that tenant uses, or one that cleans up to other text",
                ));
            }
        }
        Ok(())
    }
}

pub fn request_id(value: &str) -> Result<RequestId, CommandError> {
    RequestId::parse(value).map_err(|e| refused(e.to_string(), "send a request id such as a UUID, unique per request"))
}

pub fn tenant_name(value: &str) -> Result<TenantName, CommandError> {
    TenantName::parse(value)
        .map_err(|e| refused(e.to_string(), "send a tenant name such as `alice-xero` (lowercase, digits and `-`)"))
}

/// When `tenants.requesters` is set, only a login it lists may ask. A team entry
/// (`org/team`) can't be checked here (that needs GitHub): only logins match.
pub fn requester(config: &Config, value: Option<&str>) -> Result<Option<String>, CommandError> {
    // One rule for a login, a GitHub App's `<slug>[bot]` included (the backend's own actor).
    if let Some(who) = value
        && let Err(why) = crate::github::check_login(who)
    {
        return Err(refused(
            format!("requester `{}` is not a GitHub login: {why}", shown(who)),
            "pass the login of the person or bot asking, e.g. `--requester octocat` or `--requester my-app[bot]`",
        ));
    }
    let allowed = &config.tenants.requesters;
    if allowed.is_empty() {
        return Ok(value.map(ToOwned::to_owned));
    }
    match value {
        Some(who) if allowed.iter().any(|a| a.eq_ignore_ascii_case(who)) => Ok(Some(who.to_owned())),
        Some(who) => Err(refused(
            format!("requester `{who}` is not in `tenants.requesters`"),
            "add the login to `tenants.requesters` in infra-manager.yml, or send the request as one listed there",
        )),
        None => Err(refused(
            "`tenants.requesters` is set, and the request names no requester",
            "pass `--requester LOGIN` (the workflow passes the dispatching actor)",
        )),
    }
}

fn component_type(config: &Config, catalog: &Catalog, value: &str) -> Result<String, CommandError> {
    let known: Vec<&str> = catalog.types.iter().map(|t| t.name.as_str()).collect();
    if catalog.get(value).is_none() {
        return Err(refused(
            format!("unknown component type `{}`", shown(value)),
            format!("the catalog offers: {}", known.join(", ")),
        ));
    }
    if let Some(allowed) = &config.tenants.types
        && !allowed.iter().any(|t| t == value)
    {
        return Err(refused(
            format!("component type `{value}` is not offered to tenants"),
            format!("`tenants.types` in infra-manager.yml allows: {}", allowed.join(", ")),
        ));
    }
    Ok(value.to_owned())
}

/// `expires_at`: a date (the start of that day in UTC) or a time with its UTC offset, in
/// the future.
fn expiry(text: &str) -> Result<jiff::Timestamp, CommandError> {
    let at = crate::config::parse_expiry(text).ok_or_else(|| {
        refused(
            format!("`expires_at` is not a date, or a time with its offset: `{}`", shown(text)),
            "send a date such as `2027-03-31` or a time with its offset such as `2027-03-31T18:00:00Z`",
        )
    })?;
    if at <= jiff::Timestamp::now() {
        return Err(refused(
            format!("`expires_at` `{}` has passed", shown(text)),
            "send a time in the future; to remove a tenant now, send a removal",
        ));
    }
    Ok(at)
}

fn inputs(text: &str) -> Result<Map<String, Value>, CommandError> {
    if text.len() > REQUEST_INPUTS_BYTES {
        return Err(refused(
            format!("`inputs` is {} bytes, more than {REQUEST_INPUTS_BYTES}", text.len()),
            "send only the component's inputs",
        ));
    }
    // Parsed keeping every key: JSON with a key twice would otherwise keep the last one,
    // silently, and the backend would get what it did not send.
    match serde_json::from_str::<UniqueKeys>(text).map(|v| v.0) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(refused("`inputs` is not a JSON object", r#"send an object such as `{"user_id": "alice"}`"#)),
        Err(e) => Err(refused(
            format!("`inputs` is not one JSON object: {e}"),
            r#"send an object such as `{"user_id": "alice"}`"#,
        )),
    }
}

/// A JSON value whose objects hold each key once, at every depth.
struct UniqueKeys(Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor).map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("key `{}` is given twice", shown(&key))));
            }
            let UniqueKeys(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// The same check as every tenant file's; its problems are the request's (the generated
/// file's lines mean nothing to the sender, so they are named by the request).
fn validate(
    config: &Config,
    catalog: Catalog,
    id: &RequestId,
    tenant: &TenantName,
    text: &str,
) -> Result<(), CommandError> {
    let owner = crate::identity::Owner::Tenant(tenant.clone());
    let rules = Rules::for_owner(config, Some(&owner));
    let catalog = catalog.for_owner(config, &owner);
    Document::parse(&tenant.file(), text, &owner, &rules, || Ok(catalog)).map(|_| ()).map_err(|d| {
        let named = |d: Diagnostic| Diagnostic { file: format!("request {id} ({})", d.file), ..d };
        CommandError::Invalid(d.0.into_iter().map(named).collect())
    })
}

fn refused(message: impl Into<String>, hint: impl Into<String>) -> CommandError {
    CommandError::usage(message, hint)
}

/// The commit message: a summary, then the trailers that make a second run a no-op.
pub fn commit_message(summary: &str, id: &RequestId, requester: Option<&str>) -> String {
    let by = requester.map(|r| format!("\n{REQUESTER_TRAILER}: {r}")).unwrap_or_default();
    format!("{summary}\n\n{TRAILER}: {id}{by}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 21, item 6: a key given twice, at any depth, is refused (JSON would keep the
    /// last one, silently).
    #[test]
    fn inputs_with_a_key_given_twice_are_refused() {
        for bad in [r#"{"user_id": "a", "user_id": "b"}"#, r#"{"x": {"k": 1, "k": 2}}"#, r#"{"x": [{"k": 1, "k": 1}]}"#]
        {
            let error = inputs(bad).expect_err(bad).to_string();
            assert!(error.contains("is given twice"), "{bad}: {error}");
        }
        let nested = inputs(r#"{"x": {"k": [1, 2.5, true, null, "s"]}, "y": -1}"#).expect("one object");
        assert_eq!(nested["x"]["k"][1], 2.5);
        assert_eq!(nested["y"], -1);
    }

    /// Issue 21, item 5: an expiry is a date, or a time with its offset, in the future.
    #[test]
    fn an_expiry_without_an_offset_or_in_the_past_is_refused() {
        assert!(expiry("2999-03-31").is_ok());
        assert_eq!(expiry("2999-03-31T23:00:00Z").expect("a time").to_string(), "2999-03-31T23:00:00Z");
        assert!(expiry("2999-03-31T23:00:00+02:00").is_ok());
        for bad in ["2999-03-31T23:00:00", "2999-03-31 23:00", "2020-01-01", "2020-01-01T00:00:00Z", "soon"] {
            assert!(expiry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn inputs_are_a_bounded_json_object() {
        assert_eq!(inputs(r#"{"user_id": "alice"}"#).expect("an object").len(), 1);
        for bad in ["[]", "\"x\"", "{", ""] {
            assert!(inputs(bad).is_err(), "{bad}");
        }
        let huge = format!(r#"{{"x": "{}"}}"#, "a".repeat(REQUEST_INPUTS_BYTES));
        let error = inputs(&huge).expect_err("too large").to_string();
        assert!(error.contains("more than 16384"), "{error}");
    }

    #[test]
    fn the_commit_message_names_the_request_and_who_asked() {
        let id = RequestId::parse("r-1").expect("valid");
        let message = commit_message("tenants: write", &id, Some("octocat"));
        assert_eq!(message, "tenants: write\n\nRequest-Id: r-1\nRequested-By: octocat\n");
    }
}
