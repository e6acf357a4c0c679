//! cf-bluegreen: zero-downtime blue-green deployments on Cloud Foundry by driving the cf
//! CLI. `main.rs` only calls [`run`]; everything else lives here so that tests and the
//! demo drive the same code.

pub mod cf;
pub mod child;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod error;
pub mod plan;
pub mod report;
pub mod route;
pub mod smoke;
pub mod status;

use std::ffi::OsString;

use clap::Parser;

use crate::cf::process::CfProcess;
use crate::cf::{Cf, CfClient};
use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::deploy::Context;
use crate::error::{Error, EXIT_OK};
use crate::report::{short, Reporter, Verbosity};

/// Runs the tool with these arguments (the first is the program name) and returns the
/// exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version on stdout with 0, usage errors with 2.
            let _ = e.print();
            return e.exit_code();
        }
    };
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let reporter = Reporter::new(verbosity);
    let cf = CfProcess::new(cli.cf_bin.clone());
    match run_command(&cli, &cf, &reporter) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            reporter.error(&e.to_string());
            e.exit_code()
        }
    }
}

/// Runs the parsed command against any [`Cf`].
pub fn run_command(cli: &Cli, cf: &dyn Cf, reporter: &Reporter) -> Result<(), Error> {
    let config = Config::load(&cli.config)?;
    let ctx = Context {
        config: &config,
        cf: CfClient::new(cf, reporter, config.cf.timeout),
        reporter,
    };
    match cli.command {
        Command::Status => {
            let observed = deploy::preflight(&ctx)?;
            for line in status::render(&config, &observed.pair) {
                reporter.result(&line);
            }
            Ok(())
        }
        Command::Deploy { dry_run } => {
            deploy::check_push_files(&config)?;
            let observed = reporter.step("read the current state", || deploy::preflight(&ctx))?;
            let plan = deploy::plan_deploy(&config, &observed.pair)?;
            reporter.info(&format!(
                "cf {} as {} in {} / {}",
                observed.version.full,
                observed.target.user.as_deref().unwrap_or("?"),
                observed.target.org.as_deref().unwrap_or("?"),
                observed.target.space.as_deref().unwrap_or("?"),
            ));
            reporter.info(&match &plan.previous {
                Some(old) => format!("live: {old}; the new version goes to {}", plan.target),
                None => format!(
                    "no app holds {} yet: first deploy, to {}",
                    config.main_live(),
                    plan.target
                ),
            });
            if dry_run {
                for step in &plan.steps {
                    if step.command().is_none() {
                        reporter.info(&format!("then: {step}"));
                    }
                }
                for line in deploy::dry_run_lines(&plan) {
                    reporter.result(&line);
                }
                return Ok(());
            }
            let outcome = deploy::execute(&ctx, &plan, &observed.pair)?;
            let urls: Vec<String> = config.live.iter().map(|r| format!("https://{r}")).collect();
            let previous = match (&outcome.previous, config.old_app) {
                (Some(old), config::OldApp::Stop) => format!("; {old} stopped"),
                (Some(old), config::OldApp::Keep) => {
                    format!("; {old} kept running, without routes")
                }
                (Some(old), config::OldApp::Delete) => format!("; {old} deleted"),
                (None, _) => String::new(),
            };
            reporter.info(&format!(
                "{} is live at {}{previous} ({})",
                outcome.live,
                urls.join(", "),
                short(reporter.elapsed())
            ));
            Ok(())
        }
    }
}
