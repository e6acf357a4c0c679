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
    /// `--all-or-nothing`, after the switch: called once the new version is live and has
    /// passed its verification, before anything retires the previous app; `false` means
    /// another pair failed (or an interrupt came), and this one must switch back. Its
    /// argument is whether to wait: `false` (a switch completed forward by a recovery)
    /// only counts the pair as switched.
    pub switched: Option<&'a (dyn Fn(bool) -> bool + Sync)>,
    /// Shared by the pairs of a suite: the first call that sends the access token runs
    /// alone in the whole process, not only in its pair (see [`FirstCall`]).
    pub first_call: Option<&'a FirstCall>,
    /// The pause before a failed recovery step is tried again (doubled for each further
    /// attempt; see `execute::recover`). Tests shorten it.
    pub retry_pause: std::time::Duration,
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
            switched: None,
            first_call: None,
            retry_pause: std::time::Duration::from_secs(1),
        }
    }

    pub fn warn(&self, message: &str) {
        self.events.emit(Event::Warning { message });
    }
}

/// `user@host pid N`, and ` job URL` when a CI system says which job this is: for the
/// lock and the records on the apps, so that `status` and a lock message point at the
/// job. The environment is read here, in [`cf_limits`] and in [`var`], nowhere else.
pub fn who_am_i() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    // CI containers often run without $USER: the account the process runs as still has
    // a name.
    let user = var("USER").or_else(|| var("USERNAME")).or_else(os_user);
    let host = var("HOSTNAME").or_else(hostname);
    let who = crate::metadata::who(user.as_deref(), host.as_deref());
    match ci_job(&var) {
        Some(job) => format!("{who} job {job}"),
        None => who,
    }
}

/// The CI job running this, as a link where the CI system gives one: GitHub Actions'
/// run, GitLab's job, Concourse's build, Jenkins' build.
pub fn ci_job(var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if let (Some(server), Some(repo), Some(run)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        return Some(format!("{server}/{repo}/actions/runs/{run}"));
    }
    if let Some(url) = var("CI_JOB_URL").or_else(|| var("BUILD_URL")) {
        return Some(url);
    }
    // Concourse sets these in a task's environment only when the task asks for them, so
    // a recipe passes them on; with the ATC URL they make a link.
    let (pipeline, job, build) = (
        var("BUILD_PIPELINE_NAME")?,
        var("BUILD_JOB_NAME")?,
        var("BUILD_NAME")?,
    );
    Some(match (var("ATC_EXTERNAL_URL"), var("BUILD_TEAM_NAME")) {
        (Some(atc), Some(team)) => {
            format!("{atc}/teams/{team}/pipelines/{pipeline}/jobs/{job}/builds/{build}")
        }
        _ => format!("{pipeline}/{job} #{build}"),
    })
}

/// The name of the account this process runs as, from the password database.
#[cfg(unix)]
fn os_user() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes into `pwd` and `buf`, which outlive the call, and sets
    // `result` to `&pwd` or null; `pw_name` then points into `buf`.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    name.to_str()
        .ok()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

#[cfg(not(unix))]
fn os_user() -> Option<String> {
    None
}

/// cf's own time limits, from `CF_STAGING_TIMEOUT` and `CF_STARTUP_TIMEOUT` as cf
/// itself reads them: the push's and `cf start`'s default limits are derived from them.
/// The environment is read here, in [`who_am_i`] and in [`var`], nowhere else.
pub fn cf_limits() -> CfLimits {
    let var = |name| std::env::var(name).ok();
    CfLimits::from_env(
        var("CF_STAGING_TIMEOUT").as_deref(),
        var("CF_STARTUP_TIMEOUT").as_deref(),
    )
}

/// An environment variable, for the `${VAR}` of the smoke headers; `None` when unset
/// or not Unicode.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
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

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn the_ci_job_is_named_by_its_link() {
        let github = env(&[
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_RUN_ID", "42"),
        ]);
        assert_eq!(
            ci_job(&github).as_deref(),
            Some("https://github.com/acme/shop/actions/runs/42")
        );
        let gitlab = env(&[(
            "CI_JOB_URL",
            "https://gitlab.example.com/acme/shop/-/jobs/7",
        )]);
        assert_eq!(
            ci_job(&gitlab).as_deref(),
            Some("https://gitlab.example.com/acme/shop/-/jobs/7")
        );
        let concourse = env(&[
            ("ATC_EXTERNAL_URL", "https://ci.example.com"),
            ("BUILD_TEAM_NAME", "main"),
            ("BUILD_PIPELINE_NAME", "shop"),
            ("BUILD_JOB_NAME", "deploy"),
            ("BUILD_NAME", "12"),
        ]);
        assert_eq!(
            ci_job(&concourse).as_deref(),
            Some("https://ci.example.com/teams/main/pipelines/shop/jobs/deploy/builds/12")
        );
        assert_eq!(ci_job(&env(&[])), None);
    }

    #[cfg(unix)]
    #[test]
    fn the_os_user_has_a_name_without_user_set() {
        let name = os_user().expect("the account running the tests has a name");
        assert!(!name.is_empty() && !name.contains('@'), "{name}");
    }

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
