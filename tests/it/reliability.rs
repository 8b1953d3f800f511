//! Cancellation and faults end to end: the real binary and real Terraform on a private
//! moto (S3 + DynamoDB) per test. A run that is interrupted or meets a fault ends clearly,
//! leaves no lock and no half-written record, and the next run succeeds.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::aws::AwsSandbox;
use crate::support::cli::{Output, repo_root, require_terraform};

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn assert_ok(out: &Output, what: &str) {
    assert_eq!(out.code, 0, "{what} failed:\n{}\n{}", out.stdout, out.stderr);
}

/// The sandbox module plus one resource whose creation takes `seconds` (a local-exec
/// provisioner), as `<dir>/modules/slow-app`.
fn slow_module(dir: &Path, seconds: u32) -> std::path::PathBuf {
    let modules = dir.join("modules");
    let module = modules.join("slow-app");
    std::fs::create_dir_all(&module).expect("mkdir");
    let source = repo_root().join("manager-terraform/sandbox-app-environment");
    for entry in std::fs::read_dir(&source).expect("read module") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, module.join(path.file_name().expect("name"))).expect("copy");
    }
    let slow = format!(
        "resource \"terraform_data\" \"slow\" {{\n  input = var.project_name\n  provisioner \"local-exec\" {{\n    command = \"sleep {seconds}\"\n  }}\n}}\n"
    );
    std::fs::write(module.join("slow.tf"), slow).expect("write slow.tf");
    modules
}

/// Points the sandbox at the slow module, with short bounds for the test.
fn use_slow_module(sb: &AwsSandbox, seconds: u32) {
    let modules = slow_module(sb.path(), seconds);
    sb.edit_config(|text| {
        let mut out = String::new();
        for line in text.lines() {
            if line.trim_start().starts_with("modules_dir:") {
                out.push_str(&format!(
                    "  modules_dir: {}\n  stop_timeout: 60s\n  lock_timeout: 5s\n",
                    modules.display()
                ));
            } else if line.trim_start().starts_with("module:") {
                out.push_str("  module: slow-app\n");
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    });
}

fn signal(pid: u32, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).expect("pid")).expect("a pid");
    rustix::process::kill_process(pid, signal).expect("signal");
}

