//! State versions: the versions of a target's Terraform state the store keeps, the one a
//! run wrote (kept on its record), and the one way a version is written back under the
//! state lock (`state rollback`).
//!
//! S3 keeps versions itself (bucket versioning, which `bootstrap` turns on); the local store
//! keeps a copy in `state-versions/` each time a run wrote the state. A version's serial and
//! lineage are read from its first bytes ([`header`]); an id or a lineage that is not of the
//! expected characters is never shown or used ([`valid_version_id`], [`valid_lineage`]).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::s3::LockError;
use super::{RunRecord, StoreError};
use crate::identity::Target;
use crate::refusal::Refusal;

/// One version of a target's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateVersion {
    /// The store's id: S3's version id, or the name of the local store's copy.
    pub version_id: String,
    /// When the store says it was written (RFC 3339).
    pub written_at: Option<String>,
    /// Read from the version's content; `None` when it can't be read.
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    /// Whether it is the target's current state.
    pub current: bool,
}

impl StateVersion {
    /// A version of `content` with the store's id and time.
    pub fn of(version_id: String, written_at: Option<String>, content: &[u8], current: bool) -> Self {
        let header = header(content);
        Self {
            version_id,
            written_at,
            serial: header.as_ref().map(|h| h.serial),
            lineage: header.map(|h| h.lineage),
            current,
        }
    }
}

/// What a run's record keeps of the state version it wrote (flattened into [`RunRecord`]);
/// every field optional, so records written before it read back unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateWritten {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_serial: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_lineage: Option<String>,
    /// A rollback: the version whose content it wrote back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_version: Option<String>,
}

impl StateWritten {
    pub fn of(version: &StateVersion) -> Self {
        Self {
            state_version: Some(version.version_id.clone()),
            state_serial: version.serial,
            state_lineage: version.lineage.clone(),
            restored_version: None,
        }
    }
}

/// Who takes a state lock, as Terraform's lock info names the holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// `user@host`, Terraform's `Who`.
    pub who: String,
    /// Terraform's `Operation` (`OperationTypeApply` for its own applies).
    pub operation: String,
    /// Terraform's `Info`: free text.
    pub info: String,
}

/// Terraform's lock info JSON (`statemgr.LockInfo`), so `locks list`, Terraform's own
/// "state locked" message and `terraform force-unlock` read a lock this service took as
/// they read Terraform's.
pub fn lock_info_json(holder: &Holder, path: &str) -> String {
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        0x8000 | fastrand::u16(..0x4000),
        fastrand::u64(..1 << 48)
    );
    serde_json::json!({
        "ID": id,
        "Operation": holder.operation,
        "Info": holder.info,
        "Who": holder.who,
        "Version": concat!("infra-manager ", env!("CARGO_PKG_VERSION")),
        "Created": jiff::Timestamp::now().to_string(),
        "Path": path,
    })
    .to_string()
}

/// A store that keeps the versions of each target's state and can write one back.
#[async_trait]
pub trait StateVersions: Send + Sync {
    /// Why this store keeps no versions (an S3 bucket without versioning); `None` when it does.
    async fn unversioned(&self) -> Result<Option<String>, StoreError>;

    /// The version of `target`'s state as it is now (`None`: no state), after a run wrote it.
    /// The local store makes its copy here. Never called while this process holds the
    /// target's lock ([`StateVersions::lock_state`]).
    async fn keep_current(&self, target: &Target) -> Result<Option<StateVersion>, StoreError>;

    /// The newest `limit` versions, newest first, the current one saying so, without their
    /// serial and lineage: one listing, no version read.
    async fn version_list(&self, target: &Target, limit: usize) -> Result<Vec<StateVersion>, StoreError>;

