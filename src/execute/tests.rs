//! The executor and recovery against the in-memory cf: whole deploys and rollbacks,
//! faults at every step, in milliseconds. The bash fake serves the end-to-end tests.

use crate::cf::memory::MemoryCf;
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::metadata;
use crate::ops::{self, SwitchOptions};
use crate::plan::fixtures::config;
use crate::plan::Kind;
use crate::report::Recorder;

const LIVE: &str = "live.example.com";
const STAGING: &str = "stg.example.com";
/// No HTTP check (the smoke module tests its own), no wait for the lock or the drain.
/// Ends in `[switch]`, so that a test can add keys of that table.
const QUICK: &str = "[smoke]\nenabled = false\ninterval = \"1ms\"\n[switch]\ndrain = \"0s\"\n";

/// `a` is live, `b` stopped: the usual state before a deploy.
fn blue_live() -> MemoryCf {
    MemoryCf::new().app("a", true, &[LIVE]).app("b", false, &[])
}

/// `b` is live with the newer checked version, `a` holds the previous one, stopped: the
/// state a rollback starts from.
fn green_live_after_a_deploy() -> MemoryCf {
    let (old, new) = ("2026-11-01T10:00:00Z ci", "2026-11-02T10:00:00Z ci");
    MemoryCf::new()
        .app("a", false, &[])
        .app("b", true, &[LIVE])
        .annotate("a", metadata::DEPLOY, old)
        .annotate("a", metadata::CHECKED, old)
        .annotate("b", metadata::DEPLOY, new)
        .annotate("b", metadata::CHECKED, new)
}

fn run(cf: &MemoryCf, config: &Config, kind: Kind) -> (Result<(), Error>, Recorder) {
    let events = Recorder::default();
    let result = {
        let mut ctx = Context::new(config, cf, &events, "tester@host pid 1");
        ctx.retry_pause = std::time::Duration::from_millis(1);
        ops::run_kind(&ctx, kind, SwitchOptions::default())
    };
    (result, events)
}

#[test]
fn a_later_deploy_runs_the_guide_order_and_says_so() {
    let cf = blue_live();
    let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
    result.unwrap();
    let mut mutations = cf.mutations();
    // The final cleanup runs side by side: in any order.
    mutations[4..].sort();
    assert_eq!(
        mutations,
        [
            "cf push b --no-route",
            "cf map-route b example.com --hostname stg",
            "cf map-route b example.com --hostname live",
            "cf unmap-route a example.com --hostname live",
            "cf stop a",
            "cf unmap-route b example.com --hostname stg",
        ]
    );
    let lines = events.lines();
    assert_eq!(lines[0], "ok read the current state, take the deploy lock");
    assert_eq!(lines[2], "plan: deploy to b from Some(\"a\")");
    // One line per step, in the plan's order, side by side or not.
    assert_eq!(
        lines[3..],
        [
            "ok push the new version to b (no route)",
            "ok record deploy on b, clearing checked, live-since, label",
            "ok make sure b holds no live route after the push",
            "ok give b the network policies of a",
            "ok run as many instances of b as a does",
            "ok map staging route stg.example.com to b",
            "ok record checked on b",
            "ok map live route live.example.com to b",
            "ok unmap live route live.example.com from a",
            "ok unmap staging route stg.example.com from b",
            "ok record live-since on b",
            "ok stop a",
            "summary: b live; a stopped",
        ]
    );
    assert_eq!(events.summary().unwrap(), "summary: b live; a stopped");
    assert!(cf.annotation("b", metadata::CHECKED).is_some());
    assert!(cf.services().is_empty(), "the lock is released");
    cf.assert_always_served(LIVE);
}

#[test]
fn a_failed_push_restores_and_shows_the_logs() {
    let cf = blue_live().logs("b", "ERR boom at startup").fail("push:1");
    let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
    let Err(Error::DeployFailed {
        live, logs, hint, ..
    }) = result
    else {
        panic!("{result:?}")
    };
    assert_eq!(live, "a still serves the live route, and b is stopped.");
    assert!(logs.unwrap().contains("ERR boom at startup"));
    assert_eq!(
        hint.as_deref(),
        Some("fix what cf reported above, then run `cf-bluegreen deploy` again")
    );
    assert!(events.lines().contains(&"recovery: restore".to_string()));
    assert_eq!(cf.routes("a"), [LIVE]);
    assert_eq!(cf.started("a"), Some(true));
}

#[test]
fn an_unmap_from_the_old_app_that_took_effect_completes_the_switch() {
    let cf = blue_live().fail("unmap-route:1:after");
    let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
    result.unwrap();
    let lines = events.lines();
    assert!(
        lines.contains(&"recovery: forward".to_string()),
        "{lines:?}"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("switch completed after: unmap live route")));
    assert_eq!(events.summary().unwrap(), "summary: b live; a stopped");
    assert_eq!(cf.started("a"), Some(false));
    cf.assert_always_served(LIVE);
}

#[test]
fn without_cf_state_recovery_undoes_what_was_attempted() {
    // The live map fails; then cf cannot report the apps any more. One `app` call
    // comes before, the look after the push (the state read is JSON through `cf
    // curl`); the second is the recovery's.
    let cf = blue_live().fail("map-route:2").fail_reads_from(2);
    let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
    assert!(
        matches!(result, Err(Error::DeployFailed { .. })),
        "{result:?}"
    );
    assert!(events
        .lines()
        .contains(&"recovery: restore, blind".to_string()));
    assert_eq!(cf.routes("a"), [LIVE]);
    assert_eq!(cf.started("b"), Some(false));
    cf.assert_always_served(LIVE);
}

