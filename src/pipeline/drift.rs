//! The drift flow: re-plan the configuration of the commit last *applied* to a target
//! (never a pull request's plan), without applying, and say whether the real state has
//! moved away from it, and what moved: which resources, and which of their attributes
//! (`terraform::differences`). Nothing is written to customer repos.

use serde::Serialize;

use super::admit::Admitted;
use super::frame::{Finished, Frame, framed};
use super::prepare::prepare;
use super::{Deps, Request};
use crate::error::CommandError;
use crate::identity::Target;
use crate::limits::RECORD_MESSAGE_CHARS;
use crate::report::truncate_chars;
use crate::store::RunKind;
use crate::terraform::differences::{Attribute, Differences};
use crate::terraform::summary::{PlanSummary, ResourceChange, summarize_saved};
use crate::terraform::{PlanDetail, PlanKind, TerraformError};

/// At most this many drifted resources are kept per result (the counts are always whole).
pub const MAX_LISTED_DRIFT: usize = 100;

/// The drift plan's file name inside the working directory.
const DRIFT_PLAN_FILE: &str = "infra-manager-drift.tfplan";

/// What drift found for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftState {
    InSync,
    Drifted,
    /// Nothing was ever applied to the target: there is nothing to drift from.
    NeverApplied,
    Error,
}

/// The result for one target.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DriftResult {
    pub customer: String,
    pub environment: String,
    pub sha: Option<String>,
    pub result: DriftState,
    pub add: u32,
    pub change: u32,
    pub destroy: u32,
    /// Resources changed outside Terraform (`resource_drift`).
    pub changed_outside: u32,
    /// What drifted: the resources changed outside Terraform, then those the plan would
    /// change back, each with the attributes that differ (the first [`MAX_LISTED_DRIFT`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Drifted>,
    /// How many resources drifted in all (listed or not).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resources_drifted: u32,
    pub message: Option<String>,
}

/// A resource a drift check found drifted, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Drifted {
    #[serde(flatten)]
    pub resource: ResourceChange,
    /// Found changed outside Terraform (`resource_drift`: its action is what happened to
    /// it); else a change the plan of the applied configuration makes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside: bool,
    /// The first attributes that differ, applied and found
    /// ([`crate::terraform::differences::MAX_ATTRIBUTES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    /// How many attributes differ in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attributes_changed: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What drifted, in the order people read it: the resources changed outside Terraform,
/// then the plan's changes, each with what `differences` found of it.
fn drifted(summary: &PlanSummary, differences: Option<&Differences>) -> Vec<Drifted> {
    let outside = summary.drifted.iter().map(|r| (r, true));
    let planned = summary.resources.iter().map(|r| (r, false));
    outside
        .chain(planned)
        .take(MAX_LISTED_DRIFT)
        .map(|(resource, outside)| {
            let found = differences.and_then(|d| if outside { &d.outside } else { &d.planned }.get(&resource.address));
            let found = found.cloned().unwrap_or_default();
            Drifted {
                resource: resource.clone(),
                outside,
                attributes: found.attributes,
                attributes_changed: found.total,
            }
        })
        .collect()
}

/// `aws_security_group.app (input.ingress[0].cidr_ipv4, tags.owner)`: a resource and its
/// differing attributes' paths, for one line; `and 3 more` past `limit` attributes.
pub fn named(d: &Drifted, limit: usize) -> String {
    let mut paths: Vec<&str> = d.attributes.iter().take(limit).map(|a| a.path.as_str()).collect();
    let more = (d.attributes_changed as usize).saturating_sub(paths.len());
    let more = format!("{more} more");
    if paths.len() < d.attributes_changed as usize {
        paths.push(&more);
    }
    let address = d.resource.display_address();
    if paths.is_empty() { address } else { format!("{address} ({})", paths.join(", ")) }
}

/// A plan made only to be looked at (drift, fleet re-plans): never stored.
pub(super) struct Replanned {
    pub(super) summary: PlanSummary,
    /// What drifted (a drift check's plan; empty for a fleet re-plan).
    pub(super) drifted: Vec<Drifted>,
}

/// How many drifted resources a record's message names, and attributes of each.
const RECORD_RESOURCES: usize = 5;
const RECORD_ATTRIBUTES: usize = 3;

impl Finished for Replanned {
    fn counts(&self) -> (u32, u32, u32) {
        (self.summary.add, self.summary.change, self.summary.destroy)
    }

    fn status_line(&self) -> String {
        self.summary.status_description()
    }

    fn changed_outside(&self) -> Option<u32> {
        Some(self.summary.drift)
    }

