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
    // status says the live version was not verified, and where the way back is.
    t.run(&["status"]).expect_code(0).stdout_has(&format!(
        "switch not finished: {GREEN} took the live routes, but has no live-since record yet: \
         its verification ([verify]) is under way or was cut short: the live version is NOT verified. \
         {BLUE} is still started without routes"
    ));
    let json = t.run(&["status", "--json"]);
    json.expect_code(0).stdout_has(&format!(
        "\"unfinished_switch\":{{\"live\":\"{GREEN}\",\"previous\":\"{BLUE}\",\"verify\":true}}"
    ));
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

#[test]
fn an_unmap_from_the_old_app_that_failed_but_took_effect_still_leads_to_the_verification() {
    // The unmap from blue fails after cf applied it: the switch is finished forward, but
    // green was never verified, so the verification runs, fails, and switches back.
    let t = verifying(Test::blue_live_green_stopped().broken_app(GREEN), "");
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "unmap-route:1:after")]);
    run.expect_code(1)
        .stderr_has(&format!(
            "{GREEN} has not been verified yet: verifying it now; {BLUE} stays started until it passes"
        ))
        .stderr_has("status 500 (expected 200)")
        .stderr_has(&format!(
            "the live routes went back to {BLUE}, which had stayed started, and {GREEN} is stopped"
        ));
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert!(!run.mutations().iter().any(|m| m.starts_with("cf start")));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn an_interrupt_before_the_verification_keeps_the_old_app_and_says_the_version_is_not_verified() {
    let t = verifying(Test::blue_live_green_stopped().broken_app(GREEN), "");
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "unmap-route:1:interrupt")]);
    run.expect_code(130).stderr_has(&format!(
        "the new version was NOT verified: {GREEN} is live, and {BLUE} was left started without routes"
    ));
    assert_eq!(t.app_routes(GREEN), [LIVE]);
    assert!(t.app_routes(BLUE).is_empty());
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
    assert_always_served(&t.log(), LIVE);
}

/// A local server that sends SIGINT to the process in `pid` `signals` times while a
/// request is in flight, then answers `status`.
fn interrupting_server(
    signals: usize,
    status: &'static str,
) -> (String, std::sync::Arc<std::sync::Mutex<u32>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let pid = std::sync::Arc::new(std::sync::Mutex::new(0u32));
    let target = pid.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            for _ in 0..signals {
                let p = *target.lock().unwrap();
                let _ = std::process::Command::new("kill")
                    .args(["-INT", &p.to_string()])
                    .status();
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            let body = "verify";
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, pid)
}

#[test]
fn a_failed_check_beside_an_interrupt_still_switches_back() {
    let (url, pid) = interrupting_server(1, "500 Internal Server Error");
    let t = Test::blue_live_green_stopped().with(&format!(
        "[verify]\nduration = \"5s\"\ninterval = \"100ms\"\nurl = \"{url}\"\n"
    ));
    let child = t.spawn(&["deploy"], &[]);
    *pid.lock().unwrap() = child.id();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("the live routes went back to {BLUE}")),
        "{stderr}"
    );
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert!(t.annotation(GREEN, "cf-bluegreen/verify-failed").is_some());
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_second_interrupt_during_the_verification_never_says_to_retire_the_old_app() {
    let (url, pid) = interrupting_server(2, "200 OK");
    let t = Test::blue_live_green_stopped().with(&format!(
        "[switch]\nold = \"delete\"\n[verify]\nduration = \"5s\"\ninterval = \"100ms\"\nurl = \"{url}\"\n"
    ));
    let child = t.spawn(&["deploy"], &[]);
    *pid.lock().unwrap() = child.id();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stopped at once during: verify"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{BLUE} stays started without routes: `cf-bluegreen rollback` switches back to it without a start."
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(&format!("cf delete {BLUE}")), "{stderr}");
    assert!(!stderr.contains(&format!("cf stop {BLUE}")), "{stderr}");
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
}

