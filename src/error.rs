//! The one error type at the command edge, [`CommandError`], and the one mapping from a
//! command's result to the process exit code, [`ExitStatus`].
//!
//! Subsystem errors keep their own types (each names what failed and where) and convert
//! with `?`; [`CommandError::hint`] says what to do and [`CommandError::exit_status`]
//! decides the exit code. No error text is ever parsed back.

use serde::Serialize;

use crate::codehost::CodeHostError;
use crate::config::ConfigError;
use crate::diagnostic::Diagnostic;
use crate::event::EventError;
use crate::github::{GithubError, TokenError};
use crate::identity::{NameError, ShaError};
use crate::pipeline::health::HealthError;
use crate::pipeline::retry::RetryError;
use crate::refusal::Refusal;
use crate::render::RenderError;
use crate::store::StoreError;
use crate::store::s3::{LockError, SettingsError};
use crate::terraform::{SavedPlan, TerraformError};
use crate::workspace::WorkspaceError;

/// How the process ends: `0` ok; `1` an operational failure or a plan that can't be applied;
/// `2` invalid input or usage; `130` stopped by a signal or the run's time bound; with
/// `drift --exit-code`, `2` drifted instead ([`ExitStatus::detailed`]).
/// [`ExitStatus::code`] is the only place these numbers appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    Success,
    Failure,
    Usage,
    /// Stopped by a signal or the run's time bound (128 + SIGINT, as shells report it).
    Cancelled,
    /// `--exit-code`: the run succeeded and found drift.
    Drifted,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage | Self::Drifted => 2,
            Self::Cancelled => 130,
        }
    }

    /// The status under `--exit-code`, as `terraform plan -detailed-exitcode` has it: a
    /// run that succeeded and found drift is [`ExitStatus::Drifted`] (2), so an invalid
    /// input, otherwise 2, is a failure (1); an error always wins over drift.
    #[must_use]
    pub fn detailed(self, drifted: bool) -> Self {
        match self {
            Self::Success if drifted => Self::Drifted,
            Self::Usage => Self::Failure,
            other => other,
        }
    }
}

/// The `status` field of a `--json` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    Invalid,
    Refused,
    Cancelled,
}

