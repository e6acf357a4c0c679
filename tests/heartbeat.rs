//! A run that holds the deploy lock longer than `lock.stale-after` keeps it: the lock's
//! time is refreshed every third of stale-after, so another run finds it held, not stale.

use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn a_verification_longer_than_stale_after_keeps_the_lock() {
    let t = Test::blue_live_green_stopped();
    let url = t.live_url().to_string();
    // A refresh every second: a held lock is about a second old at most when another run
    // reads it.
    let base = t
        .default_config()
        .replace("stale-after = \"1h\"", "stale-after = \"3s\"");
    let t = t.config(&format!(
        "{base}\n[verify]\nduration = \"8s\"\ninterval = \"200ms\"\nurl = \"{url}\"\n"
    ));
    let first = t.spawn(&["deploy"], &[]);
    // The verification begins once blue has lost the live route to green.
    let waited = Instant::now();
    while !(t.app_routes(BLUE).is_empty() && t.app_routes(GREEN).contains(&LIVE.to_string())) {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the first deploy never began its verification"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // By now the lock was taken more than stale-after ago: without the refresh it would
    // be stale, and the second deploy would break it.
    std::thread::sleep(Duration::from_millis(4000));
    let second = t.run(&["deploy"]);
    second
        .expect_code(1)
        .stderr_has("another deploy of this app pair is running: ");
    assert!(
        !second.stderr.contains("breaking a stale deploy lock"),
        "{}",
        second.stderr
    );
    // The second run wrote nothing: it never held the lock.
    assert!(
        !second.calls.iter().any(|c| c.changes_apps()),
        "{:?}",
        second.mutations()
    );

    let out = first.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let refreshes: Vec<Call> = t
        .log()
        .into_iter()
        .filter(|c| {
            c.argv[0] == "curl"
                && c.argv[1].starts_with("/v3/service_instances/")
                && c.argv.iter().any(|a| a == "PATCH")
        })
        .collect();
    assert!(refreshes.len() >= 2, "{refreshes:?}");
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
    assert_eq!(t.lock_holder(), None, "released at the end");
    assert_always_served(&t.log(), LIVE);
}
