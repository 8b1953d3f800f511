//! Snapshot and limit tests of the comment text.

use super::*;
use crate::terraform::summary::{Action, OutputChange, ResourceChange};

fn change(address: &str, action: Action) -> ResourceChange {
    ResourceChange { address: address.into(), action, moved_from: None, importing: false, deposed: None, reason: None }
}

fn summary() -> PlanSummary {
    PlanSummary {
        add: 2,
        change: 1,
        destroy: 1,
        replace: 1,
        resources: vec![
            change("module.app.terraform_data.vpc", Action::Replace),
            change("module.app.terraform_data.subnet[1]", Action::Create),
            change("module.app.terraform_data.asg", Action::Update),
        ],
        outputs: vec![
            OutputChange { name: "vpc_id".into(), action: Action::Update, value: "(known after apply)".into() },
            OutputChange { name: "token".into(), action: Action::Create, value: "(sensitive)".into() },
            OutputChange { name: "name_prefix".into(), action: Action::NoOp, value: "\"shop-staging\"".into() },
        ],
        ..PlanSummary::default()
    }
}

fn comment<'a>(summary: &'a PlanSummary, plan_text: &'a str, run_url: Option<&'a str>) -> PlanComment<'a> {
    PlanComment {
        environment: "staging",
        customer: "acme/webshop",
        sha: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
        plan_sha256: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
        summary,
        plan_text,
        run_url,
    }
}

#[test]
fn plan_comment_snapshot() {
    let s = summary();
    let text = "Terraform will perform the following actions:\n\n  # module.app.terraform_data.vpc must be replaced\n";
    insta::assert_snapshot!(plan_comment(&comment(
        &s,
        text,
        Some("https://github.com/provider/manager/actions/runs/42")
    )));
}

#[test]
fn no_changes_comment_snapshot() {
    let s = PlanSummary::default();
    insta::assert_snapshot!(plan_comment(&comment(
        &s,
        "No changes. Your infrastructure matches the configuration.\n",
        None
    )));
}

#[test]
fn invalid_comment_snapshot() {
    let errors = vec![
        Diagnostic {
            file: "infra/variables.yml".into(),
            line: 1,
            column: 15,
            message: "`project_name` `Bad_Name` is not a DNS label".into(),
            hint: Some("use 1 to 63 lowercase letters".into()),
        },
        Diagnostic {
            file: "infra/variables.yml".into(),
            line: 3,
            column: 1,
            message: "unknown key `<script>`".into(),
            hint: None,
        },
    ];
    insta::assert_snapshot!(invalid_comment(
        "staging",
        "acme/webshop",
        "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
        &errors,
        None
    ));
}

#[test]
fn a_huge_plan_is_cut_to_the_limit_with_a_pointer_to_the_run() {
    let s = summary();
    let line = "  + resource \"terraform_data\" \"x\" { input = \"0123456789012345678901234567890123456789\" }\n";
    let plan: String = line.repeat(70_000 / line.len() + 1);
    assert!(plan.chars().count() > 70_000);
    let body = plan_comment(&comment(&s, &plan, Some("https://github.com/p/m/actions/runs/7")));
    let chars = body.chars().count();
    assert!(chars <= MAX_COMMENT_CHARS, "{chars}");
    assert!(chars > MAX_COMMENT_CHARS - 3_000, "cut far more than needed: {chars}");
    assert!(body.starts_with(&marker("staging")));
    assert!(body.contains("The plan output was truncated"), "no note");
    assert!(body.contains("[workflow run](https://github.com/p/m/actions/runs/7)"));
    assert!(body.trim_end().ends_with("</sub>"), "footer kept");
}

#[test]
fn multibyte_plans_are_cut_on_character_boundaries() {
    let s = summary();
    let plan = "é—😀\n".repeat(30_000);
    let body = plan_comment(&comment(&s, &plan, None));
    assert!(body.chars().count() <= MAX_COMMENT_CHARS);
}

#[test]
fn a_plan_that_fits_is_not_cut() {
    let s = summary();
    let plan = "x\n".repeat(10_000);
    let body = plan_comment(&comment(&s, &plan, None));
    assert!(!body.contains("truncated"));
    assert!(body.contains(&plan));
}

#[test]
fn plan_text_cannot_close_the_code_fence() {
    let s = summary();
    let body = plan_comment(&comment(&s, "evil ```` </details> text", None));
    assert!(body.contains("`````text\n"), "{body}");
}
