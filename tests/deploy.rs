use crate::support::*;

/// `actual` is `batches` one after another, each in any order: the steps of a batch run
/// side by side (the order between batches is the plan's, checked in `plan::batch`).
#[track_caller]
pub(crate) fn assert_in_batches<S: AsRef<str>>(actual: &[String], batches: &[&[S]]) {
    let mut rest = actual;
    for batch in batches {
        assert!(rest.len() >= batch.len(), "{actual:#?}");
        let (head, tail) = rest.split_at(batch.len());
        let mut got: Vec<&str> = head.iter().map(String::as_str).collect();
        let mut want: Vec<&str> = batch.iter().map(AsRef::as_ref).collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "in {actual:#?}");
        rest = tail;
    }
    assert!(rest.is_empty(), "more than expected: {rest:#?}");
}

#[test]
fn first_deploy_goes_to_blue_then_deploys_alternate_and_never_drop_the_live_route() {
    let t = Test::new();
    let first = t.run(&["deploy"]);
    first
        .expect_code(0)
        .stderr_has(&format!("{BLUE} is live at https://{LIVE}"));
    assert_eq!(
        first.mutations(),
        [
            format!("cf push {BLUE} --no-route"),
            format!("cf map-route {BLUE} de.a9sapp.eu --hostname sinatrastaging"),
            format!("cf map-route {BLUE} de.a9sapp.eu --hostname sinatralive"),
            format!("cf unmap-route {BLUE} de.a9sapp.eu --hostname sinatrastaging"),
        ]
    );
    t.assert_clean(BLUE, &[LIVE], None);
    for live in [GREEN, BLUE] {
        t.run(&["deploy"]).expect_code(0);
        t.assert_clean(live, &[LIVE], Some("stopped"));
    }
    let log = t.log();
    assert_always_served(&log, LIVE);
    // The live route was served from the first deploy's switch on.
    assert!(log.last().unwrap().served(LIVE));
}

#[test]
fn later_deploy_follows_the_guide_order() {
    let t = Test::blue_live();
    let run = t.run(&["deploy"]);
    run.expect_code(0);
    assert_in_batches(
        &run.mutations(),
        &[
            &[format!("cf push {GREEN} --no-route")][..],
            &[format!(
                "cf map-route {GREEN} de.a9sapp.eu --hostname sinatrastaging"
            )],
            &[format!(
                "cf map-route {GREEN} de.a9sapp.eu --hostname sinatralive"
            )],
            &[format!(
                "cf unmap-route {BLUE} de.a9sapp.eu --hostname sinatralive"
            )],
            // The final cleanup.
            &[
                format!("cf unmap-route {GREEN} de.a9sapp.eu --hostname sinatrastaging"),
                format!("cf stop {BLUE}"),
            ],
        ],
    );
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
    assert_always_served(&t.log(), LIVE);
}

#[test]
fn the_check_runs_against_the_new_version_on_staging() {
    // The router answers with the name of the app on the staging route: expecting the
    // target's name proves the check ran after the staging map and before the switch.
    let t = Test::blue_live().with(&format!("expect-body = \"Hello from {GREEN}\""));
    t.run(&["deploy"]).expect_code(0);
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
}

#[test]
fn dry_run_prints_exactly_what_the_deploy_then_runs() {
    let t = Test::blue_live_green_stopped().with("[push]\nargs = [\"-i\", \"2\"]");
    let dry = t.run(&["deploy", "--dry-run"]);
    dry.expect_code(0).expect_no_mutation();
    assert!(t.log().iter().all(|c| !c.line().contains("PATCH")));
    let printed: Vec<Vec<String>> = dry
        .stdout
        .lines()
        .map(|l| mask_annotations(shell_words::split(l).unwrap()))
        .collect();
    assert_eq!(
        dry.stdout.lines().next().unwrap(),
        format!("cf push {GREEN} --no-route -i 2")
    );
    assert!(
        dry.stderr.contains("check sinatra_b at http://127.0.0.1:"),
        "{}",
        dry.dump()
    );

    let real = t.run(&["deploy"]);
    real.expect_code(0);
    // The deploy's own writes: everything but the lock, which a dry run does not take.
    let written: Vec<Vec<String>> = real
        .calls
        .iter()
        .filter(|c| c.is_mutating() && !c.line().contains(LOCK))
        .map(|c| mask_annotations([vec!["cf".to_string()], c.argv.clone()].concat()))
        .collect();
    // The same commands; those of one batch run side by side, in any order.
    assert_eq!(printed.len(), written.len());
    let (mut printed, mut written) = (printed, written);
    printed.sort();
    written.sort();
    assert_eq!(printed, written);
}

