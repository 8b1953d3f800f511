//! A schema v1 file rewritten as schema v2 that plans the same resources.
//!
//! v1 renders one `module "app"` call of `terraform.module`; the rewrite is one component
//! named `app` (so the same Terraform address, `module.app`) of the catalog type whose
//! module is that same module, which takes no `component` input (so resources keep their
//! `<project>-<env>` names). `networking` becomes the component's `inputs`, each
//! environment's values its overrides there; a tag whose value is the same in every
//! environment goes to `spec.tags`, a templated one that differs is expanded into each
//! environment's `tags` override (v2 strings are not templates). `cloud_provider` is
//! dropped: `aws` is the only value v1 accepts, and the module decides the provider.
//!
//! The text is written by hand so comments survive: the file's leading comment block, and
//! the comments above a key or at the end of its line, which move with the key. The result
//! is checked before anyone sees it: it must pass the v2 validation, and every input the
//! module gets in every environment must equal what v1 renders.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value as Json;

use super::v2::{self, Customer};
use super::{Resolved, Rules, Variables, template};
use crate::catalog::{Catalog, ComponentType};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::identity::RepoId;
use crate::yaml::{self, Key, Node, Value};

/// The component a migrated file defines: v1's module call is `module "app"`.
pub const COMPONENT: &str = "app";

/// The inputs infra-manager sets in both schemas, left out of the comparison of inputs.
const STANDARD: [&str; 3] = ["customer", "project_name", "environment"];

/// What to migrate, and against what.
pub struct Request<'a> {
    /// The file's name in diagnostics.
    pub file: &'a str,
    pub text: &'a str,
    /// The customer whose values `{{ customer }}` expands to; required only when used.
    pub customer: Option<&'a RepoId>,
    pub rules: &'a Rules<'a>,
    /// `terraform.module`: the module v1 files render.
    pub module: &'a str,
    /// `--type`; by default the catalog type whose module is [`Request::module`].
    pub type_name: Option<&'a str>,
}

/// A migrated file: its v2 text and the catalog type its component uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub text: String,
    pub type_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The v1 file is not valid: every problem at its place.
    #[error("the file is not a valid schema v1 file")]
    Invalid(Diagnostics),
    /// The catalog could not be loaded (asked for only once the v1 file is valid).
    #[error("the catalog could not be loaded")]
    Catalog(Vec<Diagnostic>),
    #[error("the file uses `{{{{ customer }}}}`, whose value the v2 file must spell out")]
    NeedsCustomer,
    #[error("no catalog type uses module `{module}`, which schema v1 files render (`terraform.module`)")]
    NoType { module: String },
    #[error("catalog types {types} all use module `{module}`")]
    AmbiguousType { module: String, types: String },
    #[error("unknown component type `{name}`")]
    UnknownType { name: String, types: String },
    #[error("type `{name}` puts the component in resource names: every resource would be replaced")]
    RenamesResources { name: String },
    /// The rewrite does not check out; nothing is printed or written.
    #[error("the v2 form does not match the v1 file with type `{name}`: {}", problems.join("; "))]
    Unverified { name: String, problems: Vec<String> },
}

impl MigrateError {
    pub fn hint(&self) -> String {
        match self {
            Self::Invalid(_) => "fix the file (`infra-manager validate`), then migrate it".into(),
            Self::Catalog(_) => "fix the catalog (`infra-manager catalog`)".into(),
            Self::NeedsCustomer => "pass `--customer owner/repo`: the repository this file belongs to".into(),
            Self::NoType { module } => format!(
                "add a type with `module: {module}` to `catalog:` in infra-manager.yml, or pass `--type`; `infra-manager catalog` lists the types"
            ),
            Self::AmbiguousType { types, .. } => format!("pass `--type` with one of {types}"),
            Self::UnknownType { types, .. } => format!("the catalog's types: {types}"),
            Self::RenamesResources { .. } => {
                "pick a type whose module does not take `component`, such as the one of `terraform.module`".into()
            }
            Self::Unverified { .. } => {
                "the type's module or its limits differ from the v1 module's; check `infra-manager catalog`".into()
            }
        }
    }
}

