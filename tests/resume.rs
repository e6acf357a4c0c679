//! Every state an interrupted deploy (or a hand) can leave, set up directly in the fake
//! cf: a plain `deploy` converges, or stops for a human without changing anything.

use crate::support::*;

#[test]
fn both_live_with_records_finishes_the_interrupted_switch_then_deploys() {
    let old = "2026-11-01T10:00:00Z ci";
    let new = "2026-11-02T10:00:00Z ci";
    let t = Test::blue_live()
        .app(GREEN, "started", &[LIVE, STAGING])
        .annotate(BLUE, DEPLOY, old)
        .annotate(BLUE, CHECKED, old)
        .annotate(GREEN, DEPLOY, new)
        .annotate(GREEN, CHECKED, new);
    let run = t.run(&["deploy"]);
    run.expect_code(0)
        .stderr_has("sinatra_b holds the version that passed its check in that deploy");
    // The switch to green was finished first (blue unmapped), then the new version went
    // to blue.
    let m = run.mutations();
    assert_eq!(
        m[0],
        format!("cf unmap-route {BLUE} de.a9sapp.eu --hostname sinatralive")
    );
    assert_eq!(
        m[2],
        format!("cf unmap-route {GREEN} de.a9sapp.eu --hostname sinatrastaging")
    );
    assert_eq!(m[3], format!("cf push {BLUE} --no-route"));
    assert_eq!(t.assert_converged(&[LIVE]), BLUE);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn both_live_without_records_needs_a_human() {
    let t = Test::blue_live().app(GREEN, "started", &[LIVE]);
    t.run(&["deploy"])
        .expect_code(1)
        .stderr_has("both sinatra_a and sinatra_b hold the live route sinatralive.de.a9sapp.eu")
        .stderr_has("do not say which one holds the checked new version")
        .stderr_has("cf unmap-route sinatra_b de.a9sapp.eu --hostname sinatralive")
        .expect_no_mutation();
}

#[test]
fn staging_left_on_the_idle_app() {
    let t = Test::blue_live().app(GREEN, "started", &[STAGING]);
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has("sinatra_b still holds the staging route");
    assert_eq!(t.assert_converged(&[LIVE]), GREEN);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn staging_left_on_the_live_app() {
    let t = Test::new()
        .app(BLUE, "stopped", &[])
        .app(GREEN, "started", &[LIVE, STAGING]);
    t.run(&["deploy"]).expect_code(0);
    assert_eq!(t.assert_converged(&[LIVE]), BLUE);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn target_left_started_without_routes() {
    let t = Test::blue_live().app(GREEN, "started", &[]);
    t.run(&["deploy"]).expect_code(0);
    assert_eq!(t.assert_converged(&[LIVE]), GREEN);
}

#[test]
fn live_route_held_by_neither_spares_the_last_live_app() {
    let t = Test::new()
        .app(BLUE, "stopped", &[])
        .app(GREEN, "stopped", &[])
        .annotate(GREEN, LIVE_SINCE, "2026-11-02T10:00:00Z by deploy x");
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has("first deploy, to sinatra_a");
    assert_eq!(t.assert_converged(&[LIVE]), BLUE);
}

#[test]
fn stopped_live_app_is_replaced() {
    let t = Test::new().app(BLUE, "stopped", &[LIVE]);
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has("the live app sinatra_a is stopped");
    assert_eq!(t.assert_converged(&[LIVE]), GREEN);
}

#[test]
fn crashed_live_app_is_replaced() {
    let t = Test::blue_live().touch("apps/sinatra_a/crashed");
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has("no instance of the live app sinatra_a is running (crashed)");
    assert_eq!(t.assert_converged(&[LIVE]), GREEN);
}

#[test]
fn extra_route_left_on_the_old_app() {
    let t = Test::blue_live()
        .app(GREEN, "stopped", &["www.example.com"])
        .with("[[routes.extra]]\nhost = \"www\"\ndomain = \"example.com\"");
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has("sinatra_b still holds the live route www.example.com");
    t.assert_converged(&[LIVE, "www.example.com"]);
    assert_always_served(&t.log(), "www.example.com");
}

#[test]
fn records_are_written_on_the_apps() {
    let t = Test::new();
    t.run(&["deploy"]).expect_code(0);
    let deploy = t.annotation(BLUE, DEPLOY).unwrap();
    assert!(deploy.contains("tester@"), "{deploy}");
    assert_eq!(t.annotation(BLUE, CHECKED), Some(deploy.clone()));
    assert!(t
        .annotation(BLUE, LIVE_SINCE)
        .unwrap()
        .contains(&format!("by deploy {deploy}")));
    t.run(&["status"]).expect_code(0).stdout_has(&format!(
        "sinatra_a: deployed {deploy}; checked {deploy}; live since"
    ));
}
