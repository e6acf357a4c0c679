//! Configuration errors: exit 2, naming the file and key, and no cf call at all.

use crate::support::*;

fn expect_config_error(config: &str, message: &str) {
    let t = Test::new().config(config);
    t.run(&["deploy"]).expect_code(2).stderr_has(message);
    assert!(t.log().is_empty(), "cf was called: {:?}", t.log());
}

const GOOD: &str = "[apps]\nblue = \"a\"\ngreen = \"b\"\n[routes]\ndomain = \"d.com\"\nlive = \"live\"\nstaging = \"stg\"\n";

#[test]
fn syntax_error_names_line_and_column() {
    expect_config_error("[apps]\nblue = \"a\n", "deploy.toml:2:");
}

#[test]
fn unknown_key() {
    expect_config_error(
        &format!("{GOOD}colour = \"blue\"\n"),
        "unknown field `colour`",
    );
}

#[test]
fn same_app_twice() {
    expect_config_error(
        &GOOD.replace("\"b\"", "\"a\""),
        "apps.green: is the same app as apps.blue",
    );
}

#[test]
fn invalid_hostname() {
    expect_config_error(
        &GOOD.replace("\"live\"", "\"my_live\""),
        "routes.live: `my_live` is not a valid hostname",
    );
}

#[test]
fn route_flag_in_push_args() {
    expect_config_error(
        &format!("{GOOD}[push]\nargs = [\"-n\", \"x\"]\n"),
        "push.args[0]: `-n` is not allowed",
    );
}

#[test]
fn bad_duration() {
    expect_config_error(
        &format!("{GOOD}[smoke]\ntimeout = \"a while\"\n"),
        "smoke.timeout: `a while` is not a duration",
    );
}

#[test]
fn missing_file() {
    let t = Test::new();
    t.run(&["--config", "nope.toml", "deploy"])
        .expect_code(2)
        .stderr_has("cannot read the configuration nope.toml: no such file")
        .stderr_has("deploy.toml.example");
    assert!(t.log().is_empty());
}

#[test]
fn config_from_the_environment() {
    let t = Test::new().write("other.toml", "nonsense");
    t.run_with(&["deploy"], &[("CF_BLUEGREEN_CONFIG", "other.toml")])
        .expect_code(2)
        .stderr_has("other.toml:1:");
}

#[test]
fn the_example_config_is_valid() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy.toml.example"))
        .unwrap();
    let config =
        cf_bluegreen::config::Config::parse(&text, std::path::Path::new("deploy.toml")).unwrap();
    assert_eq!(config.blue, "sinatra_a");
    assert_eq!(config.main_live().url(), "sinatralive.de.a9sapp.eu");
    assert_eq!(config.smoke.url, "https://sinatrastaging.de.a9sapp.eu/");
}
