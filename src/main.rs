//! The `infra-manager` binary: parse the command line, run, exit with the command's status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    infra_manager::app::main(infra_manager::cli::Cli::parse())
}
