//! A summary from a `plan -json` stream ([`StreamedPlan`]), with no `show` at all.
//!
//! The stream's messages are rewritten into the shape of `show -json` (the fields the
//! summary reads) and summarised by the same code, so both views count by one rule. What
//! the stream does not carry: output values (shown as `(not shown)` unless sensitive),
//! deposed keys, and the difference between a replacement and a `["create","forget"]`
//! (the stream says `replace` for both, so the latter counts as a replacement here).

use serde_json::{Map, Value, json};

use super::{PlanDiagnostic, PlanSummary, summarize};
use crate::terraform::StreamedPlan;

/// An output value the stream does not carry (it names only the action and sensitivity).
pub const VALUE_NOT_SHOWN: &str = "(not shown)";

/// Summarises what the stream said.
pub fn summarize_stream(plan: &StreamedPlan) -> PlanSummary {
    let doc = as_show_json(plan);
    let mut summary = summarize(&doc);
    for output in &mut summary.outputs {
        if output.value != "(sensitive)" && output.value != "(removed)" {
            output.value = VALUE_NOT_SHOWN.to_owned();
        }
    }
    summary.diagnostics = diagnostics(plan);
    summary
}

/// The stream in the shape of `show -json`: `resource_changes` (by address, as `show -json`
/// orders them), `resource_drift`, `output_changes`, `deferred_changes`,
/// `action_invocations`, and the `errored`/`complete`/`applyable` flags.
fn as_show_json(plan: &StreamedPlan) -> Value {
    let mut changes: Vec<Value> = plan.of_type("planned_change").map(|m| resource_change(&m["change"])).collect();
    changes.sort_by(|a, b| a["address"].as_str().cmp(&b["address"].as_str()));
    let drift: Vec<Value> = plan.of_type("resource_drift").map(|m| resource_change(&m["change"])).collect();
    let deferred: Vec<Value> = plan
        .of_type("deferred_change")
        .map(|m| json!({ "reason": m["deferred"]["reason"], "resource_change": resource_change(&m["deferred"]["change"]) }))
        .collect();
    let invocations: Vec<Value> =
        plan.of_type("planned_action_invocation").map(|m| invocation(&m["invocation"])).collect();
    let mut outputs = Map::new();
    for msg in plan.of_type("outputs") {
        for (name, output) in msg["outputs"].as_object().into_iter().flatten() {
            let change = json!({
                "actions": actions(output["action"].as_str().unwrap_or_default()),
                "after_sensitive": output["sensitive"].as_bool() == Some(true),
            });
            outputs.insert(name.clone(), change);
        }
    }
    let errored = plan.errored || plan.of_type("diagnostic").any(|d| d["diagnostic"]["severity"] == "error");
    let has_changes = changes.iter().any(|c| c["change"]["actions"] != json!(["no-op"]) || is_moved_or_imported(c))
        || outputs.values().any(|o| o["actions"] != json!(["no-op"]))
        || !drift.is_empty()
        || !invocations.is_empty();
    json!({
        "errored": errored,
        "complete": !errored && deferred.is_empty(),
        "applyable": !errored && has_changes,
        "resource_changes": changes,
        "resource_drift": drift,
        "output_changes": outputs,
        "deferred_changes": deferred,
        "action_invocations": invocations,
    })
}

fn is_moved_or_imported(change: &Value) -> bool {
    change["previous_address"].is_string() || change["change"]["importing"].is_object()
}

