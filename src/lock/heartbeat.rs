//! Keeps a held lock from growing stale: other runs break a lock whose `since` is older
//! than `lock.stale-after`, taking it for one whose run died. A run that lives longer than
//! that (a slow push, a long `[verify]`, a suite waiting at its gates) would otherwise lose
//! its lock mid-run, and another deploy could push to the very app this run switches back
//! to. So while the run works, a thread beside it writes a new `since` into the lock (same
//! holder, same token) every third of `lock.stale-after`: one refresh may fail, and the
//! next still lands before anyone may break it. A run of a few minutes under the default hour makes no
//! call at all.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{format_value, since_now, Held};
use crate::context::Context;
use crate::metadata;

/// How often a held lock is refreshed.
pub fn interval(stale_after: Duration) -> Duration {
    stale_after / 3
}

/// Runs `run` while a thread beside it refreshes `held` (none without a lock). The thread
/// is told to stop the moment `run` returns (or panics), and a refresh still in flight then
/// is killed, so the lock's release, which comes after, is not held up by it.
pub fn while_held<T>(ctx: &Context, held: Option<&Held>, run: impl FnOnce() -> T) -> T {
    let Some(held) = held else { return run() };
    let every = interval(ctx.config.lock.stale_after);
    let stop = Stop::default();
    std::thread::scope(|s| {
        s.spawn(|| beat(ctx, held, every, &stop));
        // Set on a panic too: the scope waits for the thread before it unwinds further.
        let _stop_on_exit = StopOnDrop(&stop);
        run()
    })
}

#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    fn set(&self) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_all();
    }

    fn is_set(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `deadline` (`true`) or until stopped (`false`), whichever comes first.
    fn wait_until(&self, deadline: Instant) -> bool {
        let mut stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *stopped {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            stopped = self
                .wake
                .wait_timeout(stopped, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

struct StopOnDrop<'a>(&'a Stop);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set();
    }
}

fn beat(ctx: &Context, held: &Held, every: Duration, stop: &Stop) {
    let mut due = held.taken + every;
    while stop.wait_until(due) {
        due = Instant::now() + every;
        let value = format_value(ctx.who, since_now(), &held.token);
        let refreshed = ctx.cf.annotate_service_instance(
            &held.guid,
            &[(metadata::LOCK, value.as_str())],
            &|| stop.is_set(),
        );
        if stop.is_set() {
            // The run is over; whatever the call came to, the lock is being released.
            return;
        }
        match refreshed {
            Ok(Some(_)) => {}
            Ok(None) => {
                ctx.warn(&format!(
                    "the deploy lock {} is gone: another run broke it (or someone deleted it), and \
                     another deploy of {} and {} may now run beside this one. This run goes on; \
                     when it ends, check the pair with `cf-bluegreen status` before trusting \
                     its result",
                    held.name, ctx.config.blue, ctx.config.green
                ));
                // Nothing left to refresh; the release finds it gone too, which is fine.
                return;
            }
            // The run goes on: it may well end before the lock grows stale, and the next
            // refresh may succeed.
            Err(e) => ctx.warn(&format!(
                "could not refresh the deploy lock {} (another run may break it as stale once it \
                 is older than lock.stale-after, {}; trying again in {}): {e}",
                held.name,
                humantime::format_duration(ctx.config.lock.stale_after),
                humantime::format_duration(every)
            )),
        }
    }
}

#[cfg(test)]
mod tests;
