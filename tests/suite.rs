//! Several app pairs in one run (`[[deployments]]`): against the bash fake, end to end.

use crate::support::*;

const DOMAIN: &str = "de.a9sapp.eu";

/// Three pairs, `web`, `api` and `worker`: apps `NAME_a`/`NAME_b`, live `NAME.DOMAIN`,
/// `NAME_a` live and `NAME_b` stopped. No HTTP check (the router serves one pair's
/// staging route; the single-pair tests cover the check).
fn three_pairs(extra_top: &str) -> Test {
    let mut text = format!("{extra_top}\n[smoke]\nenabled = false\n[switch]\ndrain = \"0s\"\n");
    let mut t = Test::new();
    for name in PAIRS {
        text.push_str(&format!(
            "\n[[deployments]]\nname = \"{name}\"\napps = {{ blue = \"{name}_a\", green = \"{name}_b\" }}\n\
             routes = {{ domain = \"{DOMAIN}\", live = \"{name}\", staging = \"{name}-staging\" }}\n"
        ));
        t = t.app(&format!("{name}_a"), "started", &[&live(name)]).app(
            &format!("{name}_b"),
            "stopped",
            &[],
        );
    }
    t.config(&text)
}

const PAIRS: [&str; 3] = ["web", "api", "worker"];

fn live(name: &str) -> String {
    format!("{name}.{DOMAIN}")
}

/// Which app of pair `name` holds its live route, and that the other one holds nothing.
#[track_caller]
fn live_app(t: &Test, name: &str) -> String {
    let (a, b) = (format!("{name}_a"), format!("{name}_b"));
    let holders: Vec<String> = [&a, &b]
        .into_iter()
        .filter(|app| t.app_routes(app).contains(&live(name)))
        .cloned()
        .collect();
    assert_eq!(holders.len(), 1, "{name}: {holders:?}");
    let other = if holders[0] == a { &b } else { &a };
    assert!(
        t.app_routes(other).is_empty(),
        "{other}: {:?}",
        t.app_routes(other)
    );
    assert_eq!(t.app_state(&holders[0]).as_deref(), Some("started"));
    holders[0].clone()
}

#[test]
fn every_pair_deploys_side_by_side_and_the_summary_lists_each() {
    let t = three_pairs("");
    // At 100 ms a call, pairs that run side by side have pushes of one overlapping calls
    // of another, however busy the machine.
    let run = t.run_with(
        &["deploy", "--parallel", "3"],
        &[("FAKE_CF_LATENCY", "0.1")],
    );
    run.expect_code(0)
        .stderr_has("3 of 3 deployments deployed")
        .stderr_has("  ok   web: web_b is live")
        .stderr_has("  ok   worker: worker_b is live")
        .stderr_has("[api] ok   push the new version to api_b");
    let log = t.log();
    for name in PAIRS {
        assert_eq!(live_app(&t, name), format!("{name}_b"));
        assert_always_served(&log, &live(name));
    }
    // Side by side: every pair's calls span a time that overlaps every other pair's
    // (one after another, each would begin after the one before had ended).
    let span = |pair: &str| {
        let calls: Vec<&Call> = log
            .iter()
            .filter(|c| c.argv.iter().any(|a| a.starts_with(&format!("{pair}_"))))
            .collect();
        let start = calls
            .iter()
            .filter_map(|c| c.start)
            .fold(f64::MAX, f64::min);
        let end = calls.iter().filter_map(|c| c.end).fold(f64::MIN, f64::max);
        (start, end)
    };
    if log.iter().all(|c| c.start.is_some()) {
        for a in PAIRS {
            for b in PAIRS.iter().filter(|b| **b != a) {
                let ((a0, a1), (b0, b1)) = (span(a), span(b));
                assert!(
                    a0 < b1 && b0 < a1,
                    "{a} and {b} ran one after the other\n{}",
                    run.dump()
                );
            }
        }
    }
}

#[test]
fn a_failing_pair_leaves_the_others_deployed_and_exits_1() {
    let t = three_pairs("").touch("apps/api_b/crashed");
    let run = t.run(&["deploy"]);
    run.expect_code(1)
        .stderr_has("[api] error: push the new version to api_b")
        .stderr_has("2 of 3 deployments deployed")
        .stderr_has("  FAIL api: exit 1; api_a is still live")
        .stderr_has("error: 1 of 3 deployments did not deploy: api (exit 1)");
    assert_eq!(live_app(&t, "web"), "web_b");
    assert_eq!(live_app(&t, "api"), "api_a");
    assert_eq!(live_app(&t, "worker"), "worker_b");
    for name in PAIRS {
        assert_always_served(&t.log(), &live(name));
    }
}