/// A stream `change` (`{"resource":{"addr":…},"action":"update","previous_resource":…,
/// "importing":…,"reason":…}`) as a `show -json` `resource_changes` entry.
fn resource_change(change: &Value) -> Value {
    let address = change["resource"]["addr"].as_str().unwrap_or("(unknown address)");
    let resource = change["resource"]["resource"].as_str().unwrap_or(address);
    let mut inner = json!({ "actions": actions(change["action"].as_str().unwrap_or_default()) });
    if change["importing"].is_object() {
        inner["importing"] = change["importing"].clone();
    }
    let mut entry = json!({
        "address": address,
        "mode": if resource.starts_with("data.") { "data" } else { "managed" },
        "change": inner,
    });
    if let Some(previous) = change["previous_resource"]["addr"].as_str() {
        entry["previous_address"] = json!(previous);
    }
    if let Some(reason) = change["reason"].as_str().filter(|r| !r.is_empty()) {
        entry["action_reason"] = json!(action_reason(reason));
    }
    entry
}

/// The stream's action word as `show -json`'s action list. A move or import alone is a
/// no-op there (the move and import are separate fields); an unknown word stays itself, so
/// the summary shows it as an unknown action rather than dropping it.
fn actions(action: &str) -> Value {
    match action {
        "create" => json!(["create"]),
        "update" => json!(["update"]),
        "delete" => json!(["delete"]),
        "replace" => json!(["delete", "create"]),
        "read" => json!(["read"]),
        "remove" => json!(["forget"]),
        "noop" | "move" | "import" => json!(["no-op"]),
        other => json!([other]),
    }
}

/// The stream's short reason as `show -json`'s `action_reason` (the delete and read reasons
/// are spelled the same in both).
fn action_reason(reason: &str) -> &str {
    match reason {
        "tainted" => "replace_because_tainted",
        "requested" => "replace_by_request",
        "cannot_update" => "replace_because_cannot_update",
        "replace_triggered_by" => "replace_by_triggers",
        other => other,
    }
}

/// A stream action invocation as a `show -json` `action_invocations` entry.
fn invocation(invocation: &Value) -> Value {
    let address = &invocation["action_addr"]["addr"];
    let lifecycle = &invocation["lifecycle_trigger"];
    if lifecycle.is_object() {
        json!({
            "address": address,
            "lifecycle_action_trigger": {
                "action_trigger_event": lifecycle["triggering_event"],
                "triggering_resource_address": lifecycle["triggering_resource"]["addr"],
            },
        })
    } else {
        json!({ "address": address, "invoke_action_trigger": {} })
    }
}

