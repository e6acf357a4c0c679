//! Problems with cf or its session: exit 2, before any change.

use crate::support::*;

#[test]
fn not_logged_in() {
    let t = Test::new().touch("logged-out");
    t.run(&["deploy"])
        .expect_code(2)
        .stderr_has("cf is not logged in")
        .stderr_has("cf login")
        .expect_no_mutation();
}

#[test]
fn no_target() {
    let t = Test::new().touch("no-target");
    t.run(&["deploy"])
        .expect_code(2)
        .stderr_has("cf has no org and space targeted")
        .stderr_has("cf target -o ORG -s SPACE")
        .expect_no_mutation();
}

#[test]
fn wrong_org_or_space() {
    let t = Test::new().with("[cf]\norg = \"prod-org\"\nspace = \"prod\"");
    t.run(&["deploy"])
        .expect_code(2)
        .stderr_has("cf targets org demo-org / space demo-space, but deploy.toml requires org prod-org / space prod")
        .stderr_has("cf target -o prod-org -s prod")
        .expect_no_mutation();
    let t = Test::new().with("[cf]\norg = \"demo-org\"\nspace = \"demo-space\"");
    t.run(&["deploy"]).expect_code(0);
}

#[test]
fn cf_missing() {
    let t = Test::new();
    t.run_with(&["deploy"], &[("CF_BIN", "/nonexistent/cf")])
        .expect_code(2)
        .stderr_has("cannot run the cf CLI `/nonexistent/cf`: not found")
        .stderr_has("--cf PATH");
}

#[test]
fn cf_not_executable() {
    let t = Test::new().write("cf", "#!/bin/sh\n");
    let path = t.dir.path().join("cf");
    t.run(&["--cf", path.to_str().unwrap(), "status"])
        .expect_code(2)
        .stderr_has("permission denied");
}

#[test]
fn cf_flag_beats_cf_bin() {
    let t = Test::new();
    let fake = fake_cf();
    t.run_with(
        &["--cf", fake.to_str().unwrap(), "status"],
        &[("CF_BIN", "/nonexistent/cf")],
    )
    .expect_code(0);
}

#[test]
fn cf_version_prefixes_are_understood() {
    for v in [
        "cf7 version 7.2.0+be4a5ce2b.2020-12-10",
        "cf.exe version 6.53.0+8e2b70a4a.2020-10-01",
    ] {
        let t = Test::new();
        t.run_with(&["deploy", "--dry-run"], &[("FAKE_CF_VERSION", v)])
            .expect_code(0)
            .stderr_has(v.split(' ').nth(2).unwrap());
    }
}

#[test]
fn missing_push_files() {
    let t = Test::new().with("[push]\nmanifest = \"nope.yml\"");
    t.run(&["deploy"])
        .expect_code(2)
        .stderr_has("push.manifest names")
        .stderr_has("nope.yml, which does not exist");
    assert!(t.log().is_empty());
}
