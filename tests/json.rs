//! `--json`: real runs against the fake cf, every stdout line validated against the
//! documented schema (docs/json-schema.json), and the values that matter checked.

use crate::support::*;
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json-schema.json"),
    )
    .unwrap();
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

/// Every stdout line as JSON, each valid against the schema; stdout holds nothing else.
#[track_caller]
fn lines(run: &Run) -> Vec<Value> {
    let validator = validator();
    let mut values = Vec::new();
    for line in run.stdout.lines() {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{}", run.dump()));
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{line}\n{errors:#?}");
        assert!(value["event"].is_string(), "{line}");
        values.push(value);
    }
    assert!(!values.is_empty(), "no JSON on stdout\n{}", run.dump());
    values
}

fn events<'a>(values: &'a [Value], event: &str) -> Vec<&'a Value> {
    values.iter().filter(|v| v["event"] == event).collect()
}

/// The one summary, and that it is the last line.
#[track_caller]
fn summary(values: &[Value]) -> &Value {
    assert_eq!(events(values, "summary").len(), 1, "{values:#?}");
    let last = values.last().unwrap();
    assert_eq!(last["event"], "summary", "{values:#?}");
    last
}

#[test]
fn a_deploy_prints_its_steps_and_ends_with_a_summary() {
    let t = Test::blue_live_green_stopped();
    let run = t.run(&["deploy", "--json"]);
    run.expect_code(0)
        .stderr_has("ok   push the new version to sinatra_b");
    let values = lines(&run);
    let s = summary(&values);
    assert_eq!(s["command"], "deploy");
    assert_eq!(s["exit_code"], 0);
    assert_eq!(s["live_app"], GREEN);
    assert_eq!(s["previous_app"], BLUE);
    assert_eq!(s["urls"][0], "https://sinatralive.de.a9sapp.eu");
    assert_eq!(s["dry_run"], false);
    assert!(s["duration_ms"].as_u64().unwrap() > 0);
    let plan = events(&values, "plan");
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0]["target"], GREEN);
    assert_eq!(plan[0]["previous"], BLUE);
    // Every started step finishes, with the cf command it ran.
    let started = events(&values, "step_started");
    let finished = events(&values, "step_finished");
    assert_eq!(started.len(), finished.len());
    assert!(finished.iter().all(|f| f["ok"] == true));
    let push = finished
        .iter()
        .find(|f| {
            f["step"]
                .as_str()
                .unwrap()
                .starts_with("push the new version")
        })
        .expect("a push step");
    assert!(
        push["commands"][0]
            .as_str()
            .unwrap()
            .starts_with("cf push sinatra_b --no-route"),
        "{push}"
    );
    assert!(events(&values, "connected")[0]["cf_version"].is_string());
    t.assert_converged(&[LIVE]);
}

#[test]
fn json_is_global_and_a_dry_run_says_what_stays_live() {
    let t = Test::blue_live_green_stopped();
    let run = t.run(&["--json", "deploy", "--dry-run"]);
    run.expect_code(0).expect_no_mutation();
    let values = lines(&run);
    let dry = events(&values, "dry_run");
    assert_eq!(dry.len(), 1);
    assert!(dry[0]["commands"].as_array().unwrap().iter().any(|c| c
        .as_str()
        .unwrap()
        .starts_with("cf push sinatra_b --no-route")));
    let s = summary(&values);
    assert_eq!(s["dry_run"], true);
    assert_eq!(s["live_app"], BLUE);
    assert_eq!(s["previous_app"], BLUE);
    // The commands a person reads went to stderr, not among the JSON.
    run.stderr_has("cf push sinatra_b --no-route");
}

#[test]
fn a_failed_deploy_says_the_old_app_still_serves() {
    let t = Test::blue_live_green_stopped().broken_router();
    let run = t.run(&["deploy", "--json"]);
    run.expect_code(1);
    let values = lines(&run);
    let s = summary(&values);
    assert_eq!(s["exit_code"], 1);
    assert_eq!(s["live_app"], BLUE);
    assert_eq!(s["previous_app"], BLUE);
    assert!(s["error"].as_str().unwrap().contains("smoke"), "{s}");
    let error = events(&values, "error");
    assert_eq!(error.len(), 1);
    assert_eq!(error[0]["exit_code"], 1);
    assert!(events(&values, "step_finished")
        .iter()
        .any(|f| f["ok"] == false));
    assert_eq!(events(&values, "recovery_started").len(), 1);
    assert_eq!(
        events(&values, "recovery_decided")[0]["direction"],
        "restore"
    );
}

