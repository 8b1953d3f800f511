//! The steps every flow shares: fetch `infra/variables.yml` at the request's commit,
//! validate it, render the working directory, `init` it. Plan and apply both run these,
//! so apply rebuilds exactly the configuration the plan was made from and proves it by
//! digest.

use super::{Deps, Request, sha256_hex};
use crate::codehost::{CodeHost, CodeHostError};
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::error::CommandError;
use crate::refusal::Refusal;
use crate::render::{self, Rendered};
use crate::store::Store;
use crate::variables::tenant::{self, Schema};
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

/// validate: the file against schema v1 and the customer's tier. A v2 file is refused at
/// its `apiVersion` (exit 2): this build validates it but cannot render its components.
pub fn validate(config: &Config, req: &Request, text: &str) -> Result<Variables, CommandError> {
    let customer = &req.target.customer;
    match tenant::detect(variables::PATH, text) {
        Ok(Schema::V1) => {}
        Ok(Schema::V2 { api_version }) => {
            return Err(CommandError::Invalid(vec![tenant::not_planned(variables::PATH, api_version)]));
        }
        Err(d) => return Err(CommandError::Invalid(d.0)),
    }
    let rules = Rules::for_customer(config, Some(customer));
    Variables::parse(variables::PATH, text, customer, &rules).map_err(|d| CommandError::Invalid(d.0))
}

/// render: the environment's values into the working directory's files (nothing written).
pub fn render(config: &Config, store: &dyn Store, req: &Request, vars: &Variables) -> Result<Rendered, CommandError> {
    let values = vars
        .resolve(&req.target.env)
        .map_err(|e| Refusal::EnvNotInFile { env: req.target.env.clone(), message: e.to_string() })?;
    Ok(render::render(&values, &config.module_dir(), &store.backend(&req.target))?)
}

/// fetch → validate → render: what `render` shows and what plan and apply run.
pub async fn rendered(
    config: &Config,
    host: &dyn CodeHost,
    store: &dyn Store,
    req: &Request,
) -> Result<Rendered, CommandError> {
    let text = fetch(host, req).await?;
    let vars = validate(config, req, &text)?;
    render(config, store, req, &vars)
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

    #[tokio::test]
    async fn a_v2_file_is_refused_at_its_api_version_before_terraform_runs() {
        let h = Harness::new();
        h.set_file(
            "# v2\napiVersion: infra-manager/v2\nkind: Customer\nmetadata: { name: web }\nspec:\n  environments: [staging]\n  components: []\n",
        );
        let error = plan(&h.deps(), &h.request()).await.expect_err("refused");
        assert_eq!(error.exit_status(), ExitStatus::Usage);
        let d = &error.diagnostics()[0];
        assert_eq!((d.file.as_str(), d.line, d.column), (crate::variables::PATH, 2, 13));
        assert_eq!(d.message, "schema v2 files are validated but not yet planned by this build");
        assert!(h.terraform.calls().is_empty(), "no Terraform for a v2 file");
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
