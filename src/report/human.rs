//! The terminal and CI-log rendering of [`Event`]s: a spinner per step on a terminal
//! (one line each, in plan order, when steps run side by side), timestamped lines when
//! stderr is not one (CI logs), or only warnings and errors under `--quiet`. Results
//! (`status`, `--dry-run`) go to stdout, everything else to stderr.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{Event, Sink};
use crate::config::Config;
use crate::hint::Hint;
use crate::plan::{Kind, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    /// Also cf's own output, line by line.
    Verbose,
}

/// The human renderer.
pub struct Human {
    verbosity: Verbosity,
    spinner: bool,
    /// Holds the spinners of the steps running now, one line each, in the order they
    /// started (the plan's).
    multi: MultiProgress,
    /// Each running step's spinner, with what it shows.
    bars: Mutex<Vec<(String, ProgressBar)>>,
    /// ANSI colours for the words that say how things went.
    color: bool,
    /// `--json` owns stdout: results (status, the dry run's commands) go to stderr.
    results_on_stderr: bool,
}

thread_local! {
    /// The pair of a suite whose event this thread renders: its lines are marked `[NAME]`.
    static PAIR: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// `[NAME] ` while a pair's event is rendered, else nothing.
fn pair_prefix() -> String {
    PAIR.with(|p| {
        p.borrow()
            .as_ref()
            .map(|n| format!("[{n}] "))
            .unwrap_or_default()
    })
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";

impl Human {
    /// A spinner only when stderr is a terminal: CI logs get plain lines.
    pub fn new(verbosity: Verbosity) -> Human {
        Human::with_color(verbosity, false)
    }

    /// [`Human::new`], with ok / FAIL / warning / error in colour when `color`.
    pub fn with_color(verbosity: Verbosity, color: bool) -> Human {
        let spinner = verbosity != Verbosity::Quiet && std::io::stderr().is_terminal();
        Human {
            verbosity,
            spinner,
            color,
            multi: MultiProgress::new(),
            bars: Mutex::new(Vec::new()),
            results_on_stderr: false,
        }
    }

    /// Results on stderr too, for when stdout carries `--json`'s lines alone.
    pub fn results_on_stderr(mut self) -> Human {
        self.results_on_stderr = true;
        self
    }

    /// `word` in `colour` when colour is on.
    fn paint(&self, word: &str, colour: &str) -> String {
        if self.color {
            format!("{colour}{word}\x1b[0m")
        } else {
            word.to_string()
        }
    }

    fn info(&self, message: &str) {
        if self.verbosity != Verbosity::Quiet {
            self.line(message);
        }
    }

    fn warn(&self, message: &str) {
        self.line(&format!("{}: {message}", self.paint("warning", YELLOW)));
    }

    /// A result line on stdout.
    fn result(&self, text: &str) {
        if self.results_on_stderr {
            self.line(text);
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Which app is live, where the new version goes, and what moves besides the routes
    /// the configuration lists.
    fn plan_ready(&self, plan: &Plan, config: &Config) {
        let going = match (&plan.previous, plan.kind) {
            (Some(old), Kind::Deploy) => {
                format!("live: {old}; the new version goes to {}", plan.target)
            }
            (None, _) => format!(
                "no app holds {} yet: first deploy, to {}",
                config.main_live(),
                plan.target
            ),
            (Some(old), Kind::Rollback) => format!(
                "live: {old}; rolling back to the previous version on {}",
                plan.target
            ),
            (Some(old), Kind::Stage) => format!(
                "live: {old}; the new version goes to {}, which stays on the staging route (--no-switch)",
                plan.target
            ),
            (Some(old), Kind::Promote) => format!(
                "live: {old}; promoting the version staged on {}",
                plan.target
            ),
            (Some(old), Kind::Abort) => format!(
                "live: {old} (not touched); dropping the version staged on {}",
                plan.target
            ),
        };
        self.info(&format!("{going}{}", label_suffix(plan)));
        let unlisted: Vec<String> = plan
            .live
            .iter()
            .filter(|r| !config.live.contains(r))
            .map(ToString::to_string)
            .collect();
        if !unlisted.is_empty() {
            self.info(&format!(
                "routes not in {} move with the live app too: {}",
                config.path.display(),
                unlisted.join(", ")
            ));
        }
    }

    /// The end of `activity`: its spinner (if any) gives way to `text`, above the
    /// spinners of the steps still running.
    fn end_step(&self, activity: &str, text: &str) {
        let mut bars = self.bars.lock().unwrap();
        if let Some(i) = bars.iter().position(|(a, _)| a == activity) {
            let (_, bar) = bars.remove(i);
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.print(&bars, text);
    }

    /// A line on stderr: above the spinners on a terminal, timestamped in logs.
    fn line(&self, text: &str) {
        let bars = self.bars.lock().unwrap();
        self.print(&bars, text);
    }

    /// Called with the spinners locked, so that no step starts or ends while the line is
    /// written.
    fn print(&self, bars: &[(String, ProgressBar)], text: &str) {
        let text = &format!("{}{text}", pair_prefix());
        if !bars.is_empty() {
            self.multi.suspend(|| eprintln!("{text}"));
        } else if self.spinner {
            eprintln!("{text}");
        } else {
            // Only the first line is stamped: continuation lines (cf output, commands
            // to run) stay as they are, so they can be copied.
            let stamp = humantime::format_rfc3339_seconds(SystemTime::now());
            eprintln!("{stamp} {text}");
        }
    }
}

impl Sink for Human {
    fn emit_for(&self, pair: &str, event: Event<'_>) {
        PAIR.with(|p| *p.borrow_mut() = Some(pair.to_string()));
        if let Event::DryRun { .. } | Event::Status { .. } = event {
            // Results on stdout: each pair's under its name.
            self.result(&format!("# {pair}"));
            self.emit(event);
            self.result("");
        } else {
            self.emit(event);
        }
        PAIR.with(|p| *p.borrow_mut() = None);
    }

    fn emit(&self, event: Event<'_>) {
        let quiet = self.verbosity == Verbosity::Quiet;
        match event {
            Event::Connected { version, target } => self.info(&format!(
                "cf {} as {} in {} / {}",
                version.full,
                target.user.as_deref().unwrap_or("?"),
                target.org.as_deref().unwrap_or("?"),
                target.space.as_deref().unwrap_or("?"),
            )),
            Event::PlanReady { plan, config } => {
                self.plan_ready(plan, config);
            }
            Event::DryRun { plan } => {
                // The whole plan in order on stderr (checks included), a `+` before each
                // step that runs side by side with the one above; the cf commands alone
                // on stdout, ready to be read or pasted (one after another is as safe).
                let batches = plan.batches();
                if batches.iter().any(|b| b.len() > 1) {
                    self.info("the plan (steps marked + run side by side with the unmarked step before them):");
                }
                for batch in batches {
                    for i in batch.clone() {
                        let side = if i == batch.start { "" } else { "+ " };
                        self.info(&format!("{:>2}. {side}{}", i + 1, plan.steps[i]));
                    }
                }
                for command in plan.commands() {
                    self.result(&command.to_string());
                }
            }
            Event::Started { activity } => {
                if quiet {
                    return;
                }
                if self.spinner {
                    let bar = self.multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}")
                            .expect("static template"),
                    );
                    // Several pairs may run the same activity (the state read) at once.
                    let key = format!("{}{activity}", pair_prefix());
                    bar.set_message(key.clone());
                    bar.enable_steady_tick(Duration::from_millis(100));
                    self.bars.lock().unwrap().push((key, bar));
                } else {
                    self.line(&format!("{activity} ..."));
                }
            }
            Event::Finished {
                activity,
                elapsed,
                ok: true,
            } => {
                if !quiet {
                    let text = format!("{}   {activity} ({})", self.paint("ok", GREEN), short(elapsed));
                    self.end_step(&format!("{}{activity}", pair_prefix()), &text);
                }
            }
            Event::Finished {
                activity,
                elapsed,
                ok: false,
            } => self.end_step(
                &format!("{}{activity}", pair_prefix()),
                &format!("{} {activity} ({})", self.paint("FAIL", RED), short(elapsed)),
            ),
            Event::Output { line } => {
                if self.verbosity == Verbosity::Verbose {
                    self.line(&format!("  | {line}"));
                }
            }
            Event::RecoveryStarted {
                failed,
                interrupted,
            } => self.warn(&if interrupted {
                format!("interrupted after: {failed}; bringing the routes to a safe state")
            } else {
                format!("{failed} failed; bringing the routes to a safe state")
            }),
            Event::RecoveryDecided { blind, .. } => {
                if let Some(why) = blind {
                    self.warn(&format!(
                        "cannot read the apps' state ({why}); recovering from what the deploy did"
                    ));
                }
            }
            Event::SwitchCompleted {
                failed,
                cause,
                target,
            } => self.warn(&format!(
                "{failed} failed ({}), but {target} had passed its check and already served live traffic: the switch was completed",
                super::one_line(cause),
            )),
            Event::Warning { message } => self.warn(message),
            Event::PoliciesAdded { from, to, policies } => self.info(&format!(
                "gave {to} the network policies of {from}: {}",
                policies.join("; ")
            )),
            Event::Scaled {
                app,
                like,
                from,
                to,
            } => self.info(&format!(
                "scaled {app} from {from} to {to} instances, as many as {like} runs"
            )),
            Event::Status { config, pair, meta } => {
                for line in super::status::render(config, pair, meta) {
                    self.result(&line);
                }
            }
            Event::Summary {
                plan,
                config,
                elapsed,
            } => {
                let previous = match &plan.previous {
                    Some(old) => format!("; {old} {}", plan.retire),
                    None => String::new(),
                };
                self.info(&format!(
                    "{} is live at {}{}{previous} ({})",
                    plan.target,
                    config.live_urls(),
                    label_suffix(plan),
                    short(elapsed)
                ));
            }
            Event::Staged {
                plan,
                config,
                elapsed,
            } => {
                let live = match &plan.previous {
                    Some(old) => format!("{old} still serves {}", config.live_urls()),
                    None => format!("nothing serves {} yet", config.live_urls()),
                };
                self.info(&format!(
                    "{}{} runs the new version at https://{} (staging); {live} ({})",
                    plan.target,
                    label_suffix(plan),
                    config.staging,
                    short(elapsed)
                ));
                self.info(&format!(
                    "  `cf-bluegreen promote` checks it again and puts it live; \
                     `cf-bluegreen abort` stops it (both from any machine, with this {})",
                    config.path.display()
                ));
            }
            Event::Aborted { plan, elapsed } => {
                let live = match &plan.previous {
                    Some(old) => format!("; {old} still live, untouched"),
                    None => String::new(),
                };
                self.info(&format!(
                    "{} is off the staging route and stopped{live} ({})",
                    plan.target,
                    short(elapsed)
                ));
            }
            Event::SuiteSummary {
                kind,
                outcomes,
                elapsed,
            } => {
                let ok = outcomes.iter().filter(|o| o.exit_code == 0).count();
                self.line(&format!(
                    "{ok} of {} deployments {} ({})",
                    outcomes.len(),
                    match kind {
                        Kind::Deploy => "deployed",
                        Kind::Rollback => "rolled back",
                        Kind::Stage => "staged",
                        Kind::Promote => "promoted",
                        Kind::Abort => "aborted",
                    },
                    short(elapsed)
                ));
                for o in outcomes.iter() {
                    self.line(&match (o.exit_code, o.live_app.as_deref()) {
                        (code, Some(app)) if o.switched_back => format!(
                            "  {} {}: exit {code}; switched back to {app}: its new version passed, \
                             but another deployment did not (--all-or-nothing)",
                            self.paint("FAIL", RED),
                            o.name
                        ),
                        (0, Some(app)) => {
                            format!("  {}   {}: {app} is live", self.paint("ok", GREEN), o.name)
                        }
                        (0, None) => format!("  {}   {}", self.paint("ok", GREEN), o.name),
                        (code, Some(app)) => format!(
                            "  {} {}: exit {code}; {app} is {}live",
                            self.paint("FAIL", RED),
                            o.name,
                            // An interrupted verification leaves the new app live.
                            if o.previous_app.as_deref() == Some(app) { "still " } else { "" }
                        ),
                        (code, None) => {
                            format!("  {} {}: exit {code}", self.paint("FAIL", RED), o.name)
                        }
                    });
                }
            }
            Event::Initialized {
                config,
                printed,
                next,
            } => {
                let live: Vec<String> = config.live.iter().map(ToString::to_string).collect();
                let what = if printed {
                    "printed the configuration".to_string()
                } else {
                    format!("wrote {}", config.path.display())
                };
                self.info(&format!(
                    "{what}: apps {} (blue) and {} (green); live routes {}; new versions are checked on {} first",
                    config.blue,
                    config.green,
                    live.join(", "),
                    config.staging,
                ));
                self.info(&format!("next: {next}"));
            }
            Event::Failed { error } => {
                let mut text = error.to_string();
                if let Some(hint) = error.hint() {
                    text.push_str(&format!("\n  hint: {hint}"));
                }
                if let Some(details) = error.details() {
                    text.push_str(&details);
                }
                self.line(&format!("{}: {text}", self.paint("error", RED)));
            }
        }
    }
}

/// `, label TEXT` after the app that becomes live, when its version has a label.
fn label_suffix(plan: &Plan) -> String {
    plan.label
        .as_deref()
        .map(|l| format!(", label {l}"))
        .unwrap_or_default()
}

/// `1.2s`, `3m 05s`.
pub fn short(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let s = d.as_secs();
        format!("{}m {:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations() {
        assert_eq!(short(Duration::from_millis(1234)), "1.2s");
        assert_eq!(short(Duration::from_secs(185)), "3m 05s");
    }
}
