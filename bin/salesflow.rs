//! The `salesflow` command: a thin shell over `run() -> anyhow::Result<ExitCode>`.
//!
//! Exit codes: 0 done, 2 bad usage or configuration, 1 a fault that retrying will not fix.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use salesflow::config::{Cli, Command, Config};
use salesflow::{kafka, runtime};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SALESFLOW_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("salesflow: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    // clap prints usage errors itself and exits 2.
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => match Config::try_from(args) {
            Ok(config) => {
                println!("{}", config.describe());
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => Ok(bad_config(&error)),
        },
        Command::Run(args) => {
            let config = match Config::try_from(args) {
                Ok(config) => config,
                Err(error) => return Ok(bad_config(&error)),
            };
            let stop =
                kafka::stop_flag().context("while installing the SIGINT/SIGTERM handlers")?;
            runtime::run(config, stop).context("the job stopped")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn bad_config(error: &salesflow::config::ConfigError) -> ExitCode {
    eprintln!("salesflow: {error}");
    ExitCode::from(2)
}
