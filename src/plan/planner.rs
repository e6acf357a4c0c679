//! Which app is live, which one receives the new version, and the steps of a deploy or
//! a rollback: the resolution steps first, then the push (or the start), the staging
//! route, the check, the live routes, and the previous app.

use std::collections::BTreeMap;

use crate::cf::CfCommand;
use crate::config::{Config, Unlisted};
use crate::metadata::{self, AppMeta, DeployId};
use crate::route::Route;

use super::resolve::{
    finish_switch_back, nothing_staged, rejected, resolve_keeping, rollback_to_rejected,
    rollback_while_staged, staged,
};
use super::{Kind, PairState, Plan, PlanError, Retire, RouteRole, Step};

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

pub(super) fn both_live(config: &Config, why: String) -> PlanError {
    let route = config.main_live();
    PlanError::BothLive {
        blue: config.blue.clone(),
        green: config.green.clone(),
        route: route.url(),
        args: shell_words::join(route.cf_args()),
        why,
    }
}

/// Every route that goes with the live app: the configured live routes first, then every
/// other route an app holding the main live route holds — internal routes, TCP routes,
/// other hostnames, domains and paths — but the staging route. `cf push --no-route`
/// strips all of them from the idle app; whatever does not move stays on the old app and
/// goes down with it. With `routes.unlisted = "refuse"`, unlisted ones stop the plan.
pub fn live_routes(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
) -> Result<Vec<Route>, PlanError> {
    let unlisted = unlisted_routes(config, pair, meta);
    if config.unlisted == Unlisted::Refuse && !unlisted.is_empty() {
        return Err(PlanError::UnlistedRoutes {
            config: config.path.display().to_string(),
            routes: unlisted,
        });
    }
    let mut live = config.live.clone();
    for (_, route) in unlisted {
        if !live.contains(&route) {
            live.push(route);
        }
    }
    Ok(live)
}

/// The routes an app holding the main live route holds that the configuration does not
/// list (the staging route aside), with the app holding each.
pub fn unlisted_routes(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
) -> Vec<(String, Route)> {
    let mut unlisted = Vec::new();
    for app in pair.holders(config.main_live()) {
        for route in meta.get(app).map_or(&[][..], |m| &m.routes) {
            if *route != config.staging && !config.live.contains(route) {
                unlisted.push((app.to_string(), route.clone()));
            }
        }
    }
    unlisted
}

/// `cf push TARGET --no-route [-f M] [-p P] [--vars-file F]... [--vars-file PUSH_VARS] [ARGS...]`
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
    if !p.vars.is_empty() {
        // Never `--var K=V`: `ps` shows cf's arguments. The executor writes the file.
        args.extend([
            "--vars-file".to_string(),
            crate::vars_file::PLACEHOLDER.to_string(),
        ]);
    }
    args.extend(p.args.iter().cloned());
    CfCommand { args }
}

/// With no app live: the app that was live last (per its records) is kept as it is, and
/// the new version goes to the other one; blue when nothing is known.
pub fn first_target(config: &Config, meta: &BTreeMap<String, AppMeta>) -> String {
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

fn label_of(meta: &BTreeMap<String, AppMeta>, app: &str) -> Option<String> {
    meta.get(app)
        .and_then(|m| m.get(metadata::LABEL))
        .map(str::to_string)
}

fn guid_of(meta: &BTreeMap<String, AppMeta>, app: &str) -> Option<String> {
    meta.get(app).map(|m| m.guid.clone())
}

fn live_since(id: &DeployId, kind: Kind) -> String {
    format!(
        "{} by {} {}",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        kind.name(),
        id.0
    )
}

/// What every plan is made from.
struct Inputs<'a> {
    config: &'a Config,
    kind: Kind,
    /// After the resolution steps.
    state: PairState,
    /// Every live route: see [`live_routes`].
    live: Vec<Route>,
    /// The resolution's steps and notes, which the plan starts with.
    steps: Vec<Step>,
    notes: Vec<String>,
    meta: &'a BTreeMap<String, AppMeta>,
    id: &'a DeployId,
}

