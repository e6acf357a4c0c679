//! The deploy as data: which app is live, which one receives the new version, and the
//! ordered steps that move the live routes — computed from the configuration and the
//! observed state before anything changes. The executor runs a [`Plan`]; `--dry-run`
//! prints it.

use std::fmt;

use crate::cf::{AppStatus, CfCommand};
use crate::config::{Config, OldApp};
use crate::route::Route;

/// What `cf app` said about both apps of the pair (`None`: the app does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairState {
    pub blue: (String, Option<AppStatus>),
    pub green: (String, Option<AppStatus>),
}

impl PairState {
    pub fn get(&self, app: &str) -> Option<&AppStatus> {
        [&self.blue, &self.green]
            .into_iter()
            .find(|(name, _)| name == app)
            .and_then(|(_, s)| s.as_ref())
    }

    pub fn apps(&self) -> [(&str, Option<&AppStatus>); 2] {
        [
            (self.blue.0.as_str(), self.blue.1.as_ref()),
            (self.green.0.as_str(), self.green.1.as_ref()),
        ]
    }

    pub fn holds(&self, app: &str, route: &Route) -> bool {
        self.get(app)
            .is_some_and(|s| s.routes.iter().any(|r| route.matches(r)))
    }

    /// The apps of the pair that hold `route`.
    pub fn holders(&self, route: &Route) -> Vec<&str> {
        self.apps()
            .into_iter()
            .filter(|(name, _)| self.holds(name, route))
            .map(|(name, _)| name)
            .collect()
    }
}

/// Why a route is being mapped or unmapped: the reporter and recovery treat live routes
/// with more care than the staging route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteRole {
    Staging,
    Live,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Push {
        app: String,
        command: CfCommand,
    },
    /// Reads the app after the push and unmaps any live route it holds: a manifest or an
    /// old cf may have put routes on it, and unverified code must not get live traffic.
    EnsureNotLive {
        app: String,
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
    Start {
        app: String,
    },
    Stop {
        app: String,
    },
    Delete {
        app: String,
    },
}

impl Step {
    /// The cf command this step runs, if it is a single one.
    pub fn command(&self) -> Option<CfCommand> {
        let route_command = |verb: &str, app: &str, route: &Route| {
            let mut args = vec![verb.to_string(), app.to_string()];
            args.extend(route.cf_args());
            CfCommand { args }
        };
        match self {
            Step::Push { command, .. } => Some(command.clone()),
            Step::MapRoute { app, route, .. } => Some(route_command("map-route", app, route)),
            Step::UnmapRoute { app, route, .. } => Some(route_command("unmap-route", app, route)),
            Step::Start { app } => Some(CfCommand::new(["start", app])),
            Step::Stop { app } => Some(CfCommand::new(["stop", app])),
            // Never -r: the routes may be shared with the other app.
            Step::Delete { app } => Some(CfCommand::new(["delete", app, "-f"])),
            Step::EnsureNotLive { .. } | Step::SmokeCheck { .. } => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Push { app, .. } => write!(f, "push the new version to {app} (no route)"),
            Step::EnsureNotLive { app } => {
                write!(f, "make sure {app} holds no live route after the push")
            }
            Step::MapRoute { app, route, role } => {
                write!(f, "map {} route {route} to {app}", role_name(*role))
            }
            Step::UnmapRoute { app, route, role } => {
                write!(f, "unmap {} route {route} from {app}", role_name(*role))
            }
            Step::SmokeCheck { app, url } => write!(f, "check {app} at {url}"),
            Step::Start { app } => write!(f, "start {app}"),
            Step::Stop { app } => write!(f, "stop {app}"),
            Step::Delete { app } => write!(f, "delete {app}"),
        }
    }
}

fn role_name(role: RouteRole) -> &'static str {
    match role {
        RouteRole::Staging => "staging",
        RouteRole::Live => "live",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The app that receives the new version.
    pub target: String,
    /// The app that held the live route before, if any.
    pub previous: Option<String>,
    pub steps: Vec<Step>,
}

