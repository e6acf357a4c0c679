//! The deploy as data: which app is live, which one receives the new version, and the
//! ordered steps that move the live routes — computed from the configuration and the
//! observed state before anything changes. The executor runs a [`Plan`]; `--dry-run`
//! prints it.
//!
//! A plan starts with the steps that resolve what an interrupted deploy left behind
//! (see [`resolve`]), so that a plain re-run converges.

use std::collections::BTreeMap;
use std::fmt;

use crate::cf::{AppStatus, CfCommand, RequestedState};
use crate::config::{Config, OldApp};
use crate::metadata::{self, AppMeta, DeployId};
use crate::route::{normalize, Route};

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

    fn get_mut(&mut self, app: &str) -> Option<&mut Option<AppStatus>> {
        [&mut self.blue, &mut self.green]
            .into_iter()
            .find(|(name, _)| name == app)
            .map(|(_, s)| s)
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

    /// The state after `step`, as cf would leave it.
    pub fn apply(&mut self, step: &Step) {
        match step {
            Step::MapRoute { app, route, .. } => {
                if let Some(Some(s)) = self.get_mut(app) {
                    if !s.routes.iter().any(|r| route.matches(r)) {
                        s.routes.push(normalize(&route.url()));
                    }
                }
            }
            Step::UnmapRoute { app, route, .. } => {
                if let Some(Some(s)) = self.get_mut(app) {
                    s.routes.retain(|r| !route.matches(r));
                }
            }
            Step::Start { app } | Step::Stop { app } => {
                let state = if matches!(step, Step::Start { .. }) {
                    RequestedState::Started
                } else {
                    RequestedState::Stopped
                };
                if let Some(Some(s)) = self.get_mut(app) {
                    s.requested_state = state;
                }
            }
            Step::Delete { app } => {
                if let Some(s) = self.get_mut(app) {
                    *s = None;
                }
            }
            Step::Push { .. }
            | Step::EnsureNotLive { .. }
            | Step::SmokeCheck { .. }
            | Step::Annotate { .. } => {}
        }
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
            Step::Annotate { app, guid, values } => {
                let guid = match guid {
                    Some(g) => g.clone(),
                    None => format!("$(cf app {app} --guid)"),
                };
                Some(annotate_command(&guid, values))
            }
            Step::EnsureNotLive { .. } | Step::SmokeCheck { .. } => None,
        }
    }
}

pub fn annotate_command(guid: &str, values: &[(String, Option<String>)]) -> CfCommand {
    CfCommand::new([
        "curl".to_string(),
        format!("/v3/apps/{guid}"),
        "-X".into(),
        "PATCH".into(),
        "-d".into(),
        metadata::patch_body(values),
    ])
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
            Step::Annotate { app, values, .. } => {
                let keys: Vec<&str> = values
                    .iter()
                    .map(|(k, _)| k.trim_start_matches("cf-bluegreen/"))
                    .collect();
                write!(f, "record {} on {app}", keys.join(", "))
            }
        }
    }
}

fn role_name(role: RouteRole) -> &'static str {
    match role {
        RouteRole::Staging => "staging",
        RouteRole::Live => "live",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new version pushed to the idle app.
    Deploy,
    /// The previous version, already on the idle app, put back.
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: Kind,
    /// The app that becomes live.
    pub target: String,
    /// The app that held the live route before, if any.
    pub previous: Option<String>,
    /// The state the switch starts from: what was observed, after the resolution steps.
    pub before: PairState,
    pub steps: Vec<Step>,
    /// What the resolution found, for the user.
    pub notes: Vec<String>,
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
         and {why}.\n  \
         hint: check both versions, then unmap the live route from the one that should not be live, e.g.\n    \
         cf unmap-route {green} {args}\n  and run the deploy again"
    )]
    BothLive {
        blue: String,
        green: String,
        route: String,
        args: String,
        why: String,
    },
    #[error("nothing to roll back: {reason}\n  hint: {hint}")]
    NoRollback { reason: String, hint: String },
}

