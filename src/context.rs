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
