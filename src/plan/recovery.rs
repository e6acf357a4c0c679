//! What to do after a failed step: finish the switch or undo it, decided from what cf
//! reports *after* the failure, not from what the tool believes it did — a cf call can
//! fail although the server applied it. Pure functions over the plan and the observed
//! state; the executor (`crate::execute`) runs their steps.

use crate::config::Config;

use super::{Kind, PairState, Plan, RouteRole, Step};

fn is_unmap_from_previous(plan: &Plan, step: &Step) -> bool {
    matches!(step, Step::UnmapRoute { app, role: RouteRole::Live, .. } if Some(app) == plan.previous.as_ref())
}

/// Whether to finish the switch instead of undoing it. Only once the new version has
/// passed its check (every step before the first live map completed) and is started; then
///
/// - with a previous app: once that app has already lost a live route, so undoing would
///   move live traffic twice more, to an app that was on its way out;
/// - on a first deploy: once the new app holds a live route at all, since it is the only
///   app that can serve it and unmapping it would take a served route down.
pub fn complete_forward(plan: &Plan, now: &PairState, failed_index: usize) -> bool {
    let before = &plan.before;
    let target = &plan.target;
    // The target's own first live map: the resolution's maps (to the app that was live)
    // come before the check and say nothing about it.
    let first_live_map = plan.steps.iter().position(
        |s| matches!(s, Step::MapRoute { app, role: RouteRole::Live, .. } if app == target),
    );
    let checked = first_live_map.is_some_and(|i| failed_index >= i);
    if !checked || !now.get(target).is_some_and(|s| s.started()) {
        return false;
    }
    match &plan.previous {
        None => plan.live.iter().any(|r| now.holds(target, r)),
        Some(old) => plan
            .live
            .iter()
            .any(|r| before.holds(old, r) && !now.holds(old, r)),
    }
}

/// The steps from the observed state `now` to a safe one, after step `failed_index`: the
/// previous app serving what it served before (restore), or the new app serving
/// everything (forward). Mapping always comes before unmapping, so no live route is ever
/// left without an app.
pub fn recovery_steps(
    config: &Config,
    plan: &Plan,
    now: &PairState,
    failed_index: usize,
    forward: bool,
) -> Vec<Step> {
    let before = &plan.before;
    let target = &plan.target;
    let mut steps = Vec::new();
    let unmap_staging = |steps: &mut Vec<Step>| {
        if now.holds(target, &config.staging) {
            steps.push(Step::unmap_route(
                target,
                &config.staging,
                RouteRole::Staging,
            ));
        }
    };
    if forward {
        for route in &plan.live {
            if !now.holds(target, route) {
                steps.push(Step::map_route(target, route, RouteRole::Live));
            }
        }
        if let Some(old) = &plan.previous {
            for route in &plan.live {
                if now.holds(old, route) {
                    steps.push(Step::unmap_route(old, route, RouteRole::Live));
                }
            }
        }
        unmap_staging(&mut steps);
        if let Some(retire) = plan.retire_step().filter(|s| now.changed_by(s)) {
            // The drain, unless it already ran.
            let drain = plan.steps[failed_index..]
                .iter()
                .find(|s| matches!(s, Step::Drain { .. }));
            steps.extend(drain.cloned());
            steps.push(retire);
        }
    } else {
        if let Some(old) = &plan.previous {
            if now.get(old).is_some_and(|s| !s.started()) {
                steps.push(Step::Start { app: old.clone() });
            }
            let mut mapped_back = false;
            for route in &plan.live {
                if before.holds(old, route) && !now.holds(old, route) {
                    steps.push(Step::map_route(old, route, RouteRole::Live));
                    mapped_back = true;
                }
            }
            if mapped_back {
                steps.extend(live_check_back(config, old));
            }
        }
        let mut unmapped = false;
        for route in &plan.live {
            if now.holds(target, route) {
                steps.push(Step::unmap_route(target, route, RouteRole::Live));
                unmapped = true;
            }
        }
        unmap_staging(&mut steps);
        // A pushed version that did not make it is stopped; a rollback's target goes
        // back to how it was.
        let was_started = before.get(target).is_some_and(|s| s.started());
        let stop = plan.kind.new_version() || !was_started;
        if stop && now.get(target).is_some_and(|s| s.started()) {
            if unmapped {
                steps.extend(drain_back(config, plan));
            }
            steps.push(Step::Stop {
                app: target.clone(),
            });
        }
    }
    steps.extend(clear_staged(plan));
    steps
}

/// After an interrupt during the drain or the verification, the user wants out now: the
/// previous app, which no longer holds a route, is left running rather than retired
/// (harmless; a rollback goes back to it without a start, the next deploy pushes to it).
/// Whether `steps` should leave the retirement out.
pub fn spare_previous(plan: &Plan, failed_index: usize, interrupted: bool) -> bool {
    interrupted
        && matches!(
            plan.steps[failed_index],
            Step::Drain { .. } | Step::Verify { .. }
        )
}