/// The stream's error diagnostics, and warnings about an object (a failed check): where
/// `show -json` has failed checks, the stream has these.
fn diagnostics(plan: &StreamedPlan) -> Vec<PlanDiagnostic> {
    plan.of_type("diagnostic")
        .map(|m| &m["diagnostic"])
        .filter(|d| d["severity"] == "error" || d["address"].is_string())
        .map(|d| {
            let summary = d["summary"].as_str().unwrap_or_default();
            let detail = d["detail"].as_str().unwrap_or_default();
            let address = match (d["address"].as_str(), d["range"]["filename"].as_str()) {
                (Some(address), _) => address.to_owned(),
                (None, Some(file)) => format!("{file}:{}", d["range"]["start"]["line"].as_u64().unwrap_or(0)),
                (None, None) => "(configuration)".to_owned(),
            };
            let message = if detail.is_empty() { summary.to_owned() } else { format!("{summary}: {detail}") };
            PlanDiagnostic { address, message }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::summary::Action;

    fn change(addr: &str, action: &str) -> Value {
        json!({"type": "planned_change", "change": {"resource": {"addr": addr, "resource": addr}, "action": action}})
    }

    #[test]
    fn every_stream_action_counts_as_in_show_json() {
        let plan = StreamedPlan::new(
            [
                change("terraform_data.c", "create"),
                change("terraform_data.u", "update"),
                change("terraform_data.d", "delete"),
                change("terraform_data.r", "replace"),
                change("terraform_data.f", "remove"),
                change("data.terraform_remote_state.x", "read"),
                json!({"type": "planned_change", "change": {
                    "resource": {"addr": "terraform_data.i"}, "action": "import", "importing": {"id": "i-1"}}}),
                json!({"type": "planned_change", "change": {
                    "resource": {"addr": "terraform_data.new"}, "previous_resource": {"addr": "terraform_data.old"},
                    "action": "move"}}),
            ],
            false,
        );
        let s = summarize_stream(&plan);
        let counts = (s.add, s.change, s.destroy, s.replace, s.import, s.forget, s.moved, s.read);
        assert_eq!(counts, (2, 1, 2, 1, 1, 1, 1, 1));
        assert_eq!(s.headline(), "Plan: 1 to import, 2 to add, 1 to change, 2 to destroy, 1 to forget, 1 to move");
        let destructive: Vec<&str> = s.destructive().map(|r| r.address.as_str()).collect();
        assert_eq!(destructive, ["terraform_data.d", "terraform_data.f", "terraform_data.r"]);
        assert!(s.has_changes() && !s.errored());
    }

    #[test]
    fn an_errored_stream_is_an_errored_plan_with_its_diagnostics() {
        let error = json!({"type": "diagnostic", "diagnostic": {
            "severity": "error", "summary": "Resource precondition failed", "detail": "needs 10.1.0.0/16",
            "range": {"filename": "main.tf", "start": {"line": 14}}}});
        for (messages, exited_1) in [(vec![error.clone()], false), (vec![], true)] {
            let s = summarize_stream(&StreamedPlan::new(messages, exited_1));
            assert!(s.errored() && s.incomplete(), "{s:?}");
            assert_eq!(s.headline(), "Planning failed");
        }
        let s = summarize_stream(&StreamedPlan::new([error], false));
        assert_eq!(s.diagnostics[0].address, "main.tf:14");
        assert_eq!(s.diagnostics[0].message, "Resource precondition failed: needs 10.1.0.0/16");
    }

    #[test]
    fn outputs_keep_their_action_and_sensitivity_but_no_value() {
        let plan = StreamedPlan::new(
            [json!({"type": "outputs", "outputs": {
                "token": {"sensitive": true, "action": "create"},
                "url": {"sensitive": false, "action": "update"},
                "old": {"sensitive": false, "action": "delete"},
                "same": {"sensitive": false, "action": "noop"},
            }})],
            false,
        );
        let s = summarize_stream(&plan);
        let shown: Vec<(&str, Action, &str)> =
            s.outputs.iter().map(|o| (o.name.as_str(), o.action, o.value.as_str())).collect();
        assert_eq!(
            shown,
            [
                ("old", Action::Delete, "(removed)"),
                ("same", Action::NoOp, VALUE_NOT_SHOWN),
                ("token", Action::Create, "(sensitive)"),
                ("url", Action::Update, VALUE_NOT_SHOWN),
            ]
        );
        assert_eq!(s.headline(), "Only output values change");
    }

    #[test]
    fn drift_and_deferred_changes_are_read() {
        let plan = StreamedPlan::new(
            [
                json!({"type": "resource_drift", "change": {"resource": {"addr": "terraform_data.x"}, "action": "delete"}}),
                json!({"type": "deferred_change", "deferred": {"reason": "instance_count_unknown",
                    "change": {"resource": {"addr": "terraform_data.y"}, "action": "create"}}}),
            ],
            false,
        );
        let s = summarize_stream(&plan);
        assert_eq!(s.drift, 1);
        assert_eq!(s.deferred[0].address, "terraform_data.y");
        assert!(s.incomplete() && !s.errored());
    }

    #[test]
    fn unknown_messages_and_values_never_panic() {
        let plan = StreamedPlan::new(
            [
                json!({"type": "planned_change"}),
                json!({"type": "planned_change", "change": {"action": 7}}),
                json!({"type": "outputs", "outputs": []}),
                json!({"type": "planned_action_invocation"}),
                json!({"type": "diagnostic"}),
            ],
            false,
        );
        let s = summarize_stream(&plan);
        assert_eq!(s.resources.len(), 2);
        assert!(s.resources.iter().all(|r| r.action == Action::Unknown));
    }
}
