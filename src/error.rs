//! The errors that end a command, and the one place that maps them to exit codes.

use crate::cf::{CfCommand, CfError};
use crate::config::ConfigError;
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
    #[error("{message}\n  hint: {hint}")]
    Environment { message: String, hint: String },
    /// cf could not be started at all.
    #[error(transparent)]
    CfMissing(CfError),
    /// A read-only call failed before anything was changed.
    #[error("could not read the current state, nothing was changed: {0}\n  hint: check that cf works here (`cf target`, `cf apps`), then run again")]
    Observe(CfError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A step failed and the previous state was restored.
    #[error("{step} failed, and the {what} was undone: {live}\n{cause}{details}")]
    DeployFailed {
        what: &'static str,
        step: String,
        cause: String,
        live: String,
        /// The app's recent logs and a hint, where there are.
        details: String,
    },
    /// Another run holds the deploy lock.
    #[error(
        "another deploy of this app pair is running: {holder} has held the lock on {app} for {age}.\n  \
         hint: wait for it to finish. If it is gone (a killed CI job), run again with --force-unlock; \
         locks older than lock.stale-after are broken automatically"
    )]
    Locked {
        app: String,
        holder: String,
        age: String,
    },
    /// The lock could not be written or read back; nothing else was changed.
    #[error("could not take the deploy lock on {app}, nothing was changed: {cause}\n  hint: the lock is an annotation (cf curl -X PATCH /v3/apps/GUID): check that you may update the app, or set lock.enabled = false")]
    LockFailed { app: String, cause: String },
    /// Stopped by SIGINT/SIGTERM, after bringing the routes to a safe state.
    #[error("interrupted during {step}: {state}\n  hint: `cf-bluegreen status` shows the apps; run the command again when ready")]
    Interrupted { step: String, state: String },
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
            Error::Observe(_)
            | Error::Plan(_)
            | Error::DeployFailed { .. }
            | Error::Locked { .. }
            | Error::LockFailed { .. } => EXIT_FAILED,
            Error::Unsafe { .. } => EXIT_UNSAFE,
            Error::Interrupted { .. } => crate::interrupt::EXIT_INTERRUPTED,
        }
    }
}
