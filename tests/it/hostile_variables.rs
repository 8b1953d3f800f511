//! The hostile `variables.yml` corpus: every file in `tests/hostile/variables/` run through the
//! real binary's `validate` (JSON and text output) and through the library path it uses.
//!
//! Each file is one attack, named for it, whose first line says what it attacks;
//! `tests/hostile/variables/EXPECT.tsv` gives the exact exit code it must end with. A file
//! "holds" when, in both output modes:
//!
//! - the run ends within the time bound with the expected code (never a panic, 101);
//! - an invalid file (exit 2) has every error at a `line:column` of the file;
//! - no line of stdout or stderr could start a GitHub Actions workflow command, and neither
//!   carries a raw control character (other than the line feed) or an invisible one;
//!
//! and reading it with `source_file::read` then `Variables::parse` (what `validate` does)
//! gives the same outcome with every diagnostic at a place.
//!
//! Rows marked `reader` are files the bounded reader refuses as a whole (not UTF-8): in
//! process they are a diagnostic at the first bad byte's line and column; through the binary they count as held
//! with a line once `validate` reads through `source_file`, and until then are listed as
//! pending (exit 2, but no line).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use infra_manager::config::Config;
use infra_manager::identity::RepoId;
use infra_manager::output::must_escape;
use infra_manager::source_file;
use infra_manager::variables::{Rules, Variables};
use infra_manager::yaml::MAX_FILE_BYTES;

use crate::support::cli::{Run, repo_root};

/// No single `validate` may take longer than this.
const TIME_BOUND: Duration = Duration::from_secs(20);

struct Expectation {
    exit: i32,
    reader: bool,
}

fn corpus_dir() -> PathBuf {
    repo_root().join("tests/hostile/variables")
}

fn expectations() -> BTreeMap<String, Expectation> {
    let text = std::fs::read_to_string(corpus_dir().join("EXPECT.tsv")).expect("read EXPECT.tsv");
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let exit = fields.get(1).and_then(|e| e.parse().ok()).unwrap_or_else(|| panic!("bad EXPECT.tsv row {line:?}"));
        let reader = match fields.get(2) {
            None => false,
            Some(&"reader") => true,
            Some(other) => panic!("unknown note {other:?} in EXPECT.tsv row {line:?}"),
        };
        assert!(out.insert(fields[0].to_owned(), Expectation { exit, reader }).is_none(), "{} listed twice", fields[0]);
    }
    out
}

/// The first line of a corpus file, decoding UTF-16 files (with a byte order mark, or
/// big-endian starting with an ASCII character).
fn first_line(bytes: &[u8]) -> String {
    let utf16 = |body: &[u8], little: bool| {
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| if little { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) })
            .collect();
        String::from_utf16_lossy(&units)
    };
    let text = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        utf16(rest, true)
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        utf16(rest, false)
    } else if bytes.len() >= 2 && bytes[0] == 0 && bytes[1] != 0 {
        utf16(bytes, false)
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    };
    text.trim_start_matches('\u{feff}').lines().next().unwrap_or_default().to_owned()
}

/// Whether the GitHub runner would take `line` as a workflow command: after trimming leading
/// white space it starts with `::` and holds another `::` (`ActionCommand.TryParseV2`), or it
/// holds `##[` and then `]` anywhere (`ActionCommand.TryParse`). Invisible characters are
/// dropped first, as the runner's culture-aware matching ignores them.
fn runner_command(line: &str) -> bool {
    let visible: String = line.chars().filter(|c| !must_escape(*c) || c.is_whitespace()).collect();
    let trimmed = visible.trim_start();
    (trimmed.starts_with("::") && trimmed[2..].contains("::"))
        || visible.find("##[").is_some_and(|at| visible[at..].contains(']'))
}

/// Problems with one output stream: command lines, raw control or invisible characters.
fn stream_problems(name: &str, bytes: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(text) = std::str::from_utf8(bytes) else {
        return vec![format!("{name} is not UTF-8")];
    };
    if let Some(c) = text.chars().find(|c| *c != '\n' && must_escape(*c)) {
        problems.push(format!("{name} has a raw {:?}", c));
    }
    // The runner also ends a line at a bare CR.
    for line in text.split(['\n', '\r']) {
        if runner_command(line) {
            problems.push(format!("{name} line could start a workflow command: {line:?}"));
        }
    }
    problems
}

