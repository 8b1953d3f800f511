//! GitHub App authentication: the App's JWT, each repository's installation, and
//! installation tokens narrowed to one repository and to what the run needs there.
//!
//! - The JWT (RS256, signed with the App's private key) says `iss` = the App id, `iat` 60 s
//!   in the past (GitHub's allowance for clock drift) and `exp` 9 minutes ahead (GitHub
//!   refuses more than 10). It only reaches `GET /app`, a repository's installation and the
//!   token exchange.
//! - Every other call is made with an installation token for the repository it names,
//!   asked for with `repositories: [that repository]` and the permissions of its
//!   [`Access`], cached per (repository, access) and renewed when less than
//!   [`RENEW_BEFORE_SECS`] of its life is left (`expires_at` from GitHub decides), so a
//!   long apply never writes with an expired token.
//!
//! The key and the tokens print as `***` in `Debug`.

use std::collections::HashMap;
use std::fmt;

use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api::{Api, Call};
use super::error::GithubError;
use super::token::GithubToken;

/// A token with less life left than this is renewed before use.
pub const RENEW_BEFORE_SECS: u64 = 5 * 60;
/// How far in the past the JWT's `iat` is set (clock drift allowance).
const JWT_BACKDATE_SECS: u64 = 60;
/// How long the JWT is valid after now (GitHub's maximum is 10 minutes after `iat`).
const JWT_LIFETIME_SECS: u64 = 9 * 60;

/// What a run needs in a repository; each asks GitHub for only its permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// A customer repository: read `infra/variables.yml` and pull requests, write commit
    /// statuses, check runs and the sticky PR comment (issue comments on a PR need
    /// `pull_requests: write`).
    Customer,
    /// The manager repository's drift issues.
    Issues,
    /// The manager repository's `repository_dispatch` (GitHub asks `contents: write`).
    Dispatch,
    /// `doctor` reading the manager repository's deployment environments.
    Environments,
    /// An apply reading who approved it: its workflow run's environment approvals and the
    /// manager repository's pull request reviews (a tenant's).
    Approvals,
}

impl Access {
    /// The `permissions` of the token request.
    pub fn permissions(self) -> Value {
        match self {
            Self::Customer => json!({
                "contents": "read",
                "pull_requests": "write",
                "statuses": "write",
                "checks": "write",
            }),
            Self::Issues => json!({ "issues": "write" }),
            Self::Dispatch => json!({ "contents": "write" }),
            Self::Environments => json!({ "actions": "read" }),
            Self::Approvals => json!({ "actions": "read", "pull_requests": "read" }),
        }
    }
}

/// Why an App's settings were refused; never quotes the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppError {
    #[error("the GitHub App id `{0}` is not a positive number")]
    Id(String),
    #[error("the GitHub App private key is not an RSA private key in PEM format ({0})")]
    Key(String),
}

/// A GitHub App: its id and private key.
pub struct GithubApp {
    id: u64,
    key: jsonwebtoken::EncodingKey,
}

impl GithubApp {
    /// The App `id` (as GitHub shows it on the App's page) with its private key (the PEM
    /// GitHub generated, `-----BEGIN RSA PRIVATE KEY-----`).
    pub fn new(id: &str, private_key_pem: &str) -> Result<Self, AppError> {
        let id = id.trim();
        // Cut shorter than `diagnostic::shown` would: if a secret (the private key) was put
        // here by mistake, little of it reaches the log.
        let id =
            id.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| AppError::Id(id.chars().take(20).collect()))?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.trim().as_bytes())
            .map_err(|e| AppError::Key(e.to_string()))?;
        Ok(Self { id, key })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// The App's JWT at `now` (Unix seconds).
    pub(crate) fn jwt(&self, now: u64) -> Result<GithubToken, GithubError> {
        #[derive(Serialize)]
        struct Claims {
            iat: u64,
            exp: u64,
            iss: String,
        }
        let claims = Claims { iat: now - JWT_BACKDATE_SECS, exp: now + JWT_LIFETIME_SECS, iss: self.id.to_string() };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        let jwt = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| GithubError::Client(format!("can't sign the GitHub App JWT: {e}")))?;
        GithubToken::new(jwt).map_err(|e| GithubError::Client(e.to_string()))
    }
}

impl fmt::Debug for GithubApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubApp").field("id", &self.id).field("key", &"***").finish()
    }
}

/// An installation token and when it expires (Unix seconds).
#[derive(Clone)]
struct Installed {
    token: GithubToken,
    expires_at: u64,
}

/// Whether a token expiring at `expires_at` may still be used at `now`.
fn fresh(expires_at: u64, now: u64) -> bool {
    expires_at.saturating_sub(now) >= RENEW_BEFORE_SECS
}

/// The App's credentials in use: the installation of each repository and a token per
/// (repository, access), renewed by expiry.
pub(crate) struct AppAuth {
    app: GithubApp,
    /// `owner/repo` (lowercase) → installation id.
    installations: tokio::sync::Mutex<HashMap<String, u64>>,
    tokens: tokio::sync::Mutex<HashMap<(String, Access), Installed>>,
}

#[derive(Deserialize)]
struct Installation {
    id: u64,
}

#[derive(Deserialize)]
struct AccessToken {
    token: String,
    expires_at: String,
}

#[derive(Deserialize)]
struct AppJson {
    slug: String,
}

