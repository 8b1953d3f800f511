//! The steps every flow shares: fetch `infra/variables.yml` at the request's commit,
//! validate it, render the working directory, `init` it. Plan and apply both run these,
//! so apply rebuilds exactly the configuration the plan was made from and proves it by
//! digest.

use super::{Deps, Request, sha256_hex};
use crate::catalog::Catalog;
use crate::codehost::{CodeHost, CodeHostError};
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::error::CommandError;
use crate::refusal::Refusal;
use crate::render::{self, Rendered};
use crate::store::Store;
use crate::variables::tenant::Tenant;
use crate::variables::v2::Customer;
use crate::variables::{self, Rules, Variables};
use crate::workspace::Workspace;

/// A rendered and initialised working directory.
pub struct Prepared {
    pub workspace: Workspace,
    /// sha256 over the rendered files and Terraform's dependency lock file.
    pub config_sha256: String,
}

/// fetch: the customer's file at the request's commit.
pub async fn fetch(host: &dyn CodeHost, req: &Request) -> Result<String, CommandError> {
    let customer = &req.target.customer;
    match host.read_file(customer, variables::PATH, &req.sha).await {
        Ok(Some(text)) => Ok(text),
        Ok(None) => {
            Err(Refusal::FileMissing { customer: customer.clone(), path: variables::PATH, sha: req.sha.clone() }.into())
        }
        // Too large, not UTF-8, not a regular file: the customer's to fix, at its line 1.
        Err(CodeHostError::Unusable { problem, .. }) => {
            Err(CommandError::Invalid(vec![Diagnostic::whole_file(variables::PATH, &problem)]))
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

/// validate: the file against its schema (v1, or v2 and the catalog) and the customer's
/// tier.
pub fn validate(config: &Config, req: &Request, text: &str) -> Result<Validated, CommandError> {
    let customer = &req.target.customer;
    let rules = Rules::for_customer(config, Some(customer));
    // The catalog is read only for a v2 file; rendering needs the same one.
    let mut loaded = None;
    let tenant = Tenant::parse(variables::PATH, text, customer, &rules, || {
        let catalog = Catalog::load(config)?;
        loaded = Some(catalog.clone());
        Ok(catalog)
    })
    .map_err(|d| CommandError::Invalid(d.0))?;
    match (tenant, loaded) {
        (Tenant::V1(vars), _) => Ok(Validated::V1(vars)),
        (Tenant::V2(c), Some(catalog)) => Ok(Validated::V2(Box::new(c), catalog)),
        (Tenant::V2(c), None) => Ok(Validated::V2(Box::new(c), Catalog::load(config).map_err(CommandError::Invalid)?)),
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
            let id = req.target.customer.to_string();
            Ok(render::render_v2(customer, &id, env, catalog, &config.terraform.modules_dir, &backend)?)
        }
    }
}

/// fetch → validate → render: what `render` shows and what plan and apply run.
pub async fn rendered(
    config: &Config,
    host: &dyn CodeHost,
    store: &dyn Store,
    req: &Request,
) -> Result<Rendered, CommandError> {
    let text = fetch(host, req).await?;
    let file = validate(config, req, &text)?;
    render(config, store, req, &file)
}

/// fetch → validate → render → write → `terraform init`, and the configuration digest.
pub async fn prepare(deps: &Deps<'_>, req: &Request) -> Result<Prepared, CommandError> {
    let rendered = rendered(deps.config, deps.host, deps.store, req).await?;
    let workspace = deps.work.workspace(&req.target);
    workspace.write(&rendered)?;
    deps.terraform.init(workspace.path()).await?;
    let lock_file = workspace.lock_file()?.unwrap_or_default();
    let config_sha256 = sha256_hex(format!("{}\n{}", rendered.digest(), sha256_hex(&lock_file)).as_bytes());
    Ok(Prepared { workspace, config_sha256 })
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
    async fn an_unknown_api_version_is_an_error_at_its_place() {
        let h = Harness::new();
        h.set_file("apiVersion: infra-manager/v9\nkind: Customer\n");
        let error = plan(&h.deps(), &h.request()).await.expect_err("refused");
        let d = &error.diagnostics()[0];
        assert_eq!((d.line, d.column), (1, 13));
        assert!(d.message.contains("unknown `apiVersion` `infra-manager/v9`"), "{}", d.message);
    }
}