#[test]
fn all_or_nothing_switches_no_pair_when_one_fails() {
    let t = three_pairs("").touch("apps/worker_b/crashed");
    let run = t.run(&["deploy", "--all-or-nothing"]);
    run.expect_code(1)
        .stderr_has("[web] warning: web_b passed its checks, but another deployment of the suite did not pass its checks")
        .stderr_has("0 of 3 deployments deployed");
    for name in PAIRS {
        assert_eq!(live_app(&t, name), format!("{name}_a"));
        // As after an abort: the new version stopped, without the staging route.
        assert_eq!(
            t.app_state(&format!("{name}_b")).as_deref(),
            Some("stopped")
        );
        assert_always_served(&t.log(), &live(name));
    }
    // Nothing live moved: no live route was ever mapped to a new version.
    assert!(!run
        .mutations()
        .iter()
        .any(|m| m.starts_with("cf map-route") && m.contains("_b") && !m.contains("-staging")));
}

#[test]
fn all_or_nothing_switches_every_pair_when_all_pass() {
    let t = three_pairs("");
    t.run(&["deploy", "--all-or-nothing", "--parallel", "2"])
        .expect_code(0);
    for name in PAIRS {
        assert_eq!(live_app(&t, name), format!("{name}_b"));
    }
}

#[test]
fn only_deploys_the_named_pairs() {
    let t = three_pairs("");
    let run = t.run(&["deploy", "--only", "api", "--only", "worker"]);
    run.expect_code(0).stderr_has("2 of 2 deployments deployed");
    assert_eq!(live_app(&t, "web"), "web_a");
    assert_eq!(live_app(&t, "api"), "api_b");
    assert_eq!(live_app(&t, "worker"), "worker_b");
    assert!(!run.mutations().iter().any(|m| m.contains("web_")));

    t.run(&["deploy", "--only", "nope"])
        .expect_code(2)
        .stderr_has("nope");
}

#[test]
fn status_and_dry_run_show_every_pair() {
    let t = three_pairs("");
    let status = t.run(&["status"]);
    status.expect_code(0);
    for name in PAIRS {
        status.stdout_has(&format!("# {name}"));
        status.stdout_has(&format!("{name}_a"));
    }
    let dry = t.run(&["deploy", "--dry-run"]);
    dry.expect_code(0).expect_no_mutation();
    for name in PAIRS {
        dry.stdout_has(&format!("cf push {name}_b --no-route"));
    }
}

#[test]
fn an_interrupt_during_a_multi_pair_run_leaves_every_pair_safe() {
    let t = three_pairs("");
    // The second push gets the interrupt: by then every pair is somewhere in its run.
    let run = t.run_with(
        &["deploy", "--parallel", "3"],
        &[("FAKE_CF_FAIL", "push:2:interrupt")],
    );
    run.expect_code(130);
    let log = t.log();
    for name in PAIRS {
        // Each pair either switched or was undone; none is left halfway.
        let holder = live_app(&t, name);
        let other = if holder.ends_with("_a") {
            format!("{name}_b")
        } else {
            format!("{name}_a")
        };
        assert_eq!(t.app_state(&other).as_deref(), Some("stopped"), "{other}");
        assert_always_served(&log, &live(name));
    }
    // The next run converges every pair.
    t.run(&["deploy"]).expect_code(0);
    for name in PAIRS {
        live_app(&t, name);
    }
}

/// A local server answering 200 to everything: the `[verify]` URL of a healthy pair.
fn answering_ok() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    url
}

