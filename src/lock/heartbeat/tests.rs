//! The heartbeat against the in-memory cf, with a lock.stale-after of a fraction of a
//! second so that a run can outlast several intervals.

use std::time::{Duration, Instant};

use super::*;
use crate::cf::memory::MemoryCf;
use crate::lock::{acquire, parse_value};
use crate::plan::fixtures::config;
use crate::report::Recorder;

const NAME: &str = "cf-bluegreen-lock-a-b";

fn patches(cf: &MemoryCf) -> Vec<Vec<String>> {
    cf.calls()
        .into_iter()
        .filter(|c| c.argv.iter().any(|a| a == "PATCH"))
        .map(|c| c.argv)
        .collect()
}

fn warnings(events: &Recorder) -> Vec<String> {
    events
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("warning: "))
        .collect()
}

/// Takes the lock with `[lock] extra`, then runs `run` under [`while_held`].
fn hold(cf: &MemoryCf, extra: &str, run: impl FnOnce(&Context)) -> (Held, Recorder) {
    let c = config(&format!("[lock]\n{extra}\n"));
    let events = Recorder::default();
    let held = {
        let ctx = Context::new(&c, cf, &events, "me pid 1");
        let space = ctx.cf.space_guid("s").unwrap().unwrap();
        let held = acquire(&ctx, &space, "tok", false).unwrap();
        while_held(&ctx, Some(&held), || run(&ctx));
        held
    };
    (held, events)
}

#[test]
fn the_interval_is_a_third_of_stale_after() {
    assert_eq!(
        interval(Duration::from_secs(3600)),
        Duration::from_secs(1200)
    );
    assert_eq!(
        interval(Duration::from_millis(300)),
        Duration::from_millis(100)
    );
}

#[test]
fn a_run_that_outlasts_several_intervals_refreshes_the_lock() {
    let cf = MemoryCf::new();
    // Ten intervals of 100ms.
    let (held, events) = hold(&cf, "stale-after = \"300ms\"", |_| {
        std::thread::sleep(Duration::from_millis(1000))
    });
    let patches = patches(&cf);
    assert!(!patches.is_empty(), "no refresh in ten intervals");
    for argv in &patches {
        assert_eq!(
            argv[..5],
            [
                "curl".to_string(),
                format!("/v3/service_instances/{}", held.guid),
                "-X".into(),
                "PATCH".into(),
                "-d".into(),
            ]
        );
        assert!(
            argv[5]
                .starts_with(r#"{"metadata":{"annotations":{"cf-bluegreen/lock":"me pid 1 since "#),
            "{}",
            argv[5]
        );
    }
    let value = cf.service_annotation(NAME, metadata::LOCK).unwrap();
    assert!(value.ends_with(" token tok"), "the token stays: {value}");
    assert_eq!(parse_value(&value).holder, "me pid 1");
    assert!(warnings(&events).is_empty(), "{:?}", warnings(&events));
}

#[test]
fn a_short_run_makes_no_call_and_does_not_wait_for_the_interval() {
    let cf = MemoryCf::new();
    let started = Instant::now();
    // The default stale-after: a refresh every 20 minutes.
    let (_, events) = hold(&cf, "", |_| std::thread::sleep(Duration::from_millis(200)));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the heartbeat held the run up for {:?}",
        started.elapsed()
    );
    assert!(patches(&cf).is_empty(), "{:?}", patches(&cf));
    assert!(warnings(&events).is_empty());
}

#[test]
fn without_a_lock_nothing_runs_beside() {
    let cf = MemoryCf::new();
    let c = config("[lock]\nstale-after = \"30ms\"\n");
    let events = Recorder::default();
    let ctx = Context::new(&c, &cf, &events, "me pid 1");
    let value = while_held(&ctx, None, || {
        std::thread::sleep(Duration::from_millis(200));
        7
    });
    assert_eq!(value, 7);
    assert!(cf.calls().is_empty());
}

#[test]
fn a_lock_broken_by_another_run_is_warned_about_once_and_not_refreshed() {
    let cf = MemoryCf::new();
    let (held, events) = hold(&cf, "stale-after = \"300ms\"", |ctx| {
        // Another run breaks it (as stale, or with --force-unlock).
        let guid = ctx
            .cf
            .service_instances_named(NAME, &ctx.cf.space_guid("s").unwrap().unwrap())
            .unwrap()[0]
            .guid
            .clone();
        ctx.cf.delete_service_instance(&guid).unwrap();
        std::thread::sleep(Duration::from_millis(1000));
    });
    let warnings = warnings(&events);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!(
            "warning: the deploy lock {} is gone: another run broke it",
            held.name
        )),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("`cf-bluegreen status`"),
        "{}",
        warnings[0]
    );
    assert_eq!(patches(&cf).len(), 1, "one try, then no more");
}

#[test]
fn a_refresh_that_fails_is_a_warning_with_cfs_message_and_the_run_goes_on() {
    // The lock's create is the first curl; every one after it fails.
    let cf = MemoryCf::new().fail_from("curl", 2);
    let (_, events) = hold(&cf, "stale-after = \"300ms\"", |_| {
        std::thread::sleep(Duration::from_millis(1000))
    });
    let warnings = warnings(&events);
    assert!(!warnings.is_empty());
    assert_eq!(
        warnings.len(),
        patches(&cf).len(),
        "one warning per failure"
    );
    for w in &warnings {
        assert!(
            w.starts_with(&format!(
                "warning: could not refresh the deploy lock {NAME} "
            )),
            "{w}"
        );
        assert!(w.contains("-X PATCH"), "names the call: {w}");
    }
}