fn wait_for(what: &str, deadline: Instant, mut done: impl FnMut() -> bool) {
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn lock_items(sb: &AwsSandbox) -> Vec<String> {
    sb.lock_ids().into_iter().filter(|id| !id.ends_with("-md5")).collect()
}

#[test]
fn sigterm_during_an_apply_stops_terraform_cleanly_and_the_next_run_succeeds() {
    require_terraform();
    let sb = AwsSandbox::new("sigterm");
    sb.bootstrap();
    use_slow_module(&sb, 15);
    assert_ok(&sb.plan("acme/shop", SHA_A), "plan");

    let apply = sb.spawn("apply", AwsSandbox::target_args("apply", "acme/shop", SHA_A));
    let deadline = Instant::now() + Duration::from_secs(120);
    // Interrupt while the slow resource is being created (Terraform holds the lock).
    wait_for("the provisioner to start", deadline, || apply.log().contains("Provisioning with 'local-exec'"));
    assert_eq!(lock_items(&sb).len(), 1, "the apply holds the state lock");
    signal(apply.id(), rustix::process::Signal::TERM);
    let out = apply.wait_until(deadline);

    assert_eq!(out.code, 130, "a cancelled run exits 130:\n{}", out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "cancelled", "{report}");
    assert!(report["errors"][0]["message"].as_str().unwrap_or_default().contains("received SIGTERM"), "{report}");
    assert!(out.stderr.contains("interrupting terraform apply"), "{}", out.stderr);
    assert!(lock_items(&sb).is_empty(), "Terraform released its lock: {:?}", sb.lock_ids());

    let history = sb.run(["--json", "history", "--customer", "acme/shop"]);
    assert_ok(&history, "history");
    let runs = history.json()["runs"].clone();
    assert_eq!((runs[0]["kind"].as_str(), runs[0]["status"].as_str()), (Some("apply"), Some("cancelled")), "{runs}");
    let work = sb.path().join("local/work");
    let left: Vec<_> = std::fs::read_dir(&work).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(left.is_empty(), "the run's work directory is removed: {left:?}");

    // Nothing was left half-done: a new plan and its apply go through.
    let replan = sb.plan("acme/shop", SHA_A);
    assert_ok(&replan, "plan after the cancelled apply");
    assert_ok(&sb.apply("acme/shop", SHA_A), "apply after the cancelled apply");
    assert!(lock_items(&sb).is_empty());
}

#[test]
fn a_plan_waits_for_a_held_lock_instead_of_failing() {
    require_terraform();
    let sb = AwsSandbox::new("lockwait");
    sb.bootstrap();
    use_slow_module(&sb, 4);
    sb.edit_config(|text| text.replace("lock_timeout: 5s", "lock_timeout: 60s"));
    assert_ok(&sb.plan("acme/shop", SHA_A), "plan");
    let apply = sb.spawn("apply", AwsSandbox::target_args("apply", "acme/shop", SHA_A));
    let deadline = Instant::now() + Duration::from_secs(120);
    wait_for("the apply to take the lock", deadline, || !lock_items(&sb).is_empty());
    // Planned while the apply holds the lock: it waits, then plans against the new state.
    let plan = sb.spawn("plan", AwsSandbox::target_args("plan", "acme/shop", SHA_A));
    assert_ok(&apply.wait_until(deadline), "apply");
    let out = plan.wait_until(deadline);
    assert_ok(&out, "a plan that waited for the lock");
    assert_eq!(out.json()["has_changes"], false, "planned after the apply finished");
}

/// A TCP server that accepts connections and never answers: an endpoint that stalls.
fn stalled_endpoint() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        listener.set_nonblocking(true).expect("nonblocking");
        while Instant::now() < deadline {
            if let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    (url, handle)
}

#[test]
fn a_stalled_store_ends_with_a_clear_error_within_its_bound() {
    let sb = AwsSandbox::new("stall");
    let (url, _server) = stalled_endpoint();
    sb.edit_config(|text| {
        let text = text.replace(&format!("endpoint: {}", sb.moto.endpoint()), &format!("endpoint: {url}"));
        text.replace("  local_dir:", "  call_timeout: 1s\n  local_dir:")
    });
    // Unbounded, this waited as long as the stall lasted; `wait_until` fails a hung run.
    let out = sb.spawn("locks", ["--json", "locks", "list"]).wait_until(Instant::now() + Duration::from_secs(45));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "failed");
    let message = report["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("DynamoDB") || message.contains("dynamodb"), "names the service: {message}");
    assert!(
        message.to_lowercase().contains("timeout") || message.contains("timed out"),
        "says it timed out: {message}"
    );
}

/// Puts a Terraform lock on `customer`'s staging state, taken `age` ago by a run that is gone.
fn plant_lock(sb: &AwsSandbox, customer: &str, age: Duration) {
    let lock_id = format!("{}/customers/{customer}/staging/terraform.tfstate", sb.bucket());
    let created = jiff::Timestamp::now() - jiff::SignedDuration::try_from(age).expect("age");
    let info = serde_json::json!({
        "ID": "killed-run", "Operation": "OperationTypeApply", "Info": "", "Who": "runner@gone",
        "Version": "1.11.4", "Created": created.to_string(), "Path": lock_id,
    });
    let request = sb
        .dynamodb()
        .put_item()
        .table_name(format!("{}-locks", sb.name))
        .item("LockID", aws_sdk_dynamodb::types::AttributeValue::S(lock_id))
        .item("Info", aws_sdk_dynamodb::types::AttributeValue::S(info.to_string()));
    sb.block_on(request.send()).expect("put lock");
}

#[test]
fn a_lock_left_by_a_killed_run_is_reported_abandoned_and_released_by_the_next_run_but_a_live_one_is_not() {
    require_terraform();
    let sb = AwsSandbox::new("abandon");
    sb.bootstrap();
    sb.edit_config(|text| text.replace("  module:", "  lock_timeout: 1s\n  run_timeout: 1h\n  module:"));

    // Five minutes old: its run may be alive. The plan waits its bound, then refuses.
    plant_lock(&sb, "acme/shop", Duration::from_secs(300));
    let listed = sb.run(["--json", "locks", "list"]);
    assert_ok(&listed, "locks list");
    assert_eq!(listed.json()["locks"][0]["abandoned"], false);
    let refused = sb.plan("acme/shop", SHA_A);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let report = refused.json();
    assert_eq!(report["status"], "refused", "{report}");
    assert!(report["errors"][0]["message"].as_str().unwrap_or_default().contains("locked by another run"), "{report}");
    assert_eq!(lock_items(&sb).len(), 1, "a live run's lock is never taken");

    // Three hours old, past any run's bound: reported abandoned, released by the next run.
    plant_lock(&sb, "acme/shop", Duration::from_secs(3 * 3600));
    let listed = sb.run(["locks", "list"]);
    assert!(listed.stdout.contains("(abandoned: older than any live run)"), "{}", listed.stdout);
    let plan = sb.plan("acme/shop", SHA_A);
    assert_ok(&plan, "plan over an abandoned lock");
    assert!(plan.stderr.contains("released an abandoned lock"), "{}", plan.stderr);
    assert!(lock_items(&sb).is_empty());
}

/// The Terraform the tests use: `INFRA_MANAGER_TERRAFORM`, else `terraform` or `tofu` on PATH.
fn real_terraform() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("INFRA_MANAGER_TERRAFORM") {
        return path.into();
    }
    let path = std::env::var_os("PATH").expect("PATH");
    std::env::split_paths(&path)
        .flat_map(|dir| [dir.join("terraform"), dir.join("tofu")])
        .find(|p| p.is_file())
        .expect("terraform on PATH")
}

