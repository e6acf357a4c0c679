//! The commands' workflows, one file per operation: what `deploy`, `rollback` and
//! `status` do, in order, from reading the state to the summary. They hold the order of
//! things (read, lock, read again, plan, execute, unlock); the decisions are in
//! [`crate::plan`], the cf calls in [`crate::cf`], the output in [`crate::report`].
//! [`docs`] renders `completions` and `man` from the command line's definition; [`init`]
//! writes a configuration to start from.

pub mod abort;
pub mod deploy;
pub mod docs;
pub mod init;
pub mod promote;
pub mod rollback;
pub mod status;
pub mod suite;
mod switch;

use crate::cf::Cf;
use crate::cli::{Cli, Command};
use crate::config::{Deployment, Suite};
use crate::context::Context;
use crate::error::Error;
use crate::plan::Kind;
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
/// records. A configuration with `[[deployments]]` runs every selected pair (see
/// [`suite`]); one without runs its single pair exactly as it always did.
pub fn run(cli: &Cli, cf: &dyn Cf, events: &dyn Sink, who: &str) -> Result<(), Error> {
    let load = || {
        Suite::load(
            &cli.config,
            &crate::context::cf_limits(),
            &crate::context::var,
        )
    };
    let (kind, options, pairs, label) = match &cli.command {
        // From the command line's definition alone: no configuration file, no cf.
        Command::Completions { shell } => return docs::print(&docs::completions(*shell)),
        Command::Man => return docs::print(&docs::man()),
        // Needs cf only with --from-app, and never reads the configuration it may replace.
        Command::Init {
            from_app,
            output,
            force,
        } => {
            if cli.json && output.as_deref() == Some(std::path::Path::new("-")) {
                return Err(Error::Environment {
                    message: "init --output - prints the configuration on stdout, which --json keeps for its events".into(),
                    hint: "write the file instead (--output PATH), or leave out --json".into(),
                });
            }
            let options = init::Options {
                from_app: from_app.as_deref(),
                output: output.as_deref().unwrap_or(&cli.config),
                force: *force,
            };
            return init::init(options, cf, events);
        }
        Command::Status => {
            // Status sends no check, so it needs no smoke secret: a job or a laptop
            // without them still sees the apps. A stand-in fills each `${VAR}`.
            let lenient = |name: &str| {
                Some(
                    crate::context::var(name)
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| "unset".into()),
                )
            };
            let suite = Suite::load(&cli.config, &crate::context::cf_limits(), &lenient)?;
            return status_all(&suite, cf, events, who);
        }
        Command::Deploy {
            dry_run,
            force_unlock,
            no_switch,
            pairs,
            label,
        } => {
            let kind = if *no_switch {
                Kind::Stage
            } else {
                Kind::Deploy
            };
            (kind, (*dry_run, *force_unlock), pairs.clone(), label)
        }
        Command::Rollback {
            dry_run,
            force_unlock,
            pairs,
        } => (
            Kind::Rollback,
            (*dry_run, *force_unlock),
            pairs.clone(),
            &None,
        ),
        Command::Promote {
            dry_run,
            force_unlock,
            pairs,
        } => (
            Kind::Promote,
            (*dry_run, *force_unlock),
            pairs.clone(),
            &None,
        ),
        Command::Abort {
            dry_run,
            force_unlock,
            pairs,
        } => (Kind::Abort, (*dry_run, *force_unlock), pairs.into(), &None),
    };
    let switch = SwitchOptions {
        dry_run: options.0,
        force_unlock: options.1,
    };
    let label = label.as_deref().map(crate::label::check).transpose()?;
    let suite = load()?;
    let selected = labelled(&suite.select(&pairs.select.only)?, kind, label.as_deref());
    if !suite.has_names() {
        let config = &selected[0].config;
        let ctx = Context::new(config, cf, events, who);
        // Limits that may cut cf short matter to whatever pushes or starts an app.
        for warning in &config.warnings {
            ctx.warn(warning);
        }
        return run_kind(&ctx, kind, switch);
    }
    for warning in &suite.warnings {
        events.emit(crate::report::Event::Warning { message: warning });
    }
    let pairs_to_run: Vec<suite::Pair> = selected
        .iter()
        .map(|d| suite::Pair {
            name: d.name.as_deref().unwrap_or_default(),
            config: &d.config,
        })
        .collect();
    suite::switch_all(
        &pairs_to_run,
        cf,
        events,
        who,
        kind,
        suite::SuiteOptions {
            parallel: pairs.select.parallel,
            all_or_nothing: pairs.all_or_nothing,
            switch,
        },
    )
}

/// One pair's `kind` of run.
pub(crate) fn run_kind(ctx: &Context, kind: Kind, options: SwitchOptions) -> Result<(), Error> {
    match kind {
        Kind::Deploy | Kind::Stage => deploy::deploy_kind(ctx, kind, options),
        Kind::Rollback => rollback::rollback(ctx, options),
        Kind::Promote => promote::promote(ctx, options),
        Kind::Abort => abort::abort(ctx, options),
    }
}

