//! The commands' workflows, one file per operation: what `deploy`, `rollback` and
//! `status` do, in order, from reading the state to the summary. They hold the order of
//! things (read, lock, read again, plan, execute, unlock); the decisions are in
//! [`crate::plan`], the cf calls in [`crate::cf`], the output in [`crate::report`].

pub mod deploy;
pub mod rollback;
pub mod status;
mod switch;

use crate::cf::Cf;
use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::report::Sink;

/// What `deploy` and `rollback` were asked for on the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct SwitchOptions {
    /// Print the plan and change nothing.
    pub dry_run: bool,
    /// Break another run's deploy lock.
    pub force_unlock: bool,
}

/// Runs the parsed command against any [`Cf`]; `who` names this run in the lock and the
/// records.
pub fn run(cli: &Cli, cf: &dyn Cf, events: &dyn Sink, who: &str) -> Result<(), Error> {
    let config = Config::load(&cli.config)?;
    let ctx = Context::new(&config, cf, events, who);
    match cli.command {
        Command::Status => status::status(&ctx),
        Command::Deploy {
            dry_run,
            force_unlock,
        } => deploy::deploy(
            &ctx,
            SwitchOptions {
                dry_run,
                force_unlock,
            },
        ),
        Command::Rollback {
            dry_run,
            force_unlock,
        } => rollback::rollback(
            &ctx,
            SwitchOptions {
                dry_run,
                force_unlock,
            },
        ),
    }
}
