//! Running the external tools (`terraform`/`tofu`, `git`): finding the executable once,
//! reading stderr while the process runs (kept, bounded, for the failure's summary), and
//! stopping a process when the run is cancelled: one interrupt, a bounded wait, then a kill.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::cancel::Cancel;
use crate::output;

/// How many stderr lines are kept for a failure's summary.
const KEPT_LINES: usize = 200;

/// `name` looked up in `search_path` (i.e. `PATH`), or `name` itself when it is a path.
pub fn find_executable(name: &str, search_path: Option<&OsStr>) -> Option<PathBuf> {
    let candidate = Path::new(name);
    if candidate.components().count() > 1 {
        return candidate.is_file().then(|| candidate.to_path_buf());
    }
    std::env::split_paths(search_path?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// When and how a running process is stopped.
#[derive(Debug, Clone, Copy)]
pub struct Stop<'a> {
    pub cancel: &'a Cancel,
    /// How long an interrupted process has to stop before it is killed.
    pub timeout: Duration,
    /// What runs, for the log: `terraform plan`, `git log`.
    pub what: &'a str,
}

/// How an interrupted process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopEnd {
    /// It stopped on its own after the interrupt (with this exit code).
    Stopped(i32),
    /// It did not stop within the bound and was killed.
    Killed,
    /// A second signal ended the wait: it was left running, to stop on its own.
    LeftRunning,
}

/// Why a process has no exit code to report.
#[derive(Debug)]
pub enum WaitError {
    /// Waiting for it failed.
    Io(std::io::Error),
    /// The run was cancelled and the process did not finish successfully: how it ended.
    Cancelled(StopEnd),
}

/// Waits for `child`; on cancellation interrupts it once (SIGINT: Terraform then stops,
/// writes state and releases its lock) and waits up to `stop.timeout`, then kills it. A
/// process that still finished successfully counts as finished.
pub async fn wait(child: &mut Child, stop: &Stop<'_>) -> Result<i32, WaitError> {
    // A process killed by a signal has no exit code: 128 + the signal, as a shell says it.
    let code = |status: std::process::ExitStatus| {
        use std::os::unix::process::ExitStatusExt;
        status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
    };
    tokio::select! {
        status = child.wait() => return status.map(code).map_err(WaitError::Io),
        () = stop.cancel.cancelled() => {}
    }
    let pid = child.id().and_then(|id| rustix::process::Pid::from_raw(i32::try_from(id).ok()?));
    if let Some(pid) = pid {
        output::log(&format!(
            "» interrupting {}; waiting up to {}s for it to stop cleanly",
            stop.what,
            stop.timeout.as_secs()
        ));
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
    }
    tokio::select! {
        status = tokio::time::timeout(stop.timeout, child.wait()) => match status {
            Ok(Ok(status)) if status.success() => Ok(0),
            Ok(status) => Err(WaitError::Cancelled(StopEnd::Stopped(status.map(code).unwrap_or(-1)))),
            Err(_) => {
                output::log(&format!("{} did not stop within {}s; killing it", stop.what, stop.timeout.as_secs()));
                let _ = child.kill().await;
                Err(WaitError::Cancelled(StopEnd::Killed))
            }
        },
        // A second signal: the runner kills the whole tree soon. Report now, and leave the
        // process to go on stopping (saving what it can) until then.
        () = stop.cancel.urgent() => {
            output::log(&format!("leaving {} to stop on its own; the run ends now", stop.what));
            Err(WaitError::Cancelled(StopEnd::LeftRunning))
        }
    }
}

/// Where a long-running child (Terraform) writes its output: two files in its working
/// directory that the engine follows as they grow. Unlike a pipe, a file never makes the
/// writer fail when the reader is gone, so a killed engine leaves a child that runs to
/// its end (or stops cleanly on its own signal) instead of one killed at its next line.
pub struct OutputFiles {
    stdout: PathBuf,
    stderr: PathBuf,
}

/// The followers of [`OutputFiles`]: each reads its file as it grows, to its end once the
/// child is done.
pub struct Followers {
    pub stdout: tokio::io::DuplexStream,
    pub stderr: tokio::io::DuplexStream,
}

impl OutputFiles {
    /// Two new files for a run of `step` in `dir` (a hidden name per process and run).
    pub fn create(dir: &Path, step: &str) -> std::io::Result<Self> {
        let stem = format!(".infra-manager-{step}-{}-{:08x}", std::process::id(), fastrand::u32(..));
        let files = Self { stdout: dir.join(format!("{stem}.stdout")), stderr: dir.join(format!("{stem}.stderr")) };
        std::fs::File::create(&files.stdout)?;
        std::fs::File::create(&files.stderr)?;
        Ok(files)
    }

    /// The child's stdout and stderr: the two files, opened for appending.
    pub fn stdio(&self) -> std::io::Result<(Stdio, Stdio)> {
        let open = |path: &Path| std::fs::OpenOptions::new().append(true).open(path);
        Ok((Stdio::from(open(&self.stdout)?), Stdio::from(open(&self.stderr)?)))
    }

    /// Starts following both files; send `true` on the returned sender once the child has
    /// exited, and the followers read what is left and end.
    pub fn follow(&self) -> (tokio::sync::watch::Sender<bool>, Followers) {
        let (finished, done) = tokio::sync::watch::channel(false);
        let followers =
            Followers { stdout: follow(self.stdout.clone(), done.clone()), stderr: follow(self.stderr.clone(), done) };
        (finished, followers)
    }

