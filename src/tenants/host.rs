//! The manager repository as the [`Files`] of tenant flows, and where tenant results go.
//!
//! A tenant's file is read from the checkout's Git history at the request's commit, so a
//! plan, its apply and a destroy (at the commit last applied) see exactly the file of that
//! commit. A tenant has no repository of its own to report to: its results go to the log
//! ([`crate::codehost::LogReporter`]) and, in GitHub Actions with a credential, through
//! [`ManagerReporter`] to the tenant file's commit and pull request in the manager
//! repository, where a backend polling the commit sees them.

use async_trait::async_trait;

use super::git::ManagerRepo;
use super::request;
use crate::codehost::{
    CodeHostError, CommentOutcome, CommitStatus, Files, LogReporter, MergedPull, Reporter, RequestClaim,
};
use crate::identity::{Owner, RepoId, RequestId, Sha};

pub struct TenantHost {
    repo: ManagerRepo,
}

impl TenantHost {
    pub fn new(repo: ManagerRepo) -> Self {
        Self { repo }
    }
}

#[async_trait]
impl Files for TenantHost {
    /// Only a tenant's own file: any other read (a customer's, another path) is refused,
    /// so a tenant flow can never read outside `tenants/`.
    async fn read_file(&self, owner: &Owner, path: &str, sha: &Sha) -> Result<Option<String>, CodeHostError> {
        match owner {
            Owner::Tenant(tenant) if tenant.file() == path => self.repo.read(sha, path).await,
            _ => Err(CodeHostError::Read {
                repo: owner.to_string(),
                path: path.to_owned(),
                reference: sha.to_string(),
                message: "only a tenant's own `tenants/<name>.yml` is read from the manager repository".into(),
            }),
        }
    }

    async fn contains(&self, _owner: &Owner, commit: &Sha, ancestor: &Sha) -> Result<Option<bool>, CodeHostError> {
        self.repo.is_ancestor(ancestor, commit).await.map(Some)
    }

    async fn request_commits(
        &self,
        owner: &Owner,
        since: Option<&Sha>,
        until: &Sha,
    ) -> Result<Vec<(String, Sha)>, CodeHostError> {
        match owner {
            Owner::Tenant(tenant) => self.repo.request_commits(&tenant.file(), since, until).await,
            Owner::Customer(_) => Ok(Vec::new()),
        }
    }

    /// The trailers of the commit that last changed the tenant's file at or before `sha`
    /// (through a true merge: the request's own commit).
    async fn request_claim(&self, owner: &Owner, sha: &Sha) -> Result<Option<RequestClaim>, CodeHostError> {
        let Owner::Tenant(tenant) = owner else { return Ok(None) };
        let Some((commit, trailers)) = self.repo.last_change(sha, &tenant.file()).await? else { return Ok(None) };
        let value = |key: &str| trailers.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str());
        let Some(request_id) = value(request::TRAILER).and_then(|v| RequestId::parse(v).ok()) else { return Ok(None) };
        let requested_by = value(request::REQUESTER_TRAILER).map(str::to_owned);
        Ok(Some(RequestClaim { commit, request_id, requested_by }))
    }
}

/// A tenant's results in GitHub Actions: the log, and every status also on the commit in
/// the manager repository, under `<context>/tenants/<name>`, and a plan's sticky comment
/// on the manager repository's pull request, under a marker naming the tenant (many
/// tenants share a commit and a pull request).
pub struct ManagerReporter<'a> {
    pub github: &'a dyn Reporter,
    pub manager: RepoId,
}

impl ManagerReporter<'_> {
    /// The manager repository, as the GitHub reporter is asked about it.
    fn manager_owner(&self) -> Owner {
        Owner::Customer(self.manager.clone())
    }
}

#[async_trait]
impl Reporter for ManagerReporter<'_> {
    async fn set_status(&self, owner: &Owner, sha: &Sha, status: &CommitStatus) -> Result<(), CodeHostError> {
        LogReporter { name_owner: true }.set_status(owner, sha, status).await?;
        let context = format!("{}/{owner}", status.context);
        self.github.set_status(&self.manager_owner(), sha, &CommitStatus { context, ..status.clone() }).await
    }

    /// The marker already names the tenant ([`crate::report::comment::marker`]), so the
    /// comments of tenants sharing the pull request stay apart.
    async fn upsert_comment(
        &self,
        _owner: &Owner,
        pr: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentOutcome, CodeHostError> {
        self.github.upsert_comment(&self.manager_owner(), pr, marker, body).await
    }

    /// A tenant's change is merged through the manager repository's pull requests: the
    /// applied comment and the reviewed-plan comparison read them there, as a customer's
    /// read its own repository's.
    async fn merged_pull_requests(&self, _owner: &Owner, sha: &Sha) -> Result<Vec<u64>, CodeHostError> {
        self.github.merged_pull_requests(&self.manager_owner(), sha).await
    }

    async fn merged_pulls(&self, _owner: &Owner, sha: &Sha) -> Result<Vec<MergedPull>, CodeHostError> {
        self.github.merged_pulls(&self.manager_owner(), sha).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codehost::StatusState;
    use crate::identity::TenantName;
    use crate::pipeline::testing::FakeHost;

    /// The status reaches the manager repository's commit, with the tenant in its context.
    #[tokio::test]
    async fn statuses_also_go_to_the_tenant_files_commit_in_the_manager_repository() {
        let github = FakeHost::default();
        let manager = RepoId::parse("provider/manager").expect("id");
        let reporter = ManagerReporter { github: &github, manager };
        let tenant = Owner::Tenant(TenantName::parse("alice-xero").expect("name"));
        let sha = Sha::parse(&"b".repeat(40)).expect("sha");
        let status = CommitStatus {
            state: StatusState::Success,
            context: "infra/terraform-deploy/staging".into(),
            description: "Applied: 4 added".into(),
            target_url: None,
        };
        reporter.set_status(&tenant, &sha, &status).await.expect("set");
        let set = github.statuses.lock().expect("lock").clone();
        assert_eq!(set.len(), 1);
        assert_eq!(set[0].context, "infra/terraform-deploy/staging/tenants/alice-xero");
        assert_eq!(github.statuses_of(&"b".repeat(40)).len(), 1);

        // The plan's comment goes to the manager's pull request, its marker naming the tenant.
        let marker = crate::report::comment::marker(&tenant, "staging");
        reporter.upsert_comment(&tenant, 7, &marker, &format!("{marker}\n### plan")).await.expect("comment");
        let comments = github.comments.lock().expect("lock").clone();
        assert_eq!(comments, [(7, "<!-- infra-manager:plan:staging:tenants/alice-xero -->\n### plan".to_owned())]);

        // The pull request merged as the tenant's commit is the manager repository's.
        let pull = MergedPull { number: 9, head_sha: Some(Sha::parse(&"c".repeat(40)).expect("sha")) };
        github.merged.lock().expect("lock").push(pull.clone());
        assert_eq!(reporter.merged_pulls(&tenant, &sha).await.expect("merged"), [pull]);
        assert_eq!(github.merged_asked.lock().expect("lock").clone(), ["provider/manager"]);
    }
}