#[test]
fn a_configuration_error_still_ends_with_a_summary() {
    let t = Test::blue_live_green_stopped().config("[apps]\nblue = \"a\"\n");
    for args in [&["deploy", "--json"][..], &["status", "--json"][..]] {
        let run = t.run(args);
        run.expect_code(2);
        assert!(run.calls.is_empty(), "no cf call: {}", run.dump());
        let values = lines(&run);
        assert_eq!(events(&values, "error")[0]["exit_code"], 2);
        let s = summary(&values);
        assert_eq!(s["exit_code"], 2);
        assert_eq!(s["command"], args[0]);
        assert_eq!(s["live_app"], Value::Null);
    }
}

#[test]
fn status_is_one_document() {
    let t = Test::rollback_ready().annotate(GREEN, LABEL, "v1.2.3");
    let run = t.run(&["status", "--json"]);
    run.expect_code(0);
    let values = lines(&run);
    assert_eq!(values.len(), 1, "{values:#?}");
    let doc = &values[0];
    assert_eq!(doc["event"], "status");
    assert_eq!(doc["live_app"], GREEN);
    let apps = doc["apps"].as_array().unwrap();
    let green = apps.iter().find(|a| a["name"] == GREEN).unwrap();
    let blue = apps.iter().find(|a| a["name"] == BLUE).unwrap();
    assert_eq!(green["live"], true);
    assert_eq!(green["state"], "started");
    assert_eq!(green["routes"][0], LIVE);
    assert_eq!(green["label"], "v1.2.3");
    assert_eq!(green["deployed"], "2026-11-02T10:00:00Z ci");
    assert_eq!(blue["live"], false);
    assert_eq!(blue["state"], "stopped");
    assert_eq!(blue["label"], Value::Null);
    // The human table went to stderr.
    run.stderr_has("<- live");
}

#[test]
fn push_vars_never_appear() {
    let t = Test::blue_live_green_stopped();
    let text = t.default_config().replace(
        "[lock]",
        "[push]\nvars = { password = \"s3cret-v4lue\" }\n\n[lock]",
    );
    let t = t.config(&text);
    for args in [
        &["deploy", "--json", "--verbose"][..],
        &["deploy", "--json", "--dry-run"][..],
    ] {
        let run = t.run(args);
        run.expect_code(0);
        lines(&run);
        assert!(!run.stdout.contains("s3cret-v4lue"), "{}", run.stdout);
        assert!(!run.stderr.contains("s3cret-v4lue"), "{}", run.stderr);
    }
}

#[test]
fn a_suite_summary_lists_every_deployment() {
    let mut text = "[smoke]\nenabled = false\n[switch]\ndrain = \"0s\"\n".to_string();
    let mut t = Test::new();
    for name in ["web", "api"] {
        text.push_str(&format!(
            "\n[[deployments]]\nname = \"{name}\"\napps = {{ blue = \"{name}_a\", green = \"{name}_b\" }}\n\
             routes = {{ domain = \"d.eu\", live = \"{name}\", staging = \"{name}-stg\" }}\n"
        ));
        t = t
            .app(&format!("{name}_a"), "started", &[&format!("{name}.d.eu")])
            .app(&format!("{name}_b"), "stopped", &[]);
    }
    let t = t.config(&text).touch("apps/api_b/crashed");
    let run = t.run(&["deploy", "--json"]);
    run.expect_code(1);
    let values = lines(&run);
    // Each pair's events say whose they are.
    for name in ["web", "api"] {
        assert!(
            values
                .iter()
                .any(|v| v["event"] == "plan" && v["deployment"] == name),
            "{name}"
        );
    }
    let s = summary(&values);
    assert_eq!(s["exit_code"], 1);
    let pairs = s["deployments"].as_array().unwrap();
    assert_eq!(pairs.len(), 2);
    let web = pairs.iter().find(|p| p["name"] == "web").unwrap();
    let api = pairs.iter().find(|p| p["name"] == "api").unwrap();
    assert_eq!(web["exit_code"], 0);
    assert_eq!(web["live_app"], "web_b");
    assert_eq!(web["previous_app"], "web_a");
    assert_eq!(api["exit_code"], 1);
    assert_eq!(api["live_app"], "api_a");
    assert_eq!(api["previous_app"], "api_a");
    assert!(api["error"].is_string(), "{api}");
    // Without --all-or-nothing, nothing is ever switched back for another pair.
    assert_eq!(web["switched_back"], false);
    assert_eq!(api["switched_back"], false);

    let run = t.run(&["status", "--json"]);
    run.expect_code(0);
    let values = lines(&run);
    assert_eq!(values.len(), 1);
    let names: Vec<&str> = values[0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"web") && names.contains(&"api"));
}

