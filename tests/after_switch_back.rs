//! What the runs after a switch back do: one that stopped before its first map back is
//! finished by the next deploy before it pushes; a rollback never goes to the version
//! that failed its verification, but still goes back once a later deploy replaced it.

use crate::support::*;

const VERIFY_FAILED: &str = "cf-bluegreen/verify-failed";

/// Blue live, and a short `[verify]` of the live router's URL (as in tests/verify.rs).
fn verifying(t: Test) -> Test {
    let url = t.live_url().to_string();
    t.with(&format!(
        "[verify]\nduration = \"1s\"\ninterval = \"100ms\"\nurl = \"{url}\"\n"
    ))
}

/// Blue live since an earlier deploy (its records say so), green stopped; green's next
/// version answers 500 on the live route.
fn blue_was_live_green_broken() -> Test {
    let old = "2026-11-01T10:00:00Z ci";
    verifying(
        Test::blue_live_green_stopped()
            .annotate(BLUE, DEPLOY, old)
            .annotate(BLUE, CHECKED, old)
            .annotate(BLUE, LIVE_SINCE, old)
            .broken_app(GREEN),
    )
}

/// The position of the first mutation starting with `needle`.
fn at(mutations: &[String], needle: &str) -> usize {
    mutations
        .iter()
        .position(|c| c.starts_with(needle))
        .unwrap_or_else(|| panic!("no {needle:?} in {mutations:#?}"))
}

#[test]
fn a_deploy_finishes_a_switch_back_that_failed_for_good_before_it_pushes() {
    let t = blue_was_live_green_broken();
    // map-route 1: staging, 2: live, 3-5: the live route back to blue, tried three times.
    let first = t.run_with(
        &["deploy"],
        &[("FAKE_CF_FAIL", "map-route:3,map-route:4,map-route:5")],
    );
    first.expect_code(3);
    // The rejected green alone on the live route, blue started without routes.
    assert!(t.app_routes(GREEN).iter().any(|r| r == LIVE));
    assert!(t.app_routes(BLUE).is_empty());
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
    let rejected = t.annotation(GREEN, DEPLOY);
    assert!(rejected.is_some());
    assert_eq!(t.annotation(GREEN, VERIFY_FAILED), rejected);

    // The dry run shows the switch back first.
    let dry = t.run(&["deploy", "--dry-run"]);
    dry.expect_code(0).expect_no_mutation();
    let (back, push) = (
        dry.stdout
            .find(&format!(
                "cf map-route {BLUE} de.a9sapp.eu --hostname sinatralive"
            ))
            .unwrap_or_else(|| panic!("{}", dry.dump())),
        dry.stdout
            .find(&format!("cf push {GREEN}"))
            .unwrap_or_else(|| panic!("{}", dry.dump())),
    );
    assert!(back < push, "{}", dry.dump());

    // The fixed version: the lock of the failed run is broken, the switch back finished,
    // then the new version goes to green, over the rejected one.
    std::fs::remove_file(t.state_dir().join("broken-app")).unwrap();
    let run = t.run(&["deploy", "--force-unlock"]);
    run.expect_code(0).stderr_has(&format!(
        "warning: {GREEN} holds the live routes with a version that was switched back from, and {BLUE} is still started"
    ));
    let m = run.mutations();
    let back = at(
        &m,
        &format!("cf map-route {BLUE} de.a9sapp.eu --hostname sinatralive"),
    );
    let off = at(
        &m,
        &format!("cf unmap-route {GREEN} de.a9sapp.eu --hostname sinatralive"),
    );
    let stop = at(&m, &format!("cf stop {GREEN}"));
    let push = at(&m, &format!("cf push {GREEN}"));
    assert!(back < off && off < stop && stop < push, "{m:#?}");
    // Live was never on the rejected version while the new one was pushed and checked:
    // from the push to the switch, blue alone serves.
    let calls = &run.calls;
    let push_call = calls.iter().position(|c| c.argv[0] == "push").unwrap();
    let switch_call = calls
        .iter()
        .position(|c| {
            c.argv[0] == "map-route"
                && c.argv[1] == GREEN
                && c.argv.iter().any(|a| a == "sinatralive")
        })
        .unwrap_or_else(|| panic!("{}", run.dump()));
    for call in &calls[push_call..switch_call] {
        let holders = call.routes.get(LIVE).cloned().unwrap_or_default();
        assert_eq!(
            holders,
            [(BLUE.to_string(), true)],
            "after {}:\n{}",
            call.line(),
            run.dump()
        );
    }
    t.assert_converged(&[LIVE]);
    assert_eq!(t.app_routes(GREEN), [LIVE]);
    assert_ne!(t.annotation(GREEN, DEPLOY), rejected);
    assert!(t.annotation(GREEN, LIVE_SINCE).is_some());
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn with_the_previous_app_stopped_a_deploy_warns_that_the_live_version_failed() {
    let failed = "2026-11-02T10:00:00Z ci";
    let t = Test::new()
        .app(BLUE, "stopped", &[])
        .app(GREEN, "started", &[LIVE])
        .annotate(GREEN, DEPLOY, failed)
        .annotate(GREEN, CHECKED, failed)
        .annotate(GREEN, VERIFY_FAILED, failed);
    let run = t.run(&["deploy"]);
    run.expect_code(0).stderr_has(&format!(
        "warning: the live app {GREEN} holds a version that failed its verification after the switch (deploy {failed}): \
         a switch back did not finish, and {BLUE} cannot take the live routes back ({BLUE} is stopped)"
    ));
    // As before: the new version goes to the idle app, green serves until the switch.
    assert!(
        run.mutations()[0].starts_with(&format!("cf push {BLUE}")),
        "{}",
        run.dump()
    );
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_rollback_goes_back_again_once_a_fixed_deploy_replaced_the_failed_version() {
    let t = blue_was_live_green_broken();
    t.run(&["deploy"]).expect_code(1);
    t.run(&["rollback"]).expect_code(1).expect_no_mutation();
    // The fixed version goes to green, over the failed one, and passes.
    std::fs::remove_file(t.state_dir().join("broken-app")).unwrap();
    t.run(&["deploy"]).expect_code(0);
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
    // Blue holds the version that was live before it: a genuine rollback.
    t.run(&["rollback"])
        .expect_code(0)
        .stderr_has(&format!("rolling back to the previous version on {BLUE}"));
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}
