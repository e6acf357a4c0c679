//! What a real Cloud Foundry adds to the zero-downtime guarantee (issue 7): every route
//! the live app holds moves, network policies follow, capacity matches, the router has
//! the new route before the old app lets go, requests in flight finish, and leftovers a
//! real platform produces resolve. The fake cf reproduces the behaviour each depends on.

use crate::support::*;

const INTERNAL: &str = "shop.apps.internal";
const TCP: &str = "tcp.example.com:1234";
const OTHER: &str = "www.other.example/api";

/// Blue is live with the configured route and three it was given by hand.
fn blue_live_with_unlisted_routes() -> Test {
    Test::new()
        .app(BLUE, "started", &[LIVE, INTERNAL, TCP, OTHER])
        .app(GREEN, "stopped", &[])
}

#[test]
fn every_route_the_live_app_holds_moves_and_stays_served() {
    let t = blue_live_with_unlisted_routes();
    let dry = t.run(&["deploy", "--dry-run"]);
    dry.expect_code(0)
        .stderr_has("routes not in deploy.toml move with the live app too: shop.apps.internal, tcp.example.com:1234, www.other.example/api")
        .stdout_has("cf map-route sinatra_b apps.internal --hostname shop")
        .stdout_has("cf map-route sinatra_b tcp.example.com --port 1234")
        .stdout_has("cf map-route sinatra_b other.example --hostname www --path /api")
        .stdout_has("cf unmap-route sinatra_a tcp.example.com --port 1234");
    t.run(&["status"])
        .expect_code(0)
        .stdout_has("not in deploy.toml, moved with the live app: shop.apps.internal");
    t.run(&["deploy"]).expect_code(0);
    let mut routes = t.app_routes(GREEN);
    routes.sort();
    assert_eq!(routes, [INTERNAL, LIVE, TCP, OTHER]);
    assert!(t.app_routes(BLUE).is_empty());
    for route in [LIVE, INTERNAL, TCP, OTHER] {
        assert_always_served(&t.log(), route);
    }
    // And back, as a rollback.
    t.run(&["rollback"]).expect_code(0);
    assert_eq!(t.app_routes(BLUE).len(), 4);
    for route in [LIVE, INTERNAL, TCP, OTHER] {
        assert_always_served(&t.log(), route);
    }
}

#[test]
fn unlisted_routes_can_be_refused_before_any_change() {
    let t = blue_live_with_unlisted_routes();
    // `with` appends, and a second [routes] table is a TOML error: set it in place.
    let config = t.default_config().replace(
        "staging = \"sinatrastaging\"\n",
        "staging = \"sinatrastaging\"\nunlisted = \"refuse\"\n",
    );
    let t = t.config(&config);
    t.run(&["deploy"])
        .expect_code(2)
        .stderr_has("routes.unlisted = \"refuse\": shop.apps.internal (on sinatra_a), tcp.example.com:1234 (on sinatra_a)")
        .stderr_has("[[routes.extra]]\n    domain = \"tcp.example.com\"\n    port = 1234")
        .expect_no_mutation();
}

#[test]
fn network_policies_follow_the_app_and_the_old_ones_stay() {
    let t = Test::blue_live_green_stopped()
        .app("frontend", "started", &[])
        .app("backend", "started", &[])
        .policy("frontend", BLUE, "tcp", 8080)
        .policy(BLUE, "backend", "udp", 9000);
    let before = t.policies().len();
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has("gave sinatra_b the network policies of sinatra_a:");
    let policies = t.policies();
    let has = |src: &str, dst: &str, protocol: &str, port: u16| {
        policies.iter().any(|p| {
            p.source == t.guid_of(src)
                && p.destination == t.guid_of(dst)
                && p.protocol == protocol
                && p.start == port
        })
    };
    assert!(has("frontend", GREEN, "tcp", 8080), "{policies:?}");
    assert!(has(GREEN, "backend", "udp", 9000), "{policies:?}");
    // Never removed from the old app.
    assert!(has("frontend", BLUE, "tcp", 8080) && has(BLUE, "backend", "udp", 9000));
    assert_eq!(policies.len(), before + 2);
    // A second deploy back to blue adds nothing twice.
    t.run(&["deploy"]).expect_code(0);
    assert_eq!(t.policies().len(), before + 2);
}

#[test]
fn the_new_version_gets_the_live_apps_instances_before_live_traffic() {
    let t = Test::blue_live_green_stopped().instances(BLUE, 3);
    let run = t.run(&["deploy"]);
    run.expect_code(0)
        .stderr_has("scaled sinatra_b from 1 to 3 instances, as many as sinatra_a runs");
    assert_eq!(t.app_instances(GREEN), Some((3, 3)));
    // The scale came before the live map, and the old app was never scaled down.
    let lines: Vec<String> = run.calls.iter().map(Call::line).collect();
    let scale = lines
        .iter()
        .position(|l| l == "cf scale sinatra_b -i 3")
        .unwrap();
    let live_map = lines
        .iter()
        .position(|l| l == "cf map-route sinatra_b de.a9sapp.eu --hostname sinatralive")
        .unwrap();
    assert!(scale < live_map, "{lines:#?}");
    assert!(!lines.iter().any(|l| l.starts_with("cf scale sinatra_a")));
}

