//! GitHub's REST description (the OpenAPI subset) as the fake uses it: which operation a
//! request names, what its body must look like, and GitHub's own example responses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::schema;

/// Environment variable that points the fake at another copy of the description.
pub const OPENAPI_ENV: &str = "FAKE_GITHUB_OPENAPI";

/// One segment of a path template such as `/repos/{owner}/{repo}/contents/{path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    /// A parameter that takes the rest of the path (`x-multi-segment`).
    Rest(String),
}

/// A query parameter the operation declares.
#[derive(Debug, Clone)]
pub(crate) struct QueryParam {
    pub name: String,
    /// The JSON Schema `type`, e.g. `integer`.
    pub kind: String,
}

/// One operation of the description.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    /// GitHub's `operationId`, e.g. `repos/create-commit-status`.
    pub id: String,
    pub method: String,
    segments: Vec<Segment>,
    pub query: Vec<QueryParam>,
    /// The `application/json` request body schema, if the operation takes a body.
    pub request_schema: Option<Value>,
    pub request_body_required: bool,
    /// GitHub's documentation page for the operation.
    pub docs_url: String,
    /// Example bodies per status code and example name, from `application/json`.
    examples: BTreeMap<u16, Vec<(String, Value)>>,
    /// The `application/json` response body schema per status code.
    response_schemas: BTreeMap<u16, Value>,
}

impl Operation {
    /// GitHub's example body for `status`: the named one, or the first.
    pub(crate) fn example(&self, status: u16, name: Option<&str>) -> Option<Value> {
        let examples = self.examples.get(&status)?;
        match name {
            Some(name) => examples.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()),
            None => examples.first().map(|(_, v)| v.clone()),
        }
    }

    /// The response body schema GitHub documents for `status`, if any.
    pub(crate) fn response_schema(&self, status: u16) -> Option<&Value> {
        self.response_schemas.get(&status)
    }

    fn matches(&self, segments: &[String]) -> Option<BTreeMap<String, String>> {
        let mut params = BTreeMap::new();
        let mut i = 0;
        for (k, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    if segments.get(i) != Some(literal) {
                        return None;
                    }
                    i += 1;
                }
                Segment::Param(name) => {
                    let value = segments.get(i).filter(|s| !s.is_empty())?;
                    params.insert(name.clone(), value.clone());
                    i += 1;
                }
                // A multi-segment parameter takes what the segments after it leave
                // (`/commits/{commit_sha}/pulls`: all but the last).
                Segment::Rest(name) => {
                    let end = segments.len().checked_sub(self.segments.len() - k - 1)?;
                    if i >= end {
                        return None;
                    }
                    params.insert(name.clone(), segments[i..end].join("/"));
                    i = end;
                }
            }
        }
        (i == segments.len()).then_some(params)
    }

    fn literal_count(&self) -> usize {
        self.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count()
    }
}

/// The operations of the description, indexed for matching.
#[derive(Debug)]
pub(crate) struct Spec {
    operations: Vec<Operation>,
}

/// A request matched to an operation.
#[derive(Debug, Clone)]
pub(crate) struct Matched<'a> {
    pub operation: &'a Operation,
    pub params: BTreeMap<String, String>,
}

impl Spec {
    /// The description shared by every fake in this process, loaded once.
    pub(crate) fn shared() -> Result<Arc<Spec>, String> {
        static SPEC: OnceLock<Result<Arc<Spec>, String>> = OnceLock::new();
        SPEC.get_or_init(|| Spec::load(&default_path()).map(Arc::new)).clone()
    }

    /// Loads and indexes the description at `path`.
    pub(crate) fn load(path: &Path) -> Result<Spec, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "fake-github: can't read the GitHub OpenAPI description at `{}`: {e}\nhint: set {OPENAPI_ENV} to the path of openapi-subset.json",
                path.display()
            )
        })?;
        let document: Value = serde_json::from_str(&text)
            .map_err(|e| format!("fake-github: `{}` is not valid JSON: {e}", path.display()))?;
        let operations = parse_operations(&document).map_err(|e| format!("fake-github: `{}`: {e}", path.display()))?;
        Ok(Spec { operations })
    }

    /// Finds the operation for `method` and a percent-decoded list of path segments.
    pub(crate) fn find(&self, method: &str, segments: &[String]) -> Option<Matched<'_>> {
        self.operations
            .iter()
            .filter(|op| op.method == method)
            .filter_map(|op| op.matches(segments).map(|params| (op, params)))
            .max_by_key(|(op, _)| op.literal_count())
            .map(|(operation, params)| Matched { operation, params })
    }

    /// The operation with `id`.
    #[cfg(test)]
    pub(crate) fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }
}