/// Rewrites the v1 file of `request` as v2. `catalog` is loaded once the file is valid, so
/// a file's own problems come first.
pub fn migrate(
    request: &Request<'_>,
    catalog: impl FnOnce() -> Result<Catalog, Vec<Diagnostic>>,
) -> Result<Migrated, MigrateError> {
    let placeholder = RepoId::parse("local/migrate").unwrap_or_else(|_| unreachable!("valid literal"));
    let customer = crate::identity::Owner::Customer(request.customer.unwrap_or(&placeholder).clone());
    let vars = Variables::parse(request.file, request.text, &customer, request.rules).map_err(MigrateError::Invalid)?;
    let root = yaml::parse(request.file, request.text).map_err(|d| MigrateError::Invalid(Diagnostics(vec![d])))?;
    if request.customer.is_none() && uses_customer(&root) {
        return Err(MigrateError::NeedsCustomer);
    }
    let catalog = catalog().map_err(MigrateError::Catalog)?;
    let ty = pick_type(request, &catalog)?;
    let mut source = Source::new(request.text);
    let document = document(&mut source, &root, &vars, &ty.name);
    let mut text = source.leading(&root);
    emit(&mut text, &document, 0, false);
    verify(request, &catalog, &vars, ty, &text)?;
    Ok(Migrated { text, type_name: ty.name.clone() })
}

fn uses_customer(node: &Node) -> bool {
    match &node.value {
        Value::Str(s) => template::uses(s, "customer"),
        Value::Seq(items) => items.iter().any(uses_customer),
        Value::Map(entries) => entries.iter().any(|(_, n)| uses_customer(n)),
        _ => false,
    }
}

fn pick_type<'c>(request: &Request<'_>, catalog: &'c Catalog) -> Result<&'c ComponentType, MigrateError> {
    let names = |types: &mut dyn Iterator<Item = &ComponentType>| {
        types.map(|t| format!("`{}`", t.name)).collect::<Vec<_>>().join(", ")
    };
    let ty = match request.type_name {
        Some(name) => catalog.get(name).ok_or_else(|| MigrateError::UnknownType {
            name: name.to_owned(),
            types: names(&mut catalog.types.iter()),
        })?,
        None => {
            let matching: Vec<&ComponentType> = catalog.types.iter().filter(|t| t.module == request.module).collect();
            match matching.as_slice() {
                [one] => *one,
                [] => return Err(MigrateError::NoType { module: request.module.to_owned() }),
                many => {
                    return Err(MigrateError::AmbiguousType {
                        module: request.module.to_owned(),
                        types: names(&mut many.iter().copied()),
                    });
                }
            }
        }
    };
    if ty.names_component() {
        return Err(MigrateError::RenamesResources { name: ty.name.clone() });
    }
    Ok(ty)
}

/// The rewrite passes the v2 checks, and gives the module exactly v1's inputs everywhere.
fn verify(
    request: &Request<'_>,
    catalog: &Catalog,
    vars: &Variables,
    ty: &ComponentType,
    text: &str,
) -> Result<(), MigrateError> {
    let unverified = |problems: Vec<String>| MigrateError::Unverified { name: ty.name.clone(), problems };
    let root = yaml::parse(request.file, text).map_err(|d| unverified(vec![d.message]))?;
    let customer = Customer::parse(request.file, &root, request.rules, catalog)
        .map_err(|d| unverified(d.0.into_iter().map(|d| d.message).collect()))?;
    let mut problems = Vec::new();
    if customer.name != vars.project_name() {
        problems.push(format!("`metadata.name` is `{}`", customer.name));
    }
    let component = customer.component(COMPONENT);
    for env in vars.environments() {
        let Ok(resolved) = vars.resolve(env) else { continue };
        let values = component.and_then(|c| c.environments.iter().find(|(e, _)| e == env));
        let Some((_, values)) = values else {
            problems.push(format!("no `{COMPONENT}` inputs for `{env}`"));
            continue;
        };
        let given = crate::render::module_inputs(&customer, ty, values);
        for (name, v1) in v1_inputs(&resolved) {
            if given.get(&name) != Some(&v1) {
                problems.push(format!("input `{name}` differs in `{env}`"));
            }
        }
    }
    if !customer.environments.iter().eq(vars.environments()) {
        problems.push("the environments differ".into());
    }
    if problems.is_empty() { Ok(()) } else { Err(unverified(problems)) }
}