/// A `terraform` that crashes (SIGKILL) when asked to run `command`, else runs the real one.
fn crashing_terraform(dir: &Path, command: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(format!("terraform-crashing-on-{command}"));
    let body = format!(
        "#!/bin/sh\nif [ \"$1\" = \"{command}\" ]; then kill -9 $$; fi\nexec '{}' \"$@\"\n",
        real_terraform().display()
    );
    std::fs::write(&script, body).expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

#[test]
fn terraform_crashing_fails_the_run_clearly_and_leaves_nothing_behind() {
    require_terraform();
    let sb = AwsSandbox::new("crash");
    sb.bootstrap();
    for command in ["plan", "init"] {
        let crashing = crashing_terraform(sb.path(), command);
        let out = sb
            .command(AwsSandbox::target_args("plan", "acme/shop", SHA_A))
            .env("INFRA_MANAGER_TERRAFORM", &crashing)
            .run();
        assert_eq!(out.code, 1, "{command}: {}", out.stderr);
        let report = out.json();
        assert_eq!(report["status"], "failed", "{command}: {report}");
        let message = report["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains(&format!("terraform {command} failed")), "{command}: {message}");
        assert!(lock_items(&sb).is_empty(), "{command}: no lock left");
    }
    let history = sb.run(["--json", "history", "--customer", "acme/shop"]);
    let statuses: Vec<String> = history.json()["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(statuses, ["failed", "failed"], "each crash is recorded as failed, none left started");
    assert_ok(&sb.plan("acme/shop", SHA_A), "plan with a working Terraform");
}

#[test]
fn an_unreachable_store_fails_each_command_clearly_before_terraform_runs() {
    let sb = AwsSandbox::new("down");
    // Nothing listens on this port: every call is refused at once.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    sb.edit_config(|text| {
        let text = text.replace(&format!("endpoint: {}", sb.moto.endpoint()), &format!("endpoint: {closed}"));
        text.replace("  local_dir:", "  call_timeout: 2s\n  local_dir:")
    });
    let deadline = || Instant::now() + Duration::from_secs(60);
    let cases: [(&str, Vec<String>); 4] = [
        ("bootstrap", vec!["--json".into(), "bootstrap".into()]),
        ("history", ["--json", "history", "--customer", "acme/shop"].map(str::to_owned).to_vec()),
        ("locks list", ["--json", "locks", "list"].map(str::to_owned).to_vec()),
        ("apply", AwsSandbox::target_args("apply", "acme/shop", SHA_A)),
    ];
    for (what, args) in cases {
        let out = sb.spawn(what, args).wait_until(deadline());
        assert_eq!(out.code, 1, "{what}: {}\n{}", out.stdout, out.stderr);
        let report = out.json();
        assert_eq!(report["status"], "failed", "{what}: {report}");
        let message = report["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("can't reach "), "{what}: says the store is unreachable: {message}");
        assert!(message.contains(" for `"), "{what}: names the call that failed: {message}");
        assert!(report["errors"][0]["hint"].as_str().is_some_and(|h| h.contains("state.endpoint")), "{what}: {report}");
        assert!(!out.stderr.contains("» terraform"), "{what}: Terraform never ran");
    }
}

/// Issue 20, item 7: a plan file Terraform could not write (a full disk) fails with
/// Terraform's own diagnostic, in the error and the record, never as a corrupt plan.
#[test]
fn a_plan_file_terraform_could_not_write_fails_with_terraform_s_own_words() {
    use std::os::unix::fs::PermissionsExt;
    require_terraform();
    let sb = crate::support::cli::Sandbox::new();
    let script = sb.path().join("terraform-disk-full");
    let diagnostic = r#"{"@level":"error","@message":"Error: Failed to write plan file","type":"diagnostic","diagnostic":{"severity":"error","summary":"Failed to write plan file","detail":"The plan file could not be written: write infra-manager.tfplan: no space left on device."}}"#;
    let body = format!(
        "#!/bin/sh\nif [ \"$1\" = plan ]; then\n  for a; do case \"$a\" in -out=*) f=\"${{a#-out=}}\";; esac; done\n  printf 'PK\\003\\004half' > \"$f\"\n  echo '{diagnostic}'\n  exit 1\nfi\nexec '{}' \"$@\"\n",
        real_terraform().display()
    );
    std::fs::write(&script, body).expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = crate::support::cli::Run::new(sb.path())
        .args(["--json", "plan", "--source-dir", "shop", "--env", "staging"])
        .env("INFRA_MANAGER_TERRAFORM", &script)
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let message = out.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("Failed to write plan file") && message.contains("no space left on device"), "{message}");
    assert!(!message.to_lowercase().contains("zip"), "not reported as a corrupt plan: {message}");
    let history =
        crate::support::cli::Run::new(sb.path()).args(["--json", "history", "--customer", "local/shop"]).run();
    let record = history.json()["runs"][0].clone();
    assert_eq!(record["status"], "failed", "{record}");
    assert!(record["message"].as_str().is_some_and(|m| m.contains("Failed to write plan file")), "{record}");
}

/// Issue 20, item 1: SIGKILL of the engine alone (a runner's cancel, the OOM killer) no
/// longer kills Terraform mid-apply: it writes to files, not to a pipe whose reader died,
/// so it finishes the apply, saves the state and releases its lock; the next plan finds
/// nothing to do (nothing created and missing from the state).
#[test]
fn sigkill_of_the_engine_leaves_terraform_to_finish_save_the_state_and_release_its_lock() {
    require_terraform();
    let sb = AwsSandbox::new("enginekill");
    sb.bootstrap();
    use_slow_module(&sb, 6);
    assert_ok(&sb.plan("acme/shop", SHA_A), "plan");
    let mut apply = sb.spawn("apply", AwsSandbox::target_args("apply", "acme/shop", SHA_A));
    let deadline = Instant::now() + Duration::from_secs(120);
    wait_for("the provisioner to start", deadline, || apply.log().contains("Provisioning with 'local-exec'"));
    assert_eq!(lock_items(&sb).len(), 1, "the apply holds the state lock");
    signal(apply.id(), rustix::process::Signal::KILL);
    let _ = apply.child.wait();
    wait_for("Terraform to finish and release its lock", deadline, || lock_items(&sb).is_empty());
    let replan = sb.plan("acme/shop", SHA_A);
    assert_ok(&replan, "plan after the engine was killed");
    assert_eq!(replan.json()["has_changes"], false, "everything Terraform created is in the state: {}", replan.stdout);
}

/// A local sandbox whose plan is stored and whose apply runs a Terraform stand-in that
/// ignores `ignored` signals for `seconds`: the apply is started and returned once the
/// stand-in ignores them (a signal before its trap would end it), with its stderr log.
fn apply_with_a_deaf_terraform(
    sb: &crate::support::cli::Sandbox,
    ignored: &str,
    seconds: u32,
) -> (std::process::Child, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let plan = crate::support::cli::Run::new(sb.path())
        .args(["--json", "plan", "--source-dir", "shop", "--env", "staging"])
        .run();
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let ready = sb.path().join("deaf");
    let script = sb.path().join("terraform-deaf");
    let body = format!(
        "#!/bin/sh\nif [ \"$1\" = apply ]; then trap '' {ignored}; touch '{}'; sleep {seconds}; exit 1; fi\nexec '{}' \"$@\"\n",
        ready.display(),
        real_terraform().display()
    );
    std::fs::write(&script, body).expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let logs = sb.path().join("apply.err");
    let child = crate::support::cli::Run::new(sb.path())
        .args(["--json", "apply", "--source-dir", "shop", "--env", "staging"])
        .env("INFRA_MANAGER_TERRAFORM", &script)
        .into_command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&logs).expect("log"))
        .spawn()
        .expect("spawn");
    wait_for("the apply to ignore interrupts", Instant::now() + Duration::from_secs(60), || ready.exists());
    (child, logs)
}

