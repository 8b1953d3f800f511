//! Issue 24 item 2 through the real binary and headless Chromium: `report --html` over a
//! fleet made with real Terraform and the local store — one target in sync, one failing
//! (its latest apply failed with a hostile error, recorded through the store seam), one
//! drifted, and a tenant locked by a hostile holder — loaded from disk in Chromium: every
//! target once, the failing one marked, no element of the hostile values' making (the
//! sort script is the only script, and it ran under the page's policy), every target link
//! an existing page. The screenshot is kept under `target/test-artifacts/status_page/`.

use infra_manager::store::local::LocalStore;
use infra_manager::store::{RunKind, RunRecord, RunStatus, Store};

use crate::support::browser;
use crate::support::cli::{Output, Run, v1_variables};
use crate::support::manager::Manager;

const HOSTILE: &str = "\"><img src=x onerror=alert(1)><script>alert(2)</script></style><b>bold</b>\u{202e}";

const SETTINGS: &str = "customers:
  - repo: acme/shop
    environments: [staging]
  - repo: acme/broken
    environments: [staging]
  - repo: acme/drifted
    environments: [staging]
environments:
  staging: { auto_apply: true }
catalog:
  queue: { module: catalog/queue, price: { monthly: 2 } }
tenants:
  types: [queue]
  environments: [staging]
  auto_approve: { queue: true }
";

fn checkout(m: &Manager, name: &str) {
    let infra = m.sb.path().join("customers").join(name).join("infra");
    std::fs::create_dir_all(&infra).expect("mkdir");
    let text = std::fs::read_to_string(v1_variables()).expect("fixture");
    let staging: String =
        text.lines().filter(|l| !l.trim_start().starts_with("production:")).map(|l| format!("{l}\n")).collect();
    std::fs::write(infra.join("variables.yml"), staging).expect("write");
}

fn customer(m: &Manager, verb: &str, name: &str) -> Output {
    let dir = format!("customers/{name}");
    let out = Run::new(m.sb.path())
        .args(["--json", verb, "--source-dir", &dir, "--customer", name, "--env", "staging"])
        .run();
    assert_eq!(out.code, 0, "{verb} {name}: {}\n{}", out.stdout, out.stderr);
    out
}

fn state_file(m: &Manager, name: &str) -> std::path::PathBuf {
    m.sb.store().join("state").join(name).join("staging/terraform.tfstate")
}

/// The fleet: shop in sync, broken failing, drifted drifted, the tenant billing locked.
fn fleet(m: &Manager) {
    m.sb.add_config(SETTINGS);
    for name in ["acme/shop", "acme/broken", "acme/drifted"] {
        checkout(m, name);
        customer(m, "plan", name);
        customer(m, "apply", name);
    }
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(m, "acme/drifted")).expect("state")).expect("json");
    state["resources"].as_array_mut().expect("resources").retain(|r| r["name"] != "security_group");
    state["serial"] = serde_json::json!(state["serial"].as_u64().unwrap_or(0) + 1);
    std::fs::write(state_file(m, "acme/drifted"), state.to_string()).expect("write");
    let drift = Run::new(m.sb.path())
        .args(["--json", "drift", "--customer", "acme/drifted", "--source-root", "customers", "--repo", "manager"])
        .run();
    assert_eq!(drift.json()["drifted"], 1, "{}", drift.stdout);
    let request =
        m.run(&["request", "--request-id", "r-1", "--tenant", "billing", "--type", "queue", "--inputs", "{}"]);
    assert_eq!(request.code, 0, "{}", request.stderr);
    m.plan("billing");
    m.apply("billing", None);

    // A later apply of acme/broken failed; what the backend kept is hostile, its run URL
    // too. Recorded through the store seam, as a run records it.
    let now = jiff::Timestamp::now();
    let failed = RunRecord {
        run_id: format!("{now}#hostile"),
        customer: "acme/broken".into(),
        environment: "staging".into(),
        sha: "0123456789abcdef0123456789abcdef01234567".into(),
        started_at: now.to_string(),
        finished_at: Some(now.to_string()),
        run_url: Some("javascript:alert(document.cookie)".into()),
        message: Some(format!("`terraform apply` failed: {HOSTILE}")),
        ..RunRecord::empty(RunKind::Apply, RunStatus::Failed)
    };
    let store = LocalStore::open(&m.sb.store()).expect("store");
    tokio::runtime::Runtime::new().expect("runtime").block_on(store.record_run(&failed)).expect("record");

    // The tenant's state is locked by a holder whose name is hostile (Terraform's lock
    // info, as its local backend writes it beside the state).
    let info = serde_json::json!({
        "ID": "5b0c6e02-lock", "Operation": "OperationTypeApply", "Info": "", "Who": format!("runner@{HOSTILE}"),
        "Version": "1.11.4", "Created": now.to_string(), "Path": m.state("billing"),
    });
    std::fs::write(m.state("billing").with_file_name(".terraform.tfstate.lock.info"), info.to_string()).expect("lock");
}