#[test]
fn a_failed_recovery_is_unsafe_and_names_the_commands() {
    // The live map fails; then the recovery's staging unmap fails every time.
    let cf = blue_live().fail("map-route:2").fail_from("unmap-route", 1);
    let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
    let Err(e @ Error::Unsafe { .. }) = result else {
        panic!("{result:?}")
    };
    assert_eq!(e.exit_code(), crate::error::EXIT_UNSAFE);
    let text = e.to_string();
    assert!(
        text.contains("The recovery failed too: unmap staging route stg.example.com from b: "),
        "{text}"
    );
    assert!(text.contains("(tried 3 times)"), "{text}");
    assert!(text.ends_with("    cf unmap-route b example.com --hostname stg\n    cf stop b"));
    // Tried three times, the batch after it (the stop) never.
    let unmaps = cf
        .mutations()
        .iter()
        .filter(|c| c.starts_with("cf unmap-route b example.com --hostname stg"))
        .count();
    assert_eq!(unmaps, 3);
    let retries: Vec<String> = events
        .lines()
        .into_iter()
        .filter(|l| l.contains("trying it again"))
        .collect();
    assert_eq!(retries.len(), 2, "{retries:?}");
    // The lock is kept for a human.
    assert_eq!(cf.services(), ["cf-bluegreen-lock-a-b"]);
    cf.assert_always_served(LIVE);
}

#[test]
fn a_recovery_step_that_fails_once_is_tried_again_and_the_recovery_completes() {
    // The live map fails; the recovery's first staging unmap fails too, its second works.
    let cf = blue_live().fail("map-route:2,unmap-route:1");
    let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
    let Err(e @ Error::DeployFailed { .. }) = result else {
        panic!("{result:?}")
    };
    assert_eq!(e.exit_code(), crate::error::EXIT_FAILED);
    assert!(
        events.lines().iter().any(|l| l
            .starts_with("warning: unmap staging route stg.example.com from b failed: ")
            && l.contains("; trying it again in 1ms (attempt 2 of 3)")),
        "{:?}",
        events.lines()
    );
    assert_eq!(cf.routes("a"), [LIVE]);
    assert!(cf.routes("b").is_empty(), "{:?}", cf.routes("b"));
    assert_eq!(cf.started("b"), Some(false));
    // The lock was released: nothing is left for a human.
    assert!(cf.services().is_empty(), "{:?}", cf.services());
    cf.assert_always_served(LIVE);
}

#[test]
fn a_failed_record_is_a_warning_not_a_failure() {
    // Every `curl` from the first record on fails (the reads of the state and the lock
    // come before it); the capacity check, which reads through curl too, is off.
    let config = config(&format!("{QUICK}match-instances = false\n"));
    let clean = blue_live();
    run(&clean, &config, Kind::Deploy).0.unwrap();
    let first_record = clean
        .calls()
        .iter()
        .filter(|c| c.argv[0] == "curl")
        .position(|c| c.argv.iter().any(|a| a.contains(metadata::DEPLOY)))
        .unwrap() as u32;
    let cf = blue_live().fail_from("curl", first_record + 1);
    let (result, events) = run(&cf, &config, Kind::Deploy);
    result.unwrap();
    assert!(events
        .lines()
        .iter()
        .any(|l| l.starts_with("warning: could not record cf-bluegreen/")));
    assert_eq!(cf.routes("b"), [LIVE]);
}

#[test]
fn a_rollback_keeps_the_target_as_it_was_when_it_fails() {
    let cf = green_live_after_a_deploy().fail("map-route:2");
    let (result, _) = run(
        &cf,
        &config(&format!("{QUICK}old = \"keep\"\n")),
        Kind::Rollback,
    );
    let Err(Error::DeployFailed { live, .. }) = result else {
        panic!("{result:?}")
    };
    assert_eq!(live, "b still serves the live route, and a is as it was.");
    assert_eq!(cf.started("a"), Some(false));
    cf.assert_always_served(LIVE);
}

/// The fault points of a clean run (from the first live map on, or all): `COMMAND:N` for
/// each mutating call, N counting that command's calls in the run, as the fakes count
/// them. With the number of `app` reads made up to each, to blind the recovery after it.
fn fault_points(cf: &MemoryCf, from_live_switch: bool) -> Vec<(String, u32)> {
    let calls = cf.calls();
    let skip = if from_live_switch {
        calls
            .iter()
            .position(|c| c.argv[0] == "map-route" && c.argv.contains(&"live".to_string()))
            .expect("a live map")
    } else {
        0
    };
    let mut points = Vec::new();
    for (i, call) in calls.iter().enumerate().skip(skip) {
        // The policy server's POST changes what the new app may be reached by.
        let posts = call.argv[0] == "curl" && call.argv.iter().any(|a| a == "POST");
        if call.changes_apps() || posts {
            let n = calls[..=i]
                .iter()
                .filter(|c| c.argv[0] == call.argv[0])
                .count();
            let reads = calls[..=i].iter().filter(|c| c.argv[0] == "app").count() as u32;
            points.push((format!("{}:{n}", call.argv[0]), reads));
        }
    }
    points
}

