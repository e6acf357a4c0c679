//! One step of a plan: a cf command, or a check the tool makes itself. Steps are data —
//! the executor runs them, the dry run lists them, recovery builds new ones — and their
//! [`Display`](fmt::Display) is the line the user reads while one runs.

use std::fmt;
use std::time::Duration;

use crate::cf::{commands, CfCommand};
use crate::route::Route;

/// Why a route is being mapped or unmapped: the reporter and recovery treat live routes
/// with more care than the staging route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteRole {
    Staging,
    Live,
}

/// One thing a plan does, in order. Most are one cf command ([`Step::command`]); the
/// push's command is built by the planner, since it carries the configuration's flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Push {
        app: String,
        command: CfCommand,
    },
    /// Reads the app after the push and unmaps any of `live` it holds: a manifest or an
    /// old cf may have put routes on it, and unverified code must not get live traffic.
    EnsureNotLive {
        app: String,
        live: Vec<Route>,
    },
    /// Gives `to` every container-to-container network policy `from` has, as source and
    /// as destination: policies name app GUIDs, so apps that reach `from` over an
    /// internal route would be denied once `to` serves it.
    CopyPolicies {
        from: String,
        to: String,
        /// An internal route moves: callers reach it only with the policies, so they must
        /// be read, not skipped with a warning.
        required: bool,
    },
    /// Scales `app` up to the instance count of `like` (never down; after a push, the
    /// count the user gave the push wins, with a warning) and waits until that many run.
    MatchInstances {
        app: String,
        like: String,
        pushed: bool,
    },
    MapRoute {
        app: String,
        route: Route,
        role: RouteRole,
    },
    UnmapRoute {
        app: String,
        route: Route,
        role: RouteRole,
    },
    SmokeCheck {
        app: String,
        url: String,
    },
    /// Asks the router for `url` as `app`'s instance 0 until it answers as the smoke check
    /// expects: the router has the new route before the old app lets go of it.
    VerifyLive {
        app: String,
        url: String,
    },
    /// `[verify]`: once the live routes left `old`, which stays started without them,
    /// checks `url` every `interval` for `duration`; the first failure switches back to
    /// `old` (see [`super::recovery::switches_back`]). The time counts as `old`'s drain.
    Verify {
        app: String,
        old: String,
        url: String,
        duration: Duration,
        interval: Duration,
    },
    /// Waits while the requests the router already sent to `app` finish.
    Drain {
        app: String,
        time: Duration,
    },
    Start {
        app: String,
    },
    Stop {
        app: String,
    },
    Delete {
        app: String,
    },
    /// Records on the app what this deploy did to it (`None` removes a key). `guid` is
    /// looked up when the step runs if the app did not exist when the plan was made.
    Annotate {
        app: String,
        guid: Option<String>,
        values: Vec<(String, Option<String>)>,
    },
}

impl Step {
    pub fn map_route(app: &str, route: &Route, role: RouteRole) -> Step {
        Step::MapRoute {
            app: app.to_string(),
            route: route.clone(),
            role,
        }
    }

    pub fn unmap_route(app: &str, route: &Route, role: RouteRole) -> Step {
        Step::UnmapRoute {
            app: app.to_string(),
            route: route.clone(),
            role,
        }
    }

    /// Whether this step maps a route of this role.
    pub fn maps(&self, role: RouteRole) -> bool {
        matches!(self, Step::MapRoute { role: r, .. } if *r == role)
    }

    /// The cf command this step runs, if it is a single one (what the dry run prints).
    pub fn command(&self) -> Option<CfCommand> {
        match self {
            Step::Push { command, .. } => Some(command.clone()),
            Step::MapRoute { app, route, .. } => Some(commands::map_route(app, route)),
            Step::UnmapRoute { app, route, .. } => Some(commands::unmap_route(app, route)),
            Step::Start { app } => Some(commands::start(app)),
            Step::Stop { app } => Some(commands::stop(app)),
            Step::Delete { app } => Some(commands::delete(app)),
            Step::Annotate { app, guid, values } => {
                let guid = match guid {
                    Some(g) => g.clone(),
                    None => format!("$(cf app {app} --guid)"),
                };
                Some(commands::annotate(&guid, values))
            }
            Step::EnsureNotLive { .. }
            | Step::CopyPolicies { .. }
            | Step::MatchInstances { .. }
            | Step::SmokeCheck { .. }
            | Step::VerifyLive { .. }
            | Step::Verify { .. }
            | Step::Drain { .. } => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Push { app, .. } => write!(f, "push the new version to {app} (no route)"),
            Step::EnsureNotLive { app, .. } => {
                write!(f, "make sure {app} holds no live route after the push")
            }
            Step::CopyPolicies { from, to, .. } => {
                write!(f, "give {to} the network policies of {from}")
            }
            Step::MatchInstances { app, like, .. } => {
                write!(f, "run as many instances of {app} as {like} does")
            }
            Step::VerifyLive { app, url } => {
                write!(f, "check that the router sends {url} to {app}")
            }
            Step::Verify {
                app,
                old,
                url,
                duration,
                interval,
            } => write!(
                f,
                "verify {app} at {url} every {} for {} ({old} stays started, to switch back to)",
                humantime::format_duration(*interval),
                humantime::format_duration(*duration)
            ),
            Step::Drain { app, time } => write!(
                f,
                "let requests in flight to {app} finish ({})",
                humantime::format_duration(*time)
            ),
            Step::MapRoute { app, route, role } => {
                write!(f, "map {role} route {route} to {app}")
            }
            Step::UnmapRoute { app, route, role } => {
                write!(f, "unmap {role} route {route} from {app}")
            }
            Step::SmokeCheck { app, url } => write!(f, "check {app} at {url}"),
            Step::Start { app } => write!(f, "start {app}"),
            Step::Stop { app } => write!(f, "stop {app}"),
            Step::Delete { app } => write!(f, "delete {app}"),
            Step::Annotate { app, values, .. } => {
                let keys = |set: bool| {
                    values
                        .iter()
                        .filter(|(_, v)| v.is_some() == set)
                        .map(|(k, _)| k.trim_start_matches("cf-bluegreen/"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let (set, cleared) = (keys(true), keys(false));
                match (set.is_empty(), cleared.is_empty()) {
                    (false, true) => write!(f, "record {set} on {app}"),
                    (false, false) => write!(f, "record {set} on {app}, clearing {cleared}"),
                    (true, _) => write!(f, "clear {cleared} on {app}"),
                }
            }
        }
    }
}

impl fmt::Display for RouteRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteRole::Staging => "staging",
            RouteRole::Live => "live",
        })
    }
}
