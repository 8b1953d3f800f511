//! Table-driven tests of counting, ordering, wording and sensitivity, on small hand-written
//! documents in Terraform's JSON plan format (the recorded fixtures are in
//! `tests/it/plan_summary.rs`).

use super::*;
use serde_json::json;

fn rc(address: &str, actions: &[&str]) -> Value {
    json!({"address": address, "mode": "managed", "change": {"actions": actions}})
}

#[test]
fn replacements_count_as_one_add_and_one_destroy() {
    let plan = json!({"resource_changes": [
        rc("a.x", &["delete", "create"]),
        rc("a.y", &["no-op"]),
        {"address": "data.a.z", "mode": "data", "change": {"actions": ["read"]}},
        rc("a.w", &["update"])
    ]});
    let s = summarize(&plan);
    assert_eq!((s.add, s.change, s.destroy, s.replace, s.read), (1, 1, 1, 1, 1));
    assert_eq!(s.resources.iter().map(|r| r.address.as_str()).collect::<Vec<_>>(), ["a.x", "data.a.z", "a.w"]);
    assert_eq!(s.headline(), "Plan: 1 to add, 1 to change, 1 to destroy");
}

/// (add, change, destroy, forget).
type Counts = (u32, u32, u32, u32);

/// Each row: the `actions` list, then its counts, then the headline.
#[test]
fn every_action_list_is_counted_by_terraforms_rule() {
    let cases: &[(&[&str], Counts, &str)] = &[
        (&["create"], (1, 0, 0, 0), "Plan: 1 to add, 0 to change, 0 to destroy"),
        (&["update"], (0, 1, 0, 0), "Plan: 0 to add, 1 to change, 0 to destroy"),
        (&["delete"], (0, 0, 1, 0), "Plan: 0 to add, 0 to change, 1 to destroy"),
        (&["delete", "create"], (1, 0, 1, 0), "Plan: 1 to add, 0 to change, 1 to destroy"),
        (&["create", "delete"], (1, 0, 1, 0), "Plan: 1 to add, 0 to change, 1 to destroy"),
        (&["forget"], (0, 0, 0, 1), "Plan: 0 to add, 0 to change, 0 to destroy, 1 to forget"),
        (&["create", "forget"], (1, 0, 0, 1), "Plan: 1 to add, 0 to change, 0 to destroy, 1 to forget"),
        (&["read"], (0, 0, 0, 0), "Plan: 0 to add, 0 to change, 0 to destroy"),
        (&["no-op"], (0, 0, 0, 0), "No changes"),
    ];
    for (actions, counts, headline) in cases {
        let s = summarize(&json!({"resource_changes": [rc("terraform_data.x", actions)]}));
        assert_eq!((s.add, s.change, s.destroy, s.forget), *counts, "{actions:?}");
        assert_eq!(s.headline(), *headline, "{actions:?}");
        assert_eq!(s.has_changes(), actions != &["no-op"], "{actions:?}");
    }
}

#[test]
fn a_move_alone_is_a_change_shown_old_to_new() {
    let plan = json!({"resource_changes": [
        {"address": "terraform_data.b", "previous_address": "terraform_data.a", "change": {"actions": ["no-op"]}},
        {"address": "terraform_data.c", "previous_address": "terraform_data.c", "change": {"actions": ["no-op"]}}
    ]});
    let s = summarize(&plan);
    assert!(s.has_changes());
    assert_eq!(s.moved, 1);
    assert_eq!(s.resources.len(), 1, "a previous_address equal to the address is no move");
    assert_eq!(s.resources[0].moved_from.as_deref(), Some("terraform_data.a"));
    assert_eq!(s.resources[0].label(), "move");
    assert_eq!(s.headline(), "Plan: 0 to add, 0 to change, 0 to destroy, 1 to move");
    assert_eq!(s.status_description(), "1 to move");
}

#[test]
fn imports_count_whatever_else_happens_to_the_object() {
    let importing = |address: &str, actions: &[&str]| json!({"address": address, "change": {"actions": actions, "importing": {"id": "abc"}}});
    let plan = json!({"resource_changes": [
        importing("terraform_data.a", &["no-op"]),
        importing("terraform_data.b", &["update"]),
        rc("terraform_data.c", &["create"])
    ]});
    let s = summarize(&plan);
    assert_eq!((s.import, s.add, s.change), (2, 1, 1));
    assert_eq!(s.headline(), "Plan: 2 to import, 1 to add, 1 to change, 0 to destroy");
    let labels: Vec<String> = s.resources.iter().map(ResourceChange::label).collect();
    assert_eq!(labels, ["import", "import, update", "create"]);
}