/// The switch itself, shared by deploy and rollback: policies, capacity and staging,
/// the check, the "checked" record, the live routes, the previous app's live routes, the
/// drain, then the cleanup (staging again, the live-since record, the previous app).
fn switch(inputs: Inputs, target: String, previous: Option<String>) -> Plan {
    let Inputs {
        config,
        kind,
        state,
        live,
        mut steps,
        notes,
        meta,
        id,
    } = inputs;
    if let Some(old) = &previous {
        // Before the new version takes any route: the checks may need what the policies
        // allow, and internal callers must reach it the moment it serves.
        steps.push(Step::CopyPolicies {
            from: old.clone(),
            to: target.clone(),
            required: live.iter().any(|r| r.domain.ends_with("internal")),
        });
        if config.switch.match_instances {
            steps.push(Step::MatchInstances {
                app: target.clone(),
                like: old.clone(),
                // A rollback pushes nothing: the push's own count is not its to honour.
                pushed: kind != Kind::Rollback,
            });
        }
    }
    // A promotion's target holds the staging route since it was staged.
    if kind != Kind::Promote {
        steps.push(Step::map_route(
            &target,
            &config.staging,
            RouteRole::Staging,
        ));
    }
    if config.smoke.enabled {
        steps.push(Step::SmokeCheck {
            app: target.clone(),
            url: config.smoke.describe(),
        });
    }
    // "checked" says that this version passed the check that decides whether it may get
    // live traffic at all: the one on the staging route. It must be written before the
    // first live map, so that a run stopped hard during the live maps (a second Ctrl-C,
    // a kill, exit 3) leaves both apps live with the new one recognisable:
    // `resolve`'s "both live: finish to the checked newer one" then finishes a switch to
    // a version that passed its check, never to an unchecked one (an app whose record
    // failed is not "checked", and a human decides). `switch.verify-live` is not part of
    // it, and cannot be: it asks the router for the live route, which needs the live
    // map. It guards this run's unmaps from the old app (the router must know the new
    // route before the old app lets go), and `complete_forward` still goes forward only
    // once the old app lost a live route, which comes after it. A later run that
    // finishes such a switch does so well after the map, when the router has it.
    //
    // A promotion checks the staged version again and records it as the deploy that
    // pushed it (a version is "checked" when the two records agree). Staging records, in
    // the same write, that the version waits for promotion, and stops there.
    if kind.new_version() {
        let pushed_by = match kind {
            Kind::Promote => meta
                .get(&target)
                .and_then(|m| m.get(metadata::DEPLOY))
                .unwrap_or(&id.0)
                .to_string(),
            _ => id.0.clone(),
        };
        let mut values = vec![(metadata::CHECKED.into(), Some(pushed_by))];
        match kind {
            Kind::Stage => values.push((metadata::STAGED.into(), Some(id.0.clone()))),
            // Past its check again, the version no longer waits: cleared here rather than
            // with live-since, so that one failed record cannot leave both unwritten.
            Kind::Promote => values.push((metadata::STAGED.into(), None)),
            _ => {}
        }
        steps.push(Step::Annotate {
            app: target.clone(),
            guid: guid_of(meta, &target),
            values,
        });
    }
    let retire = Retire::of(config.switch.old, kind.into());
    let label = match kind {
        Kind::Deploy | Kind::Stage => config.label.clone(),
        // The version on the target keeps the label it was deployed with.
        Kind::Rollback | Kind::Promote | Kind::Abort => label_of(meta, &target),
    };
    if kind == Kind::Stage {
        return Plan {
            label,
            kind,
            target,
            previous,
            retire,
            drain: config.switch.drain,
            live,
            before: state,
            steps,
            notes,
        };
    }
    for route in &live {
        steps.push(Step::map_route(&target, route, RouteRole::Live));
    }
    if let (Some(url), Some(_)) = (&config.switch.verify_live, &previous) {
        steps.push(Step::VerifyLive {
            app: target.clone(),
            url: url.clone(),
        });
    }
    if let Some(old) = &previous {
        for route in &live {
            // An extra route the old app never had needs no unmapping (and unmapping a
            // route that does not exist at all fails).
            if state.holds(old, route) {
                steps.push(Step::unmap_route(old, route, RouteRole::Live));
            }
        }
    }
    // A new version is verified on the live URL while the previous app, started without
    // routes, waits to take them back (a rollback goes back to a version that was live,
    // and a first deploy has nothing to go back to). That wait is the previous app's
    // drain too: only what is left of switch.drain beyond it is waited for after.
    let verify = config.verify.as_ref().filter(|_| kind.new_version());
    let drain = match (verify, &previous) {
        (Some(v), Some(old)) => {
            steps.push(Step::Verify {
                app: target.clone(),
                old: old.clone(),
                url: v.check.url.clone(),
                duration: v.duration,
                interval: v.interval,
            });
            config.switch.drain.saturating_sub(v.duration)
        }
        _ => config.switch.drain,
    };
    let retire_step = previous.as_deref().and_then(|old| retire.step(old));
    if let (Some(old), Some(_)) = (&previous, &retire_step) {
        if !drain.is_zero() {
            steps.push(Step::Drain {
                app: old.clone(),
                time: drain,
            });
        }
    }
    // The final cleanup, side by side (see `batch`): nothing in it needs another, and
    // the retirement comes after the live unmaps and the drain.
    steps.push(Step::unmap_route(
        &target,
        &config.staging,
        RouteRole::Staging,
    ));
    let mut values = vec![(metadata::LIVE_SINCE.into(), Some(live_since(id, kind)))];
    if kind == Kind::Promote {
        // Cleared already with the checked record; again here, since that write may
        // have failed (a warning), and a staged record left on a live app would make a
        // later rollback take it for a version still waiting.
        values.push((metadata::STAGED.into(), None));
    }
    steps.push(Step::Annotate {
        app: target.clone(),
        guid: guid_of(meta, &target),
        values,
    });
    steps.extend(retire_step);
    Plan {
        label,
        kind,
        target,
        previous,
        retire,
        drain,
        live,
        before: state,
        steps,
        notes,
    }
}

