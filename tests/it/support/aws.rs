//! An S3-backed manager setup on a private moto server, for running the real binary end to
//! end: `infra-manager.yml` with `state.backend: s3` pointing at moto, the sandbox module,
//! a copy of the v1 customer file as the customer checkout `shop`, and fake AWS credentials
//! passed to the binary only (the test process's environment is never changed).

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use infra_manager::store::s3::S3Store;

use super::cli::{Output, Run, repo_root, v1_variables};
use super::moto::Moto;

/// A manager directory whose config points at its own moto server.
pub(crate) struct AwsSandbox {
    /// Checks go through the SDK directly, never through the code under test's commands.
    store: S3Store,
    runtime: tokio::runtime::Runtime,
    pub moto: Moto,
    pub dir: tempfile::TempDir,
    /// Resources are named `<name>-state`, `<name>-locks`, `<name>-runs`.
    pub name: String,
}

impl AwsSandbox {
    /// Starts moto and writes the config; nothing is bootstrapped yet.
    pub(crate) fn new(name: &str) -> Self {
        let moto = Moto::start();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("infra-manager.yml"),
            config_text(name, moto.endpoint(), &dir.path().join("local")),
        )
        .expect("write config");
        let infra = dir.path().join("shop/infra");
        std::fs::create_dir_all(&infra).expect("mkdir");
        std::fs::copy(v1_variables(), infra.join("variables.yml")).expect("copy");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let store = runtime.block_on(moto.store(moto.settings(name)));
        Self { store, runtime, moto, dir, name: name.to_owned() }
    }

    /// Edits `infra-manager.yml` (e.g. to drop the endpoint or switch the lock mode).
    pub(crate) fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let path = self.path().join("infra-manager.yml");
        let text = std::fs::read_to_string(&path).expect("read config");
        std::fs::write(path, edit(text)).expect("write config");
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn bucket(&self) -> String {
        format!("{}-state", self.name)
    }

    /// The binary in the sandbox, with the fake credentials and nothing else from AWS's env.
    pub(crate) fn command<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut run = Run::new(self.path());
        for key in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "TF_WORKSPACE",
        ] {
            run = run.env_remove(key);
        }
        run.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", self.path().join("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.path().join("no-aws-credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(args)
    }

    pub(crate) fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command(args).run()
    }

    /// `infra-manager --json <command> --source-dir shop --env staging --customer <c> --sha <sha>`.
    pub(crate) fn target_args(command: &str, customer: &str, sha: &str) -> Vec<String> {
        ["--json", command, "--source-dir", "shop", "--env", "staging", "--customer", customer, "--sha", sha]
            .map(str::to_owned)
            .to_vec()
    }

    pub(crate) fn plan(&self, customer: &str, sha: &str) -> Output {
        self.run(Self::target_args("plan", customer, sha))
    }

    pub(crate) fn apply(&self, customer: &str, sha: &str) -> Output {
        self.run(Self::target_args("apply", customer, sha))
    }

    /// Runs `bootstrap` and checks it worked.
    pub(crate) fn bootstrap(&self) {
        let out = self.run(["bootstrap"]);
        assert_eq!(out.code, 0, "bootstrap failed:\n{}", out.stderr);
    }

    /// Starts the binary with its output going to files (no pipe can fill up and stall it).
    pub(crate) fn spawn<I, S>(&self, label: &str, args: I) -> Spawned
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.spawn_with(label, args, &[])
    }

    /// [`AwsSandbox::spawn`] with more environment variables.
    pub(crate) fn spawn_with<I, S>(&self, label: &str, args: I, env: &[(&str, &str)]) -> Spawned
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let logs = self.path().join("logs");
        std::fs::create_dir_all(&logs).expect("mkdir logs");
        let (stdout, stderr) = (logs.join(format!("{label}.out")), logs.join(format!("{label}.err")));
        let mut command = self.command(args);
        for (key, value) in env {
            command = command.env(key, value);
        }
        let child = command
            .into_command()
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn infra-manager");
        Spawned { label: label.to_owned(), child, stdout, stderr }
    }

    /// Runs an SDK call (or any future) for a check.
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The SDK clients on the sandbox's moto.
    pub(crate) fn s3(&self) -> &aws_sdk_s3::Client {
        &self.store.clients().s3
    }

    pub(crate) fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.store.clients().dynamodb
    }

    /// Every object key in the state bucket, sorted (empty when there is no bucket yet).
    pub(crate) fn object_keys(&self) -> Vec<String> {
        let listed = self.block_on(self.s3().list_objects_v2().bucket(self.bucket()).send());
        let Ok(listed) = listed else { return Vec::new() };
        let mut keys: Vec<String> = listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
        keys.sort();
        keys
    }

    pub(crate) fn object(&self, key: &str) -> Vec<u8> {
        let out = self
            .block_on(self.s3().get_object().bucket(self.bucket()).key(key).send())
            .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
        self.block_on(out.body.collect()).expect("body").into_bytes().to_vec()
    }

    pub(crate) fn put_object(&self, key: &str, bytes: Vec<u8>) {
        let body = aws_sdk_s3::primitives::ByteStream::from(bytes);
        self.block_on(self.s3().put_object().bucket(self.bucket()).key(key).body(body).send())
            .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
    }

    /// Every `LockID` in the lock table, sorted.
    pub(crate) fn lock_ids(&self) -> Vec<String> {
        self.scan(&format!("{}-locks", self.name), "LockID")
    }

    /// Every `sk` in the records table, sorted.
    pub(crate) fn record_keys(&self) -> Vec<String> {
        self.scan(&format!("{}-runs", self.name), "sk")
    }

    fn scan(&self, table: &str, attribute: &str) -> Vec<String> {
        let scan = self.block_on(self.dynamodb().scan().table_name(table).send());
        let Ok(scan) = scan else { return Vec::new() };
        let mut values: Vec<String> =
            scan.items().iter().filter_map(|i| i.get(attribute)?.as_s().ok().cloned()).collect();
        values.sort();
        values
    }
}

fn config_text(name: &str, endpoint: &str, local_dir: &Path) -> String {
    format!(
        "terraform:\n  modules_dir: {modules}\n  module: sandbox-app-environment\n\
         state:\n  backend: s3\n  bucket: {name}-state\n  region: us-east-1\n  endpoint: {endpoint}\n  force_path_style: true\n  \
         key_prefix: customers\n  lock: dynamodb\n  lock_table: {name}-locks\n  records_table: {name}-runs\n  local_dir: {local}\n",
        modules = repo_root().join("manager-terraform").display(),
        local = local_dir.display(),
    )
}

/// A running binary whose output goes to files.
pub(crate) struct Spawned {
    pub label: String,
    pub(crate) child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Spawned {
    /// The process ID, to signal it.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// What it has logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits until `deadline`; a run still going then is killed and the test fails (it hung).
    pub(crate) fn wait_until(mut self, deadline: Instant) -> Output {
        loop {
            match self.child.try_wait().expect("wait") {
                Some(status) => {
                    return Output {
                        code: status.code().unwrap_or(-1),
                        stdout: std::fs::read_to_string(&self.stdout).unwrap_or_default(),
                        stderr: std::fs::read_to_string(&self.stderr).unwrap_or_default(),
                    };
                }
                None if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "`{}` hung: still running at its deadline; its log:\n{}",
                        self.label,
                        std::fs::read_to_string(&self.stderr).unwrap_or_default()
                    );
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}
