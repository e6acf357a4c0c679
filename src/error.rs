//! The errors that end a command, and the one place that maps them to exit codes.
//!
//! An error's `Display` says what failed; what to do about it is data, given by
//! [`Hint`](crate::hint::Hint), so that each renderer (the terminal, JSON) places it where it belongs.

use crate::cf::{CfCommand, CfError};
use crate::config::ConfigError;
pub use crate::hint::Hint;
use crate::plan::PlanError;

pub const EXIT_OK: i32 = 0;
/// The deploy failed; the live route is still served as before.
pub const EXIT_FAILED: i32 = 1;
/// Usage or configuration error; nothing was changed.
pub const EXIT_USAGE: i32 = 2;
/// Failed, and the tool could not restore a safe state.
pub const EXIT_UNSAFE: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The machine or the cf session is not ready: cf missing, not logged in, wrong target,
    /// a file the push needs is missing. Found before any change.
    #[error("{message}")]
    Environment { message: String, hint: String },
    /// cf could not be started at all.
    #[error(transparent)]
    CfMissing(CfError),
    /// A read-only call failed before anything was changed.
    #[error("could not read the current state, nothing was changed: {0}")]
    Observe(CfError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A step failed and the previous state was restored.
    #[error("{step} failed, and the {} was undone: {live}\n{cause}", what.name())]
    DeployFailed {
        what: crate::plan::Kind,
        step: String,
        cause: String,
        live: String,
        hint: Option<String>,
        /// The last lines of the app's recent logs, where they explain the failure.
        logs: Option<String>,
    },
    /// Another run holds the deploy lock.
    #[error("another deploy of this app pair is running: {holder} has held the deploy lock ({lock}) for {age}.")]
    Locked {
        /// What holds it: the lock instance's name, or an old lock annotation.
        lock: String,
        holder: String,
        age: String,
    },
    /// The lock could not be taken; nothing else was changed.
    #[error("could not take the deploy lock {lock}, nothing was changed: {cause}")]
    LockFailed { lock: String, cause: String },
    /// Stopped by SIGINT/SIGTERM, after bringing the routes to a safe state.
    #[error("interrupted during {step}: {state}")]
    Interrupted { step: String, state: String },
    /// Some pairs of a suite did not get through; each has reported its own error already.
    #[error("{} of {total} deployments did not {verb}: {}", failed.len(), failed.join(", "))]
    Suite {
        /// What they did not do: "deploy", "roll back", "show their status".
        verb: &'static str,
        failed: Vec<String>,
        total: usize,
        /// The highest exit code of any pair.
        code: i32,
    },
    /// A step failed and so did the recovery.
    #[error(
        "{step} failed: {cause}\n\nThe recovery failed too: {recovery}\n\n\
         The live routes may not be in a safe state. Run these commands to restore one:\n{}",
        commands.iter().map(|c| format!("    {c}")).collect::<Vec<_>>().join("\n")
    )]
    Unsafe {
        step: String,
        cause: String,
        recovery: String,
        commands: Vec<CfCommand>,
    },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) | Error::Environment { .. } | Error::CfMissing(_) => EXIT_USAGE,
            Error::Plan(e) => e.exit_code(),
            Error::Observe(_)
            | Error::DeployFailed { .. }
            | Error::Locked { .. }
            | Error::LockFailed { .. } => EXIT_FAILED,
            Error::Unsafe { .. } => EXIT_UNSAFE,
            Error::Interrupted { .. } => crate::interrupt::EXIT_INTERRUPTED,
            Error::Suite { code, .. } => *code,
        }
    }

    /// Material that explains the failure, shown after the hint (an app's recent logs).
    pub fn details(&self) -> Option<String> {
        match self {
            Error::DeployFailed {
                logs: Some(logs), ..
            } => Some(logs.clone()),
            _ => None,
        }
    }
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Config(e) => e.hint(),
            Error::Environment { hint, .. } => Some(hint.clone()),
            Error::CfMissing(e) => e.hint(),
            // cf's own error may know better (trace mode, say).
            Error::Observe(e) => e.hint().or_else(|| {
                Some("check that cf works here (`cf target`, `cf apps`), then run again".into())
            }),
            Error::Plan(e) => e.hint(),
            Error::DeployFailed { hint, .. } => hint.clone(),
            Error::Locked { .. } => Some(
                "wait for it to finish. If it is gone (a killed CI job), run again with --force-unlock; \
                 locks older than lock.stale-after are broken automatically"
                    .into(),
            ),
            Error::LockFailed { .. } => Some(
                "the lock is a user-provided service instance in the space (cf curl -X POST \
                 /v3/service_instances): check that you may create service instances there (space \
                 developers may), or set lock.enabled = false"
                    .into(),
            ),
            Error::Interrupted { .. } => Some(
                "`cf-bluegreen status` shows the apps; run the command again when ready".into(),
            ),
            // The commands in the message are what to do.
            Error::Unsafe { .. } => None,
            Error::Suite { .. } => Some(
                "each pair's own error above says what happened to it and what to do; \
                 `--only NAME` runs the named pairs again"
                    .into(),
            ),
        }
    }
}
