//! The command line as clap sees it: flags only. [`crate::run`] turns it, the
//! configuration file and the environment into validated settings.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cf-bluegreen",
    version,
    about = "Zero-downtime blue-green deployments on Cloud Foundry",
    long_about = "Zero-downtime blue-green deployments on Cloud Foundry.\n\n\
        Two apps take turns being live. `deploy` pushes the new version to the idle one \
        without any route, checks it on a staging route, then moves the live route to it and \
        stops the old one. The live route is never without a started app, and unchecked code \
        never gets live traffic.",
    after_help = "Exit codes: 0 success; 1 the deploy failed and the live route is still served; \
        2 usage, configuration or environment error, nothing was changed; \
        3 failed and no safe state could be restored (the message lists the cf commands that fix it); \
        130 interrupted (Ctrl-C or SIGTERM), after bringing the routes to a safe state."
)]
pub struct Cli {
    /// The configuration file
    #[arg(
        long,
        global = true,
        env = "CF_BLUEGREEN_CONFIG",
        default_value = "deploy.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,

    /// The cf executable (default: `cf` on PATH)
    #[arg(
        long = "cf",
        global = true,
        env = "CF_BIN",
        default_value = "cf",
        value_name = "PATH"
    )]
    pub cf_bin: String,

    /// Also show cf's own output
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Show only errors and warnings
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Push the idle app, check it on the staging route, switch the live route
    Deploy {
        /// Print the cf commands the deploy would run, in order, and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Break the deploy lock of a run that is gone (a killed CI job)
        #[arg(long)]
        force_unlock: bool,
    },
    /// Put the previous version back: start the idle app, check it, switch the live route to it
    Rollback {
        /// Print the cf commands the rollback would run, in order, and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Break the deploy lock of a run that is gone (a killed CI job)
        #[arg(long)]
        force_unlock: bool,
    },
    /// Show both apps, their state and routes, and which one is live
    Status,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
