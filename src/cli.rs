//! The command line as clap sees it: flags only. [`crate::run`] turns it, the
//! configuration file and the environment into validated settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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

    /// Print events as JSON lines on stdout, ending with a summary (human progress stays on stderr)
    #[arg(long, global = true)]
    pub json: bool,

    /// Colour ok / FAIL / warning: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    pub color: Color,

    #[command(subcommand)]
    pub command: Command,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// Whether to colour, given whether stderr is a terminal and whether `NO_COLOR` is
    /// set (to anything but the empty string, as no-color.org says).
    pub fn enabled(self, terminal: bool, no_color: bool) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && !no_color,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Push the idle app, check it on the staging route, switch the live route
    Deploy {
        /// Print the cf commands the deploy would run, in order, and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Record TEXT on the new app as its version label (default: the git commit of
        /// push.path)
        #[arg(
            long,
            env = "CF_BLUEGREEN_LABEL",
            value_name = "TEXT",
            long_help = "Record TEXT on the new app as its version label, which `status` shows \
                (at most 200 characters, on one line). By default, the git commit of what the \
                push uploads (push.path, else the manifest's directory, else the current \
                directory), with -dirty when the checkout has changes; outside a git checkout, \
                no label. With [[deployments]], a given label applies to every pair, and the \
                git commit is each pair's own."
        )]
        label: Option<String>,
        /// Break the deploy lock of a run that is gone (a killed CI job)
        #[arg(long)]
        force_unlock: bool,
        /// Stop once the new version passed its checks on the staging route: it waits there
        /// for `promote` (or `abort`); the live app is not touched
        #[arg(long)]
        no_switch: bool,
        #[command(flatten)]
        pairs: Pairs,
    },
    /// Check the version staged by `deploy --no-switch` again, then switch the live route to it
    Promote {
        /// Print the cf commands the promotion would run, in order, and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Break the deploy lock of a run that is gone (a killed CI job)
        #[arg(long)]
        force_unlock: bool,
        #[command(flatten)]
        pairs: Pairs,
    },
    /// Drop the version staged by `deploy --no-switch`: unmap the staging route, stop it
    Abort {
        /// Print the cf commands the abort would run, in order, and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Break the deploy lock of a run that is gone (a killed CI job)
        #[arg(long)]
        force_unlock: bool,
        #[command(flatten)]
        pairs: Select,
    },
    /// Put the previous version back: start the idle app, check it, switch the live route to it
    Rollback {
        /// Print the cf commands the rollback would run, in order, and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Break the deploy lock of a run that is gone (a killed CI job)
        #[arg(long)]
        force_unlock: bool,
        #[command(flatten)]
        pairs: Pairs,
    },
    /// Show both apps, their state and routes, and which one is live
    Status,
    /// Print a completion script for SHELL on stdout (needs no configuration and no cf)
    Completions {
        /// The shell whose completion script to print
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout (needs no configuration and no cf)
    Man,
    /// Write a commented configuration to start from, which passes validation
    #[command(
        long_about = "Write a commented configuration to start from, which passes \
        validation.\n\n\
        With --from-app NAME, the app and every route it holds are read from cf (the targeted \
        org and space): NAME becomes `blue` and stays live as it is, its routes become the live \
        routes, and the first deploy goes to the new `green` app (NAME's counterpart: -blue/-green, \
        _a/_b, -a/-b, else NAME-green). Without it, no cf is needed: the app name and routes come \
        from ./manifest.yml if there is one, else from the directory's name, with placeholders \
        marked as such.\n\n\
        The file goes where the other commands read it (--config, deploy.toml by default) \
        unless --output says otherwise. An existing file is never replaced without --force."
    )]
    Init {
        /// Read this app and its routes from cf: it becomes `blue`, live as it is
        #[arg(long, value_name = "NAME")]
        from_app: Option<String>,
        /// Where to write the file; `-` prints it on stdout [default: the --config path]
        #[arg(long, short, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Replace the file if it exists
        #[arg(long)]
        force: bool,
    },
}

/// Which of the file's `[[deployments]]` to run, and how together: the flags `deploy`
/// and `rollback` share.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Several app pairs ([[deployments]] in the configuration)")]
pub struct Pairs {
    #[command(flatten)]
    pub select: Select,

    /// Switch no live route until every pair passed its checks, then switch them all; if
    /// any failed, switch none, and switch every pair back if one fails after the switch
    #[arg(
        long,
        long_help = "Switch no live route until every selected pair passed its checks, then \
            switch them all together. If any pair failed, none switches: the pairs that passed \
            are left as after an abort (staging route unmapped, new version stopped). After \
            the switch, each pair keeps its previous app started until every pair switched and \
            passed its verification ([verify]); if one did not, every pair switches back."
    )]
    pub all_or_nothing: bool,
}

