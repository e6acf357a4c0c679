//! The calls before the push: two rounds of calls side by side, the lock in the second,
//! read from the fake's log (each call's start, before its latency, and end).

use crate::support::*;

/// The calls of the run that ended before the push started, in the order they started,
/// and the push. Not the calls logged before the push: the log is in the order calls
/// end, and the deploy record, which runs beside the push, may end first.
fn before_push(run: &Run) -> (Vec<Call>, Call) {
    let push = run
        .calls
        .iter()
        .find(|c| c.argv[0] == "push")
        .unwrap_or_else(|| panic!("no push\n{}", run.dump()))
        .clone();
    let mut before: Vec<Call> = run
        .calls
        .iter()
        .filter(|c| end(c) <= start(&push))
        .cloned()
        .collect();
    before.sort_by(|a, b| start(a).total_cmp(&start(b)));
    (before, push)
}

/// Each call's argv without the request body, sorted: the order within a round is the
/// threads'.
fn sorted_lines(calls: &[Call]) -> Vec<String> {
    let mut lines: Vec<String> = calls
        .iter()
        .map(|c| {
            let argv: Vec<&str> = c
                .argv
                .iter()
                .map(String::as_str)
                .take_while(|a| *a != "-d")
                .collect();
            format!("cf {}", argv.join(" "))
        })
        .collect();
    lines.sort();
    lines
}

fn start(c: &Call) -> f64 {
    c.start.expect("the fake logs times (bash 5)")
}

fn end(c: &Call) -> f64 {
    c.end.expect("the fake logs times (bash 5)")
}

/// Every call of the round started before any of them ended: they ran side by side.
#[track_caller]
fn side_by_side(round: &[Call]) {
    let last_start = round.iter().map(start).fold(f64::MIN, f64::max);
    let first_end = round.iter().map(end).fold(f64::MAX, f64::min);
    assert!(
        last_start < first_end,
        "not side by side: {:?}",
        round
            .iter()
            .map(|c| (c.line(), c.start, c.end))
            .collect::<Vec<_>>()
    );
}

/// Every call of `later` started once every call of `earlier` had ended.
#[track_caller]
fn after(earlier: &[Call], later: &[Call]) {
    let done = earlier.iter().map(end).fold(f64::MIN, f64::max);
    for c in later {
        assert!(
            start(c) >= done,
            "{} started before the round before ended",
            c.line()
        );
    }
}

#[test]
fn a_later_deploy_reads_and_locks_in_two_rounds_before_the_push() {
    let t = Test::blue_live_green_stopped();
    let run = t.run_with(&["deploy"], &[("FAKE_CF_LATENCY", "0.2")]);
    run.expect_code(0);
    let (calls, push) = before_push(&run);
    let (one, two) = calls.split_at(3);
    assert_eq!(
        sorted_lines(one),
        [
            "cf curl /v3/apps?names=sinatra_a,sinatra_b&include=space.organization&per_page=5000",
            "cf target",
            "cf version",
        ],
        "{}",
        run.dump()
    );
    assert_eq!(
        sorted_lines(two),
        [
            "cf curl /networking/v1/external/policies?id=guid-sinatra_a,guid-sinatra_b",
            "cf curl /v3/apps/guid-sinatra_a/processes/web",
            "cf curl /v3/apps/guid-sinatra_a/processes/web/stats",
            "cf curl /v3/routes?app_guids=guid-sinatra_a,guid-sinatra_b&per_page=5000",
            "cf curl /v3/service_instances -X POST",
        ],
        "{}",
        run.dump()
    );
    side_by_side(one);
    side_by_side(two);
    after(one, two);
    after(two, std::slice::from_ref(&push));
    // Two rounds of 200 ms, plus the fake's own time per call (it serialises them).
    let elapsed = two.iter().map(end).fold(f64::MIN, f64::max)
        - one.iter().map(start).fold(f64::MAX, f64::min);
    assert!(elapsed < 1.5, "{elapsed}s before the push");
    t.assert_converged(&[LIVE]);
}

#[test]
fn a_first_deploy_pays_one_call_for_the_space() {
    let t = Test::new();
    let run = t.run_with(&["deploy"], &[("FAKE_CF_LATENCY", "0.1")]);
    run.expect_code(0);
    let (calls, push) = before_push(&run);
    let lines: Vec<String> = calls.iter().map(Call::line).collect();
    assert_eq!(calls.len(), 5, "{lines:?}");
    side_by_side(&calls[..3]);
    assert_eq!(lines[3], "cf space demo-space --guid");
    assert!(lines[4].starts_with("cf curl /v3/service_instances -X POST"));
    after(&calls[..3], &calls[3..4]);
    after(&calls[3..4], &calls[4..]);
    after(&calls[4..], std::slice::from_ref(&push));
}

#[test]
fn status_and_the_dry_run_take_no_lock() {
    let t = Test::blue_live_green_stopped();
    for args in [&["status"][..], &["deploy", "--dry-run"][..]] {
        let run = t.run(args);
        run.expect_code(0);
        let lines = sorted_lines(&run.calls);
        assert_eq!(
            lines,
            [
                "cf curl /v3/apps/guid-sinatra_a/processes/web/stats",
                "cf curl /v3/apps?names=sinatra_a,sinatra_b&include=space.organization&per_page=5000",
                "cf curl /v3/routes?app_guids=guid-sinatra_a,guid-sinatra_b&per_page=5000",
                "cf target",
                "cf version",
            ],
            "{args:?}"
        );
    }
}
