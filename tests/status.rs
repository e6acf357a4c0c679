use crate::support::*;

#[test]
fn status_shows_both_apps_and_the_live_one() {
    let t =
        Test::new()
            .app(BLUE, "stopped", &[])
            .app(GREEN, "started", &[LIVE, "other.example.com/x"]);
    let run = t.run(&["status"]);
    run.expect_code(0)
        .stdout_has("sinatra_a  stopped      -\n")
        .stdout_has(
            "sinatra_b  started 1/1  sinatralive.de.a9sapp.eu, other.example.com/x  <- live\n",
        )
        .stdout_has("live: sinatra_b (https://sinatralive.de.a9sapp.eu)")
        .expect_no_mutation();
}

#[test]
fn the_records_name_the_ci_job_that_deployed() {
    let t = Test::blue_live();
    t.run_with(
        &["deploy"],
        &[
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_RUN_ID", "42"),
        ],
    )
    .expect_code(0);
    let deploy = t.annotation(GREEN, DEPLOY).unwrap();
    assert!(
        deploy.ends_with("job https://github.com/acme/shop/actions/runs/42"),
        "{deploy}"
    );
    t.run(&["status"])
        .expect_code(0)
        .stdout_has("job https://github.com/acme/shop/actions/runs/42");
}