#[test]
fn all_or_nothing_switches_every_pair_back_when_one_fails_its_verification() {
    // `shop` (the sinatra pair) is verified through the live router, which answers 500
    // for its new version only; `api` is verified against a server that always passes.
    let text = format!(
        "[smoke]\nenabled = false\n[switch]\ndrain = \"0s\"\n\n\
         [[deployments]]\nname = \"shop\"\napps = {{ blue = \"{BLUE}\", green = \"{GREEN}\" }}\n\
         routes = {{ domain = \"{DOMAIN}\", live = \"sinatralive\", staging = \"sinatrastaging\" }}\n\
         [deployments.verify]\nduration = \"1s\"\ninterval = \"100ms\"\nurl = \"{{live_url}}\"\n\n\
         [[deployments]]\nname = \"api\"\napps = {{ blue = \"api_a\", green = \"api_b\" }}\n\
         routes = {{ domain = \"{DOMAIN}\", live = \"api\", staging = \"api-staging\" }}\n\
         [deployments.verify]\nduration = \"1s\"\ninterval = \"100ms\"\nurl = \"{}\"\n",
        answering_ok()
    );
    let t = Test::blue_live_green_stopped()
        .app("api_a", "started", &[&live("api")])
        .app("api_b", "stopped", &[]);
    let text = text.replace("{live_url}", t.live_url());
    let t = t.config(&text).broken_app(GREEN);
    let run = t.run(&["deploy", "--all-or-nothing"]);
    run.expect_code(1)
        .stderr_has("[shop] error: verify sinatra_b at http://")
        .stderr_has("[api] warning: api_b passed its verification, but another deployment of the suite did not: switching back (--all-or-nothing)")
        .stderr_has("the live routes went back to api_a, which had stayed started, and api_b is stopped")
        .stderr_has("0 of 2 deployments deployed")
        .stderr_has("  FAIL api: exit 1; switched back to api_a: its new version passed, but another deployment did not (--all-or-nothing)")
        .stderr_has("error: 2 of 2 deployments did not deploy: shop (exit 1), api (exit 1)");
    assert_eq!(live_app(&t, "api"), "api_a");
    assert_eq!(t.app_state("api_b").as_deref(), Some("stopped"));
    assert_eq!(t.app_routes(BLUE), [LIVE]);
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
    assert_eq!(t.app_state(GREEN).as_deref(), Some("stopped"));
    assert!(t.app_routes(GREEN).is_empty());
    // Both went back with route calls only: neither old app was ever stopped.
    assert!(!run.mutations().iter().any(|m| m.starts_with("cf start")));
    let log = t.log();
    assert_always_served(&log, LIVE);
    assert_always_served(&log, &live("api"));
    // Only the broken version is recorded as failed; the healthy one as sent back.
    let deploy = t.annotation("api_b", DEPLOY).unwrap();
    assert_eq!(t.annotation("api_b", "cf-bluegreen/verify-failed"), None);
    assert_eq!(
        t.annotation("api_b", "cf-bluegreen/switched-back"),
        Some(deploy.clone())
    );
    assert!(t.annotation(GREEN, "cf-bluegreen/verify-failed").is_some());
    t.run(&["status"])
        .expect_code(0)
        .stdout_has("api_b: deployed ")
        .stdout_has("; switched back after its verification because another deployment of the suite did not pass (--all-or-nothing), deploy ");
    t.run(&["status", "--json"])
        .expect_code(0)
        .stdout_has(&format!("\"switched_back\":\"{deploy}\""));
    // Fixed, a plain deploy converges both pairs.
    std::fs::remove_file(t.state_dir().join("broken-app")).unwrap();
    t.run(&["deploy"]).expect_code(0);
    assert_eq!(live_app(&t, "api"), "api_b");
    assert_eq!(t.app_routes(GREEN), [LIVE]);
    assert_eq!(t.app_state(BLUE).as_deref(), Some("stopped"));
}

#[test]
fn all_or_nothing_an_interrupt_after_the_switch_leaves_every_previous_app_warm() {
    // `api` has no [verify]: it switches and waits for `shop`, whose verification
    // interrupts the run once `api`'s old app has lost its route (so `api` is waiting).
    let t = Test::blue_live_green_stopped()
        .app("api_a", "started", &[&live("api")])
        .app("api_b", "stopped", &[]);
    let api_a_routes = t.state_dir().join("apps/api_a/routes");
    let command = format!(
        "while [ -s '{}' ]; do sleep 0.05; done; kill -INT $PPID; sleep 5",
        api_a_routes.display()
    );
    let text = format!(
        "[smoke]\nenabled = false\n[switch]\ndrain = \"0s\"\n\n\
         [[deployments]]\nname = \"shop\"\napps = {{ blue = \"{BLUE}\", green = \"{GREEN}\" }}\n\
         routes = {{ domain = \"{DOMAIN}\", live = \"sinatralive\", staging = \"sinatrastaging\" }}\n\
         [deployments.verify]\nduration = \"10s\"\ninterval = \"100ms\"\nurl = \"{}\"\n\
         command = [\"sh\", \"-c\", {command:?}]\n\n\
         [[deployments]]\nname = \"api\"\napps = {{ blue = \"api_a\", green = \"api_b\" }}\n\
         routes = {{ domain = \"{DOMAIN}\", live = \"api\", staging = \"api-staging\" }}\n",
        t.live_url()
    );
    let t = t.config(&text);
    let run = t.run(&["deploy", "--all-or-nothing"]);
    // As an interrupt during a verification: the switch stays, the old app warm.
    run.expect_code(130).stderr_has(
        "[api] error: interrupted during unmap live route api.de.a9sapp.eu from api_a: \
         the switch was done: api_b is live; api_a was left running without routes",
    );
    // The summary names the app that is live now, not the one live before.
    run.stderr_has("FAIL api: exit 130; api_b is live\n")
        .stderr_has(&format!("FAIL shop: exit 130; {GREEN} is live\n"));
    for (old, new, route) in [
        (BLUE, GREEN, LIVE.to_string()),
        ("api_a", "api_b", live("api")),
    ] {
        assert_eq!(t.app_routes(new), [route.as_str()], "{}", run.dump());
        assert_eq!(t.app_state(new).as_deref(), Some("started"));
        assert!(t.app_routes(old).is_empty(), "{old}");
        assert_eq!(t.app_state(old).as_deref(), Some("started"), "{old}");
        assert_always_served(&t.log(), &route);
    }
    // The next plain deploy resolves it and pushes to the warm previous apps.
    let quick = text
        .replace(&format!("command = [\"sh\", \"-c\", {command:?}]\n"), "")
        .replace("duration = \"10s\"", "duration = \"1s\"");
    assert_ne!(quick, text);
    let t = t.config(&quick);
    t.run(&["deploy"]).expect_code(0);
    assert_eq!(live_app(&t, "api"), "api_a");
    assert_eq!(t.app_routes(BLUE), [LIVE]);
}
