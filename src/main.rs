//! The `infra-manager` binary: parse the command line, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    infra_manager::cli::main()
}
