//! One stream of typed events from the workflow and the executor to whatever shows them.
//! The executor never formats for a person: it says which step started and finished,
//! what recovery decided, how the run ended. [`human::Human`] renders that for a terminal
//! or a CI log; another [`Sink`] (JSON lines) can be added without touching the executor.

pub mod human;
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

/// Whatever shows the events. Called from several threads at once (reads run side by
/// side), so it must be `Sync`.
pub trait Sink: Sync {
    fn emit(&self, event: Event<'_>);
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
#[derive(Debug)]
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
    /// The command failed.
    Failed {
        error: &'a Error,
    },
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
impl Sink for Recorder {
    fn emit(&self, event: Event<'_>) {
        let line = match event {
            Event::Connected { version, .. } => format!("connected: cf {}", version.full),
            Event::PlanReady { plan, .. } => format!(
                "plan: {} to {} from {:?}",
                plan.kind.name(),
                plan.target,
                plan.previous
            ),
            Event::DryRun { plan } => format!("dry run: {} steps", plan.steps.len()),
            // Finished says it all.
            Event::Started { .. } | Event::Output { .. } => return,
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
            Event::Failed { error } => format!("error: {error}"),
        };
        self.0.lock().unwrap().push(line);
    }
}
