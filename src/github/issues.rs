//! Issues in the manager repository ([`IssueTracker`]): drift is reported there, one
//! issue per drifted target.
//!
//! **Whose issue.** Like the sticky comment (`comments`), only an issue the service's own
//! identity opened is ever listed, so never edited or closed: anyone with access to the
//! manager repository can open an issue carrying the label and the marker, and it is left
//! alone. The list is filtered by `state=open` and the label on GitHub's side and by author
//! here (the `creator` filter is not used: how it matches `[bot]` logins is not documented).
//!
//! Creating is the one call that is not safe to repeat: after a failure that may have
//! reached GitHub, the open issues are listed again and an issue with the same body is
//! taken as the one created, so a lost answer never leaves two issues.

use async_trait::async_trait;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::api::{Api, Attempt, Call, refused};
use super::app::Access;
use super::error::GithubError;
use super::identity::same_login;
use super::{GithubHost, dispatch};
use crate::codehost::{CodeHostError, IssueEdit, IssueTracker, TrackedIssue};
use crate::limits::{COMMENT_CHARS, ISSUE_TITLE_CHARS};

/// Issues per page when listing (GitHub's maximum).
const PER_PAGE: u32 = 100;
/// More pages than this of open drift issues is not a list worth walking (10,000 issues).
const MAX_PAGES: usize = 100;

/// [`IssueTracker`] on one repository's issues, through [`GithubHost`]'s client (its retry
/// policy and identity).
pub struct GithubIssues<'a> {
    host: &'a GithubHost,
    /// `/repos/{owner}/{repo}`, checked.
    path: String,
}

impl<'a> GithubIssues<'a> {
    /// The issues of `repo` (`owner/name`, usually the manager repository).
    pub(super) fn new(host: &'a GithubHost, repo: &str) -> Result<Self, CodeHostError> {
        dispatch::check_repo(repo)
            .map_err(|message| CodeHostError::Call { call: format!("GET /repos/{repo}/issues"), message })?;
        Ok(Self { host, path: format!("/repos/{repo}") })
    }

    fn api(&self) -> &Api {
        &self.host.api
    }
}

#[derive(Debug, Deserialize)]
struct Issue {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: Option<String>,
    /// `null` for a deleted account.
    #[serde(default)]
    user: Option<Author>,
    /// Present only on pull requests, which the issues API lists too.
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Author {
    login: String,
}

impl Issue {
    fn is_own(&self, identity: &str) -> bool {
        self.pull_request.is_none() && self.user.as_ref().is_some_and(|u| same_login(&u.login, identity))
    }
}

/// Refuses a label that is not plain: it goes into a query string.
fn check_label(call: &str, label: &str) -> Result<(), CodeHostError> {
    if label.is_empty() || !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        let message = format!("the label `{label}` must be letters, digits and `-`");
        return Err(CodeHostError::Call { call: call.to_owned(), message });
    }
    Ok(())
}

/// Refuses a title or body GitHub would refuse, before any call.
fn check_text(call: &str, title: &str, body: &str) -> Result<(), CodeHostError> {
    let refuse = |message: String| CodeHostError::Call { call: call.to_owned(), message };
    let title_chars = title.chars().count();
    if title.trim().is_empty() || title_chars > ISSUE_TITLE_CHARS {
        return Err(refuse(format!("the issue title must be 1 to {ISSUE_TITLE_CHARS} characters, not {title_chars}")));
    }
    let chars = body.chars().count();
    if chars > COMMENT_CHARS {
        return Err(refuse(format!("the issue body is {chars} characters; GitHub accepts at most {COMMENT_CHARS}")));
    }
    Ok(())
}

