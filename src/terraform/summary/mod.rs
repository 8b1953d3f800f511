//! A plan summary from `terraform show -json PLANFILE` (or, with no `show`, from the
//! `plan -json` stream: [`summarize_stream`]): everything Terraform will do, counted by
//! Terraform's own rule, destructive changes first.
//!
//! It knows every change kind Terraform's plan renderer shows — create, update, destroy,
//! replace, move, import, forget, data-source reads during apply, deferred changes, action
//! invocations and drift (`resource_drift`) — and errored or incomplete plans. The counts
//! equal the `Plan: …` / `Actions: …` line of `terraform show` on the same plan (a test runs
//! real Terraform to prove it), plus the forgets and moves Terraform lists but does not count.
//!
//! No attribute value is ever read from a plan (they hold secrets in plain text); output
//! values are shown only through [`outputs`]' sensitivity rules.

mod change;
mod outputs;
mod streamed;
mod text;

#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::Value;

pub use change::{Action, ResourceChange};
pub use outputs::OutputChange;
pub use streamed::{VALUE_NOT_SHOWN, summarize_stream};

use super::{PlanView, SavedPlan};

/// A change Terraform could not plan yet (`deferred_changes`, `deferred_action_invocations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeferredChange {
    pub address: String,
    /// The action it would take, or `invoke` for a deferred action invocation.
    pub action: String,
    /// Why, in Terraform's words (`the number of resource instances is unknown`).
    pub reason: &'static str,
}

/// An action the plan runs (`action_invocations`, Terraform 1.14 and later). Its
/// configuration values are never read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionInvocation {
    pub address: String,
    /// What runs it: `invoked directly`, or the lifecycle event and resource that trigger it.
    pub trigger: Trigger,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Trigger {
    /// `terraform plan -invoke=…`, possibly on behalf of a resource.
    Invoked { calling_resource: Option<String> },
    /// An `action_trigger` in a resource's lifecycle (`AfterCreate` of `terraform_data.x`).
    Lifecycle { event: String, resource: String },
}

/// A failed check or condition the plan reports (`checks[].instances[].problems`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanDiagnostic {
    /// The object whose condition failed (`terraform_data.bad`, `check.health`).
    pub address: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// Counted as Terraform counts them: a replacement is one add and one destroy; a
    /// `["create","forget"]` replacement is one add (and one forget).
    pub add: u32,
    pub change: u32,
    pub destroy: u32,
    pub replace: u32,
    /// Objects imported by `import` blocks, whatever else happens to them.
    pub import: u32,
    /// Objects that leave the state without being destroyed (`removed { destroy = false }`).
    pub forget: u32,
    /// Objects at a new address (`moved` blocks).
    #[serde(rename = "move")]
    pub moved: u32,
    /// Data sources read during apply.
    pub read: u32,
    /// Action invocations (Terraform's `Actions: N to invoke`).
    pub invoke: u32,
    /// Resources changed outside Terraform since the last apply (`resource_drift`).
    pub drift: u32,
    /// Every change Terraform lists, destructive ones first, each group in Terraform's order.
    pub resources: Vec<ResourceChange>,
    pub outputs: Vec<OutputChange>,
    pub deferred: Vec<DeferredChange>,
    pub actions: Vec<ActionInvocation>,
    /// What `resource_drift` reports: `update` (changed), `destroy` (deleted) or a move.
    pub drifted: Vec<ResourceChange>,
    /// Failed checks and conditions, with their messages.
    pub diagnostics: Vec<PlanDiagnostic>,
    /// Terraform stopped with an error while planning (`"errored": true`).
    pub errored: bool,
    /// The plan holds every change (`"complete"`, true when absent: formats before 1.2).
    pub complete: bool,
    /// Terraform would apply this plan (`"applyable"`, false when absent).
    pub applyable: bool,
}

impl Default for PlanSummary {
    fn default() -> Self {
        PlanSummary {
            add: 0,
            change: 0,
            destroy: 0,
            replace: 0,
            import: 0,
            forget: 0,
            moved: 0,
            read: 0,
            invoke: 0,
            drift: 0,
            resources: Vec::new(),
            outputs: Vec::new(),
            deferred: Vec::new(),
            actions: Vec::new(),
            drifted: Vec::new(),
            diagnostics: Vec::new(),
            errored: false,
            complete: true,
            applyable: false,
        }
    }
}

impl PlanSummary {
    /// Whether applying would change anything: a resource (created, updated, destroyed,
    /// replaced, moved, imported or forgotten), a data source read, an output, an action run,
    /// or — in a plan Terraform would apply, such as a refresh-only plan — the state's record
    /// of objects changed outside Terraform.
    pub fn has_changes(&self) -> bool {
        !self.resources.is_empty()
            || !self.actions.is_empty()
            || self.outputs.iter().any(|o| o.action != Action::NoOp)
            || (self.drift > 0 && self.applyable)
    }

    /// Terraform stopped with an error: the plan is partial and must not be applied.
    pub fn errored(&self) -> bool {
        self.errored
    }

    /// The plan does not hold every change (errored, or with deferred changes): another plan
    /// is needed, so this one is not a plan to approve as it stands.
    pub fn incomplete(&self) -> bool {
        !self.complete || self.errored || !self.deferred.is_empty()
    }

    /// Whether any object is destroyed, replaced or forgotten.
    pub fn is_destructive(&self) -> bool {
        self.resources.iter().any(|r| r.action.is_destructive())
    }

    /// The changes that destroy, replace or forget an object (never cut from a report).
    pub fn destructive(&self) -> impl Iterator<Item = &ResourceChange> {
        self.resources.iter().filter(|r| r.action.is_destructive())
    }

