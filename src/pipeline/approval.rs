//! Verified approvals (issue 22): an apply to an environment with an `approval` rule runs
//! only when GitHub's own records show the approval, read at admission before Terraform.
//!
//! - `environment: NAME`: GitHub's review history of the apply's own workflow run
//!   (`GET /repos/{manager}/actions/runs/{run_id}/approvals`) has an `approved` entry for
//!   that environment; its user is the approver. A `rejected` entry is never an approval.
//! - `reviewers: [logins]`: the pull request merged as the applied commit (a customer's in
//!   its repository, a tenant's in the manager repository) has an `APPROVED` review by one
//!   of them on the pull request's head commit, the review being that login's latest (a
//!   later change request or dismissal withdraws it). A review on an older commit approved
//!   something else.
//!
//! Nothing is taken from the dispatch or the environment variables beyond the run's own id:
//! whatever cannot be read from GitHub is no approval (fails closed).

use async_trait::async_trait;

use crate::codehost::CodeHostError;
use crate::config::ApprovalRule;
use crate::identity::{RepoId, Sha};

/// A pull request merged as a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedPull {
    pub number: u64,
    /// Who opened it: the apply's requester.
    pub author: String,
    /// The last commit of its head branch: the one reviewers approved.
    pub head_sha: String,
}

/// A pull request review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub login: String,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`.
    pub state: String,
    /// The commit it was submitted on.
    pub commit_id: Option<String>,
    /// When (GitHub's `submitted_at`).
    pub submitted_at: Option<jiff::Timestamp>,
}

/// An entry of a workflow run's environment review history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunApproval {
    pub login: String,
    /// `approved`, `rejected`, `pending`.
    pub state: String,
    pub environments: Vec<String>,
}

/// Where approvals are read: GitHub.
#[async_trait]
pub trait Approvals: Send + Sync {
    /// The pull requests of `repo` merged as `sha`.
    async fn merged_pulls(&self, repo: &RepoId, sha: &Sha) -> Result<Vec<MergedPull>, CodeHostError>;
    /// The reviews of pull request `number` of `repo`, oldest first (all pages).
    async fn reviews(&self, repo: &RepoId, number: u64) -> Result<Vec<Review>, CodeHostError>;
    /// The review history of workflow run `run_id` of `repo`; `None` when GitHub does not
    /// know the run.
    async fn run_approvals(&self, repo: &RepoId, run_id: u64) -> Result<Option<Vec<RunApproval>>, CodeHostError>;
}

/// How an approval was found, as the record keeps it.
pub const SOURCE_ENVIRONMENT: &str = "environment";
pub const SOURCE_REVIEW: &str = "review";

/// A verified approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    pub approver: String,
    /// [`SOURCE_ENVIRONMENT`] (`environment:NAME`) or [`SOURCE_REVIEW`] (`review:#N`).
    pub source: String,
}

/// Why no approval was found: the words after "needs an approval by …".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub reason: String,
}

/// The approver among `reviews` of a pull request whose head is `head_sha`: the latest
/// review of each allowed login decides, and only an `APPROVED` one on the head commit counts
/// — submitted after `after` when set (the time a difference from the reviewed plan was
/// shown: a review that could not have seen it approves nothing).
pub fn approving_reviewer(
    reviews: &[Review],
    allowed: &[String],
    head_sha: &str,
    after: Option<jiff::Timestamp>,
) -> Option<String> {
    let mut latest: Vec<&Review> = Vec::new();
    for review in reviews.iter().filter(|r| r.state != "COMMENTED" && r.state != "PENDING") {
        latest.retain(|r| !r.login.eq_ignore_ascii_case(&review.login));
        latest.push(review);
    }
    latest
        .into_iter()
        .find(|r| {
            r.state == "APPROVED"
                && allowed.iter().any(|a| a.eq_ignore_ascii_case(&r.login))
                && r.commit_id.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(head_sha))
                && after.is_none_or(|after| r.submitted_at.is_some_and(|at| at > after))
        })
        .map(|r| r.login.clone())
}

/// The approver of the deployment to `environment` in a run's review history: an
/// `approved` entry naming it (a `rejected` one later withdraws nothing already approved,
/// but GitHub never runs a rejected job, so a rejection anywhere is no approval).
pub fn approving_environment(history: &[RunApproval], environment: &str) -> Option<String> {
    let names = |a: &RunApproval| a.environments.iter().any(|e| e.eq_ignore_ascii_case(environment));
    if history.iter().any(|a| a.state == "rejected" && names(a)) {
        return None;
    }
    history.iter().find(|a| a.state == "approved" && names(a)).map(|a| a.login.clone())
}

/// Where the apply's pull request and run live.
pub struct Place<'a> {
    /// The repository whose pull request was merged as the commit (a customer's, or the
    /// manager repository for a tenant); `None` when there is none (local mode).
    pub pulls_repo: Option<&'a RepoId>,
    /// The manager repository and this workflow run; `None` outside GitHub Actions.
    pub run: Option<(&'a RepoId, u64)>,
}