/// The module inputs v1 renders into `customer.auto.tfvars.json`, standard names aside.
fn v1_inputs(resolved: &Resolved) -> BTreeMap<String, Json> {
    match serde_json::to_value(resolved) {
        Ok(Json::Object(map)) => map.into_iter().filter(|(k, _)| !STANDARD.contains(&k.as_str())).collect(),
        _ => BTreeMap::new(),
    }
}

/// One key of the output, with the comments that go with it.
struct Entry {
    key: String,
    note: Note,
    value: Item,
}

enum Item {
    Scalar(String),
    Map(Vec<Entry>),
    /// A list of mappings.
    Seq(Vec<Vec<Entry>>),
}

/// The comments of a key in the v1 file.
#[derive(Default)]
struct Note {
    above: Vec<String>,
    /// The end-of-line comment, and the blanks before it (kept, so aligned comments stay
    /// aligned: the keys and values before them move alike).
    trailing: Option<(usize, String)>,
}

impl Entry {
    fn new(key: &str, value: Item) -> Self {
        Self { key: key.to_owned(), note: Note::default(), value }
    }

    fn noted(key: &str, note: Note, value: Item) -> Self {
        Self { key: key.to_owned(), note, value }
    }
}

/// The v1 text, for the comments around its keys; each comment is used once.
struct Source<'a> {
    lines: Vec<&'a str>,
    taken: HashSet<usize>,
    trailing_taken: HashSet<usize>,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        Self { lines: text.lines().collect(), taken: HashSet::new(), trailing_taken: HashSet::new() }
    }

    fn is_comment(&self, index: usize) -> bool {
        self.lines.get(index).is_some_and(|l| l.trim_start().starts_with('#'))
    }

    /// The comments of `key`: the comment lines right above it and the one ending its line.
    fn note(&mut self, key: &Key) -> Note {
        let line = usize::try_from(key.pos.line).unwrap_or(0).saturating_sub(1);
        let mut start = line;
        while start > 0 && self.is_comment(start - 1) && !self.taken.contains(&(start - 1)) {
            start -= 1;
        }
        let above = (start..line).map(|i| self.lines[i].trim().to_owned()).collect();
        self.taken.extend(start..line);
        let trailing = if self.trailing_taken.insert(line) {
            self.lines.get(line).and_then(|l| trailing_comment(l)).map(|(gap, text)| (gap, text.to_owned()))
        } else {
            None
        };
        Note { above, trailing }
    }

    /// The comments of the key `name` among `entries`, if it is there.
    fn note_of(&mut self, entries: &[(Key, Node)], name: &str) -> Note {
        find(entries, name).map(|(k, _)| self.note(k)).unwrap_or_default()
    }

    /// The file's leading comment block (what comes before the first key, except the
    /// comments right above that key), with a line for the new schema.
    fn leading(&mut self, root: &Node) -> String {
        let Value::Map(entries) = &root.value else { return String::new() };
        let Some(first) = entries.iter().map(|(k, _)| k.pos.line).min() else { return String::new() };
        let first = usize::try_from(first).unwrap_or(1).saturating_sub(1);
        let mut end = first;
        while end > 0 && self.is_comment(end - 1) {
            end -= 1;
        }
        let mut block: Vec<String> = (0..end)
            .filter(|i| !self.taken.contains(i))
            .map(|i| self.lines[i].trim_end().replace("schema v1", "schema v2"))
            .collect();
        while block.last().is_some_and(|l| l.trim().is_empty()) {
            block.pop();
        }
        let mut out = block.join("\n");
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out
    }
}

