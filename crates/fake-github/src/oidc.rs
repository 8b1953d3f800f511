//! A fake of GitHub Actions' OIDC issuer (`token.actions.githubusercontent.com`): the
//! discovery document and the signing keys (JWKS), on `127.0.0.1:0`.
//!
//! Tests sign tokens themselves and serve the matching public keys here; the issuer URL to
//! expect in `iss` is [`FakeOidcIssuer::url`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Request, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::faults::{self, Fault, QueuedFault};

/// Where the keys are served, under the issuer URL (GitHub's own path).
pub const JWKS_PATH: &str = "/.well-known/jwks";
/// Where the discovery document is served, under the issuer URL.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

struct IssuerState {
    jwks: Value,
    discovery: Option<Value>,
    requests: Vec<String>,
    faults: Vec<QueuedFault>,
}

/// A running fake OIDC issuer; it shuts down when dropped.
pub struct FakeOidcIssuer {
    url: String,
    state: Arc<Mutex<IssuerState>>,
    shutdown: Option<oneshot::Sender<()>>,
}

fn lock(state: &Mutex<IssuerState>) -> MutexGuard<'_, IssuerState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeOidcIssuer {
    /// Starts an issuer serving `jwks` (a `{"keys": [...]}` document).
    ///
    /// # Panics
    /// When no local port can be bound.
    pub async fn start(jwks: Value) -> FakeOidcIssuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("fake-github: bind 127.0.0.1:0");
        let address = listener.local_addr().expect("fake-github: local address");
        let url = format!("http://{address}");
        let state =
            Arc::new(Mutex::new(IssuerState { jwks, discovery: None, requests: Vec::new(), faults: Vec::new() }));
        let app = Arc::new((url.clone(), Arc::clone(&state)));
        let router = axum::Router::new().fallback(handle).with_state(app);
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        FakeOidcIssuer { url, state, shutdown: Some(shutdown) }
    }

    /// The issuer URL, e.g. `http://127.0.0.1:41234`: what tokens must name in `iss`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Serves `jwks` from now on (e.g. after a key rotation).
    pub fn set_jwks(&self, jwks: Value) {
        lock(&self.state).jwks = jwks;
    }

    /// Serves `document` instead of the default discovery document, which names this
    /// issuer and its [`JWKS_PATH`].
    pub fn set_discovery(&self, document: Value) {
        lock(&self.state).discovery = Some(document);
    }

    /// Queues `fault` for the next `times` requests whose path starts with `path_prefix`.
    pub fn inject_times(&self, path_prefix: &str, fault: Fault, times: usize) {
        if times > 0 {
            lock(&self.state).faults.push(QueuedFault {
                method: "*".to_owned(),
                path_prefix: path_prefix.to_owned(),
                fault,
                remaining: times,
            });
        }
    }

    /// The paths requested, in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }
}

impl Drop for FakeOidcIssuer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl std::fmt::Debug for FakeOidcIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOidcIssuer").field("url", &self.url).finish_non_exhaustive()
    }
}

/// GitHub's discovery document, for an issuer at `url`.
fn discovery(url: &str) -> Value {
    json!({
        "issuer": url,
        "jwks_uri": format!("{url}{JWKS_PATH}"),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "claims_supported": [
            "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository", "repository_id",
            "repository_owner", "repository_owner_id", "run_id", "run_number", "run_attempt", "actor", "actor_id",
            "workflow", "workflow_ref", "workflow_sha", "head_ref", "base_ref", "event_name", "ref_type",
            "environment", "job_workflow_ref", "job_workflow_sha", "repository_visibility", "runner_environment"
        ],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"],
    })
}

async fn handle(AxumState(app): AxumState<Arc<(String, Arc<Mutex<IssuerState>>)>>, request: Request) -> Response {
    let (url, state) = (&app.0, &app.1);
    let path = request.uri().path().to_owned();
    let (fault, body) = {
        let mut state = lock(state);
        state.requests.push(path.clone());
        let fault = faults::take(&mut state.faults, request.method().as_str(), &path);
        let body = match path.as_str() {
            DISCOVERY_PATH => Some(state.discovery.clone().unwrap_or_else(|| discovery(url))),
            JWKS_PATH => Some(state.jwks.clone()),
            _ => None,
        };
        (fault, body)
    };
    match fault {
        Some(Fault::Status(code) | Fault::LostResponse(code)) => {
            return StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR).into_response();
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        // A token request has nothing to write: answered as the 502 it looks like.
        Some(Fault::LateWrite(_)) => return StatusCode::BAD_GATEWAY.into_response(),
        Some(Fault::SecondaryRateLimit | Fault::SecondaryRateLimitFor(_) | Fault::RateLimited) => {
            return StatusCode::TOO_MANY_REQUESTS.into_response();
        }
        None => {}
    }
    match body {
        Some(body) => ([("content-type", "application/json")], body.to_string()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
