//! A failing check or cf command leaves the live app serving, and says what happened.

use crate::support::*;

#[test]
fn failing_smoke_check_leaves_the_live_app_untouched() {
    let t = Test::blue_live().broken_router();
    let run = t.run(&["deploy"]);
    run.expect_code(1)
        .stderr_has("check sinatra_b at http://127.0.0.1:")
        .stderr_has("status 500 (expected 200), body: \"Internal Server Error: boom\"")
        .stderr_has("sinatra_a still serves the live route, and sinatra_b is stopped")
        .stderr_has("Last lines of `cf logs sinatra_b --recent`");
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    // The live route was never touched.
    assert!(
        !run.mutations().iter().any(|m| m.contains("sinatralive")),
        "{:?}",
        run.mutations()
    );
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn wrong_body_fails_the_check() {
    let t = Test::blue_live().with("expect-body = \"Hello from someone else\"");
    t.run(&["deploy"]).expect_code(1).stderr_has(
        "the body does not contain \"Hello from someone else\": \"Hello from sinatra_b\"",
    );
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
}

#[test]
fn smoke_command_failure_is_shown() {
    let t =
        Test::blue_live().with("command = [\"sh\", \"-c\", \"echo probing $SMOKE_URL; exit 3\"]");
    t.run(&["deploy"])
        .expect_code(1)
        .stderr_has(
            "the smoke command `sh -c 'echo probing $SMOKE_URL; exit 3'` failed (exit code 3)",
        )
        .stderr_has("probing http://127.0.0.1:");
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
}

#[test]
fn failing_push_is_reported_with_cf_output_and_logs() {
    let t = Test::blue_live_green_stopped();
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "push:1")]);
    run.expect_code(1)
        .stderr_has("`cf push sinatra_b --no-route` failed (exit code 1). cf said:")
        .stderr_has("injected failure of call 1 of 'push'")
        .stderr_has("FAILED")
        .stderr_has("Last lines of `cf logs sinatra_b --recent`");
    assert_eq!(t.app_routes(BLUE), [LIVE]);
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
}

#[test]
fn failing_live_map_rolls_back_with_cf_message() {
    let t = Test::blue_live();
    // map-route #2 is the live route.
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "map-route:2")]);
    run.expect_code(1)
        .stderr_has("map live route sinatralive.de.a9sapp.eu to sinatra_b failed")
        .stderr_has(
            "`cf map-route sinatra_b de.a9sapp.eu --hostname sinatralive` failed (exit code 1)",
        )
        .stderr_has("injected failure of call 2 of 'map-route'")
        .stderr_has("hint: fix what cf reported above, then run `cf-bluegreen deploy` again");
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn live_map_that_applied_but_failed_is_undone() {
    let t = Test::blue_live();
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "map-route:2:after")]);
    run.expect_code(1);
    assert!(run
        .mutations()
        .contains(&"cf unmap-route sinatra_b de.a9sapp.eu --hostname sinatralive".to_string()));
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn failed_unmap_from_old_app_is_undone_on_the_new_one() {
    let t = Test::blue_live();
    // unmap-route #1 is the live route from the old app; it fails with no effect.
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "unmap-route:1")]);
    run.expect_code(1)
        .stderr_has("sinatra_a still serves the live route");
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn unmap_from_old_app_that_applied_completes_the_switch() {
    let t = Test::blue_live();
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "unmap-route:1:after")]);
    run.expect_code(0).stderr_has("the switch was completed");
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn failing_cleanup_after_the_switch_is_retried() {
    let t = Test::blue_live();
    // unmap-route #2 is the staging route, after the switch.
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "unmap-route:2")]);
    run.expect_code(0)
        .stderr_has("warning: unmap staging route");
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
}

