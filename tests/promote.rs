//! `deploy --no-switch`, `promote` and `abort` end to end: a version waits on the staging
//! route until a later run, from any machine, puts it live or drops it.

use crate::support::*;

/// Blue live, green staged by `deploy --no-switch` (a real run, so that the records are
/// the tool's own).
fn staged() -> Test {
    let t = Test::blue_live_green_stopped();
    let run = t.run(&["deploy", "--no-switch"]);
    run.expect_code(0)
        .stderr_has(&format!(
            "{GREEN} runs the new version at https://{STAGING} (staging); {BLUE} still serves https://{LIVE}"
        ))
        .stderr_has("`cf-bluegreen promote` checks it again and puts it live; `cf-bluegreen abort` stops it");
    t
}

/// No call of `run` wrote anything: no app, route, record or lock.
#[track_caller]
fn assert_nothing_written(run: &Run) {
    let writes: Vec<String> = run
        .calls
        .iter()
        .filter(|c| c.is_mutating())
        .map(Call::line)
        .collect();
    assert_eq!(writes, Vec::<String>::new(), "{}", run.dump());
}

#[test]
fn a_staged_version_is_shown_then_promoted() {
    let t = staged();
    // The live app untouched, the new version on the staging route, recorded, no lock.
    assert_eq!(t.app_routes(BLUE), [LIVE]);
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
    assert_eq!(t.app_routes(GREEN), [STAGING]);
    assert_eq!(t.app_state(GREEN).as_deref(), Some("started"));
    let deploy = t.annotation(GREEN, DEPLOY).unwrap();
    assert_eq!(
        t.annotation(GREEN, CHECKED).as_deref(),
        Some(deploy.as_str())
    );
    assert_eq!(
        t.annotation(GREEN, STAGED).as_deref(),
        Some(deploy.as_str())
    );
    assert_eq!(t.lock_holder(), None);
    let (time, who) = deploy.split_once(' ').unwrap();

    t.run(&["status"])
        .expect_code(0)
        .stdout_has(&format!(
            "staged: {GREEN} at https://{STAGING}, by {who} at {time}, waiting for `cf-bluegreen promote` (or `abort`)"
        ))
        .stdout_has(&format!("live: {BLUE}"))
        .expect_no_mutation();

    let run = t.run(&["promote"]);
    run.expect_code(0).stderr_has(&format!(
        "{GREEN} is live at https://{LIVE}; {BLUE} stopped"
    ));
    // Checked again on the staging route before any live route moved.
    let smoke = run
        .stderr
        .find(&format!("ok   check {GREEN} at"))
        .unwrap_or_else(|| panic!("{}", run.dump()));
    let live_map = run
        .stderr
        .find(&format!("ok   map live route {LIVE} to {GREEN}"))
        .unwrap_or_else(|| panic!("{}", run.dump()));
    assert!(smoke < live_map, "{}", run.dump());
    assert!(!run.calls.iter().any(|c| c.argv[0] == "push"));
    assert_eq!(t.assert_converged(&[LIVE]), GREEN);
    assert_eq!(t.annotation(GREEN, STAGED), None);
    assert!(t
        .annotation(GREEN, LIVE_SINCE)
        .unwrap()
        .contains(" by promote "));
    assert_always_served(&t.log(), LIVE);
    // Nothing waits any more.
    t.run(&["promote"])
        .expect_code(1)
        .stderr_has("nothing to promote");
}