    /// A version's first [`HEADER_BYTES`] (`None`: no such version).
    async fn read_head(&self, target: &Target, version_id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// [`StateVersions::version_list`] with each version's serial and lineage, read from
    /// its first bytes (side by side).
    async fn list_versions(&self, target: &Target, limit: usize) -> Result<Vec<StateVersion>, StoreError> {
        let listed = self.version_list(target, limit).await?;
        let heads =
            futures_util::future::try_join_all(listed.iter().map(|v| self.read_head(target, &v.version_id))).await?;
        Ok(listed
            .into_iter()
            .zip(heads)
            .map(|(v, head)| match head {
                Some(head) => {
                    StateVersion { written_at: v.written_at, ..StateVersion::of(v.version_id, None, &head, v.current) }
                }
                // Deleted between the listing and the read.
                None => v,
            })
            .collect())
    }

    /// One version's content; `None` when the target has no such version.
    async fn read_version(&self, target: &Target, version_id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Takes the lock Terraform takes on `target`'s state (the lock table's item, the lock
    /// object, or the local state file's `fcntl` lock); a lock another holder has is
    /// [`LockError::Held`], and nothing is written.
    async fn lock_state<'s>(&'s self, target: &Target, holder: &Holder)
    -> Result<Box<dyn LockedState + 's>, LockError>;
}

/// A target's state while this run holds its lock. [`LockedState::release`] must be called
/// on every path: an S3 lock outlives a dropped value.
#[async_trait]
pub trait LockedState: Send {
    /// The current state's content (`None`: no state).
    async fn read(&mut self) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes `state` as the current state, a new version; returns it.
    async fn write(&mut self, state: &[u8]) -> Result<StateVersion, StoreError>;

    async fn release(self: Box<Self>) -> Result<(), LockError>;
}

/// How many versions `state versions` lists unless told, and the most a rollback looks
/// through for `previous`.
pub const LIST_DEFAULT: usize = 20;
pub const LIST_MAX: usize = 1_000;

/// How many first bytes of a version hold its header: Terraform writes `version`,
/// `terraform_version`, `serial` and `lineage` before the outputs and resources.
pub const HEADER_BYTES: usize = 4096;

/// A state document's serial and lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub serial: u64,
    pub lineage: String,
}

/// The top-level `serial` and `lineage` of a state document, or of its first bytes. Only
/// the top level counts (an output named `serial` is not it); a lineage outside
/// [`valid_lineage`] is not one.
pub fn header(bytes: &[u8]) -> Option<Header> {
    let fields = top_level(bytes);
    let value = |name: &[u8]| fields.iter().find(|(k, _)| bytes.get(k.clone()) == Some(name)).map(|(_, v)| v.clone());
    let serial = std::str::from_utf8(bytes.get(value(b"serial")?)?).ok()?;
    let serial = serial.bytes().all(|b| b.is_ascii_digit()).then(|| serial.parse().ok()).flatten()?;
    let lineage = std::str::from_utf8(bytes.get(value(b"lineage")?)?).ok()?;
    let lineage = lineage.strip_prefix('"')?.strip_suffix('"')?;
    valid_lineage(lineage).then(|| Header { serial, lineage: lineage.to_owned() })
}

/// `content` with its top-level `serial` set to `serial`, every other byte as it was; an
/// error when `content` is not a whole state document.
pub fn with_serial(content: &[u8], serial: u64) -> Result<Vec<u8>, String> {
    let before = header(content).ok_or("it has no top-level `serial` and `lineage`")?;
    serde_json::from_slice::<serde::de::IgnoredAny>(content).map_err(|e| format!("it is not JSON: {e}"))?;
    let span = top_level(content)
        .into_iter()
        .find(|(k, _)| content.get(k.clone()) == Some(b"serial".as_slice()))
        .map(|(_, v)| v)
        .ok_or("it has no top-level `serial`")?;
    let mut out = Vec::with_capacity(content.len() + 8);
    out.extend_from_slice(&content[..span.start]);
    out.extend_from_slice(serial.to_string().as_bytes());
    out.extend_from_slice(&content[span.end..]);
    match header(&out) {
        Some(after) if after == (Header { serial, lineage: before.lineage }) => Ok(out),
        _ => Err("its serial could not be rewritten".to_owned()),
    }
}

type Span = std::ops::Range<usize>;