/// Issue 20, item 2: GitHub's cancel sequence (SIGINT, then SIGTERM 7.5 s later, the tree
/// killed 2.5 s after that) with a Terraform that needs longer to stop: on the second
/// signal the run stops waiting, reports the truth (cancelled, Terraform still stopping,
/// what that may leave) and exits at once, well inside the window.
#[test]
fn a_second_signal_ends_the_wait_for_a_slow_to_stop_terraform_and_the_run_reports_at_once() {
    require_terraform();
    let sb = crate::support::cli::Sandbox::new();
    // A Terraform whose apply ignores the interrupt for 15 s.
    let (mut child, logs) = apply_with_a_deaf_terraform(&sb, "INT TERM", 15);
    let deadline = Instant::now() + Duration::from_secs(60);
    let log = || std::fs::read_to_string(&logs).unwrap_or_default();
    signal(child.id(), rustix::process::Signal::INT);
    wait_for("the interrupt", deadline, || log().contains("interrupting terraform apply"));
    std::thread::sleep(Duration::from_millis(500));
    let second = Instant::now();
    signal(child.id(), rustix::process::Signal::TERM);
    let status = child.wait().expect("wait");
    let took = second.elapsed();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut stdout).expect("read");
    assert!(took < Duration::from_secs(2), "exited {took:?} after the second signal");
    assert_eq!(status.code(), Some(130), "{stdout}\n{}", log());
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let error = &report["errors"][0];
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("second signal while Terraform was still stopping"), "{message}");
    assert!(error["hint"].as_str().is_some_and(|h| h.contains("locks list")), "{error}");
    assert!(!message.contains("half-done"), "{message}");
    let history =
        crate::support::cli::Run::new(sb.path()).args(["--json", "history", "--customer", "local/shop"]).run();
    let record = history.json()["runs"][0].clone();
    assert_eq!((record["kind"].as_str(), record["status"].as_str()), (Some("apply"), Some("cancelled")), "{record}");
}

