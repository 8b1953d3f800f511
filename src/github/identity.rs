//! Who the service is on GitHub: the login whose comments it may edit.
//!
//! The sticky comment is only ever one this login wrote (see `comments`). The login is
//! either configured ([`super::GithubHost::with_identity`]) or learned once from
//! `GET /user`:
//!
//! | token | `GET /user` | identity |
//! | --- | --- | --- |
//! | personal access token (classic or fine-grained) | 200 | its `login` |
//! | Actions `GITHUB_TOKEN`, GitHub App installation token | 403 | `github-actions[bot]` |
//!
//! An App installation token writes as `<app-slug>[bot]`, which `GET /user` cannot tell.
//! When the service authenticates as the App itself (`--github-app-id`), it learns that
//! login from `GET /app`; given only an installation token, configure the login
//! explicitly, or the service never finds its own comment again and posts a new one each
//! run (it never edits anyone else's).

use http::StatusCode;
use serde::Deserialize;

use super::api::{Api, Call, refused};
use super::error::GithubError;

/// The login of an Actions `GITHUB_TOKEN`: the identity when `GET /user` answers 403.
pub const ACTIONS_BOT_LOGIN: &str = "github-actions[bot]";

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

/// The token's login from `GET /user`; [`ACTIONS_BOT_LOGIN`] when GitHub answers 403
/// (installation and Actions tokens cannot read `/user`).
/// With a GitHub App, the App's bot login `<app-slug>[bot]` from `GET /app`.
pub(crate) async fn learn(api: &Api) -> Result<String, GithubError> {
    if let Some(app) = api.app() {
        return app.bot_login(api).await;
    }
    let call = Call::get("/user".to_owned());
    let reply = api.send(&call).await?;
    match reply.status {
        StatusCode::OK => {
            let user: User = reply.json(&call)?;
            check_login(&user.login).map_err(|reason| GithubError::Unexpected { call: call.name(), reason })?;
            Ok(user.login)
        }
        StatusCode::FORBIDDEN => Ok(ACTIONS_BOT_LOGIN.to_owned()),
        _ => Err(refused(&call, &reply)),
    }
}

/// Accepts what GitHub allows as a login: letters, digits, `-` and `_` (managed users),
/// at most 39 characters, optionally followed by `[bot]` (Apps and Actions).
pub fn check_login(login: &str) -> Result<(), String> {
    let name = login.strip_suffix("[bot]").unwrap_or(login);
    if name.is_empty() {
        return Err("a GitHub login can't be empty".to_owned());
    }
    if name.len() > 39 {
        return Err(format!("a GitHub login has at most 39 characters, this one has {}", name.len()));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') || name.starts_with('-') {
        return Err("a GitHub login has only letters, digits, `-` and `_` (then `[bot]` for an App)".to_owned());
    }
    Ok(())
}

/// GitHub logins are case-insensitive.
pub(crate) fn same_login(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_logins() {
        for good in ["octocat", "github-actions[bot]", "infra-bot[bot]", "Mona-Lisa", "octocat_acme", "a"] {
            assert_eq!(check_login(good), Ok(()), "{good}");
        }
        for bad in ["", "[bot]", "-lead", "two words", "x".repeat(40).as_str(), "a/b", "evil\n::add-mask::"] {
            assert!(check_login(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn logins_compare_without_case() {
        assert!(same_login("GitHub-Actions[bot]", "github-actions[bot]"));
        assert!(!same_login("github-actions", "github-actions[bot]"));
    }
}
