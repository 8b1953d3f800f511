//! The S3 + DynamoDB store against moto: bootstrap, stored plans and the latest-plan race,
//! run history, locks, and a real `terraform apply` through the rendered backend.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, BillingMode};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use infra_manager::identity::{EnvName, RepoId, Sha, Target};
use infra_manager::store::s3::{
    LockError, LockMode, ReleaseOutcome, ResourceKind, ResourceOutcome, S3Settings, S3Store, SettingsError, bootstrap,
    list_locks, release_lock,
};
use infra_manager::store::{PlanMeta, RunKind, RunRecord, RunStatus, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::support::moto::{Moto, credentials, find_on_path};

fn target(customer: &str, env: &str) -> Target {
    Target {
        owner: infra_manager::identity::Owner::Customer(RepoId::parse(customer).expect("valid customer")),
        env: EnvName::parse(env).expect("valid environment"),
    }
}

fn sha(fill: char) -> Sha {
    Sha::parse(&fill.to_string().repeat(40)).expect("valid sha")
}

fn plan_meta(target: &Target, sha: &Sha, plan: &[u8], created_at: &str) -> PlanMeta {
    PlanMeta {
        customer: target.owner.to_string(),
        environment: target.env.to_string(),
        sha: sha.to_string(),
        plan_sha256: hex::encode(Sha256::digest(plan)),
        terraform_version: "1.11.4".into(),
        config_sha256: "c".repeat(64),
        manager_commit: "local".into(),
        created_at: created_at.into(),
        run_url: None,
        state_lineage: Some("lineage".into()),
        state_serial: Some(3),
        has_changes: true,
        add: 1,
        change: 0,
        destroy: 0,
    }
}

/// A bootstrapped store on its own moto server.
async fn ready_store(moto: &Moto, settings: S3Settings) -> S3Store {
    let store = moto.store(settings).await;
    bootstrap(&store).await.expect("bootstrap");
    store
}

#[tokio::test]
async fn bootstrap_twice_creates_once_and_protects_the_bucket() {
    let moto = Moto::start();
    let store = moto.store(moto.settings("boot")).await;

    let first = bootstrap(&store).await.expect("first bootstrap");
    let kinds: Vec<_> = first.resources.iter().map(|r| (r.kind, r.name.as_str(), r.outcome)).collect();
    assert_eq!(
        kinds,
        [
            (ResourceKind::Bucket, "boot-state", ResourceOutcome::Created),
            (ResourceKind::LockTable, "boot-locks", ResourceOutcome::Created),
            (ResourceKind::RecordsTable, "boot-runs", ResourceOutcome::Created),
        ]
    );
    assert!(first.changed());

    let second = bootstrap(&store).await.expect("second bootstrap");
    assert!(!second.changed(), "second run changed something: {second:?}");
    for resource in &second.resources {
        assert_eq!(resource.outcome, ResourceOutcome::AlreadyExisted, "{resource}");
        assert!(resource.fixed.is_empty(), "{resource}");
    }

    let s3 = &store.clients().s3;
    // Read raw: moto's GetBucketVersioning body has a root element the SDK refuses.
    let versioning = moto.raw_get("/boot-state?versioning");
    assert!(versioning.contains("<Status>Enabled</Status>"), "{versioning}");
    let encryption = s3.get_bucket_encryption().bucket("boot-state").send().await.expect("encryption");
    let algorithm = encryption
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .map(|d| d.sse_algorithm().clone());
    assert_eq!(algorithm, Some(ServerSideEncryption::Aes256));
    let block = s3.get_public_access_block().bucket("boot-state").send().await.expect("public access block");
    let block = block.public_access_block_configuration().expect("a configuration");
    assert_eq!(
        [
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ],
        [Some(true); 4]
    );

    let dynamodb = &store.clients().dynamodb;
    for table in ["boot-locks", "boot-runs"] {
        let described = dynamodb.describe_table().table_name(table).send().await.expect("describe");
        let billing = described.table().and_then(|t| t.billing_mode_summary()).and_then(|b| b.billing_mode());
        assert_eq!(billing, Some(&BillingMode::PayPerRequest), "{table}");
    }
}

#[tokio::test]
async fn bootstrap_turns_on_missing_bucket_protections_of_an_existing_bucket() {
    let moto = Moto::start();
    let store = moto.store(moto.settings("bare")).await;
    store.clients().s3.create_bucket().bucket("bare-state").send().await.expect("create a bare bucket");

    let report = bootstrap(&store).await.expect("bootstrap");
    let bucket = &report.resources[0];
    assert_eq!(bucket.outcome, ResourceOutcome::AlreadyExisted);
    assert_eq!(bucket.fixed, ["versioning enabled", "default encryption (SSE-S3) turned on", "public access blocked"]);
    assert!(!bootstrap(&store).await.expect("again").changed());
}

#[tokio::test]
async fn plans_round_trip_encrypted_and_an_older_plan_never_replaces_a_newer_one() {
    let moto = Moto::start();
    let store = ready_store(&moto, moto.settings("plans")).await;
    let t = target("acme/webshop", "staging");

    assert_eq!(store.latest_plan(&t).await.expect("no pointer yet"), None);
    let missing = store.get_plan(&t, &sha('a')).await.expect_err("nothing stored");
    assert!(matches!(missing, StoreError::NoPlan { .. }), "{missing}");

    let plan_a = b"plan A bytes".to_vec();
    let meta_a = plan_meta(&t, &sha('a'), &plan_a, "2025-01-01T10:00:00Z");
    let key = store.put_plan(&t, &plan_a, &meta_a).await.expect("put A");
    assert_eq!(key, store.plan_key(&t, &sha('a')));
    assert_eq!(key, format!("s3://plans-state/customers/acme/webshop/staging/plans/{}.tfplan", sha('a')));
    assert_eq!(store.latest_plan(&t).await.expect("latest"), Some(meta_a.clone()));
    assert_eq!(store.get_plan(&t, &sha('a')).await.expect("get A"), (plan_a.clone(), meta_a.clone()));

    let s3 = &store.clients().s3;
    let dir = "customers/acme/webshop/staging/plans";
    for key in [format!("{dir}/{}.tfplan", sha('a')), format!("{dir}/{}.json", sha('a')), format!("{dir}/latest.json")]
    {
        let head = s3.head_object().bucket("plans-state").key(&key).send().await.expect("head");
        assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::Aes256), "{key}");
    }

    // A newer plan moves the pointer; an older one is stored but reported as superseded.
    let plan_b = b"plan B bytes".to_vec();
    let meta_b = plan_meta(&t, &sha('b'), &plan_b, "2025-01-01T11:00:00Z");
    store.put_plan(&t, &plan_b, &meta_b).await.expect("put B");
    let plan_c = b"plan C bytes".to_vec();
    let meta_c = plan_meta(&t, &sha('c'), &plan_c, "2025-01-01T10:30:00Z");
    let superseded = store.put_plan(&t, &plan_c, &meta_c).await.expect_err("C is older than B");
    match &superseded {
        StoreError::Superseded { sha, newer, .. } => assert_eq!((sha, newer), (&meta_c.sha, &meta_b.sha)),
        other => panic!("expected Superseded, got {other}"),
    }
    assert_eq!(store.latest_plan(&t).await.expect("latest"), Some(meta_b));
    assert_eq!(store.get_plan(&t, &sha('c')).await.expect("C is still stored").1, meta_c);

    // Another environment has its own pointer.
    assert_eq!(store.latest_plan(&target("acme/webshop", "production")).await.expect("latest"), None);

    // Metadata that does not match the plan bytes is refused before anything is written.
    let wrong = plan_meta(&t, &sha('d'), b"other bytes", "2025-01-01T12:00:00Z");
    let refused = store.put_plan(&t, b"plan D", &wrong).await.expect_err("digest mismatch");
    assert!(matches!(refused, StoreError::Corrupt { .. }), "{refused}");
    assert!(matches!(store.get_plan(&t, &sha('d')).await, Err(StoreError::NoPlan { .. })));
}

