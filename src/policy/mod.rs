//! Policy as code (issue 22 item 1): Rego (v1) files from the manager repository, evaluated
//! in process with `regorus` on every plan, after Terraform's plan and before it is stored.
//!
//! [`load`] reads a target's policy set (the directory's own files, then those of its tier
//! and its environment); [`evaluate`] runs `data.infra_manager.deny` and
//! `data.infra_manager.warn` of each file in an engine of its own, bounded by regorus's
//! execution timer and our caps on files and messages, so every message and every failure
//! names its file; [`gate`] is the one call the plan pipeline makes. A policy that can't be
//! read, compiled or evaluated fails the plan closed. See `docs/policy.md`.

pub mod coverage;
pub mod evaluate;
pub mod gate;
pub mod input;
pub mod json_value;
pub mod load;
pub mod plan;
pub mod report;
pub mod request;
pub mod test_runner;

use crate::store::governance::PolicyMessage;

/// Most `.rego` files in one policy set.
pub const MAX_FILES: usize = 200;
/// Most bytes of one policy file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Most messages kept of each kind (deny, warn) for one plan; the rest are counted.
pub const MAX_MESSAGES: usize = 100;
/// Most characters of one message (and of a component name) kept.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// What the policies said about one plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub denies: Vec<PolicyMessage>,
    pub warnings: Vec<PolicyMessage>,
    /// The environment's monthly cost before and after, when the catalog prices it.
    pub cost: Option<crate::cost::Change>,
}

impl Verdict {
    /// The comment's note of these messages.
    pub fn note(&self) -> report::PolicyNote {
        report::PolicyNote { denies: self.denies.clone(), warnings: self.warnings.clone(), cost: self.cost.clone() }
    }
}

/// What a run record keeps of a verdict.
pub fn record(verdict: Option<&Verdict>, g: &mut crate::store::Governance) {
    if let Some(v) = verdict {
        g.policy_denies.clone_from(&v.denies);
        g.policy_warnings.clone_from(&v.warnings);
        g.cost_before_cents = v.cost.as_ref().and_then(|c| c.before).map(|c| c.0);
        g.cost_after_cents = v.cost.as_ref().map(|c| c.after.0);
    }
}

/// Why the policies stopped a plan.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// One or more deny messages: the plan fails and is never stored.
    #[error("denied by policy: {}{}", first(&.verdict.denies), more(&.verdict.denies))]
    Denied { verdict: Box<Verdict> },
    /// A policy file can't be read.
    #[error("can't read policy `{file}`: {detail}")]
    Read { file: String, detail: String },
    /// Too many policy files, or one too large.
    #[error("policy set at `{dir}` is too large: {detail}")]
    TooLarge { dir: String, detail: String },
    /// A policy does not parse or compile; `detail` is regorus's, which shows the place
    /// (`--> file:line:column` and the line).
    #[error("policy `{file}` does not compile: {detail}")]
    Syntax { file: String, detail: String },
    /// A policy failed while evaluating (a builtin error, a conflict, a bad message).
    #[error("policy `{file}` failed to evaluate `{rule}`: {detail}")]
    Eval { file: String, rule: String, detail: String },
    /// An apply of a commit whose plan the policies denied: a denied plan is never applicable.
    #[error("the plan of `{sha}` was denied by policy ({first}); it can't be applied")]
    NotApplicable { sha: String, first: String },
    /// Terraform's `show -json` could not be read into the policies' input.
    #[error("can't read the plan for the policies: {detail}")]
    Input { detail: String },
    /// A policy passed its time budget (a loop, or data that grows without end).
    #[error("policy `{file}` was stopped after {limit_ms} ms evaluating `{rule}`")]
    TimeLimit { file: String, rule: String, limit_ms: u128 },
}

fn first(messages: &[PolicyMessage]) -> String {
    messages.first().map(PolicyMessage::line).unwrap_or_default()
}

fn more(messages: &[PolicyMessage]) -> String {
    let rest: Vec<String> = messages.iter().skip(1).map(|m| format!("\n- {}", m.line())).collect();
    rest.concat()
}

impl PolicyError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Denied { .. } => {
                "change the configuration so the policies allow it, or ask the platform team about the policy named".into()
            }
            Self::Read { .. } | Self::TooLarge { .. } | Self::Syntax { .. } | Self::Eval { .. } => {
                "the platform team fixes the policy in the manager repository (`infra-manager policy test` checks it); every plan fails until then".into()
            }
            Self::NotApplicable { .. } => {
                "change the configuration so the policies allow it, plan again, then apply the new plan".into()
            }
            Self::Input { .. } => "plan again; if it fails the same way, report it with the run's log".into(),
            Self::TimeLimit { .. } => {
                "the policy loops or builds data without end: fix it (or raise `policy.timeout` in infra-manager.yml if it is only slow)".into()
            }
        })
    }

    /// The messages it carries, for the run record.
    pub fn verdict(&self) -> Option<Verdict> {
        match self {
            Self::Denied { verdict } => Some((**verdict).clone()),
            _ => None,
        }
    }
}