#[test]
fn the_schema_rejects_what_the_documentation_rules_out() {
    let validator = validator();
    let good = serde_json::json!({
        "event": "summary", "time": "2026-12-03T07:00:00.000Z", "command": "deploy",
        "exit_code": 0, "live_app": "b", "previous_app": "a", "urls": [], "label": null,
        "dry_run": false, "staged_app": null, "duration_ms": 5
    });
    assert!(validator.is_valid(&good));
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("live_app");
    let mut bad_code = good.clone();
    bad_code["exit_code"] = 7.into();
    let mut unknown = good.clone();
    unknown["event"] = "finished".into();
    let step = serde_json::json!({
        "event": "step_finished", "time": "t", "step": "push", "commands": [],
        "recovery": false, "ok": "yes", "duration_ms": 1
    });
    for bad in [missing, bad_code, unknown, step] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}

#[test]
fn a_staged_version_shows_in_the_summary_and_status_until_promoted() {
    let t = Test::blue_live_green_stopped();
    let run = t.run(&["deploy", "--no-switch", "--json"]);
    run.expect_code(0);
    let values = lines(&run);
    let staged = events(&values, "staged");
    assert_eq!(staged.len(), 1);
    assert_eq!(staged[0]["target"], GREEN);
    let s = summary(&values);
    assert_eq!(s["staged_app"], GREEN);
    assert_eq!(s["live_app"], BLUE);
    assert_eq!(s["previous_app"], BLUE);

    let run = t.run(&["status", "--json"]);
    run.expect_code(0);
    let doc = &lines(&run)[0];
    let green = doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == GREEN)
        .unwrap();
    assert!(green["staged"].is_string(), "{doc}");
    assert_eq!(green["live"], false);

    let run = t.run(&["promote", "--json"]);
    run.expect_code(0);
    let values = lines(&run);
    let s = summary(&values);
    assert_eq!(s["command"], "promote");
    assert_eq!(s["live_app"], GREEN);
    assert_eq!(s["previous_app"], BLUE);
    assert_eq!(s["staged_app"], Value::Null);
}

#[test]
fn interrupts_and_unsafe_ends_say_which_app_is_live() {
    // Interrupted before the switch: undone, the old app live.
    let t = Test::blue_live();
    let run = t.run_with(
        &["--json", "deploy"],
        &[("FAKE_CF_FAIL", "map-route:2:interrupt")],
    );
    run.expect_code(130);
    let values = lines(&run);
    let s = summary(&values);
    assert_eq!(s["exit_code"], 130);
    assert_eq!(s["live_app"], BLUE);
    assert_eq!(s["previous_app"], BLUE);
    assert_eq!(events(&values, "recovery_started")[0]["interrupted"], true);

    // Interrupted once the old app had let go: the switch was completed.
    let t = Test::blue_live();
    let run = t.run_with(
        &["--json", "deploy"],
        &[("FAKE_CF_FAIL", "unmap-route:1:interrupt")],
    );
    run.expect_code(130);
    let values = lines(&run);
    let s = summary(&values);
    assert_eq!(s["live_app"], GREEN);
    assert_eq!(s["previous_app"], BLUE);
    t.assert_converged(&[LIVE]);

    // The recovery failed too: no safe state, nobody knows which app serves.
    let t = Test::blue_live();
    let run = t.run_with(
        &["--json", "deploy"],
        &[(
            "FAKE_CF_FAIL",
            "map-route:2,unmap-route:1,unmap-route:2,unmap-route:3",
        )],
    );
    run.expect_code(3);
    let values = lines(&run);
    let s = summary(&values);
    assert_eq!(s["exit_code"], 3);
    assert_eq!(s["live_app"], Value::Null);
    assert_eq!(s["previous_app"], BLUE);
    assert_eq!(events(&values, "error")[0]["exit_code"], 3);
}