/// The top-level members of a JSON object as (key, value) byte spans, as far as `bytes`
/// goes (a cut-off document yields the members before the cut). A key's span is inside its
/// quotes; a value's is the whole value.
fn top_level(bytes: &[u8]) -> Vec<(Span, Span)> {
    let mut s = Scanner { b: bytes, i: 0 };
    let mut out = Vec::new();
    s.ws();
    if !s.eat(b'{') {
        return out;
    }
    loop {
        s.ws();
        let Some(key) = s.string() else { return out };
        s.ws();
        if !s.eat(b':') {
            return out;
        }
        s.ws();
        let Some(value) = s.value() else { return out };
        out.push((key.start + 1..key.end - 1, value));
        s.ws();
        if !s.eat(b',') {
            return out;
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.b.get(self.i) == Some(&byte);
        self.i += usize::from(hit);
        hit
    }

    /// A string, quotes included.
    fn string(&mut self) -> Option<Span> {
        let start = self.i;
        if !self.eat(b'"') {
            return None;
        }
        loop {
            match *self.b.get(self.i)? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some(start..self.i);
                }
                _ => self.i += 1,
            }
        }
    }

    /// Any value: a string, an object or array (nested, strings skipped whole), or a scalar.
    fn value(&mut self) -> Option<Span> {
        let start = self.i;
        match *self.b.get(self.i)? {
            b'"' => self.string(),
            b'{' | b'[' => {
                let mut depth = 0_usize;
                loop {
                    match *self.b.get(self.i)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(start..self.i);
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while self.b.get(self.i).is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace()) {
                    self.i += 1;
                }
                // A scalar that runs to the end may be cut off.
                (self.i < self.b.len() && self.i > start).then_some(start..self.i)
            }
        }
    }
}

/// A lineage as Terraform makes them (a UUID): 1 to 64 of `[A-Za-z0-9-]`.
pub fn valid_lineage(value: &str) -> bool {
    (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A version id as S3 and the local store make them: 1 to 1,024 of `[A-Za-z0-9._+=-]`
/// (no `/`, so no id is a path).
pub fn valid_version_id(value: &str) -> bool {
    (1..=1024).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'=' | b'-'))
}

/// What `state rollback --to` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// The version before the current one that a run wrote (see [`chosen`]).
    Previous,
    /// The version a run (its `run_id`, as `history --json` shows it) wrote.
    Run(String),
    Version(String),
}

impl To {
    /// `previous`, a run id (`<started_at>#<random>`: it has a `#`) or a version id.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value == "previous" {
            return Ok(Self::Previous);
        }
        let run_ok = |v: &str| {
            v.len() <= 100
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'#' | b':' | b'.' | b'+' | b'-'))
        };
        if value.contains('#') && run_ok(value) {
            return Ok(Self::Run(value.to_owned()));
        }
        if valid_version_id(value) {
            return Ok(Self::Version(value.to_owned()));
        }
        Err(format!("`--to {}` is not `previous`, a run id or a state version id", crate::diagnostic::shown(value)))
    }
}

/// The version `to` names, from the target's versions (newest first) and its runs.
/// `previous` is the newest version older than the current one that a run recorded it
/// wrote (the state as the run before the last one left it, not a snapshot Terraform saved
/// in the middle of an apply), else the version just before the current one.
pub fn chosen(target: &Target, to: &To, versions: &[StateVersion], runs: &[RunRecord]) -> Result<String, Refusal> {
    match to {
        To::Version(id) => Ok(id.clone()),
        To::Run(run) => runs
            .iter()
            .find(|r| &r.run_id == run)
            .and_then(|r| r.state.state_version.clone())
            .ok_or_else(|| Refusal::UnknownStateRun { target: target.clone(), run: run.clone() }),
        To::Previous => {
            let older = match versions.iter().position(|v| v.current) {
                Some(current) => &versions[current + 1..],
                None => versions,
            };
            let recorded =
                |v: &&StateVersion| runs.iter().any(|r| r.state.state_version.as_ref() == Some(&v.version_id));
            older
                .iter()
                .find(recorded)
                .or_else(|| older.first())
                .map(|v| v.version_id.clone())
                .ok_or_else(|| Refusal::NoEarlierState { target: target.clone() })
        }
    }
}