/// The requester and approval of an apply of `sha`, by `rule`. `difference_shown` is when
/// the plan of `sha` was first shown to differ from the plan reviewed on its pull request
/// ([`super::reviewed::shown_at`]): a review must come after it. (An `environment:`
/// approval is of this workflow run, whose plan job showed the difference before the
/// apply job could be approved.)
pub async fn verify(
    approvals: Option<&dyn Approvals>,
    rule: &ApprovalRule,
    place: &Place<'_>,
    sha: &Sha,
    difference_shown: Option<jiff::Timestamp>,
) -> Result<Result<Approved, Missing>, CodeHostError> {
    let Some(approvals) = approvals else {
        return Ok(Err(Missing { reason: "no GitHub credential to read approvals with".into() }));
    };
    match rule {
        ApprovalRule::Environment(name) => {
            let Some((repo, run_id)) = place.run else {
                return Ok(Err(Missing { reason: "not running in a GitHub Actions workflow run".into() }));
            };
            let history = approvals.run_approvals(repo, run_id).await?.unwrap_or_default();
            Ok(match approving_environment(&history, name) {
                Some(approver) => Ok(Approved { approver, source: format!("{SOURCE_ENVIRONMENT}:{name}") }),
                None => Err(Missing { reason: format!("run {run_id} has no approved deployment to `{name}`") }),
            })
        }
        ApprovalRule::Reviewers(allowed) => {
            let Some(repo) = place.pulls_repo else {
                return Ok(Err(Missing { reason: "no pull request to read reviews from".into() }));
            };
            let pulls = approvals.merged_pulls(repo, sha).await?;
            if pulls.is_empty() {
                return Ok(Err(Missing { reason: format!("no pull request was merged as {}", sha.short()) }));
            }
            for pull in &pulls {
                let reviews = approvals.reviews(repo, pull.number).await?;
                if let Some(approver) = approving_reviewer(&reviews, allowed, &pull.head_sha, difference_shown) {
                    return Ok(Ok(Approved { approver, source: format!("{SOURCE_REVIEW}:#{}", pull.number) }));
                }
            }
            let numbers: Vec<String> = pulls.iter().map(|p| format!("#{}", p.number)).collect();
            Ok(Err(Missing {
                reason: match difference_shown {
                    Some(at) => format!(
                        "{} has no approving review on its head commit since {at}, when this plan was shown to differ from the reviewed one",
                        numbers.join(", ")
                    ),
                    None => format!("{} has no approving review on its head commit", numbers.join(", ")),
                },
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(login: &str, state: &str, commit: &str) -> Review {
        Review { login: login.into(), state: state.into(), commit_id: Some(commit.into()), submitted_at: None }
    }

    #[test]
    fn a_review_given_before_a_difference_was_shown_approves_nothing() {
        let allowed = vec!["alice".to_owned()];
        let at = |t: &str| Some(t.parse::<jiff::Timestamp>().expect("time"));
        let approved = |when: &str| Review { submitted_at: at(when), ..review("alice", "APPROVED", "head") };
        let shown = at("2026-12-07T10:00:00Z");
        assert_eq!(approving_reviewer(&[approved("2026-12-07T09:59:59Z")], &allowed, "head", shown), None);
        assert_eq!(
            approving_reviewer(&[approved("2026-12-07T10:00:01Z")], &allowed, "head", shown).as_deref(),
            Some("alice")
        );
        // Without a shown difference the time does not matter.
        assert_eq!(
            approving_reviewer(&[approved("2026-12-07T09:59:59Z")], &allowed, "head", None).as_deref(),
            Some("alice")
        );
        let unknown = Review { submitted_at: None, ..review("alice", "APPROVED", "head") };
        assert_eq!(approving_reviewer(&[unknown], &allowed, "head", shown), None, "no time: not after");
    }

    #[test]
    fn only_a_listed_reviewers_latest_approval_on_the_head_commit_counts() {
        let allowed = vec!["alice".to_owned(), "bob".to_owned()];
        let cases: &[(&[Review], Option<&str>)] = &[
            (&[review("alice", "APPROVED", "head")], Some("alice")),
            (&[review("Alice", "APPROVED", "head")], Some("Alice")),
            (&[review("mallory", "APPROVED", "head")], None),
            (&[review("alice", "APPROVED", "old")], None),
            (&[review("alice", "APPROVED", "head"), review("alice", "CHANGES_REQUESTED", "head")], None),
            (&[review("alice", "APPROVED", "head"), review("alice", "DISMISSED", "head")], None),
            (&[review("alice", "APPROVED", "head"), review("alice", "COMMENTED", "head")], Some("alice")),
            (&[review("alice", "CHANGES_REQUESTED", "head"), review("bob", "APPROVED", "head")], Some("bob")),
        ];
        for (reviews, want) in cases {
            assert_eq!(approving_reviewer(reviews, &allowed, "head", None).as_deref(), *want, "{reviews:?}");
        }
    }

    #[test]
    fn an_environment_approval_names_the_environment_and_a_rejection_wins() {
        let entry = |login: &str, state: &str, env: &str| RunApproval {
            login: login.into(),
            state: state.into(),
            environments: vec![env.into()],
        };
        let approved = [entry("carol", "approved", "production-apply")];
        assert_eq!(approving_environment(&approved, "production-apply").as_deref(), Some("carol"));
        assert_eq!(approving_environment(&approved, "staging-apply"), None);
        let rejected = [entry("carol", "approved", "production-apply"), entry("dan", "rejected", "production-apply")];
        assert_eq!(approving_environment(&rejected, "production-apply"), None);
        assert_eq!(approving_environment(&[entry("carol", "pending", "production-apply")], "production-apply"), None);
    }
}