    /// Removes the files (a run that ended; a killed engine leaves them for the record).
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.stdout);
        let _ = std::fs::remove_file(&self.stderr);
    }
}

/// How long a follower waits for more output before it looks again.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(25);

/// Reads `path` as it grows into a stream, until `done` says the writer has exited and the
/// file holds nothing more.
fn follow(path: PathBuf, mut done: tokio::sync::watch::Receiver<bool>) -> tokio::io::DuplexStream {
    let (reader, mut writer) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let Ok(mut file) = tokio::fs::File::open(&path).await else { return };
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // Read after looking at `done`: a read of nothing once the writer has exited is the end.
            let finished = *done.borrow();
            match file.read(&mut buf).await {
                Ok(0) if finished => break,
                Ok(0) => {
                    // The run that would say "done" is gone (its future dropped): stop.
                    if let Ok(Err(_)) = tokio::time::timeout(FOLLOW_POLL, done.changed()).await {
                        break;
                    }
                }
                Ok(n) => {
                    if writer.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    reader
}

/// A task reading one stream line by line.
pub type Pump = tokio::task::JoinHandle<Vec<String>>;

/// Reads `reader` to its end, copying each line to the log when `echo`; returns the first
/// lines (bounded), for a failure's summary.
pub fn pump<R>(reader: R, echo: bool) -> Pump
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut kept = Vec::new();
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if echo {
                output::gutter(&line);
            }
            if kept.len() < KEPT_LINES {
                kept.push(line);
            }
        }
        kept
    })
}

/// The lines a pump kept.
pub async fn collect(pump: Option<Pump>) -> Vec<String> {
    match pump {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    }
}

/// A process that ran to its end.
#[derive(Debug)]
pub struct Captured {
    pub code: i32,
    pub stdout: Vec<u8>,
    /// The first stderr lines.
    pub stderr: Vec<String>,
}

impl Captured {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// Why [`capture`] has no result.
#[derive(Debug)]
pub enum CaptureError {
    /// The process could not be started, fed or waited for.
    Io(std::io::Error),
    /// The run was cancelled before or while it ran.
    Cancelled,
}

/// Runs `command` to its end with `stdin` as its input (none: `/dev/null`): its exit
/// code, its whole stdout and the first lines of its stderr (copied to the log when
/// `echo_stderr`). Cancellation stops it as [`wait`] does.
pub async fn capture(
    mut command: Command,
    stdin: Option<&[u8]>,
    echo_stderr: bool,
    stop: &Stop<'_>,
) -> Result<Captured, CaptureError> {
    if stop.cancel.is_cancelled() {
        return Err(CaptureError::Cancelled);
    }
    command
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(CaptureError::Io)?;
    let stdout = child.stdout.take().map(|mut pipe| {
        tokio::spawn(async move {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes).await;
            bytes
        })
    });
    let stderr = child.stderr.take().map(|pipe| pump(pipe, echo_stderr));
    // Fed while stdout and stderr are read, so a large input can't block on a full pipe.
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(bytes).await.map_err(CaptureError::Io)?;
        drop(pipe);
    }
    let exit = wait(&mut child, stop).await;
    let stdout = match stdout {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    };
    let stderr = collect(stderr).await;
    match exit {
        Ok(code) => Ok(Captured { code, stdout, stderr }),
        Err(WaitError::Io(e)) => Err(CaptureError::Io(e)),
        Err(WaitError::Cancelled(_)) => Err(CaptureError::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(cancel: &Cancel) -> Stop<'_> {
        Stop { cancel, timeout: Duration::from_secs(5), what: "sh" }
    }

    #[tokio::test]
    async fn a_captured_run_keeps_stdout_stderr_and_the_exit_code() {
        let cancel = Cancel::new();
        let mut command = Command::new("sh");
        command.args(["-c", "cat; echo oops >&2; exit 3"]);
        let ran = capture(command, Some(b"input"), false, &stop(&cancel)).await.expect("ran");
        assert_eq!(
            (ran.code, ran.stdout.as_slice(), ran.stderr.as_slice()),
            (3, &b"input"[..], &["oops".to_owned()][..])
        );
        assert!(!ran.success());
    }

    #[tokio::test]
    async fn a_cancelled_run_is_stopped() {
        let cancel = Cancel::new();
        let mut command = Command::new("sh");
        // `exec`: the interrupt reaches `sleep` itself, not a shell waiting for it.
        command.args(["-c", "exec sleep 30"]);
        let canceller = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            canceller.cancel("test");
        });
        let started = std::time::Instant::now();
        let result = capture(command, None, false, &stop(&cancel)).await;
        assert!(matches!(result, Err(CaptureError::Cancelled)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let result = capture(Command::new("true"), None, false, &stop(&cancel)).await;
        assert!(matches!(result, Err(CaptureError::Cancelled)), "not started once cancelled");
    }

    #[test]
    fn executables_are_found_on_the_search_path_or_by_path() {
        assert!(find_executable("sh", Some(OsStr::new("/nonexistent:/bin:/usr/bin"))).is_some());
        assert!(find_executable("no-such-tool-here", Some(OsStr::new("/bin:/usr/bin"))).is_none());
        assert!(find_executable("sh", None).is_none());
        assert!(find_executable("/bin/sh", None).is_some());
    }
}