/// What every plan starts from: every live route, and the state after the resolution of
/// what an earlier run left behind, with the resolution's steps and notes.
fn resolved<'a>(
    config: &'a Config,
    kind: Kind,
    pair: &PairState,
    meta: &'a BTreeMap<String, AppMeta>,
    id: &'a DeployId,
) -> Result<Inputs<'a>, PlanError> {
    resolved_keeping(config, kind, pair, meta, id, None)
}

/// [`resolved`], leaving the staging route on `keep`, the staged app.
fn resolved_keeping<'a>(
    config: &'a Config,
    kind: Kind,
    pair: &PairState,
    meta: &'a BTreeMap<String, AppMeta>,
    id: &'a DeployId,
    keep: Option<&str>,
) -> Result<Inputs<'a>, PlanError> {
    let live = live_routes(config, pair, meta)?;
    // First, before the other resolution steps (see `finish_switch_back`); a rollback's
    // own plan is that switch back.
    let (mut steps, finished, mut notes) = match finish_switch_back(config, &live, pair, meta) {
        Some((steps, state, note)) if kind != Kind::Rollback => (steps, state, vec![note]),
        _ => (Vec::new(), pair.clone(), Vec::new()),
    };
    let (more, state, more_notes) = resolve_keeping(config, &live, &finished, meta, keep)?;
    steps.extend(more);
    notes.extend(more_notes);
    Ok(Inputs {
        config,
        kind,
        state,
        live,
        steps,
        notes,
        meta,
        id,
    })
}

/// A new version to the idle app (or, with no app live, to the one that was not live last).
pub fn plan_deploy(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
    id: &DeployId,
) -> Result<Plan, PlanError> {
    push_new_version(config, Kind::Deploy, pair, meta, id)
}

/// `deploy --no-switch`: a deploy that stops once the new version passed its check on
/// the staging route, and records that it waits there for `promote`.
pub fn plan_stage(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
    id: &DeployId,
) -> Result<Plan, PlanError> {
    push_new_version(config, Kind::Stage, pair, meta, id)
}