/// Every command × every `switch.old` × every failure from the live switch on (failing
/// with and without effect, hanging, and each of those with cf unable to report the
/// state afterwards, so that the recovery is blind): a rollback never deletes, the
/// previous app ends as `Retire` says, and the summary says what happened.
#[test]
fn the_previous_app_is_retired_by_one_rule_whatever_fails() {
    let mut cases = 0;
    for kind in [Kind::Deploy, Kind::Rollback, Kind::Promote] {
        let scenario = match kind {
            Kind::Rollback => green_live_after_a_deploy,
            Kind::Promote => staged_on_b,
            _ => blue_live,
        };
        let (target, old) = match kind {
            Kind::Rollback => ("a", "b"),
            _ => ("b", "a"),
        };
        for policy in ["stop", "keep", "delete"] {
            let config = config(&format!("{QUICK}old = \"{policy}\"\n"));
            let clean = scenario();
            run(&clean, &config, kind).0.unwrap();
            let points = fault_points(&clean, true);
            assert!(points.len() >= 3, "{points:?}");
            for (point, reads) in &points {
                for mode in ["", ":after", ":hang"] {
                    for blind in [false, true] {
                        cases += 1;
                        let case =
                            format!("{} old={policy} {point}{mode} blind={blind}", kind.name());
                        let mut cf = scenario().fail(&format!("{point}{mode}"));
                        if blind {
                            cf = cf.fail_reads_from(reads + 1);
                        }
                        let (result, events) = run(&cf, &config, kind);
                        cf.assert_always_served(LIVE);
                        let deletes: Vec<String> = cf
                            .mutations()
                            .into_iter()
                            .filter(|m| m.starts_with("cf delete"))
                            .collect();
                        if kind == Kind::Rollback || policy != "delete" {
                            assert_eq!(deletes, Vec::<String>::new(), "{case}");
                        }
                        match result {
                            Ok(()) => {
                                let (words, state) = match (policy, kind) {
                                    ("keep", _) => ("kept running, without routes", Some(true)),
                                    ("delete", Kind::Deploy | Kind::Promote) => ("deleted", None),
                                    _ => ("stopped", Some(false)),
                                };
                                assert_eq!(
                                    events.summary().as_deref(),
                                    Some(format!("summary: {target} live; {old} {words}").as_str()),
                                    "{case}: {:?}",
                                    events.lines()
                                );
                                assert_eq!(cf.started(old), state, "{case}: {old}");
                                assert_eq!(cf.routes(target), [LIVE], "{case}");
                                assert_eq!(cf.started(target), Some(true), "{case}");
                            }
                            Err(Error::DeployFailed { .. }) => {
                                assert_eq!(cf.routes(old), [LIVE], "{case}");
                                assert_eq!(cf.started(old), Some(true), "{case}");
                                assert_eq!(events.summary(), None, "{case}");
                            }
                            Err(e) => panic!("{case}: {e}\n{:?}", events.lines()),
                        }
                        assert!(
                            !cf.routes(target).iter().any(|r| r == STAGING),
                            "{case}: staging left on {target}"
                        );
                    }
                }
            }
        }
    }
    assert!(cases >= 100, "{cases} cases");
}

/// A named starting state and the command to run from it.
type Scenario = (
    &'static str,
    Kind,
    fn() -> MemoryCf,
    &'static [&'static str],
);

/// Routes of the rich scenario: an internal and a TCP route beside the configured one.
const RICH_ROUTES: [&str; 3] = [LIVE, "shop.apps.internal", "tcp.example.com:1234"];

/// `a` live with routes the config does not list, three instances, a caller by policy:
/// every step of issue 7 has something to do.
fn rich_blue_live() -> MemoryCf {
    MemoryCf::new()
        .app("a", true, &RICH_ROUTES)
        .app("b", false, &[])
        .app("frontend", true, &[])
        .policy("frontend", "a", "tcp", 8080)
        .instances("a", 3)
}

/// The fault matrix of tests/matrix.rs in milliseconds, with blind recoveries added:
/// every mutating call of a first deploy, a later deploy, a rollback and a deploy with
/// unlisted internal and TCP routes, policies and instances to match fails (with and
/// without effect, or hangs), with or without cf able to report the state afterwards.
/// The live route never loses its last started app, a failure leaves the previous app
/// live, and a plain deploy afterwards converges.
#[test]
fn every_fault_keeps_the_live_route_and_the_next_deploy_converges() {
    let scenarios: [Scenario; 8] = [
        ("staging", Kind::Stage, blue_live, &[LIVE]),
        ("first staging", Kind::Stage, MemoryCf::new, &[LIVE]),
        ("promote", Kind::Promote, staged_on_b, &[LIVE]),
        ("abort", Kind::Abort, staged_on_b, &[LIVE]),
        ("first deploy", Kind::Deploy, MemoryCf::new, &[LIVE]),
        ("later deploy", Kind::Deploy, blue_live, &[LIVE]),
        (
            "rollback",
            Kind::Rollback,
            green_live_after_a_deploy,
            &[LIVE],
        ),
        ("rich deploy", Kind::Deploy, rich_blue_live, &RICH_ROUTES),
    ];
    let config = config(QUICK);
    let mut cases = 0;
    for (name, kind, scenario, routes) in scenarios {
        let sorted = |mut r: Vec<String>| {
            r.sort();
            r
        };
        let all_routes = sorted(routes.iter().map(|r| r.to_string()).collect());
        let served = |cf: &MemoryCf| {
            for route in routes {
                cf.assert_always_served(route);
            }
        };
        let clean = scenario();
        run(&clean, &config, kind).0.unwrap();
        for (point, reads) in fault_points(&clean, false) {
            for mode in ["", ":after", ":hang"] {
                for blind in [false, true] {
                    cases += 1;
                    let case = format!("{name} {point}{mode} blind={blind}");
                    let mut cf = scenario().fail(&format!("{point}{mode}"));
                    if blind {
                        cf = cf.fail_reads_from(reads + 1);
                    }
                    let live_before = ["a", "b"]
                        .into_iter()
                        .find(|a| cf.routes(a).iter().any(|r| r == LIVE));
                    let (result, events) = run(&cf, &config, kind);
                    served(&cf);
                    let code = result.as_ref().err().map_or(0, Error::exit_code);
                    assert!([0, 1, 3].contains(&code), "{case}: exit {code}");
                    if let (1, Some(live)) = (code, live_before) {
                        assert_eq!(
                            sorted(cf.routes(live)),
                            all_routes,
                            "{case}: {:?}",
                            events.lines()
                        );
                        assert_eq!(cf.started(live), Some(true), "{case}");
                    }
                    if kind != Kind::Deploy && kind != Kind::Rollback {
                        assert_staged_outcome(&case, &cf, kind, code);
                    }
                    // The next run: no faults, and after exit 3 the kept lock is broken.
                    cf.next_run("");
                    let events = Recorder::default();
                    let options = SwitchOptions {
                        force_unlock: code == 3,
                        ..SwitchOptions::default()
                    };
                    let next = {
                        let ctx = Context::new(&config, &cf, &events, "tester@host pid 2");
                        ops::deploy::deploy(&ctx, options)
                    };
                    assert!(next.is_ok(), "{case}: the next deploy: {next:?}");
                    served(&cf);
                    let holders: Vec<&str> = ["a", "b"]
                        .into_iter()
                        .filter(|a| cf.routes(a).iter().any(|r| r == LIVE))
                        .collect();
                    let [live] = holders[..] else {
                        panic!("{case}: live on {holders:?}")
                    };
                    let other = if live == "a" { "b" } else { "a" };
                    assert_eq!(sorted(cf.routes(live)), all_routes, "{case}");
                    assert_eq!(cf.started(live), Some(true), "{case}");
                    assert!(
                        cf.routes(other).is_empty(),
                        "{case}: {other} {:?}",
                        cf.routes(other)
                    );
                    assert_ne!(cf.started(other), Some(true), "{case}: {other} runs");
                    assert!(cf.services().is_empty(), "{case}: lock");
                }
            }
        }
    }
    assert!(cases >= 150, "{cases} cases");
}

