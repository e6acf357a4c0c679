//! The test harness: a temp dir with a deploy.toml, the fake cf with its own state, a
//! local HTTP server standing in for the router, and a parser for the fake's call log.

#[path = "../fixtures/router.rs"]
mod router;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub const BLUE: &str = "sinatra_a";
pub const GREEN: &str = "sinatra_b";
pub const LIVE: &str = "sinatralive.de.a9sapp.eu";
pub const STAGING: &str = "sinatrastaging.de.a9sapp.eu";

/// The annotations the tool keeps on the apps.
pub const DEPLOY: &str = "cf-bluegreen/deploy";
pub const CHECKED: &str = "cf-bluegreen/checked";
pub const LIVE_SINCE: &str = "cf-bluegreen/live-since";
pub const LOCK: &str = "cf-bluegreen/lock";
pub const LABEL: &str = "cf-bluegreen/label";
pub const STAGED: &str = "cf-bluegreen/staged";
/// The deploy lock of the pair: a user-provided service instance of this name.
pub const LOCK_NAME: &str = "cf-bluegreen-lock-sinatra_a-sinatra_b";

pub fn fake_cf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fake-cf")
}

pub struct Test {
    pub dir: tempfile::TempDir,
    extra_config: String,
    config_override: Option<String>,
    smoke_url: String,
    router_broken: Arc<AtomicBool>,
    live_url: String,
}

impl Test {
    pub fn new() -> Test {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("cf-state");
        std::fs::create_dir_all(&state).unwrap();
        let router_broken = Arc::new(AtomicBool::new(false));
        let smoke_url = router::serve(state.clone(), STAGING, router_broken.clone());
        let live_url = router::serve_live(state, LIVE);
        Test {
            dir,
            extra_config: String::new(),
            config_override: None,
            smoke_url,
            router_broken,
            live_url,
        }
    }

    /// The scenarios most tests start from. Before the first deploy is `Test::new()`.
    ///
    /// Blue is live and started; green was never pushed.
    pub fn blue_live() -> Test {
        Test::new().app(BLUE, "started", &[LIVE])
    }

    /// Blue is live and started; green exists, stopped, without routes.
    pub fn blue_live_green_stopped() -> Test {
        Test::blue_live().app(GREEN, "stopped", &[])
    }

    /// After two deploys: green is live with the newer version, blue stopped with the
    /// older one, and both carry the records of the deploys that pushed and checked them,
    /// so that `rollback` has a previous version to go back to.
    pub fn rollback_ready() -> Test {
        let old = "2026-11-01T10:00:00Z ci";
        let new = "2026-11-02T10:00:00Z ci";
        Test::new()
            .app(BLUE, "stopped", &[])
            .app(GREEN, "started", &[LIVE])
            .annotate(BLUE, DEPLOY, old)
            .annotate(BLUE, CHECKED, old)
            .annotate(GREEN, DEPLOY, new)
            .annotate(GREEN, CHECKED, new)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("cf-state")
    }

    /// The sinatra pair from the guide, checked through the local router.
    pub fn default_config(&self) -> String {
        format!(
            r#"[apps]
blue = "{BLUE}"
green = "{GREEN}"

[routes]
domain = "de.a9sapp.eu"
live = "sinatralive"
staging = "sinatrastaging"

[lock]
stale-after = "1h"

[smoke]
url = "{url}"
timeout = "3s"
interval = "50ms"
"#,
            url = self.smoke_url
        )
    }

    /// Appended to the default deploy.toml, whose last table is `[smoke]`: bare keys land
    /// there, and further tables (`[switch]`, `[cf]`, `[[routes.extra]]`) can follow.
    pub fn with(mut self, extra: &str) -> Test {
        self.extra_config.push_str(extra);
        self.extra_config.push('\n');
        self
    }

    /// Replaces deploy.toml with `text` (`{smoke_url}` is filled in).
    pub fn config(mut self, text: &str) -> Test {
        self.config_override = Some(text.replace("{smoke_url}", &self.smoke_url));
        self
    }

    /// The stand-in router answers 500 from now on, whatever holds the staging route.
    /// Otherwise it answers 200 with the name of the app holding the staging route while
    /// that app is started, and 404 like the gorouter when no started app holds it.
    pub fn broken_router(self) -> Test {
        self.router_broken.store(true, Ordering::SeqCst);
        self
    }

