//! The steps every flow shares: fetch `infra/variables.yml` at the request's commit,
//! validate it, render the working directory, `init` it. Plan and apply both run these,
//! so apply rebuilds exactly the configuration the plan was made from and proves it by
//! digest.

use super::{Deps, Request, sha256_hex};
use crate::catalog::Catalog;
use crate::codehost::{CodeHostError, Files};
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::error::CommandError;
use crate::identity::Owner;
use crate::refusal::Refusal;
use crate::render::{self, Rendered};
use crate::store::Store;
use crate::variables::document::Document;
use crate::variables::v2::Customer;
use crate::variables::{Rules, Variables};
use crate::workspace::Workspace;

/// A rendered and initialised working directory.
pub struct Prepared {
    pub workspace: Workspace,
    /// sha256 over the rendered files and Terraform's dependency lock file.
    pub config_sha256: String,
    /// The components rendered ([`render::Rendered::components`]).
    pub components: Option<Vec<String>>,
}

/// fetch: the owner's file at the request's commit.
pub async fn fetch(host: &dyn Files, req: &Request) -> Result<String, CommandError> {
    let owner = &req.target.owner;
    let path = owner.file();
    match host.read_file(owner, &path, &req.sha).await {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(Refusal::FileMissing { owner: owner.clone(), path, sha: req.sha.clone() }.into()),
        // Too large, not UTF-8, not a regular file: the customer's to fix, at its line 1
        // (a byte that is not UTF-8: at its own line and column).
        Err(CodeHostError::Unusable { problem, .. }) => {
            Err(CommandError::Invalid(vec![Diagnostic::whole_file(&path, &problem)]))
        }
        Err(e) => Err(e.into()),
    }
}

/// A validated file, with what rendering it needs.
pub enum Validated {
    V1(Variables),
    /// A v2 file and the catalog it was checked against (its types' modules).
    V2(Box<Customer>, Catalog),
}

/// validate: the file against its schema (v1, or v2 and the catalog) and what the
/// registry allows the owner (tier, environments, component types).
pub fn validate(config: &Config, customer: &Owner, text: &str) -> Result<Validated, CommandError> {
    let rules = Rules::for_owner(config, Some(customer));
    // The catalog is read only for a v2 file; rendering needs the same one.
    let mut loaded = None;
    let tenant = Document::parse(&customer.file(), text, customer, &rules, || {
        let catalog = Catalog::load(config)?.for_owner(config, customer);
        loaded = Some(catalog.clone());
        Ok(catalog)
    })
    .map_err(|d| CommandError::Invalid(d.0))?;
    match (tenant, loaded) {
        (Document::V1(vars), _) => Ok(Validated::V1(vars)),
        (Document::V2(c), Some(catalog)) => Ok(Validated::V2(Box::new(c), catalog)),
        (Document::V2(c), None) => {
            let catalog = Catalog::load(config).map_err(CommandError::Invalid)?.for_owner(config, customer);
            Ok(Validated::V2(Box::new(c), catalog))
        }
    }
}

/// render: the environment's values into the working directory's files (nothing written).
pub fn render(config: &Config, store: &dyn Store, req: &Request, file: &Validated) -> Result<Rendered, CommandError> {
    let backend = store.backend(&req.target);
    match file {
        Validated::V1(vars) => {
            let values = vars
                .resolve(&req.target.env)
                .map_err(|e| Refusal::EnvNotInFile { env: req.target.env.clone(), message: e.to_string() })?;
            Ok(render::render(&values, &config.module_dir(), &backend)?)
        }
        Validated::V2(customer, catalog) => {
            let env = &req.target.env;
            if !customer.environments.contains(env) {
                let listed: Vec<&str> = customer.environments.iter().map(|e| e.as_str()).collect();
                let message = format!(
                    "environment `{env}` is not in `spec.environments` ({}); add it there to plan it",
                    listed.join(", ")
                );
                return Err(Refusal::EnvNotInFile { env: env.clone(), message }.into());
            }
            let id = req.target.owner.to_string();
            Ok(render::render_v2(customer, &id, env, catalog, &config.terraform.modules_dir, &backend)?)
        }
    }
}

/// fetch → validate → render: what `render` shows.
pub async fn rendered(
    config: &Config,
    host: &dyn Files,
    store: &dyn Store,
    req: &Request,
) -> Result<Rendered, CommandError> {
    let text = fetch(host, req).await?;
    let file = validate(config, &req.target.owner, &text)?;
    render(config, store, req, &file)
}

/// render → write → `terraform init` for the file admission read and validated, and the
/// configuration digest.
pub async fn prepare(deps: &Deps<'_>, req: &Request, file: &Validated) -> Result<Prepared, CommandError> {
    let rendered = render(deps.config, deps.store, req, file)?;
    let workspace = deps.work.workspace(&req.target);
    workspace.write(&rendered)?;
    deps.terraform.init(workspace.path()).await?;
    let lock_file = workspace.lock_file()?.unwrap_or_default();
    let config_sha256 = sha256_hex(format!("{}\n{}", rendered.digest(), sha256_hex(&lock_file)).as_bytes());
    Ok(Prepared { workspace, config_sha256, components: rendered.components })
}