/// After a staging, a promotion or an abort ended with `code`: the staged version waits
/// for promotion after a staging that succeeded; a promotion or an abort that succeeded
/// clears it; one that failed either changed nothing (it failed before the lock, say) or
/// was undone — never a version half staged.
fn assert_staged_outcome(case: &str, cf: &MemoryCf, kind: Kind, code: i32) {
    // The app the version was (or would have been) staged on.
    // A first staging goes to a (b never exists); every other scenario stages on b.
    let staged_app = if cf.started("b").is_none() { "a" } else { "b" };
    let staged = cf.annotation(staged_app, metadata::STAGED);
    let routes = cf.routes(staged_app);
    match (kind, code) {
        (Kind::Stage, 0) => {
            assert!(staged.is_some(), "{case}: not recorded");
            assert_eq!(routes, [STAGING], "{case}");
            assert_eq!(cf.started(staged_app), Some(true), "{case}");
        }
        (Kind::Promote, 0) => {
            assert_eq!(staged, None, "{case}");
            assert_eq!(routes, [LIVE], "{case}");
        }
        (Kind::Abort, 0) => {
            assert_eq!(staged, None, "{case}");
            assert!(routes.is_empty(), "{case}: {routes:?}");
            assert_ne!(cf.started(staged_app), Some(true), "{case}");
        }
        (_, 1) => {
            let untouched =
                staged.is_some() && routes == [STAGING] && cf.started(staged_app) == Some(true);
            let undone =
                staged.is_none() && routes.is_empty() && cf.started(staged_app) != Some(true);
            assert!(
                untouched || undone,
                "{case}: {staged:?} {routes:?} {:?}",
                cf.started(staged_app)
            );
        }
        _ => {}
    }
}

#[test]
fn unlisted_routes_move_too_and_each_stays_served() {
    let routes = [LIVE, "shop.apps.internal", "tcp.example.com:1234"];
    let cf = MemoryCf::new().app("a", true, &routes).app("b", false, &[]);
    let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
    result.unwrap();
    let mut moved = cf.routes("b");
    moved.sort();
    assert_eq!(
        moved,
        [
            "live.example.com",
            "shop.apps.internal",
            "tcp.example.com:1234"
        ]
    );
    assert!(cf.routes("a").is_empty());
    for route in routes {
        cf.assert_always_served(route);
    }
    assert_eq!(events.summary().unwrap(), "summary: b live; a stopped");
}

#[test]
fn policies_and_capacity_follow_the_live_app() {
    let cf = blue_live()
        .app("frontend", true, &[])
        .policy("frontend", "a", "tcp", 8080)
        .instances("a", 3);
    let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
    result.unwrap();
    let guid = |app| cf.guid(app).unwrap();
    assert!(cf
        .policies()
        .iter()
        .any(|p| p.source == guid("frontend") && p.destination == guid("b")));
    assert!(cf
        .policies()
        .iter()
        .any(|p| p.source == guid("frontend") && p.destination == guid("a")));
    let scale = cf.scale("b").unwrap();
    assert_eq!((scale.desired, scale.running), (3, 3));
    let lines = events.lines();
    assert!(
        lines.contains(&"scaled b from 1 to 3".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("policies for b: ")),
        "{lines:?}"
    );
    // The scale happened before the new version took any live route, and the last word
    // on its instances before that said all three ran.
    let calls = cf.calls();
    let scale_at = calls.iter().position(|c| c.argv[0] == "scale").unwrap();
    let live_map = calls
        .iter()
        .position(|c| c.line() == "cf map-route b example.com --hostname live")
        .unwrap();
    assert!(scale_at < live_map);
    let b_stats = format!("/v3/apps/{}/processes/web/stats", guid("b"));
    let last_stats = calls[..live_map]
        .iter()
        .rev()
        .find(|c| c.argv.contains(&b_stats))
        .unwrap();
    assert_eq!(
        last_stats.output.matches("RUNNING").count(),
        3,
        "{}",
        last_stats.output
    );
}

#[test]
fn a_blind_unmap_of_a_route_that_does_not_exist_counts_as_done() {
    // An extra live route that does not exist yet; mapping it fails without effect. cf
    // then cannot report the apps, so recovery undoes blindly what was attempted:
    // unmapping that route answers "Route ... not found", which is what recovery
    // wanted, not a failed recovery (exit 3).
    let config = config(&format!(
        "{QUICK}[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n"
    ));
    let clean = blue_live();
    run(&clean, &config, Kind::Deploy).0.unwrap();
    let calls = clean.calls();
    let extra_map = calls
        .iter()
        .position(|c| c.line() == "cf map-route b shop.com --hostname www")
        .unwrap();
    let reads = calls[..extra_map]
        .iter()
        .filter(|c| c.argv[0] == "app")
        .count() as u32;
    // Both live maps run side by side, in no fixed order: both fail, so that the extra
    // route is never created whichever is third.
    let cf = blue_live()
        .fail("map-route:2,map-route:3")
        .fail_reads_from(reads + 1);
    let (result, events) = run(&cf, &config, Kind::Deploy);
    assert!(
        matches!(result, Err(Error::DeployFailed { .. })),
        "{result:?}"
    );
    assert!(events
        .lines()
        .contains(&"recovery: restore, blind".to_string()));
    assert!(cf.calls().iter().any(|c| {
        c.line() == "cf unmap-route b shop.com --hostname www" && c.output.contains("not found")
    }));
    assert_eq!(cf.routes("a"), [LIVE]);
    assert_eq!(cf.started("b"), Some(false));
    cf.assert_always_served(LIVE);
}

