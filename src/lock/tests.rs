//! The lock against the in-memory cf: free, held, stale, forced, a race lost, a release
//! that fails, a create that fails after taking effect, and the old annotation lock.

use super::*;
use crate::cf::memory::MemoryCf;
use crate::cf::{Cf, CfOutput};
use crate::plan::fixtures::{config, meta};
use crate::report::Recorder;

const NAME: &str = "cf-bluegreen-lock-a-b";
/// The space MemoryCf targets (org `o`, space `s`), as it hashes its GUID.
fn space() -> String {
    let cf = MemoryCf::new();
    let c = config("");
    let events = Recorder::default();
    let ctx = Context::new(&c, &cf, &events, "tester");
    ctx.cf.space_guid("s").unwrap().unwrap()
}

fn since(ago: Duration) -> String {
    format_value("ci@runner-7 pid 99", SystemTime::now() - ago, "x")
}

fn warnings(events: &Recorder) -> Vec<String> {
    events
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("warning: "))
        .collect()
}

/// Runs `f` with a context around `cf`, the default config and `who` = `me pid 1`.
fn with<R>(cf: &dyn Cf, f: impl FnOnce(&Context) -> R) -> (R, Recorder) {
    let c = config("");
    let events = Recorder::default();
    let r = {
        let ctx = Context::new(&c, cf, &events, "me pid 1");
        f(&ctx)
    };
    (r, events)
}

#[test]
fn value_round_trip() {
    let t = humantime::parse_rfc3339("2026-11-26T08:00:00Z").unwrap();
    let v = format_value("ci@runner-1 pid 42", t, "tok");
    assert_eq!(v, "ci@runner-1 pid 42 since 2026-11-26T08:00:00Z token tok");
    let info = parse_value(&v);
    assert_eq!(info.holder, "ci@runner-1 pid 42");
    assert_eq!(info.since, Some(t));
    assert_eq!(parse_value("garbage").since, None);
}

#[test]
fn the_name_is_the_pairs_in_either_order_and_fits_cf() {
    assert_eq!(name(&config("")), NAME);
    let swapped = config("").clone();
    let mut swapped = swapped;
    std::mem::swap(&mut swapped.blue, &mut swapped.green);
    assert_eq!(name(&swapped), NAME);
    let mut long = config("");
    long.blue = "x".repeat(200);
    long.green = "y".repeat(200);
    let n = name(&long);
    assert_eq!(n.len(), 255);
    assert!(n.starts_with("cf-bluegreen-lock-xxx"), "{n}");
    long.green = format!("{}z", "y".repeat(199));
    assert_ne!(name(&long), n, "the hash tells them apart");
}

#[test]
fn names_ignore_case_and_hyphens_cannot_make_two_pairs_share_one() {
    let pair = |blue: &str, green: &str| {
        let mut c = config("");
        c.blue = blue.into();
        c.green = green.into();
        name(&c)
    };
    assert_eq!(pair("A", "b"), NAME);
    assert_eq!(pair("x-y", "z"), pair("z", "X-Y"));
    assert_ne!(pair("x-y", "z"), pair("x", "y-z"));
    assert!(pair("x-y", "z").starts_with("cf-bluegreen-lock-x-y-z-"));
}

#[test]
fn a_free_lock_is_one_create_and_one_delete() {
    let cf = MemoryCf::new();
    let space = space();
    let (held, events) = with(&cf, |ctx| acquire(ctx, &space, "tok", false));
    let held = held.unwrap();
    assert_eq!(held.name, NAME);
    assert!(warnings(&events).is_empty());
    assert_eq!(cf.services(), [NAME]);
    let value = cf.service_annotation(NAME, metadata::LOCK).unwrap();
    assert!(value.starts_with("me pid 1 since "), "{value}");
    assert!(value.ends_with(" token tok"), "{value}");
    let calls: Vec<String> = cf.calls().iter().map(|c| c.argv[..2].join(" ")).collect();
    assert_eq!(calls, ["curl /v3/service_instances"]);

    let ((), _) = with(&cf, |ctx| release(ctx, &held));
    assert!(cf.services().is_empty());
    let last = cf.calls().last().unwrap().argv.clone();
    assert_eq!(
        last[1..],
        [
            format!("/v3/service_instances/{}", held.guid),
            "-X".into(),
            "DELETE".into()
        ]
    );
}

