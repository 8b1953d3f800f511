//! Preparing a target's Terraform working directory: fetch `infra/variables.yml` at the SHA,
//! validate it, resolve the environment, render, `init`. Plan and apply share this, so apply
//! rebuilds exactly the configuration the plan was made from and can prove it by digest.

use std::path::PathBuf;

use super::{Context, Request, Stop};
use crate::codehost::CodeHost;
use crate::config::Config;
use crate::render::{self, Rendered};
use crate::store::Store;
use crate::variables::{self, Rules, Variables};

/// A rendered and initialised working directory.
pub struct Prepared {
    pub dir: PathBuf,
    /// sha256 over the rendered files and Terraform's dependency lock file.
    pub config_sha256: String,
}

/// Fetches `infra/variables.yml` at the request's SHA, validates it, resolves the environment
/// and renders the working directory's files (nothing written, no Terraform): what `render`
/// shows and what plan and apply run.
pub async fn render_files(
    config: &Config,
    host: &dyn CodeHost,
    store: &dyn Store,
    req: &Request,
) -> Result<Rendered, Stop> {
    let customer = &req.target.customer;
    let text = host
        .read_file(customer, variables::PATH, &req.sha)
        .await
        .map_err(|e| Stop::Failed(e.to_string()))?
        .ok_or_else(|| Stop::Refused {
            message: format!("`{}` not found at {customer}@{}", variables::PATH, req.sha.short()),
            hint: Some("add the file; `customer-template/infra/variables.yml` is a starting point".into()),
            exit_code: 2,
        })?;
    let rules = Rules::for_customer(config, Some(customer));
    let vars = Variables::parse(variables::PATH, &text, customer, &rules).map_err(|d| Stop::Invalid(d.0))?;
    let values = vars.resolve(&req.target.env).map_err(|e| Stop::Refused {
        message: e.to_string(),
        hint: Some(format!("add `{}` under `environments:` in {}", req.target.env, variables::PATH)),
        exit_code: 2,
    })?;
    let backend = store.backend(&req.target);
    render::render(&values, &config.module_dir(), &backend).map_err(|e| Stop::Failed(e.to_string()))
}

/// Renders into the target's working directory and runs `terraform init` there.
pub async fn prepare(ctx: &Context<'_>, req: &Request) -> Result<Prepared, Stop> {
    let rendered = render_files(ctx.config, ctx.host, ctx.store, req).await?;
    let dir = ctx.work_dir(&req.target);
    rendered.write(&dir).map_err(|e| Stop::Failed(e.to_string()))?;
    ctx.terraform.init(&dir).await.map_err(|e| Stop::Failed(e.to_string()))?;
    let lock_file = std::fs::read(dir.join(".terraform.lock.hcl")).unwrap_or_default();
    let config_sha256 =
        super::sha256_hex(format!("{}\n{}", rendered.digest(), super::sha256_hex(&lock_file)).as_bytes());
    Ok(Prepared { dir, config_sha256 })
}

/// A working-directory root of its own for one run, removed when dropped. Runs against the
/// shared S3 backend may overlap on one machine (a CI runner, the tests); each renders and
/// runs `terraform init` in its own directory so they never write into each other's.
#[derive(Debug)]
pub struct ScratchRoot(PathBuf);

impl ScratchRoot {
    /// Creates `<parent>/run-<pid>-<random>`.
    pub fn create(parent: &std::path::Path) -> Result<Self, Stop> {
        let dir = parent.join(format!("run-{}-{:08x}", std::process::id(), fastrand::u32(..)));
        std::fs::create_dir_all(&dir).map_err(|e| Stop::Failed(format!("can't create `{}`: {e}", dir.display())))?;
        Ok(Self(dir))
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ScratchRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