/// Why a command did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The command line or the runner environment can't be used (exit 2).
    #[error("{message}")]
    Usage { message: String, hint: String },
    /// The customer's file (or the manager's) is not acceptable; every problem at its place.
    #[error("{} has {} problem{}", file_of(.0), .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Invalid(Vec<Diagnostic>),
    /// The request is not allowed, or the plan can't be applied; nothing was changed.
    #[error(transparent)]
    Refused(Box<Refusal>),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Terraform(#[from] TerraformError),
    #[error(transparent)]
    CodeHost(#[from] CodeHostError),
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// The OIDC issuer's keys could not be read (a verification failure is a refusal).
    #[error(transparent)]
    Oidc(#[from] crate::oidc::OidcError),
    /// The apply went through, but the service did not answer its health check as expected.
    #[error(transparent)]
    Health(#[from] crate::pipeline::health::HealthError),
    /// An apply retried, or stopped from retrying, without applying.
    #[error(transparent)]
    Retry(#[from] RetryError),
    /// The policies denied the plan, or could not be evaluated (fails closed); issue 22.
    #[error(transparent)]
    Policy(Box<crate::policy::PolicyError>),
    /// The status page could not be written, or not where it was asked (`report --html`).
    #[error(transparent)]
    StatusPage(#[from] crate::status_page::SiteError),
    /// Any of the above, about one target (its customer, environment and commit).
    #[error("{error}")]
    Target { subject: Subject, error: Box<CommandError> },
}

/// What a command was working on: shown in `--json` results, failed or not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Subject {
    pub customer: Option<String>,
    pub environment: Option<String>,
    pub sha: Option<String>,
    /// The flags that name the target on a per-target verb (`--tenant billing --env
    /// staging`), for hints that give the exact command.
    #[serde(skip)]
    pub flags: Option<String>,
}

impl From<crate::policy::PolicyError> for CommandError {
    fn from(error: crate::policy::PolicyError) -> Self {
        Self::Policy(Box::new(error))
    }
}

impl From<Refusal> for CommandError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(Box::new(refusal))
    }
}

fn file_of(diagnostics: &[Diagnostic]) -> &str {
    diagnostics.first().map_or("the file", |d| d.file.as_str())
}

impl CommandError {
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Usage { message: message.into(), hint: hint.into() }
    }

    /// A bad `--customer` (or payload repository) name.
    pub fn bad_customer(error: &NameError) -> Self {
        Self::usage(error.to_string(), "pass `--customer owner/repo` with lowercase `[a-z0-9._-]` names")
    }

    /// A bad `--env` name.
    pub fn bad_env(error: &NameError) -> Self {
        Self::usage(error.to_string(), "pass an environment such as `--env staging`")
    }

    pub fn bad_sha(error: &ShaError) -> Self {
        Self::usage(error.to_string(), "pass a full 40-character commit SHA")
    }

    pub fn bad_token(error: &TokenError) -> Self {
        Self::usage(error.to_string(), "check the token secret")
    }

    /// This error, about `subject`.
    pub fn about(self, subject: Subject) -> Self {
        match self {
            Self::Target { error, .. } => Self::Target { subject, error },
            error => Self::Target { subject, error: Box::new(error) },
        }
    }

    /// The refusal, when the request was refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self.root() {
            Self::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }

    /// Why an apply's retries stopped, when they did.
    pub fn retry(&self) -> Option<&RetryError> {
        match self.root() {
            Self::Retry(e) => Some(e),
            _ => None,
        }
    }

    /// The target this error is about, when it is about one.
    pub fn subject(&self) -> Option<&Subject> {
        match self {
            Self::Target { subject, .. } => Some(subject),
            _ => None,
        }
    }

    /// The error itself, without the target it is about.
    fn root(&self) -> &Self {
        match self {
            Self::Target { error, .. } => error.root(),
            error => error,
        }
    }

    /// Whether the change was applied but the service never came up (the record keeps it).
    pub fn is_unhealthy(&self) -> bool {
        matches!(self.root(), Self::Health(HealthError::Unhealthy { .. }))
    }

    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        if let Self::Terraform(TerraformError::Locked { .. }) = self.root()
            && let Some(flags) = self.subject().and_then(|s| s.flags.as_deref())
        {
            return Some(format!(
                "another run holds the lock: wait for it to finish and try again; if its run is gone (`infra-manager locks list` says whose it is and since when), `infra-manager locks release {flags} --force` frees it"
            ));
        }
        match self.root() {
            Self::Usage { hint, .. } => Some(hint.clone()),
            Self::Refused(refusal) => refusal.hint(),
            Self::Settings(e) => Some(e.hint().to_owned()),
            Self::Lock(e) => e.hint().map(str::to_owned),
            Self::Event(EventError::Read { .. }) => {
                Some("run inside GitHub Actions, or set GITHUB_EVENT_PATH".to_owned())
            }
            Self::Event(_) => Some(
                "the manager workflows run on `repository_dispatch` events sent by `infra-manager dispatch`".to_owned(),
            ),
            Self::Terraform(e) | Self::Retry(RetryError::Stopped { last: e, .. }) => terraform_hint(e),
            Self::Retry(e) => e.hint(),
            Self::Config(ConfigError::Read { .. }) => {
                Some("pass the manager configuration as `--config PATH`".to_owned())
            }
            Self::Store(e) => e.hint().map(str::to_owned),
            Self::Health(e) => Some(e.hint()),
            Self::Policy(e) => e.hint(),
            Self::StatusPage(e) => e.hint(),
            _ => None,
        }
    }

    /// How the process ends because of it.
    pub fn exit_status(&self) -> ExitStatus {
        match self.root() {
            Self::Usage { .. }
            | Self::Invalid(_)
            | Self::Settings(_)
            | Self::Event(_)
            | Self::Config(ConfigError::Invalid(_))
            | Self::StatusPage(crate::status_page::SiteError::NotOurs { .. }) => ExitStatus::Usage,
            Self::Refused(refusal) => refusal.exit_status(),
            Self::Terraform(e) if e.is_cancelled() => ExitStatus::Cancelled,
            Self::Terraform(TerraformError::Cancelled { .. })
            | Self::Retry(RetryError::Stopped { last: TerraformError::Cancelled { .. }, .. })
            | Self::Health(HealthError::Cancelled { .. })
            | Self::CodeHost(CodeHostError::Cancelled { .. }) => ExitStatus::Cancelled,
            _ => ExitStatus::Failure,
        }
    }

    /// The `status` of the `--json` result.
    pub fn status(&self) -> Status {
        match self.root() {
            Self::Invalid(_) | Self::Config(ConfigError::Invalid(_)) => Status::Invalid,
            Self::Usage { .. } | Self::Refused(_) | Self::Settings(_) | Self::Event(_) => Status::Refused,
            Self::StatusPage(crate::status_page::SiteError::NotOurs { .. }) => Status::Refused,
            Self::Policy(e) if matches!(**e, crate::policy::PolicyError::NotApplicable { .. }) => Status::Refused,
            Self::Lock(LockError::Store(_)) => Status::Failed,
            Self::Terraform(e) if e.is_cancelled() => Status::Cancelled,
            Self::Terraform(TerraformError::Cancelled { .. })
            | Self::Retry(RetryError::Stopped { last: TerraformError::Cancelled { .. }, .. })
            | Self::Health(HealthError::Cancelled { .. })
            | Self::CodeHost(CodeHostError::Cancelled { .. }) => Status::Cancelled,
            Self::Lock(_)
            | Self::Terraform(TerraformError::Locked { .. } | TerraformError::StalePlan { .. })
            | Self::Retry(RetryError::Stopped { last: TerraformError::Locked { .. }, .. }) => Status::Refused,
            _ => Status::Failed,
        }
    }

    /// The policy error, when the policies denied the plan or could not be evaluated.
    pub fn policy(&self) -> Option<&crate::policy::PolicyError> {
        match self.root() {
            Self::Policy(e) => Some(e),
            _ => None,
        }
    }

    /// The saved plan, when Terraform planned but the plan is errored or incomplete.
    pub fn errored_plan(&self) -> Option<&SavedPlan> {
        match self.root() {
            Self::Terraform(TerraformError::PlanErrored { plan, .. }) => Some(plan),
            _ => None,
        }
    }

    /// The problems at a place in a file, when the error is about a file's content.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self.root() {
            Self::Invalid(d) => d,
            Self::Config(ConfigError::Invalid(d)) => &d.0,
            _ => &[],
        }
    }

    /// One line for a commit status description.
    pub fn status_line(&self) -> String {
        let text = self.to_string();
        let mut first = text.lines().next().unwrap_or_default().to_owned();
        // Terraform's own words on why (a full disk, a permission, a backend error) belong
        // in the one line a status and a record keep, not only in the log.
        if let Self::Terraform(e) | Self::Retry(RetryError::Stopped { last: e, .. }) = self
            && let Some(detail) = e.first_detail()
        {
            first = format!("{first}: {detail}");
        }
        match self.status() {
            Status::Failed => format!("Failed: {first}"),
            Status::Cancelled => format!("Cancelled: {first}"),
            _ => first,
        }
    }

    /// The errors of the `--json` result: one per diagnostic, or one for the whole error.
    pub fn items(&self) -> Vec<ErrorItem> {
        let diagnostics = self.diagnostics();
        if diagnostics.is_empty() {
            vec![ErrorItem { file: None, line: None, column: None, message: self.to_string(), hint: self.hint() }]
        } else {
            diagnostics.iter().map(ErrorItem::from).collect()
        }
    }

    /// The error as terminal text: `error: file:line:column: message` lines with their hints.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for item in self.items() {
            match (&item.file, item.line, item.column) {
                (Some(f), Some(l), Some(c)) => out.push_str(&format!("error: {f}:{l}:{c}: {}\n", item.message)),
                _ => out.push_str(&format!("error: {}\n", item.message)),
            }
            if let Some(hint) = &item.hint {
                out.push_str(&format!("  hint: {hint}\n"));
            }
        }
        out
    }
}