/// Issue 20, item 3: a Terraform killed after `terraform.stop_timeout` is reported as
/// killed, with what that may leave (a lock, resources missing from the state) and the
/// command that shows it, never as a clean stop.
#[test]
fn a_terraform_killed_after_stop_timeout_is_reported_as_killed_not_as_a_clean_stop() {
    require_terraform();
    let sb = crate::support::cli::Sandbox::new();
    let config = sb.path().join("infra-manager.yml");
    let text =
        std::fs::read_to_string(&config).expect("config").replace("terraform:\n", "terraform:\n  stop_timeout: 1s\n");
    std::fs::write(&config, text).expect("write");
    let (mut child, _) = apply_with_a_deaf_terraform(&sb, "INT", 30);
    signal(child.id(), rustix::process::Signal::TERM);
    let status = child.wait().expect("wait");
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut stdout).expect("read");
    assert_eq!(status.code(), Some(130), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let error = &report["errors"][0];
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("did not stop within `terraform.stop_timeout` and was killed"), "{message}");
    let hint = error["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("locks list") && !hint.contains("half-done"), "{hint}");
}

/// The children of `parent` (from `/proc`).
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid …`: the fields after the last `)`.
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// Issue 20, item 3: Terraform killed mid-apply (SIGKILL of its process group) leaves
/// created resources the state does not hold; the run reads the state back and says which
/// ones, in the error, the status line and the record, with what to do.
#[test]
fn terraform_killed_mid_apply_is_read_back_and_the_run_names_what_the_state_lacks() {
    require_terraform();
    let sb = AwsSandbox::new("tfkill");
    sb.bootstrap();
    use_slow_module(&sb, 20);
    assert_ok(&sb.plan("acme/shop", SHA_A), "plan");
    let apply = sb.spawn("apply", AwsSandbox::target_args("apply", "acme/shop", SHA_A));
    let deadline = Instant::now() + Duration::from_secs(120);
    wait_for("the provisioner to start", deadline, || apply.log().contains("Provisioning with 'local-exec'"));
    std::thread::sleep(Duration::from_millis(500));
    // Terraform runs in a process group of its own: kill all of it, not the engine.
    let leads_its_group = |pid: u32| {
        let Some(id) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
        rustix::process::getpgid(Some(id)).is_ok_and(|group| group == id)
    };
    let terraform =
        children_of(apply.id()).into_iter().find(|pid| leads_its_group(*pid)).expect("Terraform's process group");
    let group = rustix::process::Pid::from_raw(i32::try_from(terraform).expect("pid")).expect("pid");
    rustix::process::kill_process_group(group, rustix::process::Signal::KILL).expect("kill");
    let out = apply.wait_until(deadline);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let error = &out.json()["errors"][0];
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("were created but are not in the state: module.app."), "{message}");
    assert!(message.contains("killed by signal 9"), "{message}");
    assert!(
        message.contains("the state is still locked")
            && message.contains("locks release --customer acme/shop --env staging --force"),
        "the lock Terraform left is read back: {message}"
    );
    assert!(error["hint"].as_str().is_some_and(|h| h.contains("terraform import")), "{error}");
    let history = sb.run(["--json", "history", "--customer", "acme/shop"]);
    let record = history.json()["runs"][0].clone();
    assert!(
        record["message"].as_str().is_some_and(|m| m.contains("were created but are not in the state")),
        "{record}"
    );
}

/// Issue 20, item 4: the store goes away mid-apply, Terraform can't save the state and
/// writes `errored.tfstate`: the run keeps it (the working directory outlives the run,
/// renamed `kept-…`), puts it in the store as soon as the store is back, says where and
/// how to restore it, and never deletes it.
#[test]
fn an_errored_state_is_kept_and_named_when_the_store_goes_away_mid_apply() {
    require_terraform();
    let mut sb = AwsSandbox::new("errored");
    sb.bootstrap();
    use_slow_module(&sb, 5);
    sb.edit_config(|text| text.replace("  lock: ", "  call_timeout: 10s\n  lock: "));
    assert_ok(&sb.plan("acme/shop", SHA_A), "plan");
    let apply = sb.spawn("apply", AwsSandbox::target_args("apply", "acme/shop", SHA_A));
    let deadline = Instant::now() + Duration::from_secs(280);
    wait_for("the provisioner to start", deadline, || apply.log().contains("Provisioning with 'local-exec'"));
    sb.moto.stop();
    // Once Terraform gave up and the run waits for the store, the store comes back.
    wait_for("the run to wait for the store", deadline, || {
        apply.log().contains("can't keep the errored state in the store yet")
    });
    sb.moto.restart();
    sb.bootstrap();
    let out = apply.wait_until(deadline);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let message = out.json()["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("Terraform could not save the state"), "{message}");
    let kept = message
        .split('`')
        .find(|part| part.ends_with("errored.tfstate"))
        .map(std::path::PathBuf::from)
        .expect("the kept file is named");
    assert!(kept.is_file(), "kept at {}", kept.display());
    assert!(kept.to_string_lossy().contains("/kept-"), "outside what a next run removes: {}", kept.display());
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&kept).expect("read")).expect("a state");
    assert!(state["resources"].as_array().is_some_and(|r| !r.is_empty()), "the whole state: {state}");
    assert!(message.contains("state push errored.tfstate"), "the one command that restores it: {message}");
    let stored =
        message.split('`').find(|part| part.starts_with("s3://")).expect("the store's copy is named").to_owned();
    let key = stored.trim_start_matches("s3://errored-state/");
    assert!(key.starts_with("customers/acme/shop/staging/errored/"), "{stored}");
    assert_eq!(sb.object(key), std::fs::read(&kept).expect("read"), "the store holds the same state");
}