#[test]
fn the_switch_back_waits_for_the_router_before_the_new_app_lets_go() {
    // The router learns a mapping 1.5s late; green answers live, but not what the
    // verification expects.
    let t = Test::blue_live_green_stopped().router_lag(1500);
    let live = t.live_url().to_string();
    let t = verifying(
        t.with(&format!("[switch]\nverify-live-url = \"{live}\"")),
        &format!("expect-body = \"{BLUE}\""),
    );
    let run = t.run(&["deploy"]);
    run.expect_code(1);
    let at = |needle: &str| {
        run.stderr
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in\n{}", run.stderr))
    };
    let map_back = at(&format!("recover: map live route {LIVE} to {BLUE} ..."));
    let check = at(&format!(
        "recover: check that the router sends {live} to {BLUE} ..."
    ));
    let unmap = at(&format!(
        "recover: unmap live route {LIVE} from {GREEN} ..."
    ));
    assert!(map_back < check && check < unmap, "{}", run.stderr);
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_switch_back_to_an_old_app_without_running_instances_keeps_both_mapped_and_exits_3() {
    // While it waited, blue's instances crashed; then the verification fails.
    let t = Test::blue_live_green_stopped();
    let crashed = t.state_dir().join("apps").join(BLUE).join("crashed");
    let live = t.live_url().to_string();
    let t = verifying(
        t.with(&format!("[switch]\nverify-live-url = \"{live}\"")),
        &format!(
            "command = [\"sh\", \"-c\", \"touch {}; exit 1\"]",
            crashed.display()
        ),
    );
    let run = t.run(&["deploy"]);
    run.expect_code(3)
        .stderr_has(&format!(
            "{BLUE} holds the live routes again, but the router did not send the live URL to it, so the new version was left on them too: both apps serve"
        ))
        .stderr_has(&format!("cf unmap-route {GREEN} de.a9sapp.eu --hostname sinatralive"));
    // The new version still serves: the live route never went to nothing but a crashed app.
    let mut routes = t.app_routes(GREEN);
    routes.retain(|r| r == LIVE);
    assert_eq!(routes, [LIVE]);
    assert_eq!(t.app_state(GREEN).as_deref(), Some("started"));
}

#[test]
fn a_rollback_after_a_switch_back_refuses_to_put_the_rejected_version_live() {
    let t = verifying(Test::blue_live_green_stopped().broken_app(GREEN), "");
    t.run(&["deploy"]).expect_code(1);
    let run = t.run(&["rollback"]);
    run.expect_code(1)
        .stderr_has(&format!(
            "nothing to roll back: {GREEN} holds the newer version, which failed its verification after the switch"
        ))
        .stderr_has(&format!("{BLUE} already serves the version that was live before it"));
    // Refused from the first read: nothing written, not even the lock.
    assert!(!run.calls.iter().any(Call::is_mutating), "{}", run.dump());
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
}

/// The switch back fails for good at its first map back (three attempts): the rejected
/// green alone holds the live route, blue started without routes, exit 3.
fn switch_back_stopped_before_its_map_back() -> Test {
    let t = verifying(Test::blue_live_green_stopped().broken_app(GREEN), "");
    // map-route 1: staging, 2: live, 3-5: the live route back to blue, three times.
    t.run_with(
        &["deploy"],
        &[("FAKE_CF_FAIL", "map-route:3,map-route:4,map-route:5")],
    )
    .expect_code(3);
    assert!(t.app_routes(GREEN).iter().any(|r| r == LIVE));
    assert!(t.app_routes(BLUE).is_empty());
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
    t
}

#[test]
fn the_next_deploy_finishes_a_switch_back_that_stopped_before_its_map_back() {
    let t = switch_back_stopped_before_its_map_back();
    std::fs::remove_file(t.state_dir().join("broken-app")).unwrap();
    let run = t.run(&["deploy", "--force-unlock"]);
    run.expect_code(0).stderr_has(&format!(
        "{GREEN} holds the live routes with a version that was switched back from, and {BLUE} is still started"
    ));
    // The switch back first, then the push over the rejected version.
    let m = run.mutations();
    let at = |needle: &str| {
        m.iter()
            .position(|c| c.starts_with(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {m:#?}"))
    };
    let back = at(&format!(
        "cf map-route {BLUE} de.a9sapp.eu --hostname sinatralive"
    ));
    let off = at(&format!(
        "cf unmap-route {GREEN} de.a9sapp.eu --hostname sinatralive"
    ));
    let stop = at(&format!("cf stop {GREEN}"));
    let push = at(&format!("cf push {GREEN}"));
    assert!(back < off && off < stop && stop < push, "{m:#?}");
    t.assert_converged(&[LIVE]);
    assert_eq!(t.app_routes(GREEN), [LIVE]);
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_rollback_finishes_a_switch_back_that_stopped_before_its_map_back() {
    let t = switch_back_stopped_before_its_map_back();
    let run = t.run(&["rollback", "--force-unlock"]);
    run.expect_code(0);
    assert!(!run.mutations().iter().any(|m| m.starts_with("cf start")));
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_switch_finished_forward_and_then_verified_retires_the_old_app() {
    let t = verifying(Test::blue_live_green_stopped(), "");
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "unmap-route:1:after")]);
    run.expect_code(0)
        .stderr_has(&format!(
            "{GREEN} has not been verified yet: verifying it now"
        ))
        .stderr_has(&format!("verify {GREEN} at "));
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
    assert!(t.annotation(GREEN, LIVE_SINCE).is_some());
    assert_always_served(&t.log(), LIVE);
}