fn push_new_version(
    config: &Config,
    kind: Kind,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
    id: &DeployId,
) -> Result<Plan, PlanError> {
    // A version staged on the idle app is replaced (the resolution says so): its staged
    // record goes with the push's own, or it would name a version no longer there.
    let replaced = staged(config, pair, meta).is_some();
    let mut inputs = resolved(config, kind, pair, meta, id)?;
    let Inputs {
        state, live, steps, ..
    } = &mut inputs;
    let previous = live_app(config, state)?.map(str::to_string);
    let target = match &previous {
        Some(live) => config.other(live).to_string(),
        None => first_target(config, meta),
    };
    steps.push(Step::Push {
        app: target.clone(),
        command: push_command(config, &target),
    });
    let mut values = vec![
        (metadata::DEPLOY.into(), Some(id.0.clone())),
        (metadata::CHECKED.into(), None),
        (metadata::LIVE_SINCE.into(), None),
        // Always written: without a label, one an older version left must go.
        (metadata::LABEL.into(), config.label.clone()),
    ];
    if replaced {
        values.push((metadata::STAGED.into(), None));
    }
    steps.push(Step::Annotate {
        app: target.clone(),
        // A push keeps the app's GUID; an app that does not exist yet gets one.
        guid: state.get(&target).and(guid_of(meta, &target)),
        values,
    });
    steps.push(Step::EnsureNotLive {
        app: target.clone(),
        live: live.clone(),
    });
    Ok(switch(inputs, target, previous))
}

/// The staged version checked again on the staging route, then switched to as a deploy
/// switches (from the policies and the capacity on).
pub fn plan_promote(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
    id: &DeployId,
) -> Result<Plan, PlanError> {
    let Some(found) = staged(config, pair, meta) else {
        return Err(nothing_staged(Kind::Promote, config, meta));
    };
    let inputs = resolved_keeping(config, Kind::Promote, pair, meta, id, Some(&found.app))?;
    let previous = live_app(config, &inputs.state)?.map(str::to_string);
    Ok(switch(inputs, found.app, previous))
}

/// The staged version off the staging route and stopped, its staged record cleared; the
/// live app is not touched.
pub fn plan_abort(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
    id: &DeployId,
) -> Result<Plan, PlanError> {
    let Some(found) = staged(config, pair, meta) else {
        return Err(nothing_staged(Kind::Abort, config, meta));
    };
    let Inputs {
        state,
        live,
        mut steps,
        notes,
        ..
    } = resolved_keeping(config, Kind::Abort, pair, meta, id, Some(&found.app))?;
    let previous = live_app(config, &state)?.map(str::to_string);
    let target = found.app;
    steps.push(Step::unmap_route(
        &target,
        &config.staging,
        RouteRole::Staging,
    ));
    steps.push(Step::Stop {
        app: target.clone(),
    });
    steps.push(Step::Annotate {
        app: target.clone(),
        guid: guid_of(meta, &target),
        values: vec![(metadata::STAGED.into(), None)],
    });
    Ok(Plan {
        label: label_of(meta, &target),
        kind: Kind::Abort,
        target,
        previous,
        retire: Retire::of(config.switch.old, Kind::Abort.into()),
        drain: config.switch.drain,
        live,
        before: state,
        steps,
        notes,
    })
}

/// The previous version, on the idle app, back to live.
pub fn plan_rollback(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
    id: &DeployId,
) -> Result<Plan, PlanError> {
    if let Some(found) = staged(config, pair, meta) {
        return Err(rollback_while_staged(config, &found));
    }
    let mut inputs = resolved(config, Kind::Rollback, pair, meta, id)?;
    let Inputs { state, steps, .. } = &mut inputs;
    let Some(current) = live_app(config, state)?.map(str::to_string) else {
        return Err(PlanError::NoRollback {
            reason: format!(
                "no app of the pair holds the live route {}",
                config.main_live()
            ),
            hint: "run `cf-bluegreen deploy` to put a version live".into(),
        });
    };
    let target = config.other(&current).to_string();
    if rejected(meta, &target) {
        return Err(rollback_to_rejected(config, &target, meta));
    }
    if state.get(&target).is_none() {
        return Err(PlanError::NoRollback {
            reason: format!(
                "the previous app {target} does not exist (it was deleted, or {current} is the only version ever deployed)"
            ),
            hint: "deploy the version you want instead; switch.old = \"stop\" keeps the previous version for rollbacks".into(),
        });
    }
    // No start for an app already started: the previous app during (or right after an
    // interrupted) verification, or one kept with switch.old = "keep". cf would only
    // say "already started", but the plan (and the dry run) says what the rollback
    // needs: going back to a warm app is route calls only.
    if !state.started(&target) {
        steps.push(Step::Start {
            app: target.clone(),
        });
    }
    Ok(switch(inputs, target, Some(current)))
}

