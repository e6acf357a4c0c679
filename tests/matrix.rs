//! The fault-injection matrix: every mutating cf call of a first deploy, a later deploy
//! and a rollback, made to fail, to fail after taking effect, to hang past its timeout,
//! and to be interrupted by SIGINT. After each: the live route was never without a
//! started app, the exit code says what happened, and a plain `deploy` converges.

use crate::support::*;

const MODES: [&str; 4] = ["fail", "after", "hang", "interrupt"];

struct Scenario {
    name: &'static str,
    command: &'static str,
    setup: fn() -> Test,
}

/// Short timeouts so that hanging calls are killed quickly.
const TIMEOUTS: &str = "[cf]\ntimeout = \"1s\"\n[push]\ntimeout = \"2s\"";

fn first_deploy() -> Test {
    Test::new().with(TIMEOUTS)
}

fn later_deploy() -> Test {
    Test::blue_live_green_stopped().with(TIMEOUTS)
}

fn rollback() -> Test {
    Test::rollback_ready().with(TIMEOUTS)
}

/// `COMMAND:N` for every mutating call of a clean run: N counts all calls of that cf
/// command in the run, the way the fake counts them.
fn fault_points(s: &Scenario) -> Vec<String> {
    let t = (s.setup)();
    let run = t.run(&[s.command]);
    run.expect_code(0);
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
    let run = t.run_with(&[s.command], &[("FAKE_CF_FAIL", &spec)]);
    let fail = |what: String| Err(format!("{} {spec}: {what}\n{}", s.name, run.dump()));
    let allowed: &[i32] = if mode == "interrupt" {
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
    if let Err(e) = std::panic::catch_unwind(|| assert_always_served(&t.log(), LIVE)) {
        return fail(format!("live route dropped: {e:?}"));
    }
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
    assert!(points.len() >= 5, "{}: {points:?}", s.name);
    let mut failures = Vec::new();
    let mut codes = std::collections::BTreeMap::new();
    let mut cases = 0;
    for point in &points {
        for mode in MODES {
            cases += 1;
            match case(&s, point, mode) {
                Ok(code) => *codes.entry(code).or_insert(0) += 1,
                Err(e) => failures.push(e),
            }
        }
    }
    eprintln!(
        "matrix {}: {cases} cases ({} fault points x {} modes), {} passed; exit codes {codes:?}",
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
        command: "deploy",
        setup: first_deploy,
    });
}

#[test]
fn matrix_later_deploy() {
    matrix(Scenario {
        name: "later deploy",
        command: "deploy",
        setup: later_deploy,
    });
}

#[test]
fn matrix_rollback() {
    matrix(Scenario {
        name: "rollback",
        command: "rollback",
        setup: rollback,
    });
}
