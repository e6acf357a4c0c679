//! The exact human output of typical runs: the whole stdout and stderr, compared with
//! tests/expected/NAME.txt (one file per run: the command line, the exit code, stdout,
//! stderr), after what differs between runs is replaced by placeholders (`normalize`).
//!
//! These tests exist so that the output does not change by accident. When it changes on
//! purpose, write the new output into the files instead of comparing, then read the diff
//! as a user would before committing it:
//!
//!     UPDATE_EXPECT=1 cargo test --test integration output::
//!     git diff tests/expected/
//!
//! With `UPDATE_EXPECT=1` these tests never fail on a difference in the text; their other
//! checks (the exit codes first) still run, so that a broken run is not written down.

use std::path::{Path, PathBuf};

use crate::support::*;

#[test]
fn first_deploy_and_status_before_and_after() {
    let t = Test::new();
    let before = t.run(&["status"]);
    before.expect_code(0);
    let deploy = t.run(&["deploy"]);
    deploy.expect_code(0);
    let after = t.run(&["status"]);
    after.expect_code(0);
    expect_outputs(
        &t,
        &[
            ("status-before-first-deploy", &before),
            ("first-deploy", &deploy),
            ("status-after-first-deploy", &after),
        ],
    );
    // Also without the files: status names the missing apps, and CI logs get an RFC 3339
    // stamp on each line (2026-11-26T07:45:12Z read the current state ...).
    before
        .stdout_has("sinatra_a  missing      (not pushed yet)")
        .stdout_has("live: none");
    let first = deploy.stderr.lines().next().unwrap();
    assert_eq!(&first[4..5], "-", "{first}");
    assert_eq!(&first[19..21], "Z ", "{first}");
}

#[test]
fn later_deploy_dry_run_then_deploy() {
    let t = Test::blue_live();
    let dry = t.run(&["deploy", "--dry-run"]);
    dry.expect_code(0);
    let deploy = t.run(&["deploy"]);
    deploy.expect_code(0);
    expect_outputs(
        &t,
        &[("later-deploy-dry-run", &dry), ("later-deploy", &deploy)],
    );
}

#[test]
fn staged_then_status_then_promote() {
    let t = Test::blue_live_green_stopped();
    let staged = t.run(&["deploy", "--no-switch"]);
    staged.expect_code(0);
    let status = t.run(&["status"]);
    status.expect_code(0);
    let promote = t.run(&["promote"]);
    promote.expect_code(0);
    expect_outputs(
        &t,
        &[
            ("deploy-no-switch", &staged),
            ("status-staged", &status),
            ("promote", &promote),
        ],
    );
}

#[test]
fn failed_smoke_check() {
    let t = Test::blue_live().broken_router();
    // The check retries until smoke.timeout; a short one keeps this test fast.
    let config = t
        .default_config()
        .replace("timeout = \"3s\"", "timeout = \"300ms\"");
    let t = t.config(&config);
    let run = t.run(&["deploy"]);
    run.expect_code(1);
    expect_outputs(&t, &[("deploy-smoke-check-fails", &run)]);
}

#[test]
fn failed_cf_call() {
    let t = Test::blue_live();
    // map-route #2 maps the live route to the new app.
    let run = t.run_with(&["deploy"], &[("FAKE_CF_FAIL", "map-route:2")]);
    run.expect_code(1);
    expect_outputs(&t, &[("deploy-live-map-fails", &run)]);
}

#[test]
fn rollback_and_status_after() {
    let t = Test::rollback_ready();
    let rollback = t.run(&["rollback"]);
    rollback.expect_code(0);
    let status = t.run(&["status"]);
    status.expect_code(0);
    expect_outputs(
        &t,
        &[("rollback", &rollback), ("status-after-rollback", &status)],
    );
}