/// The selected pairs, each with the label a deploy records on it (see [`crate::label`]):
/// `given` for every pair, else each pair's own git commit. A rollback records none.
fn labelled(selected: &[&Deployment], kind: Kind, given: Option<&str>) -> Vec<Deployment> {
    selected
        .iter()
        .map(|d| {
            let mut d = (*d).clone();
            // `deploy --no-switch` records it as a deploy does; a promotion keeps the
            // staged version's.
            if matches!(kind, Kind::Deploy | Kind::Stage) {
                d.config.label = crate::label::for_pair(given, &d.config);
            }
            d
        })
        .collect()
}

/// `status` of every pair, one after another so that each one's lines stay together.
fn status_all(suite: &Suite, cf: &dyn Cf, events: &dyn Sink, who: &str) -> Result<(), Error> {
    if !suite.has_names() {
        let ctx = Context::new(&suite.deployments[0].config, cf, events, who);
        return status::status(&ctx);
    }
    let mut failed = Vec::new();
    let mut code = crate::error::EXIT_OK;
    for deployment in &suite.deployments {
        let name = deployment.name.as_deref().unwrap_or_default();
        let tagged = crate::report::Tagged::new(name, events);
        let ctx = Context::new(&deployment.config, cf, &tagged, who);
        if let Err(e) = status::status(&ctx) {
            // A pair that cannot be read does not hide the others.
            tagged.emit(crate::report::Event::Failed { error: &e });
            failed.push(format!("{name} (exit {})", e.exit_code()));
            code = code.max(e.exit_code());
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::Suite {
        verb: "show their status",
        failed,
        total: suite.deployments.len(),
        code,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cf::memory::MemoryCf;
    use crate::report::Recorder;

    const LIVE: &str = "live.example.com";

    /// `deploy.toml` in a temporary directory, and the command line naming it.
    fn cli(dir: &tempfile::TempDir, extra: &str, command: &str) -> Cli {
        let path = dir.path().join("deploy.toml");
        std::fs::write(
            &path,
            format!(
                "[apps]\nblue = \"a\"\ngreen = \"b\"\n[routes]\ndomain = \"example.com\"\nlive = \"live\"\nstaging = \"stg\"\n\
                 [smoke]\nenabled = false\n{extra}"
            ),
        )
        .unwrap();
        Cli::try_parse_from(["cf-bluegreen", "--config", path.to_str().unwrap(), command]).unwrap()
    }

    /// `b` live, `a` holding the previous version, and its `cf start` hanging.
    fn rollback_whose_start_hangs() -> MemoryCf {
        MemoryCf::new()
            .app("a", false, &[])
            .app("b", true, &[LIVE])
            .fail("start:1:hang")
    }

    #[test]
    fn a_rollbacks_start_runs_under_cfs_own_limits() {
        let dir = tempfile::tempdir().unwrap();
        let cf = rollback_whose_start_hangs();
        let events = Recorder::default();
        let error = run(&cli(&dir, "", "rollback"), &cf, &events, "tester").unwrap_err();
        // Not cf.timeout (2m): staging + startup, as the environment sets them, and a
        // minute for the API calls (21m with cf's defaults).
        let limit = crate::context::cf_limits().start_timeout();
        let killed = format!(
            "`cf start a` did not finish within {}",
            humantime::format_duration(limit)
        );
        assert!(error.to_string().contains(&killed), "{error}");
        assert_eq!(cf.started("b"), Some(true));
    }

    #[test]
    fn short_limits_are_warned_about_before_a_deploy_or_rollback_only() {
        let dir = tempfile::tempdir().unwrap();
        let short = "[push]\ntimeout = \"1m\"\n[cf]\nstart-timeout = \"90s\"\n";
        let cf = rollback_whose_start_hangs();
        let events = Recorder::default();
        let error = run(&cli(&dir, short, "rollback"), &cf, &events, "tester").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`cf start a` did not finish within 1m 30s"),
            "{error}"
        );
        let warnings: Vec<String> = events
            .lines()
            .into_iter()
            .filter(|l| l.starts_with("warning: "))
            .collect();
        assert!(
            warnings[0]
                .starts_with("warning: push.timeout = \"1m\" is shorter than cf's own limits"),
            "{warnings:?}"
        );
        assert!(
            warnings[1]
                .starts_with("warning: cf.start-timeout = \"90s\" is shorter than cf's own limits"),
            "{warnings:?}"
        );

        // `status` neither pushes nor starts anything.
        let events = Recorder::default();
        run(
            &cli(&dir, short, "status"),
            &MemoryCf::new(),
            &events,
            "tester",
        )
        .unwrap();
        assert!(
            !events.lines().iter().any(|l| l.starts_with("warning: ")),
            "{:?}",
            events.lines()
        );
    }
}
