//! `init`: a configuration written from an app in cf (or a manifest) that the other
//! commands then use as it is.

use crate::support::*;

const WWW: &str = "www.shop.com/api";
const INTERNAL: &str = "shop.apps.internal";
const TCP: &str = "tcp.example.com:1234";

fn read(t: &Test, name: &str) -> String {
    std::fs::read_to_string(t.dir.path().join(name)).unwrap()
}

/// init's file, changed as the tests need it and nothing more: no DNS here, so the
/// smoke check goes to the local router, which serves the STAGING route; no drain.
fn for_the_local_router(text: &str) -> String {
    let edited = text
        .replace(
            "staging = \"sinatralive-staging\"",
            "staging = \"sinatrastaging\"",
        )
        .replace("[smoke]\n", "[smoke]\nurl = \"{smoke_url}\"\n")
        .replace("# drain = \"10s\"", "drain = \"0s\"");
    assert_ne!(edited, text);
    edited
}

#[test]
fn an_app_with_one_route_becomes_blue_and_the_first_deploy_goes_to_green() {
    let t = Test::blue_live();
    let run = t.run(&["init", "--from-app", BLUE, "--output", "init.toml"]);
    run.expect_code(0)
        .expect_no_mutation()
        .stderr_has(&format!(
            "wrote init.toml: apps {BLUE} (blue) and {GREEN} (green); live routes {LIVE}; \
             new versions are checked on sinatralive-staging.de.a9sapp.eu first"
        ))
        .stderr_has(
            "next: read it through; then `cf-bluegreen --config init.toml deploy --dry-run`",
        );
    assert_eq!(run.stdout, "");
    let text = read(&t, "init.toml");
    for line in [
        format!("blue  = \"{BLUE}\"\n"),
        format!("green = \"{GREEN}\"\n"),
        "domain  = \"de.a9sapp.eu\"\n".into(),
        "live    = \"sinatralive\"\n".into(),
        "staging = \"sinatralive-staging\"\n".into(),
        "path          = \"/\"".into(),
        "expect-status = 200\n".into(),
        "# org   = \"demo-org\"\n# space = \"demo-space\"\n".into(),
    ] {
        assert!(text.contains(&line), "no {line:?} in\n{text}");
    }
    assert!(!text.contains("\n[[routes.extra]]"), "{text}");
    // Only reads: the target, the apps of both names, the app's routes.
    let calls: Vec<String> = run.calls.iter().map(Call::line).collect();
    assert_eq!(
        calls,
        [
            "cf target".to_string(),
            format!(
                "cf curl /v3/apps?names={BLUE},{GREEN}&include=space.organization&per_page=5000"
            ),
            format!("cf curl /v3/apps/guid-{BLUE}/routes?per_page=5000"),
        ]
    );

    let dry = t.run(&["--config", "init.toml", "deploy", "--dry-run"]);
    dry.expect_code(0).expect_no_mutation();
    // The records on the apps aside.
    let commands: Vec<&str> = dry
        .stdout
        .lines()
        .filter(|l| !l.starts_with("cf curl"))
        .collect();
    assert_eq!(
        commands,
        [
            format!("cf push {GREEN} --no-route"),
            format!("cf map-route {GREEN} de.a9sapp.eu --hostname sinatralive-staging"),
            format!("cf map-route {GREEN} de.a9sapp.eu --hostname sinatralive"),
            format!("cf unmap-route {BLUE} de.a9sapp.eu --hostname sinatralive"),
            format!("cf unmap-route {GREEN} de.a9sapp.eu --hostname sinatralive-staging"),
            format!("cf stop {BLUE}"),
        ],
        "{}",
        dry.dump()
    );
}