    /// What drift found, for `history`, naming what drifted: the run succeeded either way.
    fn record_message(&self) -> Option<String> {
        let s = &self.summary;
        if !is_drift(s) {
            return Some("in sync".to_owned());
        }
        let mut message = format!(
            "drifted: {} changed outside Terraform; {} to add, {} to change, {} to destroy",
            s.drift, s.add, s.change, s.destroy
        );
        let named: Vec<String> =
            self.drifted.iter().take(RECORD_RESOURCES).map(|d| named(d, RECORD_ATTRIBUTES)).collect();
        if !named.is_empty() {
            message.push_str(&format!(": {}", named.join("; ")));
        }
        Some(message)
    }

    fn drifted(&self) -> Option<bool> {
        Some(is_drift(&self.summary))
    }
}

/// Whether a re-plan of what was applied finds drift: changes to make, or changes made
/// outside Terraform.
fn is_drift(summary: &PlanSummary) -> bool {
    summary.has_changes() || summary.drift > 0
}

impl DriftState {
    /// What the drift check a `record` keeps found: the same rule as [`is_drift`], read
    /// from the counts and `changed_outside` (never from the message). `None` for a record
    /// that is not a finished drift check.
    pub fn of_record(record: &crate::store::RunRecord) -> Option<Self> {
        use crate::store::RunStatus;
        if record.kind != RunKind::Drift {
            return None;
        }
        match record.status {
            RunStatus::Started => None,
            RunStatus::Failed | RunStatus::Cancelled => Some(Self::Error),
            RunStatus::Succeeded => {
                let counts = [record.add, record.change, record.destroy, record.changed_outside];
                Some(if counts.iter().any(|n| n.unwrap_or(0) > 0) { Self::Drifted } else { Self::InSync })
            }
        }
    }
}

/// Checks one target against the configuration of the commit last applied to it. Never
/// fails: an error is this target's result, and the others go on.
pub async fn check(deps: &Deps<'_>, target: &Target) -> DriftResult {
    let result = DriftResult {
        customer: target.owner.to_string(),
        environment: target.env.to_string(),
        sha: None,
        result: DriftState::NeverApplied,
        add: 0,
        change: 0,
        destroy: 0,
        changed_outside: 0,
        resources: Vec::new(),
        resources_drifted: 0,
        message: None,
    };
    let error = |message: String, result: DriftResult| DriftResult {
        result: DriftState::Error,
        message: Some(message),
        ..result
    };
    let sha = match super::admit::last_applied(deps.store, target).await {
        Ok(Some(applied)) => applied.sha,
        Ok(None) => return result,
        Err(e) => return error(e.status_line(), result),
    };
    let result = DriftResult { sha: Some(sha.to_string()), ..result };
    let req = Request::new(target.clone(), sha);
    let admitted = match super::admit::admit(deps, &req, super::admit::Intent::Drift).await {
        Ok(admitted) => admitted,
        Err(e) => return error(truncate_chars(&e.status_line(), RECORD_MESSAGE_CHARS), result),
    };
    let frame = Frame { kind: RunKind::Drift, pending: None, expires_at: admitted.expires_at };
    match framed(deps, frame, &req, replan(deps, &req, admitted, PlanDetail::Drift)).await {
        Ok(Replanned { summary, drifted }) => DriftResult {
            result: if is_drift(&summary) { DriftState::Drifted } else { DriftState::InSync },
            add: summary.add,
            change: summary.change,
            destroy: summary.destroy,
            changed_outside: summary.drift,
            resources_drifted: u32::try_from(summary.drifted.len() + summary.resources.len()).unwrap_or(u32::MAX),
            resources: drifted,
            ..result
        },
        Err(e) => error(truncate_chars(&e.to_string(), RECORD_MESSAGE_CHARS), result),
    }
}