#[test]
fn a_second_interrupt_still_ends_with_a_summary() {
    let t = Test::blue_live();
    let run = t.run_with(
        &["--json", "deploy"],
        &[("FAKE_CF_FAIL", "map-route:2:interrupt2")],
    );
    run.expect_code(130);
    let values = lines(&run);
    let s = summary(&values);
    assert_eq!(s["exit_code"], 130);
    assert_eq!(s["live_app"], Value::Null);
    assert_eq!(s["previous_app"], BLUE);
}

#[test]
fn a_cf_that_cannot_start_ends_with_a_summary() {
    let t = Test::blue_live();
    let run = t.run(&["--json", "--cf", "/nonexistent/cf", "deploy"]);
    run.expect_code(2);
    let values = lines(&run);
    assert_eq!(events(&values, "error").len(), 1, "{values:#?}");
    assert_eq!(summary(&values)["exit_code"], 2);
}

#[test]
fn without_json_stdout_has_no_json() {
    let t = Test::blue_live();
    let run = t.run(&["deploy"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
}

#[test]
fn the_readme_documents_every_event_of_the_schema() {
    let root = env!("CARGO_MANIFEST_DIR");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/docs/json-schema.json")).unwrap(),
    )
    .unwrap();
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let names = schema["properties"]["event"]["enum"].as_array().unwrap();
    assert!(names.len() >= 15, "{names:?}");
    for name in names {
        let name = name.as_str().unwrap();
        assert!(
            readme.contains(&format!("`{name}`")),
            "the README's --json section does not name {name}"
        );
        // Each event has its rule in the schema.
        assert!(
            schema["allOf"]
                .as_array()
                .unwrap()
                .iter()
                .any(|rule| rule["if"]["properties"]["event"]["const"] == name),
            "no rule for {name}"
        );
    }
}

#[test]
fn a_switch_back_and_an_interrupted_verification_say_which_app_is_live() {
    let verify = |t: Test| {
        let url = t.live_url().to_string();
        t.with(&format!(
            "[verify]\nduration = \"1s\"\ninterval = \"100ms\"\nurl = \"{url}\""
        ))
    };
    // The new version fails on the live URL: back to the old app.
    let t = verify(Test::blue_live_green_stopped().broken_app(GREEN));
    let run = t.run(&["deploy", "--json"]);
    run.expect_code(1);
    let values = lines(&run);
    let s = summary(&values);
    assert_eq!(s["live_app"], BLUE);
    assert_eq!(s["previous_app"], BLUE);
    assert!(
        s["error"]
            .as_str()
            .unwrap()
            .contains("into the verification (of 1s): status 500"),
        "{s}"
    );
    assert_eq!(
        events(&values, "recovery_decided")[0]["direction"],
        "restore"
    );
    // Interrupted during the verification: the new app is live, the old one started.
    let t = verify(Test::blue_live_green_stopped())
        .with("command = [\"sh\", \"-c\", \"kill -INT $PPID; sleep 5\"]");
    let run = t.run(&["deploy", "--json"]);
    run.expect_code(130);
    let values = lines(&run);
    let s = summary(&values);
    assert_eq!(s["live_app"], GREEN);
    assert_eq!(s["previous_app"], BLUE);
    assert_eq!(t.app_state(BLUE).as_deref(), Some("started"));
}