#[test]
fn a_held_lock_names_its_holder_and_is_left_alone() {
    let held_by = since(Duration::from_secs(192));
    let cf = MemoryCf::new().service(NAME, metadata::LOCK, &held_by);
    let space = space();
    let (result, _) = with(&cf, |ctx| acquire(ctx, &space, "tok", false));
    let error = result.unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(
            "another deploy of this app pair is running: ci@runner-7 pid 99 has held the deploy lock (cf-bluegreen-lock-a-b) for 3m 12s"
        ),
        "{message}"
    );
    assert_eq!(cf.service_annotation(NAME, metadata::LOCK), Some(held_by));
    // The create, and the read that says who holds it; nothing deleted.
    assert!(!cf
        .calls()
        .iter()
        .any(|c| c.argv.contains(&"DELETE".to_string())));
}

#[test]
fn a_lock_without_a_time_is_broken_only_by_force() {
    let cf = MemoryCf::new().service(NAME, "note", "made by hand");
    let space = space();
    let (result, _) = with(&cf, |ctx| acquire(ctx, &space, "tok", false));
    assert!(result
        .unwrap_err()
        .to_string()
        .contains("an unknown holder has held the deploy lock"),);
    let (result, _) = with(&cf, |ctx| acquire(ctx, &space, "tok", true));
    result.unwrap();
}

#[test]
fn a_stale_lock_is_broken_with_a_warning() {
    let cf = MemoryCf::new().service(NAME, metadata::LOCK, &since(Duration::from_secs(7300)));
    let space = space();
    let (held, events) = with(&cf, |ctx| acquire(ctx, &space, "tok", false));
    held.unwrap();
    let w = warnings(&events);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("warning: breaking a stale deploy lock held by ci@runner-7 pid 99 for 2h 1m 40s (lock.stale-after is 1h)"),
        "{w:?}"
    );
    assert!(cf
        .service_annotation(NAME, metadata::LOCK)
        .unwrap()
        .starts_with("me pid 1"));
}

#[test]
fn force_unlock_breaks_a_fresh_lock() {
    let cf = MemoryCf::new().service(NAME, metadata::LOCK, &since(Duration::from_secs(5)));
    let space = space();
    let (held, events) = with(&cf, |ctx| acquire(ctx, &space, "tok", true));
    held.unwrap();
    assert_eq!(
        warnings(&events),
        ["warning: breaking the deploy lock held by ci@runner-7 pid 99 (--force-unlock)"]
    );
    assert!(cf
        .service_annotation(NAME, metadata::LOCK)
        .unwrap()
        .starts_with("me pid 1"));
}

/// Another run creates the lock right after this one deleted a stale one.
struct Racing<'a>(&'a MemoryCf);

impl Cf for Racing<'_> {
    fn run(
        &self,
        args: &[String],
        timeout: Duration,
        abort: &dyn Fn() -> bool,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<CfOutput, CfError> {
        let out = self.0.run(args, timeout, abort, on_line)?;
        if args.iter().any(|a| a == "DELETE") {
            let c = config("");
            let events = Recorder::default();
            let ctx = Context::new(&c, self.0, &events, "rival pid 2");
            let space = ctx.cf.space_guid("s").unwrap().unwrap();
            acquire(&ctx, &space, "rival", false).unwrap();
        }
        Ok(out)
    }
}

