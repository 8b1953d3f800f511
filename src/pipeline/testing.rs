//! A harness for flow tests: a fake code host, the local store in a temp dir and the fake
//! Terraform, so plan and apply run end to end without servers or processes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::health::{HealthUrl, Probe, ProbeError};
use super::{Deps, Request};
use crate::codehost::{CodeHostError, CommentOutcome, CommitStatus, Files, Reporter, StatusState};
use crate::config::Config;
use crate::identity::{EnvName, Owner, RepoId, Sha, Target};
use crate::store::local::LocalStore;
use crate::terraform::fake::{FakeTerraform, Script};
use crate::workspace::WorkRoot;

pub(crate) const SHA: &str = "1111111111111111111111111111111111111111";

pub(crate) const VARIABLES: &str = "project_name: shop
cloud_provider: aws
environments:
  staging: { region: us-east-1, instance_type: t3.micro, min_instances: 1, max_instances: 2 }
networking:
  vpc_cidr: \"10.0.0.0/16\"
  availability_zones: 2
";

/// A code host whose files are a map and whose statuses and comments are kept for asserts.
#[derive(Debug, Default)]
pub(crate) struct FakeHost {
    pub files: Mutex<HashMap<String, String>>,
    /// `variables.yml` as it was at a given commit (the others read `files`).
    pub files_at: Mutex<HashMap<String, String>>,
    pub statuses: Mutex<Vec<CommitStatus>>,
    /// The commit of each entry of `statuses`.
    pub status_commits: Mutex<Vec<String>>,
    pub comments: Mutex<Vec<(u64, String)>>,
    /// The pull requests merged as any commit, and the owners that asked for them.
    pub merged: Mutex<Vec<crate::codehost::MergedPull>>,
    pub merged_asked: Mutex<Vec<String>>,
}

impl FakeHost {
    pub(crate) fn states(&self) -> Vec<StatusState> {
        self.statuses.lock().expect("lock").iter().map(|s| s.state).collect()
    }

    pub(crate) fn last_description(&self) -> String {
        self.statuses.lock().expect("lock").last().map(|s| s.description.clone()).unwrap_or_default()
    }

    /// The statuses set on commit `sha`, in order.
    pub(crate) fn statuses_of(&self, sha: &str) -> Vec<CommitStatus> {
        let commits = self.status_commits.lock().expect("lock");
        let statuses = self.statuses.lock().expect("lock");
        commits.iter().zip(statuses.iter()).filter(|(c, _)| c.as_str() == sha).map(|(_, s)| s.clone()).collect()
    }
}

/// A health probe answering from a script, one answer per poll (the last one repeats);
/// without a script, every poll is refused.
#[derive(Debug, Default)]
pub(crate) struct FakeProbe {
    pub answers: Mutex<Vec<Result<u16, ProbeError>>>,
    pub polled: Mutex<Vec<String>>,
}

#[async_trait]
impl Probe for FakeProbe {
    async fn get(&self, url: &HealthUrl, _timeout: Duration) -> Result<u16, ProbeError> {
        self.polled.lock().expect("lock").push(url.to_string());
        let mut answers = self.answers.lock().expect("lock");
        match answers.len() {
            0 => Err(ProbeError::Unreachable("connection refused".to_owned())),
            1 => answers[0].clone(),
            _ => answers.remove(0),
        }
    }
}

#[async_trait]
impl Files for FakeHost {
    async fn read_file(&self, _owner: &Owner, path: &str, sha: &Sha) -> Result<Option<String>, CodeHostError> {
        if let Some(text) = self.files_at.lock().expect("lock").get(sha.as_str()) {
            return Ok(Some(text.clone()));
        }
        Ok(self.files.lock().expect("lock").get(path).cloned())
    }
}

