//! One stream of typed events from the workflow and the executor to whatever shows them.
//! The executor never formats for a person: it says which step started and finished,
//! what recovery decided, how the run ended. [`human::Human`] renders that for a terminal
//! or a CI log; another [`Sink`] (JSON lines) can be added without touching the executor.

pub mod human;
pub mod json;
mod status;

use std::fmt;
use std::time::Duration;

use crate::cf::{Target, Version};
use crate::config::Config;
use crate::error::Error;
use crate::metadata::AppMeta;
use crate::plan::{PairState, Plan, Step};
use std::collections::BTreeMap;

pub use human::{short, Human, Verbosity};
pub use json::Json;

/// Whatever shows the events. Called from several threads at once (reads run side by
/// side), so it must be `Sync`.
pub trait Sink: Sync {
    fn emit(&self, event: Event<'_>);

    /// An event of the pair `pair` of a suite (`[[deployments]]`). A sink that shows
    /// several pairs at once marks whose it is; the default shows it as any other.
    fn emit_for(&self, pair: &str, event: Event<'_>) {
        let _ = pair;
        self.emit(event);
    }
}

/// Two sinks at once: `--json`'s lines on stdout and the human progress on stderr.
pub struct Both<'a>(pub &'a dyn Sink, pub &'a dyn Sink);

impl Sink for Both<'_> {
    fn emit(&self, event: Event<'_>) {
        self.0.emit(event);
        self.1.emit(event);
    }

    fn emit_for(&self, pair: &str, event: Event<'_>) {
        self.0.emit_for(pair, event);
        self.1.emit_for(pair, event);
    }
}

/// How one pair of a suite ended, for the suite's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairOutcome {
    pub name: String,
    pub exit_code: i32,
    /// The app holding the live routes at the end, when known.
    pub live_app: Option<String>,
    /// The app that was live before, when known.
    pub previous_app: Option<String>,
    /// `--all-or-nothing`: the pair switched and passed its verification, but went back
    /// to its previous app because another pair of the suite did not.
    pub switched_back: bool,
}

/// The sink of one pair of a suite: passes every event on as that pair's, and remembers
/// which app went live, for the summary.
pub struct Tagged<'a> {
    name: &'a str,
    inner: &'a dyn Sink,
    seen: std::sync::Mutex<PairSeen>,
}

/// What a pair's events said of how it ends.
#[derive(Debug, Clone, Default)]
struct PairSeen {
    /// The last plan's previous app and target, and whether it makes the target live.
    previous: Option<String>,
    target: Option<String>,
    switches: bool,
    /// Its summary came.
    done: bool,
    /// The last recovery went forward (finished the switch).
    forward: bool,
}

impl<'a> Tagged<'a> {
    pub fn new(name: &'a str, inner: &'a dyn Sink) -> Tagged<'a> {
        Tagged {
            name,
            inner,
            seen: std::sync::Mutex::default(),
        }
    }

    /// How the pair ended with `exit_code`: the new app live when it switched (or a
    /// recovery finished the switch, as after an interrupted verification); the one live
    /// before when the run failed and restored it; unknown when no safe state could be
    /// restored.
    pub fn outcome(&self, exit_code: i32) -> PairOutcome {
        let PairSeen {
            previous,
            target,
            switches,
            done,
            forward,
        } = self.seen.lock().unwrap().clone();
        let live_app = match exit_code {
            crate::error::EXIT_OK if done => target,
            crate::error::EXIT_OK => None,
            crate::error::EXIT_UNSAFE => None,
            _ if forward && switches => target,
            _ => previous.clone(),
        };
        PairOutcome {
            name: self.name.to_string(),
            exit_code,
            live_app,
            previous_app: previous,
            switched_back: false,
        }
    }
}

