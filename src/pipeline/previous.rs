//! The configuration last applied to a target, read once at admission for a plan: the
//! protected-removal rule checks it ([`super::destroy::check_removals`]), the cost before
//! is priced from it ([`crate::policy::gate`]).

use super::admit::LastApplied;
use super::prepare::{Validated, fetch, validate};
use super::{Deps, Request};
use crate::error::CommandError;
use crate::identity::Sha;

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
}
