//! SIGINT while a deploy runs: the first brings the routes to a safe state and exits 130,
//! the second stops at once and says how to finish.

use crate::support::*;

#[test]
fn interrupt_during_the_check_leaves_the_live_app_untouched() {
    let t = Test::blue_live().with("command = [\"sh\", \"-c\", \"kill -INT $PPID; sleep 20\"]");
    let started = std::time::Instant::now();
    let run = t.run(&["deploy"]);
    run.expect_code(130)
        .stderr_has("interrupted: finishing the step in progress")
        .stderr_has("hint: `cf-bluegreen status` shows the apps")
        .stderr_has("sinatra_a still serves the live route, and sinatra_b is stopped");
    // The smoke command was killed, not waited for.
    assert!(started.elapsed().as_secs() < 15);
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn interrupt_between_map_and_unmap_undoes_the_map() {
    let t = Test::blue_live();
    // map-route #2 maps the live route to the new app; the interrupt arrives while it runs.
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "map-route:2:interrupt")]);
    run.expect_code(130)
        .stderr_has("interrupted during map live route sinatralive.de.a9sapp.eu to sinatra_b");
    assert!(run.mutations().contains(&format!(
        "cf unmap-route {GREEN} de.a9sapp.eu --hostname sinatralive"
    )));
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn interrupt_after_the_old_app_was_unmapped_completes_the_switch() {
    let t = Test::blue_live();
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "unmap-route:1:interrupt")]);
    run.expect_code(130)
        .stderr_has("the switch had begun, so it was completed: sinatra_b is live");
    t.assert_converged(&[LIVE]);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn second_interrupt_stops_at_once_and_prints_the_commands() {
    let t = Test::blue_live();
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "map-route:2:interrupt2")]);
    run.expect_code(130)
        .stderr_has("stopped at once during: map live route sinatralive.de.a9sapp.eu to sinatra_b")
        .stderr_has("    cf unmap-route sinatra_b de.a9sapp.eu --hostname sinatralive")
        .stderr_has("    cf stop sinatra_b");
    // The live app kept its route throughout.
    assert_eq!(t.app_routes(BLUE), [LIVE]);
    // The lock stays with the stopped run; the next deploy breaks it and converges.
    t.run(&["deploy"])
        .expect_code(1)
        .stderr_has("another deploy");
    t.run(&["deploy", "--force-unlock"]).expect_code(0);
    t.assert_converged(&[LIVE]);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn sigterm_from_ci_is_an_interrupt_too() {
    let t = Test::blue_live();
    let child = t.spawn(&["deploy"], &[("FAKE_CF_LATENCY", "0.2")]);
    // Wait until the deploy is past the push, well inside the switch.
    let started = std::time::Instant::now();
    while !t.log().iter().any(|c| c.argv[0] == "map-route") {
        assert!(
            started.elapsed().as_secs() < 30,
            "the deploy never reached map-route"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted during"), "{stderr}");
    assert_eq!(t.assert_converged(&[LIVE]), BLUE);
    assert_always_served(&t.log(), LIVE);
}
