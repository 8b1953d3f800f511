//! Where schema v1 and v2 are told apart: a file whose root has `apiVersion` is versioned
//! (only `infra-manager/v2`, `kind: Customer` today); any other file is schema v1 and goes
//! through [`Variables::parse`] exactly as before.

use super::v2::{self, Customer};
use super::{Rules, Variables};
use crate::catalog::Catalog;
use crate::diagnostic::{Diagnostic, Diagnostics, shown};
use crate::identity::Owner;
use crate::yaml::{self, Checker, Node, Pos, Value};

/// The `apiVersion` values this build accepts.
pub const API_VERSIONS: [&str; 1] = [v2::API_VERSION];
/// The `kind` values a customer repository's file may have (the JSON Schema's).
pub const KINDS: [&str; 1] = [v2::KIND];
/// The `kind` of a provider-managed tenant's file, `tenants/<name>.yml` in the manager
/// repository.
pub const TENANT_KIND: &str = "Tenant";
/// Every `kind` this build knows.
const ALL_KINDS: [&str; 2] = [v2::KIND, TENANT_KIND];

/// A validated owner file (a customer's `infra/variables.yml` or a tenant's
/// `tenants/<name>.yml`), in the schema it was written in.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    V1(Variables),
    V2(Customer),
}

/// Which schema a file is written in, read from its header alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    V1,
    /// `apiVersion: infra-manager/v2`, `kind: Customer`; where `apiVersion` was written.
    V2 {
        api_version: Pos,
    },
}

/// The schema of `text`. A file that does not parse, or whose root is not a mapping, is
/// schema v1 (whose checks report that as before); a header naming a version or kind this
/// build does not know is an error at its place.
pub fn detect(file: &str, text: &str) -> Result<Schema, Diagnostics> {
    match yaml::parse(file, text) {
        Ok(root) => header(file, &root),
        Err(_) => Ok(Schema::V1),
    }
}

fn header(file: &str, root: &Node) -> Result<Schema, Diagnostics> {
    let Value::Map(entries) = &root.value else { return Ok(Schema::V1) };
    let Some(version) = yaml::get(entries, "apiVersion") else { return Ok(Schema::V1) };
    let mut c = Checker::new(file);
    let accepted = API_VERSIONS.map(|v| format!("`{v}`")).join(", ");
    match &version.value {
        Value::Str(v) if API_VERSIONS.contains(&v.as_str()) => {}
        Value::Str(v) => c.error(
            version.pos,
            format!("unknown `apiVersion` `{}`; this build accepts {accepted}", shown(v)),
            Some(format!("write `apiVersion: {}`, or remove `apiVersion` for a schema v1 file", v2::API_VERSION)),
        ),
        other => c.error(
            version.pos,
            format!("`apiVersion` must be a string, found {}; this build accepts {accepted}", other.type_name()),
            Some(format!("write `apiVersion: {}`", v2::API_VERSION)),
        ),
    }
    let kinds = ALL_KINDS.map(|k| format!("`{k}`")).join(", ");
    match yaml::get(entries, "kind") {
        None => c.error(
            root.pos,
            "missing required key `kind`",
            Some(format!("add `kind: {}` under `apiVersion`", v2::KIND)),
        ),
        Some(kind) => match &kind.value {
            Value::Str(k) if ALL_KINDS.contains(&k.as_str()) => {}
            Value::Str(k) => {
                let hint = crate::suggest::did_you_mean(k, ALL_KINDS)
                    .map_or_else(|| format!("write `kind: {}`", v2::KIND), |s| format!("did you mean `{s}`?"));
                c.error(kind.pos, format!("unknown `kind` `{}`; this build accepts {kinds}", shown(k)), Some(hint));
            }
            other => c.error(
                kind.pos,
                format!("`kind` must be a string, found {}; this build accepts {kinds}", other.type_name()),
                Some(format!("write `kind: {}`", v2::KIND)),
            ),
        },
    }
    if c.diagnostics.is_empty() { Ok(Schema::V2 { api_version: version.pos }) } else { Err(Diagnostics(c.diagnostics)) }
}