#[async_trait]
impl Reporter for FakeHost {
    async fn set_status(&self, _owner: &Owner, sha: &Sha, status: &CommitStatus) -> Result<(), CodeHostError> {
        self.status_commits.lock().expect("lock").push(sha.to_string());
        self.statuses.lock().expect("lock").push(status.clone());
        Ok(())
    }

    async fn upsert_comment(
        &self,
        _owner: &Owner,
        pr: u64,
        _marker: &str,
        body: &str,
    ) -> Result<CommentOutcome, CodeHostError> {
        self.comments.lock().expect("lock").push((pr, body.to_owned()));
        Ok(CommentOutcome::Created)
    }

    async fn merged_pulls(&self, owner: &Owner, _sha: &Sha) -> Result<Vec<crate::codehost::MergedPull>, CodeHostError> {
        self.merged_asked.lock().expect("lock").push(owner.to_string());
        Ok(self.merged.lock().expect("lock").clone())
    }
}

/// Everything a flow needs, in a temp dir.
pub(crate) struct Harness {
    /// Kept so the temp dir lives as long as the harness.
    pub _dir: tempfile::TempDir,
    pub config: Config,
    pub host: FakeHost,
    pub store: LocalStore,
    pub terraform: FakeTerraform,
    pub work: WorkRoot,
    pub probe: FakeProbe,
    pub notifier: crate::notify::Notifier,
}

impl Harness {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::defaults(dir.path());
        // Health checks poll a fake: keep the schedule short.
        config.health = crate::config::HealthConfig {
            timeout: Duration::from_millis(50),
            interval: Duration::from_millis(1),
            max_interval: Duration::from_millis(5),
            request_timeout: Duration::from_millis(10),
        };
        // Retries wait too: as short.
        config.retry.backoff = Duration::from_millis(1);
        config.retry.max_backoff = Duration::from_millis(2);
        config.terraform.modules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("manager-terraform");
        let store = LocalStore::open(&dir.path().join("store")).expect("store");
        let work = WorkRoot::shared(dir.path().join("work"));
        let host = FakeHost::default();
        host.files.lock().expect("lock").insert(crate::variables::PATH.to_owned(), VARIABLES.to_owned());
        let terraform = FakeTerraform::new(Script::default());
        let notifier = crate::notify::Notifier::none();
        Self { _dir: dir, config, host, store, terraform, work, probe: FakeProbe::default(), notifier }
    }

    pub(crate) fn deps(&self) -> Deps<'_> {
        Deps {
            config: &self.config,
            files: &self.host,
            reporter: &self.host,
            store: &self.store,
            terraform: &self.terraform,
            work: &self.work,
            run_url: Some("https://github.com/p/m/actions/runs/1".to_owned()),
            manager_commit: None,
            probe: &self.probe,
            cancel: crate::cancel::Cancel::new(),
            identity: crate::pipeline::lock_owner::RunIdentity::default(),
            actions: None,
            approvals: None,
            notifier: &self.notifier,
        }
    }

    pub(crate) fn request(&self) -> Request {
        Request {
            target: Target {
                owner: Owner::Customer(RepoId::parse("acme/web").expect("valid")),
                env: EnvName::parse("staging").expect("valid"),
            },
            sha: Sha::parse(SHA).expect("valid"),
            pull_request: Some(7),
            report_to: None,
            allow_protected: false,
            break_glass: None,
            destroy_reason: crate::pipeline::DestroyReason::default(),
        }
    }

    /// The request at commit `digit` (forty of it), whose file there is `text`.
    pub(crate) fn commit(&self, digit: char, text: &str) -> Request {
        let sha = digit.to_string().repeat(40);
        self.host.files_at.lock().expect("lock").insert(sha.clone(), text.to_owned());
        Request { sha: Sha::parse(&sha).expect("valid"), ..self.request() }
    }

    pub(crate) fn set_file(&self, text: &str) {
        self.host.files.lock().expect("lock").insert(crate::variables::PATH.to_owned(), text.to_owned());
    }
}
