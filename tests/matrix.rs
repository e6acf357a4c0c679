//! The fault-injection matrix: every mutating cf call of a first deploy, a later deploy,
//! a rollback, a `deploy --no-switch`, a promotion, an abort and a switch back after a
//! failed `[verify]`, made to fail, to fail after taking effect, to hang past its timeout,
//! and to be interrupted by SIGINT; each `cf curl` of a later deploy and of a promotion
//! also answered with an HTTP error (exit 0 and the API's error body, as cf does). After each: the live route was never without a
//! started app, the exit code says what happened, and a plain `deploy` converges.

use crate::support::*;

const MODES: [&str; 4] = ["fail", "after", "hang", "interrupt"];

struct Scenario {
    name: &'static str,
    command: &'static [&'static str],
    setup: fn() -> Test,
    /// The exit code of the run without a fault: 1 for the switch back.
    clean: i32,
}

/// Short timeouts so that hanging calls are killed quickly.
const TIMEOUTS: &str = "[cf]\ntimeout = \"1s\"\n[push]\ntimeout = \"2s\"";

fn first_deploy() -> Test {
    Test::new().with(TIMEOUTS)
}

fn later_deploy() -> Test {
    Test::blue_live_green_stopped().with(TIMEOUTS)
}

/// Blue live; green passes its check on the staging route, then answers 500 on the live
/// one, which `[verify]` finds: the clean run switches back (exit 1).
fn switch_back() -> Test {
    let t = later_deploy().broken_app(GREEN);
    let url = t.live_url().to_string();
    t.with(&format!(
        "[verify]\nduration = \"1s\"\ninterval = \"100ms\"\nurl = \"{url}\""
    ))
}

fn rollback() -> Test {
    Test::rollback_ready().with(TIMEOUTS)
}

/// Blue live, green running a version staged by `deploy --no-switch`.
fn staged() -> Test {
    let t = later_deploy();
    t.run(&["deploy", "--no-switch"]).expect_code(0);
    t
}

/// After a staging, a promotion or an abort: green waits for promotion whole (started,
/// on the staging route, recorded) or not at all (stopped, no route) — or, after a
/// promotion that went through, is live. A record whose clearing failed (a warning) may
/// stay on a stopped app, or beside `live-since`: it counts on neither.
fn staged_whole_or_gone(t: &Test) -> Result<(), String> {
    let (record, routes, state) = (
        t.annotation(GREEN, STAGED),
        t.app_routes(GREEN),
        t.app_state(GREEN),
    );
    let started = state.as_deref() == Some("started");
    let whole = record.is_some() && routes == [STAGING] && started;
    let gone = routes.is_empty() && !started;
    let live = routes == [LIVE]
        && started
        && (record.is_none() || t.annotation(GREEN, LIVE_SINCE).is_some());
    if whole || gone || live {
        Ok(())
    } else {
        Err(format!(
            "{GREEN} half staged: record {record:?}, routes {routes:?}, {state:?}"
        ))
    }
}

/// `COMMAND:N` for every mutating call of a clean run: N counts all calls of that cf
/// command in the run, the way the fake counts them.
fn fault_points(s: &Scenario) -> Vec<String> {
    let t = (s.setup)();
    let run = t.run(s.command);
    run.expect_code(s.clean);
    let mut points = Vec::new();
    for (i, call) in run.calls.iter().enumerate() {
        if call.is_mutating() {
            let n = run.calls[..=i]
                .iter()
                .filter(|c| c.argv[0] == call.argv[0])
                .count();
            points.push(format!("{}:{n}", call.argv[0]));
        }
    }
    points
}

fn live_holder(t: &Test) -> Option<&'static str> {
    [BLUE, GREEN]
        .into_iter()
        .find(|a| t.app_routes(a).iter().any(|r| r == LIVE))
}

