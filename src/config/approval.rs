//! `environments.<env>.approval`: who must approve an apply to the environment, and how
//! the approval is read (the rule itself is [`crate::pipeline::approval`]).

use crate::yaml::{self, Checker, Node};

/// How an apply's approval is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalRule {
    /// GitHub's record of the apply's own workflow run: the deployment to this GitHub
    /// environment approved (needs required reviewers on it: GitHub Enterprise for a
    /// private repository).
    Environment(String),
    /// An approving review by one of these logins on the head commit of the pull request
    /// merged as the applied commit (any GitHub plan).
    Reviewers(Vec<String>),
}

impl ApprovalRule {
    /// Who must approve, for a status line: `a reviewer of \`production-apply\``, `one of
    /// alice, bob`.
    pub fn who(&self) -> String {
        match self {
            Self::Environment(name) => format!("a required reviewer of the GitHub environment `{name}`"),
            Self::Reviewers(logins) => format!("one of {}", logins.join(", ")),
        }
    }
}

/// Reads `approval` at `path`: exactly one of `environment` and `reviewers`.
pub(super) fn read(c: &mut Checker, path: &str, node: &Node) -> Option<ApprovalRule> {
    let fields = c.map(path, node)?;
    c.unknown_keys(path, fields, &["environment", "reviewers"]);
    let environment = yaml::get(fields, "environment").and_then(|v| c.str(&format!("{path}.environment"), v));
    let reviewers = yaml::get(fields, "reviewers").and_then(|v| c.str_list(&format!("{path}.reviewers"), v));
    match (environment, reviewers) {
        (Some(_), Some(_)) => {
            c.error(
                node.pos,
                format!("`{path}` names both `environment` and `reviewers`"),
                Some("keep one: `environment` on GitHub Enterprise, `reviewers` on any plan".into()),
            );
            None
        }
        (Some(name), None) if name.trim().is_empty() || name.contains('/') => {
            c.error(node.pos, format!("`{path}.environment` is not a GitHub environment name"), None);
            None
        }
        (Some(name), None) => Some(ApprovalRule::Environment(name.to_owned())),
        (None, Some(list)) => {
            let mut logins = Vec::new();
            for (login, pos) in list {
                match crate::github::check_login(&login) {
                    Ok(()) => logins.push(login),
                    Err(reason) => c.error(
                        pos,
                        format!("`{}` is not a GitHub login: {reason}", crate::diagnostic::shown(&login)),
                        None,
                    ),
                }
            }
            if logins.is_empty() {
                c.error(
                    node.pos,
                    format!("`{path}.reviewers` lists nobody"),
                    Some("list the logins that may approve".into()),
                );
                return None;
            }
            Some(ApprovalRule::Reviewers(logins))
        }
        (None, None) => {
            c.error(
                node.pos,
                format!("`{path}` needs `environment` or `reviewers`"),
                Some("e.g. `approval: { reviewers: [alice] }`".into()),
            );
            None
        }
    }
}