#[test]
fn destructive_changes_come_first_in_terraforms_order() {
    let plan = json!({"resource_changes": [
        rc("a.create", &["create"]),
        rc("b.forget", &["forget"]),
        rc("c.update", &["update"]),
        rc("d.delete", &["delete"]),
        rc("e.replace", &["create", "delete"])
    ]});
    let s = summarize(&plan);
    let order: Vec<&str> = s.resources.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(order, ["b.forget", "d.delete", "e.replace", "a.create", "c.update"]);
    assert_eq!(s.destructive().count(), 3);
    assert_eq!(s.status_description(), "⚠ 2 to destroy, 1 to forget · 2 to add, 1 to change");
}

#[test]
fn the_issues_example_reads_like_terraform() {
    let plan = json!({"resource_changes": [
        {"address": "a.imported", "change": {"actions": ["no-op"], "importing": {"id": "x"}}},
        rc("a.one", &["create"]),
        rc("a.two", &["create"]),
        rc("a.gone", &["delete"]),
        rc("a.kept", &["forget"])
    ]});
    let s = summarize(&plan);
    assert_eq!(s.headline(), "Plan: 1 to import, 2 to add, 0 to change, 1 to destroy, 1 to forget");
    assert_eq!(s.status_description(), "⚠ 1 to destroy, 1 to forget · 1 to import, 2 to add");
}

#[test]
fn action_invocations_are_changes() {
    let plan = json!({"action_invocations": [
        {"address": "action.bufo_print.success", "type": "bufo_print", "config_values": {"name": "secret"},
         "config_sensitive": {"name": true}, "invoke_action_trigger": {}},
        {"address": "action.notify.after", "lifecycle_action_trigger": {
            "triggering_resource_address": "terraform_data.web", "action_trigger_event": "AfterCreate",
            "action_trigger_block_index": 0, "actions_list_index": 0}}
    ]});
    let s = summarize(&plan);
    assert!(s.has_changes());
    assert_eq!(s.invoke, 2);
    assert_eq!(s.headline(), "Plan: 0 to add, 0 to change, 0 to destroy. Actions: 2 to invoke");
    assert_eq!(s.actions[0].trigger, Trigger::Invoked { calling_resource: None });
    assert_eq!(
        s.actions[1].trigger,
        Trigger::Lifecycle { event: "AfterCreate".into(), resource: "terraform_data.web".into() }
    );
    let text = serde_json::to_string(&s).expect("json");
    assert!(!text.contains("secret"), "action configuration values are never read");
}

#[test]
fn deferred_changes_say_why_and_make_the_plan_incomplete() {
    let plan = json!({"complete": false, "applyable": true, "deferred_changes": [
        {"reason": "instance_count_unknown", "resource_change": rc("terraform_data.many[\"*\"]", &["create"])},
        {"reason": "something_new", "resource_change": rc("terraform_data.other", &["update"])}
    ], "deferred_action_invocations": [
        {"reason": "deferred_prereq", "action_invocation": {"address": "action.a.b"}}
    ]});
    let s = summarize(&plan);
    assert!(s.incomplete());
    assert!(!s.errored());
    let reasons: Vec<(&str, &str)> = s.deferred.iter().map(|d| (d.action.as_str(), d.reason)).collect();
    assert_eq!(
        reasons,
        [
            ("create", "the number of resource instances is unknown"),
            ("update", "an unknown reason"),
            ("invoke", "a prerequisite for this resource is deferred")
        ]
    );
    assert_eq!(s.headline(), "No current changes; 3 deferred");
    assert_eq!(s.status_description(), "3 deferred");
}

#[test]
fn errored_plans_never_read_no_changes() {
    let plan = json!({"errored": true, "complete": false, "applyable": false, "checks": [
        {"address": {"to_display": "terraform_data.bad"}, "status": "fail", "instances": [
            {"address": {"to_display": "terraform_data.bad"}, "status": "fail",
             "problems": [{"message": "The ok resource must be \"other\"."}]}
        ]},
        {"address": {"to_display": "check.fine"}, "status": "pass", "instances": [
            {"address": {"to_display": "check.fine"}, "status": "pass"}
        ]}
    ]});
    let s = summarize(&plan);
    assert!(s.errored() && s.incomplete());
    assert_eq!(s.headline(), "Planning failed");
    assert_eq!(s.status_description(), "Planning failed");
    assert_eq!(
        s.diagnostics,
        [PlanDiagnostic { address: "terraform_data.bad".into(), message: "The ok resource must be \"other\".".into() }]
    );
    let with_changes = summarize(&json!({"errored": true, "resource_changes": [rc("a.b", &["delete"])]}));
    assert_eq!(with_changes.status_description(), "Planning failed · ⚠ 1 to destroy");
}

