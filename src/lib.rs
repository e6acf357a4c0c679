//! cf-bluegreen: zero-downtime blue-green deployments on Cloud Foundry by driving the cf
//! CLI. `main.rs` only calls [`run`]; everything else lives here so that tests and the
//! demo drive the same code.

pub mod cf;
pub mod child;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod error;
pub mod interrupt;
pub mod lock;
pub mod metadata;
pub mod plan;
pub mod preflight;
pub mod recovery;
pub mod report;
pub mod route;
pub mod smoke;
pub mod status;

use std::ffi::OsString;

use clap::Parser;

use crate::cf::process::CfProcess;
use crate::cf::{Cf, CfClient};
use crate::cli::{Cli, Command};
use crate::config::{Config, OldApp};
use crate::deploy::Context;
use crate::error::{Error, EXIT_OK};
use crate::metadata::DeployId;
use crate::plan::{Kind, Plan};
use crate::preflight::Observed;
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
    // Only a run that changes things needs to stop gracefully; a status or a dry run
    // just ends on Ctrl-C.
    if let Command::Deploy { dry_run: false, .. } | Command::Rollback { dry_run: false, .. } =
        cli.command
    {
        interrupt::install();
    }
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (_, true) => Verbosity::Verbose,
        _ => Verbosity::Normal,
    };
    let reporter = Reporter::new(verbosity);
    let cf = CfProcess::new(cli.cf_bin.clone());
    match run_command(&cli, &cf, &reporter, &who_am_i()) {
        // An interrupt during the last bookkeeping still means: interrupted.
        Ok(()) if interrupt::requested() => {
            reporter.warn("interrupted, after the work had completed");
            interrupt::EXIT_INTERRUPTED
        }
        Ok(()) => EXIT_OK,
        Err(e) => {
            reporter.error(&e.to_string());
            e.exit_code()
        }
    }
}

/// `user@host pid N`, for the lock and the records on the apps. The environment is read
/// here and nowhere else.
fn who_am_i() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok();
    let host = std::env::var("HOSTNAME").ok().or_else(hostname);
    metadata::who(user.as_deref(), host.as_deref())
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// Runs the parsed command against any [`Cf`]; `who` names this run in the lock.
pub fn run_command(cli: &Cli, cf: &dyn Cf, reporter: &Reporter, who: &str) -> Result<(), Error> {
    let config = Config::load(&cli.config)?;
    let ctx = Context::new(
        &config,
        CfClient::new(cf, reporter, config.cf.timeout),
        reporter,
    );
    match cli.command {
        Command::Status => {
            let observed = preflight::preflight(&ctx)?;
            for line in status::render(&config, &observed.pair, &observed.meta) {
                reporter.result(&line);
            }
            Ok(())
        }
        Command::Deploy {
            dry_run,
            force_unlock,
        } => switch(&ctx, Kind::Deploy, dry_run, force_unlock, who),
        Command::Rollback {
            dry_run,
            force_unlock,
        } => switch(&ctx, Kind::Rollback, dry_run, force_unlock, who),
    }
}

fn make_plan(ctx: &Context, kind: Kind, observed: &Observed, id: &DeployId) -> Result<Plan, Error> {
    Ok(match kind {
        Kind::Deploy => plan::plan_deploy(ctx.config, &observed.pair, &observed.meta, id)?,
        Kind::Rollback => plan::plan_rollback(ctx.config, &observed.pair, &observed.meta, id)?,
    })
}

fn describe(ctx: &Context, kind: Kind, plan: &Plan) {
    let config = ctx.config;
    ctx.reporter.info(&match (&plan.previous, kind) {
        (Some(old), Kind::Deploy) => {
            format!("live: {old}; the new version goes to {}", plan.target)
        }
        (None, _) => format!(
            "no app holds {} yet: first deploy, to {}",
            config.main_live(),
            plan.target
        ),
        (Some(old), Kind::Rollback) => {
            format!(
                "live: {old}; rolling back to the previous version on {}",
                plan.target
            )
        }
    });
}

/// A deploy or a rollback: read, lock, read again, plan, run, unlock.
fn switch(
    ctx: &Context,
    kind: Kind,
    dry_run: bool,
    force_unlock: bool,
    who: &str,
) -> Result<(), Error> {
    let reporter = ctx.reporter;
    if kind == Kind::Deploy {
        preflight::check_push_files(ctx.config)?;
    }
    let observed = reporter.step("read the current state", || preflight::preflight(ctx))?;
    reporter.info(&format!(
        "cf {} as {} in {} / {}",
        observed.version.full,
        observed.target.user.as_deref().unwrap_or("?"),
        observed.target.org.as_deref().unwrap_or("?"),
        observed.target.space.as_deref().unwrap_or("?"),
    ));
    let id = DeployId::new(who);
    if dry_run {
        for (app, meta) in &observed.meta {
            if let Some(lock) = meta.get(metadata::LOCK) {
                reporter.warn(&format!(
                    "{app} carries a deploy lock: {}",
                    lock::parse_value(lock).holder
                ));
            }
        }
        let plan = make_plan(ctx, kind, &observed, &id)?;
        describe(ctx, kind, &plan);
        for note in &plan.notes {
            reporter.warn(note);
        }
        // The whole plan in order on stderr (checks included); the cf commands alone on
        // stdout, ready to be read or pasted.
        for (i, step) in plan.steps.iter().enumerate() {
            reporter.info(&format!("{:>2}. {step}", i + 1));
        }
        for command in plan.commands() {
            reporter.result(&command.to_string());
        }
        return Ok(());
    }

    // A state that needs a human is reported before anything is written, the lock included.
    make_plan(ctx, kind, &observed, &id)?;
    let acquire = || lock::acquire(ctx, &observed, who, &id.0, force_unlock);
    let held = if ctx.config.lock.enabled && !observed.meta.is_empty() {
        reporter.step("take the deploy lock", acquire)?
    } else {
        // Nothing to lock with (it says why), or locking is off: no step to show.
        acquire()?
    };
    let result = (|| {
        let observed = match &held {
            // Another deploy may have finished while this one waited for the lock.
            Some(_) => {
                let (pair, meta) = preflight::observe(ctx).map_err(Error::Observe)?;
                Observed {
                    pair,
                    meta,
                    ..observed
                }
            }
            None => observed,
        };
        let plan = make_plan(ctx, kind, &observed, &id)?;
        describe(ctx, kind, &plan);
        deploy::execute(ctx, &plan)?;
        let config = ctx.config;
        let previous = match (&plan.previous, config.old_app, kind) {
            (Some(old), OldApp::Keep, _) => format!("; {old} kept running, without routes"),
            (Some(old), OldApp::Delete, Kind::Deploy) => format!("; {old} deleted"),
            (Some(old), _, _) => format!("; {old} stopped"),
            (None, _, _) => String::new(),
        };
        reporter.info(&format!(
            "{} is live at {}{previous} ({})",
            plan.target,
            config.live_urls(),
            short(reporter.elapsed())
        ));
        Ok(())
    })();
    if let Some(held) = &held {
        match &result {
            Err(Error::Unsafe { .. }) => reporter.warn(&format!(
                "the deploy lock on {} is kept, so that no other deploy runs before the state is fixed; \
                 after fixing it, run again with --force-unlock",
                held.app
            )),
            _ => lock::release(ctx, held),
        }
    }
    result
}