/// A check of `[verify]` failed (not an interrupt): the switch is undone whatever
/// [`complete_forward`] says — the previous app is still started, so the way back is
/// route calls only, maps before unmaps as on the way there.
pub fn switches_back(plan: &Plan, failed_index: usize, interrupted: bool) -> bool {
    !interrupted && matches!(plan.steps[failed_index], Step::Verify { .. })
}

/// The record that goes first on the way back (see [`crate::metadata::VERIFY_FAILED`]):
/// the version that failed its verification, named by the deploy that pushed it (as the
/// plan's "checked" record names it).
pub fn verify_failed_record(plan: &Plan) -> Option<Step> {
    switch_back_record(plan, crate::metadata::VERIFY_FAILED)
}

/// The record that goes first on the way back of a pair that passed its verification
/// while another of its suite did not (`--all-or-nothing`; see
/// [`crate::metadata::SWITCHED_BACK`]): like [`verify_failed_record`], so that a run
/// stopped hard on the way back finishes it, but not saying the version failed.
pub fn switched_back_record(plan: &Plan) -> Option<Step> {
    switch_back_record(plan, crate::metadata::SWITCHED_BACK)
}

fn switch_back_record(plan: &Plan, key: &str) -> Option<Step> {
    let deploy = plan.steps.iter().find_map(|s| match s {
        Step::Annotate { app, values, .. } if *app == plan.target => values
            .iter()
            .find(|(k, v)| k == crate::metadata::CHECKED && v.is_some())
            .and_then(|(_, v)| v.clone()),
        _ => None,
    })?;
    Some(Step::Annotate {
        app: plan.target.clone(),
        guid: target_guid(plan),
        values: vec![(key.into(), Some(deploy))],
    })
}

fn target_guid(plan: &Plan) -> Option<String> {
    plan.steps.iter().find_map(|s| match s {
        Step::Annotate { app, guid, .. } if *app == plan.target => guid.clone(),
        _ => None,
    })
}

/// Without an observed state, whether to finish the switch, by the rule of
/// [`complete_forward`] applied to what may have taken effect: once an unmap of a live
/// route from the previous app was attempted, or on a first deploy once a live route
/// was mapped to the new app (which passed its check, and is then the only app that may
/// serve it), finishing is the only direction that cannot leave a served route without
/// an app.
pub fn blind_forward(plan: &Plan, failed_index: usize) -> bool {
    // The failed step's batch ran side by side with it: all of it may have taken effect.
    let attempted = plan.attempted(failed_index);
    match &plan.previous {
        Some(_) => attempted.iter().any(|s| is_unmap_from_previous(plan, s)),
        None => attempted.iter().any(|s| {
            matches!(s, Step::MapRoute { app, role: RouteRole::Live, .. } if *app == plan.target)
        }),
    }
}

/// When cf cannot even report the apps' state. "Attempted" is every step up to the end
/// of the failed step's batch ([`Plan::attempted`]). Forward: every live route mapped to
/// the target (idempotent), then the failed step again and the rest of the plan's cf
/// commands — not the earlier unmaps, which can no longer succeed once the previous app
/// is deleted (records are left out, as in any recovery). Back: every command the deploy
/// attempted may have taken effect, so undo all of them. Map, unmap, stop and `delete
/// -f` are idempotent.
pub fn blind_recovery_steps(
    config: &Config,
    plan: &Plan,
    failed_index: usize,
    forward: bool,
) -> Vec<Step> {
    let before = &plan.before;
    let attempted = plan.attempted(failed_index);
    let mut steps = Vec::new();
    let target = &plan.target;
    // A staged app (promote, abort) held the staging route before the plan.
    let staging_attempted = attempted.iter().any(|s| s.maps(RouteRole::Staging))
        || before.holds(target, &config.staging);
    if forward {
        // Every live route on the target first (idempotent): whatever the failed step
        // was, no route may be left without it before the old app lets go.
        let maps = plan
            .live
            .iter()
            .map(|r| Step::map_route(target, r, RouteRole::Live));
        let rest = plan.steps[failed_index..]
            .iter()
            .filter(|s| !s.maps(RouteRole::Live))
            .filter(|s| {
                matches!(
                    s,
                    Step::MapRoute { .. }
                        | Step::UnmapRoute { .. }
                        | Step::Start { .. }
                        | Step::Stop { .. }
                        | Step::Delete { .. }
                        | Step::Drain { .. }
                )
            })
            .cloned();
        return maps.chain(rest).chain(clear_staged(plan)).collect();
    }
    if let Some(old) = &plan.previous {
        steps.push(Step::Start { app: old.clone() });
        for route in plan.live.iter().filter(|r| before.holds(old, r)) {
            steps.push(Step::map_route(old, route, RouteRole::Live));
        }
        // Only once it may have lost a route: before that, it never stopped serving.
        if attempted.iter().any(|s| is_unmap_from_previous(plan, s)) {
            steps.extend(live_check_back(config, old));
        }
    }
    let mut unmapped = false;
    for step in attempted {
        if let Step::MapRoute {
            app,
            route,
            role: RouteRole::Live,
        } = step
        {
            if app != target {
                // The resolution's, to the app that was live: it keeps them.
                continue;
            }
            steps.push(Step::unmap_route(target, route, RouteRole::Live));
            unmapped = true;
        }
    }
    if staging_attempted {
        steps.push(Step::unmap_route(
            target,
            &config.staging,
            RouteRole::Staging,
        ));
    }
    let stop = plan.kind.new_version() || !before.get(target).is_some_and(|s| s.started());
    if unmapped && stop {
        steps.extend(drain_back(config, plan));
    }
    if stop {
        steps.push(Step::Stop {
            app: target.clone(),
        });
    }
    steps.extend(clear_staged(plan));
    steps
}