/// What a cancelled run leaves, as far as the engine can tell, and what to do.
fn cancelled_hint(ended: Option<crate::process::StopEnd>) -> &'static str {
    use crate::process::StopEnd;
    match ended {
        None => "no Terraform process was running: nothing was changed; run it again",
        Some(StopEnd::Stopped(_)) => {
            "Terraform stopped on its own after the interrupt, which saves the state and releases the lock; plan again to see what it left before applying"
        }
        Some(StopEnd::Killed | StopEnd::LeftRunning) => {
            "Terraform may not have saved the state or released its lock: `infra-manager locks list` shows a lock left behind; once no run holds it, `infra-manager locks release --force` (with the target's flags) frees it; then plan again: resources created but missing from the state show as to be created"
        }
    }
}

/// What to do about a Terraform failure, when there is something to say.
fn terraform_hint(error: &TerraformError) -> Option<String> {
    match error {
            TerraformError::NotFound { .. } => Some(
                "install Terraform or OpenTofu (`scripts/tools.sh` installs one), or set INFRA_MANAGER_TERRAFORM to its path"
                    .to_owned(),
            ),
            TerraformError::Locked { .. } => Some(
                "another run holds the lock; wait for it to finish and try again (a lock whose run is gone: `infra-manager locks list`, then `locks release`)"
                    .to_owned(),
            ),
            TerraformError::Cancelled { ended, .. } => Some(cancelled_hint(*ended).to_owned()),
            // What was left is said in the message; the hint is the cause's.
            TerraformError::LockLeft { inner, .. } | TerraformError::StateNotSaved { inner, .. } => terraform_hint(inner),
            TerraformError::StateIncomplete { .. } => Some(
                "the resources named exist but the state does not hold them: import each (`terraform import ADDRESS ID` in a working directory of the target, `infra-manager render`) or delete it by hand, then plan again; a plan before that would create them a second time; `infra-manager locks list` shows a lock the killed Terraform left"
                    .to_owned(),
            ),
            TerraformError::StalePlan { .. } => {
                Some("run `infra-manager plan` again, review it, then apply".to_owned())
            }
        _ => None,
    }
}