#[test]
fn extra_routes_and_paths_switch_together() {
    let t = Test::new()
        .config(
            r#"[apps]
blue = "sinatra_a"
green = "sinatra_b"
[routes]
domain = "de.a9sapp.eu"
live = "sinatralive"
staging = "sinatrastaging"
path = "/api"
[[routes.extra]]
host = "www"
domain = "example.com"
[smoke]
url = "{smoke_url}"
expect-status = 404
timeout = "2s"
interval = "50ms"
[switch]
old = "keep"
"#,
        )
        .app(
            BLUE,
            "started",
            &["sinatralive.de.a9sapp.eu/api", "www.example.com"],
        );
    let run = t.run(&["deploy"]);
    run.expect_code(0).stderr_has("sinatra_a kept running");
    // The live routes map side by side, then unmap side by side.
    assert_in_batches(
        &run.mutations(),
        &[
            &["cf push sinatra_b --no-route"][..],
            &["cf map-route sinatra_b de.a9sapp.eu --hostname sinatrastaging --path /api"],
            &[
                "cf map-route sinatra_b de.a9sapp.eu --hostname sinatralive --path /api",
                "cf map-route sinatra_b example.com --hostname www",
            ],
            &[
                "cf unmap-route sinatra_a de.a9sapp.eu --hostname sinatralive --path /api",
                "cf unmap-route sinatra_a example.com --hostname www",
            ],
            &["cf unmap-route sinatra_b de.a9sapp.eu --hostname sinatrastaging --path /api"],
        ],
    );
    t.assert_clean(
        GREEN,
        &["sinatralive.de.a9sapp.eu/api", "www.example.com"],
        Some("started"),
    );
    assert_always_served(&t.log(), "sinatralive.de.a9sapp.eu/api");
    assert_always_served(&t.log(), "www.example.com");
}

#[test]
fn delete_policy_deletes_the_old_app_but_not_its_routes() {
    let t = Test::blue_live().with("[switch]\nold = \"delete\"");
    let run = t.run(&["deploy"]);
    run.expect_code(0);
    // In the final cleanup, beside the staging unmap, after the live unmap.
    let m = run.mutations();
    let unmap = format!("cf unmap-route {BLUE} de.a9sapp.eu --hostname sinatralive");
    assert_in_batches(
        &m[m.len() - 3..],
        &[
            &[unmap][..],
            &[
                format!("cf unmap-route {GREEN} de.a9sapp.eu --hostname sinatrastaging"),
                format!("cf delete {BLUE} -f"),
            ],
        ],
    );
    assert_eq!(t.app_state(BLUE), None);
    assert_eq!(t.app_routes(GREEN), [LIVE]);
}

#[test]
fn push_options_reach_cf() {
    let t = Test::new()
        .write("app/index.html", "hi")
        .write("manifest.yml", "applications:\n- name: sinatra\n  routes:\n  - route: sinatralive.de.a9sapp.eu\n")
        .write("vars/prod.yml", "x: 1\n")
        .with("[push]\npath = \"app\"\nmanifest = \"manifest.yml\"\nvars-files = [\"vars/prod.yml\"]\nvars = { region = \"eu\" }");
    let run = t.run(&["deploy"]);
    run.expect_code(0);
    // Relative to deploy.toml, which is in the working directory here.
    let argv = &run.calls.iter().find(|c| c.argv[0] == "push").unwrap().argv;
    assert_eq!(
        argv[..10],
        [
            "push",
            BLUE,
            "--no-route",
            "-f",
            "manifest.yml",
            "-p",
            "app",
            "--vars-file",
            "vars/prod.yml",
            "--vars-file",
        ]
    );
    // push.vars reached cf in a file of its own, gone once the push was over; never on
    // the command line, where `ps` shows it.
    assert_eq!(argv.len(), 11);
    assert!(argv[10].contains("cf-bluegreen-vars-"), "{argv:?}");
    assert!(!std::path::Path::new(&argv[10]).exists());
    let seen =
        std::fs::read_to_string(t.state_dir().join("apps").join(BLUE).join("vars-seen")).unwrap();
    assert_eq!(seen, "x: 1\nregion: \"eu\"\n");
    assert!(!run
        .calls
        .iter()
        .any(|c| c.argv.iter().any(|a| a.contains("region=eu"))));
    // A deploy.toml elsewhere: its relative paths are relative to it, not to the
    // working directory.
    let nested = format!("{}[push]\npath = \"app\"\n", t.default_config());
    let t = t.write("sub/deploy.toml", &nested);
    t.write_dir("sub/app");
    let dry = t.run(&["--config", "sub/deploy.toml", "deploy", "--dry-run"]);
    dry.expect_code(0)
        .stdout_has("cf push sinatra_b --no-route -p sub/app\n");
    // The manifest names the live route, but --no-route kept it off the new version
    // until it was checked.
    let push = run.calls.iter().find(|c| c.argv[0] == "push").unwrap();
    assert!(!push.routes.contains_key(LIVE));
}

#[test]
fn verbose_streams_cf_output_and_quiet_prints_nothing() {
    let t = Test::new();
    let run = t.run(&["-v", "deploy"]);
    run.expect_code(0)
        .stderr_has("  | Pushing app sinatra_a to org demo-org");
    let run = t.run(&["--quiet", "deploy"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "", "{}", run.dump());
}

#[test]
fn routes_the_push_leaves_on_the_new_version_are_named() {
    let t = Test::blue_live().app(GREEN, "stopped", &["sinatra-b.apps.internal"]);
    let run = t.run_with(&["deploy"], &[("FAKE_CF_NO_ROUTE_KEEPS_ROUTES", "1")]);
    run.expect_code(0).stderr_has(
        "sinatra_b also holds sinatra-b.apps.internal, which this tool does not manage",
    );
    assert!(t
        .app_routes(GREEN)
        .contains(&"sinatra-b.apps.internal".to_string()));
}
