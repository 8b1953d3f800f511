//! The manager repository as the [`CodeHost`] of tenant flows: a tenant's file is read
//! from the checkout's Git history at the request's commit, so a plan, its apply and a
//! destroy (at the commit last applied) see exactly the file of that commit. Statuses go
//! to the log and comments back to the command, as in local mode: a tenant has no
//! repository of its own to report to.

use async_trait::async_trait;

use super::git::ManagerRepo;
use crate::codehost::{CodeHost, CodeHostError, CommentOutcome, CommitStatus};
use crate::identity::{CustomerId, Sha};

pub struct TenantHost {
    repo: ManagerRepo,
}

impl TenantHost {
    pub fn new(repo: ManagerRepo) -> Self {
        Self { repo }
    }
}

#[async_trait]
impl CodeHost for TenantHost {
    /// Only a tenant's own file: any other read (a customer's, another path) is refused,
    /// so a tenant flow can never read outside `tenants/`.
    async fn read_file(&self, repo: &CustomerId, path: &str, sha: &Sha) -> Result<Option<String>, CodeHostError> {
        match repo.as_tenant() {
            Some(tenant) if tenant.file() == path => self.repo.read(sha, path).await,
            _ => Err(CodeHostError::Read {
                repo: repo.to_string(),
                path: path.to_owned(),
                reference: sha.to_string(),
                message: "only a tenant's own `tenants/<name>.yml` is read from the manager repository".into(),
            }),
        }
    }

    async fn set_status(&self, repo: &CustomerId, sha: &Sha, status: &CommitStatus) -> Result<(), CodeHostError> {
        let state = crate::report::name_of(&status.state);
        crate::output::log(&format!(
            "status {} {repo} @ {}: {state} — {}",
            status.context,
            sha.short(),
            status.description
        ));
        Ok(())
    }

    async fn upsert_comment(
        &self,
        _repo: &CustomerId,
        _pr: u64,
        _marker: &str,
        _body: &str,
    ) -> Result<CommentOutcome, CodeHostError> {
        Ok(CommentOutcome::Printed)
    }
}