impl AppAuth {
    pub(super) fn new(app: GithubApp) -> Self {
        Self {
            app,
            installations: tokio::sync::Mutex::new(HashMap::new()),
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn jwt(&self) -> Result<GithubToken, GithubError> {
        self.app.jwt(super::api::now_unix())
    }

    /// The App's bot login, `<slug>[bot]`, from `GET /app`.
    pub(super) async fn bot_login(&self, api: &Api) -> Result<String, GithubError> {
        let call = Call::get("/app".to_owned());
        let reply = api.expect_as(&call, &self.jwt()?, StatusCode::OK).await?;
        let app: AppJson = reply.json(&call)?;
        let login = format!("{}[bot]", app.slug);
        super::identity::check_login(&login).map_err(|reason| GithubError::Unexpected { call: call.name(), reason })?;
        Ok(login)
    }

    /// A token for `repo` (`owner/name`) with the permissions of `access`: the cached one
    /// while it has more than [`RENEW_BEFORE_SECS`] left, else a new one.
    pub(super) async fn token(&self, api: &Api, repo: &str, access: Access) -> Result<GithubToken, GithubError> {
        let key = (repo.to_ascii_lowercase(), access);
        let mut tokens = self.tokens.lock().await;
        if let Some(cached) = tokens.get(&key)
            && fresh(cached.expires_at, super::api::now_unix())
        {
            return Ok(cached.token.clone());
        }
        let installation = self.installation(api, &key.0).await?;
        let name = key.0.split_once('/').map_or(key.0.as_str(), |(_, name)| name);
        let body = json!({ "repositories": [name], "permissions": access.permissions() });
        let call = Call::post(format!("/app/installations/{installation}/access_tokens"), &body).creating_nothing();
        let reply = api.expect_as(&call, &self.jwt()?, StatusCode::CREATED).await?;
        let answer: AccessToken = reply.json(&call)?;
        let unexpected = |reason: String| GithubError::Unexpected { call: call.name(), reason };
        let expires_at = answer
            .expires_at
            .parse::<jiff::Timestamp>()
            .map_err(|e| unexpected(format!("`expires_at` is not a timestamp: {e}")))?;
        let token = GithubToken::new(answer.token).map_err(|e| unexpected(e.to_string()))?;
        let installed =
            Installed { token: token.clone(), expires_at: u64::try_from(expires_at.as_second()).unwrap_or(0) };
        tracing::debug!(repo = %key.0, ?access, expires_at = %expires_at, "GitHub App installation token issued");
        tokens.insert(key, installed);
        Ok(token)
    }

    /// The installation of the App on `repo`, looked up once.
    async fn installation(&self, api: &Api, repo: &str) -> Result<u64, GithubError> {
        let mut installations = self.installations.lock().await;
        if let Some(id) = installations.get(repo) {
            return Ok(*id);
        }
        let call = Call::get(format!("/repos/{repo}/installation"));
        let reply = api.send_as(&call, &self.jwt()?).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Err(GithubError::Refused {
                call: call.name(),
                status: 404,
                reason: format!("the GitHub App {} is not installed on `{repo}`: install it there", self.app.id),
            });
        }
        if reply.status != StatusCode::OK {
            return Err(super::api::refused(&call, &reply));
        }
        let Installation { id } = reply.json(&call)?;
        installations.insert(repo.to_owned(), id);
        Ok(id)
    }
}

impl fmt::Debug for AppAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppAuth").field("app", &self.app).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str = include_str!("../../crates/fake-github/test-keys/test-app-private-key.pem");
    const TEST_PUBLIC_KEY: &str = include_str!("../../crates/fake-github/test-keys/test-app-public-key.pem");

    #[test]
    fn the_jwt_is_rs256_backdated_short_lived_and_issued_by_the_app() {
        let app = GithubApp::new(" 12345\n", TEST_KEY).expect("app");
        let jwt = app.jwt(1_700_000_000).expect("jwt");
        let header = jsonwebtoken::decode_header(jwt.expose_secret()).expect("header");
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).expect("public key");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(jwt.expose_secret(), &key, &validation).expect("valid").claims;
        assert_eq!(claims, json!({ "iat": 1_699_999_940, "exp": 1_700_000_540, "iss": "12345" }));
    }

    #[test]
    fn bad_ids_and_keys_are_refused_without_echoing_the_key() {
        assert_eq!(GithubApp::new("0", TEST_KEY).err(), Some(AppError::Id("0".to_owned())));
        assert!(matches!(GithubApp::new("abc", TEST_KEY), Err(AppError::Id(_))));
        let err = GithubApp::new("1", "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0\n-----END RSA PRIVATE KEY-----")
            .expect_err("not a key");
        assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
        let app = GithubApp::new("7", TEST_KEY).expect("app");
        assert_eq!(format!("{app:?}"), r#"GithubApp { id: 7, key: "***" }"#);
    }

    #[test]
    fn tokens_are_renewed_when_less_than_five_minutes_are_left() {
        let now = 1_000_000;
        assert!(fresh(now + 3600, now));
        assert!(fresh(now + RENEW_BEFORE_SECS, now));
        assert!(!fresh(now + RENEW_BEFORE_SECS - 1, now));
        assert!(!fresh(now - 10, now));
    }

    #[test]
    fn each_access_asks_only_for_its_permissions() {
        assert_eq!(Access::Issues.permissions(), json!({ "issues": "write" }));
        assert_eq!(Access::Customer.permissions()["contents"], "read");
        assert!(Access::Customer.permissions().get("issues").is_none());
    }
}