impl GithubIssues<'_> {
    /// Every open issue labelled `label` by `identity`, oldest first, following `Link`
    /// pagination.
    async fn list(&self, identity: &str, label: &str) -> Result<Vec<TrackedIssue>, GithubError> {
        let mut call =
            Call::get(format!("{}/issues?state=open&labels={label}&direction=asc&per_page={PER_PAGE}", self.path))
                .for_access(Access::Issues);
        let mut found = Vec::new();
        for _ in 0..MAX_PAGES {
            let reply = self.api().expect(&call, StatusCode::OK).await?;
            let page: Vec<Issue> = reply.json(&call)?;
            found.extend(page.into_iter().filter(|i| i.is_own(identity)).map(|i| TrackedIssue {
                number: i.number,
                title: i.title,
                body: i.body.unwrap_or_default(),
            }));
            let Some(next) = self.api().next_page(&call, &reply)? else {
                found.sort_by_key(|i| i.number);
                return Ok(found);
            };
            call = call.next(next);
        }
        Err(GithubError::Unexpected {
            call: format!("GET {}/issues", self.path),
            reason: format!("more than {MAX_PAGES} pages of open `{label}` issues"),
        })
    }
}

#[async_trait]
impl IssueTracker for GithubIssues<'_> {
    async fn open_issues(&self, label: &str) -> Result<Vec<TrackedIssue>, CodeHostError> {
        check_label(&format!("GET {}/issues", self.path), label)?;
        let identity = self.host.identity().await?;
        Ok(self.list(identity, label).await?)
    }

    async fn create_issue(&self, title: &str, body: &str, label: &str) -> Result<u64, CodeHostError> {
        let path = format!("{}/issues", self.path);
        check_label(&format!("POST {path}"), label)?;
        check_text(&format!("POST {path}"), title, body)?;
        let identity = self.host.identity().await?;
        let payload = json!({ "title": title, "body": body, "labels": [label] });
        let call = Call::post(path, &payload).for_access(Access::Issues);
        let mut failures = 0;
        loop {
            match self.api().attempt(&call).await? {
                Attempt::Answer(reply) if reply.status == StatusCode::CREATED => {
                    let created: Issue = reply.json(&call)?;
                    return Ok(created.number);
                }
                Attempt::Answer(reply) => return Err(refused(&call, &reply).into()),
                Attempt::Retry { reason, hint, maybe_applied } => {
                    failures += 1;
                    self.api().back_off(&call, failures, reason, hint).await?;
                    if maybe_applied
                        && let Some(landed) = self.list(identity, label).await?.into_iter().find(|i| i.body == body)
                    {
                        tracing::info!(call = %call.name(), issue = landed.number, "the failed create had reached GitHub; not opening another");
                        return Ok(landed.number);
                    }
                }
            }
        }
    }

    async fn edit_issue(&self, number: u64, edit: &IssueEdit) -> Result<(), CodeHostError> {
        let path = format!("{}/issues/{number}", self.path);
        check_text(&format!("PATCH {path}"), &edit.title, &edit.body)?;
        let mut payload = json!({ "title": edit.title, "body": edit.body });
        match edit.close {
            Some(true) => {
                payload["state"] = json!("closed");
                payload["state_reason"] = json!("completed");
            }
            Some(false) => payload["state"] = json!("open"),
            None => {}
        }
        let call = Call::patch(path, &payload).for_access(Access::Issues);
        self.api().expect(&call, StatusCode::OK).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_services_own_issues_count_and_pull_requests_never() {
        let issue = |login: Option<&str>, pr: bool| Issue {
            number: 1,
            title: "t".into(),
            body: None,
            user: login.map(|login| Author { login: login.into() }),
            pull_request: pr.then(|| json!({"url": "x"})),
        };
        assert!(issue(Some("github-actions[bot]"), false).is_own("GitHub-Actions[bot]"));
        assert!(!issue(Some("mallory"), false).is_own("github-actions[bot]"));
        assert!(!issue(None, false).is_own("github-actions[bot]"));
        assert!(!issue(Some("github-actions[bot]"), true).is_own("github-actions[bot]"));
    }

    #[test]
    fn labels_titles_and_bodies_are_checked_before_any_call() {
        assert!(check_label("c", "infra-drift").is_ok() && check_text("c", "Drift", "body").is_ok());
        for label in ["infra drift", "a&b=c", "", "x/y"] {
            assert!(check_label("c", label).is_err(), "{label:?}");
        }
        let long_title = "x".repeat(ISSUE_TITLE_CHARS + 1);
        let long_body = "x".repeat(COMMENT_CHARS + 1);
        for (title, body) in [(" ", ""), (long_title.as_str(), ""), ("Drift", long_body.as_str())] {
            let err = check_text("PATCH /repos/p/m/issues/1", title, body).expect_err("refused");
            assert!(err.to_string().contains("PATCH /repos/p/m/issues/1"), "{err}");
        }
    }

    mod against_the_fake {
        use fake_github::{ACTIONS_BOT_LOGIN, FakeGithub, Fault};

        use crate::codehost::{IssueEdit, IssueTracker};
        use crate::github::{GithubHost, GithubToken, RetryPolicy};

        const MANAGER: &str = "provider/manager";

        fn host(fake: &FakeGithub) -> GithubHost {
            let token = GithubToken::new("ghs_test_token").expect("token");
            GithubHost::new(&fake.url(), token, RetryPolicy::fast()).expect("client")
        }

        fn assert_clean(fake: &FakeGithub) {
            assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
            assert!(fake.unexpected().is_empty(), "{:#?}", fake.unexpected());
        }

        #[tokio::test]
        async fn only_the_services_own_open_issues_are_listed_across_pages() {
            let fake = FakeGithub::start().await;
            fake.add_repo(MANAGER);
            let theirs = fake.add_issue_by(MANAGER, "mallory", "Drift", "<!-- m -->", &["infra-drift"]);
            let ours: Vec<u64> = (0..150)
                .map(|i| {
                    fake.add_issue_by(MANAGER, ACTIONS_BOT_LOGIN, &format!("Drift {i}"), "<!-- m -->", &["infra-drift"])
                })
                .collect();
            fake.add_issue_by(MANAGER, ACTIONS_BOT_LOGIN, "Other", "<!-- m -->", &["bug"]);
            let github = host(&fake);
            let listed = github.issues(MANAGER).expect("repo").open_issues("infra-drift").await.expect("listed");
            assert_eq!(listed.iter().map(|i| i.number).collect::<Vec<_>>(), ours, "not #{theirs}, not the `bug` one");
            let pages = fake.requests().iter().filter(|r| r.method == "GET" && r.path.ends_with("/issues")).count();
            assert_eq!(pages, 2);
            assert_clean(&fake);
        }

        #[tokio::test]
        async fn a_lost_create_answer_never_opens_two_issues_and_closing_is_completed() {
            let fake = FakeGithub::start().await;
            fake.add_repo(MANAGER);
            fake.inject("POST", "/repos/provider/manager/issues", Fault::LostResponse(502));
            let github = host(&fake);
            let issues = github.issues(MANAGER).expect("repo");
            let number = issues.create_issue("Drift: acme/web (staging)", "<!-- m -->\nbody", "infra-drift").await;
            let number = number.expect("created");
            let stored = fake.issues(MANAGER);
            assert_eq!(stored.len(), 1, "the re-list found the issue the lost answer created");
            assert_eq!(
                (stored[0].number, stored[0].labels.as_slice()),
                (number, ["infra-drift".to_owned()].as_slice())
            );

            let edit = IssueEdit {
                title: "Drift: acme/web (staging)".into(),
                body: "<!-- m -->\nok".into(),
                close: Some(true),
            };
            issues.edit_issue(number, &edit).await.expect("closed");
            let closed = &fake.issues(MANAGER)[0];
            assert_eq!((closed.state.as_str(), closed.state_reason.as_deref()), ("closed", Some("completed")));
            assert!(issues.open_issues("infra-drift").await.expect("listed").is_empty());
            assert_clean(&fake);
        }

        #[tokio::test]
        async fn a_name_that_is_not_a_repository_is_refused_before_any_call() {
            let fake = FakeGithub::start().await;
            let github = host(&fake);
            for bad in ["", "manager", "a/b/c", "../x"] {
                assert!(github.issues(bad).is_err(), "{bad:?}");
            }
            assert!(fake.requests().is_empty());
        }
    }
}
