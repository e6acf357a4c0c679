//! `cf-bluegreen rollback`: the previous version back, with the same guarantees.

use crate::support::*;

#[test]
fn rollback_puts_the_previous_version_back() {
    // Two real deploys rather than `Test::rollback_ready()`: the records the deploys
    // write are what the rollback goes by.
    let t = Test::new();
    t.run(&["deploy"]).expect_code(0);
    t.run(&["deploy"]).expect_code(0);
    assert_eq!(t.assert_converged(&[LIVE]), GREEN);
    let run = t.run(&["rollback"]);
    run.expect_code(0)
        .stderr_has("rolling back to the previous version on sinatra_a");
    crate::deploy::assert_in_batches(
        &run.mutations(),
        &[
            &[format!("cf start {BLUE}")][..],
            &[format!(
                "cf map-route {BLUE} de.a9sapp.eu --hostname sinatrastaging"
            )],
            &[format!(
                "cf map-route {BLUE} de.a9sapp.eu --hostname sinatralive"
            )],
            &[format!(
                "cf unmap-route {GREEN} de.a9sapp.eu --hostname sinatralive"
            )],
            // The final cleanup, side by side.
            &[
                format!("cf unmap-route {BLUE} de.a9sapp.eu --hostname sinatrastaging"),
                format!("cf stop {GREEN}"),
            ],
        ],
    );
    assert!(!run.calls.iter().any(|c| c.argv[0] == "push"));
    assert_eq!(t.assert_converged(&[LIVE]), BLUE);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn rollback_dry_run_changes_nothing() {
    let t = Test::rollback_ready();
    let run = t.run(&["rollback", "--dry-run"]);
    run.expect_code(0)
        .stdout_has(&format!("cf start {BLUE}\n"))
        .expect_no_mutation();
}

#[test]
fn rollback_without_a_previous_version() {
    let t = Test::new();
    t.run(&["deploy"]).expect_code(0);
    t.run(&["rollback"])
        .expect_code(1)
        .stderr_has("nothing to roll back: the previous app sinatra_b does not exist")
        .expect_no_mutation();
    let t = Test::new();
    t.run(&["rollback"])
        .expect_code(1)
        .stderr_has("no app of the pair holds the live route");
}

#[test]
fn rollback_to_an_app_that_will_not_start() {
    let t = Test::rollback_ready().touch("apps/sinatra_a/crashed");
    t.run(&["rollback"])
        .expect_code(1)
        .stderr_has("start sinatra_a failed, and the rollback was undone")
        .stderr_has("All instances crashed")
        .stderr_has("Last lines of `cf logs sinatra_a --recent`");
    assert_eq!(t.app_routes(GREEN), [LIVE]);
    assert_eq!(t.app_state(BLUE).as_deref(), Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn rollback_whose_check_fails_leaves_the_current_version_live() {
    let t = Test::rollback_ready().broken_router();
    t.run(&["rollback"]).expect_code(1).stderr_has("status 500");
    assert_eq!(t.assert_converged(&[LIVE]), GREEN);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn rollback_with_keep_leaves_the_kept_app_running_after_a_failure() {
    let t = Test::new().with("[switch]\nold = \"keep\"");
    t.run(&["deploy"]).expect_code(0);
    t.run(&["deploy"]).expect_code(0);
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
    let t = t.broken_router();
    t.run(&["rollback"])
        .expect_code(1)
        .stderr_has("the rollback was undone: sinatra_b still serves the live route, and sinatra_a is as it was");
    // Blue was running before the rollback, and still is.
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
    assert!(t.app_routes(BLUE).is_empty());
    assert_eq!(t.app_routes(GREEN), [LIVE]);
}