struct Finished {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs `infra-manager [--json] validate FILE` in an empty directory, within [`TIME_BOUND`].
fn validate(cwd: &Path, file: &Path, json: bool) -> Result<Finished, String> {
    let mut args = vec!["validate".as_ref(), file.as_os_str()];
    if json {
        args.push("--json".as_ref());
    }
    let mut cmd = Run::new(cwd).args(args).into_command();
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    // Drain both pipes on threads so a large output cannot block the child.
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let mut err = child.stderr.take().ok_or("no stderr")?;
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("wait: {e}"))? {
            break status;
        }
        if started.elapsed() > TIME_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not finish within {TIME_BOUND:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_thread.join().map_err(|_| "stdout reader panicked")?;
    let stderr = err_thread.join().map_err(|_| "stderr reader panicked")?;
    // Killed by a signal (a stack overflow aborts) counts as a crash, like a panic.
    Ok(Finished { code: status.code().unwrap_or(-1), stdout, stderr })
}

/// The outcome of the library path `validate` takes: the exit code it implies.
fn in_process(path: &Path, config: &Config) -> Result<i32, String> {
    let file = path.display().to_string();
    let text = match source_file::read(path, MAX_FILE_BYTES) {
        Ok(text) => text,
        Err(e) => {
            let d = e.diagnostic(&file).ok_or_else(|| format!("reader error without a diagnostic: {e}"))?;
            // Issue 21, item 15: a byte that is not UTF-8 is reported where it is; any other
            // whole-file problem at 1:1.
            let at = match e.kind {
                source_file::SourceFileErrorKind::NotUtf8 { line, column } => (line, column),
                _ => (1, 1),
            };
            return if (d.line, d.column) == at {
                Ok(2)
            } else {
                Err(format!("whole-file diagnostic not at {at:?}: {d}"))
            };
        }
    };
    let customer = infra_manager::identity::Owner::Customer(RepoId::parse("local/validate").expect("valid"));
    match Variables::parse(&file, &text, &customer, &Rules::for_owner(config, None)) {
        Ok(_) => Ok(0),
        Err(d) if d.0.is_empty() => Err("invalid without a diagnostic".into()),
        Err(d) => match d.0.iter().find(|d| d.line == 0 || d.column == 0) {
            Some(bad) => Err(format!("diagnostic without a place: {bad}")),
            None => Ok(2),
        },
    }
}

/// What a file held or failed; `pending` when only the binary's line for a `reader` row is
/// missing.
fn check_file(cwd: &Path, path: &Path, expected: &Expectation, config: &Config) -> (Vec<String>, bool) {
    let mut failures = Vec::new();
    let mut pending = false;
    let bytes = std::fs::read(path).expect("read corpus file");
    if !first_line(&bytes).starts_with("# attacks: ") {
        failures.push("the first line must be `# attacks: …`".to_owned());
    }
    match in_process(path, config) {
        Ok(code) if code == expected.exit => {}
        Ok(code) => failures.push(format!("in process: exit {code}, expected {}", expected.exit)),
        Err(e) => failures.push(format!("in process: {e}")),
    }
    for json in [true, false] {
        let mode = if json { "--json" } else { "text" };
        let run = match validate(cwd, path, json) {
            Ok(run) => run,
            Err(e) => {
                failures.push(format!("{mode}: {e}"));
                continue;
            }
        };
        if run.code == 101 || run.code < 0 {
            failures.push(format!("{mode}: crashed (exit {}): {}", run.code, String::from_utf8_lossy(&run.stderr)));
            continue;
        }
        if run.code != expected.exit {
            failures.push(format!("{mode}: exit {}, expected {}", run.code, expected.exit));
        }
        failures.extend(stream_problems(&format!("{mode} stdout"), &run.stdout));
        failures.extend(stream_problems(&format!("{mode} stderr"), &run.stderr));
        if json {
            let report: serde_json::Value = match serde_json::from_slice(&run.stdout) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("--json stdout is not JSON: {e}"));
                    continue;
                }
            };
            let errors = report["errors"].as_array().cloned().unwrap_or_default();
            let placed = |e: &serde_json::Value| {
                e["file"].is_string()
                    && e["line"].as_u64().is_some_and(|l| l >= 1)
                    && e["column"].as_u64().is_some_and(|c| c >= 1)
                    && e["message"].as_str().is_some_and(|m| !m.is_empty())
            };
            match run.code {
                0 if report["status"] != "ok" || !errors.is_empty() => failures.push(format!("exit 0 but {report}")),
                2 if errors.is_empty() => failures.push("exit 2 without errors".into()),
                2 if !errors.iter().all(placed) => {
                    if expected.reader && report["status"] == "refused" {
                        pending = true;
                    } else {
                        failures.push(format!("an error without a line and column: {}", report["errors"]));
                    }
                }
                _ => {}
            }
        }
    }
    (failures, pending)
}

#[test]
fn every_hostile_variables_file_holds() {
    let expected = expectations();
    let mut files: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("list corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    files.sort();
    let listed: Vec<&String> = expected.keys().filter(|k| !files.contains(k)).collect();
    assert!(listed.is_empty(), "EXPECT.tsv lists files that do not exist: {listed:?}");
    let unlisted: Vec<&String> = files.iter().filter(|f| !expected.contains_key(*f)).collect();
    assert!(unlisted.is_empty(), "files missing from EXPECT.tsv: {unlisted:?}");

    let cwd = tempfile::tempdir().expect("tempdir");
    let config = Config::defaults(cwd.path());
    let mut failed = Vec::new();
    let mut pending = Vec::new();
    for name in &files {
        let (failures, is_pending) = check_file(cwd.path(), &corpus_dir().join(name), &expected[name], &config);
        if !failures.is_empty() {
            failed.push(format!("{name}:\n    {}", failures.join("\n    ")));
        }
        if is_pending {
            pending.push(name.as_str());
        }
    }
    let tried = files.len();
    let held = tried - failed.len() - pending.len();
    let mut log = std::io::stderr();
    let _ = writeln!(
        log,
        "hostile variables.yml: {tried} tried, {held} held ({} meant invalid, {} meant valid)",
        expected.values().filter(|e| e.exit == 2).count(),
        expected.values().filter(|e| e.exit == 0).count(),
    );
    if !pending.is_empty() {
        let _ = writeln!(
            log,
            "  {} more held in process (a diagnostic at 1:1) but `validate` gives them no line until it reads through source_file: {}",
            pending.len(),
            pending.join(", ")
        );
    }
    assert!(failed.is_empty(), "{} of {tried} hostile files did not hold:\n{}", failed.len(), failed.join("\n"));
    assert!(tried >= 80, "the corpus must keep at least 80 files, has {tried}");
}
