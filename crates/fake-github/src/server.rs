//! The HTTP side of the fake: records every request, checks authentication, fires queued
//! faults, matches the request to an operation of GitHub's description, checks the query
//! and body against it, and hands the request to [`routes`]; anything else is named as
//! unexpected.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::clock;
use crate::faults::{self, Fault};
use crate::routes;
use crate::schema;
use crate::spec::{Operation, Spec};
use crate::state::{RecordedRequest, State, Violation};

/// Operations the fake answers; the description holds a few more that the project does not use.
const IMPLEMENTED: &[&str] = &[
    "repos/get-content",
    "repos/create-commit-status",
    "repos/list-commit-statuses-for-ref",
    "actions/get-workflow-run",
    "issues/list-comments",
    "issues/create-comment",
    "issues/update-comment",
    "repos/create-dispatch-event",
    "repos/get",
    "rate-limit/get",
    "users/get-authenticated",
    "pulls/get",
    "repos/list-pull-requests-associated-with-commit",
    "repos/get-branch",
    "repos/compare-commits-with-basehead",
    "issues/list-for-repo",
    "issues/create",
    "issues/get",
    "issues/update",
    "apps/get-authenticated",
    "apps/get-repo-installation",
    "apps/create-installation-access-token",
    "checks/create",
    "checks/update",
    "repos/get-environment",
    "pulls/list-reviews",
    "actions/get-reviews-for-run",
];

/// What the axum handler shares.
pub(crate) struct App {
    pub state: Arc<Mutex<State>>,
    pub spec: Arc<Spec>,
}

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A request as the routes see it.
pub(crate) struct Call<'a> {
    /// The request method and path as sent.
    pub method: &'a str,
    pub path: &'a str,
    pub operation: &'a Operation,
    pub params: BTreeMap<String, String>,
    /// Decoded query pairs in the order sent.
    pub query: Vec<(String, String)>,
    pub headers: &'a HeaderMap,
    pub body: &'a Value,
    /// The token the request carried (`Authorization: Bearer …` or `token …`).
    pub token: String,
}

impl Call<'_> {
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or_default()
    }

    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `owner/repo` from the path.
    pub(crate) fn repo(&self) -> String {
        format!("{}/{}", self.param("owner"), self.param("repo"))
    }
}

pub(crate) async fn handle(AxumState(app): AxumState<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 32 * 1024 * 1024).await.unwrap_or_default();
    let recorded = RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        body: parse_body(&bytes),
    };
    let fault = {
        let mut state = lock(&app.state);
        state.requests.push(recorded.clone());
        faults::take(&mut state.faults, &recorded.method, &recorded.path)
    };

    if !parts.headers.contains_key(header::AUTHORIZATION) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            "https://docs.github.com/rest/overview/authenticating-to-the-rest-api",
        );
    }

    match fault {
        None => route(&app, &recorded, &parts.headers, &bytes).await,
        Some(Fault::LateWrite(delay)) => {
            // GitHub carries the write out later; the client only sees a 502 now.
            let (app, recorded, headers, bytes) = (app.clone(), recorded.clone(), parts.headers.clone(), bytes.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = route(&app, &recorded, &headers, &bytes).await;
            });
            status_fault(502)
        }
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            route(&app, &recorded, &parts.headers, &bytes).await
        }
        Some(Fault::Status(code)) => status_fault(code),
        Some(Fault::LostResponse(code)) => {
            let _ = route(&app, &recorded, &parts.headers, &bytes).await;
            status_fault(code)
        }
        Some(fault @ (Fault::SecondaryRateLimit | Fault::SecondaryRateLimitFor(_))) => {
            let wait = if let Fault::SecondaryRateLimitFor(secs) = fault { secs } else { 1 };
            let mut response = error(
                StatusCode::FORBIDDEN,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
                "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            );
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
            response
        }
        Some(Fault::RateLimited) => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.",
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            );
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            headers.insert("x-ratelimit-reset", HeaderValue::from(clock::now_unix() + 1));
            response
        }
    }
}

/// The token of an `Authorization: Bearer <token>` (or `token <token>`) header.
fn bearer_token(headers: &HeaderMap) -> String {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default().trim();
    let token = value.split_once(' ').map_or(value, |(scheme, rest)| match scheme.to_ascii_lowercase().as_str() {
        "bearer" | "token" => rest.trim(),
        _ => value,
    });
    token.to_owned()
}

fn parse_body(bytes: &Bytes) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    }
}

fn status_fault(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = status.canonical_reason().unwrap_or("Server Error");
    error(status, message, "https://docs.github.com/rest")
}