    /// [`Test::broken_router`] in the middle of a test, between two runs.
    pub fn break_router(&self) {
        self.router_broken.store(true, Ordering::SeqCst);
    }

    /// The stand-in router's URL for the live route (`LIVE`): 200 `Hello from APP` from a
    /// started app holding it, 404 `unknown_route` when none does; with the header
    /// `X-CF-APP-INSTANCE: GUID:INDEX`, only that instance answers (see
    /// fixtures/router.rs).
    pub fn live_url(&self) -> &str {
        &self.live_url
    }

    /// A mapping the fake cf makes from now on stays unknown to the stand-in routers for
    /// `ms` milliseconds (state file `router-lag-ms`), as a real router learns of a new
    /// route within seconds. Mappings put in place by [`Test::app`] are known at once.
    pub fn router_lag(self, ms: u64) -> Test {
        self.state_file("router-lag-ms", &format!("{ms}\n"))
    }

    /// The live router answers 500 for `app` only (state file `broken-app`): the new
    /// version passes its check on the staging route and fails on the live one.
    pub fn broken_app(self, app: &str) -> Test {
        self.state_file("broken-app", &format!("{app}\n"))
    }

    /// Writes a file of the fake's state (`tcp-domains`, `internal-domains`, `domains`,
    /// `default-domain`, ...; see the header of fixtures/fake-cf).
    pub fn state_file(self, name: &str, contents: &str) -> Test {
        let path = self.state_dir().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, contents).unwrap();
        self
    }

    /// The app's web process wants `n` instances, all running (`apps/NAME/instances`).
    pub fn instances(self, app: &str, n: u32) -> Test {
        self.state_file(&format!("apps/{app}/instances"), &format!("{n}\n"))
    }

    /// Instances `cf scale` adds to the app never come up (`apps/NAME/stuck`).
    pub fn stuck(self, app: &str) -> Test {
        self.state_file(&format!("apps/{app}/stuck"), "")
    }

    /// A network policy from `src` to `dst` (app names; their GUIDs as in the state, or
    /// `guid-NAME` for an app not in it), one port.
    pub fn policy(self, src: &str, dst: &str, protocol: &str, port: u16) -> Test {
        let line = format!(
            "{} {} {protocol} {port} {port}\n",
            self.guid_of(src),
            self.guid_of(dst)
        );
        let path = self.state_dir().join("policies");
        let mut all = std::fs::read_to_string(&path).unwrap_or_default();
        if !all.lines().any(|l| format!("{l}\n") == line) {
            all.push_str(&line);
        }
        std::fs::write(path, all).unwrap();
        self
    }

    /// Every network policy in the fake's state, in the order they were added.
    pub fn policies(&self) -> Vec<Policy> {
        std::fs::read_to_string(self.state_dir().join("policies"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                Some(Policy {
                    source: f.first()?.to_string(),
                    destination: f.get(1)?.to_string(),
                    protocol: f.get(2)?.to_string(),
                    start: f.get(3)?.parse().ok()?,
                    end: f.get(4)?.parse().ok()?,
                })
            })
            .collect()
    }

    /// The app's GUID in the fake's state, or `guid-NAME` (what [`Test::app`] gives it)
    /// when it is not there.
    pub fn guid_of(&self, app: &str) -> String {
        std::fs::read_to_string(self.state_dir().join("apps").join(app).join("guid"))
            .map(|g| g.trim().to_string())
            .unwrap_or_else(|_| format!("guid-{app}"))
    }

    /// (running, desired) instances of the app's web process; `None` when it does not
    /// exist. A stopped or crashed app runs none.
    pub fn app_instances(&self, app: &str) -> Option<(u32, u32)> {
        let d = self.state_dir().join("apps").join(app);
        let state = std::fs::read_to_string(d.join("state")).ok()?;
        let num = |f: &str, default: u32| {
            std::fs::read_to_string(d.join(f))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(default)
        };
        let desired = num("instances", 1);
        let starting = num("starting", 0).min(desired);
        let running = if state.trim() == "started" && !d.join("crashed").exists() {
            desired - starting
        } else {
            0
        };
        Some((running, desired))
    }

    /// Puts an app into the fake's state.
    pub fn app(self, name: &str, state: &str, routes: &[&str]) -> Test {
        let d = self.state_dir().join("apps").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("state"), format!("{state}\n")).unwrap();
        std::fs::write(d.join("guid"), format!("guid-{name}\n")).unwrap();
        let lines: String = routes.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(d.join("routes"), &lines).unwrap();
        let all = self.state_dir().join("routes");
        let mut existing = std::fs::read_to_string(&all).unwrap_or_default();
        for r in routes {
            if !existing.lines().any(|l| l == *r) {
                existing.push_str(&format!("{r}\n"));
            }
        }
        std::fs::write(all, existing).unwrap();
        self
    }

    /// An annotation on an app in the fake's state.
    pub fn annotate(self, app: &str, key: &str, value: &str) -> Test {
        let d = self.state_dir().join("apps").join(app).join("annotations");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(key.replace('/', "__")), value).unwrap();
        self
    }

    /// The pair's deploy lock, held by `value` (`WHO since TIME token TOKEN`): the lock
    /// instance in the fake's state (`services/NAME`).
    pub fn locked_by(self, value: &str) -> Test {
        self.state_file(
            &format!("services/{LOCK_NAME}"),
            &format!("guid 5e000000-0000-4000-5e00-000000000001\ntag cf-bluegreen-lock\nannotation {LOCK} {value}\n"),
        )
    }

    /// Who holds the pair's deploy lock (the lock instance's annotation), if anyone.
    pub fn lock_holder(&self) -> Option<String> {
        let text =
            std::fs::read_to_string(self.state_dir().join("services").join(LOCK_NAME)).ok()?;
        if text.trim().is_empty() {
            return None;
        }
        Some(
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("annotation {LOCK} ")))
                .unwrap_or("")
                .to_string(),
        )
    }

    pub fn annotation(&self, app: &str, key: &str) -> Option<String> {
        let f = self
            .state_dir()
            .join("apps")
            .join(app)
            .join("annotations")
            .join(key.replace('/', "__"));
        std::fs::read_to_string(f).ok()
    }

    /// Starts cf-bluegreen without waiting for it.
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
        self.write_config();
        self.command(args, env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// A marker file in the fake's state (`logged-out`, `no-target`, ...).
    pub fn touch(self, name: &str) -> Test {
        std::fs::write(self.state_dir().join(name), "").unwrap();
        self
    }

    pub fn write(self, name: &str, contents: &str) -> Test {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn write_dir(&self, name: &str) {
        std::fs::create_dir_all(self.dir.path().join(name)).unwrap();
    }

    fn write_config(&self) {
        let text = match &self.config_override {
            Some(t) => t.clone(),
            None => format!("{}{}", self.default_config(), self.extra_config),
        };
        std::fs::write(self.dir.path().join("deploy.toml"), without_drain(&text)).unwrap();
    }

    /// Runs cf-bluegreen with `args`; faults (`FAKE_CF_FAIL`) count calls from this run on.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cf-bluegreen"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("CI")
            .env_remove("NO_COLOR")
            .env_remove("CF_BLUEGREEN_CONFIG")
            .env_remove("CF_BLUEGREEN_LABEL")
            .env_remove("CF_TRACE")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("FAKE_CF_FAIL")
            .env_remove("FAKE_CF_LATENCY")
            .env_remove("FAKE_CF_NO_ROUTE_KEEPS_ROUTES")
            .env_remove("FAKE_CF_VERSION")
            .env("HOME", self.dir.path())
            .env("CF_HOME", self.dir.path())
            .env("USER", "tester")
            .env("CF_BIN", fake_cf())
            // A CI job's link joins the name in the records; outputs must not depend on
            // where the tests run.
            .env_remove("GITHUB_SERVER_URL")
            .env_remove("GITHUB_REPOSITORY")
            .env_remove("GITHUB_RUN_ID")
            .env_remove("CI_JOB_URL")
            .env_remove("BUILD_URL")
            .env_remove("BUILD_PIPELINE_NAME")
            .env("FAKE_CF_STATE", self.state_dir());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.write_config();
        let state = self.state_dir();
        // Call counters restart with each run so that `map-route:2` means this run's second.
        let counts = state.join("counts");
        if let Ok(entries) = std::fs::read_dir(&counts) {
            for e in entries.flatten() {
                if e.file_name() != "_all" {
                    std::fs::remove_file(e.path()).unwrap();
                }
            }
        }
        let log_before = read_log(&state).len();
        let mut cmd = self.command(args, env);
        let out = cmd.output().expect("run cf-bluegreen");
        let calls = read_log(&state).split_off(log_before);
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            calls,
            args: args.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Every call the fake saw, across all runs of this test.
    pub fn log(&self) -> Vec<Call> {
        read_log(&self.state_dir())
    }

    /// `started` / `stopped`, or `None` when the app does not exist.
    pub fn app_state(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.state_dir().join("apps").join(name).join("state"))
            .ok()
            .map(|s| s.trim().to_string())
    }

    pub fn app_routes(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.state_dir().join("apps").join(name).join("routes"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// After any run that ended well, or a plain deploy after one that did not: one app
    /// holds every live route and is started, the other holds none and is stopped, no
    /// app holds the staging route, no lock is left. Returns the live app.
    #[track_caller]
    pub fn assert_converged(&self, live_routes: &[&str]) -> String {
        let holders: Vec<&str> = [BLUE, GREEN]
            .into_iter()
            .filter(|a| self.app_routes(a).iter().any(|r| r == live_routes[0]))
            .collect();
        assert_eq!(
            holders.len(),
            1,
            "holders of {}: {holders:?}",
            live_routes[0]
        );
        let live = holders[0];
        let other = self.assert_live_on(live, live_routes);
        assert_ne!(
            self.app_state(other).as_deref(),
            Some("started"),
            "{other} still runs"
        );
        for app in [BLUE, GREEN] {
            assert_eq!(self.annotation(app, LOCK), None, "old lock left on {app}");
        }
        assert_eq!(self.lock_holder(), None, "lock left");
        live.to_string()
    }

    /// After a clean deploy: `live` holds every given live route and is started, the
    /// other app holds no route and is in `other_state`, no app holds the staging route.
    #[track_caller]
    pub fn assert_clean(&self, live: &str, live_routes: &[&str], other_state: Option<&str>) {
        let other = self.assert_live_on(live, live_routes);
        assert_eq!(
            self.app_state(other).as_deref(),
            other_state,
            "{other} state"
        );
    }

    /// `live` is started and holds exactly `live_routes`; the other app holds no route.
    /// Returns the other app.
    #[track_caller]
    fn assert_live_on(&self, live: &str, live_routes: &[&str]) -> &'static str {
        let other = if live == BLUE { GREEN } else { BLUE };
        assert_eq!(
            self.app_state(live).as_deref(),
            Some("started"),
            "{live} state"
        );
        let mut routes = self.app_routes(live);
        routes.sort();
        let mut expected: Vec<String> = live_routes.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(routes, expected, "routes of the live app {live}");
        assert!(
            self.app_routes(other).is_empty(),
            "{other} holds {:?}",
            self.app_routes(other)
        );
        other
    }
}

/// A network policy in the fake's state: GUIDs, protocol, port range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub source: String,
    pub destination: String,
    pub protocol: String,
    pub start: u16,
    pub end: u16,
}