#[test]
fn a_blind_forward_finishes_the_switch() {
    // The unmap from the old app took effect but failed; cf cannot report the apps any
    // more, so recovery finishes blindly from that unmap on (it is idempotent).
    let clean = blue_live();
    run(&clean, &config(QUICK), Kind::Deploy).0.unwrap();
    let reads = clean
        .calls()
        .iter()
        .take_while(|c| c.argv[0] != "unmap-route")
        .filter(|c| c.argv[0] == "app")
        .count() as u32;
    let cf = blue_live()
        .fail("unmap-route:1:after")
        .fail_reads_from(reads + 1);
    let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
    result.unwrap();
    assert!(events
        .lines()
        .contains(&"recovery: forward, blind".to_string()));
    assert_eq!(cf.routes("b"), [LIVE]);
    assert_eq!(cf.started("a"), Some(false));
    cf.assert_always_served(LIVE);
}

#[test]
fn a_push_cut_at_its_limit_names_the_key_that_sets_it() {
    let cf = blue_live().fail("push:1:hang");
    let (result, _) = run(&cf, &config(QUICK), Kind::Deploy);
    let Err(Error::DeployFailed { hint, .. }) = result else {
        panic!("{result:?}")
    };
    let hint = hint.unwrap();
    assert!(
        hint.starts_with("cf did not finish within push.timeout: if the platform is only slow, raise it in deploy.toml"),
        "{hint}"
    );
}

#[test]
fn one_of_three_live_maps_failing_side_by_side_restores_every_route() {
    // The three live maps run side by side, so which one is the third map-route is not
    // fixed: run it often, with and without effect.
    for _ in 0..10 {
        for mode in ["", ":after", ":hang"] {
            let cf = rich_blue_live().fail(&format!("map-route:3{mode}"));
            let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
            let Err(Error::DeployFailed { live, .. }) = &result else {
                panic!("{mode}: {result:?}\n{:?}", events.lines())
            };
            assert_eq!(live, "a still serves the live route, and b is stopped.");
            let mut routes = cf.routes("a");
            routes.sort();
            assert_eq!(routes, RICH_ROUTES, "{mode}");
            assert!(cf.routes("b").is_empty(), "{mode}: {:?}", cf.routes("b"));
            assert_eq!(cf.started("b"), Some(false), "{mode}");
            for route in RICH_ROUTES {
                cf.assert_always_served(route);
            }
            // The other two maps ran to their end before the recovery began, which saw
            // them: each is undone.
            let lines = events.lines();
            let at = lines.iter().position(|l| l == "recovery: restore").unwrap();
            assert_eq!(
                lines[..at]
                    .iter()
                    .filter(|l| l.starts_with("ok map live") || l.starts_with("FAIL map live"))
                    .count(),
                3,
                "{mode}: {lines:?}"
            );
        }
    }
}

#[test]
fn a_failure_in_the_final_cleanup_completes_the_switch() {
    // Every cf command of the cleanup batch, failing while the others run beside it.
    for fault in [
        "stop:1",
        "stop:1:after",
        "unmap-route:4",
        "unmap-route:4:after",
    ] {
        let cf = rich_blue_live().fail(fault);
        let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
        result.unwrap_or_else(|e| panic!("{fault}: {e}\n{:?}", events.lines()));
        let lines = events.lines();
        assert!(
            lines.contains(&"recovery: forward".to_string()),
            "{fault}: {lines:?}"
        );
        assert_eq!(events.summary().unwrap(), "summary: b live; a stopped");
        let mut routes = cf.routes("b");
        routes.sort();
        assert_eq!(routes, RICH_ROUTES, "{fault}");
        assert!(cf.routes("a").is_empty(), "{fault}");
        assert_eq!(cf.started("a"), Some(false), "{fault}");
        for route in RICH_ROUTES {
            cf.assert_always_served(route);
        }
    }
}

#[test]
fn the_lock_goes_back_after_the_cleanup_and_its_recovery() {
    // A cleanup step that fails is recovered while the lock is still held: a deploy that
    // comes next cannot take the pair while this one still stops or unmaps.
    for fault in ["", "stop:1", "stop:1:after", "unmap-route:4"] {
        let cf = rich_blue_live().fail(fault);
        let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
        result.unwrap_or_else(|e| panic!("{fault}: {e}\n{:?}", events.lines()));
        let lines: Vec<String> = cf.calls().iter().map(|c| c.line()).collect();
        let release = lines
            .iter()
            .rposition(|l| l.contains("/v3/service_instances/") && l.contains("DELETE"))
            .unwrap_or_else(|| panic!("{fault}: no release in {lines:?}"));
        let last_change = cf.calls().iter().rposition(|c| c.changes_apps()).unwrap();
        assert!(release > last_change, "{fault}: {lines:?}");
        assert!(cf.services().is_empty(), "{fault}: the lock is released");
    }
}

#[test]
fn a_second_interrupt_during_a_batch_names_every_step_of_it() {
    let config = config(QUICK);
    let cf = rich_blue_live();
    let events = Recorder::default();
    let ctx = Context::new(&config, &cf, &events, "tester@host pid 1");
    let observed = crate::preflight::preflight(&ctx).unwrap();
    let (pair, meta) = (observed.pair, observed.meta);
    let id = metadata::DeployId("2026-12-02T00:00:00Z tester".into());
    let plan = crate::plan::plan_deploy(&config, &pair, &meta, &id).unwrap();
    let maps = plan
        .steps
        .iter()
        .position(|s| s.maps(crate::plan::RouteRole::Live))
        .unwrap();
    let message = super::recover::at_once_message(&ctx, &plan, maps);
    assert!(
        message.starts_with(
            "stopped at once during: map live route live.example.com to b; \
             map live route shop.apps.internal to b; map live route tcp.example.com:1234 to b\n"
        ),
        "{message}"
    );
    // Every map of the batch may have taken effect: each is undone.
    for undo in [
        "    cf unmap-route b example.com --hostname live",
        "    cf unmap-route b apps.internal --hostname shop",
        "    cf unmap-route b tcp.example.com --port 1234",
        "    cf stop b",
    ] {
        assert!(message.contains(undo), "{undo}: {message}");
    }
}