/// The `# …` that ends `line` outside quotes, and how many blanks come before it.
fn trailing_comment(line: &str) -> Option<(usize, &str)> {
    let mut quote = None;
    let mut previous = ' ';
    let mut escaped = false;
    for (byte, ch) in line.char_indices() {
        match (quote, ch) {
            _ if escaped => escaped = false,
            (Some('"'), '\\') => escaped = true,
            (None, '#') if previous == ' ' || previous == '\t' => {
                let before = &line[..byte];
                let gap = before.len() - before.trim_end().len();
                return (!before.trim().is_empty()).then(|| (gap, line[byte..].trim_end()));
            }
            (None, '"' | '\'') => quote = Some(ch),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        previous = ch;
    }
    None
}

fn entries(node: &Node) -> &[(Key, Node)] {
    match &node.value {
        Value::Map(entries) => entries,
        _ => &[],
    }
}

fn find<'n>(entries: &'n [(Key, Node)], name: &str) -> Option<&'n (Key, Node)> {
    entries.iter().find(|(k, _)| k.name == name)
}

/// A tag's key and value node in the v1 file.
type Tag = (Key, Node);

/// The v2 document for the checked `vars`, with the comments of `root`'s keys.
fn document(source: &mut Source<'_>, root: &Node, vars: &Variables, type_name: &str) -> Vec<Entry> {
    let top = entries(root);
    let resolved: Vec<Resolved> = vars.environments().filter_map(|e| vars.resolve(e).ok()).collect();
    let project = source.note_of(top, "project_name");
    let name_note = Note { above: Vec::new(), trailing: project.trailing };
    let metadata = Entry::noted(
        "metadata",
        Note { above: project.above, trailing: None },
        Item::Map(vec![Entry::noted("name", name_note, Item::Scalar(scalar(vars.project_name())))]),
    );

    // Tags in file order: one value everywhere goes to `spec.tags`, others per environment.
    let tag_nodes = find(top, "tags").map(|(_, n)| entries(n)).unwrap_or_default();
    let tags_note = source.note_of(top, "tags");
    let values = |key: &str| -> Vec<String> { resolved.iter().filter_map(|r| r.tags.get(key).cloned()).collect() };
    let (shared, varying): (Vec<&Tag>, Vec<&Tag>) =
        tag_nodes.iter().partition(|(k, _)| values(&k.name).windows(2).all(|w| w[0] == w[1]));
    let shared: Vec<Entry> = shared
        .into_iter()
        .filter_map(|(k, _)| {
            let value = values(&k.name).into_iter().next()?;
            Some(Entry::noted(&k.name, source.note(k), Item::Scalar(scalar(&value))))
        })
        .collect();

    let mut spec = vec![Entry::new(
        "environments",
        Item::Scalar(format!("[{}]", resolved.iter().map(|r| r.environment.as_str()).collect::<Vec<_>>().join(", "))),
    )];
    let mut env_tags_note = Some(tags_note);
    if !shared.is_empty() {
        spec.push(Entry::noted("tags", env_tags_note.take().unwrap_or_default(), Item::Map(shared)));
    }

    // `networking` → the component's `inputs`.
    let networking = find(top, "networking");
    let net_entries = networking.map(|(_, n)| entries(n)).unwrap_or_default();
    let net_note = networking.map(|(k, _)| source.note(k)).unwrap_or_default();
    let mut inputs = Vec::new();
    if let Some(first) = resolved.first() {
        for (name, value) in
            [("vpc_cidr", scalar(&first.vpc_cidr)), ("availability_zones", first.availability_zones.to_string())]
        {
            inputs.push(Entry::noted(name, source.note_of(net_entries, name), Item::Scalar(value)));
        }
    }

    // Each environment's values → its overrides.
    let environments = find(top, "environments");
    let env_nodes = environments.map(|(_, n)| entries(n)).unwrap_or_default();
    let envs_note = environments.map(|(k, _)| source.note(k)).unwrap_or_default();
    let mut overrides = Vec::new();
    for r in &resolved {
        let (env_note, fields) = match find(env_nodes, &r.environment) {
            Some((k, n)) => (source.note(k), entries(n)),
            None => (Note::default(), &[][..]),
        };
        let mut set: Vec<Entry> = [
            ("region", scalar(&r.region)),
            ("instance_type", scalar(&r.instance_type)),
            ("min_instances", r.min_instances.to_string()),
            ("max_instances", r.max_instances.to_string()),
        ]
        .into_iter()
        .map(|(name, value)| Entry::noted(name, source.note_of(fields, name), Item::Scalar(value)))
        .collect();
        let own: Vec<Entry> = varying
            .iter()
            .filter_map(|(k, _)| {
                let value = r.tags.get(&k.name)?;
                Some(Entry::noted(&k.name, source.note(k), Item::Scalar(scalar(value))))
            })
            .collect();
        if !own.is_empty() {
            set.push(Entry::noted("tags", env_tags_note.take().unwrap_or_default(), Item::Map(own)));
        }
        overrides.push(Entry::noted(&r.environment, env_note, Item::Map(set)));
    }

    let component = vec![
        Entry::new("name", Item::Scalar(COMPONENT.to_owned())),
        Entry::new("type", Item::Scalar(scalar(type_name))),
        Entry::noted("inputs", net_note, Item::Map(inputs)),
        Entry::noted("environments", envs_note, Item::Map(overrides)),
    ];
    let why = Note {
        above: vec![
            format!("# Migrated from schema v1: `{COMPONENT}` is the v1 module call (`module.{COMPONENT}`), and its"),
            "# type's module is the v1 module, so the resources keep their names and addresses.".to_owned(),
        ],
        trailing: None,
    };
    spec.push(Entry::noted("components", why, Item::Seq(vec![component])));
    vec![
        Entry::new("apiVersion", Item::Scalar(v2::API_VERSION.to_owned())),
        Entry::new("kind", Item::Scalar(v2::KIND.to_owned())),
        metadata,
        Entry::noted("spec", Note::default(), Item::Map(spec)),
    ]
}

