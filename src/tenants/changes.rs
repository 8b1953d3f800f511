//! `tenants changed`: the (tenant, environment, action) matrix of a range of manager
//! commits. An added file creates its tenant, a modified one updates it, a deleted one
//! destroys it; an environment dropped from a file is destroyed too (it would otherwise
//! be orphaned). A rename is refused: the tenant's name is its file name, and its states
//! live under that name, so a rename would leave them behind.

use serde::Serialize;

use super::git::{FileChange, ManagerRepo, TENANTS_DIR};
use crate::config::Config;
use crate::error::CommandError;
use crate::identity::{EnvName, Owner, Sha, Target, TenantName};
use crate::pipeline::prepare::{Validated, validate};
use crate::store::Store;
use crate::yaml::{self, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Destroy,
}

/// One job of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Job {
    pub tenant: TenantName,
    pub environment: EnvName,
    pub action: Action,
}

/// The jobs for the changes from `base` to `head`, sorted by tenant and environment.
///
/// Each head file is validated as its tenant's (schema, catalog, the registry's tenant
/// environments) before anything is decided: an invalid one is an error naming the file
/// and line, never a destroy. A base version that can't be read contributes nothing: the
/// stored states say which environments exist, so a broken file can still be fixed or
/// deleted.
pub async fn changed(
    config: &Config,
    store: &dyn Store,
    repo: &ManagerRepo,
    base: &Sha,
    head: &Sha,
) -> Result<Vec<Job>, CommandError> {
    let mut jobs = Vec::new();
    for change in repo.changes(base, head).await? {
        if is_documentation(&change) {
            continue;
        }
        match change {
            FileChange::Added(path) => {
                let tenant = tenant_of(&path)?;
                let envs = validated(config, repo, head, &tenant).await?;
                jobs.extend(envs.into_iter().map(|e| job(&tenant, e, Action::Create)));
            }
            FileChange::Modified(path) => {
                let tenant = tenant_of(&path)?;
                let now = validated(config, repo, head, &tenant).await?;
                let before = before(store, repo, base, &tenant).await?;
                let dropped: Vec<EnvName> = before.into_iter().filter(|e| !now.contains(e)).collect();
                jobs.extend(now.into_iter().map(|e| job(&tenant, e, Action::Update)));
                jobs.extend(dropped.into_iter().map(|e| job(&tenant, e, Action::Destroy)));
            }
            FileChange::Deleted(path) => {
                let tenant = tenant_of(&path)?;
                let envs = before(store, repo, base, &tenant).await?;
                jobs.extend(envs.into_iter().map(|e| job(&tenant, e, Action::Destroy)));
            }
            FileChange::Renamed(from, to) => {
                return Err(CommandError::usage(
                    format!(
                        "`{}` was renamed to `{}`: a tenant's name is its file name, and a rename would orphan the old tenant's state",
                        crate::output::neutralise(&from),
                        crate::output::neutralise(&to)
                    ),
                    "keep the file name; to replace a tenant, delete its file in one change (which destroys it) and add the new file in another",
                ));
            }
            FileChange::Other(status, path) => {
                return Err(CommandError::usage(
                    format!(
                        "`{}` changed in a way tenants can't follow (`git diff` status `{status}`)",
                        crate::output::neutralise(&path)
                    ),
                    "make tenant files plain files: add, edit or delete them",
                ));
            }
        }
    }
    jobs.sort();
    Ok(jobs)
}

/// The jobs that bring every tenant to its file at `head`, whatever runs came before: a
/// file never applied is a create, one whose text differs from the version last applied
/// an update, an environment (or a whole tenant) whose state still holds resources but
/// which `head` no longer lists a destroy. An apply run that trusts this instead of its
/// event's `before..after` catches up on a run a concurrency group dropped.
pub async fn pending(
    config: &Config,
    store: &dyn Store,
    repo: &ManagerRepo,
    head: &Sha,
) -> Result<Vec<Job>, CommandError> {
    let mut jobs = Vec::new();
    let mut listed: Vec<Target> = Vec::new();
    for path in repo.tenant_files(head).await? {
        let tenant = tenant_of(&path)?;
        let now = repo.read(head, &path).await?;
        for env in validated(config, repo, head, &tenant).await? {
            let target = Target { owner: Owner::Tenant(tenant.clone()), env: env.clone() };
            listed.push(target.clone());
            let action = match crate::pipeline::admit::last_applied(store, &target).await? {
                None => Some(Action::Create),
                // A version that can't be read (a shallow checkout) is a doubt: re-plan it.
                Some(applied) => match repo.read(&applied.sha, &path).await {
                    Ok(then) if then == now => None,
                    _ => Some(Action::Update),
                },
            };
            jobs.extend(action.map(|a| job(&tenant, env, a)));
        }
    }
    if let Some(states) = store.states() {
        for target in states.state_targets().await? {
            let Owner::Tenant(tenant) = &target.owner else { continue };
            if listed.contains(&target) || states.state_resources(&target).await?.unwrap_or(0) == 0 {
                continue;
            }
            jobs.push(job(tenant, target.env.clone(), Action::Destroy));
        }
    }
    jobs.sort();
    jobs.dedup();
    Ok(jobs)
}