#[test]
fn drift_is_read_and_counts_as_a_change_only_when_terraform_would_apply_it() {
    let drift = json!([
        rc("terraform_data.changed", &["update"]),
        rc("terraform_data.deleted", &["delete"]),
        {"address": "terraform_data.b", "previous_address": "terraform_data.a", "change": {"actions": ["no-op"]}}
    ]);
    let refresh_only = summarize(&json!({"applyable": true, "resource_drift": drift}));
    assert_eq!(refresh_only.drift, 3);
    assert!(refresh_only.has_changes());
    assert_eq!(refresh_only.headline(), "3 changed outside of Terraform");
    assert_eq!(refresh_only.drifted[2].moved_from.as_deref(), Some("terraform_data.a"));
    let not_applyable = summarize(&json!({"applyable": false, "resource_drift": drift}));
    assert!(!not_applyable.has_changes());
    assert_eq!(not_applyable.status_description(), "3 changed outside of Terraform");
    let with_changes =
        summarize(&json!({"resource_drift": drift, "resource_changes": [rc("terraform_data.changed", &["update"])]}));
    assert_eq!(with_changes.headline(), "Plan: 0 to add, 1 to change, 0 to destroy; 3 changed outside of Terraform");
}

#[test]
fn data_source_deletes_are_never_shown() {
    let plan =
        json!({"resource_changes": [{"address": "data.x.y", "mode": "data", "change": {"actions": ["delete"]}}]});
    let s = summarize(&plan);
    assert!(!s.has_changes());
    assert_eq!(s.headline(), "No changes");
}

#[test]
fn unknown_action_lists_are_shown_loudly_not_dropped() {
    let s = summarize(&json!({"resource_changes": [rc("a.b", &["delete", "create", "forget"])]}));
    assert!(s.has_changes());
    assert!(s.is_destructive());
    assert_eq!(s.resources[0].action, Action::Unknown);
    assert_eq!(s.status_description(), "⚠ 1 unknown");
}

#[test]
fn nested_sensitive_and_unknown_values_are_masked() {
    let plan = json!({"output_changes": {
        "a": {"actions": ["create"], "after": {"k": "secret"}, "after_sensitive": {"k": true}, "after_unknown": false},
        "b": {"actions": ["create"], "after": null, "after_sensitive": false, "after_unknown": true},
        "c": {"actions": ["no-op"], "after": [1, 2], "after_sensitive": false, "after_unknown": false},
        "d": {"actions": ["update"], "before": "old-secret", "after": "new", "before_sensitive": true, "after_sensitive": false}
    }});
    let s = summarize(&plan);
    let values: Vec<&str> = s.outputs.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(values, ["(sensitive)", "(known after apply)", "[1,2]", "(sensitive)"]);
    assert!(s.has_changes());
    assert_eq!(s.headline(), "Only output values change");
}

/// Format 0.1 (Terraform 0.12) has no `after_sensitive`: only the output's `sensitive` flag
/// elsewhere in the document marks it.
#[test]
fn format_0_1_sensitive_outputs_are_masked_by_any_mark() {
    for marked in [
        json!({"planned_values": {"outputs": {"token": {"sensitive": true, "value": "s3cr3t"}}}}),
        json!({"prior_state": {"values": {"outputs": {"token": {"sensitive": true, "value": "s3cr3t"}}}}}),
        json!({"configuration": {"root_module": {"outputs": {"token": {"sensitive": true}}}}}),
    ] {
        let mut plan = json!({"format_version": "0.1", "output_changes": {
            "token": {"actions": ["create"], "before": null, "after": "s3cr3t", "after_unknown": false}
        }});
        for (key, value) in marked.as_object().expect("object") {
            plan[key] = value.clone();
        }
        let s = summarize(&plan);
        assert_eq!(s.outputs[0].value, "(sensitive)", "{plan}");
        assert!(!serde_json::to_string(&s).expect("json").contains("s3cr3t"));
    }
}

#[test]
fn status_descriptions_stay_within_githubs_limit() {
    let mut s =
        PlanSummary { add: u32::MAX, change: u32::MAX, destroy: u32::MAX, forget: u32::MAX, ..Default::default() };
    (s.import, s.moved, s.read, s.invoke, s.drift, s.errored) = (u32::MAX, u32::MAX, u32::MAX, u32::MAX, 9, true);
    s.deferred = vec![DeferredChange { address: "x".into(), action: "create".into(), reason: "r" }; 3];
    let text = s.status_description();
    assert!(text.chars().count() <= crate::report::STATUS_DESCRIPTION_MAX, "{text}");
    assert!(text.starts_with("Planning failed · ⚠ 4294967295 to destroy, 4294967295 to forget · "), "{text}");
}

#[test]
fn documents_of_any_shape_never_panic() {
    for doc in [
        json!(null),
        json!([]),
        json!("plan"),
        json!({"resource_changes": "x", "output_changes": [], "resource_drift": {}, "deferred_changes": 3}),
        json!({"resource_changes": [null, 1, {"change": null}, {"address": 7, "change": {"actions": "create"}}]}),
        json!({"action_invocations": [null, {"lifecycle_action_trigger": {}}], "checks": [{"instances": [{}]}]}),
        json!({"deferred_changes": [{}], "deferred_action_invocations": [{}]}),
    ] {
        let s = summarize(&doc);
        let _ = (s.headline(), s.status_description(), s.has_changes());
    }
}
