//! `doctor`'s GitHub checks: the credential is valid and may do what the workflows need
//! (a classic token's scopes; an App installation's permissions on each registered
//! repository and the manager repository), and each deployment environment that must hold
//! an apply or a destroy for review has required reviewers.

use super::doctor::Check;
use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::context::Context;
use crate::github::setup::{Credential, missing_permissions};
use crate::github::{Access, GithubHost};
use crate::identity::RepoId;

const AREA: &str = "github";

pub(super) async fn checks(ctx: &Context<'_>, config: &Config, args: &DoctorArgs) -> Vec<Check> {
    let github = &ctx.settings.github;
    if github.app.is_none() && github.token.as_deref().is_none_or(str::is_empty) {
        return vec![Check::skipped(
            AREA,
            "no GitHub credential (GITHUB_TOKEN or --github-app-id): set one to check what it may do",
        )];
    }
    let host = match ctx.github().await {
        Ok(host) => host,
        Err(e) => return vec![Check::from_error(AREA, &e)],
    };
    let manager = match manager_repo(ctx, args) {
        Ok(repo) => repo,
        Err(check) => return vec![check],
    };
    let mut checks = Vec::new();
    match host.credential().await {
        Ok(Credential::ClassicToken { login, scopes }) => checks.push(classic_token(&login, &scopes)),
        Ok(Credential::Token { login }) => checks.push(Check::skipped(
            AREA,
            format!(
                "a token of `{login}` whose permissions GitHub does not list (fine-grained, or Actions' GITHUB_TOKEN): \
                 each workflow's `permissions:` block names what it needs"
            ),
        )),
        Ok(Credential::App { login }) => {
            checks.push(Check::ok(AREA, format!("GitHub App `{login}`")));
            let mut repos: Vec<(RepoId, Access)> =
                config.customers.iter().map(|c| (c.repo.clone(), Access::Customer)).collect();
            if let Some(manager) = &manager {
                // Tenants' plan comments and statuses, and drift issues, are the manager's.
                repos.push((manager.clone(), Access::Customer));
                repos.push((manager.clone(), Access::Issues));
                // An `environment:` approval reads the run's review history there.
                if config.environments.iter().any(|(_, e)| e.approval.is_some()) {
                    repos.push((manager.clone(), Access::Approvals));
                }
            }
            for (repo, access) in repos {
                checks.push(installation(host, &repo, access).await);
            }
        }
        Err(e) => checks.push(Check::failed(
            AREA,
            format!("GitHub refused the credential: {e}"),
            "set a valid GITHUB_TOKEN, or check the App id and private key",
        )),
    }
    match &manager {
        Some(manager) => {
            for (name, why) in reviewed_environments(config) {
                checks.push(environment(host, manager, &name, why).await);
            }
        }
        None => checks.push(Check::skipped(
            AREA,
            "no manager repository (GITHUB_REPOSITORY or --manager-repo): its environments were not checked",
        )),
    }
    checks
}

fn manager_repo(ctx: &Context<'_>, args: &DoctorArgs) -> Result<Option<RepoId>, Check> {
    let Some(name) = args.manager_repo.as_deref().or(ctx.settings.runner.repository.as_deref()) else {
        return Ok(None);
    };
    RepoId::parse(name).map(Some).map_err(|e| {
        Check::failed(AREA, format!("the manager repository `{name}`: {e}"), "pass `--manager-repo OWNER/NAME`")
    })
}

/// A classic token needs `repo`: commit statuses, pull request comments and drift issues
/// on private repositories.
fn classic_token(login: &str, scopes: &[String]) -> Check {
    let listed = if scopes.is_empty() { "none".to_owned() } else { scopes.join(", ") };
    if scopes.iter().any(|s| s == "repo") {
        return Check::ok(AREA, format!("classic token of `{login}`, scopes: {listed}"));
    }
    Check::failed(
        AREA,
        format!(
            "classic token of `{login}` has scopes {listed}, not `repo`: commit statuses, pull request comments \
             and drift issues would be refused"
        ),
        "create a token with the `repo` scope (or a fine-grained token with the permissions each workflow lists)",
    )
}

async fn installation(host: &GithubHost, repo: &RepoId, access: Access) -> Check {
    match host.installation_permissions(repo).await {
        Ok(None) => Check::failed(
            AREA,
            format!("the GitHub App is not installed on `{repo}`"),
            "install the App on the repository (the App's page, Install App)",
        ),
        Ok(Some(granted)) => {
            let missing = missing_permissions(&granted, access);
            if missing.is_empty() {
                Check::ok(AREA, format!("`{repo}`: the App may do what {} needs", purpose(access)))
            } else {
                Check::failed(
                    AREA,
                    format!("`{repo}`: the App's installation lacks {} ({})", missing.join(", "), purpose(access)),
                    "grant them in the App's settings (Permissions & events), then accept the new permissions on the installation",
                )
            }
        }
        Err(e) => Check::failed(AREA, format!("`{repo}`: {e}"), "check that the App can read the repository"),
    }
}

fn purpose(access: Access) -> &'static str {
    match access {
        Access::Customer => "plans and applies (statuses, check runs, pull request comments)",
        Access::Issues => "drift issues",
        Access::Dispatch => "dispatches",
        Access::Environments => "reading environments",
        Access::Approvals => "reading who approved an apply",
    }
}

/// The manager repository's deployment environments that hold a run for review: the apply
/// of every environment without `auto_apply`, and every environment's destroy.
fn reviewed_environments(config: &Config) -> Vec<(String, &'static str)> {
    let mut names = Vec::new();
    for (env, settings) in &config.environments {
        if !settings.auto_apply {
            names.push((format!("{env}-apply"), "its applies wait for review (`auto_apply: false`)"));
        }
    }
    for (env, _) in &config.environments {
        names.push((format!("{env}-destroy"), "every destroy waits for review"));
    }
    // An `environment:` approval is read from the run's deployment review, which GitHub
    // records only for an environment with required reviewers.
    for (_, settings) in &config.environments {
        if let Some(crate::config::ApprovalRule::Environment(name)) = &settings.approval
            && !names.iter().any(|(n, _)| n == name)
        {
            names.push((name.clone(), "an `approval: { environment: … }` rule reads who approved from it"));
        }
    }
    names
}

async fn environment(host: &GithubHost, repo: &RepoId, name: &str, why: &str) -> Check {
    match host.environment_reviewers(repo, name).await {
        Ok(Some(reviewers)) if !reviewers.is_empty() => {
            Check::ok(AREA, format!("environment `{name}` in `{repo}`: required reviewers {}", reviewers.join(", ")))
        }
        Ok(Some(_)) => Check::failed(
            AREA,
            format!(
                "environment `{name}` in `{repo}` has no required reviewers, but {why}: nobody would have to approve"
            ),
            "add required reviewers (Settings → Environments); on a private repository they need GitHub Enterprise",
        ),
        Ok(None) => Check::failed(
            AREA,
            format!("environment `{name}` does not exist in `{repo}`, but {why}"),
            "create it under Settings → Environments, with required reviewers",
        ),
        Err(e) => Check::failed(
            AREA,
            format!("environment `{name}` in `{repo}`: {e}"),
            "the credential needs `actions: read` (fine-grained) or `repo` (classic) on the manager repository",
        ),
    }
}
