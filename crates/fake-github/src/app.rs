//! A GitHub App in the fake: its JWT (RS256, checked against the test App's public key,
//! `iss` = the App id, unexpired, at most 10 minutes long), its installation on the
//! repositories a test names, installation tokens narrowed to repositories and
//! permissions with an expiry, and check runs (which GitHub only lets Apps write).
//!
//! An installation token stands for `<slug>[bot]`: everything written with it (comments,
//! statuses, check runs) is by that login. A token past its expiry gets 401; a token used
//! on a repository it was not issued for gets 404, as GitHub answers.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::clock;
use crate::routes::{example, not_found, set};
use crate::server::{Call, error, json_response};
use crate::state::State;

/// The test App's private key (PEM): hand it to the code under test as the App's key.
/// A test-only key that protects nothing (see `test-keys/README.md`).
pub const TEST_APP_PRIVATE_KEY: &str = include_str!("../test-keys/test-app-private-key.pem");
/// Its public key: what the fake verifies JWTs with.
pub const TEST_APP_PUBLIC_KEY: &str = include_str!("../test-keys/test-app-public-key.pem");
/// The installation id of the test App (one installation, on every repository it is on).
pub const TEST_INSTALLATION_ID: u64 = 4_242;
/// GitHub refuses a JWT whose `exp` is more than this after its `iat`.
const MAX_JWT_SECS: u64 = 600;
/// GitHub refuses more annotations than this in one check run request.
pub const MAX_ANNOTATIONS_PER_REQUEST: usize = 50;
/// GitHub refuses a check run output summary or text longer than this.
pub const MAX_CHECK_OUTPUT_CHARS: usize = 65_535;

/// The App a test installed.
#[derive(Debug)]
pub(crate) struct FakeApp {
    pub id: u64,
    pub slug: String,
    /// `owner/repo`, lowercase.
    pub repos: BTreeSet<String>,
    /// How long an installation token lives (GitHub: one hour).
    pub token_lifetime: u64,
    /// token → what it was issued for.
    pub tokens: BTreeMap<String, IssuedToken>,
    /// The installation's permissions, as `GET /repos/{owner}/{repo}/installation` shows them.
    pub permissions: Value,
}

/// What the test App is granted unless a test says otherwise: what infra-manager asks for.
pub(crate) fn default_permissions() -> Value {
    json!({
        "metadata": "read",
        "contents": "write",
        "pull_requests": "write",
        "statuses": "write",
        "checks": "write",
        "issues": "write",
        "actions": "read",
    })
}

#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    /// `owner/repo`, lowercase.
    pub repos: Vec<String>,
    pub expires_at: u64,
}

/// A token request as the fake received it: the repositories and permissions asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub installation_id: u64,
    pub repositories: Vec<String>,
    pub permissions: Value,
}

/// A check run as the fake stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    pub id: u64,
    pub name: String,
    pub head_sha: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    pub conclusion: Option<String>,
    pub details_url: Option<String>,
    /// The last `output` sent, without its annotations.
    pub output: Value,
    /// Every annotation sent, in order (GitHub adds them up across updates).
    pub annotations: Vec<Value>,
    /// Whoever the token that created it stands for (`<slug>[bot]`).
    pub author: String,
}

impl FakeApp {
    pub(crate) fn login(&self) -> String {
        format!("{}[bot]", self.slug)
    }
}

/// Whether `token` looks like a JWT (three base64url parts).
fn is_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.split('.').count() == 3
}

/// Why `token` is not a valid JWT of the installed App, if it is not.
fn jwt_problem(state: &State, token: &str) -> Result<(), String> {
    let Some(app) = &state.app else { return Err("no App is installed".to_owned()) };
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(TEST_APP_PUBLIC_KEY.as_bytes())
        .map_err(|e| format!("test public key: {e}"))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| e.to_string())?.claims;
    if claims["iss"] != json!(app.id.to_string()) && claims["iss"] != json!(app.id) {
        return Err("`iss` is not the App id".to_owned());
    }
    let (iat, exp) = (claims["iat"].as_u64().unwrap_or(0), claims["exp"].as_u64().unwrap_or(0));
    if exp.saturating_sub(iat) > MAX_JWT_SECS {
        return Err("`exp` is more than 10 minutes after `iat`".to_owned());
    }
    if iat > clock::now_unix() + 60 {
        return Err("`iat` is in the future".to_owned());
    }
    Ok(())
}

