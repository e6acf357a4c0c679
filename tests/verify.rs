//! `[verify]` end to end: the live URL checked through the stand-in router after the
//! switch, while the old app waits started without routes.

use crate::support::*;

/// Blue live, and a short `[verify]` of the live router's URL.
fn verifying(t: Test, extra: &str) -> Test {
    let url = t.live_url().to_string();
    t.with(&format!(
        "[verify]\nduration = \"1s\"\ninterval = \"100ms\"\nurl = \"{url}\"\n{extra}"
    ))
}

#[test]
fn a_clean_verification_retires_the_old_app_afterwards() {
    let t = verifying(Test::blue_live_green_stopped(), "");
    let run = t.run(&["deploy"]);
    run.expect_code(0)
        .stderr_has(&format!("verify {GREEN} at http://"));
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_new_version_failing_on_the_live_url_is_switched_back_at_once() {
    // The new version passes its check on the staging route, then answers 500 live.
    let t = verifying(Test::blue_live_green_stopped().broken_app(GREEN), "");
    let run = t.run(&["deploy"]);
    run.expect_code(1)
        .stderr_has("into the verification (of 1s): status 500 (expected 200), body: \"Internal Server Error: boom\"")
        .stderr_has(&format!(
            "the live routes went back to {BLUE}, which had stayed started, and {GREEN} is stopped"
        ));
    // The way back is route calls and a stop: the old app was never stopped.
    let mutations = run.mutations();
    assert!(
        !mutations.iter().any(|m| m.starts_with("cf start")),
        "{mutations:?}"
    );
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
    t.run(&["status"])
        .expect_code(0)
        .stdout_has(&format!("{GREEN}: deployed "))
        .stdout_has("; FAILED its verification after the switch, deploy ");
    // The next deploy (fixed) goes to green again.
    std::fs::remove_file(t.state_dir().join("broken-app")).unwrap();
    t.run(&["deploy"]).expect_code(0);
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
}

#[test]
fn a_switch_back_whose_map_fails_once_tries_it_again_and_goes_back() {
    let t = verifying(Test::blue_live_green_stopped().broken_app(GREEN), "");
    // map-route 1: staging, 2: live, 3: the live route back to blue.
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "map-route:3")]);
    run.expect_code(1)
        .stderr_has(&format!(
            "warning: map live route sinatralive.de.a9sapp.eu to {BLUE} failed: "
        ))
        .stderr_has("trying it again in 1s (attempt 2 of 3)")
        .stderr_has(&format!(
            "the live routes went back to {BLUE}, which had stayed started, and {GREEN} is stopped"
        ));
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn an_interrupt_during_the_verification_leaves_both_started_and_the_next_deploy_finishes() {
    let t = verifying(
        Test::blue_live_green_stopped(),
        "command = [\"sh\", \"-c\", \"kill -INT $PPID; sleep 5\"]",
    );
    let run = t.run(&["deploy"]);
    run.expect_code(130).stderr_has(&format!(
        "the switch was done, but its verification was cut short: {GREEN} is live, and {BLUE} was left started without routes"
    ));
    assert_eq!(t.app_routes(GREEN), [LIVE]);
    assert_eq!(t.app_state(GREEN).as_deref(), Some("started"));
    assert!(t.app_routes(BLUE).is_empty());
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
    assert_always_served(&t.log(), LIVE);
    // A rollback now goes back to the warm app without a start.
    let run = t.run(&["rollback"]);
    run.expect_code(0);
    assert!(!run.mutations().iter().any(|m| m.starts_with("cf start")));
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn the_dry_run_shows_the_verification() {
    let t = verifying(Test::blue_live_green_stopped(), "");
    t.run(&["deploy", "--dry-run"])
        .expect_code(0)
        .stderr_has(&format!(
            "verify {GREEN} at http://{}",
            t.live_url().trim_start_matches("http://")
        ))
        .stderr_has("every 100ms for 1s (sinatra_a stays started, to switch back to)")
        .expect_no_mutation();
}

#[test]
fn a_promotion_is_verified_and_switched_back_like_a_deploy() {
    let t = Test::blue_live_green_stopped();
    t.run(&["deploy", "--no-switch"]).expect_code(0);
    // The staged version passed on the staging route; live, it answers 500.
    let t = verifying(t.broken_app(GREEN), "");
    let run = t.run(&["promote"]);
    run.expect_code(1).stderr_has(&format!(
        "the live routes went back to {BLUE}, which had stayed started, and {GREEN} is stopped"
    ));
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_eq!(t.annotation(GREEN, STAGED), None);
    assert_always_served(&t.log(), LIVE);
}
