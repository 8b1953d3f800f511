//! Reading a customer file at a commit through the contents API, and [`Cache`] of the files
//! read: what a commit holds never changes.

use std::collections::VecDeque;
use std::sync::Arc;

use base64::Engine as _;
use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::api::{Api, Call, refused};
use super::provenance::repository_visible;
use super::repo_path;
use crate::codehost::CodeHostError;
use crate::diagnostic::FileProblem;
use crate::identity::{RepoId, Sha};
use crate::limits::CUSTOMER_FILE_BYTES;

/// The fields of a contents answer the client needs.
#[derive(Debug, Deserialize)]
struct ContentFile {
    #[serde(rename = "type")]
    kind: String,
    size: u64,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
}

/// How many files [`Cache`] keeps: a fleet run's targets of one owner are neighbours in its
/// list, and at most `--parallel` run at once.
const CACHED_FILES: usize = 64;

/// The files read at a commit, kept so a customer's environments applied at one commit
/// (a drift run, a re-plan) read their file once between them: the last [`CACHED_FILES`],
/// and targets that ask for the same one at once wait for one read. A failed read is not kept.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    files: std::sync::Mutex<VecDeque<(String, Arc<Read>)>>,
}

/// One file at one commit: read once, by whichever target asks first.
type Read = OnceCell<Option<String>>;

impl Cache {
    /// [`read_file`], or what it gave for the same file at the same commit.
    pub(crate) async fn read(
        &self,
        api: &Api,
        repo: &RepoId,
        path: &str,
        sha: &Sha,
    ) -> Result<Option<String>, CodeHostError> {
        let key = format!("{repo}\n{path}\n{sha}");
        let cell = {
            let mut files = self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match files.iter().find(|(k, _)| *k == key) {
                Some((_, cell)) => Arc::clone(cell),
                None => {
                    let cell = Arc::new(OnceCell::new());
                    if files.len() == CACHED_FILES {
                        files.pop_front();
                    }
                    files.push_back((key, Arc::clone(&cell)));
                    cell
                }
            }
        };
        cell.get_or_try_init(|| read_file(api, repo, path, sha)).await.cloned()
    }
}

/// `GET /repos/{owner}/{repo}/contents/{path}?ref={sha}`; `Ok(None)` when the file is
/// not there at that commit.
pub(crate) async fn read_file(
    api: &Api,
    repo: &RepoId,
    path: &str,
    sha: &Sha,
) -> Result<Option<String>, CodeHostError> {
    let fail = |message: String| CodeHostError::Read {
        repo: repo.to_string(),
        path: path.to_owned(),
        reference: sha.to_string(),
        message,
    };
    // The file's own fault: reported on its line 1 to the customer, not as a failure.
    let unusable = |problem: FileProblem| CodeHostError::Unusable {
        repo: repo.to_string(),
        path: path.to_owned(),
        reference: sha.to_string(),
        problem,
    };
    let too_large = |size: Option<u64>| unusable(FileProblem::TooLarge { size, limit: CUSTOMER_FILE_BYTES as u64 });
    let encoded = encode_path(path)
        .ok_or_else(|| fail("the path must be relative, with no empty, `.` or `..` segments".to_owned()))?;
    let call = Call::get(format!("{}/contents/{encoded}?ref={sha}", repo_path(repo)));
    let reply = api.send(&call).await.map_err(|e| match e {
        // A stop is the run's, not the file's: it keeps its kind (exit 130).
        e @ super::GithubError::Cancelled { .. } => CodeHostError::from(e),
        e => fail(e.to_string()),
    })?;
    match reply.status {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => {
            let message = reply.message().unwrap_or_default();
            if message.starts_with("No commit found") {
                return Err(fail(format!("commit `{sha}` is not in `{repo}` (GitHub: {message})")));
            }
            // GitHub says 404 both for a missing file and for a repository the token can't see.
            return match repository_visible(api, repo).await {
                Ok(true) => Ok(None),
                Ok(false) => Err(fail(format!("repository `{repo}` does not exist or the token can't read it"))),
                Err(e) => Err(fail(e.to_string())),
            };
        }
        _ => return Err(fail(refused(&call, &reply).to_string())),
    }

    let value: Value = reply.json(&call).map_err(|e| fail(e.to_string()))?;
    if value.is_array() {
        return Err(fail("it is a directory, not a file".to_owned()));
    }
    let file: ContentFile =
        serde_json::from_value(value).map_err(|e| fail(format!("unexpected contents answer: {e}")))?;
    if file.kind != "file" {
        return Err(fail(format!("it is a {}, not a file", file.kind)));
    }
    if file.size > CUSTOMER_FILE_BYTES as u64 {
        return Err(too_large(Some(file.size)));
    }
    let bytes = match file.encoding.as_deref() {
        Some("base64") => {
            let compact: String =
                file.content.unwrap_or_default().chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|e| fail(format!("GitHub sent content that is not valid base64: {e}")))?
        }
        other => return Err(fail(format!("GitHub sent the content with encoding `{}`", other.unwrap_or("(none)")))),
    };
    if bytes.len() > CUSTOMER_FILE_BYTES {
        return Err(too_large(Some(bytes.len() as u64)));
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let (line, column) = crate::source_file::invalid_utf8_at(&e);
        unusable(FileProblem::NotUtf8 { line: Some(line), column: Some(column) })
    })
}

/// Percent-encodes each segment of a repository-relative path; `None` for paths that
/// could point elsewhere (absolute, empty, `.` or `..` segments).
pub(crate) fn encode_path(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return None;
    }
    let encoded: Vec<String> = segments
        .iter()
        .map(|segment| {
            segment
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        })
        .collect();
    Some(encoded.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_per_segment_and_escapes_refused() {
        assert_eq!(encode_path("infra/variables.yml").as_deref(), Some("infra/variables.yml"));
        assert_eq!(encode_path("a b/c#d?.yml").as_deref(), Some("a%20b/c%23d%3F.yml"));
        for bad in ["", "/etc/passwd", "infra/", "infra//x", "../x", "infra/./x", "infra/../../x"] {
            assert_eq!(encode_path(bad), None, "{bad}");
        }
    }
}
