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