#[tokio::test]
async fn listing_a_targets_plans_reads_only_its_metadata_newest_first() {
    let moto = Moto::start();
    let store = ready_store(&moto, moto.settings("listing")).await;
    let t = target("acme/webshop", "staging");
    assert!(store.list_plans(&t, 10).await.expect("nothing stored").is_empty());
    for (fill, at) in [('a', "2025-01-01T10:00:00Z"), ('b', "2025-01-01T12:00:00Z"), ('c', "2025-01-01T11:00:00Z")] {
        let plan = format!("plan {fill}").into_bytes();
        store.put_plan(&t, &plan, &plan_meta(&t, &sha(fill), &plan, at)).await.ok();
    }
    let other = target("acme/webshop", "production");
    store.put_plan(&other, b"p", &plan_meta(&other, &sha('d'), b"p", "2025-01-01T13:00:00Z")).await.expect("put");
    // Something else under the plans folder is not a plan.
    let key = "customers/acme/webshop/staging/plans/notes.json";
    let put = store.clients().s3.put_object().bucket("listing-state").key(key);
    let put = put.server_side_encryption(ServerSideEncryption::Aes256).body(ByteStream::from_static(b"{}"));
    put.send().await.expect("put a stray object");

    let listed: Vec<String> =
        store.list_plans(&t, 10).await.expect("list").into_iter().map(|m| m.sha[..1].to_owned()).collect();
    assert_eq!(listed, ["b", "c", "a"], "newest first; not latest.json, not the other environment's");
    assert_eq!(store.list_plans(&t, 2).await.expect("list").len(), 2, "bounded by the limit");
}

