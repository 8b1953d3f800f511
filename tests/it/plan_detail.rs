//! `PlanDetail::Counts` (the `plan -json` stream alone) against `PlanDetail::Full` (`show
//! -json` of the saved plan), with real Terraform through `ProcessTerraform`: every fixture
//! configuration (`tests/fixtures/plans/configs/`) is planned both ways against the same
//! state, and the two summaries must agree on counts, addresses and actions. The saved
//! plan's prior state must be the state `state pull` reads, and the version the one
//! `version -json` reports.

use std::path::{Path, PathBuf};

use infra_manager::terraform::process::ProcessTerraform;
use infra_manager::terraform::summary::{PlanSummary, summarize_saved};
use infra_manager::terraform::{PlanDetail, PlanKind, PlanView, SavedPlan, Terraform, TerraformError};

use crate::support::cli::{repo_root, require_terraform};

fn terraform() -> ProcessTerraform {
    require_terraform();
    let wanted = std::env::var("INFRA_MANAGER_TERRAFORM").unwrap_or_else(|_| "terraform".to_owned());
    ProcessTerraform::locate(&wanted, std::env::var_os("PATH").as_deref()).expect("terraform or tofu")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Replaces the top-level configuration files of `to` by those of `from`.
fn use_config(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(to).expect("read dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if path.is_file() && [".tf", ".tf.json", ".tfvars", ".tfvars.json"].iter().any(|ext| name.ends_with(ext)) {
            std::fs::remove_file(&path).expect("remove");
        }
    }
    copy_tree(from, to);
}

/// A plan, or the plan an errored plan still saved.
fn saved(result: Result<SavedPlan, TerraformError>) -> SavedPlan {
    match result {
        Ok(plan) => plan,
        Err(TerraformError::PlanErrored { plan, .. }) => *plan,
        Err(e) => panic!("plan failed: {e}"),
    }
}

/// What both views must say alike.
fn comparable(s: &PlanSummary) -> impl PartialEq + std::fmt::Debug {
    let resources: Vec<_> =
        s.resources.iter().map(|r| (r.address.clone(), r.action, r.moved_from.clone(), r.importing)).collect();
    let drifted: Vec<_> = s.drifted.iter().map(|r| (r.address.clone(), r.action)).collect();
    let outputs: Vec<_> = s.outputs.iter().map(|o| (o.name.clone(), o.action)).collect();
    let counts = [s.add, s.change, s.destroy, s.replace, s.import, s.forget, s.moved, s.read, s.invoke, s.drift];
    let flags = (s.errored(), s.incomplete(), s.has_changes(), s.is_destructive());
    (counts, flags, resources, drifted, outputs, s.headline(), s.status_description())
}

/// Plans configuration `name` both ways (after applying its `step1/`, when it has one).
async fn compare(name: &str) {
    let config = repo_root().join("tests/fixtures/plans/configs").join(name);
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path();
    let tf = terraform();
    if config.join("uses-sandbox-module").exists() {
        copy_tree(
            &repo_root().join("manager-terraform/sandbox-app-environment"),
            &work.join("modules/sandbox-app-environment"),
        );
    }
    let mut planned: PathBuf = config.join("step2");
    if config.join("step1").is_dir() {
        use_config(&config.join("step1"), work);
        tf.init(work).await.expect("init step1");
        let first = tf.plan(work, "step1.tfplan", PlanKind::Update, PlanDetail::Counts).await.expect("plan step1");
        assert_eq!(first.prior_state, None, "{name}: a plan against no state has no prior state");
        tf.apply(work, "step1.tfplan").await.expect("apply step1");
        if !planned.is_dir() {
            planned = config.join("step1");
        }
    }
    use_config(&planned, work);
    tf.init(work).await.expect("init");
    let counts = saved(tf.plan(work, "counts.tfplan", PlanKind::Update, PlanDetail::Counts).await);
    let full = saved(tf.plan(work, "full.tfplan", PlanKind::Update, PlanDetail::Full).await);
    assert!(matches!(counts.view, PlanView::Streamed(_)) && counts.text().is_none(), "{name}");
    assert!(matches!(full.view, PlanView::Shown { .. }) && full.text().is_some(), "{name}");

    let (from_stream, from_show) = (summarize_saved(&counts), summarize_saved(&full));
    assert_eq!(
        comparable(&from_stream),
        comparable(&from_show),
        "{name}: stream {from_stream:#?}\nshow {from_show:#?}"
    );

    let current = tf.state_id(work).await.expect("state pull");
    assert_eq!(counts.prior_state, current, "{name}: the plan file's prior state is the current state");
    assert_eq!(full.prior_state, current, "{name}");
    assert_eq!(counts.version, tf.version().await.expect("version"), "{name}");
    assert_eq!(config.join("step1").is_dir(), current.is_some(), "{name}: state only after an apply");
}