impl Sink for Tagged<'_> {
    fn emit(&self, event: Event<'_>) {
        match &event {
            Event::PlanReady { plan, .. } => {
                *self.seen.lock().unwrap() = PairSeen {
                    previous: plan.previous.clone(),
                    target: Some(plan.target.clone()),
                    switches: plan.kind.switches(),
                    ..PairSeen::default()
                };
            }
            Event::Summary { .. } => self.seen.lock().unwrap().done = true,
            // The last recovery decides: one that finished the switch forward and then
            // verified it may still switch back.
            Event::RecoveryDecided { forward, .. } => self.seen.lock().unwrap().forward = *forward,
            _ => {}
        }
        self.inner.emit_for(self.name, event);
    }
}

/// Something that takes time and is shown while it runs.
#[derive(Debug, Clone, Copy)]
pub enum Activity<'a> {
    ReadState,
    /// The state read with the deploy lock taken side by side.
    ReadStateAndLock,
    Step(&'a Step),
    /// A step of the recovery after a failure.
    Recover(&'a Step),
}

impl fmt::Display for Activity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activity::ReadState => f.write_str("read the current state"),
            Activity::ReadStateAndLock => {
                f.write_str("read the current state, take the deploy lock")
            }
            Activity::Step(step) => write!(f, "{step}"),
            Activity::Recover(step) => write!(f, "recover: {step}"),
        }
    }
}

/// What happened, as data. Borrowed: a sink that keeps events copies what it needs.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// cf runs, and who it is logged in as, where.
    Connected {
        version: &'a Version,
        target: &'a Target,
    },
    /// The plan is made: which app is live, which one becomes live.
    PlanReady {
        plan: &'a Plan,
        config: &'a Config,
    },
    /// A dry run's whole plan: every step, and the cf commands it would run.
    DryRun {
        plan: &'a Plan,
    },
    Started {
        activity: Activity<'a>,
    },
    Finished {
        activity: Activity<'a>,
        elapsed: Duration,
        ok: bool,
    },
    /// A line cf (or the smoke command) printed.
    Output {
        line: &'a str,
    },
    /// A step failed, or an interrupt came after it: recovery begins.
    RecoveryStarted {
        failed: &'a Step,
        interrupted: bool,
    },
    /// Which way recovery goes, with the steps it will run. `blind` holds why cf could
    /// not report the apps' state, when it could not.
    RecoveryDecided {
        forward: bool,
        blind: Option<&'a str>,
        steps: &'a [Step],
    },
    /// A step failed after the new version had taken live traffic, and the switch was
    /// completed instead of undone.
    SwitchCompleted {
        failed: &'a Step,
        cause: &'a str,
        target: &'a str,
    },
    /// `to` was given network policies that `from` has (each as `SOURCE -> DEST PROTOCOL
    /// PORTS`, apps of the pair by name, others by GUID).
    PoliciesAdded {
        from: &'a str,
        to: &'a str,
        policies: &'a [String],
    },
    /// `app` was scaled up to the instance count of `like`.
    Scaled {
        app: &'a str,
        like: &'a str,
        from: u32,
        to: u32,
    },
    Warning {
        message: &'a str,
    },
    /// `status`: both apps and their records.
    Status {
        config: &'a Config,
        pair: &'a PairState,
        meta: &'a BTreeMap<String, AppMeta>,
    },
    /// A deploy or rollback finished: `plan.target` is live.
    Summary {
        plan: &'a Plan,
        config: &'a Config,
        elapsed: Duration,
    },
    /// `deploy --no-switch` finished: `plan.target` runs the new version on the staging
    /// route, waiting for `promote`; `plan.previous` is still live.
    Staged {
        plan: &'a Plan,
        config: &'a Config,
        elapsed: Duration,
    },
    /// `abort` finished: `plan.target` is off the staging route and stopped.
    Aborted {
        plan: &'a Plan,
        elapsed: Duration,
    },
    /// Every pair of a suite has ended: how each did.
    SuiteSummary {
        kind: crate::plan::Kind,
        outcomes: &'a [PairOutcome],
        elapsed: Duration,
    },
    /// `init` wrote `config` to its path, or printed it on stdout (`printed`); `next`
    /// is the command to run next.
    Initialized {
        config: &'a Config,
        printed: bool,
        next: &'a str,
    },
    /// The command failed.
    Failed {
        error: &'a Error,
    },
}

