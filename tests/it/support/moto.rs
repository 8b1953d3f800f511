//! A private `moto_server` (S3 + DynamoDB) on a free port of 127.0.0.1, one per test.
//!
//! The executable is `$MOTO_SERVER`, else `.tools/venv/bin/moto_server` under the workspace
//! root (what `scripts/tools.sh` installs), else `moto_server` on `PATH`; without one the
//! test panics rather than skipping. Fake credentials are handed to the code under test
//! explicitly ([`Moto::store`], [`Moto::env`]); the test process's environment is never
//! changed, so tests run in parallel.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use infra_manager::store::s3::{LockMode, S3Settings, S3Store};

const START_ATTEMPTS: u32 = 3;
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running moto server; killed when dropped.
pub(crate) struct Moto {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts a server and waits until it answers HTTP.
    pub(crate) fn start() -> Self {
        let executable = find_moto_server();
        let dir = tempfile::tempdir().expect("a temporary directory for the moto log");
        let mut last_log = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port();
            let log = dir.path().join(format!("moto-{attempt}.log"));
            let log_file = std::fs::File::create(&log).expect("create the moto log");
            let mut child = Command::new(&executable)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("clone the log handle"))
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("can't start `{}`: {e}", executable.display()));
            if wait_ready(&mut child, port) {
                return Moto { child, endpoint: format!("http://127.0.0.1:{port}"), _dir: dir };
            }
            // Another process may have taken the port between probing and binding: retry.
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!(
            "`{}` did not start after {START_ATTEMPTS} attempts; its last output:\n{last_log}",
            executable.display()
        );
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Settings whose bucket and tables are named after `name` (3+ chars, `[a-z0-9-]`).
    pub(crate) fn settings(&self, name: &str) -> S3Settings {
        S3Settings {
            bucket: format!("{name}-state"),
            region: "us-east-1".to_owned(),
            endpoint: Some(self.endpoint.clone()),
            force_path_style: true,
            key_prefix: "customers".to_owned(),
            lock: LockMode::Dynamodb,
            lock_table: format!("{name}-locks"),
            records_table: format!("{name}-runs"),
            ..S3Settings::default()
        }
    }

    /// The body of an unsigned `GET <path>` (moto does not check signatures), for checks
    /// that should not go through the code under test.
    pub(crate) fn raw_get(&self, path: &str) -> String {
        let port = self.endpoint.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()).expect("a port");
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or(response)
    }

    /// A store on this server with fake credentials.
    pub(crate) async fn store(&self, settings: S3Settings) -> S3Store {
        S3Store::with_credentials(settings, credentials()).await.expect("valid test settings")
    }

    /// Credentials for a subprocess (Terraform); the endpoint comes from its backend block.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_SESSION_TOKEN", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
    }
}

impl Moto {
    /// Stops the server (a store gone mid-run); its endpoint then refuses connections.
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a new server on the same endpoint (empty: moto keeps nothing).
    pub(crate) fn restart(&mut self) {
        self.stop();
        let port: u16 = self.endpoint.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
        let log = self._dir.path().join("moto-restarted.log");
        let log_file = std::fs::File::create(&log).expect("create the moto log");
        let mut child = Command::new(find_moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the log handle"))
            .stderr(log_file)
            .spawn()
            .expect("restart moto");
        assert!(
            wait_ready(&mut child, port),
            "moto did not restart: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        self.child = child;
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fake static credentials; moto accepts any.
pub(crate) fn credentials() -> aws_sdk_s3::config::Credentials {
    aws_sdk_s3::config::Credentials::new("testing", "testing", Some("testing".to_owned()), None, "moto-test")
}

fn find_moto_server() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "MOTO_SERVER is set to `{}`, which is not a file", path.display());
        return path;
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/moto_server");
    if venv.is_file() {
        return venv;
    }
    if let Some(path) = find_on_path("moto_server") {
        return path;
    }
    panic!(
        "moto_server not found (looked at $MOTO_SERVER, {} and PATH); the S3 store tests need it\n\
         hint: run `scripts/tools.sh` to install the test tools into `.tools/`",
        venv.display()
    );
}

/// The first `name` on `PATH` that is a file.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

/// Waits until the server answers HTTP; `false` if it exits or takes too long.
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_status)) = child.try_wait() {
            return false;
        }
        if answers_http(port) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    listener.local_addr().expect("the bound address").port()
}

fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
