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
#[cfg(test)]
mod test_http;
pub mod vars_file;
pub mod verify;

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::report::{Both, Event, Human, Json, Sink, Verbosity};

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
    let started = std::time::Instant::now();
    let mut human = Human::with_color(verbosity, color);
    // Completions and the man page are documents on stdout, not events.
    let command = command_name(&cli.command);
    let json = (cli.json && !matches!(cli.command, Command::Completions { .. } | Command::Man))
        .then(|| std::sync::Arc::new(Json::stdout(verbosity == Verbosity::Verbose)));
    if let Some(json) = &json {
        human = human.results_on_stderr();
        // A second interrupt exits without coming back here.
        let json = json.clone();
        interrupt::at_exit(Box::new(move || {
            json.finish_at_once(command, started.elapsed())
        }));
    }
    let both;
    let sink: &dyn Sink = match &json {
        Some(json) => {
            both = Both(json.as_ref(), &human);
            &both
        }
        None => &human,
    };
    let cf = cf::process::CfProcess::new(cli.cf_bin.clone());
    let code = match ops::run(&cli, &cf, sink, &context::who_am_i()) {
        // An interrupt during the last bookkeeping still means: interrupted.
        Ok(()) if interrupt::requested() => {
            sink.emit(Event::Warning {
                message: "interrupted, after the work had completed",
            });
            interrupt::EXIT_INTERRUPTED
        }
        Ok(()) => error::EXIT_OK,
        Err(e) => {
            sink.emit(Event::Failed { error: &e });
            e.exit_code()
        }
    };
    if let Some(json) = &json {
        json.finish(command, code, started.elapsed());
    }
    code
}

/// The subcommand as the user typed it, for `--json`'s summary.
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Deploy { .. } => "deploy",
        Command::Rollback { .. } => "rollback",
        Command::Status => "status",
        Command::Completions { .. } => "completions",
        Command::Man => "man",
        Command::Init { .. } => "init",
        Command::Promote { .. } => "promote",
        Command::Abort { .. } => "abort",
    }
}