/// A multi-line error (cf's command, status and output) as one line for a warning: its
/// lines trimmed and joined, without cf's closing `FAILED`.
pub fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "FAILED")
        .collect();
    lines.join(" ")
}

/// Runs `f` as `activity`: announced, then marked finished or failed with its duration.
pub fn timed<T, E>(
    sink: &dyn Sink,
    activity: Activity<'_>,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let started = std::time::Instant::now();
    sink.emit(Event::Started { activity });
    let result = f();
    sink.emit(Event::Finished {
        activity,
        elapsed: started.elapsed(),
        ok: result.is_ok(),
    });
    result
}

/// A sink for unit tests: each event as one line of text, in order.
#[cfg(test)]
#[derive(Default)]
pub struct Recorder(std::sync::Mutex<Vec<String>>);

#[cfg(test)]
impl Recorder {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// The one summary line, if the run ended with one.
    pub fn summary(&self) -> Option<String> {
        self.lines()
            .into_iter()
            .find(|l| l.starts_with("summary: "))
    }
}

#[cfg(test)]
impl Recorder {
    fn render(event: Event<'_>) -> Option<String> {
        Some(match event {
            Event::Connected { version, .. } => format!("connected: cf {}", version.full),
            Event::PlanReady { plan, .. } => format!(
                "plan: {} to {} from {:?}",
                plan.kind.name(),
                plan.target,
                plan.previous
            ),
            Event::DryRun { plan } => format!("dry run: {} steps", plan.steps.len()),
            // Finished says it all.
            Event::Started { .. } | Event::Output { .. } => return None,
            Event::Finished { activity, ok, .. } => {
                format!("{} {activity}", if ok { "ok" } else { "FAIL" })
            }
            Event::RecoveryStarted {
                failed,
                interrupted,
            } => format!("recovery after: {failed} (interrupted: {interrupted})"),
            Event::RecoveryDecided { forward, blind, .. } => format!(
                "recovery: {}{}",
                if forward { "forward" } else { "restore" },
                if blind.is_some() { ", blind" } else { "" }
            ),
            Event::SwitchCompleted { failed, .. } => format!("switch completed after: {failed}"),
            Event::Warning { message } => format!("warning: {message}"),
            Event::PoliciesAdded { to, policies, .. } => {
                format!("policies for {to}: {}", policies.join("; "))
            }
            Event::Scaled { app, from, to, .. } => format!("scaled {app} from {from} to {to}"),
            Event::Status { .. } => "status".to_string(),
            Event::Summary { plan, .. } => match &plan.previous {
                Some(old) => format!("summary: {} live; {old} {}", plan.target, plan.retire),
                None => format!("summary: {} live", plan.target),
            },
            Event::Staged { plan, .. } => format!("staged: {}", plan.target),
            Event::Aborted { plan, .. } => format!("aborted: {}", plan.target),
            Event::SuiteSummary { outcomes, .. } => {
                let each: Vec<String> = outcomes
                    .iter()
                    .map(|o| {
                        let back = if o.switched_back {
                            " switched back"
                        } else {
                            ""
                        };
                        format!("{} {} {:?}{back}", o.name, o.exit_code, o.live_app)
                    })
                    .collect();
                format!("suite: {}", each.join("; "))
            }
            Event::Initialized { config, .. } => {
                format!("initialized: {}", config.path.display())
            }
            Event::Failed { error } => format!("error: {error}"),
        })
    }
}

#[cfg(test)]
impl Sink for Recorder {
    fn emit(&self, event: Event<'_>) {
        if let Some(line) = Recorder::render(event) {
            self.0.lock().unwrap().push(line);
        }
    }

    fn emit_for(&self, pair: &str, event: Event<'_>) {
        if let Some(line) = Recorder::render(event) {
            self.0.lock().unwrap().push(format!("[{pair}] {line}"));
        }
    }
}
