//! `doctor` checks a set-up and changes nothing: it passes on the local example and on a
//! bootstrapped moto store, and names each planted misconfiguration with what to do — a
//! missing module, an unversioned bucket, a missing table, a token without the scope for
//! commit statuses, an App installation without `statuses: write`, a production apply
//! environment nobody has to approve.

use fake_github::{FakeGithub, TEST_APP_PRIVATE_KEY};
use serde_json::{Value, json};

use crate::support::aws::AwsSandbox;
use crate::support::cli::{Output, Run, Sandbox};

/// The checks of a `--json` report as `(area, verdict, detail)`.
fn checks(out: &Output) -> Vec<(String, String, String)> {
    let report: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (s("area"), s("verdict"), s("detail"))
        })
        .collect()
}

fn failed(out: &Output) -> Vec<String> {
    checks(out).into_iter().filter(|(_, v, _)| v == "failed").map(|(a, _, d)| format!("{a}: {d}")).collect()
}

#[test]
fn a_local_set_up_passes_and_a_missing_module_is_named_with_its_fix() {
    let sb = Sandbox::new();
    let out = Run::new(sb.path()).args(["--json", "doctor"]).env_remove("GITHUB_TOKEN").run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let areas: Vec<(String, String)> = checks(&out).into_iter().map(|(a, v, _)| (a, v)).collect();
    let expected = [
        ("config", "ok"),
        ("module", "ok"),
        ("catalog", "ok"),
        ("terraform", "ok"),
        ("store", "ok"),
        ("github", "skipped"),
    ];
    assert_eq!(areas, expected.map(|(a, v)| (a.to_owned(), v.to_owned())));

    sb.add_config("catalog:\n  queue:\n    module: catalog/no-such-queue\n");
    let text = Run::new(sb.path()).args(["doctor"]).env_remove("GITHUB_TOKEN").run();
    assert_eq!(text.code, 1, "{}", text.stdout);
    assert!(text.stdout.contains("FAIL catalog"), "{}", text.stdout);
    assert!(text.stdout.contains("no-such-queue"), "{}", text.stdout);
    assert!(text.stdout.contains("hint: "), "{}", text.stdout);
    assert!(text.stdout.ends_with("1 of 6 checks failed\n"), "{}", text.stdout);
}

