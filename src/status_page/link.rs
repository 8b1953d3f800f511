//! The link from a run to its workflow run. A record keeps the run's URL as the run that
//! wrote it saw it (`$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`);
//! records come from a backend, so that text is never used as an href. It is read as
//! `https://HOST/OWNER/REPO/actions/runs/ID` — a host name, a repository that passes
//! `RepoId`'s rule, a number — and the link is written again from those parts; anything
//! else (another scheme, a query, a fragment, credentials, more path) makes no link.

use crate::identity::RepoId;

/// `https://github.com/acme/manager/actions/runs/42`, or `None`.
pub fn workflow_run(run_url: &str) -> Option<String> {
    let rest = run_url.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/')?;
    if !is_host(host) {
        return None;
    }
    let mut parts = path.split('/');
    let (owner, repo) = (parts.next()?, parts.next()?);
    let (actions, runs, id) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || actions != "actions" || runs != "runs" {
        return None;
    }
    // GitHub's names are case-insensitive; the rule is lowercase.
    let repo = RepoId::parse(&format!("{owner}/{repo}").to_ascii_lowercase()).ok()?;
    let id: u64 = id.parse().ok().filter(|_| id.bytes().all(|b| b.is_ascii_digit()))?;
    Some(format!("https://{}/{repo}/actions/runs/{id}", host.to_ascii_lowercase()))
}

/// A DNS name with an optional port: labels of letters, digits and `-`.
fn is_host(host: &str) -> bool {
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let labels_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    port_ok && labels_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_url_is_rebuilt_from_checked_parts() {
        assert_eq!(
            workflow_run("https://github.com/Acme/Manager/actions/runs/42").as_deref(),
            Some("https://github.com/acme/manager/actions/runs/42")
        );
        assert_eq!(
            workflow_run("https://ghe.example.com:8443/p/m/actions/runs/7").as_deref(),
            Some("https://ghe.example.com:8443/p/m/actions/runs/7")
        );
    }

    #[test]
    fn anything_else_makes_no_link() {
        for hostile in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)//https://github.com/p/m/actions/runs/1",
            "http://github.com/p/m/actions/runs/1",
            "data:text/html,<script>alert(1)</script>",
            "https://github.com/p/m/actions/runs/1?x=\"><script>",
            "https://github.com/p/m/actions/runs/1#x",
            "https://user:pass@github.com/p/m/actions/runs/1",
            "https://github.com/p/m/actions/runs/1/../../../../evil",
            "https://github.com/p/m/actions/runs/-1",
            "https://github.com/p/m/actions/runs/+1",
            "https://github.com/p/m/actions/runs/",
            "https://github.com/../m/actions/runs/1",
            "https://github.com/p/<img>/actions/runs/1",
            "https://evil\".com/p/m/actions/runs/1",
            "https:///p/m/actions/runs/1",
            "https://github.com/p/m/issues/1",
            "//github.com/p/m/actions/runs/1",
            "",
        ] {
            assert_eq!(workflow_run(hostile), None, "{hostile}");
        }
    }
}
