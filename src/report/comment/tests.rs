//! Snapshot, size-limit and escaping tests of the comment text.

use super::*;
use crate::report::STATUS_DESCRIPTION_MAX;
use crate::report::markdown::outside_code;
use crate::terraform::summary::{
    Action, ActionInvocation, DeferredChange, OutputChange, PlanDiagnostic, ResourceChange, Trigger,
};

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
        applyable: true,
        ..PlanSummary::default()
    }
}

fn comment<'a>(summary: &'a PlanSummary, plan_text: &'a str, run_url: Option<&'a str>) -> PlanComment<'a> {
    PlanComment {
        environment: "staging",
        customer: &WEBSHOP,
        sha: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
        plan_sha256: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
        summary,
        plan_text,
        run_url,
        warnings: &[],
        file_changes: None,
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
        &owner("acme/webshop"),
        "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
        &errors,
        None
    ));
}

#[test]
fn failed_comment_snapshot() {
    insta::assert_snapshot!(failed_comment(
        "staging",
        &owner("acme/webshop"),
        "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
        "terraform init failed:\nError: Failed to query available provider packages",
        Some("https://github.com/provider/manager/actions/runs/42")
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
    assert!(body.starts_with(&marker(&owner("acme/webshop"), "staging")));
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

/// A plan of `creates` creates and `destroys` destroys, with the plan text Terraform would
/// print for it (about 200 characters a resource).
fn big_plan(creates: usize, destroys: usize) -> (PlanSummary, String) {
    let mut s = PlanSummary { applyable: true, ..PlanSummary::default() };
    for i in 0..destroys {
        s.resources.push(ResourceChange {
            reason: Some("not in configuration".into()),
            ..change(&format!("module.app.terraform_data.retired[{i}]"), Action::Delete)
        });
    }
    for i in 0..creates {
        s.resources.push(change(&format!("module.fleet.terraform_data.member[{i}]"), Action::Create));
    }
    (s.add, s.destroy) = (creates as u32, destroys as u32);
    let mut text = String::new();
    for r in &s.resources {
        text.push_str(&format!(
            "  # {} will be created\n  + resource \"terraform_data\" \"member\" {{\n      + id     = (known after apply)\n      + input  = \"x\"\n    }}\n\n",
            r.address
        ));
    }
    (s, text)
}

#[test]
fn five_thousand_resources_fit_with_the_destroy_list_intact() {
    let (s, text) = big_plan(5_000, 3);
    let body = plan_comment(&comment(&s, &text, Some("https://github.com/p/m/actions/runs/9")));
    let chars = body.chars().count();
    assert!(chars <= MAX_COMMENT_CHARS, "{chars}");
    for i in 0..3 {
        assert!(body.contains(&format!("| **destroy** | `module.app.terraform_data.retired[{i}]` |")), "destroy {i}");
    }
    let table_end = body.find("… and ").expect("the resources table is cut");
    let more = &body[table_end..body[table_end..].find('\n').map_or(body.len(), |n| table_end + n)];
    assert!(more.ends_with("more (see the [run](https://github.com/p/m/actions/runs/9))"), "{more}");
    let shown = body.matches("| create | `module.fleet.terraform_data.member[").count();
    let hidden: usize = more["… and ".len()..].split(' ').next().and_then(|n| n.parse().ok()).expect("a count");
    assert_eq!(shown + hidden, 5_000, "every create is shown or counted");
    assert!(body.contains("The plan output was truncated"));
    assert!(s.status_description().chars().count() <= STATUS_DESCRIPTION_MAX);
    assert_eq!(s.status_description(), "⚠ 3 to destroy · 5000 to add");
}

#[test]
fn a_destroy_list_too_long_for_any_comment_is_cut_loudly() {
    let (s, text) = big_plan(10, 5_000);
    let body = plan_comment(&comment(&s, &text, None));
    assert!(body.chars().count() <= MAX_COMMENT_CHARS);
    assert!(body.contains("#### ⚠️ Destroyed, replaced or forgotten"));
    assert!(body.contains("5000 destroyed"));
    assert!(body.contains("more (see the run)"));
    assert!(body.contains("| create | `module.fleet.terraform_data.member[0]` |") || body.contains("**Resources**"));
}

#[test]
fn every_section_at_its_worst_at_once_still_fits() {
    let long = "x".repeat(5_000);
    let (mut s, _) = big_plan(3_000, 3_000);
    s.errored = true;
    s.complete = false;
    s.diagnostics = vec![PlanDiagnostic { address: long.clone(), message: long.clone() }; 50];
    s.deferred =
        vec![DeferredChange { address: long.clone(), action: "create".into(), reason: "an unknown reason" }; 500];
    s.actions =
        vec![ActionInvocation { address: long.clone(), trigger: Trigger::Invoked { calling_resource: None } }; 500];
    s.drifted = vec![change(&long, Action::Update); 500];
    s.outputs = vec![OutputChange { name: long.clone(), action: Action::Create, value: long.clone() }; 500];
    for r in s.resources.iter_mut().step_by(2) {
        r.moved_from = Some(long.clone());
    }
    let text = "é".repeat(200_000);
    let mut diff = file_changes((&long, &long));
    diff.changed = vec![diff.changed[0].clone(); 500];
    let c = comment(&s, &text, Some("https://github.com/p/m/actions/runs/1"));
    let body = plan_comment(&PlanComment { file_changes: Some(&diff), ..c });
    assert!(body.chars().count() <= MAX_COMMENT_CHARS, "{}", body.chars().count());
    assert!(body.contains("Planning failed"));
    assert!(body.trim_end().ends_with("</sub>"));
}

#[test]
fn an_errored_plan_is_a_failure_with_terraforms_diagnostics() {
    let s = PlanSummary {
        errored: true,
        complete: false,
        add: 1,
        resources: vec![change("terraform_data.network", Action::Create)],
        diagnostics: vec![PlanDiagnostic {
            address: "terraform_data.cluster".into(),
            message: "The cluster needs the network 10.1.0.0/16, not 10.0.0.0/16.".into(),
        }],
        ..PlanSummary::default()
    };
    let body = plan_comment(&comment(&s, "Planning failed.\n", None));
    assert!(body.contains("### ❌ Terraform plan for `staging`: Planning failed"), "{body}");
    assert!(!body.contains("No changes"));
    assert!(!body.contains("Apply runs exactly this plan"));
    assert!(
        body.contains("Error: terraform_data.cluster: The cluster needs the network 10.1.0.0/16, not 10.0.0.0/16.")
    );
    insta::assert_snapshot!(body);
}

/// Strings a customer could put in a value, a key, a for_each key, a failure message.
/// Each carries `PWNED`, which must never reach the rendered (non-code) Markdown.
const HOSTILE: &[&str] = &[
    "PWNED\n## heading",
    "x\n\n# PWNED heading",
    "![PWNED](https://evil.example/x.png)",
    "[PWNED](https://evil.example)",
    "<img src=x onerror=alert('PWNED')>",
    "<details open>PWNED</details>",
    "</details>PWNED",
    "@PWNED-org/everyone",
    "https://PWNED.example/",
    "www.PWNED.example",
    "`PWNED`",
    "``` PWNED ```",
    "a\n```\nPWNED\n```",
    "~~~\nPWNED\n~~~",
    "| PWNED | cell |",
    "\\| PWNED \\|",
    "x\r# PWNED",
    "x\u{2028}# PWNED",
    "\u{1b}[31mPWNED\u{1b}[0m",
    "\u{202e}DENWP PWNED",
    "<!-- infra-manager:plan:production --> PWNED",
    "PWNED :+1: #1 GH-1",
    "    indented PWNED",
    "> [!CAUTION]\n> PWNED",
    "- [x] PWNED",
];

fn assert_contained(body: &str, what: &str) {
    let seen = outside_code(body);
    assert!(!seen.contains("PWNED"), "{what}: customer text renders outside code:\n{seen}\n---\n{body}");
    assert_eq!(body.matches("<!--").count(), 1, "{what}: a second marker\n{body}");
}

#[test]
fn hostile_text_never_renders_outside_code() {
    for hostile in HOSTILE {
        let s = PlanSummary {
            resources: vec![
                change(&format!("terraform_data.x[\"{hostile}\"]"), Action::Delete),
                ResourceChange {
                    moved_from: Some(hostile.to_string()),
                    ..change(&format!("terraform_data.y[\"{hostile}\"]"), Action::Update)
                },
            ],
            outputs: vec![OutputChange {
                name: hostile.to_string(),
                action: Action::Create,
                value: hostile.to_string(),
            }],
            deferred: vec![DeferredChange { address: hostile.to_string(), action: hostile.to_string(), reason: "r" }],
            actions: vec![ActionInvocation {
                address: hostile.to_string(),
                trigger: Trigger::Lifecycle { event: hostile.to_string(), resource: hostile.to_string() },
            }],
            drifted: vec![change(hostile, Action::Update)],
            diagnostics: vec![PlanDiagnostic { address: hostile.to_string(), message: hostile.to_string() }],
            errored: true,
            ..PlanSummary::default()
        };
        let mut diff = file_changes((hostile, hostile));
        diff.project = Some(crate::file_diff::Renamed { old: hostile.to_string(), new: hostile.to_string() });
        diff.changed[0].inputs[3].new = Some(serde_json::json!({ *hostile: hostile }));
        let c = PlanComment { plan_text: hostile, file_changes: Some(&diff), ..comment(&s, "", None) };
        assert_contained(&plan_comment(&c), &format!("plan comment with {hostile:?}"));
        let errors = vec![Diagnostic {
            file: hostile.to_string(),
            line: 1,
            column: 1,
            message: hostile.to_string(),
            hint: Some(hostile.to_string()),
        }];
        assert_contained(
            &invalid_comment("staging", &owner("acme/webshop"), "1a2b3c4", &errors, None),
            "invalid comment",
        );
        assert_contained(
            &failed_comment("staging", &owner("acme/webshop"), "1a2b3c4", hostile, None),
            "failed comment",
        );
    }
}

#[test]
fn hostile_failure_comment_snapshot() {
    let text = "can't read `infra/variables.yml`: value `x\n## Owned\n![img](https://evil.example/x.png)` \
                is not allowed\n<!-- infra-manager:plan:production -->\n```\n@org/team";
    insta::assert_snapshot!(failed_comment("staging", &owner("acme/webshop"), "1a2b3c4", text, None));
}

#[test]
fn destroy_and_expiry_warnings_come_first_and_loud() {
    let s = PlanSummary { destroy: 8, ..summary() };
    let warnings = [
        Warning::Destroy,
        Warning::expiry("2026-12-05T00:00:00Z".parse().expect("time"), "2026-12-02T12:00:00Z".parse().expect("time"))
            .expect("within a week"),
    ];
    let body = plan_comment(&PlanComment { warnings: &warnings, ..comment(&s, "", None) });
    insta::assert_snapshot!(body.lines().take(9).collect::<Vec<_>>().join("\n"));
    let now: jiff::Timestamp = "2026-12-02T00:00:00Z".parse().expect("time");
    assert_eq!(Warning::expiry("2026-12-09T00:00:01Z".parse().expect("time"), now), None, "more than 7 days");
    assert_eq!(
        Warning::expiry("2026-12-01T00:00:00Z".parse().expect("time"), now),
        Some(Warning::Expires { at: "2026-12-01T00:00:00Z".into(), days: 0 }),
        "already expired"
    );
}

/// Issue 12: a v2 plan names each component it destroys resources of, the removed ones first
/// and loudest; creates, updates and v1's `module.app` never count.
#[test]
fn component_destroys_are_counted_per_component_removed_first() {
    let s = PlanSummary {
        resources: vec![
            change("module.web.terraform_data.vpc", Action::Replace),
            change("module.web.terraform_data.asg", Action::Update),
            change("module.uploads.terraform_data.bucket", Action::Delete),
            change("module.uploads.terraform_data.policy[\"read\"]", Action::Delete),
            change("module.uploads.terraform_data.lifecycle", Action::Delete),
            change("module.uploads.terraform_data.versioning", Action::Delete),
            change("module.jobs.terraform_data.queue", Action::Create),
        ],
        ..summary()
    };
    let components = ["web".to_owned(), "jobs".to_owned()];
    let warnings = Warning::component_destroys(&s, &components);
    assert_eq!(
        warnings,
        [
            Warning::ComponentDestroys { component: "uploads".into(), destroys: 4, removed: true },
            Warning::ComponentDestroys { component: "web".into(), destroys: 1, removed: false },
        ]
    );
    let body = plan_comment(&PlanComment { warnings: &warnings, ..comment(&s, "", None) });
    insta::assert_snapshot!(body.lines().take(8).collect::<Vec<_>>().join("\n"));
}

/// Issue 12 item 6: the sticky comment once its plan is applied: counts, health, and the
/// outputs as code spans (a value can't break out of its cell or the table).
#[test]
fn applied_comment_snapshot() {
    let outputs: std::collections::BTreeMap<String, serde_json::Value> = [
        ("web_vpc_id".to_owned(), serde_json::json!("vpc-0a1b2c3d")),
        ("uploads_bucket_name".to_owned(), serde_json::json!("shop-uploads-staging")),
        ("web_subnet_ids".to_owned(), serde_json::json!(["subnet-1", "subnet-2"])),
        ("hostile".to_owned(), serde_json::json!("x` | <img src=x> |\n## y")),
    ]
    .into();
    let body = applied_comment(&AppliedComment {
        environment: "staging",
        customer: &WEBSHOP,
        sha: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
        plan_sha256: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
        counts: (12, 0, 0),
        health: Some("healthy (HTTP 200 after 3 polls, 4.2 s)".to_owned()),
        outputs: &outputs,
        reviewed: None,
        run_url: Some("https://github.com/provider/manager/actions/runs/1"),
        approved_by: None,
    });
    assert_contained(&body, "<img src=x>");
    insta::assert_snapshot!(body);
}

/// A customer's marker is one per environment; a tenant's names it too, since tenants share
/// a manager pull request.
#[test]
fn a_tenants_marker_names_the_tenant() {
    assert_eq!(marker(&owner("acme/webshop"), "staging"), "<!-- infra-manager:plan:staging -->");
    assert_eq!(marker(&owner("tenants-inc/web"), "staging"), "<!-- infra-manager:plan:staging -->");
    assert_eq!(
        marker(
            &crate::identity::Owner::Tenant(crate::identity::TenantName::parse("alice-xero").expect("name")),
            "staging"
        ),
        "<!-- infra-manager:plan:staging:tenants/alice-xero -->"
    );
}

/// The customer of the comments shown here.
static WEBSHOP: std::sync::LazyLock<crate::identity::Owner> = std::sync::LazyLock::new(|| owner("acme/webshop"));

/// A customer owner, as the flows name one.
fn owner(repo: &str) -> crate::identity::Owner {
    crate::identity::Owner::Customer(crate::identity::RepoId::parse(repo).expect("valid"))
}

/// Issue 19: a customer repository whose owner is `tenants` is a customer: its marker is
/// a customer's, whatever its name.
#[test]
fn a_customer_named_like_a_tenant_has_a_customer_s_marker() {
    assert_eq!(marker(&owner("tenants/alice-xero"), "staging"), "<!-- infra-manager:plan:staging -->");
}

/// Issue 24 item 4: a v2 plan's changes to the file, in the customer's terms.
fn file_changes(values: (&str, &str)) -> crate::file_diff::FileDiff {
    use crate::file_diff::{ComponentChange, ComponentRef, FileDiff, InputChange};
    let reference = |name: &str, ty: &str| ComponentRef { name: name.into(), type_name: Some(ty.into()) };
    let input = |name: &str, old: Option<serde_json::Value>, new: Option<serde_json::Value>| InputChange {
        input: name.into(),
        old,
        new,
        sensitive: false,
    };
    FileDiff {
        since: Some("9f8e7d6c5b4a39281706f5e4d3c2b1a098765432".into()),
        added: vec![reference("jobs", "queue")],
        removed: vec![reference("uploads", "bucket")],
        changed: vec![ComponentChange {
            component: reference("web", "app-environment"),
            inputs: vec![
                input("instance_type", Some(values.0.into()), Some(values.1.into())),
                input("max_instances", Some(2.into()), Some(3.into())),
                InputChange { input: "password".into(), old: None, new: None, sensitive: true },
                input("tags", None, Some(serde_json::json!({"team": "web"}))),
            ],
        }],
        ..FileDiff::default()
    }
}

/// A plan of components `web`, `uploads` and `jobs`, as a v2 root plans them.
fn components_summary() -> PlanSummary {
    PlanSummary {
        add: 2,
        change: 1,
        destroy: 1,
        resources: vec![
            change("module.jobs.terraform_data.queue", Action::Create),
            change("module.uploads.terraform_data.bucket", Action::Delete),
            change("module.web.terraform_data.autoscaling_group", Action::Update),
            change("module.web.terraform_data.launch_template", Action::Create),
        ],
        applyable: true,
        ..PlanSummary::default()
    }
}

#[test]
fn a_changed_input_is_shown_old_to_new_under_its_component_above_the_grouped_resources() {
    let s = components_summary();
    let diff = file_changes(("t3.micro", "t3.small"));
    let body = plan_comment(&PlanComment { file_changes: Some(&diff), ..comment(&s, "(plan text)", None) });
    let at = |text: &str| body.find(text).unwrap_or_else(|| panic!("{text:?} missing:\n{body}"));
    assert!(at("**Component `web` (`app-environment`)**") < at("- `max_instances`: `2` → `3`"));
    assert!(at("What changed in `infra/variables.yml`") < at("Destroyed, replaced or forgotten"));
    assert!(at("\nComponent `jobs`\n") < at("\nComponent `web`\n"), "in Terraform's order");
    insta::assert_snapshot!(body);
}

#[test]
fn a_first_apply_says_every_component_is_new() {
    use crate::file_diff::{ComponentRef, FileDiff};
    let diff = FileDiff {
        first_apply: true,
        added: ["web", "uploads"].map(|name| ComponentRef { name: name.into(), type_name: Some("t".into()) }).into(),
        ..FileDiff::default()
    };
    let s = components_summary();
    let body = plan_comment(&PlanComment { file_changes: Some(&diff), ..comment(&s, "", None) });
    let section: String = body.lines().skip_while(|l| !l.starts_with("#### 📄")).take(6).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(section);
}

/// A tenant's file is named as the tenant's; an unchanged file and one that can't be read
/// again each say so in one line.
#[test]
fn an_unchanged_or_unreadable_file_says_so_in_one_line() {
    use crate::file_diff::FileDiff;
    let tenant = crate::identity::Owner::Tenant(crate::identity::TenantName::parse("alice-xero").expect("name"));
    let s = components_summary();
    let section = |diff: &FileDiff| {
        let body = plan_comment(&PlanComment { file_changes: Some(diff), customer: &tenant, ..comment(&s, "", None) });
        body.lines().skip_while(|l| !l.starts_with("#### 📄")).take(3).collect::<Vec<_>>().join("\n")
    };
    let same = FileDiff { since: Some("1a2b3c4d5e".into()), ..FileDiff::default() };
    assert_eq!(
        section(&same),
        "#### 📄 What changed in `tenants/alice-xero.yml` for `staging`\n\nNothing: the file is as last applied (commit `1a2b3c4`)."
    );
    let why = "`tenants/alice-xero.yml` not found";
    let gone = FileDiff::unavailable("1a2b3c4d5e", why.into());
    let line =
        format!("The configuration last applied (commit `1a2b3c4`) can't be compared with this one: {}", code(why));
    assert_eq!(section(&gone).lines().nth(2), Some(line.as_str()));
}

/// Hundreds of changed inputs end with a count, and the comment keeps its other sections.
#[test]
fn a_huge_file_change_is_cut_with_a_count() {
    use crate::file_diff::InputChange;
    let mut diff = file_changes(("a", "b"));
    diff.changed[0].inputs = (0..2_000)
        .map(|i| InputChange {
            input: format!("input_{i:04}"),
            old: Some("x".repeat(300).into()),
            new: Some(i.into()),
            sensitive: false,
        })
        .collect();
    let s = components_summary();
    let body = plan_comment(&PlanComment { file_changes: Some(&diff), ..comment(&s, "", None) });
    let shown = body.matches("- `input_").count();
    let more = body.lines().find(|l| l.starts_with("- … and ")).expect("a count line");
    let hidden: usize = more["- … and ".len()..].split(' ').next().and_then(|n| n.parse().ok()).expect("a count");
    assert_eq!(shown + hidden, 2_000, "every change is shown or counted: {more}");
    assert!(body.contains(&format!("`{}…`", "x".repeat(199))), "a long value is cut");
    assert!(body.contains("Component `web`") && body.contains("Full plan"), "the other sections stay");
    assert!(body.chars().count() <= MAX_COMMENT_CHARS);
}

/// Cut anywhere, the grouped resources table counts every row it leaves out and never
/// shows a component's title without one of its rows.
#[test]
fn a_cut_grouped_table_counts_every_row_and_shows_no_empty_group() {
    let rows = |c: &str| (0..3).map(|i| format!("| create | `module.{c}.x[{i}]` |")).collect::<Vec<_>>();
    let (a, b) = (rows("a"), rows("b"));
    let groups = [(Some("Component `a`".to_owned()), a.as_slice()), (Some("Component `b`".to_owned()), b.as_slice())];
    let header = "| Action | Address |\n| --- | --- |";
    let whole = sections::grouped("**Resources**", header, &groups, 10_000, None);
    assert!(!whole.contains("more"), "{whole}");
    for budget in 0..=whole.chars().count() {
        let out = sections::grouped("**Resources**", header, &groups, budget, None);
        let shown = out.matches("| create |").count();
        let counted = out
            .lines()
            .find_map(|l| l.strip_prefix("… and "))
            .and_then(|rest| rest.split(' ').next()?.parse::<usize>().ok())
            .unwrap_or(0);
        assert_eq!(shown + counted, 6, "budget {budget}:\n{out}");
        for c in ["a", "b"] {
            if out.contains(&format!("Component `{c}`")) {
                assert!(out.contains(&format!("`module.{c}.x[0]`")), "budget {budget}: an empty group\n{out}");
            }
        }
        if shown > 0 {
            assert!(out.chars().count() <= budget, "budget {budget}: {}\n{out}", out.chars().count());
        }
    }
}