impl Plan {
    /// The cf commands the plan runs, in order (what `--dry-run` prints).
    pub fn commands(&self) -> Vec<CfCommand> {
        self.steps.iter().filter_map(Step::command).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "both {blue} and {green} hold the live route {route}: a previous deploy did not finish, \
         and it is not clear which version should stay live.\n  \
         hint: check both versions, then unmap the live route from the one that should not be live, e.g.\n    \
         cf unmap-route {green} {args}\n  and run the deploy again"
    )]
    BothLive {
        blue: String,
        green: String,
        route: String,
        args: String,
    },
}

/// The live app: the app of the pair holding the main live route.
pub fn live_app<'a>(config: &Config, state: &'a PairState) -> Result<Option<&'a str>, PlanError> {
    let route = config.main_live();
    match state.holders(route).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(PlanError::BothLive {
            blue: config.blue.clone(),
            green: config.green.clone(),
            route: route.url(),
            args: shell_words::join(route.cf_args()),
        }),
    }
}

/// `cf push TARGET --no-route [-f M] [-p P] [--vars-file F]... [--var K=V]... [ARGS...]`
pub fn push_command(config: &Config, target: &str) -> CfCommand {
    let p = &config.push;
    let mut args = vec![
        "push".to_string(),
        target.to_string(),
        "--no-route".to_string(),
    ];
    if let Some(m) = &p.manifest {
        args.extend(["-f".to_string(), m.display().to_string()]);
    }
    if let Some(path) = &p.path {
        args.extend(["-p".to_string(), path.display().to_string()]);
    }
    for f in &p.vars_files {
        args.extend(["--vars-file".to_string(), f.display().to_string()]);
    }
    for (k, v) in &p.vars {
        args.extend(["--var".to_string(), format!("{k}={v}")]);
    }
    args.extend(p.args.iter().cloned());
    CfCommand { args }
}