#[test]
fn a_race_for_a_broken_lock_is_lost_cleanly() {
    let cf = MemoryCf::new().service(NAME, metadata::LOCK, &since(Duration::from_secs(7300)));
    let space = space();
    let (result, _) = with(&Racing(&cf), |ctx| acquire(ctx, &space, "tok", false));
    let message = result.unwrap_err().to_string();
    assert!(
        message
            .contains("another run has held the deploy lock (cf-bluegreen-lock-a-b) for a moment"),
        "{message}"
    );
    // The winner's lock stands.
    assert!(cf
        .service_annotation(NAME, metadata::LOCK)
        .unwrap()
        .starts_with("rival pid 2"));
}

#[test]
fn a_create_that_fails_after_taking_effect_is_taken_back() {
    let cf = MemoryCf::new().fail("curl:1:after");
    let space = space();
    let (result, _) = with(&cf, |ctx| acquire(ctx, &space, "tok", false));
    let message = result.unwrap_err().to_string();
    assert!(
        message.starts_with(
            "could not take the deploy lock cf-bluegreen-lock-a-b, nothing was changed"
        ),
        "{message}"
    );
    assert!(cf.services().is_empty());
}

#[test]
fn a_release_that_fails_twice_says_how_to_remove_the_lock() {
    let cf = MemoryCf::new().fail("curl:2,curl:3");
    let space = space();
    let (held, _) = with(&cf, |ctx| acquire(ctx, &space, "tok", false));
    let held = held.unwrap();
    let ((), events) = with(&cf, |ctx| release(ctx, &held));
    let w = warnings(&events);
    assert!(
        w[0].starts_with("warning: could not release the deploy lock cf-bluegreen-lock-a-b: "),
        "{w:?}"
    );
    assert!(
        w[0].contains("remove it with `cf delete-service cf-bluegreen-lock-a-b -f`"),
        "{w:?}"
    );
    assert_eq!(cf.services(), [NAME]);
    // A first failure alone is retried.
    cf.next_run("curl:1");
    let ((), events) = with(&cf, |ctx| release(ctx, &held));
    assert!(warnings(&events).is_empty());
    assert!(cf.services().is_empty());
}

#[test]
fn the_old_annotation_lock_counts_as_held_unless_stale_or_forced() {
    let fresh = since(Duration::from_secs(60));
    let m = meta(&[("a", &[(metadata::LOCK, fresh.as_str())]), ("b", &[])]);
    let cf = MemoryCf::new();
    let (result, _) = with(&cf, |ctx| check_legacy(ctx, &m, false));
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("ci@runner-7 pid 99 has held the deploy lock (annotation cf-bluegreen/lock on a) for 1m"),
        "{message}"
    );
    let (result, events) = with(&cf, |ctx| check_legacy(ctx, &m, true));
    assert_eq!(result.unwrap(), [("a".to_string(), "guid-a".to_string())]);
    assert_eq!(warnings(&events).len(), 1);

    let stale = since(Duration::from_secs(7200));
    let m = meta(&[("a", &[(metadata::LOCK, stale.as_str())])]);
    let cf = MemoryCf::new()
        .app("a", true, &[])
        .annotate("a", metadata::LOCK, &stale);
    let (result, events) = with(&cf, |ctx| {
        let broken = check_legacy(ctx, &m, false)?;
        clear_legacy(ctx, &broken);
        Ok::<_, Error>(broken)
    });
    assert_eq!(result.unwrap().len(), 1);
    assert!(warnings(&events)[0].contains("breaking a stale deploy lock"));
    assert_eq!(cf.annotation("a", metadata::LOCK), None);
}

#[test]
fn a_lock_is_written_with_its_time_rounded_up_to_the_second() {
    let before = SystemTime::now();
    let since = since_now();
    assert!(since >= before);
    assert!(since < before + Duration::from_secs(1) + Duration::from_millis(100));
    let value = format_value("me", since, "t");
    // Read back, it is never older than it is.
    assert!(parse_value(&value).since.unwrap() >= before);
}