/// The state written back for a rollback: `restored`'s content with a serial above the
/// current state's (and its own), so Terraform takes it as the newest state of the same
/// lineage. A version of another lineage is refused: it is another state.
pub fn restored(
    target: &Target,
    version_id: &str,
    restored: &[u8],
    current: Option<&[u8]>,
) -> Result<Vec<u8>, RestoreError> {
    let unreadable = |why: String| RestoreError::Unreadable { version: version_id.to_owned(), why };
    let theirs = header(restored).ok_or_else(|| unreadable("it has no serial and lineage".to_owned()))?;
    let serial = match current {
        None => theirs.serial + 1,
        Some(current) if current == restored => {
            return Err(Refusal::AlreadyCurrent { target: target.clone(), version: version_id.to_owned() }.into());
        }
        Some(current) => {
            let ours = header(current).ok_or(RestoreError::CurrentUnreadable)?;
            if ours.lineage != theirs.lineage {
                return Err(Refusal::OtherLineage {
                    version: version_id.to_owned(),
                    lineage: theirs.lineage,
                    current: ours.lineage,
                }
                .into());
            }
            ours.serial.max(theirs.serial) + 1
        }
    };
    with_serial(restored, serial).map_err(unreadable)
}

impl From<Refusal> for RestoreError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(Box::new(refusal))
    }
}

