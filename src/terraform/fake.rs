//! A fake [`Terraform`] for unit tests: answers from fields, records every process the real
//! one would run, writes the saved plan file like the real one so the rest of the flow sees a
//! real directory.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Outputs, PlanDetail, PlanKind, PlanView, SavedPlan, StateId, StreamedPlan, Terraform, TerraformError};

/// Makes the error a scripted call fails with.
pub type Failure = fn() -> TerraformError;

/// What the fake answers. Change fields between calls through [`FakeTerraform::set`].
#[derive(Debug, Clone)]
pub struct Script {
    pub version: String,
    /// The current state, and the prior state of every plan.
    pub state: Option<StateId>,
    /// `show -json` of every plan ([`PlanDetail::Full`]); its `errored` flag also marks the
    /// stream of a [`PlanDetail::Counts`] plan errored.
    pub plan_json: Value,
    /// The `plan -json` messages of every plan ([`PlanDetail::Counts`]).
    pub plan_stream: Vec<Value>,
    pub plan_bytes: Vec<u8>,
    /// The lock file `init` writes (`None`: none, as with a provider-free configuration).
    pub lock_file: Option<String>,
    /// What `apply` reports as the root module's outputs.
    pub outputs: Outputs,
    /// When set, the named call (`"init"`, `"plan"`, `"apply"`, …) fails with this.
    pub fail: Option<(&'static str, Failure)>,
    /// How many times `fail` fires (`None`: every time); then the call passes.
    pub fails_left: Option<u32>,
    /// A scripted failure that changed the state on its way (bumps its serial), as a
    /// resource created and then failing does.
    pub failure_moves_state: bool,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            version: "1.11.4".to_owned(),
            state: Some(StateId { lineage: "lineage-1".to_owned(), serial: 3 }),
            plan_json: json!({
                "format_version": "1.2",
                "resource_changes": [{
                    "address": "terraform_data.app",
                    "mode": "managed",
                    "type": "terraform_data",
                    "name": "app",
                    "change": { "actions": ["create"], "before": null, "after": {}, "after_unknown": {} }
                }]
            }),
            plan_stream: vec![
                json!({"type": "planned_change", "change": {
                    "resource": {"addr": "terraform_data.app", "resource": "terraform_data.app"},
                    "action": "create"}}),
                json!({"type": "change_summary", "changes": {"add": 1, "change": 0, "import": 0, "remove": 0}}),
            ],
            plan_bytes: b"fake plan".to_vec(),
            lock_file: None,
            outputs: Outputs::default(),
            fail: None,
            fails_left: None,
            failure_moves_state: false,
        }
    }
}

#[derive(Debug, Default)]
pub struct FakeTerraform {
    script: Mutex<Script>,
    calls: Mutex<Vec<String>>,
    /// A `-json` command ran: like the real one, the version is known without a process.
    announced: AtomicBool,
    /// The prior state of the last plan: apply refuses it, as Terraform does, once the state
    /// has moved.
    planned_state: Mutex<Option<Option<StateId>>>,
}

impl FakeTerraform {
    pub fn new(script: Script) -> Self {
        Self {
            script: Mutex::new(script),
            calls: Mutex::new(Vec::new()),
            announced: AtomicBool::new(false),
            planned_state: Mutex::default(),
        }
    }

    /// Changes what the fake answers from now on.
    pub fn set(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.script.lock().expect("script lock"));
    }

    /// The processes so far, e.g. `["init", "plan", "show"]` (`show`: both `show` commands of
    /// a [`PlanDetail::Full`] plan; `version` and `state`: a process of their own).
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls lock").clone()
    }

    /// Records the call; its script, or the scripted failure.
    fn call(&self, name: &str) -> Result<Script, TerraformError> {
        self.calls.lock().expect("calls lock").push(name.to_owned());
        let mut script = self.script.lock().expect("script lock");
        match script.fail {
            Some((call, error)) if call == name && script.fails_left != Some(0) => {
                script.fails_left = script.fails_left.map(|n| n - 1);
                if script.failure_moves_state
                    && let Some(state) = &mut script.state
                {
                    state.serial += 1;
                }
                Err(error())
            }
            _ => Ok(script.clone()),
        }
    }
}

#[async_trait]
impl Terraform for FakeTerraform {
    async fn version(&self) -> Result<String, TerraformError> {
        if self.announced.load(Ordering::SeqCst) {
            return Ok(self.script.lock().expect("script lock").version.clone());
        }
        Ok(self.call("version")?.version)
    }

    async fn init(&self, dir: &Path) -> Result<(), TerraformError> {
        let script = self.call("init")?;
        self.announced.store(true, Ordering::SeqCst);
        if let Some(lock) = script.lock_file {
            std::fs::write(dir.join(".terraform.lock.hcl"), lock).expect("write the lock file");
        }
        Ok(())
    }

    async fn plan(
        &self,
        dir: &Path,
        planfile: &str,
        kind: PlanKind,
        detail: PlanDetail,
    ) -> Result<SavedPlan, TerraformError> {
        let script = self.call(if kind == PlanKind::Destroy { "plan -destroy" } else { "plan" })?;
        self.announced.store(true, Ordering::SeqCst);
        std::fs::write(dir.join(planfile), &script.plan_bytes).expect("write the plan file");
        *self.planned_state.lock().expect("state lock") = Some(script.state.clone());
        let view = match detail {
            PlanDetail::Full => {
                self.call("show")?;
                let raw = script.plan_json.to_string();
                PlanView::Shown { json: script.plan_json.clone(), raw, text: "fake plan text".to_owned() }
            }
            PlanDetail::Counts | PlanDetail::Drift => {
                let errored = script.plan_json["errored"] == json!(true);
                PlanView::Streamed(StreamedPlan::new(script.plan_stream, errored))
            }
        };
        // A drift plan with anything to show reads `plan_json` as `show -json`.
        let differences = match &view {
            view @ PlanView::Streamed(_) if detail == PlanDetail::Drift && super::process::view_lists_changes(view) => {
                self.call("show")?;
                Some(super::differences::read(&script.plan_json.to_string()).expect("the script's plan_json"))
            }
            _ => None,
        };
        Ok(SavedPlan {
            bytes: script.plan_bytes,
            version: script.version,
            prior_state: script.state,
            view,
            differences,
        })
    }

    async fn apply(&self, dir: &Path, planfile: &str) -> Result<Outputs, TerraformError> {
        let script = self.call("apply")?;
        self.announced.store(true, Ordering::SeqCst);
        if let Some(planned) = self.planned_state.lock().expect("state lock").clone()
            && planned != script.state
        {
            return Err(TerraformError::StalePlan { details: vec!["Saved plan is stale".to_owned()] });
        }
        assert!(dir.join(planfile).is_file(), "apply runs a plan file that is in place");
        Ok(script.outputs)
    }

    async fn destroy(&self, _dir: &Path) -> Result<(), TerraformError> {
        self.call("destroy").map(drop)
    }

    async fn state_id(&self, _dir: &Path) -> Result<Option<StateId>, TerraformError> {
        Ok(self.call("state")?.state)
    }
}