#[test]
fn a_bootstrapped_moto_store_passes_and_an_unversioned_bucket_and_a_missing_table_fail() {
    let aws = AwsSandbox::new("doctor");
    let before = aws.run(["--json", "doctor"]);
    assert_eq!(before.code, 1, "nothing bootstrapped yet: {}", before.stdout);
    assert!(
        failed(&before).iter().any(|f| f.contains("state bucket `doctor-state`: missing")),
        "{:?}",
        failed(&before)
    );

    aws.bootstrap();
    let out = aws.run(["--json", "doctor"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let store: Vec<String> = checks(&out).into_iter().filter(|(a, _, _)| a == "store").map(|(_, _, d)| d).collect();
    assert_eq!(
        store,
        [
            "state bucket `doctor-state`",
            "state bucket `doctor-state` versioning",
            "state bucket `doctor-state` default encryption",
            "state bucket `doctor-state` public access block",
            "lock table `doctor-locks`",
            "records table `doctor-runs`",
        ]
    );

    // Planted: versioning suspended, the records table deleted. doctor reads, never fixes.
    aws.block_on(async {
        let suspended = aws_sdk_s3::types::VersioningConfiguration::builder()
            .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
            .build();
        aws.s3()
            .put_bucket_versioning()
            .bucket(aws.bucket())
            .versioning_configuration(suspended)
            .send()
            .await
            .expect("suspend");
        aws.dynamodb().delete_table().table_name("doctor-runs").send().await.expect("delete table");
    });
    let out = aws.run(["--json", "doctor"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        failed(&out),
        [
            "store: state bucket `doctor-state` versioning: off: an overwritten state can't be recovered",
            "store: records table `doctor-runs`: missing",
        ]
    );
    let again = aws.run(["--json", "doctor"]);
    assert_eq!(failed(&again), failed(&out), "doctor changed nothing");
}

const MANAGER: &str = "provider/manager";

/// `doctor` against the fake GitHub, as `credential` (`--github-token` or the App).
async fn doctor(sb: &Sandbox, fake: &FakeGithub, credential: &[&str]) -> Output {
    Run::new(sb.path())
        .args(["--json", "doctor", "--manager-repo", MANAGER])
        .args(credential)
        .env_remove("GITHUB_TOKEN")
        .env("GITHUB_API_URL", fake.url())
        .run_async()
        .await
}

fn github_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.add_config("customers:\n  - repo: acme/webshop\n    environments: [staging, production]\n");
    std::fs::write(sb.path().join("app-key.pem"), TEST_APP_PRIVATE_KEY).expect("key file");
    sb
}

#[tokio::test]
async fn a_token_without_the_scope_for_statuses_and_an_environment_without_reviewers_are_named() {
    let sb = github_sandbox();
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/webshop");
    fake.add_repo(MANAGER);
    for (name, reviewers) in
        [("production-apply", &["alice"][..]), ("staging-destroy", &["alice"]), ("production-destroy", &["bob"])]
    {
        fake.put_environment(MANAGER, name, reviewers);
    }
    fake.add_token("ghp_good", "platform");
    fake.set_token_scopes("ghp_good", "repo, workflow");
    let good = doctor(&sb, &fake, &["--github-token", "ghp_good"]).await;
    assert_eq!(good.code, 0, "{}\n{}", good.stdout, good.stderr);
    let github: Vec<String> = checks(&good).into_iter().filter(|(a, _, _)| a == "github").map(|(_, _, d)| d).collect();
    assert_eq!(
        github,
        [
            "classic token of `platform`, scopes: repo, workflow",
            "environment `production-apply` in `provider/manager`: required reviewers alice",
            "environment `staging-destroy` in `provider/manager`: required reviewers alice",
            "environment `production-destroy` in `provider/manager`: required reviewers bob",
        ]
    );

    // Planted: a token that can't set statuses; production-apply approves itself.
    fake.add_token("ghp_narrow", "platform");
    fake.set_token_scopes("ghp_narrow", "read:org");
    fake.put_environment(MANAGER, "production-apply", &[]);
    let bad = doctor(&sb, &fake, &["--github-token", "ghp_narrow"]).await;
    assert_eq!(bad.code, 1, "{}", bad.stdout);
    assert_eq!(
        failed(&bad),
        [
            "github: classic token of `platform` has scopes read:org, not `repo`: commit statuses, pull request comments and drift issues would be refused",
            "github: environment `production-apply` in `provider/manager` has no required reviewers, but its applies wait for review (`auto_apply: false`): nobody would have to approve",
        ]
    );
    assert_eq!(fake.write_count(), 0, "doctor writes nothing");
}

#[tokio::test]
async fn an_app_installation_without_statuses_write_is_named_per_repository() {
    let sb = github_sandbox();
    let fake = FakeGithub::start().await;
    fake.install_app(4242, "infra-bot", &["acme/webshop", MANAGER]);
    for name in ["production-apply", "staging-destroy", "production-destroy"] {
        fake.put_environment(MANAGER, name, &["alice"]);
    }
    let app = ["--github-app-id", "4242", "--github-app-private-key-file", "app-key.pem"];
    let good = doctor(&sb, &fake, &app).await;
    assert_eq!(good.code, 0, "{}\n{}", good.stdout, good.stderr);

    fake.set_app_permissions(json!({"metadata": "read", "contents": "read", "pull_requests": "write", "checks": "write", "issues": "write", "actions": "read"}));
    let bad = doctor(&sb, &fake, &app).await;
    assert_eq!(bad.code, 1, "{}", bad.stdout);
    assert_eq!(
        failed(&bad),
        [
            "github: `acme/webshop`: the App's installation lacks statuses: write (plans and applies (statuses, check runs, pull request comments))",
            "github: `provider/manager`: the App's installation lacks statuses: write (plans and applies (statuses, check runs, pull request comments))",
        ]
    );
    // The only installation tokens doctor asks for read the manager's environments.
    let requests = fake.token_requests();
    assert_eq!(fake.write_count(), requests.len(), "doctor's only POSTs are token requests");
    for request in requests {
        assert_eq!(
            (request.repositories, request.permissions),
            (vec!["manager".to_owned()], json!({"actions": "read"}))
        );
    }
}

/// Issue 22 item 3: an `environment:` approval reads GitHub's record of the run's
/// deployment review, which exists only for an environment with required reviewers.
#[tokio::test]
async fn an_environment_approval_naming_an_environment_without_reviewers_is_named() {
    let sb = Sandbox::new();
    sb.add_config(
        "environments:\n  staging: { approval: { environment: staging-approve } }\n  production: { auto_apply: true }\ncustomers:\n  - repo: acme/webshop\n    environments: [staging, production]\n",
    );
    let fake = FakeGithub::start().await;
    fake.add_repo("acme/webshop");
    for name in ["staging-destroy", "production-destroy"] {
        fake.put_environment(MANAGER, name, &["alice"]);
    }
    fake.put_environment(MANAGER, "staging-approve", &[]);
    fake.add_token("ghp_good", "platform");
    fake.set_token_scopes("ghp_good", "repo, workflow");
    let out = doctor(&sb, &fake, &["--github-token", "ghp_good"]).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        failed(&out),
        [
            "github: environment `staging-approve` in `provider/manager` has no required reviewers, but an `approval: { environment: … }` rule reads who approved from it: nobody would have to approve"
        ]
    );
    fake.put_environment(MANAGER, "staging-approve", &["carol"]);
    let good = doctor(&sb, &fake, &["--github-token", "ghp_good"]).await;
    assert_eq!(good.code, 0, "{}\n{}", good.stdout, good.stderr);
}