/// Checks the credentials of a call before it is answered: App operations need the
/// App's JWT, a JWT is good for nothing else, and an installation token must be unexpired
/// and used on a repository it was issued for. `None` lets the call through.
pub(crate) fn guard(state: &State, call: &Call<'_>) -> Option<Response> {
    let app_operation = matches!(
        call.operation.id.as_str(),
        "apps/get-authenticated" | "apps/get-repo-installation" | "apps/create-installation-access-token"
    );
    if app_operation {
        return jwt_problem(state, &call.token).err().map(|why| {
            error(
                StatusCode::UNAUTHORIZED,
                &format!("A JSON web token could not be decoded (fake-github: {why})"),
                "https://docs.github.com/rest",
            )
        });
    }
    if is_jwt(&call.token) {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "A JSON web token can only be used on App endpoints (fake-github)",
            &call.operation.docs_url,
        ));
    }
    let issued = state.app.as_ref()?.tokens.get(&call.token)?;
    if clock::now_unix() >= issued.expires_at {
        return Some(error(StatusCode::UNAUTHORIZED, "Bad credentials", "https://docs.github.com/rest"));
    }
    let repo = call.repo().to_ascii_lowercase();
    (call.params.contains_key("owner") && !issued.repos.contains(&repo)).then(|| not_found(call))
}

/// `GET /app`.
pub(crate) fn get_app(state: &mut State, call: &Call<'_>) -> Response {
    let Some(app) = &state.app else { return not_found(call) };
    let mut body = example(call, 200, None);
    set(&mut body, "/id", json!(app.id));
    set(&mut body, "/slug", json!(app.slug));
    set(&mut body, "/name", json!(app.slug));
    json_response(StatusCode::OK, &body)
}

/// `GET /repos/{owner}/{repo}/installation`.
pub(crate) fn get_installation(state: &mut State, call: &Call<'_>) -> Response {
    let repo = call.repo().to_ascii_lowercase();
    if !state.app.as_ref().is_some_and(|app| app.repos.contains(&repo)) {
        return not_found(call);
    }
    let mut body = example(call, 200, None);
    set(&mut body, "/id", json!(TEST_INSTALLATION_ID));
    set(&mut body, "/account/login", json!(call.param("owner")));
    if let Some(app) = &state.app {
        set(&mut body, "/permissions", app.permissions.clone());
    }
    json_response(StatusCode::OK, &body)
}

/// `POST /app/installations/{installation_id}/access_tokens`.
pub(crate) fn create_token(state: &mut State, call: &Call<'_>) -> Response {
    if call.param("installation_id") != TEST_INSTALLATION_ID.to_string() {
        return not_found(call);
    }
    let names: Vec<String> = call.body["repositories"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let next = state.next_id();
    state.token_requests.push(TokenRequest {
        installation_id: TEST_INSTALLATION_ID,
        repositories: names.clone(),
        permissions: call.body["permissions"].clone(),
    });
    let Some(app) = state.app.as_mut() else { return not_found(call) };
    // One installation: a repository name means that name under any owner it is on.
    let repos: Vec<String> = app
        .repos
        .iter()
        .filter(|full| names.iter().any(|n| full.split_once('/').is_some_and(|(_, name)| name.eq_ignore_ascii_case(n))))
        .cloned()
        .collect();
    if names.is_empty() || repos.len() < names.len() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "There is at least one repository that does not exist or is not accessible to the parent installation.",
            &call.operation.docs_url,
        );
    }
    let token = format!("ghs_fakeApp{next:026}");
    let expires_at = clock::now_unix() + app.token_lifetime;
    app.tokens.insert(token.clone(), IssuedToken { repos, expires_at });
    let login = app.login();
    state.tokens.insert(token.clone(), login);
    let mut body = example(call, 201, None);
    set(&mut body, "/token", json!(token));
    set(&mut body, "/expires_at", json!(clock::rfc3339(expires_at)));
    set(&mut body, "/permissions", call.body["permissions"].clone());
    set(&mut body, "/repositories", json!([]));
    json_response(StatusCode::CREATED, &body)
}

