//! `validate`: check a `variables.yml` file (schema v1, or v2 against the catalog); exit 0 when valid, 2 with every problem at
//! its line and column when not.

use std::cell::OnceCell;
use std::fmt;

use serde::Serialize;

use super::{Outcome, TargetResult};
use std::path::{Path, PathBuf};

use crate::catalog::Catalog;
use crate::cli::{ValidateArgs, Verb};
use crate::config::Config;
use crate::context::Context;
use crate::diagnostic::Diagnostic;
use crate::error::{CommandError, ErrorItem, ExitStatus, Status, Subject};
use crate::identity::{Owner, RepoId};
use crate::limits::CUSTOMER_FILE_BYTES;
use crate::output;
use crate::refusal::Refusal;
use crate::source_file;
use crate::variables::Rules;
use crate::variables::document::{self, Document, Schema};

/// A valid file, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Validated {
    #[serde(flatten)]
    pub result: TargetResult,
}

/// Text mode prints nothing on stdout; the verdict goes to the log.
impl fmt::Display for Validated {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl Outcome for Validated {}

/// Whether more than one file is checked (several paths, or a directory).
pub fn is_many(args: &ValidateArgs) -> bool {
    args.files.len() > 1 || args.files.iter().any(|f| f.is_dir())
}

pub async fn run(ctx: &Context<'_>, args: &ValidateArgs) -> Result<Validated, CommandError> {
    let (customer, subject) = customer(ctx, args).await?;
    let config = ctx.config().await?;
    let path = args.files.first().map_or_else(|| PathBuf::from(crate::variables::PATH), Clone::clone);
    let environments =
        check(config, customer.as_ref(), &path, &OnceCell::new()).map_err(|e| e.about(subject.clone()))?;
    output::log(&format!("{} is valid (environments: {})", path.display(), environments.join(", ")));
    Ok(Validated { result: TargetResult::from(&subject) })
}

async fn customer(ctx: &Context<'_>, args: &ValidateArgs) -> Result<(Option<RepoId>, Subject), CommandError> {
    registered(ctx, args.customer.as_deref()).await
}

/// `--customer`, refused when a registry does not list it.
pub async fn registered(ctx: &Context<'_>, customer: Option<&str>) -> Result<(Option<RepoId>, Subject), CommandError> {
    let customer = customer.map(RepoId::parse).transpose().map_err(|e| CommandError::bad_customer(&e))?;
    let subject = Subject { customer: customer.as_ref().map(ToString::to_string), ..Subject::default() };
    let config = ctx.config().await?;
    if let Some(id) = &customer
        && config.registration(&Owner::Customer(id.clone())).is_none()
    {
        return Err(CommandError::from(Refusal::NotRegistered { owner: Owner::Customer(id.clone()) }).about(subject));
    }
    Ok((customer, subject))
}

/// Checks one file; its environments when valid.
fn check(
    config: &Config,
    customer: Option<&RepoId>,
    path: &Path,
    catalog: &OnceCell<Result<Catalog, Vec<Diagnostic>>>,
) -> Result<Vec<String>, CommandError> {
    let file = path.display().to_string();
    let text = read(path)?;
    // Without `--customer`, a manager repository's `tenants/<name>.yml` is checked as that
    // tenant, any other file against the default tier, as any customer.
    let tenant = customer.is_none().then(|| tenant_file(path)).flatten();
    let given = customer.map(|c| Owner::Customer(c.clone())).or(tenant);
    let id = match &given {
        Some(owner) => owner.clone(),
        None => Owner::Customer(RepoId::parse("local/validate").map_err(|e| CommandError::bad_customer(&e))?),
    };
    let rules = Rules::for_owner(config, given.as_ref());
    if matches!(document::detect(&file, &text), Ok(Schema::V2 { .. })) && !config.terraform.modules_dir.is_dir() {
        return Err(no_catalog(&file, &config.terraform.modules_dir));
    }
    // A v2 file is checked against the catalog, loaded only then and once per run.
    let loaded = || catalog.get_or_init(|| Catalog::load(config)).clone().map(|c| c.for_owner(config, &id));
    let tenant = Document::parse(&file, &text, &id, &rules, loaded).map_err(|d| CommandError::Invalid(d.0))?;
    Ok(tenant.environments())
}

/// A v2 file checked where the catalog's modules are not (a customer's checkout): one error
/// that says where the catalog is, rather than one per missing module blamed on the file.
fn no_catalog(file: &str, modules_dir: &Path) -> CommandError {
    CommandError::usage(
        format!(
            "can't check `{file}` here: a schema v2 file is checked against the component catalog, whose modules (`{}`) are in the manager repository, not in this directory",
            modules_dir.display()
        ),
        "check it in a checkout of the manager repository (`infra-manager validate <path> --customer OWNER/REPO`), or against the JSON Schema that `infra-manager schema` prints there, as editors do; each pull request's plan checks it too",
    )
}

/// The tenant whose file `path` is, when it is `…/tenants/<name>.yml`.
fn tenant_file(path: &Path) -> Option<Owner> {
    let in_tenants = path.parent()?.file_name()? == crate::tenants::git::TENANTS_DIR;
    let name = path.file_name()?.to_str()?.strip_suffix(".yml")?;
    let tenant = crate::identity::TenantName::parse(name).ok().filter(|_| in_tenants)?;
    Some(Owner::Tenant(tenant))
}

/// A customer file's text. Bounded and non-blocking: a device, a FIFO or a huge file is
/// refused at its line 1.
pub fn read(path: &Path) -> Result<String, CommandError> {
    let file = path.display().to_string();
    source_file::read(path, CUSTOMER_FILE_BYTES).map_err(|e| match e.diagnostic(&file) {
        Some(diagnostic) => CommandError::Invalid(vec![diagnostic]),
        None => CommandError::usage(format!("can't read `{file}`: {e}"), "pass the path of a variables.yml"),
    })
}

/// One file's verdict in a many-file run.
#[derive(Debug, Serialize)]
pub struct FileResult {
    pub file: String,
    pub status: Status,
    pub errors: Vec<ErrorItem>,
}

/// Every file's verdict, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct ValidatedMany {
    pub command: Verb,
    pub files: usize,
    pub invalid: usize,
    pub results: Vec<FileResult>,
}