#[test]
fn a_first_deploy_whose_side_by_side_live_maps_partly_failed_completes_forward() {
    // Two live maps side by side (which one is the second map-route is not fixed); one
    // fails, the other takes effect: the new app is then the only one serving a live
    // route, and unmapping it would take that route down, so the switch is finished
    // (the failed map again).
    let config = config(&format!(
        "{QUICK}[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n"
    ));
    for _ in 0..5 {
        let cf = MemoryCf::new().fail("map-route:2");
        let (result, events) = run(&cf, &config, Kind::Deploy);
        result.unwrap_or_else(|e| panic!("{e}\n{:?}", events.lines()));
        assert!(events.lines().contains(&"recovery: forward".to_string()));
        let mut routes = cf.routes("a");
        routes.sort();
        assert_eq!(routes, [LIVE, "www.shop.com"]);
        cf.assert_always_served(LIVE);
        cf.assert_always_served("www.shop.com");
    }
}

const STAGED_BY: &str = "2026-12-03T06:00:00Z ci@runner pid 7";

/// `a` live, `b` running a version `deploy --no-switch` staged on the staging route.
fn staged_on_b() -> MemoryCf {
    MemoryCf::new()
        .app("a", true, &[LIVE])
        .app("b", true, &[STAGING])
        .annotate("b", metadata::DEPLOY, STAGED_BY)
        .annotate("b", metadata::CHECKED, STAGED_BY)
        .annotate("b", metadata::STAGED, STAGED_BY)
}

/// No call of the run changed anything: no app, route or record, and no lock.
fn assert_nothing_written(cf: &MemoryCf) {
    let writes: Vec<String> = cf
        .calls()
        .iter()
        .filter(|c| c.changes_apps() || c.argv.iter().any(|a| a == "POST" || a == "PATCH"))
        .map(|c| c.line())
        .collect();
    assert_eq!(writes, Vec::<String>::new());
}

#[test]
fn a_staged_version_waits_on_the_staging_route_then_is_promoted() {
    let cf = blue_live();
    let (result, events) = run(&cf, &config(QUICK), Kind::Stage);
    result.unwrap();
    assert_eq!(
        cf.mutations(),
        [
            "cf push b --no-route",
            "cf map-route b example.com --hostname stg",
        ]
    );
    assert_eq!(cf.routes("a"), [LIVE]);
    assert_eq!(cf.routes("b"), [STAGING]);
    assert_eq!(cf.started("b"), Some(true));
    let deploy = cf.annotation("b", metadata::DEPLOY).unwrap();
    assert_eq!(cf.annotation("b", metadata::CHECKED), Some(deploy.clone()));
    assert_eq!(cf.annotation("b", metadata::STAGED), Some(deploy));
    assert!(cf.services().is_empty(), "the lock is released");
    assert_eq!(events.lines().last().unwrap(), "staged: b");
    assert_eq!(events.summary(), None);

    cf.next_run("");
    let (result, events) = run(&cf, &config(QUICK), Kind::Promote);
    result.unwrap();
    let lines = events.lines();
    assert_eq!(lines[2], "plan: promote to b from Some(\"a\")");
    // Checked again (the staging map is kept: b holds it), then switched as a deploy.
    assert_eq!(
        lines[3..9],
        [
            "ok give b the network policies of a",
            "ok run as many instances of b as a does",
            "ok record checked on b, clearing staged",
            "ok map live route live.example.com to b",
            "ok unmap live route live.example.com from a",
            "ok unmap staging route stg.example.com from b",
        ],
        "{lines:?}"
    );
    assert_eq!(events.summary().unwrap(), "summary: b live; a stopped");
    assert_eq!(cf.routes("b"), [LIVE]);
    assert_eq!(cf.started("a"), Some(false));
    assert_eq!(cf.annotation("b", metadata::STAGED), None);
    assert!(cf.annotation("b", metadata::LIVE_SINCE).is_some());
    assert!(cf.services().is_empty(), "the lock is released");
    cf.assert_always_served(LIVE);
}

#[test]
fn an_abort_stops_the_staged_version_and_leaves_live_alone() {
    let cf = staged_on_b();
    let (result, events) = run(&cf, &config(QUICK), Kind::Abort);
    result.unwrap();
    let mut mutations = cf.mutations();
    mutations.sort();
    assert_eq!(
        mutations,
        ["cf stop b", "cf unmap-route b example.com --hostname stg"]
    );
    assert_eq!(events.lines().last().unwrap(), "aborted: b");
    assert_eq!(cf.routes("a"), [LIVE]);
    assert!(cf.routes("b").is_empty());
    assert_eq!(cf.started("b"), Some(false));
    assert_eq!(cf.annotation("b", metadata::STAGED), None);
    assert!(cf.services().is_empty(), "the lock is released");
    cf.assert_always_served(LIVE);
}

#[test]
fn with_nothing_staged_promote_and_abort_write_nothing_not_even_the_lock() {
    for kind in [Kind::Promote, Kind::Abort] {
        // A version the last deploy checked, on an idle app: nothing waits.
        for cf in [blue_live(), green_live_after_a_deploy()] {
            let (result, _) = run(&cf, &config(QUICK), kind);
            let error = result.unwrap_err();
            assert_eq!(error.exit_code(), 1);
            assert_eq!(
                error.to_string(),
                format!(
                    "nothing to {}: no version of a or b waits for promotion on the staging route stg.example.com",
                    kind.name()
                )
            );
            assert!(crate::hint::Hint::hint(&error)
                .unwrap()
                .contains("`cf-bluegreen deploy --no-switch` stages"));
            assert_nothing_written(&cf);
            // Decided from the first round of reads alone.
            assert_eq!(cf.calls().len(), 3, "{:?}", cf.calls());
        }
    }
}

