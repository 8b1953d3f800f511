//! `validate`: check a `variables.yml` file; exit 0 when valid, 2 with every problem at
//! its line and column when not.

use std::fmt;

use serde::Serialize;

use super::{Outcome, TargetResult};
use crate::cli::ValidateArgs;
use crate::context::Context;
use crate::error::{CommandError, Subject};
use crate::identity::{CustomerId, EnvName};
use crate::limits::CUSTOMER_FILE_BYTES;
use crate::output;
use crate::refusal::Refusal;
use crate::source_file;
use crate::variables::{Rules, Variables};

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

pub async fn run(ctx: &Context<'_>, args: &ValidateArgs) -> Result<Validated, CommandError> {
    let customer =
        args.customer.as_deref().map(CustomerId::parse).transpose().map_err(|e| CommandError::bad_customer(&e))?;
    let subject = Subject { customer: customer.as_ref().map(ToString::to_string), ..Subject::default() };
    let config = ctx.config().await?;
    if let Some(id) = &customer
        && config.has_registry()
        && config.customer(id).is_none()
    {
        return Err(CommandError::from(Refusal::NotRegistered { customer: id.clone() }).about(subject));
    }
    let file = args.file.display().to_string();
    // Bounded and non-blocking: a device, a FIFO or a huge file is refused at its line 1.
    let text = source_file::read(&args.file, CUSTOMER_FILE_BYTES).map_err(|e| match e.diagnostic(&file) {
        Some(diagnostic) => CommandError::Invalid(vec![diagnostic]).about(subject.clone()),
        None => CommandError::usage(format!("can't read `{file}`: {e}"), "pass the path of a variables.yml"),
    })?;
    // Without `--customer`, the file is checked against the default tier, as any customer.
    let id = match &customer {
        Some(id) => id.clone(),
        None => CustomerId::parse("local/validate").map_err(|e| CommandError::bad_customer(&e))?,
    };
    let rules = Rules::for_customer(config, customer.as_ref());
    let vars =
        Variables::parse(&file, &text, &id, &rules).map_err(|d| CommandError::Invalid(d.0).about(subject.clone()))?;
    let environments: Vec<String> = vars.environments().map(EnvName::to_string).collect();
    output::log(&format!("{file} is valid (environments: {})", environments.join(", ")));
    Ok(Validated { result: TargetResult::from(&subject) })
}