/// The rows of the fleet table: `(data-state, owner, environment, row)`.
fn fleet_rows(dom: &str) -> Vec<(String, String, String, String)> {
    let table = &dom[dom.find("<table id=\"fleet\"").expect("fleet table")..];
    let body = &table[table.find("<tbody>").expect("tbody")..table.find("</tbody>").expect("end")];
    let row = regex::Regex::new(r#"<tr [^>]*data-state="([^"]+)"[^>]*>(.*?)</tr>"#).expect("regex");
    let cells = regex::Regex::new(r#"<a href="[^"]+">([^<]+)</a></td><td>[^<]+</td><td>([^<]+)</td>"#).expect("regex");
    row.captures_iter(body)
        .map(|c| {
            let inner = c[2].to_owned();
            let names = cells.captures(&inner).expect("owner and environment cells");
            (c[1].to_owned(), names[1].to_owned(), names[2].to_owned(), inner.clone())
        })
        .collect()
}

#[test]
fn the_status_page_in_chromium_lists_every_target_once_and_hostile_values_stay_text() {
    // Before the fleet is made: a missing browser fails at once, saying how to get it.
    browser::chromium();
    let m = Manager::new();
    fleet(&m);

    let site = m.sb.path().join("site");
    let out = Run::new(m.sb.path())
        .args(["--json", "report", "--html", "site", "--repo", "manager"])
        .env("GITHUB_REPOSITORY", "provider/manager")
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["counts"]["targets"], 4, "{report}");
    assert_eq!(report["pages"].as_array().map(Vec::len), Some(5), "{report}");

    let profile = tempfile::tempdir().expect("profile");
    let (dom, log) = browser::dump_dom(&site.join("index.html"), profile.path());
    assert!(!log.contains("Content Security Policy"), "the page's own script and style are allowed:\n{log}");
    // The sort script ran (the policy let it) and is the only script.
    assert!(dom.contains("data-sort-ready=\"true\""), "{dom}");
    assert_eq!(dom.matches("<script").count(), 1, "{dom}");
    // Nothing of the hostile values' making became an element: they are text.
    for element in ["<img", "<b>", "<iframe", "onerror=\"", "href=\"javascript:"] {
        assert!(!dom.contains(element), "{element} in the DOM:\n{dom}");
    }
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"), "{dom}");
    assert!(dom.contains("provider/manager"), "the manager repository at the top");

    let rows = fleet_rows(&dom);
    let mut targets: Vec<(String, String)> = rows.iter().map(|r| (r.1.clone(), r.2.clone())).collect();
    targets.sort();
    let expected = [
        ("acme/broken", "staging"),
        ("acme/drifted", "staging"),
        ("acme/shop", "staging"),
        ("tenants/billing", "staging"),
    ];
    assert_eq!(targets, expected.map(|(o, e)| (o.to_owned(), e.to_owned())), "every target exactly once");
    let states: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        states,
        [("failing", "acme/broken"), ("drifted", "acme/drifted"), ("locked", "tenants/billing"), ("ok", "acme/shop")],
        "those that need a look first"
    );
    let failing = &rows[0].3;
    assert!(failing.contains(">⚠ failing</td>"), "marked in words: {failing}");

    // Every target link is a page of the site; the failing target's shows its run, inert.
    let link = regex::Regex::new(r#"href="(targets/[^"]+)""#).expect("regex");
    let pages: Vec<String> = link.captures_iter(&dom).map(|c| c[1].to_owned()).collect();
    assert_eq!(pages.len(), 4, "{pages:?}");
    for page in &pages {
        assert!(site.join(page).is_file(), "{page} is not a file of the site");
    }
    let broken = pages.iter().find(|p| p.contains("broken")).expect("broken's page");
    let (page, log) = browser::dump_dom(&site.join(broken), profile.path());
    assert!(!log.contains("Content Security Policy"), "{log}");
    assert!(page.contains("data-status=\"failed\""), "{page}");
    for element in ["<img", "<b>", "href=\"javascript:"] {
        assert!(!page.contains(element), "{element} in the target page:\n{page}");
    }
    assert_eq!(page.matches("<script").count(), 1, "{page}");

    let artifacts = browser::artifacts().join("status_page");
    std::fs::create_dir_all(&artifacts).expect("mkdir");
    let png = artifacts.join("index.png");
    browser::screenshot(&site.join("index.html"), profile.path(), &png);
    assert!(std::fs::metadata(&png).is_ok_and(|m| m.len() > 1000), "screenshot at {}", png.display());
}