#[test]
fn a_rollback_while_a_version_is_staged_refuses_before_the_lock() {
    let cf = staged_on_b();
    let (result, _) = run(&cf, &config(QUICK), Kind::Rollback);
    let error = result.unwrap_err();
    assert_eq!(error.exit_code(), 1);
    assert_eq!(
        error.to_string(),
        "nothing to roll back: b holds the version staged by ci@runner pid 7 at 2026-12-03T06:00:00Z \
         (deploy --no-switch), which replaced the previous version on it"
    );
    let hint = crate::hint::Hint::hint(&error).unwrap();
    assert!(hint.contains("`cf-bluegreen abort` drops it"), "{hint}");
    assert_nothing_written(&cf);
    assert_eq!(cf.started("b"), Some(true));
}

#[test]
fn a_deploy_while_a_version_is_staged_replaces_it_and_says_so() {
    for kind in [Kind::Deploy, Kind::Stage] {
        let cf = staged_on_b();
        let (result, events) = run(&cf, &config(QUICK), kind);
        result.unwrap();
        let lines = events.lines();
        assert!(
            lines.contains(
                &"warning: b holds a version staged by ci@runner pid 7 at 2026-12-03T06:00:00Z \
                  for promotion, on the staging route stg.example.com: this deploy replaces it"
                    .to_string()
            ),
            "{lines:?}"
        );
        assert_ne!(
            cf.annotation("b", metadata::DEPLOY).as_deref(),
            Some(STAGED_BY)
        );
        let staged = cf.annotation("b", metadata::STAGED);
        match kind {
            Kind::Deploy => {
                assert_eq!(staged, None);
                assert_eq!(cf.routes("b"), [LIVE]);
            }
            _ => {
                assert_eq!(staged, cf.annotation("b", metadata::DEPLOY));
                assert_eq!(cf.routes("b"), [STAGING]);
            }
        }
        cf.assert_always_served(LIVE);
    }
}

#[test]
fn a_failed_promotion_is_undone_as_a_deploy_is() {
    // The live map fails: a keeps serving, b is taken off the staging route and stopped,
    // and it no longer waits for promotion.
    let cf = staged_on_b().fail("map-route:1");
    let (result, events) = run(&cf, &config(QUICK), Kind::Promote);
    let Err(Error::DeployFailed { live, hint, .. }) = &result else {
        panic!("{result:?}")
    };
    assert_eq!(live, "a still serves the live route, and b is stopped.");
    assert!(
        result
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("and the promote was undone"),
        "{result:?}"
    );
    assert!(
        hint.as_deref()
            .unwrap()
            .ends_with("stage the version again (`cf-bluegreen deploy --no-switch`), then run `cf-bluegreen promote`"),
        "{hint:?}"
    );
    assert!(events.lines().contains(&"recovery: restore".to_string()));
    assert_eq!(cf.routes("a"), [LIVE]);
    assert!(cf.routes("b").is_empty());
    assert_eq!(cf.started("b"), Some(false));
    assert_eq!(cf.annotation("b", metadata::STAGED), None);
    assert!(cf.services().is_empty());
    cf.assert_always_served(LIVE);
}

#[test]
fn a_staged_record_that_cannot_be_written_undoes_the_staging() {
    // Without it nothing would wait for promotion: the staging fails, and says why.
    let clean = blue_live();
    run(&clean, &config(QUICK), Kind::Stage).0.unwrap();
    let record = clean
        .calls()
        .iter()
        .filter(|c| c.argv[0] == "curl")
        .position(|c| c.argv.iter().any(|a| a.contains(metadata::STAGED)))
        .unwrap() as u32;
    for mode in ["", ":after"] {
        let cf = blue_live().fail(&format!("curl:{}{mode}", record + 1));
        let (result, _) = run(&cf, &config(QUICK), Kind::Stage);
        let Err(Error::DeployFailed { step, live, .. }) = &result else {
            panic!("{mode}: {result:?}")
        };
        assert!(step.starts_with("record checked, staged on b"), "{step}");
        assert_eq!(live, "a still serves the live route, and b is stopped.");
        assert!(cf.routes("b").is_empty(), "{mode}");
        assert_eq!(cf.started("b"), Some(false), "{mode}");
        assert_eq!(cf.annotation("b", metadata::STAGED), None, "{mode}");
    }
}

#[test]
fn a_first_version_can_be_staged_and_promoted_too() {
    let cf = MemoryCf::new();
    run(&cf, &config(QUICK), Kind::Stage).0.unwrap();
    assert_eq!(cf.routes("a"), [STAGING]);
    assert_eq!(cf.started("b"), None);
    cf.next_run("");
    let (result, events) = run(&cf, &config(QUICK), Kind::Promote);
    result.unwrap();
    assert_eq!(events.summary().unwrap(), "summary: a live");
    assert_eq!(cf.routes("a"), [LIVE]);
    assert_eq!(cf.annotation("a", metadata::STAGED), None);
    cf.assert_always_served(LIVE);
}

#[test]
fn a_staged_record_left_on_a_promoted_version_does_not_block_a_rollback() {
    // The write that clears it (with the checked record) fails: a warning, the promotion
    // goes on, and the live-since record clears it again.
    let clean = staged_on_b();
    run(&clean, &config(QUICK), Kind::Promote).0.unwrap();
    let checked = clean
        .calls()
        .iter()
        .filter(|c| c.argv[0] == "curl")
        .position(|c| c.argv.iter().any(|a| a.contains(metadata::CHECKED)))
        .unwrap() as u32;
    let cf = staged_on_b().fail(&format!("curl:{}", checked + 1));
    let (result, events) = run(&cf, &config(QUICK), Kind::Promote);
    result.unwrap();
    assert!(events.lines().iter().any(|l| l
        .starts_with("warning: could not record cf-bluegreen/checked, cf-bluegreen/staged on b")));
    assert_eq!(cf.annotation("b", metadata::STAGED), None);
    assert!(cf.annotation("b", metadata::LIVE_SINCE).is_some());
    cf.next_run("");
    let (result, _) = run(&cf, &config(QUICK), Kind::Rollback);
    result.unwrap();
    assert_eq!(cf.routes("a"), [LIVE]);
}