/// YAML words that a plain scalar would turn into something other than a string.
const RESERVED: [&str; 9] = ["true", "false", "yes", "no", "on", "off", "null", "y", "n"];

/// `s` as a YAML string: plain when that reads back as the same string, else quoted (a
/// JSON string is a YAML double-quoted scalar).
fn scalar(s: &str) -> String {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str());
    if plain { s.to_owned() } else { serde_json::to_string(s).unwrap_or_default() }
}

/// Writes `entries` at `indent`; `item` starts the first one with `- ` (a list item).
fn emit(out: &mut String, entries: &[Entry], indent: usize, item: bool) {
    for (i, entry) in entries.iter().enumerate() {
        let at = indent + if item { 2 } else { 0 };
        // Top-level keys, and keys with comments above them, get a blank line before.
        if i > 0 && ((indent == 0 && entry.key != "kind") || !entry.note.above.is_empty()) {
            out.push('\n');
        }
        for comment in &entry.note.above {
            out.push_str(&format!("{:at$}{comment}\n", ""));
        }
        let mut line = if item && i == 0 { format!("{:indent$}- ", "") } else { format!("{:at$}", "") };
        line.push_str(&scalar(&entry.key));
        line.push(':');
        match &entry.value {
            Item::Scalar(v) => line.push_str(&format!(" {v}")),
            Item::Map(children) if children.is_empty() => line.push_str(" {}"),
            Item::Seq(items) if items.is_empty() => line.push_str(" []"),
            Item::Map(_) | Item::Seq(_) => {}
        }
        if let Some((gap, text)) = &entry.note.trailing {
            line.push_str(&format!("{:gap$}{text}", ""));
        }
        out.push_str(&line);
        out.push('\n');
        match &entry.value {
            Item::Map(children) => emit(out, children, at + 2, false),
            Item::Seq(items) => items.iter().for_each(|fields| emit(out, fields, at + 2, true)),
            Item::Scalar(_) => {}
        }
    }
}

#[cfg(test)]
mod tests;