/// Shared by the unit tests of planning, resolution and recovery.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::*;
    use crate::plan::RouteRole;

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
                Step::CopyPolicies { .. } => "policies",
                Step::MatchInstances { .. } => "instances",
                Step::VerifyLive { .. } => "verify",
                Step::Drain { .. } => "drain",
                Step::Stop { .. } => "stop",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "push",
                "cf-bluegreen/deploy",
                "clear",
                "policies",
                "instances",
                "map",
                "smoke",
                "cf-bluegreen/checked",
                "map",
                "verify",
                "unmap",
                "drain",
                "unmap",
                "cf-bluegreen/live-since",
                "stop"
            ]
        );
    }

    #[test]
    fn verify_follows_the_unmaps_counts_as_the_drain_and_precedes_the_cleanup() {
        let c = config("[switch]\ndrain = \"90s\"\n[verify]\nduration = \"1m\"\n");
        let state = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &state).unwrap();
        let at = |pred: &dyn Fn(&Step) -> bool| plan.steps.iter().position(pred).unwrap();
        let verify = at(&|s| matches!(s, Step::Verify { .. }));
        let last_unmap = plan
            .steps
            .iter()
            .rposition(
                |s| matches!(s, Step::UnmapRoute { app, role: RouteRole::Live, .. } if app == "a"),
            )
            .unwrap();
        assert_eq!(verify, last_unmap + 1);
        assert_eq!(
            plan.steps[verify].to_string(),
            "verify b at https://live.example.com/ every 10s for 1m (a stays started, to switch back to)"
        );
        // Only what the drain has beyond the verification is waited for after it.
        let drain = std::time::Duration::from_secs(30);
        assert_eq!(plan.drain, drain);
        assert_eq!(
            plan.steps[verify + 1],
            Step::Drain {
                app: "a".into(),
                time: drain
            }
        );
        let live_since = at(
            &|s| matches!(s, Step::Annotate { values, .. } if values[0].0 == metadata::LIVE_SINCE),
        );
        assert!(verify < live_since);
        assert_eq!(plan.steps.last(), Some(&Step::Stop { app: "a".into() }));
        // A verification as long as the drain: no drain step.
        let c = config("[verify]\nduration = \"1m\"\n");
        let plan = plan_deploy(&c, &state).unwrap();
        assert!(!plan.steps.iter().any(|s| matches!(s, Step::Drain { .. })));
        // Nothing to switch back to on a first deploy; a rollback is not verified.
        let first = plan_deploy(&c, &pair(None, None)).unwrap();
        assert!(!first.steps.iter().any(|s| matches!(s, Step::Verify { .. })));
        let back = pair(stopped(&[]), started(&["live.example.com"]));
        let plan = plan_rollback(&c, &back, &BTreeMap::new(), &DeployId("id".into())).unwrap();
        assert!(!plan.steps.iter().any(|s| matches!(s, Step::Verify { .. })));
    }

    #[test]
    fn a_rollback_to_a_started_app_does_not_start_it() {
        let c = config("");
        let state = pair(started(&[]), started(&["live.example.com"]));
        let plan = plan_rollback(&c, &state, &BTreeMap::new(), &DeployId("id".into())).unwrap();
        assert!(!plan.steps.iter().any(|s| matches!(s, Step::Start { .. })));
        assert_eq!(
            lines(&plan),
            [
                "cf map-route a example.com --hostname stg",
                "cf map-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route a example.com --hostname stg",
                "cf stop b",
            ]
        );
        // The switch's own batches begin with the target's first step, as after a start.
        let batches = plan.batches();
        assert!(batches.iter().all(|b| {
            let steps = &plan.steps[b.clone()];
            !(steps.iter().any(|s| s.maps(RouteRole::Live))
                && steps.iter().any(|s| matches!(s, Step::UnmapRoute { .. })))
        }));
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
                "cf push b --no-route -f m.yml -p dist --vars-file v.yml --vars-file '<push.vars, in a temporary file>' -i 2",
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
        // No value of push.vars is anywhere in the plan: the executor writes them to a
        // file when the push runs.
        assert!(!plan.commands()[0].args.iter().any(|a| a.contains("k=v")));
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

    /// Every step's command, annotations included.
    fn step_lines(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(Step::command)
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn with_nothing_live_the_last_live_app_is_spared() {
        let c = config("");
        let state = pair(stopped(&[]), stopped(&[]));
        let m = meta(&[
            ("a", &[(metadata::LIVE_SINCE, "2026-03-01T00:00:00Z")]),
            ("b", &[(metadata::LIVE_SINCE, "2026-01-01T00:00:00Z")]),
        ]);
        let plan = super::plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(plan.target, "b");
        let plan =
            super::plan_deploy(&c, &state, &BTreeMap::new(), &DeployId("id".into())).unwrap();
        assert_eq!(plan.target, "a");
    }

    #[test]
    fn annotations_name_the_deploy() {
        let c = config("");
        let state = pair(started(&["live.example.com"]), stopped(&[]));
        let m = meta(&[("a", &[]), ("b", &[])]);
        let plan = super::plan_deploy(&c, &state, &m, &DeployId("2026-id".into())).unwrap();
        let curls: Vec<String> = plan
            .commands()
            .iter()
            .filter(|c| c.name() == "curl")
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            curls[0],
            r#"cf curl /v3/apps/guid-b -X PATCH -d '{"metadata":{"annotations":{"cf-bluegreen/checked":null,"cf-bluegreen/deploy":"2026-id","cf-bluegreen/label":null,"cf-bluegreen/live-since":null}}}'"#
        );
        assert_eq!(
            curls[1],
            r#"cf curl /v3/apps/guid-b -X PATCH -d '{"metadata":{"annotations":{"cf-bluegreen/checked":"2026-id"}}}'"#
        );
        assert!(curls[2].contains("cf-bluegreen/live-since"), "{}", curls[2]);
        // Before the first push there is no GUID yet: the command looks it up.
        let plan = super::plan_deploy(
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
        let cmds: Vec<String> = step_lines(&plan.steps)
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

    /// The values of the deploy record (the one setting `cf-bluegreen/deploy`).
    fn deploy_record(plan: &Plan) -> Vec<(String, Option<String>)> {
        let records: Vec<_> = plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Annotate { values, .. }
                    if values.iter().any(|(k, _)| k == metadata::DEPLOY) =>
                {
                    Some(values.clone())
                }
                _ => None,
            })
            .collect();
        assert_eq!(records.len(), 1, "{:?}", plan.steps);
        records[0].clone()
    }

    #[test]
    fn a_deploy_records_its_label_with_the_deploy_or_clears_it() {
        let state = pair(started(&["live.example.com"]), stopped(&[]));
        let mut c = config("");
        c.label = Some("v1.2.3".into());
        let plan = plan_deploy(&c, &state).unwrap();
        assert_eq!(plan.label.as_deref(), Some("v1.2.3"));
        assert_eq!(
            deploy_record(&plan),
            [
                (metadata::DEPLOY.to_string(), Some("id".to_string())),
                (metadata::CHECKED.to_string(), None),
                (metadata::LIVE_SINCE.to_string(), None),
                (metadata::LABEL.to_string(), Some("v1.2.3".to_string())),
            ]
        );
        // The only annotation step naming the label: no cf call of its own.
        let labelled = plan
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Annotate { values, .. } if values.iter().any(|(k, _)| k == metadata::LABEL)))
            .count();
        assert_eq!(labelled, 1);

        // Without a label, the record clears the one an older version left.
        let plan = plan_deploy(&config(""), &state).unwrap();
        assert_eq!(plan.label, None);
        assert!(deploy_record(&plan).contains(&(metadata::LABEL.to_string(), None)));
        let body = plan.commands()[1].to_string();
        assert!(body.contains(r#""cf-bluegreen/label":null"#), "{body}");
    }

    #[test]
    fn a_rollback_keeps_labels_and_names_the_one_going_live() {
        let mut c = config("");
        // A label on the command line is not a rollback's to record.
        c.label = Some("ignored".into());
        let state = pair(stopped(&[]), started(&["live.example.com"]));
        let m = meta(&[
            ("a", &[(metadata::LABEL, "v1.0.0")]),
            ("b", &[(metadata::LABEL, "v1.1.0")]),
        ]);
        let plan = plan_rollback(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(plan.label.as_deref(), Some("v1.0.0"));
        assert!(!plan.steps.iter().any(
            |s| matches!(s, Step::Annotate { values, .. } if values.iter().any(|(k, _)| k == metadata::LABEL))
        ));
        let plan = plan_rollback(&c, &state, &BTreeMap::new(), &DeployId("id".into())).unwrap();
        assert_eq!(plan.label, None);
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

    /// `a` live with the main route, an internal route and a TCP route the config does
    /// not list; its records say so (as the v3 API would).
    fn live_with_unlisted_routes() -> (PairState, BTreeMap<String, AppMeta>) {
        let state = pair(
            started(&[
                "live.example.com",
                "shop.apps.internal",
                "tcp.example.com:1234",
            ]),
            stopped(&[]),
        );
        let mut m = meta(&[("a", &[]), ("b", &[])]);
        m.get_mut("a").unwrap().routes = vec![
            Route::new("live", "example.com", None),
            Route::new("shop", "apps.internal", None),
            Route::tcp("tcp.example.com", 1234),
        ];
        (state, m)
    }

    #[test]
    fn routes_the_live_app_holds_unlisted_move_with_the_listed_ones() {
        let c = config("[smoke]\nenabled = false\n");
        let (state, m) = live_with_unlisted_routes();
        let plan = super::plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(plan.live.len(), 3);
        assert_eq!(
            lines(&plan),
            [
                "cf push b --no-route",
                "cf map-route b example.com --hostname stg",
                "cf map-route b example.com --hostname live",
                "cf map-route b apps.internal --hostname shop",
                "cf map-route b tcp.example.com --port 1234",
                "cf unmap-route a example.com --hostname live",
                "cf unmap-route a apps.internal --hostname shop",
                "cf unmap-route a tcp.example.com --port 1234",
                "cf unmap-route b example.com --hostname stg",
                "cf stop a",
            ]
        );
        // The staging route, were the live app to hold it, is not a live route.
        let mut m2 = m.clone();
        m2.get_mut("a")
            .unwrap()
            .routes
            .push(Route::new("stg", "example.com", None));
        let plan = super::plan_deploy(&c, &state, &m2, &DeployId("id".into())).unwrap();
        assert_eq!(plan.live.len(), 3);
    }

    #[test]
    fn unlisted_routes_can_be_refused_before_any_change() {
        // The fixture's last table is [routes].
        let c = config("unlisted = \"refuse\"\n");
        let (state, m) = live_with_unlisted_routes();
        let e = super::plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
        assert!(
            e.to_string()
                .ends_with("shop.apps.internal (on a), tcp.example.com:1234 (on a)"),
            "{e}"
        );
        let hint = crate::hint::Hint::hint(&e).unwrap();
        assert!(
            hint.contains("[[routes.extra]]\n    domain = \"tcp.example.com\"\n    port = 1234"),
            "{hint}"
        );
        assert!(super::plan_rollback(&c, &state, &m, &DeployId("id".into())).is_err());
    }

    #[test]
    fn the_live_check_and_the_drain_sit_around_the_unmap_from_the_old_app() {
        let c = config("[switch]\ndrain = \"7s\"\n");
        let state = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &state).unwrap();
        let at = |pred: &dyn Fn(&Step) -> bool| plan.steps.iter().position(pred).unwrap();
        let verify = at(&|s| matches!(s, Step::VerifyLive { .. }));
        let first_unmap = at(&|s| matches!(s, Step::UnmapRoute { app, .. } if app == "a"));
        let drain = at(&|s| matches!(s, Step::Drain { .. }));
        assert!(at(&|s| s.maps(RouteRole::Live)) < verify && verify < first_unmap);
        // The drain, then the cleanup, the stop last.
        assert_eq!(
            plan.steps[drain],
            Step::Drain {
                app: "a".into(),
                time: std::time::Duration::from_secs(7)
            }
        );
        assert_eq!(drain, plan.steps.len() - 4);
        assert_eq!(plan.steps.last(), Some(&Step::Stop { app: "a".into() }));
        assert!(matches!(
            &plan.steps[verify],
            Step::VerifyLive { url, .. } if url == "https://live.example.com/"
        ));
        // Nothing to drain for a first deploy, or an old app that keeps running.
        let first = plan_deploy(&c, &pair(None, None)).unwrap();
        assert!(!first
            .steps
            .iter()
            .any(|s| matches!(s, Step::Drain { .. } | Step::VerifyLive { .. })));
        let keep = config("[switch]\nold = \"keep\"\n");
        let plan = plan_deploy(&keep, &state).unwrap();
        assert!(!plan.steps.iter().any(|s| matches!(s, Step::Drain { .. })));
    }
}