use crate::test_http::answering;

/// QUICK with `[verify]` against `url`, and `[switch]` keys before it.
fn verifying(url: &str, switch: &str) -> Config {
    config(&format!(
        "{QUICK}{switch}[verify]\nduration = \"200ms\"\ninterval = \"50ms\"\nurl = \"{url}\"\n"
    ))
}

#[test]
fn a_clean_verification_then_retires_the_old_app() {
    let cf = blue_live();
    let (result, events) = run(&cf, &verifying(&answering(200), ""), Kind::Deploy);
    result.unwrap();
    let lines = events.lines();
    let at = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix)).unwrap();
    // The old app loses its routes, is verified against, and only then stopped.
    assert!(at("ok unmap live route live.example.com from a") < at("ok verify b at http://"));
    assert!(at("ok verify b at http://") < at("ok stop a"));
    assert!(at("ok verify b at http://") < at("ok record live-since on b"));
    assert_eq!(events.summary().unwrap(), "summary: b live; a stopped");
    assert_eq!(cf.started("a"), Some(false));
    assert_eq!(cf.routes("b"), [LIVE]);
    cf.assert_always_served(LIVE);
}

#[test]
fn a_failed_verification_switches_back_to_the_old_app_without_a_start() {
    let config = verifying(
        &answering(500),
        "[[routes.extra]]\nhost = \"www\"\ndomain = \"example.com\"\n",
    );
    // The extra route is on the live app too, so that two routes go back side by side.
    let cf = MemoryCf::new()
        .app("a", true, &[LIVE, "www.example.com"])
        .app("b", false, &[]);
    let (result, events) = run(&cf, &config, Kind::Deploy);
    let Err(e @ Error::DeployFailed { .. }) = result else {
        panic!("{result:?}")
    };
    assert_eq!(e.exit_code(), crate::error::EXIT_FAILED);
    let Error::DeployFailed {
        step, cause, live, ..
    } = e
    else {
        unreachable!()
    };
    assert!(step.starts_with("verify b at http://127.0.0.1:"), "{step}");
    assert!(
        cause.contains(
            "into the verification (of 200ms): status 500 (expected 200), body: \"boom\""
        ),
        "{cause}"
    );
    assert_eq!(
        live,
        "the live routes went back to a, which had stayed started, and b is stopped."
    );
    assert!(events.lines().contains(&"recovery: restore".to_string()));
    let mutations = cf.mutations();
    let after = mutations
        .iter()
        .position(|m| m == "cf unmap-route a example.com --hostname live")
        .unwrap();
    let back: Vec<&String> = mutations[after..]
        .iter()
        .filter(|m| !m.starts_with("cf curl"))
        .collect();
    // No start: the old app was never stopped. Every route back before any leaves b.
    assert!(!mutations.iter().any(|m| m.starts_with("cf start")));
    let first_unmap_b = back
        .iter()
        .position(|m| {
            m.starts_with("cf unmap-route b example.com --hostname live")
                || m.starts_with("cf unmap-route b example.com --hostname www")
        })
        .unwrap();
    let last_map_a = back
        .iter()
        .rposition(|m| m.starts_with("cf map-route a "))
        .unwrap();
    assert!(last_map_a < first_unmap_b, "{back:?}");
    assert_eq!(cf.started("a"), Some(true));
    assert_eq!(cf.started("b"), Some(false));
    let mut routes = cf.routes("a");
    routes.sort();
    assert_eq!(routes, ["live.example.com", "www.example.com"]);
    assert!(cf.routes("b").is_empty());
    cf.assert_always_served(LIVE);
    cf.assert_always_served("www.example.com");
    // The records: the old app stays the one that was live; the new one's check stays,
    // but its failed verification makes it no longer count.
    assert_eq!(cf.annotation("b", metadata::LIVE_SINCE), None);
    let deploy = cf.annotation("b", metadata::DEPLOY).unwrap();
    assert_eq!(
        cf.annotation("b", metadata::CHECKED).as_deref(),
        Some(deploy.as_str())
    );
    assert_eq!(cf.annotation("b", metadata::VERIFY_FAILED), Some(deploy));
}

#[test]
fn an_interrupted_verification_leaves_both_started_and_the_next_deploy_proceeds() {
    // What an interrupt during the verification leaves (the executor's own path is the
    // integration tests'): b live and checked, without live-since; a started, no routes.
    let (new, old) = ("2026-11-02T10:00:00Z ci", "2026-11-01T10:00:00Z ci");
    let left = || {
        MemoryCf::new()
            .app("a", true, &[])
            .app("b", true, &[LIVE])
            .annotate("a", metadata::DEPLOY, old)
            .annotate("a", metadata::CHECKED, old)
            .annotate("a", metadata::LIVE_SINCE, old)
            .annotate("b", metadata::DEPLOY, new)
            .annotate("b", metadata::CHECKED, new)
    };
    let cf = left();
    let (result, events) = run(&cf, &config(QUICK), Kind::Deploy);
    result.unwrap();
    assert_eq!(events.summary().unwrap(), "summary: a live; b stopped");
    cf.assert_always_served(LIVE);
    // A rollback from there goes back to the warm app: route calls, no start.
    let cf = left();
    let (result, _) = run(&cf, &config(QUICK), Kind::Rollback);
    result.unwrap();
    assert!(!cf.mutations().iter().any(|m| m.starts_with("cf start")));
    assert_eq!(cf.routes("a"), [LIVE]);
    assert_eq!(cf.started("b"), Some(false));
    cf.assert_always_served(LIVE);
}