/// Runs one case; `Err` describes what went wrong.
fn case(s: &Scenario, point: &str, mode: &str) -> Result<i32, String> {
    let t = (s.setup)();
    let live_before = live_holder(&t);
    let spec = format!("{point}:{mode}");
    let run = t.run_with(s.command, &[("FAKE_CF_FAIL", &spec)]);
    let fail = |what: String| Err(format!("{} {spec}: {what}\n{}", s.name, run.dump()));
    // An interrupt during the switch back does not stop it, and the run then exits as
    // the failed verification says.
    let allowed: &[i32] = if mode == "interrupt" && s.clean == 1 {
        &[130, 3, 1]
    } else if mode == "interrupt" {
        &[130, 3]
    } else {
        &[0, 1, 3]
    };
    if !allowed.contains(&run.code) {
        return fail(format!("exit code {}", run.code));
    }
    if run.code == 1 {
        if let Some(live) = live_before {
            if live_holder(&t) != Some(live) || t.app_state(live).as_deref() != Some("started") {
                return fail(format!(
                    "exit 1, but {live} no longer serves the live route"
                ));
            }
        }
    }
    // The new version of the switch back's scenario fails its verification: whatever
    // failed on the way, it never ends live as if verified, and while it holds the live
    // route without having passed, the old app waits started to take it back.
    if s.clean == 1 {
        if run.code == 0 {
            return fail("exit 0 with a version that fails its verification".into());
        }
        let old_started = t.app_state(BLUE).as_deref() == Some("started");
        if live_holder(&t) == Some(GREEN) && run.code != 3 && !old_started {
            return fail(format!(
                "{GREEN} holds the live route unverified, and {BLUE} was retired"
            ));
        }
    }
    if let Err(e) = std::panic::catch_unwind(|| assert_always_served(&t.log(), LIVE)) {
        return fail(format!("live route dropped: {e:?}"));
    }
    // Exit 3 and a second interrupt leave what a human finishes.
    let staging = !matches!(s.command, ["deploy"] | ["rollback"]);
    if staging && [0, 1, 130].contains(&run.code) {
        if let Err(e) = staged_whole_or_gone(&t) {
            return fail(e);
        }
    }
    // A new version that works, for the switch back's scenario.
    let _ = std::fs::remove_file(t.state_dir().join("broken-app"));
    // One plain run brings everything to a clean state (exit 3 keeps the lock on
    // purpose, so that run breaks it).
    let mut args = vec!["deploy"];
    if run.code == 3 {
        args.push("--force-unlock");
    }
    let next = t.run(&args);
    if next.code != 0 {
        return Err(format!(
            "{} {spec}: the following deploy exited {}\n{}\n--- the faulty run\n{}",
            s.name,
            next.code,
            next.dump(),
            run.dump()
        ));
    }
    let converged = std::panic::catch_unwind(|| {
        t.assert_converged(&[LIVE]);
        assert_always_served(&t.log(), LIVE);
    });
    if let Err(e) = converged {
        return Err(format!(
            "{} {spec}: did not converge: {e:?}\n{}",
            s.name,
            next.dump()
        ));
    }
    Ok(run.code)
}

fn matrix(s: Scenario) {
    let points = fault_points(&s);
    // An abort writes the least: the lock, the staging unmap, the stop, the record.
    let least = if s.command == ["abort"] { 4 } else { 5 };
    assert!(points.len() >= least, "{}: {points:?}", s.name);
    let mut failures = Vec::new();
    let mut codes = std::collections::BTreeMap::new();
    let mut cases = 0;
    for point in &points {
        // `cf curl` also fails the way it does against a real API: exit 0, an error body.
        // In the two runs that write every kind of record (the lock, deploy, checked,
        // staged, live-since): the others write the same ones, and the suite stays fast.
        let http = (point.starts_with("curl:") && ["later deploy", "promote"].contains(&s.name))
            .then_some("http");
        for mode in MODES.into_iter().chain(http) {
            cases += 1;
            match case(&s, point, mode) {
                Ok(code) => *codes.entry(code).or_insert(0) += 1,
                Err(e) => failures.push(e),
            }
        }
    }
    eprintln!(
        "matrix {}: {cases} cases ({} fault points x {} modes, and an HTTP error for each cf curl of a later deploy and a promotion), {} passed; exit codes {codes:?}",
        s.name,
        points.len(),
        MODES.len(),
        cases - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn matrix_first_deploy() {
    matrix(Scenario {
        name: "first deploy",
        command: &["deploy"],
        setup: first_deploy,
        clean: 0,
    });
}

#[test]
fn matrix_later_deploy() {
    matrix(Scenario {
        name: "later deploy",
        command: &["deploy"],
        setup: later_deploy,
        clean: 0,
    });
}

#[test]
fn matrix_rollback() {
    matrix(Scenario {
        name: "rollback",
        command: &["rollback"],
        setup: rollback,
        clean: 0,
    });
}

#[test]
fn matrix_staging() {
    matrix(Scenario {
        name: "deploy --no-switch",
        command: &["deploy", "--no-switch"],
        setup: later_deploy,
        clean: 0,
    });
}

#[test]
fn matrix_promote() {
    matrix(Scenario {
        name: "promote",
        command: &["promote"],
        setup: staged,
        clean: 0,
    });
}

#[test]
fn matrix_abort() {
    matrix(Scenario {
        name: "abort",
        command: &["abort"],
        setup: staged,
        clean: 0,
    });
}

#[test]
fn matrix_switch_back() {
    matrix(Scenario {
        name: "switch back after a failed verification",
        command: &["deploy"],
        setup: switch_back,
        clean: 1,
    });
}