/// A Markdown file directly below `tenants/` (a README) is no tenant and changes nothing.
fn is_documentation(change: &FileChange) -> bool {
    let doc = |path: &str| {
        path.strip_prefix(TENANTS_DIR)
            .and_then(|p| p.strip_prefix('/'))
            .is_some_and(|name| !name.contains('/') && name.ends_with(".md"))
    };
    match change {
        FileChange::Added(p) | FileChange::Modified(p) | FileChange::Deleted(p) => doc(p),
        FileChange::Renamed(from, to) => doc(from) && doc(to),
        FileChange::Other(_, p) => doc(p),
    }
}

fn job(tenant: &TenantName, environment: EnvName, action: Action) -> Job {
    Job { tenant: tenant.clone(), environment, action }
}

/// The tenant whose file `path` is: `tenants/<name>.yml`, nothing else below `tenants/`.
pub fn tenant_of(path: &str) -> Result<TenantName, CommandError> {
    let name = path.strip_prefix(TENANTS_DIR).and_then(|p| p.strip_prefix('/')).and_then(|p| p.strip_suffix(".yml"));
    match name.map(TenantName::parse) {
        Some(Ok(tenant)) => Ok(tenant),
        Some(Err(e)) => Err(CommandError::usage(
            format!("`{}`: {e}", crate::output::neutralise(path)),
            "name tenant files `tenants/<name>.yml` with a DNS label as the name",
        )),
        None => Err(CommandError::usage(
            format!("`{}` is not a tenant file", crate::output::neutralise(path)),
            "only `tenants/<name>.yml` files (no subdirectories, no other extension) and Markdown notes belong below `tenants/`",
        )),
    }
}

/// The environments of the tenant's file at `head`, validated as the tenant's file (a
/// missing file has none).
async fn validated(
    config: &Config,
    repo: &ManagerRepo,
    head: &Sha,
    tenant: &TenantName,
) -> Result<Vec<EnvName>, CommandError> {
    // `spec.environments` first: a file that lost them is named as such, never read as empty.
    environments(repo, head, tenant).await?;
    let Some(text) = repo.read(head, &tenant.file()).await? else { return Ok(Vec::new()) };
    match validate(config, &Owner::Tenant(tenant.clone()), &text)? {
        Validated::V2(file, _) => Ok(file.environments),
        Validated::V1(_) => Ok(Vec::new()),
    }
}

/// The environments the tenant had before the change: those of its base file, or, when
/// that file can't be read, those with a stored state.
async fn before(
    store: &dyn Store,
    repo: &ManagerRepo,
    base: &Sha,
    tenant: &TenantName,
) -> Result<Vec<EnvName>, CommandError> {
    match environments(repo, base, tenant).await {
        Ok(envs) => Ok(envs),
        Err(e) => {
            crate::output::log(&format!(
                "warning: `{}` can't be read at {} ({}); its environments are taken from the stored states",
                tenant.file(),
                base.short(),
                e.status_line()
            ));
            let owner = Owner::Tenant(tenant.clone());
            let Some(states) = store.states() else { return Ok(Vec::new()) };
            let mut envs: Vec<EnvName> =
                states.state_targets().await?.into_iter().filter(|t| t.owner == owner).map(|t| t.env).collect();
            envs.sort();
            Ok(envs)
        }
    }
}

/// `spec.environments` of the tenant's file at `sha`, read from the YAML alone.
async fn environments(repo: &ManagerRepo, sha: &Sha, tenant: &TenantName) -> Result<Vec<EnvName>, CommandError> {
    let file = tenant.file();
    let Some(text) = repo.read(sha, &file).await? else { return Ok(Vec::new()) };
    let root = yaml::parse(&file, &text).map_err(|d| CommandError::Invalid(vec![d]))?;
    let listed = match &root.value {
        Value::Map(entries) => yaml::get(entries, "spec")
            .and_then(|s| if let Value::Map(fields) = &s.value { yaml::get(fields, "environments") } else { None }),
        _ => None,
    };
    let mut c = yaml::Checker::new(&file);
    // A file without environments is invalid, not one whose environments all went away:
    // read as empty, an edit gone wrong would turn into destroys.
    let Some(listed) = listed else {
        c.error(
            root.pos,
            "missing required key `spec.environments`",
            Some("list the tenant's environments, e.g. `environments: [staging]`".into()),
        );
        return Err(CommandError::Invalid(c.diagnostics));
    };
    let mut out = Vec::new();
    for (name, pos) in c.str_list("spec.environments", listed).unwrap_or_default() {
        match EnvName::parse(&name) {
            Ok(env) if !out.contains(&env) => out.push(env),
            Ok(_) => {}
            Err(e) => c.error(pos, e.to_string(), None),
        }
    }
    if out.is_empty() && c.diagnostics.is_empty() {
        c.error(
            listed.pos,
            "`spec.environments` is empty",
            Some("list at least one environment; to remove the tenant, delete its file".into()),
        );
    }
    if c.diagnostics.is_empty() { Ok(out) } else { Err(CommandError::Invalid(c.diagnostics)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_flat_yml_files_with_dns_label_names_are_tenants() {
        assert_eq!(tenant_of("tenants/billing.yml").expect("valid").as_str(), "billing");
        for bad in ["tenants/a/b.yml", "tenants/x.yaml", "tenants/Bad.yml", "tenants/README.md", "other/x.yml"] {
            assert!(tenant_of(bad).is_err(), "{bad}");
        }
    }
}