/// A customer repository's file is `kind: Customer`; a tenant's is `kind: Tenant`, and its
/// `metadata.name` is its file name (the tenant's identity: a file renamed inside would
/// otherwise plan another tenant's resources in this one's state).
fn owner_matches(file: &str, root: &Node, owner: &Owner) -> Result<(), Diagnostics> {
    let Value::Map(entries) = &root.value else { return Ok(()) };
    let mut c = Checker::new(file);
    let tenant = match owner {
        Owner::Tenant(name) => Some(name),
        Owner::Customer(_) => None,
    };
    let expected = if tenant.is_some() { TENANT_KIND } else { v2::KIND };
    if let Some(kind) = yaml::get(entries, "kind")
        && let Value::Str(k) = &kind.value
        && k != expected
    {
        let hint = match &tenant {
            Some(_) => format!("a tenant file in the manager repository is `kind: {TENANT_KIND}`"),
            None => format!(
                "a customer repository's file is `kind: {}`; `kind: {TENANT_KIND}` is for the provider's `tenants/<name>.yml`",
                v2::KIND
            ),
        };
        c.error(kind.pos, format!("`kind: {}` is not allowed here", shown(k)), Some(hint));
    }
    let name = yaml::get(entries, "metadata")
        .and_then(|m| if let Value::Map(fields) = &m.value { yaml::get(fields, "name") } else { None });
    if let Some(tenant) = &tenant
        && let Some(node) = name
        && let Value::Str(n) = &node.value
        && n != tenant.as_str()
    {
        c.error(
            node.pos,
            format!("`metadata.name` `{}` is not the file's name `{tenant}`", shown(n)),
            Some(format!(
                "a tenant's name is its file name: write `name: {tenant}` (a rename is a new tenant and a destroy of the old one)"
            )),
        );
    }
    if c.diagnostics.is_empty() { Ok(()) } else { Err(Diagnostics(c.diagnostics)) }
}

impl Document {
    /// Parses and validates `text` in whichever schema it is written in. `catalog` is only
    /// loaded for a v2 file (a v1 file never needs the modules); its problems are reported
    /// as the file's.
    pub fn parse(
        file: &str,
        text: &str,
        customer: &Owner,
        rules: &Rules<'_>,
        catalog: impl FnOnce() -> Result<Catalog, Vec<Diagnostic>>,
    ) -> Result<Self, Diagnostics> {
        let is_tenant = matches!(customer, Owner::Tenant(_));
        // A file that is not YAML is left to the v1 checks, which report it as before.
        let root = match yaml::parse(file, text) {
            Ok(root) => root,
            Err(d) if is_tenant => return Err(Diagnostics(vec![d])),
            Err(_) => return Variables::parse(file, text, customer, rules).map(Document::V1),
        };
        match header(file, &root)? {
            // Tenants are schema v2 only: there is no v1 file of theirs to stay compatible with.
            Schema::V1 if is_tenant => Err(Diagnostics(vec![Diagnostic {
                file: file.to_owned(),
                line: root.pos.line,
                column: root.pos.column,
                message: "a tenant file has no `apiVersion`: tenants are written in schema v2 only".into(),
                hint: Some(format!("start the file with `apiVersion: {}` and `kind: {TENANT_KIND}`", v2::API_VERSION)),
            }])),
            Schema::V1 => Variables::parse(file, text, customer, rules).map(Document::V1),
            Schema::V2 { .. } => {
                owner_matches(file, &root, customer)?;
                let catalog = catalog().map_err(Diagnostics)?;
                Customer::parse(file, &root, rules, &catalog).map(Document::V2)
            }
        }
    }

    /// The environments the file defines, in file order.
    pub fn environments(&self) -> Vec<String> {
        match self {
            Document::V1(vars) => vars.environments().map(ToString::to_string).collect(),
            Document::V2(customer) => customer.environments.iter().map(ToString::to_string).collect(),
        }
    }
}
