//! One deploy at a time per app pair, with the lock in CF itself: a user-provided
//! service instance named after the pair, which the Cloud Controller creates only once.

use crate::support::*;

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[test]
fn two_concurrent_deploys_exactly_one_proceeds() {
    let t = Test::blue_live_green_stopped();
    let env = [("FAKE_CF_LATENCY", "0.05")];
    let a = t.spawn(&["deploy"], &env);
    let b = t.spawn(&["deploy"], &env);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    codes.sort();
    let stderr = format!(
        "--- a\n{}\n--- b\n{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(codes, [0, 1], "{stderr}");
    assert!(
        stderr.contains("another deploy of this app pair is running"),
        "{stderr}"
    );
    // Exactly one push happened.
    let pushes = t.log().iter().filter(|c| c.argv[0] == "push").count();
    assert_eq!(pushes, 1, "{stderr}");
    assert_eq!(t.assert_converged(&[LIVE]), GREEN);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_held_lock_stops_the_deploy_without_changes() {
    let t = Test::blue_live_green_stopped()
        .locked_by(&format!("ci@runner-7 pid 99 since {} token x", now()));
    t.run(&["deploy"])
        .expect_code(1)
        .stderr_has(&format!(
            "ci@runner-7 pid 99 has held the deploy lock ({LOCK_NAME}) for"
        ))
        .stderr_has("--force-unlock")
        .expect_no_mutation();
    t.run(&["rollback"]).expect_code(1).expect_no_mutation();
    assert!(t.lock_holder().unwrap().starts_with("ci@runner-7"));
}

#[test]
fn force_unlock_breaks_the_lock() {
    let t = Test::blue_live_green_stopped()
        .locked_by(&format!("ci@runner-7 pid 99 since {} token x", now()));
    t.run(&["deploy", "--force-unlock"])
        .expect_code(0)
        .stderr_has("breaking the deploy lock held by ci@runner-7 pid 99 (--force-unlock)");
    t.assert_converged(&[LIVE]);
}

#[test]
fn a_stale_lock_is_broken_with_a_warning() {
    let t = Test::blue_live_green_stopped()
        .locked_by("ci@runner-7 pid 99 since 2020-01-01T00:00:00Z token x");
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has("breaking a stale deploy lock held by ci@runner-7 pid 99");
    t.assert_converged(&[LIVE]);
}

#[test]
fn the_old_annotation_lock_still_holds_unless_stale() {
    let t = Test::blue_live_green_stopped().annotate(
        BLUE,
        LOCK,
        &format!("ci@runner-7 pid 99 since {} token x", now()),
    );
    let run = t.run(&["deploy"]);
    run.expect_code(1)
        .stderr_has("ci@runner-7 pid 99 has held the deploy lock (annotation cf-bluegreen/lock on sinatra_a)")
        .expect_no_mutation();
    // Nothing written at all: not even the new lock.
    assert!(!run.calls.iter().any(|c| c.is_mutating()), "{}", run.dump());
    let t = Test::blue_live_green_stopped().annotate(
        BLUE,
        LOCK,
        "ci@runner-7 pid 99 since 2020-01-01T00:00:00Z token x",
    );
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has("breaking a stale deploy lock held by ci@runner-7 pid 99");
    t.assert_converged(&[LIVE]);
}

#[test]
fn the_lock_is_released_after_a_failure_and_kept_after_exit_3() {
    let t = Test::blue_live_green_stopped();
    t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "push:1")])
        .expect_code(1);
    assert_eq!(t.lock_holder(), None);
    let run = t.run_with(
        &["deploy"],
        &[(
            "FAKE_CF_FAIL",
            "map-route:2,unmap-route:1,unmap-route:2,unmap-route:3",
        )],
    );
    run.expect_code(3)
        .stderr_has(&format!("the deploy lock {LOCK_NAME} is kept"));
    assert!(t.lock_holder().unwrap().contains("tester@"));
    // Plain cf shows it, and removes it.
    let services = std::process::Command::new(fake_cf())
        .arg("services")
        .env("FAKE_CF_STATE", t.state_dir())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&services.stdout).contains(LOCK_NAME));
    t.run(&["deploy"])
        .expect_code(1)
        .stderr_has("another deploy");
    t.run(&["deploy", "--force-unlock"]).expect_code(0);
    t.assert_converged(&[LIVE]);
}

#[test]
fn a_lock_removed_by_hand_with_plain_cf_is_gone() {
    let t = Test::blue_live_green_stopped()
        .locked_by(&format!("ci@runner-7 pid 99 since {} token x", now()));
    let out = std::process::Command::new(fake_cf())
        .args(["delete-service", LOCK_NAME, "-f"])
        .env("FAKE_CF_STATE", t.state_dir())
        .output()
        .unwrap();
    assert!(out.status.success());
    t.run(&["deploy"]).expect_code(0);
    t.assert_converged(&[LIVE]);
}

#[test]
fn a_first_deploy_is_locked_too() {
    let t = Test::new();
    let run = t.run(&["deploy"]);
    run.expect_code(0);
    let lines: Vec<String> = run.calls.iter().map(Call::line).collect();
    assert!(
        lines.iter().any(|l| l == "cf space demo-space --guid"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("cf curl /v3/service_instances -X POST")),
        "{lines:?}"
    );
    t.assert_converged(&[LIVE]);
}

#[test]
fn locking_can_be_switched_off() {
    let t = Test::blue_live_green_stopped();
    let config = t
        .default_config()
        .replace("[lock]\n", "[lock]\nenabled = false\n");
    let t = t.config(&config);
    let run = t.run(&["deploy"]);
    run.expect_code(0);
    assert!(!run
        .calls
        .iter()
        .any(|c| c.line().contains("service_instances")));
}