    /// The other listed changes: creates, updates, imports, moves and reads.
    pub fn constructive(&self) -> impl Iterator<Item = &ResourceChange> {
        self.resources.iter().filter(|r| !r.action.is_destructive())
    }

    /// Terraform's line, `Plan: 1 to import, 2 to add, 0 to change, 1 to destroy. Actions: 1
    /// to invoke`, plus `, 1 to forget` and `, 1 to move` when there are any (Terraform lists
    /// those without counting them); `No changes`, `Only output values change`, or `Planning
    /// failed` otherwise.
    pub fn headline(&self) -> String {
        text::headline(self)
    }

    /// The commit status line, destructive counts first and at most 140 characters:
    /// `⚠ 1 to destroy, 1 to forget · 3 to add`.
    pub fn status_description(&self) -> String {
        text::status_description(self)
    }
}

/// Summarises a saved plan from the view it carries: `show -json`, or its `plan -json` stream.
pub fn summarize_saved(plan: &SavedPlan) -> PlanSummary {
    match &plan.view {
        PlanView::Shown { json, .. } => summarize(json),
        PlanView::Streamed(streamed) => summarize_stream(streamed),
    }
}

/// Summarises a `show -json` document. Never panics, whatever the document holds.
pub fn summarize(plan: &Value) -> PlanSummary {
    let mut summary = PlanSummary {
        errored: plan["errored"].as_bool() == Some(true),
        complete: plan["complete"].as_bool() != Some(false),
        applyable: plan["applyable"].as_bool() == Some(true),
        ..PlanSummary::default()
    };
    let mut listed = Vec::new();
    for rc in plan["resource_changes"].as_array().into_iter().flatten() {
        let change = ResourceChange::from_json(rc);
        // Terraform plans a `delete` for a data source only to tidy the state; it never shows it.
        if !change.is_listed() || (rc["mode"] == "data" && change.action == Action::Delete) {
            continue;
        }
        summary.count(&change);
        listed.push(change);
    }
    // Destructive changes first; each group keeps Terraform's (address) order.
    let (mut resources, others): (Vec<_>, Vec<_>) = listed.into_iter().partition(|r| r.action.is_destructive());
    resources.extend(others);
    summary.resources = resources;
    summary.outputs = outputs::output_changes(plan);
    summary.drifted = plan["resource_drift"].as_array().into_iter().flatten().map(ResourceChange::from_json).collect();
    summary.drift = count(summary.drifted.len());
    summary.deferred = deferred(plan);
    summary.actions = plan["action_invocations"].as_array().into_iter().flatten().map(invocation).collect();
    summary.invoke = count(summary.actions.len());
    summary.diagnostics = diagnostics(plan);
    summary
}

impl PlanSummary {
    /// Adds one listed change to the counts, by the rule of Terraform's plan renderer.
    fn count(&mut self, change: &ResourceChange) {
        if change.importing {
            self.import += 1;
        }
        if change.moved_from.is_some() {
            self.moved += 1;
        }
        match change.action {
            Action::Create => self.add += 1,
            Action::Update => self.change += 1,
            Action::Delete => self.destroy += 1,
            Action::Replace => {
                self.add += 1;
                self.destroy += 1;
                self.replace += 1;
            }
            Action::CreateThenForget => {
                self.add += 1;
                self.forget += 1;
            }
            Action::Forget => self.forget += 1,
            Action::Read => self.read += 1,
            Action::NoOp | Action::Unknown => {}
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn deferred(plan: &Value) -> Vec<DeferredChange> {
    let reason = |d: &Value| change::deferred_reason_text(d["reason"].as_str().unwrap_or_default());
    let resources = plan["deferred_changes"].as_array().into_iter().flatten().map(|d| {
        let change = ResourceChange::from_json(&d["resource_change"]);
        DeferredChange { action: change.label(), address: change.display_address(), reason: reason(d) }
    });
    let actions = plan["deferred_action_invocations"].as_array().into_iter().flatten().map(|d| DeferredChange {
        address: d["action_invocation"]["address"].as_str().unwrap_or("(unknown address)").to_owned(),
        action: "invoke".to_owned(),
        reason: reason(d),
    });
    resources.chain(actions).collect()
}

fn invocation(ai: &Value) -> ActionInvocation {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let lifecycle = &ai["lifecycle_action_trigger"];
    let trigger = if lifecycle.is_object() {
        Trigger::Lifecycle {
            event: text(&lifecycle["action_trigger_event"]),
            resource: text(&lifecycle["triggering_resource_address"]),
        }
    } else {
        let calling = ai["invoke_action_trigger"]["calling_resource_address"].as_str();
        Trigger::Invoked { calling_resource: calling.filter(|c| !c.is_empty()).map(str::to_owned) }
    };
    ActionInvocation { address: ai["address"].as_str().unwrap_or("(unknown address)").to_owned(), trigger }
}

/// The problems of failed or errored checks (preconditions, postconditions, check blocks).
fn diagnostics(plan: &Value) -> Vec<PlanDiagnostic> {
    let mut out = Vec::new();
    for check in plan["checks"].as_array().into_iter().flatten() {
        for instance in check["instances"].as_array().into_iter().flatten() {
            if !matches!(instance["status"].as_str(), Some("fail" | "error")) {
                continue;
            }
            let address = instance["address"]["to_display"]
                .as_str()
                .or_else(|| check["address"]["to_display"].as_str())
                .unwrap_or("(unknown address)");
            for problem in instance["problems"].as_array().into_iter().flatten() {
                let message = problem["message"].as_str().unwrap_or("(no message)");
                out.push(PlanDiagnostic { address: address.to_owned(), message: message.to_owned() });
            }
        }
    }
    out
}