#[test]
fn a_staged_version_is_aborted() {
    let t = staged();
    let run = t.run(&["abort"]);
    run.expect_code(0).stderr_has(&format!(
        "{GREEN} is off the staging route and stopped; {BLUE} still live, untouched"
    ));
    assert!(
        !run.mutations().iter().any(|m| m.contains(BLUE)),
        "{}",
        run.dump()
    );
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_eq!(t.annotation(GREEN, STAGED), None);
    assert_eq!(t.lock_holder(), None);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn with_nothing_staged_promote_and_abort_write_nothing() {
    for command in ["promote", "abort"] {
        let t = Test::rollback_ready();
        let run = t.run(&[command]);
        run.expect_code(1)
            .stderr_has(&format!(
                "nothing to {command}: no version of {BLUE} or {GREEN} waits for promotion on the staging route {STAGING}"
            ))
            .stderr_has("`cf-bluegreen deploy --no-switch` stages a new version");
        assert_nothing_written(&run);
        // The dry run says the same.
        let run = t.run(&[command, "--dry-run"]);
        run.expect_code(1)
            .stderr_has(&format!("nothing to {command}"));
        assert_nothing_written(&run);
    }
}

#[test]
fn promote_and_abort_dry_runs_show_the_commands() {
    // The staging's own: up to the check and its record, no live route.
    let t = Test::blue_live_green_stopped();
    let run = t.run(&["deploy", "--no-switch", "--dry-run"]);
    run.expect_code(0)
        .stdout_has(&format!("cf push {GREEN} --no-route\n"))
        .stdout_has(&format!(
            "cf map-route {GREEN} de.a9sapp.eu --hostname sinatrastaging\n"
        ));
    assert!(!run.stdout.contains("sinatralive"), "{}", run.dump());
    assert_nothing_written(&run);

    let t = staged();
    let run = t.run(&["promote", "--dry-run"]);
    run.expect_code(0)
        .stdout_has(&format!(
            "cf map-route {GREEN} de.a9sapp.eu --hostname sinatralive\n"
        ))
        .stdout_has(&format!(
            "cf unmap-route {BLUE} de.a9sapp.eu --hostname sinatralive\n"
        ))
        .stdout_has(&format!("cf stop {BLUE}\n"));
    assert!(!run.stdout.contains("cf push"), "{}", run.dump());
    assert_nothing_written(&run);
    let run = t.run(&["abort", "--dry-run"]);
    run.expect_code(0)
        .stdout_has(&format!(
            "cf unmap-route {GREEN} de.a9sapp.eu --hostname sinatrastaging\n"
        ))
        .stdout_has(&format!("cf stop {GREEN}\n"));
    assert_nothing_written(&run);
    assert_eq!(t.app_routes(GREEN), [STAGING]);
}

#[test]
fn a_promotion_whose_check_fails_leaves_live_untouched() {
    let t = staged();
    t.break_router();
    let run = t.run(&["promote"]);
    run.expect_code(1)
        .stderr_has(&format!("check {GREEN} at"))
        .stderr_has("and the promote was undone")
        .stderr_has(&format!(
            "{BLUE} still serves the live route, and {GREEN} is stopped."
        ))
        .stderr_has("status 500 (expected 200)");
    assert!(
        !run.mutations().iter().any(|m| m.contains(BLUE)),
        "{}",
        run.dump()
    );
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_eq!(t.annotation(GREEN, STAGED), None);
    assert_eq!(t.lock_holder(), None);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_promotion_interrupted_before_the_switch_leaves_the_version_staged() {
    let t = staged();
    // Ctrl-C (a cancelled CI job) during the promotion's check again, once.
    let once = t.state_dir().join("interrupted-once");
    let t = t.with(&format!(
        "command = [\"sh\", \"-c\", \"[ -e {0} ] || {{ touch {0}; kill -INT $PPID; sleep 1; }}\"]",
        once.display()
    ));
    let run = t.run(&["promote"]);
    run.expect_code(130).stderr_has(&format!(
        "{BLUE} still serves the live route, and {GREEN} is still staged."
    ));
    assert_eq!(t.app_routes(BLUE), [LIVE]);
    assert_eq!(t.app_routes(GREEN), [STAGING]);
    assert_eq!(t.app_state(GREEN).as_deref(), Some("started"));
    assert!(t.annotation(GREEN, STAGED).is_some());
    assert_eq!(t.lock_holder(), None);
    // Promoted later, as it was.
    t.run(&["promote"]).expect_code(0);
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_deploy_while_a_version_is_staged_replaces_it_and_says_so() {
    let t = staged();
    let staged_by = t.annotation(GREEN, STAGED).unwrap();
    let (time, who) = staged_by.split_once(' ').unwrap();
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has(&format!(
            "{GREEN} holds a version staged by {who} at {time} for promotion, on the staging route {STAGING}: this deploy replaces it"
        ));
    assert_eq!(t.assert_converged(&[LIVE]), GREEN);
    assert_eq!(t.annotation(GREEN, STAGED), None);
    assert_ne!(t.annotation(GREEN, DEPLOY), Some(staged_by));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_rollback_while_a_version_is_staged_refuses_and_writes_nothing() {
    let t = staged();
    let run = t.run(&["rollback"]);
    run.expect_code(1)
        .stderr_has(&format!(
            "nothing to roll back: {GREEN} holds the version staged by"
        ))
        .stderr_has("`cf-bluegreen abort` drops it");
    assert_nothing_written(&run);
    assert_eq!(t.app_routes(GREEN), [STAGING]);
    assert_eq!(t.app_state(GREEN).as_deref(), Some("started"));
}

#[test]
fn another_run_holding_the_lock_stops_a_promotion() {
    let t = staged().locked_by("someone@else pid 9 since 2099-01-01T00:00:00Z token t");
    t.run(&["promote"])
        .expect_code(1)
        .stderr_has("another deploy of this app pair is running")
        .expect_no_mutation();
    assert_eq!(t.app_routes(GREEN), [STAGING]);
}
