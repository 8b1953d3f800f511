//! `render`: write the Terraform working directory for a customer environment and print
//! its path (local mode).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::target;
use super::{Outcome, TargetResult};
use crate::cli::RenderArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::pipeline::{admit, prepare};
use crate::workspace::{WorkRoot, Workspace};

/// The directory written, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Rendered {
    #[serde(flatten)]
    pub result: TargetResult,
    pub work_dir: String,
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.work_dir)
    }
}

impl Outcome for Rendered {}

pub async fn run(ctx: &Context<'_>, args: &RenderArgs) -> Result<Rendered, CommandError> {
    let Some(dir) = &args.target.source_dir else {
        return Err(CommandError::usage(
            "`render` needs `--source-dir`",
            "pass the customer repository checkout as `--source-dir`",
        ));
    };
    let (req, host) = target::local_request(ctx, &args.target, dir).await?;
    let written = async {
        let config = ctx.config().await?;
        admit::registered(config, &req.target)?;
        let rendered = prepare::rendered(config, &host, ctx.store().await?, &req).await?;
        let workspace = match &args.out {
            Some(dir) => Workspace::at(dir.clone()),
            None => WorkRoot::shared(config.state.local_dir.join("work")).workspace(&req.target),
        };
        workspace.write(&rendered)?;
        Ok::<PathBuf, CommandError>(workspace.path().to_path_buf())
    }
    .await
    .map_err(|e| e.about(target::subject(&req)))?;
    Ok(Rendered { result: TargetResult::from(&target::subject(&req)), work_dir: written.display().to_string() })
}
