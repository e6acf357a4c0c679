//! What one run of a command works with: the validated configuration, the cf client, the
//! sink its events go to, and what it learns on the way. Built once in [`crate::run`]
//! (or by a test, around an in-memory cf) and lent to every layer below.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::cf::v3::{Policy, Process};
use crate::cf::{Cf, CfClient};
use crate::config::{CfLimits, Config};
use crate::report::{Event, Sink};

pub struct Context<'a> {
    pub config: &'a Config,
    pub cf: CfClient<'a>,
    pub events: &'a dyn Sink,
    /// `user@host pid N`: who holds the lock and made the records.
    pub who: &'a str,
    /// GUIDs learnt during the run: those the state read found, and those of apps the
    /// run created.
    pub guids: Mutex<BTreeMap<String, String>>,
    /// What the state read learnt beyond the pair's state, for the steps that need it,
    /// so that they need not ask cf again on the way to the switch.
    pub seen: Mutex<Seen>,
    pub started: Instant,
    /// The pair's name in a suite (`[[deployments]]`); `None` for a single pair.
    pub name: Option<&'a str>,
    /// `--all-or-nothing`: called once the new version has passed its checks, before its
    /// first live route; `false` means another pair failed, and this one must not switch.
    pub gate: Option<&'a (dyn Fn() -> bool + Sync)>,
    /// Shared by the pairs of a suite: the first call that sends the access token runs
    /// alone in the whole process, not only in its pair (see [`FirstCall`]).
    pub first_call: Option<&'a FirstCall>,
}

/// The first call that sends cf's access token, once per process: each cf process that
/// finds the token expired refreshes it and rewrites config.json (cf v6 in place), so
/// refreshes side by side race, and a read during one can see half a file. Pairs of a
/// suite that start together wait for the first one's call to end, then go on side by
/// side with a fresh token.
#[derive(Default)]
pub struct FirstCall {
    /// 0: nobody has made it; 1: being made; 2: made.
    state: Mutex<u8>,
    done: std::sync::Condvar,
}

impl FirstCall {
    /// Runs `call`: alone if it is the first, else once the first has ended.
    pub fn run<T>(&self, call: impl FnOnce() -> T) -> T {
        let mut state = self.state.lock().unwrap();
        loop {
            match *state {
                0 => {
                    *state = 1;
                    drop(state);
                    let result = call();
                    *self.state.lock().unwrap() = 2;
                    self.done.notify_all();
                    return result;
                }
                1 => state = self.done.wait(state).unwrap(),
                _ => {
                    drop(state);
                    return call();
                }
            }
        }
    }
}

/// What the state read learnt for later steps (see [`crate::preflight`]). Each entry is
/// as of the read; a step that needs a fresher value reads it itself.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The web process of each started app of the pair (instances, memory, disk), when
    /// the capacity step will want it.
    pub processes: BTreeMap<String, Process>,
    /// The network policies naming the pair's apps, if they were asked for.
    pub policies: Option<SeenPolicies>,
}

/// The policy server's answer for the apps of the pair that existed then.
#[derive(Debug, Clone)]
pub struct SeenPolicies {
    /// The GUIDs asked for.
    pub ids: Vec<String>,
    /// Every policy naming any of them, or why they could not be listed.
    pub read: Result<Vec<Policy>, String>,
}

impl<'a> Context<'a> {
    pub fn new(
        config: &'a Config,
        cf: &'a dyn Cf,
        events: &'a dyn Sink,
        who: &'a str,
    ) -> Context<'a> {
        Context {
            config,
            cf: CfClient::new(cf, config.cf.timeout, move |line| {
                events.emit(Event::Output { line })
            }),
            events,
            who,
            guids: Mutex::new(BTreeMap::new()),
            seen: Mutex::new(Seen::default()),
            started: Instant::now(),
            name: None,
            gate: None,
            first_call: None,
        }
    }

    pub fn warn(&self, message: &str) {
        self.events.emit(Event::Warning { message });
    }
}

/// `user@host pid N`, for the lock and the records on the apps. The environment is read
/// here and in [`cf_limits`], nowhere else.
pub fn who_am_i() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok();
    let host = std::env::var("HOSTNAME").ok().or_else(hostname);
    crate::metadata::who(user.as_deref(), host.as_deref())
}

/// cf's own time limits, from `CF_STAGING_TIMEOUT` and `CF_STARTUP_TIMEOUT` as cf
/// itself reads them: the push's and `cf start`'s default limits are derived from them.
/// The environment is read here and in [`who_am_i`], nowhere else.
pub fn cf_limits() -> CfLimits {
    let var = |name| std::env::var(name).ok();
    CfLimits::from_env(
        var("CF_STAGING_TIMEOUT").as_deref(),
        var("CF_STARTUP_TIMEOUT").as_deref(),
    )
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_first_call_runs_alone_and_the_others_after_it() {
        let first = FirstCall::default();
        let log = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for i in 0..4 {
                let (first, log) = (&first, &log);
                s.spawn(move || {
                    first.run(|| {
                        log.lock().unwrap().push(format!("start {i}"));
                        std::thread::sleep(Duration::from_millis(30));
                        log.lock().unwrap().push(format!("end {i}"));
                    })
                });
            }
        });
        let log = log.into_inner().unwrap();
        // Whoever came first started and ended before anyone else started.
        assert!(log[0].starts_with("start "), "{log:?}");
        assert_eq!(log[1], log[0].replace("start", "end"), "{log:?}");
        assert_eq!(log.len(), 8);
    }
}