/// `switch.drain = "0s"` unless the configuration sets a drain: the default 10s would
/// add ten seconds to every deploy of the suite, and the tests that are about the drain
/// set it.
fn without_drain(text: &str) -> String {
    if text.contains("drain =") {
        return text.to_string();
    }
    match text.find("[switch]\n") {
        Some(at) => {
            let after = at + "[switch]\n".len();
            format!("{}drain = \"0s\"\n{}", &text[..after], &text[after..])
        }
        None => format!("{text}\n[switch]\ndrain = \"0s\"\n"),
    }
}

/// One call of the fake cf: its argv, exit code and the route table after it.
#[derive(Debug, Clone)]
pub struct Call {
    pub seq: u64,
    pub argv: Vec<String>,
    pub exit: String,
    /// When the call started (before the fake's latency) and ended, in seconds since
    /// the epoch; `None` with a bash older than 5.
    pub start: Option<f64>,
    pub end: Option<f64>,
    /// route URL -> (app, started)
    pub routes: BTreeMap<String, Vec<(String, bool)>>,
}

impl Call {
    pub fn line(&self) -> String {
        format!("cf {}", self.argv.join(" "))
    }

    /// Changes apps or routes, or writes metadata.
    pub fn is_mutating(&self) -> bool {
        self.changes_apps()
            || (self.argv[0] == "curl" && self.argv.iter().any(|a| a == "PATCH" || a == "POST"))
    }

