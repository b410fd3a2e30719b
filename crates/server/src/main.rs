//! The `qunzhu` binary; the commands live in [`qunzhu::cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = qunzhu::cli::Cli::parse();
    match qunzhu::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