/// Compares each run with tests/expected/NAME.txt, or writes it there under
/// `UPDATE_EXPECT=1`. Reports every difference of the test at once.
#[track_caller]
fn expect_outputs(t: &Test, runs: &[(&str, &Run)]) {
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let mut differences = Vec::new();
    for (name, run) in runs {
        let actual = render(run, t.dir.path());
        let path = expected_path(name);
        if update {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; UPDATE_EXPECT=1 writes it from this run:\n{actual}",
                path.display()
            )
        });
        if expected != actual {
            differences.push(difference(&path, &expected, &actual));
        }
    }
    assert!(
        differences.is_empty(),
        "the output differs from the expected files (after a change on purpose, \
         UPDATE_EXPECT=1 rewrites them):\n\n{}",
        differences.join("\n\n")
    );
}

fn expected_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expected")
        .join(format!("{name}.txt"))
}

/// The text an expected file holds for one run.
fn render(run: &Run, tmp: &Path) -> String {
    let env: String = run.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    let text = format!(
        "$ {env}cf-bluegreen {}\nexit code {}\n--- stdout\n{}--- stderr\n{}",
        run.args.join(" "),
        run.code,
        ends_with_newline(&run.stdout),
        ends_with_newline(&run.stderr),
    );
    normalize(&text, tmp)
}

/// A stream that does not end its last line gets a visible mark, so that the sections
/// stay apart and the missing newline shows in the file.
fn ends_with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n<NO NEWLINE AT END>\n")
    }
}

/// The first line that differs, then both texts whole.
fn difference(path: &Path, expected: &str, actual: &str) -> String {
    let mut e = expected.lines();
    let mut a = actual.lines();
    let mut line = 1;
    let first = loop {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => {
                let show =
                    |l: Option<&str>| l.map_or("(end of text)".to_string(), |l| format!("{l:?}"));
                break format!("  expected: {}\n  actual:   {}", show(x), show(y));
            }
        }
    };
    format!(
        "{} differs from line {line} on:\n{first}\n--- expected\n{expected}--- actual\n{actual}",
        path.display()
    )
}

/// Replaces what differs between runs with placeholders:
///
/// - `<TMP>`: the test's temporary directory;
/// - `<TIME>`: a time in RFC 3339 seconds, `2026-11-26T07:45:12Z` (the stamps of log
///   lines, the times in the records on the apps and in deploy ids);
/// - `(<DURATION>)`: a duration in parentheses, `(0.1s)` or `(3m 05s)` (steps, the run);
/// - `127.0.0.1:<PORT>`: the port of the local router standing in for the staging route;
/// - `tester@<HOST>` and `pid <PID>`: the machine and the process in deploy ids and locks;
/// - `<GUID>`: an app's GUID, which the fake cf derives from its count of calls (in the
///   recent logs it prints), so that a further read does not change the output.
///
/// Anything else is compared as it is.
pub fn normalize(text: &str, tmp: &Path) -> String {
    let text = text.replace(tmp.to_str().unwrap(), "<TMP>");
    let text = replace(&text, "<TIME>", rfc3339_len);
    let text = replace(&text, "(<DURATION>)", duration_len);
    let text = replace(&text, "127.0.0.1:<PORT>", |s| {
        after(s, "127.0.0.1:", |c| c.is_ascii_digit())
    });
    let text = replace(&text, "tester@<HOST>", |s| {
        after(s, "tester@", |c| !c.is_whitespace())
    });
    let text = replace(&text, "pid <PID>", |s| {
        after(s, "pid ", |c| c.is_ascii_digit())
    });
    let text = replace(&text, "<GUID>", guid_len);
    sort_cf_output(&text)
}

/// cf prints its progress and `FAILED` on stdout and the error on stderr: the order in
/// which lines of the two pipes arrive is not fixed, so the indented lines quoted after
/// "cf said:" are compared in sorted order.
fn sort_cf_output(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let mut quoting = false;
    for line in text.split_inclusive('\n') {
        if quoting && line.starts_with("    ") {
            block.push(line);
            continue;
        }
        block.sort_unstable();
        out.extend(block.drain(..).map(str::to_string));
        quoting = line.trim_end().ends_with("said:");
        out.push(line.to_string());
    }
    block.sort_unstable();
    out.extend(block.drain(..).map(str::to_string));
    out.concat()
}