/// `$FAKE_GITHUB_OPENAPI`, else the copy committed in this crate
/// (`crates/fake-github/github-api/openapi-subset.json`).
pub(crate) fn default_path() -> PathBuf {
    match std::env::var_os(OPENAPI_ENV) {
        Some(path) => PathBuf::from(path),
        None => github_api_dir().join("openapi-subset.json"),
    }
}

/// The committed GitHub reference data: the OpenAPI subset and GitHub's example webhook
/// payloads (`events/`), with a README saying where they come from.
pub fn github_api_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("github-api")
}

fn parse_operations(document: &Value) -> Result<Vec<Operation>, String> {
    let paths = document.get("paths").and_then(Value::as_object).ok_or("no `paths` object")?;
    let mut operations = Vec::new();
    for (template, item) in paths {
        let Some(item) = item.as_object() else { continue };
        for (method, op) in item {
            if !matches!(method.as_str(), "get" | "post" | "patch" | "put" | "delete") {
                continue;
            }
            operations.push(parse_operation(template, method, op)?);
        }
    }
    Ok(operations)
}

fn parse_operation(template: &str, method: &str, op: &Value) -> Result<Operation, String> {
    let id =
        op.get("operationId").and_then(Value::as_str).ok_or_else(|| format!("{method} {template}: no operationId"))?;
    let parameters = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    let multi_segment: Vec<&str> = parameters
        .iter()
        .filter(|p| p.get("x-multi-segment").and_then(Value::as_bool) == Some(true))
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .collect();
    let segments = template
        .trim_start_matches('/')
        .split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if multi_segment.contains(&name) => Segment::Rest(name.to_owned()),
            Some(name) => Segment::Param(name.to_owned()),
            None => Segment::Literal(segment.to_owned()),
        })
        .collect();
    let query = parameters
        .iter()
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
        .filter_map(|p| {
            Some(QueryParam {
                name: p.get("name")?.as_str()?.to_owned(),
                kind: p.pointer("/schema/type").and_then(Value::as_str).unwrap_or("string").to_owned(),
            })
        })
        .collect();
    let request_schema = op.pointer("/requestBody/content/application~1json/schema").cloned();
    if let Some(schema) = &request_schema {
        schema::check_supported(schema, &format!("{id} request body"))?;
    }
    let request_body_required = op.pointer("/requestBody/required").and_then(Value::as_bool).unwrap_or(false);
    let docs_url =
        op.pointer("/externalDocs/url").and_then(Value::as_str).unwrap_or("https://docs.github.com/rest").to_owned();
    let mut examples = BTreeMap::new();
    let mut response_schemas = BTreeMap::new();
    for (code, response) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
        let Ok(code) = code.parse::<u16>() else { continue };
        let Some(content) = response.pointer("/content/application~1json") else { continue };
        if let Some(schema) = content.get("schema") {
            schema::check_supported(schema, &format!("{id} {code} response"))?;
            response_schemas.insert(code, schema.clone());
        }
        let mut named = Vec::new();
        if let Some(map) = content.get("examples").and_then(Value::as_object) {
            for (name, example) in map {
                if let Some(value) = example.get("value") {
                    named.push((name.clone(), value.clone()));
                }
            }
        } else if let Some(value) = content.get("example") {
            named.push(("example".to_owned(), value.clone()));
        }
        if !named.is_empty() {
            examples.insert(code, named);
        }
    }
    Ok(Operation {
        id: id.to_owned(),
        method: method.to_ascii_uppercase(),
        segments,
        query,
        request_schema,
        request_body_required,
        docs_url,
        examples,
        response_schemas,
    })
}
