//! A fake [`Terraform`] for unit tests: answers from fields, records every call, writes
//! the saved plan file like the real one so the rest of the flow sees a real directory.

use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Outputs, PlanKind, SavedPlan, StateId, Terraform, TerraformError};

/// Makes the error a scripted call fails with.
pub type Failure = fn() -> TerraformError;

/// What the fake answers. Change fields between calls through [`FakeTerraform::set`].
#[derive(Debug, Clone)]
pub struct Script {
    pub version: String,
    pub state: Option<StateId>,
    /// `show -json` of every plan.
    pub plan_json: Value,
    pub plan_bytes: Vec<u8>,
    /// The lock file `init` writes (`None`: none, as with a provider-free configuration).
    pub lock_file: Option<String>,
    /// What `apply` reports as the root module's outputs.
    pub outputs: Outputs,
    /// When set, the named call (`"init"`, `"plan"`, `"apply"`, …) fails with this.
    pub fail: Option<(&'static str, Failure)>,
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
            plan_bytes: b"fake plan".to_vec(),
            lock_file: None,
            outputs: Outputs::default(),
            fail: None,
        }
    }
}

#[derive(Debug, Default)]
pub struct FakeTerraform {
    script: Mutex<Script>,
    calls: Mutex<Vec<String>>,
}

impl FakeTerraform {
    pub fn new(script: Script) -> Self {
        Self { script: Mutex::new(script), calls: Mutex::new(Vec::new()) }
    }

    /// Changes what the fake answers from now on.
    pub fn set(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.script.lock().expect("script lock"));
    }

    /// The calls so far, e.g. `["version", "init", "state", "plan"]`.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls lock").clone()
    }

    /// Records the call; its script, or the scripted failure.
    fn call(&self, name: &str) -> Result<Script, TerraformError> {
        self.calls.lock().expect("calls lock").push(name.to_owned());
        let script = self.script.lock().expect("script lock").clone();
        match script.fail {
            Some((call, error)) if call == name => Err(error()),
            _ => Ok(script),
        }
    }
}

#[async_trait]
impl Terraform for FakeTerraform {
    async fn version(&self) -> Result<String, TerraformError> {
        Ok(self.call("version")?.version)
    }

    async fn init(&self, dir: &Path) -> Result<(), TerraformError> {
        if let Some(lock) = self.call("init")?.lock_file {
            std::fs::write(dir.join(".terraform.lock.hcl"), lock).expect("write the lock file");
        }
        Ok(())
    }

    async fn plan(&self, dir: &Path, planfile: &str, kind: PlanKind) -> Result<SavedPlan, TerraformError> {
        let script = self.call(if kind == PlanKind::Destroy { "plan -destroy" } else { "plan" })?;
        std::fs::write(dir.join(planfile), &script.plan_bytes).expect("write the plan file");
        Ok(SavedPlan { bytes: script.plan_bytes, json: script.plan_json, text: "fake plan text".to_owned() })
    }

    async fn apply(&self, dir: &Path, planfile: &str) -> Result<Outputs, TerraformError> {
        let script = self.call("apply")?;
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