/// Issue 20, item 5: a run killed with its Terraform (the runner gone) leaves the state
/// locked. Once GitHub says that workflow run has ended, the next run frees the lock at
/// once (the dead run's record says how it ended) and proceeds unaided, instead of waiting
/// out `lock_timeout` and failing for an hour.
#[test]
fn a_dead_runs_lock_is_freed_when_github_says_its_run_ended() {
    require_terraform();
    let sb = AwsSandbox::new("deadrun");
    sb.bootstrap();
    use_slow_module(&sb, 30);
    assert_ok(&sb.plan("acme/shop", SHA_A), "plan");
    let identity = [("GITHUB_REPOSITORY", "provider/manager"), ("GITHUB_RUN_ID", "77"), ("GITHUB_RUN_ATTEMPT", "1")];
    let apply = sb.spawn_with("apply", AwsSandbox::target_args("apply", "acme/shop", SHA_A), &identity);
    let deadline = Instant::now() + Duration::from_secs(120);
    wait_for("the provisioner to start", deadline, || apply.log().contains("Provisioning with 'local-exec'"));
    // The runner goes away: the engine and its Terraform are killed, the lock stays.
    for pid in children_of(apply.id()) {
        if let Some(group) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
    signal(apply.id(), rustix::process::Signal::KILL);
    let _ = apply.wait_until(deadline);
    assert_eq!(lock_items(&sb).len(), 1, "the dead run's lock is held");

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let fake = runtime.block_on(fake_github::FakeGithub::start());
    let completed =
        fake_github::WorkflowRun { status: "completed".into(), conclusion: Some("cancelled".into()), attempt: 1 };
    fake.put_workflow_run("provider/manager", 77, completed);
    // `locks list` names the run that holds the lock, and that it has ended.
    let listed = sb
        .command(["--json", "locks", "list"])
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_TOKEN", "ghs_manager_token_value")
        .run();
    assert_ok(&listed, "locks list");
    let lock = &listed.json()["locks"][0];
    assert_eq!((lock["run"].as_str(), lock["alive"].as_bool()), (Some("77 (attempt 1)"), Some(false)), "{lock}");
    let started = Instant::now();
    let plan = sb
        .command(AwsSandbox::target_args("plan", "acme/shop", SHA_A))
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_TOKEN", "ghs_manager_token_value")
        .env("GITHUB_REPOSITORY", "provider/manager")
        .run();
    assert_ok(&plan, "plan after the dead run");
    assert!(started.elapsed() < Duration::from_secs(60), "unaided within a minute: {:?}", started.elapsed());
    assert!(
        plan.stderr.contains("released the lock on acme/shop (staging): its run is over (GitHub says workflow run 77"),
        "{}",
        plan.stderr
    );
    let history = sb.run(["--json", "history", "--customer", "acme/shop"]);
    let dead = history.json()["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|r| r["kind"] == "apply")
        .cloned()
        .expect("the dead apply");
    assert_eq!(dead["status"], "failed", "{dead}");
    assert!(dead["message"].as_str().is_some_and(|m| m.contains("ended without finishing")), "{dead}");
}