/// On the way back, between the maps back to the previous app and the unmaps from the
/// target: the router must route the live URL to the previous app before the target lets
/// go, as on the way there (`switch.verify-live`). It also finds a previous app that is
/// started but has no instance left running; then the recovery stops with both apps
/// mapped, which serves, rather than hand the live route to nothing.
fn live_check_back(config: &Config, old: &str) -> Option<Step> {
    config
        .switch
        .verify_live
        .as_ref()
        .map(|url| Step::VerifyLive {
            app: old.to_string(),
            url: url.clone(),
        })
}

/// Before the target that held live routes is stopped on the way back: requests the
/// router already sent it finish, as the previous app's do on the way there.
fn drain_back(config: &Config, plan: &Plan) -> Option<Step> {
    let time = config.switch.drain;
    (!time.is_zero()).then(|| Step::Drain {
        app: plan.target.clone(),
        time,
    })
}

/// Where the verification of `[verify]` is, when it comes after step `failed_index`: a
/// recovery that finishes the switch from there has not verified the new version, so it
/// must not retire the previous app (see `crate::execute`, which verifies then).
pub fn verify_ahead(plan: &Plan, failed_index: usize) -> Option<usize> {
    plan.steps
        .iter()
        .enumerate()
        .skip(failed_index + 1)
        .find(|(_, s)| matches!(s, Step::Verify { .. }))
        .map(|(i, _)| i)
}