    pub fn changes_apps(&self) -> bool {
        matches!(
            self.argv[0].as_str(),
            "push"
                | "map-route"
                | "unmap-route"
                | "start"
                | "stop"
                | "restart"
                | "delete"
                | "scale"
                | "add-network-policy"
        )
    }

    pub fn served(&self, route: &str) -> bool {
        self.routes
            .get(route)
            .is_some_and(|holders| holders.iter().any(|(_, started)| *started))
    }
}

pub fn read_log(state: &Path) -> Vec<Call> {
    let text = std::fs::read_to_string(state.join("log")).unwrap_or_default();
    let mut calls = Vec::new();
    let mut current: Option<Call> = None;
    // The fake logs the route table only when it may have changed.
    let mut last_routes = BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        if current.is_none() && fields[0] != "call" {
            // The rest of an entry whose call was killed before it finished.
            continue;
        }
        match fields[0] {
            "call" => {
                current = Some(Call {
                    seq: fields[1].parse().unwrap(),
                    argv: fields[2..].iter().map(|s| s.to_string()).collect(),
                    exit: String::new(),
                    start: None,
                    end: None,
                    routes: BTreeMap::new(),
                })
            }
            "exit" => current.as_mut().unwrap().exit = fields[1].to_string(),
            "time" => {
                let call = current.as_mut().unwrap();
                call.start = fields.get(1).and_then(|t| t.parse().ok());
                call.end = fields.get(2).and_then(|t| t.parse().ok());
            }
            "route" => {
                let holders = fields[2..]
                    .iter()
                    .map(|h| {
                        let (app, state) = h.rsplit_once(':').unwrap();
                        (app.to_string(), state == "started")
                    })
                    .collect();
                current
                    .as_mut()
                    .unwrap()
                    .routes
                    .insert(fields[1].to_string(), holders);
            }
            "routes-same" => current.as_mut().unwrap().routes = last_routes.clone(),
            "end" => {
                let call = current.take().unwrap();
                last_routes = call.routes.clone();
                calls.push(call);
            }
            "" => {}
            other => panic!("unexpected log line {other:?}"),
        }
    }
    calls
}