/// `init` and `plan`, never the plan text: a fleet re-plan needs the counts
/// ([`PlanDetail::Counts`]); a drift check also what drifted, from `show -json` when
/// something did ([`PlanDetail::Drift`]).
pub(super) async fn replan(
    deps: &Deps<'_>,
    req: &Request,
    admitted: Admitted,
    detail: PlanDetail,
) -> Result<Replanned, CommandError> {
    let file = admitted.file.unwrap_or_else(|| unreachable!("a re-plan's admission reads the file"))?;
    let prepared = prepare(deps, req, &file).await?;
    let dir = prepared.workspace.path();
    let saved = deps.terraform.plan(dir, DRIFT_PLAN_FILE, PlanKind::Update, detail).await;
    prepared.workspace.remove_file(DRIFT_PLAN_FILE)?;
    let saved = saved?;
    let summary = summarize_saved(&saved);
    if summary.errored() || summary.incomplete() {
        return Err(TerraformError::PlanErrored { plan: Box::new(saved), details: Vec::new() }.into());
    }
    let drifted = if detail == PlanDetail::Drift { drifted(&summary, saved.differences.as_ref()) } else { Vec::new() };
    Ok(Replanned { summary, drifted })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::terraform::summary::summarize;

    /// A drift plan's `show -json`: a bucket tagged by hand, a group deleted by hand, and
    /// the plan that undoes both (and changes an input edited in the state).
    fn plan() -> serde_json::Value {
        json!({
            "resource_drift": [
                {"address": "aws_s3_bucket.assets", "change": {"actions": ["update"],
                    "before": {"tags": {"env": "prod"}}, "after": {"tags": {"env": "prod", "owner": "bob"}}}},
                {"address": "aws_security_group.app", "change": {"actions": ["delete"], "before": {"id": "sg-1"}, "after": null}},
            ],
            "resource_changes": [
                {"address": "aws_s3_bucket.assets", "change": {"actions": ["update"],
                    "before": {"tags": {"env": "prod", "owner": "bob"}}, "after": {"tags": {"env": "prod"}}}},
                {"address": "aws_security_group.app", "change": {"actions": ["create"], "before": null, "after": {}}},
            ],
        })
    }

    /// The plan's summary, and what drifted in it.
    fn found() -> (PlanSummary, Vec<Drifted>) {
        let doc = plan();
        let summary = summarize(&doc);
        let differences = crate::terraform::differences::read(&doc.to_string()).expect("read");
        let found = drifted(&summary, Some(&differences));
        (summary, found)
    }

    #[test]
    fn what_drifted_lists_outside_changes_then_the_plans_with_their_attributes() {
        let (summary, found) = found();
        let shown: Vec<(String, bool, String)> =
            found.iter().map(|d| (d.resource.address.clone(), d.outside, named(d, 3))).collect();
        assert_eq!(
            shown,
            [
                ("aws_s3_bucket.assets".into(), true, "aws_s3_bucket.assets (tags.owner)".into()),
                ("aws_security_group.app".into(), true, "aws_security_group.app".into()),
                ("aws_s3_bucket.assets".into(), false, "aws_s3_bucket.assets (tags.owner)".into()),
                ("aws_security_group.app".into(), false, "aws_security_group.app".into()),
            ]
        );
        assert_eq!(
            (found[0].attributes[0].applied.as_str(), found[0].attributes[0].found.as_str()),
            ("(absent)", "\"bob\"")
        );
        assert_eq!(found[2].attributes, found[0].attributes, "the plan undoes it: the same applied and found");
        // Without `show` (it failed), the addresses still.
        assert_eq!(drifted(&summary, None)[0].attributes, []);
    }

    /// `fleet merge` reads the shards' results back.
    #[test]
    fn what_drifted_reads_back_as_a_shard_wrote_it() {
        let (_, resources) = found();
        let json = serde_json::to_value(&resources).expect("json");
        assert_eq!(serde_json::from_value::<Vec<Drifted>>(json).expect("read back"), resources);
    }

    #[test]
    fn the_record_names_what_drifted_within_its_bound() {
        let (summary, drifted) = found();
        let replanned = Replanned { drifted, summary };
        let message = replanned.record_message().expect("a message");
        assert!(
            message.starts_with("drifted: 2 changed outside Terraform; 1 to add, 1 to change, 0 to destroy: aws_s3_bucket.assets (tags.owner); aws_security_group.app;"),
            "{message}"
        );
        let many = Drifted { attributes_changed: 40, ..replanned.drifted[0].clone() };
        assert_eq!(named(&many, 3), "aws_s3_bucket.assets (tags.owner, 39 more)");
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;
    use crate::store::{RunRecord, RunStatus};

    /// A drift record says drifted when the re-plan had changes or found changes made
    /// outside Terraform (which a plan without changes still reports), read from its fields.
    #[test]
    fn a_drift_record_tells_its_state_from_its_counts_and_changed_outside() {
        let record = |status: RunStatus, counts: (u32, u32), outside: Option<u32>| RunRecord {
            add: Some(counts.0),
            change: Some(counts.1),
            destroy: Some(0),
            changed_outside: outside,
            ..RunRecord::empty(RunKind::Drift, status)
        };
        let state = |r: &RunRecord| DriftState::of_record(r);
        assert_eq!(state(&record(RunStatus::Succeeded, (0, 0), Some(0))), Some(DriftState::InSync));
        assert_eq!(state(&record(RunStatus::Succeeded, (1, 0), Some(0))), Some(DriftState::Drifted));
        assert_eq!(state(&record(RunStatus::Succeeded, (0, 0), Some(2))), Some(DriftState::Drifted), "outside only");
        assert_eq!(state(&record(RunStatus::Succeeded, (0, 0), None)), Some(DriftState::InSync), "an older record");
        assert_eq!(state(&record(RunStatus::Failed, (0, 0), None)), Some(DriftState::Error));
        assert_eq!(state(&record(RunStatus::Started, (0, 0), None)), None, "still running");
        let apply = RunRecord { add: Some(3), ..RunRecord::empty(RunKind::Apply, RunStatus::Succeeded) };
        assert_eq!(state(&apply), None, "not a drift check");
    }
}
