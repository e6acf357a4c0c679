//! The deploy as data, decided before anything changes. Everything here is pure — no cf,
//! no I/O — and unit-tested:
//!
//! - [`state`]: the observed state of the pair, and what a step does to it;
//! - [`step`]: one step of a plan (a cf command or a check);
//! - [`resolve`]: the steps that resolve what an interrupted run left behind;
//! - [`planner`]: which app is live, which one gets the new version, and the steps of a
//!   deploy or a rollback;
//! - [`retire`]: the one rule for what becomes of the previous app;
//! - [`recovery`]: after a failed step, finish the switch or undo it, and how;
//! - [`batch`]: which consecutive steps of a plan or a recovery run side by side.
//!
//! The executor (`crate::execute`) runs a [`Plan`]; `--dry-run` prints it.

pub mod batch;
pub mod planner;
pub mod recovery;
pub mod resolve;
pub mod retire;
pub mod state;
pub mod step;

pub use planner::{
    first_target, live_app, live_routes, plan_abort, plan_deploy, plan_promote, plan_rollback,
    plan_stage, push_command, unlisted_routes,
};
pub use resolve::{refuse_early, resolve, staged, staged_record, Staged};
pub use retire::Retire;
pub use state::{unfinished_switch, PairState};
pub use step::{RouteRole, Step};

use std::time::Duration;

use crate::cf::CfCommand;
use crate::error::{EXIT_FAILED, EXIT_USAGE};
use crate::hint::Hint;
use crate::route::Route;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new version pushed to the idle app.
    Deploy,
    /// The previous version, already on the idle app, put back.
    Rollback,
    /// `deploy --no-switch`: a new version pushed to the idle app and checked on the
    /// staging route, where it stays, waiting for `promote`.
    Stage,
    /// The staged version checked again and switched to, as a deploy switches.
    Promote,
    /// The staged version taken off the staging route and stopped.
    Abort,
}

impl Kind {
    /// The command's name, as the user typed it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Deploy => "deploy",
            Kind::Rollback => "rollback",
            Kind::Stage => "deploy --no-switch",
            Kind::Promote => "promote",
            Kind::Abort => "abort",
        }
    }

    /// Whether the plan moves the live routes to its target.
    pub fn switches(self) -> bool {
        matches!(self, Kind::Deploy | Kind::Rollback | Kind::Promote)
    }

    /// Whether the target holds a version that was never live, which undoing stops:
    /// all but a rollback, whose target holds the previous version.
    pub fn new_version(self) -> bool {
        self != Kind::Rollback
    }
}

/// A deploy or a rollback, step by step, with what it starts from. Made by
/// [`plan_deploy`] or [`plan_rollback`]; the steps begin with those of [`resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: Kind,
    /// The app that becomes live.
    pub target: String,
    /// The app that held the live route before, if any.
    pub previous: Option<String>,
    /// What becomes of `previous` once the switch is done, wherever the switch finishes:
    /// in the plan's own steps, in a recovery that completes it, or in the summary.
    pub retire: Retire,
    /// How long requests in flight to `previous` get before it is retired.
    pub drain: Duration,
    /// Every route that moves: the configured live routes first (the main one leads),
    /// then those the live app held without being listed.
    pub live: Vec<Route>,
    /// The state the switch starts from: what was observed, after the resolution steps.
    pub before: PairState,
    pub steps: Vec<Step>,
    /// What the resolution found, for the user.
    pub notes: Vec<String>,
    /// The label of the version that becomes live: the one a deploy records on `target`,
    /// or the one `target` already carries for a rollback (which changes no label).
    pub label: Option<String>,
}

impl Plan {
    /// The cf commands the plan runs, in order (what `--dry-run` prints).
    pub fn commands(&self) -> Vec<CfCommand> {
        self.steps.iter().filter_map(Step::command).collect()
    }

    /// The step that retires the previous app, if there is one and it is retired.
    pub fn retire_step(&self) -> Option<Step> {
        self.retire.step(self.previous.as_deref()?)
    }

    /// The drain (if any) and the step that retires the previous app.
    pub fn retire_steps(&self) -> Vec<Step> {
        let (Some(old), Some(retire)) = (&self.previous, self.retire_step()) else {
            return Vec::new();
        };
        let mut steps = Vec::new();
        if !self.drain.is_zero() {
            steps.push(Step::Drain {
                app: old.clone(),
                time: self.drain,
            });
        }
        steps.push(retire);
        steps
    }
}