/// Why a version can't be written back.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Refused(Box<Refusal>),
    #[error("state version `{version}` can't be restored: {why}")]
    Unreadable { version: String, why: String },
    #[error("the current state can't be read (no serial and lineage), so a version can't be checked against it")]
    CurrentUnreadable,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{EnvName, Owner, RepoId};
    use crate::store::{RunKind, RunStatus};

    const STATE: &str = r#"{
  "version": 4,
  "terraform_version": "1.11.4",
  "serial": 7,
  "lineage": "0b6e2c1a-9f3d-4c2e-8a1b-123456789abc",
  "outputs": { "serial": { "value": 99, "type": "number" } },
  "resources": [ { "mode": "managed", "type": "terraform_data", "name": "a", "instances": [ {} ] } ],
  "check_results": null
}
"#;

    fn target() -> Target {
        Target {
            owner: Owner::Customer(RepoId::parse("acme/web").expect("id")),
            env: EnvName::parse("staging").expect("env"),
        }
    }

    fn state(serial: u64, lineage: &str) -> Vec<u8> {
        STATE
            .replace("\"serial\": 7", &format!("\"serial\": {serial}"))
            .replace("0b6e2c1a-9f3d-4c2e-8a1b-123456789abc", lineage)
            .into_bytes()
    }

    #[test]
    fn the_header_is_read_from_the_top_level_even_cut_off() {
        let lineage = "0b6e2c1a-9f3d-4c2e-8a1b-123456789abc".to_owned();
        assert_eq!(header(STATE.as_bytes()), Some(Header { serial: 7, lineage: lineage.clone() }));
        // The first bytes of a large state hold it.
        let cut = &STATE.as_bytes()[..STATE.find("\"outputs\"").expect("outputs") + 12];
        assert_eq!(header(cut), Some(Header { serial: 7, lineage }));
        // Keys in another order, nested look-alikes ignored.
        let other = br#"{"outputs":{"serial":{"value":1}},"lineage":"abc","serial":12}"#;
        assert_eq!(header(other), Some(Header { serial: 12, lineage: "abc".into() }));
        for bad in [
            &br#"{"serial":"7","lineage":"abc"}"#[..],
            br#"{"serial":7,"lineage":"a\"b"}"#,
            br#"{"serial":7,"lineage":"../x"}"#,
            br#"{"serial":-1,"lineage":"abc"}"#,
            br#"{"lineage":"abc","serial":7"#,
            b"[1,2]",
            b"",
        ] {
            assert_eq!(header(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_new_serial_changes_that_value_only() {
        let out = with_serial(STATE.as_bytes(), 12).expect("rewritten");
        assert_eq!(String::from_utf8(out).expect("utf8"), STATE.replace("\"serial\": 7", "\"serial\": 12"));
        assert!(with_serial(&STATE.as_bytes()[..200], 12).is_err(), "a cut-off document is not a state");
        assert!(with_serial(b"{\"serial\": 1}", 2).is_err(), "no lineage");
    }

    #[test]
    fn a_rollback_writes_the_old_content_above_the_current_serial_of_the_same_lineage() {
        let old = state(3, "aaaa");
        let written = restored(&target(), "v1", &old, Some(&state(9, "aaaa"))).expect("restored");
        assert_eq!(header(&written), Some(Header { serial: 10, lineage: "aaaa".into() }));
        assert_eq!(String::from_utf8(written).expect("utf8"), String::from_utf8(state(10, "aaaa")).expect("utf8"));
        // No current state (deleted): the version comes back above its own serial.
        let written = restored(&target(), "v1", &old, None).expect("restored");
        assert_eq!(header(&written).map(|h| h.serial), Some(4));

        let other = restored(&target(), "v1", &old, Some(&state(9, "bbbb"))).expect_err("other lineage");
        assert!(matches!(&other, RestoreError::Refused(r) if matches!(**r, Refusal::OtherLineage { .. })), "{other}");
        assert_eq!(
            other.to_string(),
            "state version `v1` is another state: its lineage is `aaaa`, the current state's `bbbb`"
        );
        let same = restored(&target(), "v1", &old, Some(&old)).expect_err("already current");
        assert!(matches!(&same, RestoreError::Refused(r) if matches!(**r, Refusal::AlreadyCurrent { .. })), "{same}");
        let garbage = restored(&target(), "v1", b"{}", Some(&old)).expect_err("unreadable");
        assert!(matches!(garbage, RestoreError::Unreadable { .. }), "{garbage}");
    }

    fn version(id: &str, current: bool) -> StateVersion {
        StateVersion { version_id: id.into(), written_at: None, serial: None, lineage: None, current }
    }

    fn run(run_id: &str, version: Option<&str>) -> RunRecord {
        RunRecord {
            run_id: run_id.into(),
            state: StateWritten { state_version: version.map(str::to_owned), ..StateWritten::default() },
            ..RunRecord::empty(RunKind::Apply, RunStatus::Succeeded)
        }
    }

    #[test]
    fn previous_is_the_state_the_run_before_the_last_left() {
        // v4 current (the last apply), v3 a snapshot Terraform saved mid-apply, v2 the apply before.
        let versions = [version("v4", true), version("v3", false), version("v2", false), version("v1", false)];
        let runs = [run("t4#a", Some("v4")), run("t2#b", Some("v2")), run("t1#c", Some("v1"))];
        let pick = |to: &To, runs: &[RunRecord]| chosen(&target(), to, &versions, runs);
        assert_eq!(pick(&To::Previous, &runs), Ok("v2".to_owned()));
        // No record names one: the version just before the current one.
        assert_eq!(pick(&To::Previous, &[]), Ok("v3".to_owned()));
        assert_eq!(pick(&To::Run("t1#c".into()), &runs), Ok("v1".to_owned()));
        assert_eq!(pick(&To::Version("v3".into()), &runs), Ok("v3".to_owned()));
        assert!(matches!(pick(&To::Run("t9#z".into()), &runs), Err(Refusal::UnknownStateRun { .. })));
        let only = chosen(&target(), &To::Previous, &[version("v1", true)], &runs);
        assert!(matches!(only, Err(Refusal::NoEarlierState { .. })));
        // No current version (the state was deleted): previous is the newest recorded one.
        let gone = [version("v2", false), version("v1", false)];
        assert_eq!(chosen(&target(), &To::Previous, &gone, &runs), Ok("v2".to_owned()));
    }

    #[test]
    fn to_names_previous_a_run_or_a_version() {
        assert_eq!(To::parse("previous"), Ok(To::Previous));
        assert_eq!(
            To::parse("2026-12-07T10:11:12.123456789Z#0a1b2c3d"),
            Ok(To::Run("2026-12-07T10:11:12.123456789Z#0a1b2c3d".into()))
        );
        assert_eq!(
            To::parse("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"),
            Ok(To::Version("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into()))
        );
        for bad in ["", "../x", "a/b", "v 1", "x#\u{1b}[31m"] {
            assert!(To::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_lock_taken_here_reads_as_terraforms() {
        let holder =
            Holder { who: "infra-manager@runner".into(), operation: "OperationTypeRollback".into(), info: "".into() };
        let json: serde_json::Value = serde_json::from_str(&lock_info_json(&holder, "b/k")).expect("json");
        let id = json["ID"].as_str().expect("id");
        assert_eq!((id.len(), id.matches('-').count()), (36, 4), "{id}");
        assert_eq!((json["Who"].as_str(), json["Path"].as_str()), (Some("infra-manager@runner"), Some("b/k")));
        assert!(json["Created"].as_str().expect("created").parse::<jiff::Timestamp>().is_ok());
    }
}