pub fn plan_deploy(config: &Config, state: &PairState) -> Result<Plan, PlanError> {
    let previous = live_app(config, state)?.map(str::to_string);
    let target = match &previous {
        Some(live) => config.other(live).to_string(),
        None => config.blue.clone(),
    };
    let mut steps = vec![
        Step::Push {
            app: target.clone(),
            command: push_command(config, &target),
        },
        Step::EnsureNotLive {
            app: target.clone(),
        },
        Step::MapRoute {
            app: target.clone(),
            route: config.staging.clone(),
            role: RouteRole::Staging,
        },
    ];
    if config.smoke.enabled {
        steps.push(Step::SmokeCheck {
            app: target.clone(),
            url: config.smoke.url.clone(),
        });
    }
    for route in &config.live {
        steps.push(Step::MapRoute {
            app: target.clone(),
            route: route.clone(),
            role: RouteRole::Live,
        });
    }
    if let Some(old) = &previous {
        for route in &config.live {
            // An extra route the old app never had needs no unmapping (and unmapping a
            // route that does not exist at all fails).
            if state.holds(old, route) {
                steps.push(Step::UnmapRoute {
                    app: old.clone(),
                    route: route.clone(),
                    role: RouteRole::Live,
                });
            }
        }
    }
    steps.push(Step::UnmapRoute {
        app: target.clone(),
        route: config.staging.clone(),
        role: RouteRole::Staging,
    });
    if let Some(old) = &previous {
        match config.old_app {
            OldApp::Stop => steps.push(Step::Stop { app: old.clone() }),
            OldApp::Delete => steps.push(Step::Delete { app: old.clone() }),
            OldApp::Keep => {}
        }
    }
    Ok(Plan {
        target,
        previous,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cf::RequestedState;
    use std::path::Path;

    fn config(extra: &str) -> Config {
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

    fn pair(a: Option<AppStatus>, b: Option<AppStatus>) -> PairState {
        PairState {
            blue: ("a".into(), a),
            green: ("b".into(), b),
        }
    }

    fn lines(plan: &Plan) -> Vec<String> {
        plan.commands().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn first_deploy_targets_blue_and_unmaps_nothing_live() {
        let plan = plan_deploy(&config(""), &pair(None, None)).unwrap();
        assert_eq!(plan.target, "a");
        assert_eq!(plan.previous, None);
        assert_eq!(
            lines(&plan),
            [
                "cf push a --no-route",
                "cf map-route a example.com --hostname stg",
                "cf map-route a example.com --hostname live",
                "cf unmap-route a example.com --hostname stg",
            ]
        );
        assert!(plan.steps.contains(&Step::SmokeCheck {
            app: "a".into(),
            url: "https://stg.example.com/".into()
        }));
    }

    #[test]
    fn later_deploy_targets_the_idle_app_in_the_guide_order() {
        let state = pair(
            app(RequestedState::Started, &["live.example.com"]),
            app(RequestedState::Stopped, &[]),
        );
        let plan = plan_deploy(&config(""), &state).unwrap();
        assert_eq!(plan.target, "b");
        assert_eq!(plan.previous.as_deref(), Some("a"));
        assert_eq!(
            lines(&plan),
            [
                "cf push b --no-route",
                "cf map-route b example.com --hostname stg",
                "cf map-route b example.com --hostname live",
                "cf unmap-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname stg",
                "cf stop a",
            ]
        );
        let kinds: Vec<&str> = plan
            .steps
            .iter()
            .map(|s| match s {
                Step::Push { .. } => "push",
                Step::EnsureNotLive { .. } => "clear",
                Step::MapRoute { .. } => "map",
                Step::UnmapRoute { .. } => "unmap",
                Step::SmokeCheck { .. } => "smoke",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            ["push", "clear", "map", "smoke", "map", "unmap", "unmap", "other"]
        );
    }

    #[test]
    fn green_live_targets_blue() {
        let state = pair(
            app(RequestedState::Stopped, &[]),
            app(RequestedState::Started, &["live.example.com"]),
        );
        let plan = plan_deploy(&config(""), &state).unwrap();
        assert_eq!(plan.target, "a");
        assert_eq!(plan.previous.as_deref(), Some("b"));
    }

    #[test]
    fn both_live_is_refused() {
        let state = pair(
            app(RequestedState::Started, &["live.example.com"]),
            app(
                RequestedState::Started,
                &["live.example.com", "stg.example.com"],
            ),
        );
        let err = plan_deploy(&config(""), &state).unwrap_err();
        assert!(
            err.to_string()
                .contains("both a and b hold the live route live.example.com"),
            "{err}"
        );
    }

    #[test]
    fn extra_routes_paths_push_options_and_old_app_policy() {
        let c = config(
            "path = \"/api\"\n[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n\
             [push]\nmanifest = \"m.yml\"\npath = \"dist\"\nvars-files = [\"v.yml\"]\nvars = { k = \"v\" }\nargs = [\"-i\", \"2\"]\n\
             [smoke]\nenabled = false\n[switch]\nold = \"delete\"\n",
        );
        let state = pair(
            app(
                RequestedState::Started,
                &["live.example.com/api", "www.shop.com"],
            ),
            None,
        );
        let plan = plan_deploy(&c, &state).unwrap();
        assert_eq!(
            lines(&plan),
            [
                "cf push b --no-route -f m.yml -p dist --vars-file v.yml --var 'k=***' -i 2",
                "cf map-route b example.com --hostname stg --path /api",
                "cf map-route b example.com --hostname live --path /api",
                "cf map-route b shop.com --hostname www",
                "cf unmap-route a example.com --hostname live --path /api",
                "cf unmap-route a shop.com --hostname www",
                "cf unmap-route b example.com --hostname stg --path /api",
                "cf delete a -f",
            ]
        );
        assert!(!plan
            .steps
            .iter()
            .any(|s| matches!(s, Step::SmokeCheck { .. })));
        // The real argument is unmasked; only its display is.
        assert_eq!(plan.commands()[0].args[10], "k=v");
    }

    #[test]
    fn extra_route_the_old_app_lacks_is_not_unmapped() {
        let c = config(
            "[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n[switch]\nold = \"keep\"\n",
        );
        let state = pair(app(RequestedState::Started, &["live.example.com"]), None);
        let plan = plan_deploy(&c, &state).unwrap();
        assert_eq!(
            lines(&plan)[4..],
            [
                "cf unmap-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname stg",
            ]
        );
    }
}