macro_rules! configs {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                compare(stringify!($name)).await;
            }
        )*

        /// A configuration added to `configs/` without a test here would never be compared.
        #[test]
        fn every_configuration_is_compared() {
            let listed: Vec<&str> = vec![$(stringify!($name)),*];
            let mut on_disk: Vec<String> = std::fs::read_dir(repo_root().join("tests/fixtures/plans/configs"))
                .expect("configs")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            on_disk.sort();
            assert_eq!(on_disk, listed);
        }
    };
}

// `drift` is planned here as an ordinary plan (its `plan-args` ask `-refresh-only`, which
// the engine never runs): the state moved, so the plan moves the resource.
configs!(
    create,
    delete,
    drift,
    errored,
    forget,
    import,
    import_update,
    mixed,
    moved,
    moved_update,
    no_changes,
    outputs_only,
    read,
    replace,
    sensitive,
    update,
);

/// A destroy plan, both ways: every object destroyed, and the same prior state.
#[tokio::test]
async fn destroy_plans_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path();
    let tf = terraform();
    use_config(&repo_root().join("tests/fixtures/plans/configs/mixed/step1"), work);
    tf.init(work).await.expect("init");
    tf.plan(work, "a.tfplan", PlanKind::Update, PlanDetail::Counts).await.expect("plan");
    tf.apply(work, "a.tfplan").await.expect("apply");
    let counts = tf.plan(work, "c.tfplan", PlanKind::Destroy, PlanDetail::Counts).await.expect("plan");
    let full = tf.plan(work, "f.tfplan", PlanKind::Destroy, PlanDetail::Full).await.expect("plan");
    let (s, f) = (summarize_saved(&counts), summarize_saved(&full));
    assert_eq!(comparable(&s), comparable(&f));
    assert_eq!((s.destroy, s.add), (5, 0));
    assert_eq!(counts.prior_state, tf.state_id(work).await.expect("state"));
    assert!(counts.prior_state.is_some());
}

/// Terraform refuses a saved plan once the state moved: the typed refusal apply relies on.
#[tokio::test]
async fn a_stale_saved_plan_is_refused_by_terraform_as_stale() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path();
    let tf = terraform();
    use_config(&repo_root().join("tests/fixtures/plans/configs/update/step1"), work);
    copy_tree(
        &repo_root().join("manager-terraform/sandbox-app-environment"),
        &work.join("modules/sandbox-app-environment"),
    );
    tf.init(work).await.expect("init");
    tf.plan(work, "first.tfplan", PlanKind::Update, PlanDetail::Counts).await.expect("plan");
    let stale = tf.plan(work, "stale.tfplan", PlanKind::Update, PlanDetail::Counts).await.expect("plan");
    tf.apply(work, "first.tfplan").await.expect("apply");
    let moved = tf.state_id(work).await.expect("state").expect("a state");
    assert_ne!(stale.prior_state.as_ref(), Some(&moved));
    match tf.apply(work, "stale.tfplan").await {
        Err(TerraformError::StalePlan { .. }) => {}
        other => panic!("expected a stale plan refusal, got {other:?}"),
    }
    assert_eq!(tf.state_id(work).await.expect("state"), Some(moved), "nothing applied");
}
