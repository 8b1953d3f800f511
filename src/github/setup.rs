//! What a set-up check (`doctor`) reads from GitHub, changing nothing: who the credential
//! is and what GitHub says it may do, an App installation's permissions, and a deployment
//! environment's required reviewers.

use std::collections::BTreeMap;

use http::StatusCode;
use serde::Deserialize;

use super::GithubHost;
use super::api::{Call, refused};
use super::app::Access;
use super::error::GithubError;
use crate::identity::RepoId;

/// The credential, as GitHub describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A classic personal access token, with the scopes GitHub lists for it
    /// (`X-OAuth-Scopes`).
    ClassicToken { login: String, scopes: Vec<String> },
    /// A token whose permissions GitHub does not list: a fine-grained personal access
    /// token, an App installation token or Actions' `GITHUB_TOKEN`.
    Token { login: String },
    /// A GitHub App (its `<slug>[bot]` login).
    App { login: String },
}

#[derive(Deserialize)]
struct Installation {
    #[serde(default)]
    permissions: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Environment {
    #[serde(default)]
    protection_rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    reviewers: Vec<Reviewer>,
}

#[derive(Deserialize)]
struct Reviewer {
    reviewer: Option<Named>,
}

#[derive(Deserialize)]
struct Named {
    login: Option<String>,
    slug: Option<String>,
}

impl GithubHost {
    /// Who the credential is, and its scopes where GitHub lists them.
    pub async fn credential(&self) -> Result<Credential, GithubError> {
        if let Some(app) = self.api.app() {
            return Ok(Credential::App { login: app.bot_login(&self.api).await? });
        }
        let call = Call::get("/user".to_owned());
        let reply = self.api.send(&call).await?;
        match reply.status {
            StatusCode::OK => {
                #[derive(Deserialize)]
                struct User {
                    login: String,
                }
                let User { login } = reply.json(&call)?;
                Ok(match reply.header("x-oauth-scopes") {
                    Some(scopes) => Credential::ClassicToken {
                        login,
                        scopes: scopes.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                    },
                    None => Credential::Token { login },
                })
            }
            // An installation token or Actions' GITHUB_TOKEN: it has no user.
            StatusCode::FORBIDDEN => Ok(Credential::Token { login: super::ACTIONS_BOT_LOGIN.to_owned() }),
            _ => Err(refused(&call, &reply)),
        }
    }

    /// The App installation's permissions on `repo` (`None`: the App is not installed
    /// there). Only for an App.
    pub async fn installation_permissions(
        &self,
        repo: &RepoId,
    ) -> Result<Option<BTreeMap<String, String>>, GithubError> {
        let Some(app) = self.api.app() else { return Ok(None) };
        let call = Call::get(format!("/repos/{}/{}/installation", repo.owner(), repo.repo()));
        let reply = self.api.send_as(&call, &app.jwt()?).await?;
        match reply.status {
            StatusCode::OK => Ok(Some(reply.json::<Installation>(&call)?.permissions)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(refused(&call, &reply)),
        }
    }

    /// The required reviewers of the deployment environment `name` in `repo` (`None`: no
    /// such environment; empty: an environment nobody has to approve).
    pub async fn environment_reviewers(&self, repo: &RepoId, name: &str) -> Result<Option<Vec<String>>, GithubError> {
        // The name is the configuration's environment name (a DNS label) and a suffix.
        let call = Call::get(format!("/repos/{}/{}/environments/{name}", repo.owner(), repo.repo()))
            .for_access(Access::Environments);
        let reply = self.api.send(&call).await?;
        match reply.status {
            StatusCode::OK => {
                let environment: Environment = reply.json(&call)?;
                Ok(Some(
                    environment
                        .protection_rules
                        .into_iter()
                        .filter(|r| r.kind == "required_reviewers")
                        .flat_map(|r| r.reviewers)
                        .filter_map(|r| r.reviewer.and_then(|n| n.login.or(n.slug)))
                        .collect(),
                ))
            }
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(refused(&call, &reply)),
        }
    }
}

/// The permissions `access` needs that `granted` lacks (`write` covers `read`).
pub fn missing_permissions(granted: &BTreeMap<String, String>, access: Access) -> Vec<String> {
    let wanted = access.permissions();
    let Some(wanted) = wanted.as_object() else { return Vec::new() };
    wanted
        .iter()
        .filter_map(|(name, level)| {
            let level = level.as_str()?;
            let ok = matches!(
                (granted.get(name).map(String::as_str), level),
                (Some("write" | "admin"), _) | (Some("read"), "read")
            );
            (!ok).then(|| format!("{name}: {level}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_covers_read_and_a_missing_permission_is_named_with_its_level() {
        let granted: BTreeMap<String, String> = [("contents", "write"), ("pull_requests", "write"), ("checks", "read")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(missing_permissions(&granted, Access::Customer), ["checks: write", "statuses: write"]);
        assert!(missing_permissions(&granted, Access::Dispatch).is_empty());
    }
}
