//! `[verify]`: after the switch, the live URL (and the user's command) checked every
//! `interval` for `duration`, while the previous app waits, started without routes, to
//! take them back. Unlike the smoke check, nothing is retried: live traffic is at stake,
//! so the first failure ends the verification (the executor then switches back).

use std::time::{Duration, Instant};

use crate::child::{self, ChildError};
use crate::config::{Smoke, Verify};

/// The first failed check: when, and what it saw.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what} failed {} into the verification (of {}): {saw}",
    humantime::format_duration(round(*elapsed)),
    humantime::format_duration(*duration)
)]
pub struct VerifyError {
    /// `GET URL`, or the command.
    pub what: String,
    pub elapsed: Duration,
    pub duration: Duration,
    /// The status and a body excerpt, the connection error, or the command's status and
    /// output.
    pub saw: String,
}

/// Whole seconds (or milliseconds under one): what a person reads.
fn round(d: Duration) -> Duration {
    if d >= Duration::from_secs(1) {
        Duration::from_secs(d.as_secs())
    } else {
        Duration::from_millis(d.as_millis() as u64)
    }
}

/// Checks until `verify.duration` has passed (the last check at its end), the first
/// failure, or an interrupt, which ends it early without a failure: the executor sees
/// the interrupt before the next step.
pub fn watch(
    verify: &Verify,
    smoke: &Smoke,
    on_line: &(dyn Fn(&str) + Sync),
) -> Result<(), VerifyError> {
    let started = Instant::now();
    let deadline = started + verify.duration;
    // A hanging app fails the verification rather than hold it.
    let timeout = verify.timeout;
    let mut checks = 0u32;
    loop {
        if crate::interrupt::requested() {
            return Ok(());
        }
        let fail = |what: String, saw: String| VerifyError {
            what,
            elapsed: started.elapsed(),
            duration: verify.duration,
            saw,
        };
        let check = &verify.check;
        crate::smoke::attempt_once(smoke, check, timeout).map_err(|saw| {
            // Say which limit a slow answer ran into: it may be the limit that is wrong.
            let saw = match saw.contains("timed out") || saw.contains("timeout") {
                true => format!(
                    "{saw} (no answer within verify.timeout = {})",
                    humantime::format_duration(timeout)
                ),
                false => saw,
            };
            fail(format!("{} {}", check.method, check.url), saw)
        })?;
        if !verify.command.is_empty() {
            run_command(verify, timeout.max(smoke.timeout), on_line)
                .map_err(|saw| fail(format!("`{}`", shell_words::join(&verify.command)), saw))?;
        }
        checks += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            on_line(&format!(
                "{} {}: as expected {checks} time{} in {}",
                check.method,
                check.url,
                if checks == 1 { "" } else { "s" },
                humantime::format_duration(round(started.elapsed()))
            ));
            return Ok(());
        }
        if !crate::interrupt::sleep(verify.interval.min(remaining)) {
            return Ok(());
        }
    }
}

/// `verify.command` with the URL in `VERIFY_URL`; what it said when it failed.
fn run_command(
    verify: &Verify,
    timeout: Duration,
    on_line: &(dyn Fn(&str) + Sync),
) -> Result<(), String> {
    let (program, args) = verify.command.split_first().expect("checked non-empty");
    let env = [("VERIFY_URL", verify.check.url.as_str())];
    let said = |out: &child::Output| {
        let text = out.combined.trim_end();
        if text.is_empty() {
            String::new()
        } else {
            format!(". It said:\n{}", crate::cf::indent(text))
        }
    };
    match child::run(
        program,
        args,
        &env,
        timeout,
        &crate::interrupt::requested,
        on_line,
    ) {
        Ok(out) if out.success() => Ok(()),
        Ok(out) => Err(format!("{}{}", out.status(), said(&out))),
        Err(ChildError::Start(e)) => Err(format!("it could not be started: {e}")),
        // The interrupt is the executor's to handle, not a failure of the new version.
        Err(ChildError::Aborted(_)) => Ok(()),
        Err(ChildError::TimedOut(out)) => Err(format!(
            "still running after {}, killed{}",
            humantime::format_duration(timeout),
            said(&out)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::config;
    use crate::test_http::{serve, Answer};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Answers 200 "ok" to the first `good` requests, then 500 "boom"; counts them.
    fn server(good: usize) -> (String, Arc<AtomicUsize>) {
        let seen = Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        let url = serve(move |n| {
            count.fetch_add(1, Ordering::SeqCst);
            let (status, body) = if n < good { (200, "ok") } else { (500, "boom") };
            Answer {
                status,
                body,
                delay: Duration::ZERO,
            }
        });
        (url, seen)
    }

    fn verify(url: &str, extra: &str) -> (Verify, Smoke) {
        let c = config(&format!(
            "[verify]\nduration = \"300ms\"\ninterval = \"100ms\"\nurl = \"{url}\"\n{extra}"
        ));
        (c.verify.unwrap(), c.smoke)
    }

    #[test]
    fn a_clean_verification_checks_until_the_end() {
        let (url, seen) = server(usize::MAX);
        let (v, smoke) = verify(&url, "expect-body = \"ok\"\n");
        watch(&v, &smoke, &|_| {}).unwrap();
        // At 0, 100, 200 and 300 ms; a busy machine may fit fewer in.
        assert!(seen.load(Ordering::SeqCst) >= 2);
    }

    #[test]
    fn the_first_failure_ends_it_with_what_it_saw() {
        let (url, seen) = server(1);
        let (v, smoke) = verify(&url, "");
        let e = watch(&v, &smoke, &|_| {}).unwrap_err();
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        let text = e.to_string();
        assert!(text.starts_with(&format!("GET {url} failed ")), "{text}");
        assert!(
            text.contains(
                "into the verification (of 300ms): status 500 (expected 200), body: \"boom\""
            ),
            "{text}"
        );
    }

    #[test]
    fn a_slow_answer_fails_it_and_names_verify_timeout() {
        let url = serve(|_| Answer {
            status: 200,
            body: "",
            delay: Duration::from_millis(1500),
        });
        let (v, smoke) = verify(&url, "timeout = \"500ms\"\n");
        assert_eq!(v.timeout, Duration::from_millis(500));
        let e = watch(&v, &smoke, &|_| {}).unwrap_err().to_string();
        assert!(
            e.contains("(no answer within verify.timeout = 500ms)"),
            "{e}"
        );
    }

    #[test]
    fn the_command_gets_the_url_and_fails_it() {
        let (url, _) = server(usize::MAX);
        let (v, smoke) = verify(
            &url,
            "command = [\"sh\", \"-c\", \"echo checked $VERIFY_URL; exit 3\"]\n",
        );
        let e = watch(&v, &smoke, &|_| {}).unwrap_err().to_string();
        assert!(e.starts_with("`sh -c"), "{e}");
        assert!(e.contains("exit code 3"), "{e}");
        assert!(e.contains(&format!("checked {url}")), "{e}");
    }
}