/// Issue 22 item 4: the reviewable document of a 5,000-resource plan (megabytes: an object
/// of its own, not the metadata) is kept beside the plan and read back whole, and a listing
/// of plans does not take it for one.
#[tokio::test]
async fn a_5000_resource_reviewable_document_round_trips_beside_its_plan() {
    use infra_manager::terraform::reviewable::{Reviewable, compare};
    let moto = Moto::start();
    let store = ready_store(&moto, moto.settings("reviewable")).await;
    let t = target("acme/webshop", "staging");
    let changes: Vec<serde_json::Value> = (0..5_000)
        .map(|i| {
            serde_json::json!({
                "address": format!("module.app.terraform_data.item[{i}]"),
                "change": {"actions": ["create"], "after": {"input": {"name": format!("item-{i}"), "tags": {"team": "web", "n": i}}},
                           "after_unknown": {"id": true, "output": true}},
            })
        })
        .collect();
    let document = Reviewable::from_show_json(&serde_json::json!({ "resource_changes": changes }));
    let bytes = serde_json::to_vec(&document).expect("json");
    assert!(bytes.len() > 400 * 1024, "larger than a DynamoDB item can be: {}", bytes.len());
    assert_eq!(store.get_reviewable(&t, &sha('a')).await.expect("read"), None, "none kept yet");
    store.put_plan(&t, b"plan a", &plan_meta(&t, &sha('a'), b"plan a", "2025-01-01T10:00:00Z")).await.expect("plan");
    store.put_reviewable(&t, &sha('a'), &bytes).await.expect("put");
    let read = store.get_reviewable(&t, &sha('a')).await.expect("read").expect("kept");
    let back: Reviewable = serde_json::from_slice(&read).expect("the same document");
    assert_eq!(back.resources.len(), 5_000);
    assert!(compare(&document, &back).is_empty());
    let listed = store.list_plans(&t, 10).await.expect("list");
    assert_eq!(listed.len(), 1, "the document is not a plan's metadata");

    // Stored with the plan in one call: both there, the plan the newest, the document its.
    let meta_b = plan_meta(&t, &sha('b'), b"plan b", "2025-01-01T11:00:00Z");
    let (kept, stored) = store.put_plan_and_reviewable(&t, b"plan b", &meta_b, &sha('b'), &bytes).await;
    kept.expect("kept");
    stored.expect("stored");
    assert_eq!(store.latest_plan(&t).await.expect("latest").map(|m| m.sha), Some(sha('b').to_string()));
    assert_eq!(store.get_reviewable(&t, &sha('b')).await.expect("read").as_deref(), Some(bytes.as_slice()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_plans_leave_exactly_one_latest_and_never_a_corrupt_pointer() {
    let moto = Moto::start();
    let store = ready_store(&moto, moto.settings("race")).await;

    for round in 0..6 {
        let t = target("acme/racer", &format!("env{round}"));
        // Odd rounds: both plans made at the same instant (either may win); even rounds:
        // the second is newer and must end as latest whichever write lands first.
        let (time_a, time_b) = if round % 2 == 0 {
            ("2025-03-01T10:00:00Z", "2025-03-01T10:00:01Z")
        } else {
            ("2025-03-01T10:00:00Z", "2025-03-01T10:00:00Z")
        };
        let writers = [(sha('1'), time_a), (sha('2'), time_b)].map(|(sha, time)| {
            let store = store.clone();
            let t = t.clone();
            tokio::spawn(async move {
                let plan = format!("plan for {sha}").into_bytes();
                let meta = plan_meta(&t, &sha, &plan, time);
                let result = store.put_plan(&t, &plan, &meta).await;
                (meta, result)
            })
        });
        let mut outcomes = Vec::new();
        for writer in writers {
            outcomes.push(writer.await.expect("writer task"));
        }

        let latest = store.latest_plan(&t).await.expect("readable pointer").expect("a latest plan");
        let winners: Vec<_> = outcomes.iter().filter(|(meta, _)| *meta == latest).collect();
        assert_eq!(winners.len(), 1, "round {round}: latest {latest:?} is not one of the plans written");
        assert!(winners[0].1.is_ok(), "round {round}: the winner reported {:?}", winners[0].1);
        for (meta, result) in &outcomes {
            match result {
                Ok(_) | Err(StoreError::Superseded { .. }) => {}
                Err(other) => panic!("round {round}: {} failed with {other}", meta.sha),
            }
        }
        if round % 2 == 0 {
            assert_eq!(latest.sha, sha('2').to_string(), "round {round}: the newer plan must win");
        }
        let (_, stored) = store.get_plan(&t, &Sha::parse(&latest.sha).expect("sha")).await.expect("winner stored");
        assert_eq!(stored, latest);
    }
}

fn run(customer: &str, env: &str, n: u32, status: RunStatus) -> RunRecord {
    let started_at = format!("2025-02-01T10:{:02}:{:02}Z", n / 60, n % 60);
    RunRecord {
        run_id: format!("{started_at}#r{n:03}"),
        customer: customer.into(),
        environment: env.into(),
        sha: "f".repeat(40),
        pull_request: Some(7),
        started_at,
        run_url: Some(format!("https://ci.example/runs/{n}")),
        ..RunRecord::empty(RunKind::Plan, status)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_newest_first_with_final_statuses_across_pages_and_filters_by_env() {
    let moto = Moto::start();
    let store = ready_store(&moto, moto.settings("hist")).await;

    // 150 runs (more than one Query page), each recorded as started and then finished.
    const RUNS: u32 = 150;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..RUNS {
        let store = store.clone();
        tasks.spawn(async move {
            let env = if n % 3 == 0 { "production" } else { "staging" };
            let started = run("acme/webshop", env, n, RunStatus::Started);
            store.record_run(&started).await.expect("record started");
            let status = if n % 5 == 0 { RunStatus::Failed } else { RunStatus::Succeeded };
            let finished = RunRecord {
                status,
                finished_at: Some(started.started_at.replace("10:", "11:")),
                add: Some(n),
                change: Some(0),
                destroy: Some(0),
                message: (status == RunStatus::Failed).then(|| "terraform plan failed".to_owned()),
                health: None,
                outputs: None,
                ..started
            };
            store.record_run(&finished).await.expect("record finished");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("recording task");
    }
    store.record_run(&run("other/repo", "staging", 999, RunStatus::Started)).await.expect("other customer");

    let all = store.records("acme/webshop", None).await.expect("history");
    assert_eq!(all.len(), RUNS as usize);
    let numbers: Vec<u32> = all.iter().map(|r| r.add.expect("finished runs carry counts")).collect();
    let newest_first: Vec<u32> = (0..RUNS).rev().collect();
    assert_eq!(numbers, newest_first);
    for record in &all {
        let n = record.add.expect("counts");
        let expected = if n % 5 == 0 { RunStatus::Failed } else { RunStatus::Succeeded };
        assert_eq!(record.status, expected, "run {n}");
        assert!(record.finished_at.is_some());
    }

    let production = store.records("acme/webshop", Some("production")).await.expect("filtered history");
    assert_eq!(production.len(), RUNS.div_ceil(3) as usize);
    assert!(production.iter().all(|r| r.environment == "production"));
    assert!(production.windows(2).all(|w| w[0].started_at > w[1].started_at));

    assert_eq!(store.records("nobody/here", None).await.expect("empty history"), []);
}

fn lock_info_json(id: &str, path: &str, created: jiff::Timestamp) -> String {
    serde_json::json!({
        "ID": id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "runner@ci-host",
        "Version": "1.11.4",
        "Created": created.to_string(),
        "Path": path,
    })
    .to_string()
}

async fn put_lock_item(store: &S3Store, attributes: &[(&str, String)]) {
    let item: HashMap<String, AttributeValue> =
        attributes.iter().map(|(k, v)| ((*k).to_owned(), AttributeValue::S(v.clone()))).collect();
    store
        .clients()
        .dynamodb
        .put_item()
        .table_name(&store.settings().lock_table)
        .set_item(Some(item))
        .send()
        .await
        .expect("put lock item");
}

async fn lock_table_ids(store: &S3Store) -> Vec<String> {
    let scan = store.clients().dynamodb.scan().table_name(&store.settings().lock_table).send().await.expect("scan");
    let mut ids: Vec<String> = scan.items().iter().filter_map(|i| i.get("LockID")?.as_s().ok().cloned()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn table_locks_skip_digest_items_and_release_honours_the_guard() {
    let moto = Moto::start();
    let store = ready_store(&moto, moto.settings("locks")).await;
    let staging = target("acme/webshop", "staging");
    let production = target("acme/webshop", "production");
    let layout = store.layout().clone();
    let now = jiff::Timestamp::now();
    let two_hours_ago = now - jiff::SignedDuration::from_hours(2);

    let staging_id = layout.lock_id(&staging);
    put_lock_item(&store, &[("LockID", staging_id.clone()), ("Info", lock_info_json("lock-1", &staging_id, now))])
        .await;
    put_lock_item(
        &store,
        &[("LockID", format!("{staging_id}-md5")), ("Digest", "d41d8cd98f00b204e9800998ecf8427e".into())],
    )
    .await;
    let production_id = layout.lock_id(&production);
    put_lock_item(
        &store,
        &[("LockID", production_id.clone()), ("Info", lock_info_json("lock-2", &production_id, two_hours_ago))],
    )
    .await;
    let foreign_id = "locks-state/manager/terraform.tfstate".to_owned();
    put_lock_item(&store, &[("LockID", foreign_id.clone()), ("Info", lock_info_json("lock-3", &foreign_id, now))])
        .await;

    let locks = list_locks(&store).await.expect("list");
    let listed: Vec<_> = locks.iter().map(|l| (l.lock_id.as_str(), l.subject(), l.id.as_str())).collect();
    assert_eq!(
        listed,
        [
            (production_id.as_str(), "acme/webshop (production)".to_owned(), "lock-2"),
            (staging_id.as_str(), "acme/webshop (staging)".to_owned(), "lock-1"),
            (foreign_id.as_str(), foreign_id.clone(), "lock-3"),
        ]
    );
    let age = locks[0].age(jiff::Timestamp::now()).expect("dated");
    assert!(age >= Duration::from_secs(7200), "{age:?}");

    let guard = Duration::from_secs(15 * 60);
    let refused = release_lock(&store, &staging, guard, false).await.expect_err("young lock");
    assert!(matches!(refused, LockError::TooYoung { .. }));
    let message = refused.to_string();
    assert!(message.contains("acme/webshop (staging)") && message.contains("`runner@ci-host`"), "{message}");
    assert_eq!(refused.hint(), Some("pass `--force` if the run holding it is gone"));
    assert!(lock_table_ids(&store).await.contains(&staging_id), "a refused release deleted the lock");

    match release_lock(&store, &staging, guard, true).await.expect("forced release") {
        ReleaseOutcome::Released { lock } => assert_eq!(lock.id, "lock-1"),
        other => panic!("expected Released, got {other:?}"),
    }
    match release_lock(&store, &production, guard, false).await.expect("old lock") {
        ReleaseOutcome::Released { lock } => assert_eq!(lock.id, "lock-2"),
        other => panic!("expected Released, got {other:?}"),
    }
    assert_eq!(release_lock(&store, &staging, guard, true).await.expect("nothing left"), ReleaseOutcome::NotLocked);
    // The digest item and the lock outside the customer layout are untouched.
    assert_eq!(lock_table_ids(&store).await, [format!("{staging_id}-md5"), foreign_id]);
}

#[tokio::test]
async fn lockfile_locks_are_listed_and_released() {
    let moto = Moto::start();
    let settings = S3Settings { lock: LockMode::Lockfile, ..moto.settings("lockfile") };
    let store = moto.store(settings).await;
    let report = bootstrap(&store).await.expect("bootstrap");
    let kinds: Vec<_> = report.resources.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [ResourceKind::Bucket, ResourceKind::RecordsTable], "no lock table in lockfile mode");

    let t = target("acme/webshop", "staging");
    let key = store.layout().lockfile_key(&t);
    let info =
        lock_info_json("lock-f", &format!("lockfile-state/{}", store.layout().state_key(&t)), jiff::Timestamp::now());
    let s3 = &store.clients().s3;
    s3.put_object()
        .bucket("lockfile-state")
        .key(&key)
        .body(ByteStream::from(info.into_bytes()))
        .send()
        .await
        .expect("put");
    s3.put_object()
        .bucket("lockfile-state")
        .key(store.layout().state_key(&t))
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await
        .expect("put state");

    let locks = list_locks(&store).await.expect("list");
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(
        (locks[0].lock_id.as_str(), locks[0].subject(), locks[0].id.as_str()),
        (key.as_str(), "acme/webshop (staging)".to_owned(), "lock-f")
    );

    let guard = Duration::from_secs(600);
    assert!(matches!(release_lock(&store, &t, guard, false).await, Err(LockError::TooYoung { .. })));
    assert!(matches!(release_lock(&store, &t, guard, true).await, Ok(ReleaseOutcome::Released { .. })));
    assert_eq!(list_locks(&store).await.expect("list"), []);
    assert_eq!(release_lock(&store, &t, guard, true).await.expect("nothing left"), ReleaseOutcome::NotLocked);
}

#[tokio::test]
async fn key_prefixes_that_escape_are_refused_before_any_call() {
    // No server: the settings are refused before a client would be used.
    for prefix in ["customers/../other", "..", "/customers", "customers/"] {
        let settings = S3Settings {
            endpoint: Some("http://127.0.0.1:9".into()),
            key_prefix: prefix.into(),
            ..S3Settings::default()
        };
        let error = S3Store::with_credentials(settings, credentials()).await.expect_err(prefix);
        assert!(matches!(error, SettingsError::KeyPrefix { .. }), "{prefix}: {error}");
        assert!(error.to_string().contains(&format!("`{prefix}`")), "{error}");
    }
}

fn find_terraform() -> PathBuf {
    if let Some(path) = std::env::var_os("INFRA_MANAGER_TERRAFORM").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    find_on_path("terraform").unwrap_or_else(|| {
        panic!(
            "terraform not found (looked at $INFRA_MANAGER_TERRAFORM and PATH); this test runs the real executable\n\
             hint: run `scripts/tools.sh` to install the test tools"
        )
    })
}

fn terraform(dir: &std::path::Path, moto: &Moto, args: &[&str]) {
    let mut command = Command::new(find_terraform());
    command.current_dir(dir).args(args);
    for name in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "TF_WORKSPACE"]
    {
        command.env_remove(name);
    }
    command
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env("TF_INPUT", "0")
        .env("TF_DATA_DIR", dir.join(".terraform"));
    command.envs(moto.env());
    let output = command.output().expect("run terraform");
    assert!(
        output.status.success(),
        "terraform {args:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// Writes a one-resource root module whose backend is `store.backend(target)`, applies it,
/// and returns the working directory.
async fn apply_tiny_module(moto: &Moto, store: &S3Store, target: &Target) -> tempfile::TempDir {
    let backend = store.backend(target);
    let dir = tempfile::tempdir().expect("working directory");
    let block = serde_json::json!({ "terraform": { "backend": { backend.kind: backend.settings } } });
    std::fs::write(dir.path().join("backend.tf.json"), serde_json::to_vec_pretty(&block).expect("json"))
        .expect("write backend.tf.json");
    std::fs::write(dir.path().join("main.tf"), "resource \"terraform_data\" \"marker\" {\n  input = \"hello\"\n}\n")
        .expect("write main.tf");
    terraform(dir.path(), moto, &["init", "-input=false", "-no-color"]);
    terraform(dir.path(), moto, &["apply", "-auto-approve", "-input=false", "-no-color"]);
    dir
}

async fn object_keys(store: &S3Store) -> Vec<String> {
    let listed = store.clients().s3.list_objects_v2().bucket(store.layout().bucket()).send().await.expect("list");
    listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_terraform_keeps_state_at_the_rendered_key_and_releases_its_table_lock() {
    let moto = Moto::start();
    let store = ready_store(&moto, moto.settings("tfdyn")).await;
    let t = target("acme/webshop", "staging");
    let _dir = apply_tiny_module(&moto, &store, &t).await;

    let state_key = "customers/acme/webshop/staging/terraform.tfstate";
    assert_eq!(object_keys(&store).await, [state_key]);
    let head = store.clients().s3.head_object().bucket("tfdyn-state").key(state_key).send().await.expect("state");
    assert!(head.content_length().unwrap_or_default() > 0);
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    assert_eq!(lock_table_ids(&store).await, [format!("tfdyn-state/{state_key}-md5")]);
    assert_eq!(list_locks(&store).await.expect("list"), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_terraform_with_lockfile_leaves_no_lock_object() {
    let moto = Moto::start();
    let settings = S3Settings { lock: LockMode::Lockfile, ..moto.settings("tffile") };
    let store = ready_store(&moto, settings).await;
    let t = target("acme/webshop", "production");
    let _dir = apply_tiny_module(&moto, &store, &t).await;

    assert_eq!(object_keys(&store).await, ["customers/acme/webshop/production/terraform.tfstate"]);
    assert_eq!(list_locks(&store).await.expect("list"), []);
}
