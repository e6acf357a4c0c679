//! The fake cf must behave like the real one where the tool depends on it
//! (../shared/reference/cf-cli-facts.md).

use std::process::Command;

use crate::support::*;

fn cf(t: &Test, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(fake_cf())
        .args(args)
        .env("FAKE_CF_STATE", t.state_dir())
        .env_remove("FAKE_CF_FAIL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn v7_plus_rejects_push_route_flags() {
    let t = Test::new();
    for flag in ["-n", "--hostname", "-d", "--route-path"] {
        let (code, _, err) = cf(&t, &["push", "x", flag, "y"]);
        assert_eq!(code, 1);
        let name = flag.trim_start_matches('-');
        assert!(
            err.contains(&format!("Incorrect Usage: unknown flag `{name}'")),
            "{err}"
        );
    }
    assert!(t.app_state("x").is_none());
}

#[test]
fn idempotent_where_real_cf_is() {
    let t = Test::new().app("a", "started", &["r.d.com"]);
    assert_eq!(cf(&t, &["map-route", "a", "d.com", "--hostname", "r"]).0, 0);
    assert_eq!(cf(&t, &["stop", "a"]).0, 0);
    assert_eq!(cf(&t, &["stop", "a"]).0, 0);
    assert_eq!(cf(&t, &["start", "a"]).0, 0);
    assert_eq!(cf(&t, &["start", "a"]).0, 0);
    assert_eq!(
        cf(&t, &["unmap-route", "a", "d.com", "--hostname", "r"]).0,
        0
    );
    // Unmapping a route that exists but is not mapped: fine.
    assert_eq!(
        cf(&t, &["unmap-route", "a", "d.com", "--hostname", "r"]).0,
        0
    );
    // Unmapping a route that does not exist at all: error.
    let (code, out, err) = cf(
        &t,
        &[
            "unmap-route",
            "a",
            "d.com",
            "--hostname",
            "nope",
            "--path",
            "p",
        ],
    );
    assert_eq!(code, 1);
    assert!(out.contains("FAILED"));
    assert!(
        err.contains("Route with host 'nope', domain 'd.com', and path '/p' not found."),
        "{err}"
    );
    assert_eq!(cf(&t, &["delete", "gone", "-f"]).0, 0);
}

#[test]
fn no_route_push_drops_existing_routes_and_manifest_routes_are_added_otherwise() {
    let t = Test::new().app("a", "stopped", &["old.d.com"]).write(
        "m.yml",
        "applications:\n- name: a\n  routes:\n  - route: live.d.com\n",
    );
    let manifest = t.dir.path().join("m.yml");
    assert_eq!(
        cf(
            &t,
            &["push", "a", "--no-route", "-f", manifest.to_str().unwrap()]
        )
        .0,
        0
    );
    assert!(t.app_routes("a").is_empty());
    assert_eq!(t.app_state("a").as_deref(), Some("started"));
    assert_eq!(
        cf(&t, &["push", "a", "-f", manifest.to_str().unwrap()]).0,
        0
    );
    assert_eq!(t.app_routes("a"), ["live.d.com"]);
    // An app without routes pushed without --no-route gets the default route.
    assert_eq!(cf(&t, &["push", "b"]).0, 0);
    assert_eq!(t.app_routes("b"), ["b.apps.example.com"]);
}

#[test]
fn app_not_found_and_not_logged_in() {
    let t = Test::new();
    let (code, out, err) = cf(&t, &["app", "nope"]);
    assert_eq!(code, 1);
    assert!(out.contains("FAILED"));
    assert!(err.contains("App 'nope' not found."));
    let t = t.touch("logged-out");
    let (code, _, err) = cf(&t, &["target"]);
    assert_eq!(code, 1);
    assert!(err.contains("Not logged in. Use 'cf login' or 'cf login --sso' to log in."));
}

#[test]
fn faults_and_log() {
    let t = Test::new().app("a", "started", &[]);
    let out = Command::new(fake_cf())
        .args(["stop", "a"])
        .env("FAKE_CF_STATE", t.state_dir())
        .env("FAKE_CF_FAIL", "stop:1:after")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Applied, then reported as failed.
    assert_eq!(t.app_state("a").as_deref(), Some("stopped"));
    let log = t.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].argv, ["stop", "a"]);
    assert_eq!(log[0].exit, "1");
}