/// Replaces the values in an annotation PATCH body (times, deploy ids) with `*`, so that
/// a dry run's commands can be compared with a later real run's.
pub fn mask_annotations(argv: Vec<String>) -> Vec<String> {
    argv.into_iter()
        .map(|a| {
            let Ok(mut body) = serde_json::from_str::<serde_json::Value>(&a) else {
                return a;
            };
            if let Some(ann) = body
                .pointer_mut("/metadata/annotations")
                .and_then(|v| v.as_object_mut())
            {
                for v in ann.values_mut() {
                    if v.is_string() {
                        *v = serde_json::Value::String("*".into());
                    }
                }
            }
            body.to_string()
        })
        .collect()
}

/// The zero-downtime property: from the first moment `route` is served by a started app,
/// it stays served after every call.
pub fn assert_always_served(calls: &[Call], route: &str) {
    let mut serving = false;
    for call in calls {
        if call.served(route) {
            serving = true;
        } else if serving {
            panic!(
                "{route} lost its last started app after call {} `{}` (exit {}):\n{:#?}\nfull log:\n{}",
                call.seq,
                call.line(),
                call.exit,
                call.routes,
                calls.iter().map(|c| format!("  {} {} -> {}", c.seq, c.line(), c.exit)).collect::<Vec<_>>().join("\n")
            );
        }
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub calls: Vec<Call>,
    /// What cf-bluegreen was run with: its arguments and the environment added for it.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Run {
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            code,
            "exit code of cf-bluegreen {:?}\n{}",
            self.args,
            self.dump()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.dump()
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.dump()
        );
        self
    }

    /// The cf calls of this run that changed apps or routes, as command lines.
    pub fn mutations(&self) -> Vec<String> {
        self.calls
            .iter()
            .filter(|c| c.changes_apps())
            .map(Call::line)
            .collect()
    }

    #[track_caller]
    pub fn expect_no_mutation(&self) -> &Run {
        assert!(
            self.mutations().is_empty(),
            "mutating calls: {:?}\n{}",
            self.mutations(),
            self.dump()
        );
        self
    }

    pub fn dump(&self) -> String {
        format!(
            "--- stdout\n{}--- stderr\n{}--- cf calls\n{}",
            self.stdout,
            self.stderr,
            self.calls
                .iter()
                .map(|c| format!("  {} -> {}\n", c.line(), c.exit))
                .collect::<String>()
        )
    }
}