impl Outcome for ValidatedMany {
    const ENVELOPE: bool = false;

    /// Any invalid (or unreadable) file: 2, as for one file.
    fn exit_status(&self) -> ExitStatus {
        if self.invalid > 0 { ExitStatus::Usage } else { ExitStatus::Success }
    }
}

/// Text mode: each problem at its place, then the count.
impl fmt::Display for ValidatedMany {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in self.results.iter().flat_map(|r| &r.errors) {
            match (&item.file, item.line, item.column) {
                (Some(file), Some(line), Some(column)) => writeln!(f, "{file}:{line}:{column}: {}", item.message)?,
                _ => writeln!(f, "{}", item.message)?,
            }
        }
        write!(f, "{} files checked, {} invalid", self.files, self.invalid)
    }
}

/// Checks many files in one process (a registry's worth): one config, one verdict each.
pub async fn run_many(ctx: &Context<'_>, args: &ValidateArgs) -> Result<ValidatedMany, CommandError> {
    let (customer, _) = customer(ctx, args).await?;
    let config = ctx.config().await?;
    let mut files = Vec::new();
    for path in &args.files {
        if path.is_dir() {
            yaml_files(path, &mut files).map_err(|e| {
                CommandError::usage(
                    format!("can't list `{}`: {e}", path.display()),
                    "pass files or a readable directory",
                )
            })?;
        } else {
            files.push(path.clone());
        }
    }
    let catalog = OnceCell::new();
    let results: Vec<FileResult> = files
        .iter()
        .map(|path| match check(config, customer.as_ref(), path, &catalog) {
            Ok(_) => FileResult { file: path.display().to_string(), status: Status::Ok, errors: Vec::new() },
            Err(e) => FileResult { file: path.display().to_string(), status: e.status(), errors: e.items() },
        })
        .collect();
    let invalid = results.iter().filter(|r| r.status != Status::Ok).count();
    Ok(ValidatedMany { command: Verb::Validate, files: results.len(), invalid, results })
}

/// Every `*.yml`/`*.yaml` file below `dir`, sorted; hidden entries and links are skipped.
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            yaml_files(&path, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}