/// After a staging, a promotion or an abort, whichever way the recovery goes, the target
/// no longer waits for promotion: its staged record goes too (the plan's own records
/// are not written by a recovery).
fn clear_staged(plan: &Plan) -> Option<Step> {
    matches!(plan.kind, Kind::Stage | Kind::Promote | Kind::Abort).then(|| Step::Annotate {
        app: plan.target.clone(),
        guid: target_guid(plan),
        values: vec![(crate::metadata::STAGED.into(), None)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::DeployId;
    use crate::plan::fixtures::*;

    fn plan_deploy(c: &Config, state: &PairState) -> Result<Plan, crate::plan::PlanError> {
        crate::plan::plan_deploy(c, state, &Default::default(), &DeployId("id".into()))
    }

    fn commands(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(Step::command)
            .map(|c| c.to_string())
            .collect()
    }

    fn index_of(plan: &Plan, pred: impl Fn(&Step) -> bool) -> usize {
        plan.steps.iter().position(pred).unwrap()
    }

    #[test]
    fn smoke_failure_restores() {
        let c = config("");
        let before = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        let smoke = index_of(&plan, |s| matches!(s, Step::SmokeCheck { .. }));
        let now = pair(
            started(&["live.example.com"]),
            started(&["stg.example.com"]),
        );
        assert!(!complete_forward(&plan, &now, smoke));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, smoke, false)),
            ["cf unmap-route b example.com --hostname stg", "cf stop b"]
        );
    }

    #[test]
    fn failure_between_map_and_unmap_unmaps_from_the_new_app() {
        let c = config("");
        let before = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        let unmap_old = index_of(&plan, |s| is_unmap_from_previous(&plan, s));
        // The unmap from the old app failed without effect: both hold the live route.
        let now = pair(
            started(&["live.example.com"]),
            started(&["stg.example.com", "live.example.com"]),
        );
        assert!(!complete_forward(&plan, &now, unmap_old));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, unmap_old, false)),
            [
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route b example.com --hostname stg",
                "cf stop b"
            ]
        );
    }

    #[test]
    fn unmap_from_old_that_applied_completes_forward() {
        let c = config("");
        let before = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        let unmap_old = index_of(&plan, |s| is_unmap_from_previous(&plan, s));
        let now = pair(
            started(&[]),
            started(&["stg.example.com", "live.example.com"]),
        );
        assert!(complete_forward(&plan, &now, unmap_old));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, unmap_old, true)),
            ["cf unmap-route b example.com --hostname stg", "cf stop a"]
        );
    }

    #[test]
    fn restore_maps_back_before_unmapping_and_starts_a_stopped_old_app() {
        let c = config("[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n");
        let before = pair(started(&["live.example.com", "www.shop.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        // Odd state: old lost one route and was stopped, the new app is not started.
        let now = pair(
            stopped(&["www.shop.com"]),
            stopped(&["live.example.com", "www.shop.com"]),
        );
        assert!(!complete_forward(&plan, &now, 5));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, 5, false)),
            [
                "cf start a",
                "cf map-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route b shop.com --hostname www",
            ]
        );
    }

    #[test]
    fn first_deploy_failing_after_the_live_map_completes_forward() {
        let c = config("");
        let before = pair(None, None);
        let plan = plan_deploy(&c, &before).unwrap();
        let last = plan.steps.len() - 1;
        let now = pair(started(&["live.example.com", "stg.example.com"]), None);
        assert!(complete_forward(&plan, &now, last));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, last, true)),
            ["cf unmap-route a example.com --hostname stg"]
        );
    }

    #[test]
    fn first_deploy_never_unmaps_a_live_route_it_already_serves() {
        let c = config("");
        let before = pair(None, None);
        let plan = plan_deploy(&c, &before).unwrap();
        let map_live = index_of(&plan, |s| s.maps(RouteRole::Live));
        // The live map took effect although cf reported a failure.
        let now = pair(started(&["live.example.com", "stg.example.com"]), None);
        assert!(complete_forward(&plan, &now, map_live));
        // It did not take effect: nothing is served, restoring is safe.
        let now = pair(started(&["stg.example.com"]), None);
        assert!(!complete_forward(&plan, &now, map_live));
    }

    #[test]
    fn blind_restore_undoes_everything_attempted() {
        let c = config("");
        let before = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        let map_live = index_of(&plan, |s| s.maps(RouteRole::Live));
        assert_eq!(
            commands(&blind_recovery_steps(&c, &plan, map_live, false)),
            [
                "cf start a",
                "cf map-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route b example.com --hostname stg",
                "cf stop b",
            ]
        );
    }

    #[test]
    fn a_failed_verification_switches_back_and_an_interrupted_one_spares_the_old_app() {
        let c = config("[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n[verify]\nduration = \"1m\"\n");
        let before = pair(started(&["live.example.com", "www.shop.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        let verify = index_of(&plan, |s| matches!(s, Step::Verify { .. }));
        // The switch is done: the old app is started without routes.
        let now = pair(
            started(&[]),
            started(&["stg.example.com", "live.example.com", "www.shop.com"]),
        );
        // Were it not for the verification, a failure here would finish the switch.
        assert!(complete_forward(&plan, &now, verify));
        assert!(switches_back(&plan, verify, false));
        assert!(!switches_back(&plan, verify, true));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, verify, false)),
            [
                "cf map-route a example.com --hostname live",
                "cf map-route a shop.com --hostname www",
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route b shop.com --hostname www",
                "cf unmap-route b example.com --hostname stg",
                "cf stop b",
            ]
        );
        let Some(Step::Annotate { app, values, .. }) = verify_failed_record(&plan) else {
            panic!()
        };
        assert_eq!(app, "b");
        assert_eq!(
            values,
            [(
                crate::metadata::VERIFY_FAILED.to_string(),
                Some("id".to_string())
            )]
        );
        // Interrupted: forward, but the old app is not retired.
        assert!(spare_previous(&plan, verify, true));
        assert!(!spare_previous(&plan, verify, false));
    }

    #[test]
    fn blind_forward_finishes_from_the_failed_step() {
        let c = config("[switch]\nold = \"delete\"\n");
        let before = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        let delete = index_of(&plan, |s| matches!(s, Step::Delete { .. }));
        assert!(blind_forward(&plan, delete));
        // The unmaps before the delete succeeded; repeating them on a deleted app fails.
        // The live routes go (again) to the target first: mapping is idempotent.
        assert_eq!(
            commands(&blind_recovery_steps(&c, &plan, delete, true)),
            [
                "cf map-route b example.com --hostname live",
                "cf delete a -f"
            ]
        );
        let unmap_old = index_of(&plan, |s| is_unmap_from_previous(&plan, s));
        assert_eq!(
            commands(&blind_recovery_steps(&c, &plan, unmap_old, true)),
            [
                "cf map-route b example.com --hostname live",
                "cf unmap-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname stg",
                "cf delete a -f",
            ]
        );
    }
}
