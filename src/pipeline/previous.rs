//! The configuration last applied to a target, read once at admission for a plan: the
//! protected-removal rule checks it ([`super::destroy::check_removals`]), the cost before
//! is priced from it ([`crate::policy::gate`]), and the comment says what changed since
//! ([`crate::file_diff`]).

use super::admit::LastApplied;
use super::prepare::{Validated, fetch, validate};
use super::{Deps, Request};
use crate::error::CommandError;
use crate::file_diff::{Configuration, FileDiff, diff};
use crate::identity::{EnvName, Sha};

/// What was applied to the target before the commit planned.
pub enum Previous {
    /// Nothing yet: a first apply.
    Nothing,
    /// The commit planned is the one last applied (its file is the one admission read).
    Same(Sha),
    /// The owner's file at the commit last applied, checked by today's rules; or why it
    /// can't be used.
    At(Sha, Result<Validated, CommandError>),
}

impl Previous {
    /// Reads the file at the commit last applied, unless it is the one planned.
    pub async fn read(deps: &Deps<'_>, req: &Request, applied: Option<&LastApplied>) -> Self {
        match applied {
            None => Self::Nothing,
            Some(applied) if applied.sha == req.sha => Self::Same(applied.sha.clone()),
            Some(applied) => {
                let at = Request::new(req.target.clone(), applied.sha.clone());
                let file = match fetch(deps.files, &at).await {
                    Ok(text) => validate(deps.config, &req.target.owner, &text),
                    Err(e) => Err(e),
                };
                Self::At(applied.sha.clone(), file)
            }
        }
    }

    /// The configuration last applied, `current` being the file planned; `None` when
    /// nothing was applied or it can't be used.
    pub fn file<'a>(&'a self, current: &'a Validated) -> Option<&'a Validated> {
        match self {
            Self::Nothing => None,
            Self::Same(_) => Some(current),
            Self::At(_, file) => file.as_ref().ok(),
        }
    }

    /// What changed in the owner's file for `env`, from this to `current`.
    pub fn diff(&self, current: &Validated, env: &EnvName) -> FileDiff {
        let now = configuration(current, env);
        let (sha, previous) = match self {
            Self::Nothing => return diff(None, &now),
            Self::At(sha, Err(e)) => return FileDiff::unavailable(sha.as_str(), e.status_line()),
            Self::Same(sha) => (sha, now.clone()),
            Self::At(sha, Ok(file)) => (sha, configuration(file, env)),
        };
        FileDiff { since: Some(sha.to_string()), ..diff(Some(&previous), &now) }
    }
}

/// `file` in `env` (no components when the file does not define it).
fn configuration(file: &Validated, env: &EnvName) -> Configuration {
    match file {
        Validated::V1(vars) => Configuration::v1(vars, env).unwrap_or_default(),
        Validated::V2(customer, catalog) => Configuration::v2(customer, catalog, env),
    }
}

#[cfg(test)]
mod tests {
    use crate::pipeline::apply::{Mode, apply};
    use crate::pipeline::plan::plan;
    use crate::pipeline::testing::Harness;

    const V2: &str = "apiVersion: infra-manager/v2\nkind: Customer\nmetadata: { name: web }\nspec:\n  environments: [staging]\n  components:\n    - { name: jobs, type: queue, inputs: { max_receive_count: 3 } }\n";

    /// Issue 24 item 4: the first plan says every component is new; once applied, a plan of
    /// a changed input says `old → new` under its component, in the comment and the outcome.
    #[tokio::test]
    async fn a_plan_compares_the_file_with_the_one_last_applied() {
        let h = Harness::new();
        let one = h.commit('1', V2);
        let first = plan(&h.deps(), &one).await.expect("planned");
        let diff = first.file_changes.expect("compared");
        assert!(diff.first_apply && diff.since.is_none(), "{diff:?}");
        assert_eq!(diff.added.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["jobs"]);
        assert!(first.comment.contains("every component is new"), "{}", first.comment);
        apply(&h.deps(), &one, Mode::Apply).await.expect("applied");

        let second = plan(&h.deps(), &h.commit('2', &V2.replace("count: 3", "count: 5"))).await.expect("planned");
        let diff = second.file_changes.expect("compared");
        assert_eq!(diff.since.as_deref(), Some("1".repeat(40).as_str()));
        let input = &diff.changed[0].inputs[0];
        assert_eq!(
            (input.input.as_str(), input.old.clone(), input.new.clone()),
            ("max_receive_count", Some(3.into()), Some(5.into()))
        );
        assert!(
            second.comment.contains("**Component `jobs` (`queue`)**\n\n- `max_receive_count`: `3` → `5`"),
            "{}",
            second.comment
        );

        // The commit last applied, planned again: nothing changed in the file.
        let same = plan(&h.deps(), &one).await.expect("planned").file_changes.expect("compared");
        assert!(same.is_empty() && !same.first_apply, "{same:?}");
    }
}
