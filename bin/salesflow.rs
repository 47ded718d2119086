//! The `salesflow` command: a thin shell over `run() -> anyhow::Result<ExitCode>`.
//!
//! Exit codes: 0 done, 2 bad usage or configuration, 1 a fault that retrying will not fix.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use salesflow::config::{Cli, Command, Config, ConfigError};
use salesflow::{kafka, runtime};

fn main() -> ExitCode {
    // clap prints usage errors itself and exits 2.
    let cli = Cli::parse();
    // The demo owns the screen: only warnings and errors may interrupt its view.
    let level = match cli.command {
        Command::Demo(_) => "warn",
        _ => "info",
    };
    if let Err(error) = salesflow::logging::init(level) {
        eprintln!("salesflow: {error:#}");
        return ExitCode::from(1);
    }
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("salesflow: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::CheckConfig(args) => match Config::try_from(args) {
            Ok(config) => {
                println!("{}", config.describe());
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => Ok(bad_config(&error)),
        },
        Command::Generate(args) => {
            let config = match salesflow::generate::GenerateConfig::try_from(args) {
                Ok(config) => config,
                Err(error) => return Ok(bad_config(&error)),
            };
            let stop =
                kafka::stop_flag().context("while installing the SIGINT/SIGTERM handlers")?;
            let done =
                salesflow::generate::generate(&config, &stop).context("generating failed")?;
            println!(
                "produced {} records ({} orders) in {:.2} s: {:.0} records/s, {:.0} orders/s; after the load {} records at {:.0} records/s",
                done.records,
                done.orders,
                done.elapsed.as_secs_f64(),
                done.per_second(done.records),
                done.per_second(done.orders),
                done.changes,
                done.changes_per_second(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Tail(args) => {
            let config = match salesflow::tail::TailConfig::try_from(args) {
                Ok(config) => config,
                Err(error) => return Ok(bad_config(&error)),
            };
            let stop =
                kafka::stop_flag().context("while installing the SIGINT/SIGTERM handlers")?;
            salesflow::tail::tail(&config, &stop, &mut std::io::stdout().lock())
                .context("tail failed")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => {
            let config = match salesflow::report::ReportConfig::try_from(args) {
                Ok(config) => config,
                Err(error) => return Ok(bad_config(&error)),
            };
            let stop =
                kafka::stop_flag().context("while installing the SIGINT/SIGTERM handlers")?;
            let summary = salesflow::report::report(&config, &stop).context("report failed")?;
            print!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let config = match salesflow::config::DemoConfig::try_from(args) {
                Ok(config) => config,
                Err(error) => return Ok(bad_config(&error)),
            };
            let stop =
                kafka::stop_flag().context("while installing the SIGINT/SIGTERM handlers")?;
            salesflow::demo::demo(config, stop).context("the demo failed")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            let mut config = match salesflow::bench::BenchConfig::try_from(args) {
                Ok(config) => config,
                Err(error) => return Ok(bad_config(&error)),
            };
            config.binary = salesflow::bench::job::this_binary()?;
            let stop =
                kafka::stop_flag().context("while installing the SIGINT/SIGTERM handlers")?;
            let report = salesflow::bench::bench(&config, &stop).context("the benchmark failed")?;
            println!("{report}");
            println!("report: {}", config.json.display());
            println!("logs:   {}", config.work_dir.display());
            // Different tables are a failed benchmark, for scripts as for people.
            Ok(if report.tables_match() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
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

fn bad_config(error: &ConfigError) -> ExitCode {
    eprintln!("salesflow: {error}");
    ExitCode::from(2)
}