#[test]
fn every_route_the_app_holds_goes_live_on_green() {
    let routes = [LIVE, WWW, INTERNAL, TCP];
    let t = Test::new().app(BLUE, "started", &routes);
    let run = t.run(&["init", "--from-app", BLUE, "--output", "init.toml"]);
    run.expect_code(0)
        .expect_no_mutation()
        .stderr_has(&format!("live routes {LIVE}, {WWW}, {INTERNAL}, {TCP};"));
    let text = read(&t, "init.toml");
    let extra = "[[routes.extra]]\nhost   = \"www\"\ndomain = \"shop.com\"\npath   = \"/api\"\n\
                 [[routes.extra]]   # an internal route, for other apps\nhost   = \"shop\"\ndomain = \"apps.internal\"\n\
                 [[routes.extra]]   # a TCP route\ndomain = \"tcp.example.com\"\nport   = 1234\n";
    assert!(text.contains(extra), "{text}");

    let dry = t.run(&["--config", "init.toml", "deploy", "--dry-run"]);
    dry.expect_code(0).expect_no_mutation();
    for command in [
        format!("cf push {GREEN} --no-route"),
        format!("cf map-route {GREEN} de.a9sapp.eu --hostname sinatralive"),
        format!("cf map-route {GREEN} shop.com --hostname www --path /api"),
        format!("cf map-route {GREEN} apps.internal --hostname shop"),
        format!("cf map-route {GREEN} tcp.example.com --port 1234"),
        format!("cf unmap-route {BLUE} tcp.example.com --port 1234"),
        format!("cf stop {BLUE}"),
    ] {
        dry.stdout_has(&format!("{command}\n"));
    }
    // Every route is listed: none moves as an unlisted one.
    assert!(!dry.stderr.contains("routes not in"), "{}", dry.dump());

    // The real thing, with init's file as the configuration.
    let t = t.config(&for_the_local_router(&text));
    let deploy = t.run(&["deploy"]);
    deploy.expect_code(0);
    t.assert_clean(GREEN, &routes, Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn an_existing_file_is_kept_unless_forced() {
    let t = Test::blue_live();
    let before = t.default_config();
    // The harness writes deploy.toml before each run.
    let run = t.run(&["init", "--from-app", BLUE]);
    run.expect_code(2)
        .stderr_has("deploy.toml exists already; init does not overwrite it")
        .stderr_has("--force");
    // Refused before asking cf anything.
    assert!(run.calls.is_empty(), "{}", run.dump());
    assert!(read(&t, "deploy.toml").starts_with(&before));

    let run = t.run(&["init", "--from-app", BLUE, "--force"]);
    run.expect_code(0)
        .stderr_has("wrote deploy.toml")
        .stderr_has("next: read it through; then `cf-bluegreen deploy --dry-run`");
    let text = read(&t, "deploy.toml");
    assert!(text.starts_with(&format!(
        "# cf-bluegreen configuration, written by `cf-bluegreen init --from-app {BLUE}`"
    )));
}

#[test]
fn the_config_path_is_where_init_writes_and_dash_is_stdout() {
    let t = Test::blue_live();
    t.run(&["--config", "ci/prod.toml", "init", "--from-app", BLUE])
        .expect_code(2)
        .stderr_has("cannot write ci/prod.toml");
    t.write_dir("ci");
    t.run(&["--config", "ci/prod.toml", "init", "--from-app", BLUE])
        .expect_code(0)
        .stderr_has("`cf-bluegreen --config ci/prod.toml deploy --dry-run`");
    assert!(read(&t, "ci/prod.toml").contains(&format!("blue  = \"{BLUE}\"")));

    let printed = t.run(&["init", "--from-app", BLUE, "--output", "-"]);
    printed
        .expect_code(0)
        .stderr_has("printed the configuration");
    assert_eq!(printed.stdout, read(&t, "ci/prod.toml"));
}

#[test]
fn an_app_not_in_the_targeted_space_is_named() {
    let t = Test::blue_live();
    let run = t.run(&["init", "--from-app", "nope", "--output", "init.toml"]);
    run.expect_code(2)
        .expect_no_mutation()
        .stderr_has("there is no app named nope in org demo-org / space demo-space")
        .stderr_has("hint: check the name with `cf apps`");
    assert!(!t.dir.path().join("init.toml").exists());

    let t = Test::new().app(BLUE, "started", &[]);
    t.run(&["init", "--from-app", BLUE, "--output", "init.toml"])
        .expect_code(2)
        .stderr_has(&format!("{BLUE} holds no route"));
    assert!(!t.dir.path().join("init.toml").exists());
}

#[test]
fn without_from_app_the_manifest_gives_names_and_routes_and_cf_is_not_asked() {
    let t = Test::new().write(
        "manifest.yml",
        "applications:\n- name: shop\n  memory: 256M\n  routes:\n  - route: shop.de.a9sapp.eu\n  - route: shop.apps.internal\n",
    );
    let run = t.run(&["init", "--output", "init.toml"]);
    run.expect_code(0)
        .stderr_has("wrote init.toml: apps shop-blue (blue) and shop-green (green); live routes shop.de.a9sapp.eu, shop.apps.internal;");
    assert!(run.calls.is_empty(), "{}", run.dump());
    let text = read(&t, "init.toml");
    for line in [
        "from the app shop in manifest.yml.\n",
        "blue  = \"shop-blue\"\n",
        "domain  = \"de.a9sapp.eu\"\n",
        "live    = \"shop\"\n",
        "staging = \"shop-staging\"\n",
        "manifest   = \"manifest.yml\"",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    assert!(!text.contains("PLACEHOLDER"), "{text}");

    let dry = t.run(&["--config", "init.toml", "deploy", "--dry-run"]);
    dry.expect_code(0)
        .expect_no_mutation()
        .stdout_has("cf push shop-blue --no-route -f manifest.yml\n")
        .stdout_has("cf map-route shop-blue de.a9sapp.eu --hostname shop\n");
}