/// fetch → validate → [`prepare`]: what an apply runs to rebuild the configuration of
/// the stored plan's commit.
pub async fn rebuild(deps: &Deps<'_>, req: &Request) -> Result<Prepared, CommandError> {
    let text = fetch(deps.files, req).await?;
    let file = validate(deps.config, &req.target.owner, &text)?;
    prepare(deps, req, &file).await
}

#[cfg(test)]
mod tests {
    use crate::error::ExitStatus;
    use crate::pipeline::plan::plan;
    use crate::pipeline::testing::Harness;

    const V2: &str = "apiVersion: infra-manager/v2\nkind: Customer\nmetadata: { name: web }\nspec:\n  environments: [staging]\n  components:\n    - { name: jobs, type: queue }\n";

    #[tokio::test]
    async fn a_v2_file_renders_one_module_call_per_component() {
        let h = Harness::new();
        h.set_file(V2);
        let rendered = super::rendered(&h.config, &h.host, &h.store, &h.request()).await.expect("renders");
        let root: serde_json::Value = serde_json::from_str(&rendered.files[0].1).expect("json");
        assert_eq!(root["module"]["jobs"]["source"], "./modules/queue");
        assert_eq!(root["output"]["jobs_queue_name"]["value"], "${module.jobs.queue_name}");
        plan(&h.deps(), &h.request()).await.expect("planned");
        assert!(!h.terraform.calls().is_empty(), "Terraform runs for a v2 file");
    }

    #[tokio::test]
    async fn a_v2_file_without_the_environment_is_refused_before_terraform_runs() {
        let h = Harness::new();
        h.set_file(&V2.replace("[staging]", "[production]"));
        let error = plan(&h.deps(), &h.request()).await.expect_err("refused");
        assert_eq!(error.exit_status(), ExitStatus::Usage);
        assert!(
            error.to_string().contains("environment `staging` is not in `spec.environments` (production)"),
            "{error}"
        );
        assert!(h.terraform.calls().is_empty(), "no Terraform without the environment");
    }

    #[tokio::test]
    async fn a_protected_component_is_removed_only_after_an_applied_allow_destroy() {
        use crate::pipeline::admit::last_applied;
        use crate::pipeline::apply::{Mode, apply};
        const DB: &str = "    - { name: db, type: database }\n";
        let h = Harness::new();
        // Commit 1: a queue and a database, applied.
        let one = h.commit('1', &format!("{V2}{DB}"));
        plan(&h.deps(), &one).await.expect("planned");
        apply(&h.deps(), &one, Mode::Apply).await.expect("applied");
        let applied = last_applied(&h.store, &h.request().target).await.expect("records").expect("applied");
        assert_eq!(applied.sha.as_str(), "1".repeat(40));

        // Commit 2 drops the database: refused at its line in the applied file, no Terraform.
        let two = h.commit('2', V2);
        let calls = h.terraform.calls().len();
        let statuses = h.host.states().len();
        let records = crate::store::Store::records(&h.store, "acme/web", None).await.expect("records").len();
        let error = plan(&h.deps(), &two).await.expect_err("refused");
        assert_eq!(error.exit_status(), ExitStatus::Usage);
        let d = &error.diagnostics()[0];
        assert_eq!((d.line, d.column), (8, 7), "{d}");
        assert!(d.message.contains("component `db` (type `database`, protected) would be destroyed"), "{d}");
        assert!(d.hint.as_deref().is_some_and(|h| h.contains("allow_destroy: true")), "{d:?}");
        // Issue 19: refused at admission, before anything is written.
        assert_eq!(h.terraform.calls().len(), calls, "refused before Terraform runs");
        assert_eq!(h.host.states().len(), statuses, "no status for a refusal");
        let after = crate::store::Store::records(&h.store, "acme/web", None).await.expect("records").len();
        assert_eq!(after, records, "no record for a refusal");

        // Commit 3 allows it and is applied; commit 4 removes it and plans.
        let allowed = format!("{V2}    - {{ name: db, type: database, allow_destroy: true }}\n");
        let three = h.commit('3', &allowed);
        plan(&h.deps(), &three).await.expect("planned");
        apply(&h.deps(), &three, Mode::Apply).await.expect("applied");
        plan(&h.deps(), &h.commit('4', V2)).await.expect("the removal plans once allowed and applied");
    }

    #[tokio::test]
    async fn an_unknown_api_version_is_an_error_at_its_place() {
        let h = Harness::new();
        h.set_file("apiVersion: infra-manager/v9\nkind: Customer\n");
        let error = plan(&h.deps(), &h.request()).await.expect_err("refused");
        let d = &error.diagnostics()[0];
        assert_eq!((d.line, d.column), (1, 13));
        assert!(d.message.contains("unknown `apiVersion` `infra-manager/v9`"), "{}", d.message);
    }
}