#[test]
fn instances_that_never_come_up_keep_the_old_version_live() {
    let t = Test::blue_live_green_stopped()
        .instances(BLUE, 2)
        .stuck(GREEN)
        .with("[cf]\ntimeout = \"5s\"");
    let run = t.run(&["deploy"]);
    run.expect_code(1)
        .stderr_has("run as many instances of sinatra_b as sinatra_a does failed");
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn the_users_instance_count_wins_with_a_warning() {
    let t = Test::blue_live_green_stopped()
        .instances(BLUE, 4)
        .with("[push]\nargs = [\"-i\", \"2\"]");
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has("sinatra_a runs 4 instances, but the push asks for 2");
    assert_eq!(t.app_instances(GREEN), Some((2, 2)));
}

/// The live check through the test router, which learns new routes `lag` ms late.
fn verifying(t: Test) -> Test {
    let url = t.live_url().to_string();
    t.with(&format!("[switch]\nverify-live-url = \"{url}\""))
}

#[test]
fn the_old_app_keeps_the_route_until_the_router_sends_it_to_the_new_one() {
    let t = verifying(Test::blue_live_green_stopped().router_lag(400));
    let run = t.run(&["deploy", "-v"]);
    run.expect_code(0)
        .stderr_has("ok   check that the router sends")
        .stderr_has("unknown_route");
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn a_new_version_failing_on_the_live_route_never_takes_it_alone() {
    // It passes on staging, and fails once the router sends it live traffic.
    let t = verifying(Test::blue_live_green_stopped().broken_app(GREEN));
    t.run(&["deploy"])
        .expect_code(1)
        .stderr_has("check that the router sends")
        .stderr_has("the old version kept every live route");
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn an_interrupt_during_the_drain_leaves_the_old_app_running_without_routes() {
    // Long enough to interrupt it; the deploy at the end drains this long too.
    let t = Test::blue_live_green_stopped().with("[switch]\ndrain = \"6s\"");
    let mut child = t.spawn(&["deploy"], &[]);
    let stderr = child.stderr.take().unwrap();
    let mut reader = std::io::BufReader::new(stderr);
    let mut seen = String::new();
    let started = std::time::Instant::now();
    loop {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut reader, &mut line).unwrap() == 0 {
            panic!("the deploy ended before the drain:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains("let requests in flight to sinatra_a finish") {
            break;
        }
    }
    unsafe { libc_kill(child.id() as i32) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(
        started.elapsed().as_secs() < 15,
        "the drain was not cut short"
    );
    assert!(
        rest.contains("sinatra_a was left running without routes"),
        "{rest}"
    );
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
    assert!(t.app_routes(BLUE).is_empty());
    assert_eq!(t.app_routes(GREEN), [LIVE]);
    // The next deploy resolves it: it pushes to the old app.
    t.run(&["deploy"]).expect_code(0);
    t.assert_converged(&[LIVE]);
    assert_always_served(&t.log(), LIVE);
}

/// SIGINT, as Ctrl-C sends it.
unsafe fn libc_kill(pid: i32) {
    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    kill(pid, 2);
}

#[test]
fn a_stopped_app_holding_the_live_route_beside_the_live_one_is_cleaned_up() {
    let t = Test::new()
        .app(BLUE, "started", &[LIVE])
        .app(GREEN, "stopped", &[LIVE]);
    t.run(&["deploy"])
        .expect_code(0)
        .stderr_has("sinatra_b is stopped and serves nothing: unmapping the live routes from it");
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn an_interrupt_just_before_the_drain_still_drains_before_the_stop() {
    // The interrupt arrives while the old app loses its live route: recovery finishes the
    // switch, and the old app is stopped only after the drain, which it does not cut.
    let t = Test::blue_live_green_stopped().with("[switch]\ndrain = \"2s\"");
    let started = std::time::Instant::now();
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "unmap-route:1:interrupt")]);
    run.expect_code(130)
        .stderr_has("ok   recover: let requests in flight to sinatra_a finish (2s)")
        .stderr_has("the switch had begun, so it was completed: sinatra_b is live");
    assert!(started.elapsed().as_secs() >= 2);
    let lines: Vec<String> = run.calls.iter().map(Call::line).collect();
    let unmap = lines
        .iter()
        .position(|l| l == "cf unmap-route sinatra_a de.a9sapp.eu --hostname sinatralive")
        .unwrap();
    let stop = lines.iter().position(|l| l == "cf stop sinatra_a").unwrap();
    assert!(unmap < stop);
    t.assert_converged(&[LIVE]);
    assert_always_served(&t.log(), LIVE);
}