/// The live app: the app of the pair holding the main live route.
pub fn live_app<'a>(config: &Config, state: &'a PairState) -> Result<Option<&'a str>, PlanError> {
    let route = config.main_live();
    match state.holders(route).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(both_live(
            config,
            "it is not clear which version should stay live".into(),
        )),
    }
}

fn both_live(config: &Config, why: String) -> PlanError {
    let route = config.main_live();
    PlanError::BothLive {
        blue: config.blue.clone(),
        green: config.green.clone(),
        route: route.url(),
        args: shell_words::join(route.cf_args()),
        why,
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

/// The steps that bring what an interrupted deploy (or a hand) left behind back to one
/// live app, no staging route and consistent extra routes — and the state after them.
///
/// Where the safe choice needs a human (both apps live, and the records do not say which
/// one holds the checked new version) it fails, and nothing is changed.
pub fn resolve(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
) -> Result<(Vec<Step>, PairState, Vec<String>), PlanError> {
    let mut state = pair.clone();
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    let push = |state: &mut PairState, steps: &mut Vec<Step>, step: Step| {
        state.apply(&step);
        steps.push(step);
    };
    let main = config.main_live();

    if state.holders(main).len() == 2 {
        let Some(new) = checked_newer(config, &state, meta) else {
            return Err(both_live(
                config,
                "the records on the apps do not say which one holds the checked new version \
                 (cf-bluegreen/deploy and cf-bluegreen/checked annotations)"
                    .into(),
            ));
        };
        let old = config.other(&new).to_string();
        notes.push(format!(
            "both apps hold the live route: an earlier deploy was interrupted during the switch; \
             {new} holds the version that passed its check in that deploy, so the switch to it is finished first"
        ));
        for route in &config.live {
            if state.holds(&old, route) && !state.holds(&new, route) {
                let step = Step::map_route(&new, route, RouteRole::Live);
                push(&mut state, &mut steps, step);
            }
        }
        for route in &config.live {
            if state.holds(&old, route) {
                let step = Step::unmap_route(&old, route, RouteRole::Live);
                push(&mut state, &mut steps, step);
            }
        }
        if config.old_app != OldApp::Keep && state.get(&old).is_some_and(|s| s.started()) {
            // Stopped rather than deleted: the deploy that follows pushes to it anyway.
            push(&mut state, &mut steps, Step::Stop { app: old.clone() });
        }
    }

    for app in [config.blue.clone(), config.green.clone()] {
        if state.holds(&app, &config.staging) {
            notes.push(format!(
                "{app} still holds the staging route {}: an earlier deploy did not finish; unmapping it",
                config.staging
            ));
            let step = Step::unmap_route(&app, &config.staging, RouteRole::Staging);
            push(&mut state, &mut steps, step);
        }
    }

    if let Some(live) = state.holders(main).first().map(|s| s.to_string()) {
        let other = config.other(&live).to_string();
        for route in &config.live[1..] {
            if state.holds(&other, route) {
                notes.push(format!(
                    "{other} still holds the live route {route}, which belongs with {live}"
                ));
                if !state.holds(&live, route) {
                    let step = Step::map_route(&live, route, RouteRole::Live);
                    push(&mut state, &mut steps, step);
                }
                let step = Step::unmap_route(&other, route, RouteRole::Live);
                push(&mut state, &mut steps, step);
            }
        }
        if let Some(s) = state.get(&live) {
            if !s.started() {
                notes.push(format!(
                    "the live app {live} is stopped: {main} is down until this deploy switches it"
                ));
            } else if !s.instances.is_empty() && s.running_instances() == 0 {
                notes.push(format!(
                    "no instance of the live app {live} is running ({}): {main} is down until this deploy switches it",
                    s.instances.join(", ")
                ));
            }
        }
    } else if config.live[1..]
        .iter()
        .any(|r| !state.holders(r).is_empty())
    {
        notes.push(format!(
            "no app holds the main live route {main}, but extra live routes are held; the deploy maps them all"
        ));
    }
    Ok((steps, state, notes))
}

/// Of two apps both holding the live route, the one whose version passed its check in
/// the most recent deploy, if the annotations say so and it is started.
fn checked_newer(
    config: &Config,
    state: &PairState,
    meta: &BTreeMap<String, AppMeta>,
) -> Option<String> {
    let candidates: Vec<(&str, &str)> = [config.blue.as_str(), config.green.as_str()]
        .into_iter()
        .filter(|app| state.get(app).is_some_and(|s| s.started()))
        .filter_map(|app| {
            let m = meta.get(app)?;
            m.checked()
                .then(|| (app, m.get(metadata::DEPLOY).unwrap_or("")))
        })
        .collect();
    candidates
        .into_iter()
        .max_by(|a, b| a.1.cmp(b.1))
        .map(|(app, _)| app.to_string())
}

/// With no app live: the app that was live last (per its records) is kept as it is, and
/// the new version goes to the other one; blue when nothing is known.
fn first_target(config: &Config, meta: &BTreeMap<String, AppMeta>) -> String {
    let since = |app: &str| {
        meta.get(app)
            .and_then(|m| m.get(metadata::LIVE_SINCE))
            .unwrap_or("")
    };
    let (b, g) = (since(&config.blue), since(&config.green));
    if b > g {
        config.green.clone()
    } else {
        config.blue.clone()
    }
}

fn guid_of(meta: &BTreeMap<String, AppMeta>, app: &str) -> Option<String> {
    meta.get(app).map(|m| m.guid.clone())
}

fn live_since(id: &DeployId, kind: Kind) -> String {
    let what = match kind {
        Kind::Deploy => "deploy",
        Kind::Rollback => "rollback",
    };
    format!(
        "{} by {what} {}",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        id.0
    )
}

/// What every plan is made from.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    config: &'a Config,
    /// After the resolution steps.
    state: &'a PairState,
    meta: &'a BTreeMap<String, AppMeta>,
    id: &'a DeployId,
}

/// The switch itself, shared by deploy and rollback: staging, check, live routes, the
/// previous app's live routes, staging again, the previous app.
fn switch_steps(
    inputs: &Inputs,
    kind: Kind,
    target: &str,
    previous: Option<&str>,
    steps: &mut Vec<Step>,
) {
    let Inputs {
        config,
        state,
        meta,
        id,
    } = *inputs;
    let target = target.to_string();
    steps.push(Step::map_route(
        &target,
        &config.staging,
        RouteRole::Staging,
    ));
    if config.smoke.enabled {
        steps.push(Step::SmokeCheck {
            app: target.clone(),
            url: config.smoke.url.clone(),
        });
    }
    if kind == Kind::Deploy {
        steps.push(Step::Annotate {
            app: target.clone(),
            guid: guid_of(meta, &target),
            values: vec![(metadata::CHECKED.into(), Some(id.0.clone()))],
        });
    }
    for route in &config.live {
        steps.push(Step::map_route(&target, route, RouteRole::Live));
    }
    if let Some(old) = previous {
        for route in &config.live {
            // An extra route the old app never had needs no unmapping (and unmapping a
            // route that does not exist at all fails).
            if state.holds(old, route) {
                steps.push(Step::unmap_route(old, route, RouteRole::Live));
            }
        }
    }
    steps.push(Step::Annotate {
        app: target.clone(),
        guid: guid_of(meta, &target),
        values: vec![(metadata::LIVE_SINCE.into(), Some(live_since(id, kind)))],
    });
    steps.push(Step::unmap_route(
        &target,
        &config.staging,
        RouteRole::Staging,
    ));
    if let Some(old) = previous {
        match (config.old_app, kind) {
            (OldApp::Keep, _) => {}
            // A rollback never deletes: the version it leaves may be wanted back.
            (OldApp::Stop, _) | (OldApp::Delete, Kind::Rollback) => steps.push(Step::Stop {
                app: old.to_string(),
            }),
            (OldApp::Delete, Kind::Deploy) => steps.push(Step::Delete {
                app: old.to_string(),
            }),
        }
    }
}

pub fn plan_deploy(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
    id: &DeployId,
) -> Result<Plan, PlanError> {
    let (mut steps, state, notes) = resolve(config, pair, meta)?;
    let previous = live_app(config, &state)?.map(str::to_string);
    let target = match &previous {
        Some(live) => config.other(live).to_string(),
        None => first_target(config, meta),
    };
    steps.push(Step::Push {
        app: target.clone(),
        command: push_command(config, &target),
    });
    steps.push(Step::Annotate {
        app: target.clone(),
        // A push keeps the app's GUID; an app that does not exist yet gets one.
        guid: state.get(&target).and(guid_of(meta, &target)),
        values: vec![
            (metadata::DEPLOY.into(), Some(id.0.clone())),
            (metadata::CHECKED.into(), None),
            (metadata::LIVE_SINCE.into(), None),
        ],
    });
    steps.push(Step::EnsureNotLive {
        app: target.clone(),
    });
    let inputs = Inputs {
        config,
        state: &state,
        meta,
        id,
    };
    switch_steps(
        &inputs,
        Kind::Deploy,
        &target,
        previous.as_deref(),
        &mut steps,
    );
    Ok(Plan {
        kind: Kind::Deploy,
        target,
        previous,
        before: state,
        steps,
        notes,
    })
}

pub fn plan_rollback(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
    id: &DeployId,
) -> Result<Plan, PlanError> {
    let (mut steps, state, notes) = resolve(config, pair, meta)?;
    let Some(current) = live_app(config, &state)?.map(str::to_string) else {
        return Err(PlanError::NoRollback {
            reason: format!(
                "no app of the pair holds the live route {}",
                config.main_live()
            ),
            hint: "run `cf-bluegreen deploy` to put a version live".into(),
        });
    };
    let target = config.other(&current).to_string();
    if state.get(&target).is_none() {
        return Err(PlanError::NoRollback {
            reason: format!(
                "the previous app {target} does not exist (it was deleted, or {current} is the only version ever deployed)"
            ),
            hint: "deploy the version you want instead; switch.old = \"stop\" keeps the previous version for rollbacks".into(),
        });
    }
    // Always `cf start`: it is idempotent, and the dry run shows the same commands
    // whatever the app's state.
    steps.push(Step::Start {
        app: target.clone(),
    });
    let inputs = Inputs {
        config,
        state: &state,
        meta,
        id,
    };
    switch_steps(&inputs, Kind::Rollback, &target, Some(&current), &mut steps);
    Ok(Plan {
        kind: Kind::Rollback,
        target,
        previous: Some(current),
        before: state,
        steps,
        notes,
    })
}

/// Shared by the unit tests of planning, resolution and recovery.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
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

    pub fn pair(a: Option<AppStatus>, b: Option<AppStatus>) -> PairState {
        PairState {
            blue: ("a".into(), a),
            green: ("b".into(), b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    fn plan_deploy(config: &Config, state: &PairState) -> Result<Plan, PlanError> {
        super::plan_deploy(config, state, &BTreeMap::new(), &DeployId("id".into()))
    }

    /// The commands but the annotations.
    fn lines(plan: &Plan) -> Vec<String> {
        plan.commands()
            .iter()
            .filter(|c| c.name() != "curl")
            .map(ToString::to_string)
            .collect()
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
        let state = pair(started(&["live.example.com"]), stopped(&[]));
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
                Step::Annotate { values, .. } => values[0].0.as_str(),
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "push",
                "cf-bluegreen/deploy",
                "clear",
                "map",
                "smoke",
                "cf-bluegreen/checked",
                "map",
                "unmap",
                "cf-bluegreen/live-since",
                "unmap",
                "other"
            ]
        );
    }

    #[test]
    fn green_live_targets_blue() {
        let state = pair(stopped(&[]), started(&["live.example.com"]));
        let plan = plan_deploy(&config(""), &state).unwrap();
        assert_eq!(plan.target, "a");
        assert_eq!(plan.previous.as_deref(), Some("b"));
    }

    #[test]
    fn both_live_is_refused() {
        let state = pair(
            started(&["live.example.com"]),
            started(&["live.example.com", "stg.example.com"]),
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
        let state = pair(started(&["live.example.com/api", "www.shop.com"]), None);
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
        assert!(plan.steps.contains(&Step::Delete { app: "a".into() }));
    }

    #[test]
    fn extra_route_the_old_app_lacks_is_not_unmapped() {
        let c = config(
            "[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n[switch]\nold = \"keep\"\n",
        );
        let state = pair(started(&["live.example.com"]), None);
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

#[cfg(test)]
mod resolution_tests {
    use super::fixtures::*;
    use super::*;

    fn meta(entries: &[(&str, &[(&str, &str)])]) -> BTreeMap<String, AppMeta> {
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
                    },
                )
            })
            .collect()
    }

    fn lines(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(Step::command)
            .map(|c| c.to_string())
            .collect()
    }

    const D: &str = metadata::DEPLOY;
    const C: &str = metadata::CHECKED;

    #[test]
    fn clean_state_needs_nothing() {
        let c = config("");
        let (steps, _, notes) = resolve(
            &c,
            &pair(started(&["live.example.com"]), stopped(&[])),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(steps.is_empty() && notes.is_empty());
    }

    #[test]
    fn both_live_with_records_finishes_the_switch_to_the_checked_newer_app() {
        let c = config("");
        let state = pair(
            started(&["live.example.com"]),
            started(&["live.example.com", "stg.example.com"]),
        );
        let m = meta(&[
            (
                "a",
                &[(D, "2026-01-01T00:00:00Z x"), (C, "2026-01-01T00:00:00Z x")],
            ),
            (
                "b",
                &[(D, "2026-02-01T00:00:00Z y"), (C, "2026-02-01T00:00:00Z y")],
            ),
        ]);
        let (steps, after, notes) = resolve(&c, &state, &m).unwrap();
        assert_eq!(
            lines(&steps),
            [
                "cf unmap-route a example.com --hostname live",
                "cf stop a",
                "cf unmap-route b example.com --hostname stg"
            ]
        );
        assert_eq!(after.holders(c.main_live()), ["b"]);
        assert!(notes[0].contains("b holds the version that passed its check"));
        // The deploy that follows goes to a.
        let plan = plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(plan.target, "a");
        assert_eq!(plan.previous.as_deref(), Some("b"));
    }

    #[test]
    fn both_live_where_the_new_app_was_never_checked_goes_back_to_the_old_one() {
        let c = config("");
        let state = pair(
            started(&["live.example.com"]),
            started(&["live.example.com"]),
        );
        // b was pushed (deploy recorded, checked cleared), a is the checked old version.
        let m = meta(&[
            (
                "a",
                &[(D, "2026-01-01T00:00:00Z x"), (C, "2026-01-01T00:00:00Z x")],
            ),
            ("b", &[(D, "2026-02-01T00:00:00Z y")]),
        ]);
        let (steps, _, _) = resolve(&c, &state, &m).unwrap();
        assert_eq!(
            lines(&steps),
            ["cf unmap-route b example.com --hostname live", "cf stop b"]
        );
    }

    #[test]
    fn both_live_without_records_needs_a_human() {
        let c = config("");
        let state = pair(
            started(&["live.example.com"]),
            started(&["live.example.com"]),
        );
        let e = resolve(&c, &state, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("do not say which one holds the checked new version"),
            "{e}"
        );
        // A checked app that is stopped cannot take the live route either.
        let state = pair(
            started(&["live.example.com"]),
            stopped(&["live.example.com"]),
        );
        let m = meta(&[("b", &[(D, "d"), (C, "d")])]);
        assert!(resolve(&c, &state, &m).is_err());
    }

    #[test]
    fn leftover_staging_and_extra_routes_are_cleaned_up() {
        let c = config("[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n");
        let state = pair(
            started(&["live.example.com", "stg.example.com"]),
            started(&["www.shop.com", "stg.example.com"]),
        );
        let (steps, _, notes) = resolve(&c, &state, &BTreeMap::new()).unwrap();
        assert_eq!(
            lines(&steps),
            [
                "cf unmap-route a example.com --hostname stg",
                "cf unmap-route b example.com --hostname stg",
                "cf map-route a shop.com --hostname www",
                "cf unmap-route b shop.com --hostname www",
            ]
        );
        assert_eq!(notes.len(), 3);
    }

    #[test]
    fn stopped_or_crashed_live_app_is_noted() {
        let c = config("");
        let (_, _, notes) = resolve(
            &c,
            &pair(stopped(&["live.example.com"]), None),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(notes[0].contains("the live app a is stopped"), "{notes:?}");
        let mut crashed = started(&["live.example.com"]);
        crashed.as_mut().unwrap().instances = vec!["crashed".into()];
        let (_, _, notes) = resolve(&c, &pair(crashed, None), &BTreeMap::new()).unwrap();
        assert!(
            notes[0].contains("no instance of the live app a is running (crashed)"),
            "{notes:?}"
        );
    }

    #[test]
    fn with_nothing_live_the_last_live_app_is_spared() {
        let c = config("");
        let state = pair(stopped(&[]), stopped(&[]));
        let m = meta(&[
            ("a", &[(metadata::LIVE_SINCE, "2026-03-01T00:00:00Z")]),
            ("b", &[(metadata::LIVE_SINCE, "2026-01-01T00:00:00Z")]),
        ]);
        let plan = plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(plan.target, "b");
        let plan = plan_deploy(&c, &state, &BTreeMap::new(), &DeployId("id".into())).unwrap();
        assert_eq!(plan.target, "a");
    }

    #[test]
    fn annotations_name_the_deploy() {
        let c = config("");
        let state = pair(started(&["live.example.com"]), stopped(&[]));
        let m = meta(&[("a", &[]), ("b", &[])]);
        let plan = plan_deploy(&c, &state, &m, &DeployId("2026-id".into())).unwrap();
        let curls: Vec<String> = plan
            .commands()
            .iter()
            .filter(|c| c.name() == "curl")
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            curls[0],
            r#"cf curl /v3/apps/guid-b -X PATCH -d '{"metadata":{"annotations":{"cf-bluegreen/checked":null,"cf-bluegreen/deploy":"2026-id","cf-bluegreen/live-since":null}}}'"#
        );
        assert_eq!(
            curls[1],
            r#"cf curl /v3/apps/guid-b -X PATCH -d '{"metadata":{"annotations":{"cf-bluegreen/checked":"2026-id"}}}'"#
        );
        assert!(curls[2].contains("cf-bluegreen/live-since"), "{}", curls[2]);
        // Before the first push there is no GUID yet: the command looks it up.
        let plan = plan_deploy(
            &c,
            &pair(None, None),
            &BTreeMap::new(),
            &DeployId("x".into()),
        )
        .unwrap();
        let first = plan
            .commands()
            .into_iter()
            .find(|c| c.name() == "curl")
            .unwrap();
        assert!(
            first
                .to_string()
                .starts_with("cf curl \"/v3/apps/$(cf app a --guid)\" -X PATCH"),
            "{first}"
        );
    }

    #[test]
    fn rollback_starts_checks_and_switches_back() {
        let c = config("[switch]\nold = \"delete\"\n");
        let state = pair(stopped(&[]), started(&["live.example.com"]));
        let plan = plan_rollback(&c, &state, &BTreeMap::new(), &DeployId("id".into())).unwrap();
        assert_eq!(plan.kind, Kind::Rollback);
        assert_eq!(plan.target, "a");
        let cmds: Vec<String> = lines(&plan.steps)
            .into_iter()
            .filter(|l| !l.starts_with("cf curl"))
            .collect();
        assert_eq!(
            cmds,
            [
                "cf start a",
                "cf map-route a example.com --hostname stg",
                "cf map-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route a example.com --hostname stg",
                // Never deleted by a rollback.
                "cf stop b",
            ]
        );
        assert!(plan
            .steps
            .iter()
            .any(|s| matches!(s, Step::SmokeCheck { .. })));
    }

    #[test]
    fn rollback_without_a_previous_app() {
        let c = config("");
        let e = plan_rollback(
            &c,
            &pair(started(&["live.example.com"]), None),
            &BTreeMap::new(),
            &DeployId("id".into()),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("the previous app b does not exist"), "{e}");
        let e = plan_rollback(
            &c,
            &pair(None, None),
            &BTreeMap::new(),
            &DeployId("id".into()),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no app of the pair holds the live route"), "{e}");
    }
}
