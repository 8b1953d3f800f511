//! The process edge: parse → resolve settings → build seams → run the verb → print → exit.

mod print;

use std::process::ExitCode;

use crate::cancel::Cancel;
use crate::cli::{
    Cli, Command, FleetCommand, LocksCommand, PlansCommand, RequestsCommand, StateCommand, TenantsCommand,
};
use crate::commands;
use crate::context::Context;
use crate::error::ExitStatus;
use crate::output;
use crate::settings::Settings;

/// Runs the parsed command line and returns the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    init_logging();
    // One TLS crypto provider (ring) for octocrab and the AWS SDK alike, chosen once here.
    crate::github::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            output::log(&format!("error: can't start the async runtime: {e}"));
            return ExitCode::from(ExitStatus::Failure.code());
        }
    };
    let settings = Settings::resolve(&cli);
    let status = runtime.block_on(run(&cli.command, &settings));
    ExitCode::from(status.code())
}

/// Runs one verb over seams opened on first use, and prints its result.
pub async fn run(command: &Command, settings: &Settings) -> ExitStatus {
    let cancel = Cancel::new();
    cancel.on_signals();
    let ctx = Context::new(settings, cancel);
    // The run's GitHub calls are counted in one scope (the step summary says them).
    crate::github::budget::tallied(run_verb(command, &ctx)).await.0
}

/// The verb `command` names, its result printed.
async fn run_verb(command: &Command, ctx: &Context<'_>) -> ExitStatus {
    let verb = command.verb();
    let json = ctx.settings.json;
    match command {
        Command::Plan(args) if args.all => print::result(verb, json, commands::plan_all::run(ctx, args).await),
        Command::Plan(args) => print::result(verb, json, commands::plan::run(ctx, args).await),
        Command::Apply(args) => print::result(verb, json, commands::apply::run(ctx, args).await),
        Command::Validate(args) if commands::validate::is_many(args) => {
            print::result(verb, json, commands::validate::run_many(ctx, args).await)
        }
        Command::Validate(args) => print::result(verb, json, commands::validate::run(ctx, args).await),
        Command::Render(args) => print::result(verb, json, commands::render::run(ctx, args).await),
        Command::Schema(args) => print::result(verb, json, commands::schema::run(ctx, args).await),
        Command::Migrate(args) => print::result(verb, json, commands::migrate::run(ctx, args).await),
        Command::Catalog(args) => print::result(verb, json, commands::catalog::run(ctx, args).await),
        Command::Targets(args) => print::result(verb, json, commands::targets::run(ctx, args).await),
        Command::Dispatch(args) => print::result(verb, json, commands::dispatch::run(ctx, args).await),
        Command::Drift(args) => {
            let result = commands::drift::run(ctx, args).await;
            let drifted = result.as_ref().is_ok_and(commands::drift::drifted);
            let status = print::result(verb, json, result);
            if args.exit_code { status.detailed(drifted) } else { status }
        }
        Command::Destroy(args) => print::result(verb, json, commands::destroy::run(ctx, args).await),
        Command::Reap(args) => print::result(verb, json, commands::reap::run(ctx, args).await),
        Command::Bootstrap => print::result(verb, json, commands::bootstrap::run(ctx).await),
        Command::Doctor(args) => print::result(verb, json, commands::doctor::run(ctx, args).await),
        Command::Fleet(FleetCommand::Merge(args)) => {
            let result = commands::fleet_merge::run(ctx, args).await;
            let drifted = result.as_ref().is_ok_and(commands::fleet_merge::Merged::drifted);
            let status = print::result(verb, json, result);
            if args.exit_code { status.detailed(drifted) } else { status }
        }
        Command::History(args) => print::result(verb, json, commands::history::run(ctx, args).await),
        // `--json` is JSON Lines, which the audit's own text is.
        Command::Audit(args) => match commands::audit::run(ctx, args, json).await {
            Ok(audit) => print::result(verb, false, Ok(audit)),
            Err(e) => print::result::<commands::audit::Audit>(verb, json, Err(e)),
        },
        Command::Status(args) if args.request.is_some() => {
            print::result(verb, json, commands::status::request(ctx, args).await)
        }
        Command::Status(args) => print::result(verb, json, commands::status::run(ctx, args).await),
        Command::Locks(LocksCommand::List(_)) => print::result(verb, json, commands::locks::list(ctx).await),
        Command::State(StateCommand::Versions(args)) => {
            print::result(verb, json, commands::state::versions(ctx, args).await)
        }
        Command::State(StateCommand::Rollback(args)) => {
            print::result(verb, json, commands::state::rollback(ctx, args).await)
        }
        Command::Cost(args) => print::result(verb, json, commands::cost::run(ctx, args).await),
        Command::Overview(args) => print::result(verb, json, commands::overview::run(ctx, args).await),
        Command::Report(args) => print::result(verb, json, commands::report::run(ctx, args).await),
        Command::Requests(RequestsCommand::List(args)) => {
            print::result(verb, json, commands::requests::list(ctx, args).await)
        }
        Command::Plans(PlansCommand::List(args)) => print::result(verb, json, commands::plans::list(ctx, args).await),
        Command::Policy(crate::cli::PolicyCommand::Coverage(args)) => {
            print::result(verb, json, commands::policy::coverage(ctx, args).await)
        }
        Command::Policy(crate::cli::PolicyCommand::Test) => {
            print::result(verb, json, commands::policy::test(ctx).await)
        }
        Command::Locks(LocksCommand::Release(args)) => {
            print::result(verb, json, commands::locks::release(ctx, args).await)
        }
        Command::Tenants(TenantsCommand::Changed(args)) => {
            print::result(verb, json, commands::tenants::changed(ctx, args).await)
        }
        Command::Tenants(TenantsCommand::Plan(args)) => {
            print::result(verb, json, commands::tenants::plan(ctx, args).await)
        }
        Command::Tenants(TenantsCommand::Apply(args)) => {
            print::result(verb, json, commands::tenants::apply(ctx, args).await)
        }
        Command::Tenants(TenantsCommand::Destroy(args)) => {
            print::result(verb, json, commands::tenants::destroy(ctx, args).await)
        }
        Command::Tenants(TenantsCommand::Request(args)) => {
            print::result(verb, json, commands::tenant_request::request(ctx, args).await)
        }
        Command::Tenants(TenantsCommand::Remove(args)) => {
            print::result(verb, json, commands::tenant_request::remove(ctx, args).await)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("INFRA_MANAGER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Through the one log sink (its escaping rule), without colour codes.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(output::log_writer)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}