/// One error in the `--json` result: a place in a file when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorItem {
    pub file: Option<String>,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl From<&Diagnostic> for ErrorItem {
    fn from(d: &Diagnostic) -> Self {
        Self {
            file: Some(d.file.clone()),
            line: Some(d.line),
            column: Some(d.column),
            message: d.message.clone(),
            hint: d.hint.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_that_stopped_end_as_their_last_failure() {
        use crate::pipeline::retry::Attempt;
        let stopped = |last: TerraformError| {
            let attempts = vec![Attempt::failed(1, 3, &last), Attempt::failed(2, 3, &last)];
            CommandError::from(RetryError::Stopped { attempts, last })
        };
        let cancelled =
            stopped(TerraformError::Cancelled { step: "apply", reason: "received SIGTERM".into(), ended: None });
        assert_eq!((cancelled.exit_status(), cancelled.status()), (ExitStatus::Cancelled, Status::Cancelled));
        let locked = stopped(TerraformError::Locked { waited_secs: 120, details: vec![] });
        assert_eq!((locked.exit_status(), locked.status()), (ExitStatus::Failure, Status::Refused));
        assert!(locked.hint().is_some_and(|h| h.contains("another run holds the lock")));
        let failed = stopped(TerraformError::Failed { step: "apply", code: 1, details: vec![], transient: None });
        assert_eq!((failed.exit_status(), failed.status(), failed.hint()), (ExitStatus::Failure, Status::Failed, None));
    }

    /// Issue 20: a held lock's hint names the exact command that frees it, for a customer
    /// and a tenant alike.
    #[test]
    fn a_held_lock_names_the_command_that_frees_it() {
        let locked = || CommandError::Terraform(TerraformError::Locked { waited_secs: 120, details: vec![] });
        let subject = |flags: &str| Subject { flags: Some(flags.to_owned()), ..Subject::default() };
        let hint = locked().about(subject("--tenant billing --env staging")).hint().expect("a hint");
        assert!(hint.contains("`infra-manager locks release --tenant billing --env staging --force`"), "{hint}");
        let hint = locked().about(subject("--customer acme/web --env production")).hint().expect("a hint");
        assert!(hint.contains("locks release --customer acme/web --env production --force"), "{hint}");
        assert!(locked().hint().is_some_and(|h| h.contains("locks release")), "without a target, the generic one");
    }

    #[test]
    fn exit_codes_are_decided_in_one_place() {
        let all =
            [ExitStatus::Success, ExitStatus::Failure, ExitStatus::Usage, ExitStatus::Cancelled, ExitStatus::Drifted];
        assert_eq!(all.map(ExitStatus::code), [0, 1, 2, 130, 2]);
    }

    /// `--exit-code`: 0 in sync, 2 drifted, 1 on any error (an invalid input's 2 included);
    /// a cancelled run stays 130.
    #[test]
    fn detailed_exit_codes_are_those_of_terraforms_detailed_exitcode() {
        let cases = [
            (ExitStatus::Success, false, 0),
            (ExitStatus::Success, true, 2),
            (ExitStatus::Failure, true, 1),
            (ExitStatus::Failure, false, 1),
            (ExitStatus::Usage, false, 1),
            (ExitStatus::Cancelled, true, 130),
        ];
        for (status, drifted, code) in cases {
            assert_eq!(status.detailed(drifted).code(), code, "{status:?} drifted={drifted}");
        }
    }
}