fn cf_v(t: &Test, version: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(fake_cf())
        .args(args)
        .env("FAKE_CF_STATE", t.state_dir())
        .env("FAKE_CF_VERSION", version)
        .env_remove("FAKE_CF_FAIL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const V6: &str = "cf version 6.53.0+8e2b70a4a.2020-10-01";
const V7: &str = "cf7 version 7.2.0+be4a5ce2b.2020-12-10";

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `cf curl PATH` as JSON.
fn curl(t: &Test, path: &str) -> serde_json::Value {
    let (code, out, err) = cf(t, &["curl", path]);
    assert_eq!(code, 0, "{err}");
    json(&out)
}

/// The `#N STATE` rows of `cf app`.
fn instance_rows(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn tcp_routes_are_domain_port_and_take_no_host_or_path() {
    let t = Test::new()
        .app("a", "started", &[])
        .app("b", "started", &[]);
    let (code, out, _) = cf(&t, &["map-route", "a", "tcp.example.com", "--port", "5000"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Creating route tcp.example.com:5000 for org"),
        "{out}"
    );
    assert!(
        out.contains("Mapping route tcp.example.com:5000 to app a in org"),
        "{out}"
    );
    assert_eq!(t.app_routes("a"), ["tcp.example.com:5000"]);
    // The same route on another app: mapped, not created again.
    let (code, out, _) = cf(&t, &["map-route", "b", "tcp.example.com", "--port", "5000"]);
    assert_eq!(code, 0);
    assert!(!out.contains("Creating route"), "{out}");
    // v7+: no --port is a route on a free port, printed as cf does.
    let (code, out, _) = cf(&t, &["map-route", "a", "tcp.example.com"]);
    assert_eq!(code, 0, "{out}");
    let port = t.app_routes("a")[1].clone();
    assert!(port.starts_with("tcp.example.com:"), "{port}");
    assert!(
        out.contains("Creating route tcp.example.com for org"),
        "{out}"
    );
    assert!(
        out.contains(&format!("Mapping route {port} to app a")),
        "{out}"
    );
    // No host, no path.
    for (flag, message) in [
        ("--hostname", "Hosts are not supported for TCP routes."),
        ("--path", "Paths are not supported for TCP routes."),
    ] {
        let (code, out, err) = cf(
            &t,
            &[
                "map-route",
                "a",
                "tcp.example.com",
                "--port",
                "6000",
                flag,
                "x",
            ],
        );
        assert_eq!(code, 1);
        assert!(out.ends_with("FAILED\n"), "{out}");
        assert_eq!(err, format!("{message}\n"));
    }
    // v6 wants --port or --random-port, and has the legacy commands' streams.
    let (code, out, err) = cf_v(&t, V6, &["map-route", "a", "tcp.example.com"]);
    assert_eq!(code, 1);
    assert!(err.is_empty(), "{err}");
    assert!(out.contains("FAILED\nThe route is invalid: For TCP routes you must specify a port or request a random one.\n"), "{out}");
    assert_eq!(
        cf_v(
            &t,
            V6,
            &["map-route", "a", "tcp.example.com", "--random-port"]
        )
        .0,
        0
    );
    assert_eq!(t.app_routes("a").len(), 3);
    let (code, _, err) = cf(&t, &["map-route", "a", "tcp.example.com", "--random-port"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown flag `random-port'"), "{err}");
    // A port on an HTTP domain.
    let (code, _, err) = cf(&t, &["map-route", "a", "d.com", "--port", "80"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Port is supported for domains of TCP router groups only."),
        "{err}"
    );

    // `cf app` lists them as domain:port; unmap takes --port.
    let (_, out, _) = cf(&t, &["app", "b"]);
    assert!(
        out.contains("routes:            tcp.example.com:5000\n"),
        "{out}"
    );
    assert_eq!(
        cf(
            &t,
            &["unmap-route", "b", "tcp.example.com", "--port", "5000"]
        )
        .0,
        0
    );
    assert!(t.app_routes("b").is_empty());
    let (code, _, err) = cf(&t, &["unmap-route", "b", "tcp.example.com", "--port", "7"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "Route with domain 'tcp.example.com' and port 7 not found.\n"
    );
    // Other TCP domains.
    let t = t.state_file("tcp-domains", "tcp.other.org\n");
    assert_eq!(
        cf(&t, &["map-route", "b", "tcp.other.org", "--port", "9"]).0,
        0
    );
    assert_eq!(
        cf(&t, &["map-route", "b", "tcp.example.com", "--port", "9"]).0,
        1
    );
}

#[test]
fn internal_routes_take_a_host_and_no_path() {
    let t = Test::new().app("a", "started", &[]);
    assert_eq!(
        cf(
            &t,
            &["map-route", "a", "apps.internal", "--hostname", "shop"]
        )
        .0,
        0
    );
    assert_eq!(t.app_routes("a"), ["shop.apps.internal"]);
    let (code, _, err) = cf(
        &t,
        &[
            "map-route",
            "a",
            "apps.internal",
            "--hostname",
            "shop",
            "--path",
            "x",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(err, "Paths are not supported for internal domains.\n");
    let (code, _, err) = cf(&t, &["map-route", "a", "apps.internal"]);
    assert_eq!(code, 1);
    assert!(err.contains("Missing host."), "{err}");
    // Whatever `domains` says: internal and TCP domains exist.
    let t = t.state_file("domains", "example.com\n");
    assert_eq!(
        cf(
            &t,
            &["map-route", "a", "apps.internal", "--hostname", "cart"]
        )
        .0,
        0
    );
    let (code, _, err) = cf(&t, &["map-route", "a", "nope.com", "--hostname", "x"]);
    assert_eq!(code, 1);
    assert_eq!(err, "Domain 'nope.com' not found.\n");
}

#[test]
fn no_route_push_strips_internal_and_tcp_routes_and_the_log_shows_them() {
    let t = Test::new().app(
        "a",
        "started",
        &[
            "www.example.com/api",
            "shop.apps.internal",
            "tcp.example.com:1234",
        ],
    );
    assert_eq!(cf(&t, &["push", "a", "--no-route"]).0, 0);
    assert!(t.app_routes("a").is_empty());
    let log = t.log();
    let routes: Vec<&String> = log[0].routes.keys().collect();
    assert_eq!(
        routes,
        [
            "shop.apps.internal",
            "tcp.example.com:1234",
            "www.example.com/api"
        ]
    );
    assert!(log[0].routes.values().all(|holders| holders.is_empty()));
    assert_eq!(
        cf(&t, &["map-route", "a", "tcp.example.com", "--port", "1234"]).0,
        0
    );
    assert!(t.log()[1].served("tcp.example.com:1234"));
}

#[test]
fn v3_routes_of_an_app_with_every_app_they_are_mapped_to() {
    let t = Test::new()
        .app(
            "a",
            "started",
            &[
                "www.example.com/api",
                "shop.apps.internal",
                "tcp.example.com:1234",
            ],
        )
        .app("b", "stopped", &["shop.apps.internal"]);
    let body = curl(&t, "/v3/apps/guid-a/routes");
    assert_eq!(body["pagination"]["total_results"], 3);
    let r = &body["resources"];
    assert_eq!(r[0]["protocol"], "http");
    assert_eq!(r[0]["host"], "www");
    assert_eq!(r[0]["path"], "/api");
    assert_eq!(r[0]["port"], serde_json::Value::Null);
    assert_eq!(r[0]["url"], "www.example.com/api");
    assert_eq!(r[0]["destinations"][0]["app"]["guid"], "guid-a");
    assert_eq!(r[0]["destinations"][0]["app"]["process"]["type"], "web");
    assert_eq!(r[0]["destinations"][0]["port"], 8080);
    assert_eq!(r[0]["destinations"][0]["protocol"], "http1");
    assert_eq!(r[1]["host"], "shop");
    assert_eq!(r[1]["path"], "");
    let holders: Vec<&str> = r[1]["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["app"]["guid"].as_str().unwrap())
        .collect();
    assert_eq!(holders, ["guid-a", "guid-b"]);
    assert_eq!(r[2]["protocol"], "tcp");
    assert_eq!(r[2]["host"], "");
    assert_eq!(r[2]["port"], 1234);
    assert_eq!(r[2]["url"], "tcp.example.com:1234");
    assert_eq!(r[2]["destinations"][0]["protocol"], serde_json::Value::Null);
    // Stable GUIDs; one per domain.
    assert_eq!(body, curl(&t, "/v3/apps/guid-a/routes"));
    let b = curl(&t, "/v3/apps/guid-b/routes");
    assert_eq!(b["resources"][0]["guid"], r[1]["guid"]);
    assert_eq!(
        b["resources"][0]["relationships"]["domain"]["data"]["guid"],
        r[1]["relationships"]["domain"]["data"]["guid"]
    );
    assert_ne!(r[0]["guid"], r[1]["guid"]);
    // An unknown app: a v3 error, exit 0.
    let e = curl(&t, "/v3/apps/guid-nope/routes");
    assert_eq!(e["errors"][0]["title"], "CF-ResourceNotFound");
    assert_eq!(e["errors"][0]["code"], 10010);
}

#[test]
fn scaled_instances_come_up_one_read_at_a_time() {
    let t = Test::new().app("a", "started", &[]);
    let (code, out, _) = cf(&t, &["scale", "a", "-i", "3"]);
    assert_eq!(code, 0);
    assert!(out.contains("Scaling app a in org"), "{out}");
    assert!(out.contains("Showing current scale of app a"), "{out}");
    assert!(out.contains("instances:      1/3\n"), "{out}");
    assert_eq!(instance_rows(&out), ["running", "starting", "starting"]);
    assert_eq!(t.app_instances("a"), Some((1, 3)));
    // Each read shows what was, then one more instance is up.
    let (_, out, _) = cf(&t, &["app", "a"]);
    assert_eq!(instance_rows(&out), ["running", "starting", "starting"]);
    let stats = curl(&t, "/v3/apps/guid-a/processes/web/stats");
    let states: Vec<&str> = stats["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["RUNNING", "RUNNING", "STARTING"]);
    let (_, out, _) = cf(&t, &["app", "a"]);
    assert!(out.contains("instances:      3/3\n"), "{out}");
    assert_eq!(t.app_instances("a"), Some((3, 3)));
    let p = curl(&t, "/v3/apps/guid-a/processes/web");
    assert_eq!(p["guid"], "guid-a");
    assert_eq!(p["type"], "web");
    assert_eq!(p["instances"], 3);
    assert_eq!(p["memory_in_mb"], 256);
    assert_eq!(p["disk_in_mb"], 1024);
    // Down again: the highest indexes go.
    assert_eq!(cf(&t, &["scale", "a", "-i", "1"]).0, 0);
    assert_eq!(t.app_instances("a"), Some((1, 1)));

    // v7+ waits until one instance runs; v6 returns at once.
    let t = Test::new().app("a", "started", &[]).instances("a", 0);
    let (code, out, _) = cf_v(&t, V7, &["scale", "a", "-i", "2"]);
    assert_eq!(code, 0);
    assert!(out.contains("instances:      1/2\n"), "{out}");
    let (code, out, _) = cf_v(&t, V6, &["scale", "a", "-i", "4"]);
    assert_eq!(code, 0);
    assert!(out.ends_with("OK\n"), "{out}");
    assert_eq!(t.app_instances("a"), Some((1, 4)));
    // A stopped app runs none; its rows and stats say so.
    assert_eq!(cf(&t, &["stop", "a"]).0, 0);
    let (_, out, _) = cf(&t, &["app", "a"]);
    assert!(out.contains("instances:      0/4\n"), "{out}");
    assert!(out.contains("There are no running instances of this process."));
    let stats = curl(&t, "/v3/apps/guid-a/processes/web/stats");
    assert_eq!(stats["resources"][3]["state"], "DOWN");
    // A start brings every instance up.
    assert_eq!(cf(&t, &["start", "a"]).0, 0);
    assert_eq!(t.app_instances("a"), Some((4, 4)));
}

#[test]
fn scale_memory_asks_first_and_stuck_instances_never_come_up() {
    let t = Test::new().app("a", "started", &[]);
    // Without -f, cf asks; stdin is no terminal: no, exit 0, nothing scaled.
    let (code, out, _) = cf(&t, &["scale", "a", "-i", "2", "-m", "1G"]);
    assert_eq!(code, 0);
    assert!(out.contains("Scaling cancelled"), "{out}");
    assert_eq!(t.app_instances("a"), Some((1, 1)));
    let (code, out, _) = cf(&t, &["scale", "a", "-m", "1G", "-k", "2048M", "-f"]);
    assert_eq!(code, 0);
    assert!(out.contains("memory usage:   1G\n"), "{out}");
    assert!(out.contains("9.4M of 1G   6.5M of 2G"), "{out}");
    let p = curl(&t, "/v3/apps/guid-a/processes/web");
    assert_eq!(
        (p["memory_in_mb"].as_u64(), p["disk_in_mb"].as_u64()),
        (Some(1024), Some(2048))
    );

    let t = t.stuck("a");
    assert_eq!(cf(&t, &["scale", "a", "-i", "3"]).0, 0);
    for _ in 0..5 {
        cf(&t, &["app", "a"]);
        curl(&t, "/v3/apps/guid-a/processes/web/stats");
    }
    assert_eq!(t.app_instances("a"), Some((1, 3)));
    // With none running, v7+ scale times out (at once, here).
    assert_eq!(cf(&t, &["scale", "a", "-i", "0"]).0, 0);
    let (code, out, err) = cf(&t, &["scale", "a", "-i", "2"]);
    assert_eq!(code, 1);
    assert!(out.ends_with("FAILED\n"), "{out}");
    assert!(err.starts_with("Start app timeout"), "{err}");
    assert_eq!(t.app_instances("a"), Some((0, 2)));
}

#[test]
fn push_keeps_the_instance_count_unless_told_and_starts_them_all() {
    let t = Test::new()
        .app("a", "started", &[])
        .instances("a", 3)
        .write("m.yml", "applications:\n- name: a\n  instances: 5\n");
    assert_eq!(cf(&t, &["scale", "a", "-i", "4"]).0, 0);
    assert_eq!(t.app_instances("a"), Some((3, 4)));
    assert_eq!(cf(&t, &["push", "a", "--no-route"]).0, 0);
    assert_eq!(t.app_instances("a"), Some((4, 4)));
    assert_eq!(cf(&t, &["push", "a", "--no-route", "-i", "2"]).0, 0);
    assert_eq!(t.app_instances("a"), Some((2, 2)));
    let manifest = t.dir.path().join("m.yml");
    let manifest = manifest.to_str().unwrap();
    assert_eq!(cf(&t, &["push", "a", "--no-route", "-f", manifest]).0, 0);
    assert_eq!(t.app_instances("a"), Some((5, 5)));
    assert_eq!(
        cf(&t, &["push", "a", "--no-route", "-f", manifest, "-i", "1"]).0,
        0
    );
    assert_eq!(t.app_instances("a"), Some((1, 1)));
    // A new app has one.
    assert_eq!(cf(&t, &["push", "b", "--no-route"]).0, 0);
    assert_eq!(t.app_instances("b"), Some((1, 1)));
}

#[test]
fn network_policies_by_command_and_through_the_policy_server() {
    let t = Test::new()
        .app("a", "started", &[])
        .app("b", "started", &[])
        .app("frontend", "started", &[])
        .policy("frontend", "a", "tcp", 8080);
    // v8 syntax; v6's flag is unknown.
    let (code, out, _) = cf(&t, &["add-network-policy", "a", "b"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Adding network policy from app a to app b in org"),
        "{out}"
    );
    let (code, _, err) = cf(&t, &["add-network-policy", "a", "--destination-app", "b"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Incorrect Usage: unknown flag `destination-app'"),
        "{err}"
    );
    // v6 syntax; v8's second argument fails there.
    let args = [
        "add-network-policy",
        "b",
        "--destination-app",
        "a",
        "--port",
        "9000-9010",
        "--protocol",
        "udp",
    ];
    assert_eq!(cf_v(&t, V6, &args).0, 0);
    let (code, _, err) = cf_v(&t, V6, &["add-network-policy", "a", "b"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("Incorrect Usage"), "{err}");
    // Idempotent; unknown apps fail.
    assert_eq!(
        cf(&t, &["add-network-policy", "a", "b", "--port", "8080"]).0,
        0
    );
    let (code, _, err) = cf(&t, &["add-network-policy", "a", "nope"]);
    assert_eq!(code, 1);
    assert_eq!(err, "App 'nope' not found.\n");
    let p = |s: &str, d: &str, proto: &str, start, end| Policy {
        source: format!("guid-{s}"),
        destination: format!("guid-{d}"),
        protocol: proto.into(),
        start,
        end,
    };
    assert_eq!(
        t.policies(),
        [
            p("frontend", "a", "tcp", 8080, 8080),
            p("a", "b", "tcp", 8080, 8080),
            p("b", "a", "udp", 9000, 9010),
        ]
    );

    let (code, out, _) = cf(&t, &["network-policies"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "Listing network policies in org demo-org / space demo-space as demo-user...\n\
         \n\
         source     destination   protocol   ports       destination space   destination org\n\
         frontend   a             tcp        8080        demo-space          demo-org\n\
         a          b             tcp        8080        demo-space          demo-org\n\
         b          a             udp        9000-9010   demo-space          demo-org\n"
    );
    let (_, out, _) = cf(&t, &["network-policies", "--source", "a"]);
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(
        out.contains("Listing network policies of app a in org"),
        "{out}"
    );

    // The policy server lists both directions.
    let body = curl(&t, "/networking/v1/external/policies?id=guid-a");
    assert_eq!(body["total_policies"], 3);
    let body = curl(
        &t,
        "/networking/v1/external/policies?id=guid-frontend,guid-x",
    );
    assert_eq!(body["total_policies"], 1);
    assert_eq!(body["policies"][0]["source"]["id"], "guid-frontend");
    assert_eq!(body["policies"][0]["destination"]["id"], "guid-a");
    assert_eq!(body["policies"][0]["destination"]["protocol"], "tcp");
    assert_eq!(body["policies"][0]["destination"]["ports"]["start"], 8080);
    assert_eq!(body["policies"][0]["destination"]["ports"]["end"], 8080);
    // ... and adds, idempotently, in any key order.
    let add = r#"{"policies":[{"destination":{"ports":{"end":8080,"start":8080},"protocol":"tcp","id":"guid-c"},"source":{"id":"guid-frontend"}}]}"#;
    for _ in 0..2 {
        let (code, out, _) = cf(
            &t,
            &[
                "curl",
                "/networking/v1/external/policies",
                "-X",
                "POST",
                "-d",
                add,
            ],
        );
        assert_eq!((code, out.as_str()), (0, "{}\n"));
    }
    assert_eq!(t.policies().len(), 4);
    assert_eq!(t.policies()[3], p("frontend", "c", "tcp", 8080, 8080));
    // A bad body: an error in the body, exit 0, nothing added.
    for bad in ["nope", r#"{"policies":[{"source":{"id":"x"}}]}"#] {
        let (code, out, _) = cf(
            &t,
            &[
                "curl",
                "/networking/v1/external/policies",
                "-X",
                "POST",
                "-d",
                bad,
            ],
        );
        assert_eq!(code, 0);
        assert!(json(&out)["error"].is_string(), "{out}");
    }
    assert_eq!(t.policies().len(), 4);
}

#[test]
fn v6_legacy_commands_fail_on_stdout() {
    let t = Test::new();
    let (code, out, err) = cf_v(&t, V6, &["stop", "nope"]);
    assert_eq!(code, 1);
    assert_eq!(out, "FAILED\nApp 'nope' not found.\n");
    assert!(err.is_empty(), "{err}");
    // Not a legacy command: as v8.
    let (_, out, err) = cf_v(&t, V6, &["app", "nope"]);
    assert!(out.ends_with("FAILED\n"), "{out}");
    assert_eq!(err, "App 'nope' not found.\n");
}

/// A bare HTTP GET: status, head, body.
fn get(url: &str, instance: Option<&str>) -> (u16, String, String) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let header = instance.map_or(String::new(), |i| format!("X-CF-APP-INSTANCE: {i}\r\n"));
    write!(s, "GET / HTTP/1.1\r\nHost: x\r\n{header}\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

#[test]
fn the_live_router_routes_by_instance_header_like_gorouter() {
    let t = Test::new()
        .app(BLUE, "started", &[LIVE])
        .app(GREEN, "stopped", &[]);
    let url = t.live_url().to_string();
    assert_eq!(get(&url, None).2, "Hello from sinatra_a");
    assert_eq!(get(&url, Some("guid-sinatra_a:0")).0, 200);
    // An instance it does not have, an app not on the route, an app stopped: 404.
    for instance in ["guid-sinatra_a:1", "guid-sinatra_b:0", "guid-nope:0"] {
        let (status, head, _) = get(&url, Some(instance));
        assert_eq!(status, 404, "{instance}");
        assert!(head.contains("X-Cf-Routererror: unknown_route"), "{head}");
    }
    assert_eq!(get(&url, Some("junk")).0, 400);
    assert_eq!(
        cf(
            &t,
            &["map-route", GREEN, "de.a9sapp.eu", "-n", "sinatralive"]
        )
        .0,
        0
    );
    assert_eq!(get(&url, Some("guid-sinatra_b:0")).0, 404);
    assert_eq!(cf(&t, &["start", GREEN]).0, 0);
    assert_eq!(
        get(&url, Some("guid-sinatra_b:0")).2,
        "Hello from sinatra_b"
    );
    // Both hold it: both answer, in turn.
    let mut seen: Vec<String> = (0..4).map(|_| get(&url, None).2).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["Hello from sinatra_a", "Hello from sinatra_b"]);
    // A scaled instance answers once it runs.
    assert_eq!(cf(&t, &["scale", GREEN, "-i", "2"]).0, 0);
    assert_eq!(get(&url, Some("guid-sinatra_b:1")).0, 404);
    cf(&t, &["app", GREEN]);
    assert_eq!(get(&url, Some("guid-sinatra_b:1")).0, 200);
    // No started app on it: 404 unknown_route.
    cf(&t, &["stop", BLUE]);
    cf(&t, &["stop", GREEN]);
    let (status, head, _) = get(&url, None);
    assert_eq!(status, 404);
    assert!(head.contains("X-Cf-Routererror: unknown_route"), "{head}");
}

#[test]
fn the_live_router_can_fail_one_app_and_lag_behind_new_mappings() {
    let t = Test::new()
        .app(BLUE, "started", &[LIVE])
        .app(GREEN, "started", &[])
        .broken_app(GREEN)
        .router_lag(400);
    let url = t.live_url().to_string();
    // Mappings the fake did not make are known at once.
    assert_eq!(get(&url, Some("guid-sinatra_a:0")).0, 200);
    assert_eq!(
        cf(
            &t,
            &["map-route", GREEN, "de.a9sapp.eu", "-n", "sinatralive"]
        )
        .0,
        0
    );
    assert_eq!(get(&url, Some("guid-sinatra_b:0")).0, 404);
    std::thread::sleep(std::time::Duration::from_millis(450));
    let (status, _, body) = get(&url, Some("guid-sinatra_b:0"));
    assert_eq!(
        (status, body.as_str()),
        (500, "Internal Server Error: boom")
    );
    assert_eq!(get(&url, Some("guid-sinatra_a:0")).0, 200);
    // The staging router ignores broken-app.
    let t = t.app(GREEN, "started", &[STAGING]);
    let smoke = t.default_config();
    let staging = smoke
        .lines()
        .find_map(|l| l.strip_prefix("url = \""))
        .unwrap()
        .trim_end_matches('"');
    assert_eq!(get(staging, None).2, "Hello from sinatra_b");
}

#[test]
fn patching_a_service_instance_sets_its_annotations_and_keeps_the_rest() {
    // The lock's heartbeat, as the tool sends it, on an instance with more than the lock.
    let t = Test::blue_live_green_stopped().state_file(
        &format!("services/{LOCK_NAME}"),
        &format!(
            "guid 5e000000-0000-4000-5e00-000000000001\ntag cf-bluegreen-lock\nannotation note kept\nannotation {LOCK} old since 2026-11-26T08:00:00Z token t\n"
        ),
    );
    let curl = |path: &str, args: &[&str]| {
        let mut all = vec!["curl", path];
        all.extend(args);
        let (code, out, err) = cf(&t, &all);
        assert_eq!(code, 0, "{err}");
        out
    };
    let body = format!(
        r#"{{"metadata":{{"annotations":{{"{LOCK}":"me since 2026-11-26T09:00:00Z token t"}}}}}}"#
    );
    let answer = curl(
        "/v3/service_instances/5e000000-0000-4000-5e00-000000000001",
        &["-X", "PATCH", "-d", &body],
    );
    assert!(
        answer.contains(r#""cf-bluegreen/lock":"me since 2026-11-26T09:00:00Z token t""#),
        "{answer}"
    );
    assert!(answer.contains(r#""note":"kept""#), "{answer}");
    assert!(
        answer.contains(r#""tags":["cf-bluegreen-lock"]"#),
        "{answer}"
    );
    assert_eq!(
        t.lock_holder().as_deref(),
        Some("me since 2026-11-26T09:00:00Z token t")
    );
    // Gone: the Cloud Controller's 404, with exit 0 as cf curl does.
    let gone = curl(
        "/v3/service_instances/5e000000-0000-4000-5e00-00000000dead",
        &["-X", "PATCH", "-d", &body],
    );
    assert!(gone.contains("CF-ResourceNotFound"), "{gone}");
}