/// Which of the file's `[[deployments]]` to run, and how many at a time: all `abort`
/// takes (it has no checks to wait for together), and part of [`Pairs`].
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "Several app pairs ([[deployments]] in the configuration)")]
pub struct Select {
    /// Run at most N pairs at the same time
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        value_parser = at_least_one
    )]
    pub parallel: usize,

    /// Run only the deployment named NAME; repeat for several (default: all of them)
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
}

impl From<&Select> for Pairs {
    fn from(select: &Select) -> Pairs {
        Pairs {
            select: select.clone(),
            all_or_nothing: false,
        }
    }
}

/// clap's own range check would print "0 is not in 1..18446744073709551615".
fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be a whole number, 1 or more".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn color_follows_the_terminal_and_no_color_unless_asked() {
        assert!(Color::Auto.enabled(true, false));
        assert!(!Color::Auto.enabled(true, true));
        assert!(!Color::Auto.enabled(false, false));
        assert!(Color::Always.enabled(false, true));
        assert!(!Color::Never.enabled(true, false));
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    fn pairs(args: &[&str]) -> Result<Pairs, clap::Error> {
        let cli = Cli::try_parse_from(["cf-bluegreen"].iter().chain(args))?;
        match cli.command {
            Command::Deploy { pairs, .. }
            | Command::Rollback { pairs, .. }
            | Command::Promote { pairs, .. } => Ok(pairs),
            Command::Abort { pairs, .. } => Ok((&pairs).into()),
            other => panic!("not a deploy or a rollback: {other:?}"),
        }
    }

    #[test]
    fn pair_flags_default_to_every_pair_four_at_a_time() {
        for command in ["deploy", "rollback", "promote", "abort"] {
            assert_eq!(
                pairs(&[command]).unwrap(),
                Pairs {
                    select: Select {
                        parallel: 4,
                        only: Vec::new(),
                    },
                    all_or_nothing: false
                }
            );
        }
    }

    #[test]
    fn pair_flags_are_read() {
        for command in ["deploy", "rollback", "promote"] {
            let p = pairs(&[
                command,
                "--parallel",
                "2",
                "--only",
                "web",
                "--only=api",
                "--all-or-nothing",
                "--dry-run",
            ])
            .unwrap();
            assert_eq!(p.select.parallel, 2);
            assert_eq!(p.select.only, ["web", "api"]);
            assert!(p.all_or_nothing);
        }
    }

    #[test]
    fn parallel_is_at_least_one() {
        for bad in ["0", "-1", "two", ""] {
            let err = pairs(&["deploy", &format!("--parallel={bad}")]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            assert!(
                err.to_string()
                    .contains("for '--parallel <N>': must be a whole number, 1 or more"),
                "{err}"
            );
        }
        assert_eq!(
            pairs(&["deploy", "--parallel", "1"])
                .unwrap()
                .select
                .parallel,
            1
        );
    }

    #[test]
    fn abort_has_no_checks_to_wait_for_together() {
        let p = pairs(&["abort", "--parallel", "2", "--only", "web", "--dry-run"]).unwrap();
        assert_eq!(
            (p.select.parallel, p.select.only.as_slice()),
            (2, &["web".to_string()][..])
        );
        assert!(pairs(&["abort", "--all-or-nothing"]).is_err());
        assert!(Cli::try_parse_from(["cf-bluegreen", "promote", "--no-switch"]).is_err());
        let cli = Cli::try_parse_from(["cf-bluegreen", "deploy", "--no-switch"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Deploy {
                no_switch: true,
                ..
            }
        ));
    }

    #[test]
    fn only_deploy_takes_a_label() {
        let cli = Cli::try_parse_from(["cf-bluegreen", "deploy", "--label", "v1.2.3"]).unwrap();
        assert!(
            matches!(&cli.command, Command::Deploy { label: Some(l), .. } if l == "v1.2.3"),
            "{:?}",
            cli.command
        );
        for command in ["rollback", "status", "promote", "abort"] {
            assert!(Cli::try_parse_from(["cf-bluegreen", command, "--label", "x"]).is_err());
        }
    }

    #[test]
    fn status_takes_no_pair_flags() {
        assert!(Cli::try_parse_from(["cf-bluegreen", "status", "--parallel", "2"]).is_err());
        assert!(Cli::try_parse_from(["cf-bluegreen", "status", "--only", "web"]).is_err());
    }
}