/// A state the plan cannot act on; found before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "both {blue} and {green} hold the live route {route}: a previous deploy did not finish, \
         and {why}."
    )]
    BothLive {
        blue: String,
        green: String,
        route: String,
        args: String,
        why: String,
    },
    #[error("nothing to roll back: {reason}")]
    NoRollback { reason: String, hint: String },
    /// `promote` or `abort` without a version waiting on the staging route.
    #[error("nothing to {command}: {reason}")]
    NothingStaged {
        command: &'static str,
        reason: String,
    },
    #[error(
        "the live app holds routes {config} does not list, and routes.unlisted = \"refuse\": {}",
        routes.iter().map(|(app, r)| format!("{r} (on {app})")).collect::<Vec<_>>().join(", ")
    )]
    UnlistedRoutes {
        config: String,
        /// The app holding each, and the route.
        routes: Vec<(String, Route)>,
    },
}

impl PlanError {
    pub fn exit_code(&self) -> i32 {
        match self {
            // Fixed in the configuration.
            PlanError::UnlistedRoutes { .. } => EXIT_USAGE,
            PlanError::BothLive { .. }
            | PlanError::NoRollback { .. }
            | PlanError::NothingStaged { .. } => EXIT_FAILED,
        }
    }
}

impl Hint for PlanError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            PlanError::BothLive { green, args, .. } => format!(
                "check both versions, then unmap the live route from the one that should not be live, e.g.\n    \
                 cf unmap-route {green} {args}\n  and run the deploy again"
            ),
            PlanError::NoRollback { hint, .. } => hint.clone(),
            PlanError::NothingStaged { .. } => "`cf-bluegreen deploy --no-switch` stages a new version \
                 (push, check on the staging route, no switch); `cf-bluegreen status` shows the apps"
                .into(),
            PlanError::UnlistedRoutes { config, routes } => {
                let tables: Vec<String> = routes
                    .iter()
                    .map(|(_, r)| {
                        let mut t = format!("[[routes.extra]]\n    domain = \"{}\"", r.domain);
                        if let Some(port) = r.port {
                            t.push_str(&format!("\n    port = {port}"));
                        }
                        if !r.host.is_empty() {
                            t.push_str(&format!("\n    host = \"{}\"", r.host));
                        }
                        if let Some(p) = &r.path {
                            t.push_str(&format!("\n    path = \"{p}\""));
                        }
                        format!("    {t}")
                    })
                    .collect();
                format!(
                    "list them in {config}, so that they move with the live app:\n{}\n  \
                     or set routes.unlisted = \"move\" to move whatever the live app holds",
                    tables.join("\n")
                )
            }
        })
    }
}

/// Shared by the unit tests of planning, resolution, recovery and the executor.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::cf::{AppStatus, RequestedState};
    use crate::config::Config;
    use crate::metadata::AppMeta;
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Apps `a` (blue) and `b` (green), live `live.example.com`, staging `stg.example.com`.
    pub fn config(extra: &str) -> Config {
        let text = format!(
            "[apps]\nblue = \"a\"\ngreen = \"b\"\n[routes]\ndomain = \"example.com\"\nlive = \"live\"\nstaging = \"stg\"\n{extra}"
        );
        Config::parse(&text, Path::new("deploy.toml")).unwrap()
    }

    fn app(state: RequestedState, routes: &[&str]) -> Option<AppStatus> {
        Some(AppStatus {
            requested_state: state,
            routes: routes.iter().map(|r| r.to_string()).collect(),
            instances: vec![],
        })
    }

    pub fn started(routes: &[&str]) -> Option<AppStatus> {
        app(RequestedState::Started, routes)
    }

    pub fn stopped(routes: &[&str]) -> Option<AppStatus> {
        app(RequestedState::Stopped, routes)
    }

    /// Records on the apps: `meta(&[("a", &[(KEY, VALUE)])])`; GUIDs are `guid-APP`.
    pub fn meta(entries: &[(&str, &[(&str, &str)])]) -> BTreeMap<String, AppMeta> {
        entries
            .iter()
            .map(|(app, ann)| {
                let annotations = ann
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (
                    app.to_string(),
                    AppMeta {
                        guid: format!("guid-{app}"),
                        annotations,
                        routes: Vec::new(),
                    },
                )
            })
            .collect()
    }

    pub fn pair(a: Option<AppStatus>, b: Option<AppStatus>) -> PairState {
        PairState {
            blue: ("a".into(), a),
            green: ("b".into(), b),
        }
    }
}