async fn route(app: &App, request: &RecordedRequest, headers: &HeaderMap, raw_body: &Bytes) -> Response {
    let segments: Vec<String> = request.path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let matched = app.spec.find(&request.method, &segments).or_else(|| {
        // octocrab's `update_comment` sends POST where the description says PATCH; GitHub accepts both.
        (request.method == "POST")
            .then(|| app.spec.find("PATCH", &segments))
            .flatten()
            .filter(|m| m.operation.id == "issues/update-comment")
    });
    let Some(matched) = matched.filter(|m| IMPLEMENTED.contains(&m.operation.id.as_str())) else {
        lock(&app.state).unexpected.push(request.clone());
        let message = format!("Not Found (fake-github: unexpected {} {})", request.method, request.path);
        return error(StatusCode::NOT_FOUND, &message, "https://docs.github.com/rest");
    };
    let operation = matched.operation;
    let query = request.query.as_deref().map(parse_query).unwrap_or_default();

    let mut problems = check_query(operation, &query);
    let mut rejection = None;
    if let Some(schema) = &operation.request_schema {
        if raw_body.is_empty() {
            if operation.request_body_required {
                problems.push("the request body is required but was empty".to_owned());
                rejection = Some(validation_failed(
                    operation,
                    vec![schema::SchemaError {
                        field: String::new(),
                        code: "missing",
                        message: "the request body is required".to_owned(),
                    }],
                ));
            }
        } else if serde_json::from_slice::<Value>(raw_body).is_err() {
            problems.push("the request body is not JSON".to_owned());
            rejection = Some(error(StatusCode::BAD_REQUEST, "Problems parsing JSON", &operation.docs_url));
        } else {
            let errors = schema::validate(schema, &request.body);
            if !errors.is_empty() {
                problems.extend(errors.iter().map(ToString::to_string));
                rejection = Some(validation_failed(operation, errors));
            }
        }
    }
    if !problems.is_empty() {
        lock(&app.state).violations.push(Violation {
            method: request.method.clone(),
            path: request.path.clone(),
            operation: operation.id.clone(),
            errors: problems,
        });
    }
    if let Some(rejection) = rejection {
        return rejection;
    }

    let call = Call {
        method: &request.method,
        path: &request.path,
        operation,
        params: matched.params,
        query,
        headers,
        body: &request.body,
        token: bearer_token(headers),
    };
    let mut response = routes::answer(&mut lock(&app.state), &call);
    if let Some(scopes) = lock(&app.state).token_scopes.get(&call.token)
        && let Ok(value) = HeaderValue::from_str(scopes)
    {
        response.headers_mut().insert("x-oauth-scopes", value);
    }
    check_answer(app, request, operation, response).await
}

/// Checks a JSON answer against the response schema GitHub documents for its status; an
/// answer that breaks it is a bug in the fake, recorded as a violation so that every test
/// that checks [`crate::FakeGithub::violations`] fails on it.
async fn check_answer(app: &App, request: &RecordedRequest, operation: &Operation, response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Some(schema) = operation.response_schema(response.status().as_u16()).filter(|_| is_json) else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let errors = schema::validate(schema, &value);
    if !errors.is_empty() {
        let status = parts.status.as_u16();
        lock(&app.state).violations.push(Violation {
            method: request.method.clone(),
            path: request.path.clone(),
            operation: operation.id.clone(),
            errors: errors
                .iter()
                .map(|e| format!("fake-github's own {status} answer breaks GitHub's response schema: {e}"))
                .collect(),
        });
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Unknown query parameters and values of the wrong type; GitHub ignores the former, so
/// they are only recorded.
fn check_query(operation: &Operation, query: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, value) in query {
        match operation.query.iter().find(|p| &p.name == name) {
            None => problems.push(format!("unknown query parameter `{name}`")),
            Some(param) if param.kind == "integer" && value.parse::<i64>().is_err() => {
                problems.push(format!("query parameter `{name}` is `{value}`, expected an integer"));
            }
            Some(_) => {}
        }
    }
    problems
}

/// GitHub's 422 body for a request that breaks the body schema.
pub(crate) fn validation_failed(operation: &Operation, errors: Vec<schema::SchemaError>) -> Response {
    let resource = resource_name(&operation.id);
    let errors: Vec<Value> = errors
        .into_iter()
        .map(|e| json!({"resource": resource, "field": e.field, "code": e.code, "message": e.message}))
        .collect();
    let body = json!({
        "message": "Validation Failed",
        "errors": errors,
        "documentation_url": operation.docs_url,
        "status": "422",
    });
    json_response(StatusCode::UNPROCESSABLE_ENTITY, &body)
}

fn resource_name(operation_id: &str) -> &'static str {
    match operation_id {
        "repos/create-commit-status" => "Status",
        "issues/create-comment" | "issues/update-comment" => "IssueComment",
        "repos/create-dispatch-event" => "RepositoryDispatch",
        "issues/create" | "issues/update" => "Issue",
        _ => "Resource",
    }
}

/// A GitHub error body: `{"message", "documentation_url", "status"}`.
pub(crate) fn error(status: StatusCode, message: &str, docs_url: &str) -> Response {
    let body = json!({"message": message, "documentation_url": docs_url, "status": status.as_u16().to_string()});
    json_response(status, &body)
}

/// A JSON answer with the headers GitHub sends on every response.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, Body::from(body.to_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    add_github_headers(headers);
    response
}

pub(crate) fn add_github_headers(headers: &mut HeaderMap) {
    headers.insert("x-github-api-version-selected", HeaderValue::from_static("2022-11-28"));
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
    headers.insert("x-ratelimit-remaining", HeaderValue::from_static("4999"));
    headers.insert("x-ratelimit-used", HeaderValue::from_static("1"));
    headers.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
    headers.insert("x-ratelimit-reset", HeaderValue::from(clock::now_unix() + 3600));
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(&k.replace('+', " ")), percent_decode(&v.replace('+', " ")))
        })
        .collect()
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes everything but unreserved characters (and `/` when `keep_slash`).
pub(crate) fn percent_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') || (keep_slash && byte == b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_from_bearer_and_token_headers() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
            bearer_token(&headers)
        };
        assert_eq!(with("Bearer ghs_abc"), "ghs_abc");
        assert_eq!(with("token ghp_abc"), "ghp_abc");
        assert_eq!(with("bearer  x "), "x");
        assert_eq!(bearer_token(&HeaderMap::new()), "");
    }

    #[test]
    fn percent_coding_round_trips() {
        assert_eq!(percent_decode("infra%2Fvariables.yml"), "infra/variables.yml");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_encode("a b/c", true), "a%20b/c");
        assert_eq!(
            parse_query("per_page=100&page=2&ref=a%20b"),
            vec![
                ("per_page".to_owned(), "100".to_owned()),
                ("page".to_owned(), "2".to_owned()),
                ("ref".to_owned(), "a b".to_owned()),
            ]
        );
    }
}