/// Scans `text` once: wherever `len_at` matches the rest of the text, the `len_at` bytes
/// it names become `placeholder`.
fn replace(text: &str, placeholder: &str, len_at: impl Fn(&str) -> Option<usize>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match len_at(rest) {
            Some(n) => {
                out.push_str(placeholder);
                rest = &rest[n..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// `prefix` followed by at least one character that passes `keep`: the length of both.
fn after(s: &str, prefix: &str, keep: impl Fn(char) -> bool) -> Option<usize> {
    let rest = s.strip_prefix(prefix)?;
    let n: usize = rest
        .chars()
        .take_while(|c| keep(*c))
        .map(char::len_utf8)
        .sum();
    (n > 0).then_some(prefix.len() + n)
}

/// `2026-11-26T07:45:12Z`, with `9` for any digit.
fn rfc3339_len(s: &str) -> Option<usize> {
    shape_len(s, "9999-99-99T99:99:99Z", b'9', |c| c.is_ascii_digit())
}

/// `73daebba-0000-4000-8000-00000000000f`, with `f` for any lowercase hex digit.
fn guid_len(s: &str) -> Option<usize> {
    shape_len(
        s,
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        b'f',
        |c| matches!(c, b'0'..=b'9' | b'a'..=b'f'),
    )
}

/// The length of `shape` if `s` starts with it, where `wildcard` in `shape` stands for
/// any byte that `fits`.
fn shape_len(s: &str, shape: &str, wildcard: u8, fits: impl Fn(u8) -> bool) -> Option<usize> {
    let start = s.as_bytes().get(..shape.len())?;
    shape
        .bytes()
        .zip(start)
        .all(|(p, c)| if p == wildcard { fits(*c) } else { p == *c })
        .then_some(shape.len())
}

/// `(0.1s)`, `(12.3s)` or `(3m 05s)`, the way the tool prints how long something took.
fn duration_len(s: &str) -> Option<usize> {
    let inner = s.strip_prefix('(')?;
    let end = inner.find(')')?;
    let d = inner[..end].strip_suffix('s')?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    let fits = match (d.split_once('.'), d.split_once("m ")) {
        (Some((whole, tenth)), _) => digits(whole) && tenth.len() == 1 && digits(tenth),
        (None, Some((min, sec))) => digits(min) && sec.len() == 2 && digits(sec),
        (None, None) => false,
    };
    fits.then_some(end + 2)
}

#[test]
fn cf_output_from_two_pipes_is_compared_in_any_order() {
    let tmp = Path::new("/nowhere");
    let a = "x failed. cf said:\n    FAILED\n    Server error\nhint: y\n    kept\n";
    let b = "x failed. cf said:\n    Server error\n    FAILED\nhint: y\n    kept\n";
    assert_eq!(normalize(a, tmp), normalize(b, tmp));
    assert!(normalize(a, tmp).ends_with("hint: y\n    kept\n"));
}

#[test]
fn normalize_replaces_only_what_varies() {
    let tmp = Path::new("/tmp/.tmpAbC123");
    let text = "2026-11-26T07:45:12Z ok   push sinatra_b (12.3s)\n\
                check at http://127.0.0.1:40123/ in /tmp/.tmpAbC123/deploy.toml (3m 05s)\n\
                deployed 2026-11-26T07:45:12Z tester@box-1 pid 4711; timeout 3s (3s) (1.25s)\n\
                guid 73daebba-0000-4000-8000-00000000000f, log 2026-11-26T07:45:58.00+0000\n";
    assert_eq!(
        normalize(text, tmp),
        "<TIME> ok   push sinatra_b (<DURATION>)\n\
         check at http://127.0.0.1:<PORT>/ in <TMP>/deploy.toml (<DURATION>)\n\
         deployed <TIME> tester@<HOST> pid <PID>; timeout 3s (3s) (1.25s)\n\
         guid <GUID>, log 2026-11-26T07:45:58.00+0000\n"
    );
}