#[test]
fn hanging_cf_call_is_killed_after_its_timeout() {
    let t = Test::blue_live().with("[cf]\ntimeout = \"1s\"");
    let started = std::time::Instant::now();
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "stop:1:hang")]);
    run.expect_code(0)
        .stderr_has("`cf stop sinatra_a` did not finish within 1s and was killed");
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn failing_recovery_exits_3_with_the_commands_to_run() {
    let t = Test::blue_live();
    // The live map fails; then the recovery's unmap of the staging route fails too.
    let run = t.run_with(
        &["deploy"],
        &[(
            "FAKE_CF_FAIL",
            "map-route:2,unmap-route:1,unmap-route:2,unmap-route:3",
        )],
    );
    run.expect_code(3)
        .stderr_has("The recovery failed too")
        .stderr_has("Run these commands to restore one:\n    cf unmap-route sinatra_b de.a9sapp.eu --hostname sinatrastaging\n    cf stop sinatra_b");
    // Even so, the live app kept its route.
    assert_eq!(t.app_routes(BLUE), [LIVE]);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_recovery_step_that_fails_once_is_tried_again() {
    let t = Test::blue_live();
    // The live map fails; the recovery's staging unmap fails once, then works.
    let run = t.run_with(
        &["deploy"],
        &[("FAKE_CF_FAIL", "map-route:2,unmap-route:1")],
    );
    run.expect_code(1)
        .stderr_has("warning: unmap staging route sinatrastaging.de.a9sapp.eu from sinatra_b failed: ")
        .stderr_has("cf said: Server error, status code: 502, error code: 10001, message: injected failure of call 1 of 'unmap-route'; trying it again in 1s (attempt 2 of 3)")
        .stderr_has("sinatra_a still serves the live route, and sinatra_b is stopped.");
    assert_eq!(t.app_routes(BLUE), [LIVE]);
    assert!(t.app_routes(GREEN).is_empty());
    assert_eq!(t.app_state(GREEN).as_deref(), Some("stopped"));
    // Safe again: nothing is left for a human, the lock is gone.
    assert_eq!(t.lock_holder(), None);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn failing_read_changes_nothing() {
    let t = Test::blue_live();
    t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "curl:1")])
        .expect_code(1)
        .stderr_has("could not read the current state, nothing was changed")
        .stderr_has("hint: check that cf works here")
        .stderr_has("injected failure")
        .expect_no_mutation();
}

/// `sinatra_a` live with two routes, which the deploy maps side by side.
fn blue_live_with_two_routes() -> Test {
    Test::blue_live()
        .with("[[routes.extra]]\nhost = \"www\"\ndomain = \"example.com\"")
        .app(BLUE, "started", &[LIVE, "www.example.com"])
}

#[test]
fn an_interrupt_during_side_by_side_live_maps_undoes_both() {
    let t = blue_live_with_two_routes();
    // map-route #2 is one of the two live maps (which one is not fixed); the interrupt
    // arrives while both run.
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "map-route:2:interrupt")]);
    run.expect_code(130)
        .stderr_has("sinatra_a still serves the live route, and sinatra_b is stopped");
    let mut routes = t.app_routes(BLUE);
    routes.sort();
    assert_eq!(routes, ["sinatralive.de.a9sapp.eu", "www.example.com"]);
    assert!(t.app_routes(GREEN).is_empty(), "{}", run.dump());
    assert_always_served(&t.log(), LIVE);
    assert_always_served(&t.log(), "www.example.com");
    t.run(&["deploy"]).expect_code(0);
    t.assert_converged(&[LIVE, "www.example.com"]);
}

#[test]
fn a_second_interrupt_during_side_by_side_live_maps_names_both() {
    let t = blue_live_with_two_routes();
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "map-route:2:interrupt2")]);
    run.expect_code(130)
        .stderr_has(
            "stopped at once during: map live route sinatralive.de.a9sapp.eu to sinatra_b; \
             map live route www.example.com to sinatra_b",
        )
        .stderr_has("    cf unmap-route sinatra_b de.a9sapp.eu --hostname sinatralive")
        .stderr_has("    cf unmap-route sinatra_b example.com --hostname www")
        .stderr_has("    cf stop sinatra_b");
    assert_always_served(&t.log(), LIVE);
    assert_always_served(&t.log(), "www.example.com");
    t.run(&["deploy", "--force-unlock"]).expect_code(0);
    t.assert_converged(&[LIVE, "www.example.com"]);
}
