//! The pages of a small fixed fleet (snapshots), and hostile values in every place a
//! customer or a backend can put text: shown, never parsed.

use super::*;
use crate::identity::{EnvName, Owner, RepoId, Target, TenantName};
use crate::overview::{Facts, row};
use crate::store::s3::LockInfo;
use crate::store::{HealthState, RunKind, RunRecord, RunStatus};

const NOW: &str = "2026-12-07T12:00:00Z";
const HOSTILE: &str = "\"><img src=x onerror=alert(1)><script>alert(2)</script></style>\u{202e}";

fn now() -> jiff::Timestamp {
    NOW.parse().expect("time")
}

fn customer(repo: &str, env: &str) -> Target {
    Target { owner: Owner::Customer(RepoId::parse(repo).expect("repo")), env: EnvName::parse(env).expect("env") }
}

fn run(target: &Target, kind: RunKind, status: RunStatus, sha: &str, hour: u8) -> RunRecord {
    let at = format!("2026-12-07T{hour:02}:00:00Z");
    RunRecord {
        run_id: format!("{at}#{kind:?}"),
        customer: target.owner.key(),
        environment: target.env.to_string(),
        sha: sha.repeat(40),
        started_at: at,
        finished_at: Some(format!("2026-12-07T{hour:02}:01:00Z")),
        run_url: Some(format!("https://github.com/provider/manager/actions/runs/{hour}")),
        add: Some(1),
        change: Some(0),
        destroy: Some(0),
        ..RunRecord::empty(kind, status)
    }
}

fn applied(target: &Target, sha: &str, hour: u8) -> Vec<RunRecord> {
    let apply = RunRecord {
        health: Some(HealthState::Healthy),
        outputs: Some(r#"{"url":"https://web.example.com"}"#.into()),
        ..run(target, RunKind::Apply, RunStatus::Succeeded, sha, hour + 1)
    };
    vec![apply, run(target, RunKind::Plan, RunStatus::Succeeded, sha, hour)]
}

fn read(target: Target, records: Vec<RunRecord>, lock: Option<&LockInfo>) -> TargetRead {
    let row = row(&Facts {
        target: &target,
        expires_at: None,
        approval: None,
        records: &records,
        latest_plan: None,
        lock,
        requests: &[],
        now: now(),
    });
    TargetRead { target, row, records }
}

/// Four targets in the fleet's order: in sync, failing (a hostile error, and a run URL
/// that is no link), drifted, and a tenant locked by a hostile holder.
fn fleet() -> Vec<TargetRead> {
    let web = customer("acme/web", "staging");
    let shop = customer("acme/shop", "production");
    let mut failing = vec![RunRecord {
        message: Some(format!("`terraform apply` failed: {HOSTILE}\nsecond line")),
        run_url: Some("javascript:alert(document.cookie)".into()),
        ..run(&shop, RunKind::Apply, RunStatus::Failed, "b", 5)
    }];
    failing.extend(applied(&shop, "a", 2));
    let drifted_target = customer("acme/drifted", "staging");
    let mut drifted = vec![RunRecord {
        changed_outside: Some(1),
        message: Some("drifted: 1 changed outside Terraform".into()),
        ..run(&drifted_target, RunKind::Drift, RunStatus::Succeeded, "c", 9)
    }];
    drifted.extend(applied(&drifted_target, "c", 3));
    let tenant = Target {
        owner: Owner::Tenant(TenantName::parse("billing").expect("tenant")),
        env: EnvName::parse("staging").expect("env"),
    };
    let info = format!(
        r#"{{"ID":"l-1","Operation":"OperationTypeApply","Who":{},"Version":"1.11.4","Created":"2026-12-07T11:45:00Z","Path":"x"}}"#,
        serde_json::to_string(&format!("runner@{HOSTILE}")).expect("json")
    );
    let lock = LockInfo::from_terraform("x", tenant.clone(), &info);
    vec![
        read(web.clone(), applied(&web, "d", 1), None),
        read(shop, failing, None),
        read(drifted_target, drifted, None),
        read(tenant.clone(), applied(&tenant, "e", 4), Some(&lock)),
    ]
}

fn site(targets: &[TargetRead]) -> Site<'_> {
    Site {
        generated_at: now(),
        manager: "provider/manager",
        manager_commit: Some("0123456789abcdef0123456789abcdef01234567"),
        targets,
    }
}

#[test]
fn the_fleet_page_and_a_target_page_of_a_small_fleet() {
    let targets = fleet();
    let files = render(&site(&targets));
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "index.html",
            "targets/acme_2fweb.staging.html",
            "targets/acme_2fshop.production.html",
            "targets/acme_2fdrifted.staging.html",
            "targets/tenants_2fbilling.staging.html"
        ]
    );
    insta::assert_snapshot!("fleet", files[0].text);
    insta::assert_snapshot!("target_failing", files[2].text);
}

#[test]
fn the_targets_that_need_a_look_come_first_each_marked_in_words() {
    let targets = fleet();
    let index = fleet::page(&site(&targets));
    let states: Vec<&str> = index
        .match_indices("data-state=\"")
        .map(|(i, m)| {
            let rest = &index[i + m.len()..];
            &rest[..rest.find('"').expect("end")]
        })
        .collect();
    assert_eq!(states, ["failing", "drifted", "locked", "ok"]);
    assert!(index.contains("<td class=\"state\" data-sort=\"0\">⚠ failing</td>"), "{index}");
    assert!(index.contains("<td class=\"state\" data-sort=\"99\">ok</td>"), "{index}");
}

#[test]
fn hostile_values_are_shown_never_parsed() {
    let targets = fleet();
    for file in render(&site(&targets)) {
        let text = &file.text;
        // The one script and the one style sheet are the page's own.
        assert_eq!(text.matches("<script").count(), 1, "{}", file.path);
        assert_eq!(text.matches("</script>").count(), 1, "{}", file.path);
        assert_eq!(text.matches("</style>").count(), 1, "{}", file.path);
        assert!(!text.contains("<img"), "{}", file.path);
        assert!(!text.contains('\u{202e}'), "{}", file.path);
        assert!(!text.contains("javascript:alert(document.cookie)\""), "{}: no hostile href", file.path);
        for (i, _) in text.match_indices("href=\"") {
            let href = &text[i + 6..];
            let href = &href[..href.find('"').expect("end")];
            assert!(
                href.starts_with("https://github.com/provider/manager/actions/runs/")
                    || href.starts_with("targets/")
                    || href == "../index.html",
                "{}: {href}",
                file.path
            );
        }
    }
    let failing = &render(&site(&targets))[2].text;
    assert!(failing.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"), "{failing}");
    assert!(failing.contains("\\u{202e}"), "{failing}");
}

#[test]
fn a_long_timeline_is_cut_and_counted() {
    let web = customer("acme/web", "staging");
    let records: Vec<RunRecord> =
        (0..target::MAX_RUNS + 5).map(|_| run(&web, RunKind::Drift, RunStatus::Succeeded, "a", 1)).collect();
    let targets = vec![read(web, records, None)];
    let page = target::page(&site(&targets), &targets[0]);
    assert_eq!(page.matches("data-status=\"succeeded\"").count(), target::MAX_RUNS);
    assert!(page.contains("… and 5 older runs"), "{page}");
}
