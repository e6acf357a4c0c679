//! cf-bluegreen: zero-downtime blue-green deployments on Cloud Foundry by driving the cf
//! CLI. `main.rs` only calls [`run`]; everything else lives here so that tests and the
//! demo drive the same code. The README's "Layout" section says where to add what.

pub mod cf;
pub mod child;
pub mod cli;
pub mod config;
pub mod context;
pub mod error;
pub mod execute;
pub mod hint;
pub mod interrupt;
pub mod label;
pub mod lock;
pub mod metadata;
pub mod ops;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod route;
pub mod smoke;
pub mod vars_file;

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::report::{Event, Human, Sink, Verbosity};

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
    // Only a run that changes things needs to stop gracefully; a status or a dry run
    // just ends on Ctrl-C.
    if let Command::Deploy { dry_run: false, .. }
    | Command::Rollback { dry_run: false, .. }
    | Command::Promote { dry_run: false, .. }
    | Command::Abort { dry_run: false, .. } = cli.command
    {
        interrupt::install();
    }
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = cli.color.enabled(std::io::stderr().is_terminal(), no_color);
    let human = Human::with_color(verbosity, color);
    let cf = cf::process::CfProcess::new(cli.cf_bin.clone());
    match ops::run(&cli, &cf, &human, &context::who_am_i()) {
        // An interrupt during the last bookkeeping still means: interrupted.
        Ok(()) if interrupt::requested() => {
            human.emit(Event::Warning {
                message: "interrupted, after the work had completed",
            });
            interrupt::EXIT_INTERRUPTED
        }
        Ok(()) => error::EXIT_OK,
        Err(e) => {
            human.emit(Event::Failed { error: &e });
            e.exit_code()
        }
    }
}