fn output_too_long(call: &Call<'_>) -> Option<String> {
    let output = call.body.get("output")?;
    if output["annotations"].as_array().is_some_and(|a| a.len() > MAX_ANNOTATIONS_PER_REQUEST) {
        return Some(format!("output.annotations: at most {MAX_ANNOTATIONS_PER_REQUEST} per request"));
    }
    ["summary", "text"].into_iter().find_map(|field| {
        let chars = output[field].as_str().map_or(0, |t| t.chars().count());
        (chars > MAX_CHECK_OUTPUT_CHARS)
            .then(|| format!("output.{field} is too long (maximum is {MAX_CHECK_OUTPUT_CHARS} characters)"))
    })
}

/// `POST /repos/{owner}/{repo}/check-runs`: only with an App's installation token.
pub(crate) fn create_check(state: &mut State, call: &Call<'_>) -> Response {
    let owner_repo = call.repo();
    if state.repo(&owner_repo).is_none() {
        return not_found(call);
    }
    if !state.app.as_ref().is_some_and(|app| app.tokens.contains_key(&call.token)) {
        return error(StatusCode::FORBIDDEN, "You must authenticate via a GitHub App.", &call.operation.docs_url);
    }
    if let Some(message) = output_too_long(call) {
        return crate::routes::limit_violation(state, call, "output", message);
    }
    let text = |name: &str| call.body.get(name).and_then(Value::as_str).map(str::to_owned);
    let mut run = CheckRun {
        id: state.next_id(),
        name: text("name").unwrap_or_default(),
        head_sha: text("head_sha").unwrap_or_default(),
        status: text("status").unwrap_or_else(|| "queued".to_owned()),
        conclusion: text("conclusion"),
        details_url: text("details_url"),
        output: Value::Null,
        annotations: Vec::new(),
        author: state.login_for(&call.token),
    };
    apply_output(&mut run, call.body);
    let body = check_json(call, 201, &run);
    state.ensure_repo(&owner_repo).check_runs.push(run);
    json_response(StatusCode::CREATED, &body)
}

/// `PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}`.
pub(crate) fn update_check(state: &mut State, call: &Call<'_>) -> Response {
    let owner_repo = call.repo();
    if let Some(message) = output_too_long(call) {
        return crate::routes::limit_violation(state, call, "output", message);
    }
    let id: u64 = call.param("check_run_id").parse().unwrap_or(0);
    let Some(run) = state.repo_mut(&owner_repo).and_then(|r| r.check_runs.iter_mut().find(|c| c.id == id)) else {
        return not_found(call);
    };
    let text = |name: &str| call.body.get(name).and_then(Value::as_str).map(str::to_owned);
    if let Some(status) = text("status") {
        run.status = status;
    }
    if let Some(conclusion) = text("conclusion") {
        run.conclusion = Some(conclusion);
        run.status = "completed".to_owned();
    }
    apply_output(run, call.body);
    let run = run.clone();
    json_response(StatusCode::OK, &check_json(call, 200, &run))
}

fn apply_output(run: &mut CheckRun, body: &Value) {
    let Some(output) = body.get("output") else { return };
    let mut kept = output.clone();
    if let Some(fields) = kept.as_object_mut() {
        fields.remove("annotations");
    }
    run.output = kept;
    run.annotations.extend(output["annotations"].as_array().cloned().unwrap_or_default());
}

fn check_json(call: &Call<'_>, status: u16, run: &CheckRun) -> Value {
    let mut body = example(call, status, None);
    set(&mut body, "/id", json!(run.id));
    set(&mut body, "/name", json!(run.name));
    set(&mut body, "/head_sha", json!(run.head_sha));
    set(&mut body, "/status", json!(run.status));
    set(&mut body, "/conclusion", json!(run.conclusion));
    body
}
