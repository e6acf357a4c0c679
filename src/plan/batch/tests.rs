use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::cf::{AppStatus, RequestedState};
use crate::config::Config;
use crate::metadata::STAGED;
use crate::metadata::{AppMeta, DeployId, CHECKED, DEPLOY, LIVE_SINCE};
use crate::plan::fixtures::*;
use crate::plan::recovery::{
    blind_forward, blind_recovery_steps, complete_forward, recovery_steps,
};
use crate::plan::{
    plan_abort, plan_deploy, plan_promote, plan_rollback, plan_stage, Kind, PairState, Plan,
};

fn deploy(c: &Config, state: &PairState, m: &BTreeMap<String, AppMeta>) -> Plan {
    plan_deploy(c, state, m, &DeployId("id".into())).unwrap()
}

/// A short name for each step, batches joined with ` | ` and steps with `+`.
fn shape(plan: &Plan) -> String {
    let name = |s: &Step| match s {
        Step::Push { .. } => "push".to_string(),
        Step::Start { app } => format!("start {app}"),
        Step::EnsureNotLive { .. } => "clear".into(),
        Step::CopyPolicies { .. } => "policies".into(),
        Step::MatchInstances { .. } => "instances".into(),
        Step::MapRoute { app, route, role } => format!("map {role} {} {app}", route.host),
        Step::UnmapRoute { app, route, role } => format!("unmap {role} {} {app}", route.host),
        Step::SmokeCheck { .. } => "smoke".into(),
        Step::VerifyLive { .. } => "verify".into(),
        Step::Verify { .. } => "watch".into(),
        Step::Drain { .. } => "drain".into(),
        Step::Stop { app } => format!("stop {app}"),
        Step::Delete { app } => format!("delete {app}"),
        Step::Annotate { values, .. } => {
            format!("record {}", values[0].0.trim_start_matches("cf-bluegreen/"))
        }
    };
    plan.batches()
        .into_iter()
        .map(|b| plan.steps[b].iter().map(name).collect::<Vec<_>>().join("+"))
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn a_later_deploy_runs_in_nine_rounds() {
    let c = config("[switch]\ndrain = \"7s\"\n");
    let state = pair(started(&["live.example.com"]), stopped(&[]));
    let plan = deploy(&c, &state, &meta(&[("a", &[]), ("b", &[])]));
    assert_eq!(
        shape(&plan),
        "push+record deploy | clear+policies+instances+map staging stg b | smoke \
         | record checked | map live live b | verify | unmap live live a | drain \
         | unmap staging stg b+record live-since+stop a"
    );
}

#[test]
fn a_new_app_is_recorded_after_its_push_and_live_routes_move_together() {
    let c = config(
        "[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n[switch]\nold = \"delete\"\ndrain = \"0s\"\nverify-live = false\n",
    );
    let state = pair(started(&["live.example.com", "www.shop.com"]), None);
    let plan = deploy(&c, &state, &BTreeMap::new());
    assert_eq!(
        shape(&plan),
        "push | record deploy+clear+policies+instances+map staging stg b | smoke \
         | record checked | map live live b+map live www b | unmap live live a+unmap live www a \
         | unmap staging stg b+record live-since+delete a"
    );
    let first = deploy(&c, &pair(None, None), &BTreeMap::new());
    assert_eq!(
        shape(&first),
        "push | record deploy+clear+map staging stg a | smoke | record checked \
         | map live live a+map live www a | unmap staging stg a+record live-since"
    );
}

#[test]
fn a_rollback_starts_alone_and_keeps_the_old_app_when_asked() {
    let c = config("[switch]\nold = \"keep\"\n");
    let state = pair(stopped(&[]), started(&["live.example.com"]));
    let plan = plan_rollback(&c, &state, &BTreeMap::new(), &DeployId("id".into())).unwrap();
    assert_eq!(
        shape(&plan),
        "start a | policies+instances+map staging stg a | smoke | map live live a | verify \
         | unmap live live b | unmap staging stg a+record live-since"
    );
}

#[test]
fn staging_stops_after_its_record_promoting_checks_again_and_aborting_is_one_round() {
    let c = config("[switch]\ndrain = \"7s\"\n");
    let id = DeployId("id".into());
    let state = pair(started(&["live.example.com"]), stopped(&[]));
    let plan = plan_stage(&c, &state, &meta(&[("a", &[]), ("b", &[])]), &id).unwrap();
    assert_eq!(
        shape(&plan),
        "push+record deploy | clear+policies+instances+map staging stg b | smoke | record checked"
    );
    let staged = pair(
        started(&["live.example.com"]),
        started(&["stg.example.com"]),
    );
    let m = meta(&[("b", &[(DEPLOY, "1 x"), (CHECKED, "1 x"), (STAGED, "1 x")])]);
    let plan = plan_promote(&c, &staged, &m, &id).unwrap();
    assert_eq!(
        shape(&plan),
        "policies+instances | smoke | record checked | map live live b | verify \
         | unmap live live a | drain | unmap staging stg b+record live-since+stop a"
    );
    let plan = plan_abort(&c, &staged, &m, &id).unwrap();
    assert_eq!(shape(&plan), "unmap staging stg b+stop b+record staged");
}

#[test]
fn a_resolution_maps_together_then_unmaps_together() {
    let c = config("[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n[switch]\ndrain = \"0s\"\nverify-live = false\nmatch-instances = false\n");
    // Both live, b checked and newer, b lacks www: finish the switch to b first.
    let state = pair(
        started(&["live.example.com", "www.shop.com", "stg.example.com"]),
        started(&["live.example.com"]),
    );
    let m = meta(&[
        ("a", &[(DEPLOY, "1 x"), (CHECKED, "1 x")]),
        ("b", &[(DEPLOY, "2 y"), (CHECKED, "2 y")]),
    ]);
    let plan = deploy(&c, &state, &m);
    assert!(
        shape(&plan).starts_with(
            "map live www b | unmap live live a+unmap live www a | stop a | unmap staging stg a | push+record deploy"
        ),
        "{}",
        shape(&plan)
    );
    // Extra routes left on the other app: each map comes before its unmap.
    let state = pair(
        started(&["live.example.com", "stg.example.com"]),
        started(&["www.shop.com", "stg.example.com"]),
    );
    let plan = deploy(&c, &state, &BTreeMap::new());
    assert!(
        shape(&plan).starts_with(
            "unmap staging stg a+unmap staging stg b | map live www a | unmap live www b | push"
        ),
        "{}",
        shape(&plan)
    );
}

#[test]
fn recoveries_map_together_then_unmap_then_clean_up() {
    let c = config(
        "[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n[switch]\ndrain = \"0s\"\n",
    );
    let before = pair(started(&["live.example.com", "www.shop.com"]), stopped(&[]));
    let plan = deploy(&c, &before, &BTreeMap::new());
    let first_unmap = plan
        .steps
        .iter()
        .position(|s| matches!(s, Step::UnmapRoute { app, .. } if app == "a"))
        .unwrap();
    // The old app stopped and lost one route: restore.
    let now = pair(
        stopped(&["www.shop.com"]),
        started(&["live.example.com", "www.shop.com", "stg.example.com"]),
    );
    let steps = recovery_steps(&c, &plan, &now, first_unmap, false);
    let batches: Vec<Vec<String>> = recovery_batches(&steps)
        .into_iter()
        .map(|b| steps[b].iter().map(ToString::to_string).collect())
        .collect();
    assert_eq!(
        batches,
        [
            vec!["start a"],
            vec!["map live route live.example.com to a"],
            // The router must know the way back before b lets go.
            vec!["check that the router sends https://live.example.com/ to a"],
            vec![
                "unmap live route live.example.com from b",
                "unmap live route www.shop.com from b"
            ],
            vec!["unmap staging route stg.example.com from b", "stop b"],
        ]
    );
    // With a drain, b serves what the router sent it before it is stopped.
    let c = config("[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n[switch]\ndrain = \"5s\"\nverify-live = false\n");
    let plan = deploy(&c, &before, &BTreeMap::new());
    let steps = recovery_steps(&c, &plan, &now, first_unmap, false);
    let batches: Vec<Vec<String>> = recovery_batches(&steps)
        .into_iter()
        .map(|b| steps[b].iter().map(ToString::to_string).collect())
        .collect();
    assert_eq!(batches.len(), 6, "{batches:?}");
    assert_eq!(batches[1], ["map live route live.example.com to a"]);
    assert_eq!(batches[3], ["unmap staging route stg.example.com from b"]);
    assert!(batches[4][0].contains("b"), "{batches:?}");
    assert!(
        matches!(steps[steps.len() - 2], Step::Drain { ref app, time } if app == "b" && time.as_secs() == 5)
    );
    assert_eq!(batches[5], ["stop b"]);
}

/// The configurations the property runs over: extra routes or not, every
/// `switch.old`, drain or not, live check or not, smoke check or not.
fn configs() -> Vec<Config> {
    let mut all = Vec::new();
    for extra in [
        "",
        "[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n",
    ] {
        for smoke in ["true", "false"] {
            for old in ["stop", "keep", "delete"] {
                for drain in ["0s", "7s"] {
                    for verify in ["true", "false"] {
                        for instances in ["true", "false"] {
                            let text = format!(
                                "[apps]\nblue = \"a\"\ngreen = \"b\"\n[routes]\ndomain = \"example.com\"\nlive = \"live\"\nstaging = \"stg\"\n{extra}\
                                 [smoke]\nenabled = {smoke}\n[switch]\nold = \"{old}\"\ndrain = \"{drain}\"\nverify-live = {verify}\nmatch-instances = {instances}\n"
                            );
                            if let Ok(c) = Config::parse(&text, Path::new("deploy.toml")) {
                                all.push(c);
                            }
                        }
                    }
                }
            }
        }
    }
    all
}

type Meta = BTreeMap<String, AppMeta>;

/// Starting states, with the records on the apps.
fn states() -> Vec<(&'static str, PairState, Meta)> {
    let none = BTreeMap::new;
    let both = || {
        meta(&[
            ("a", &[(DEPLOY, "1 x"), (CHECKED, "1 x")]),
            ("b", &[(DEPLOY, "2 y"), (CHECKED, "2 y")]),
        ])
    };
    let l = "live.example.com";
    let w = "www.shop.com";
    let s = "stg.example.com";
    vec![
        ("first", pair(None, None), none()),
        ("later", pair(started(&[l, w]), stopped(&[])), none()),
        (
            "later, one route",
            pair(started(&[l]), stopped(&[])),
            none(),
        ),
        ("green gone", pair(started(&[l]), None), none()),
        ("green live", pair(stopped(&[]), started(&[l, w])), none()),
        (
            "both live, b checked",
            pair(started(&[l, w, s]), started(&[l])),
            both(),
        ),
        (
            "both live, a stopped",
            pair(stopped(&[l, w]), started(&[l, w])),
            none(),
        ),
        (
            "leftovers",
            pair(started(&[l, s]), started(&[w, s])),
            none(),
        ),
        (
            "live app stopped",
            pair(stopped(&[l, w]), stopped(&[])),
            none(),
        ),
        (
            "nothing live, records",
            pair(stopped(&[]), stopped(&[])),
            meta(&[("a", &[(LIVE_SINCE, "2")])]),
        ),
        (
            "staged",
            pair(started(&[l, w]), started(&[s])),
            meta(&[("b", &[(DEPLOY, "2 y"), (CHECKED, "2 y"), (STAGED, "2 y")])]),
        ),
        (
            "staged, green live",
            pair(started(&[s]), started(&[l])),
            meta(&[("a", &[(DEPLOY, "2 y"), (CHECKED, "2 y"), (STAGED, "2 y")])]),
        ),
        (
            "staged before the first deploy",
            pair(started(&[s]), None),
            meta(&[("a", &[(DEPLOY, "2 y"), (CHECKED, "2 y"), (STAGED, "2 y")])]),
        ),
    ]
}

/// The model of the executor: a push or start leaves the app started (and creates it).
fn apply(state: &mut PairState, step: &Step) {
    match step {
        Step::Push { app, .. } | Step::Start { app } => {
            for (name, s) in [&mut state.blue, &mut state.green] {
                if name == app {
                    let s = s.get_or_insert_with(|| AppStatus {
                        requested_state: RequestedState::Stopped,
                        routes: vec![],
                        instances: vec![],
                    });
                    s.requested_state = RequestedState::Started;
                }
            }
        }
        _ => state.apply(step),
    }
}

fn served(state: &PairState, plan: &Plan) -> Vec<bool> {
    plan.live
        .iter()
        .map(|r| state.holders(r).iter().any(|a| state.started(a)))
        .collect()
}

/// The batches of `steps` keep every served live route served whatever finishes first
/// inside a batch: every subset of a batch, applied to the state before it.
fn assert_zero_downtime(
    case: &str,
    plan: &Plan,
    start: &PairState,
    steps: &[Step],
    batches: &[Range<usize>],
) {
    let mut state = start.clone();
    for b in batches {
        let before = served(&state, plan);
        let batch = &steps[b.clone()];
        assert!(batch.len() < 12, "{case}: {b:?}");
        for subset in 0u32..(1 << batch.len()) {
            let mut s = state.clone();
            for (i, step) in batch.iter().enumerate() {
                if subset & (1 << i) != 0 {
                    apply(&mut s, step);
                }
            }
            let after = served(&s, plan);
            for (i, (was, is)) in before.iter().zip(&after).enumerate() {
                assert!(
                    !was || *is,
                    "{case}: {} loses its last started app in batch {b:?} (subset {subset:b}):\n{steps:#?}",
                    plan.live[i]
                );
            }
        }
        for step in batch {
            apply(&mut state, step);
        }
    }
}

/// The batch index of each step.
fn batch_index(batches: &[Range<usize>], len: usize) -> Vec<usize> {
    let mut at = vec![usize::MAX; len];
    for (n, b) in batches.iter().enumerate() {
        for i in b.clone() {
            at[i] = n;
        }
    }
    at
}

fn is_live_map(s: &Step) -> bool {
    s.maps(RouteRole::Live)
}

fn is_unmap(s: &Step) -> bool {
    matches!(s, Step::UnmapRoute { .. })
}

/// The order that makes zero downtime, over every plan of [`configs`] × [`states`] ×
/// deploy and rollback, and over the recoveries from a failure at every step of each.
#[test]
fn every_plan_keeps_the_zero_downtime_order_between_batches() {
    let mut plans = 0;
    let mut recoveries = 0;
    let mut staged_plans = 0;
    for c in configs() {
        for (name, state, m) in states() {
            for kind in [
                Kind::Deploy,
                Kind::Rollback,
                Kind::Stage,
                Kind::Promote,
                Kind::Abort,
            ] {
                let id = DeployId("id".into());
                let plan = match kind {
                    Kind::Deploy => plan_deploy(&c, &state, &m, &id),
                    Kind::Rollback => plan_rollback(&c, &state, &m, &id),
                    Kind::Stage => plan_stage(&c, &state, &m, &id),
                    Kind::Promote => plan_promote(&c, &state, &m, &id),
                    Kind::Abort => plan_abort(&c, &state, &m, &id),
                };
                let Ok(plan) = plan else { continue };
                plans += 1;
                staged_plans += usize::from(matches!(kind, Kind::Promote | Kind::Abort));
                let case = format!("{} from {name}, {:?}", kind.name(), c.switch);
                let batches = plan.batches();
                // The batches cover the steps, in order.
                let flat: Vec<usize> = batches.iter().flat_map(|b| b.clone()).collect();
                assert_eq!(flat, (0..plan.steps.len()).collect::<Vec<_>>(), "{case}");
                assert_zero_downtime(&case, &plan, &state, &plan.steps, &batches);

                if kind.switches() {
                    let at = batch_index(&batches, plan.steps.len());
                    let switch_at = plan
                        .steps
                        .iter()
                        .position(|s| {
                            matches!(s, Step::Push { .. } | Step::Start { .. })
                                || (kind == Kind::Promote
                                    && matches!(
                                        s,
                                        Step::CopyPolicies { .. }
                                            | Step::MatchInstances { .. }
                                            | Step::SmokeCheck { .. }
                                            | Step::Annotate { .. }
                                    ))
                        })
                        .or_else(|| {
                            // A rollback to a started app: no start.
                            plan.steps.iter().position(|s| {
                                matches!(s, Step::CopyPolicies { to, .. } if *to == plan.target)
                            })
                        })
                        .unwrap();
                    let of = |pred: &dyn Fn(&Step) -> bool| -> Vec<usize> {
                        (switch_at..plan.steps.len())
                            .filter(|&i| pred(&plan.steps[i]))
                            .map(|i| at[i])
                            .collect()
                    };
                    let target = plan.target.clone();
                    let old = plan.previous.clone().unwrap_or_default();
                    let maps = of(
                        &|s| matches!(s, Step::MapRoute { app, role: RouteRole::Live, .. } if *app == target),
                    );
                    let unmaps = of(
                        &|s| matches!(s, Step::UnmapRoute { app, role: RouteRole::Live, .. } if *app == old),
                    );
                    let retire = of(
                        &|s| matches!(s, Step::Stop { app } | Step::Delete { app } if *app == old),
                    );
                    let drain = of(&|s| matches!(s, Step::Drain { .. }));
                    let checked = of(&|s| records(s, CHECKED));
                    let deploy_record = of(&|s| records(s, DEPLOY));
                    let smoke = of(&|s| matches!(s, Step::SmokeCheck { .. }));
                    let verify = of(&|s| matches!(s, Step::VerifyLive { .. }));
                    let max = |v: &[usize]| v.iter().copied().max();
                    let min = |v: &[usize]| v.iter().copied().min();
                    assert_eq!(maps.len(), plan.live.len(), "{case}");
                    // Every live route on the new app strictly before any leaves the old one.
                    assert!(max(&maps) < min(&unmaps).or(Some(usize::MAX)), "{case}");
                    // The old app retired strictly after all its live routes and the drain.
                    if let Some(r) = min(&retire) {
                        assert!(max(&unmaps).is_none_or(|u| u < r), "{case}");
                        assert!(max(&drain).is_none_or(|d| d < r), "{case}");
                        assert_eq!(
                            drain.len(),
                            usize::from(!c.switch.drain.is_zero()),
                            "{case}"
                        );
                    }
                    // The check, then the record of it, both before the first live map.
                    if kind == Kind::Deploy {
                        assert_eq!(checked.len(), 1, "{case}");
                        assert!(checked[0] < min(&maps).unwrap(), "{case}");
                        assert!(deploy_record[0] < checked[0], "{case}");
                        assert!(max(&smoke).is_none_or(|s| s < checked[0]), "{case}");
                    }
                    // A promotion checks again and records it before the first live map.
                    if kind == Kind::Promote {
                        assert_eq!(checked.len(), 1, "{case}");
                        assert!(checked[0] < min(&maps).unwrap(), "{case}");
                        assert!(max(&smoke).is_none_or(|s| s < checked[0]), "{case}");
                        assert_eq!(smoke.len(), usize::from(c.smoke.enabled), "{case}");
                    }
                    // The live check after every live map, before any unmap.
                    for v in &verify {
                        assert!(max(&maps).unwrap() < *v, "{case}");
                        assert!(min(&unmaps).is_none_or(|u| *v < u), "{case}");
                    }
                    // The checks, the checked record and the drain run alone.
                    for i in smoke.iter().chain(&verify).chain(&drain).chain(&checked) {
                        assert_eq!(batches[*i].len(), 1, "{case}");
                    }
                }
                // A map never shares a batch with an unmap, resolution included.
                for b in &batches {
                    let steps = &plan.steps[b.clone()];
                    assert!(
                        !(steps.iter().any(is_live_map) && steps.iter().any(is_unmap)),
                        "{case}: {steps:?}"
                    );
                }

                // Every recovery, from every step, in the direction it would take, with cf's state (the state after the
                // plan's steps up to the failed one) and blind.
                for failed in 0..plan.steps.len() {
                    let mut now = state.clone();
                    for step in plan.attempted(failed) {
                        apply(&mut now, step);
                    }
                    {
                        let forward = complete_forward(&plan, &now, failed);
                        let blind = blind_forward(&plan, failed);
                        for steps in [
                            recovery_steps(&c, &plan, &now, failed, forward),
                            blind_recovery_steps(&c, &plan, failed, blind),
                        ] {
                            recoveries += 1;
                            let batches = recovery_batches(&steps);
                            let at = batch_index(&batches, steps.len());
                            for b in &batches {
                                let s = &steps[b.clone()];
                                assert!(
                                    !(s.iter().any(is_live_map) && s.iter().any(is_unmap)),
                                    "{case}: {s:?}"
                                );
                                if s.iter()
                                    .any(|s| matches!(s, Step::Start { .. } | Step::Drain { .. }))
                                {
                                    assert_eq!(s.len(), 1, "{case}");
                                }
                            }
                            // Stops and deletes after every live unmap and map.
                            let last_route = (0..steps.len())
                                .filter(|&i| {
                                    matches!(
                                        &steps[i],
                                        Step::MapRoute {
                                            role: RouteRole::Live,
                                            ..
                                        } | Step::UnmapRoute {
                                            role: RouteRole::Live,
                                            ..
                                        }
                                    )
                                })
                                .map(|i| at[i])
                                .max();
                            for i in 0..steps.len() {
                                if matches!(steps[i], Step::Stop { .. } | Step::Delete { .. }) {
                                    assert!(
                                        last_route.is_none_or(|l| l < at[i]),
                                        "{case}: {steps:?}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(plans >= 1000, "{plans} plans");
    // Each of the three staged states, promoted and aborted, under every configuration.
    assert!(staged_plans >= 6 * configs().len(), "{staged_plans} plans");
    assert!(recoveries >= 10_000, "{recoveries} recoveries");
}
