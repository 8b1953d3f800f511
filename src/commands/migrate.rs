//! `migrate`: a schema v1 `variables.yml` rewritten as schema v2 that plans the same
//! resources ([`crate::variables::migrate`]); printed, or with `--write` put in place of
//! the file. A v2 file is left as it is; an invalid one gets the usual errors (exit 2).

use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::Outcome;
use crate::catalog::Catalog;
use crate::cli::MigrateArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::output;
use crate::variables::Rules;
use crate::variables::document::{self, Schema};
use crate::variables::migrate::{self, MigrateError, Request};

/// What was done, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Migration {
    pub file: String,
    /// `false`: the file was already schema v2 and is unchanged.
    pub migrated: bool,
    /// Whether the file was replaced (`--write`).
    pub written: bool,
    /// The catalog type of the component.
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    /// The v2 text, when it was not written.
    pub text: Option<String>,
}

/// Text mode prints the v2 text, if any; the rest goes to the log.
impl fmt::Display for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text.as_deref().unwrap_or_default().trim_end())
    }
}

impl Outcome for Migration {}

pub async fn run(ctx: &Context<'_>, args: &MigrateArgs) -> Result<Migration, CommandError> {
    let (customer, subject) = super::validate::registered(ctx, args.customer.as_deref()).await?;
    let config = ctx.config().await?;
    let file = args.file.display().to_string();
    if args.write {
        replaceable(&args.file)?;
    }
    let text = super::validate::read(&args.file)?;
    let unchanged = Migration { file: file.clone(), migrated: false, written: false, type_name: None, text: None };
    match document::detect(&file, &text) {
        Ok(Schema::V2 { .. }) => {
            output::log(&format!("`{file}` is already schema v2; nothing to do"));
            return Ok(unchanged);
        }
        Ok(Schema::V1) => {}
        Err(d) => return Err(CommandError::Invalid(d.0).about(subject)),
    }
    let owner = customer.clone().map(crate::identity::Owner::Customer);
    let rules = Rules::for_owner(config, owner.as_ref());
    let request = Request {
        file: &file,
        text: &text,
        customer: customer.as_ref(),
        rules: &rules,
        module: &config.terraform.module,
        type_name: args.type_name.as_deref(),
    };
    let migrated = migrate::migrate(&request, || Catalog::load(config))
        .map_err(|e| match e {
            MigrateError::Invalid(d) => CommandError::Invalid(d.0),
            MigrateError::Catalog(d) => CommandError::Invalid(d),
            other => CommandError::usage(other.to_string(), other.hint()),
        })
        .map_err(|e| e.about(subject))?;
    let done = format!(
        "`{file}` as schema v2: component `{}` of type `{}`, the same resources",
        migrate::COMPONENT,
        migrated.type_name
    );
    if args.write {
        write_atomic(&args.file, &migrated.text)?;
        output::log(&format!(
            "rewrote {done}; a plan of each environment adds, changes and destroys nothing (the root outputs take the `{}_` prefix)",
            migrate::COMPONENT
        ));
    } else {
        output::log(&format!("printed {done}; `--write` replaces the file"));
    }
    Ok(Migration {
        migrated: true,
        written: args.write,
        type_name: Some(migrated.type_name),
        text: (!args.write).then_some(migrated.text),
        ..unchanged
    })
}

/// `--write` replaces the file itself: a link would become a plain copy (its target, which
/// others share, left as v1), and a read-only file is one its owner chose not to change.
fn replaceable(path: &Path) -> Result<(), CommandError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return Ok(()) };
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
        return Err(CommandError::usage(
            format!(
                "`{}` is a symbolic link: `--write` would replace the link with a copy and leave `{}` as it is",
                path.display(),
                crate::diagnostic::shown(&target)
            ),
            "run `migrate --write` on the file the link points to, or print the v2 form without `--write`",
        ));
    }
    if meta.permissions().readonly() {
        return Err(CommandError::usage(
            format!("`{}` is read-only: `--write` does not replace it", path.display()),
            "make it writable first, or print the v2 form without `--write`",
        ));
    }
    Ok(())
}

/// Replaces `path` by way of a temporary file beside it and a rename, keeping its
/// permissions: a reader sees the old file or the new one, never half of one.
fn write_atomic(path: &Path, text: &str) -> Result<(), CommandError> {
    let fail = |action: &str, e: std::io::Error| {
        CommandError::usage(
            format!("can't {action} `{}`: {e}", path.display()),
            "check the file and its directory are writable; the file was not changed",
        )
    };
    let permissions = std::fs::metadata(path).map_err(|e| fail("read", e))?.permissions();
    let tmp = path.with_extension(format!("migrate-{}.tmp", fastrand::u64(..)));
    let written = std::fs::write(&tmp, text)
        .and_then(|()| std::fs::set_permissions(&tmp, permissions))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("replace", e));
    }
    Ok(())
}
