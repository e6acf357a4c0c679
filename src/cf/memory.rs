//! An in-memory [`Cf`] with the semantics of `fixtures/fake-cf`: the same v8 output, exit
//! codes, idempotency, fault injection and call log, without a process per call. The bash
//! fake costs ~16 ms a call; executor and recovery tests that make hundreds of calls should
//! run in milliseconds, and their faults should not depend on timing.
//!
//! Where it deliberately differs from the fake, the item says so.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{Cf, CfCommand, CfError, CfOutput};

/// The fake's default, so that a test moving between the two sees the same routes.
const DEFAULT_DOMAIN: &str = "apps.example.com";
const DEFAULT_VERSION: &str = "cf version 8.7.10+5b7ce3c.2024-04-04";
const NOT_LOGGED_IN: &str = "Not logged in. Use 'cf login' or 'cf login --sso' to log in.";

/// How a call ended, as the fake's log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    Exit(i32),
    /// A `hang` fault; the caller got [`CfError::TimedOut`].
    TimedOut,
    /// `abort()` was already true when the call began; the caller got
    /// [`CfError::Aborted`]. A real cf takes long enough to be killed before it changes
    /// anything, so nothing was applied.
    Aborted,
}

/// The fake log's spelling (`0`, `1`, `hang`), so that messages read the same.
impl fmt::Display for CallEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallEnd::Exit(code) => write!(f, "{code}"),
            CallEnd::TimedOut => f.write_str("hang"),
            CallEnd::Aborted => f.write_str("aborted"),
        }
    }
}

/// One call, like an entry of the fake's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryCall {
    /// Counted from 1 over the life of the [`MemoryCf`].
    pub seq: u64,
    pub argv: Vec<String>,
    pub end: CallEnd,
    /// Both streams, in order: lets a test check what the tool was shown.
    pub output: String,
    /// Every route that exists after the call -> the apps holding it, with whether each is
    /// started. Routes nobody holds are kept: CF keeps them too.
    pub routes: BTreeMap<String, Vec<(String, bool)>>,
}

impl MemoryCall {
    /// Unquoted, like the lines of `Run::mutations` in tests/support.rs, so that
    /// expectations can move between the two.
    pub fn line(&self) -> String {
        format!("cf {}", self.argv.join(" "))
    }

    pub fn changes_apps(&self) -> bool {
        matches!(
            self.argv.first().map(String::as_str),
            Some("push" | "map-route" | "unmap-route" | "start" | "stop" | "restart" | "delete")
        )
    }

    pub fn served(&self, route: &str) -> bool {
        self.routes
            .get(route)
            .is_some_and(|holders| holders.iter().any(|(_, started)| *started))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Fail,
    After,
    Hang,
}

#[derive(Debug, Clone)]
struct Fault {
    command: String,
    n: u32,
    /// Also every later call of the command: for "cf cannot report the state any more".
    onward: bool,
    mode: Mode,
}

impl Fault {
    fn matches(&self, command: &str, count: u32) -> bool {
        self.command == command && (count == self.n || (self.onward && count > self.n))
    }
}

/// The fake's `FAKE_CF_FAIL` syntax. Unlike the fake, which silently ignores a mode it
/// does not know, a bad spec panics: a typo must not turn a fault test into a clean run.
fn parse_faults(spec: &str) -> Vec<Fault> {
    spec.split(',')
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let mut parts = f.trim().splitn(3, ':');
            let command = parts.next().unwrap_or_default().to_string();
            let n = parts
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("fault {f:?}: expected COMMAND:N[:MODE]"));
            let mode = match parts.next() {
                None | Some("fail") => Mode::Fail,
                Some("after") => Mode::After,
                Some("hang") => Mode::Hang,
                Some(m @ ("interrupt" | "interrupt2")) => {
                    panic!("fault {f:?}: MemoryCf has no process to interrupt ({m})")
                }
                Some(m) => panic!("fault {f:?}: unknown mode {m:?}"),
            };
            Fault {
                command,
                n,
                onward: false,
                mode,
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
struct App {
    guid: String,
    started: bool,
    /// In the order they were mapped: `cf app` lists them so.
    routes: Vec<String>,
    annotations: BTreeMap<String, String>,
    crashed: bool,
    logs: Option<String>,
}

impl App {
    fn new(name: &str) -> App {
        App {
            guid: format!("guid-{name}"),
            started: false,
            routes: Vec::new(),
            annotations: BTreeMap::new(),
            crashed: false,
            logs: None,
        }
    }
}

#[derive(Debug)]
struct State {
    version: String,
    user: String,
    org: String,
    space: String,
    logged_in: bool,
    targeted: bool,
    no_route_keeps_routes: bool,
    apps: BTreeMap<String, App>,
    /// Every route that exists, in creation order.
    routes: Vec<String>,
    faults: Vec<Fault>,
    counts: HashMap<String, u32>,
    seq: u64,
    calls: Vec<MemoryCall>,
}

/// A command that failed; every failure of the fake exits 1.
struct Failed;

type Done = Result<(), Failed>;

/// What a call printed, kept per stream and in order as the real runner keeps it.
#[derive(Default)]
struct Out {
    stdout: String,
    stderr: String,
    combined: String,
    lines: Vec<String>,
}

impl Out {
    fn push(&mut self, to_stderr: bool, text: &str) {
        for line in text.split('\n') {
            let stream = if to_stderr {
                &mut self.stderr
            } else {
                &mut self.stdout
            };
            stream.push_str(line);
            stream.push('\n');
            self.combined.push_str(line);
            self.combined.push('\n');
            self.lines.push(line.to_string());
        }
    }

    fn out(&mut self, text: &str) {
        self.push(false, text);
    }

    fn err(&mut self, text: &str) {
        self.push(true, text);
    }

    /// v7/v8: the message on stderr, FAILED on stdout.
    fn fail(&mut self, message: &str) -> Failed {
        self.err(message);
        self.out("FAILED");
        Failed
    }

    /// Argument errors come before cf talks to the API: no FAILED.
    fn usage(&mut self, message: &str) -> Failed {
        self.err(message);
        Failed
    }

    fn unknown_flag(&mut self, command: &str, flag: &str) -> Failed {
        let name = flag.strip_prefix('-').unwrap_or(flag);
        let name = name.strip_prefix('-').unwrap_or(name);
        let name = name.split('=').next().unwrap_or(name);
        self.usage(&format!(
            "Incorrect Usage: unknown flag `{name}'\n\nNAME:\n   {command} - see 'cf help {command}'"
        ))
    }
}

/// Kept apart because `unmap-route`'s not-found message names host, domain and path.
struct RouteArgs {
    app: String,
    domain: String,
    host: String,
    path: String,
    url: String,
}

fn route_args(command: &str, args: &[String], out: &mut Out) -> Result<RouteArgs, Failed> {
    let (mut app, mut domain, mut host, mut path) =
        (String::new(), String::new(), String::new(), String::new());
    let mut positional = 0;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-n" | "--hostname" => host = it.next().cloned().unwrap_or_default(),
            "--path" => path = it.next().cloned().unwrap_or_default(),
            "--port" | "--app-protocol" | "--destination-protocol" => {
                it.next();
            }
            f if f.starts_with('-') => return Err(out.unknown_flag(command, f)),
            _ => {
                positional += 1;
                match positional {
                    1 => app = a.clone(),
                    2 => domain = a.clone(),
                    _ => {}
                }
            }
        }
    }
    if app.is_empty() || domain.is_empty() {
        return Err(out.usage(
            "Incorrect Usage: the required arguments `APP_NAME` and `DOMAIN` were not provided",
        ));
    }
    if !path.is_empty() && !path.starts_with('/') {
        path.insert(0, '/');
    }
    let url = if host.is_empty() {
        format!("{domain}{path}")
    } else {
        format!("{host}.{domain}{path}")
    };
    Ok(RouteArgs {
        app,
        domain,
        host,
        path,
        url,
    })
}

/// `stop` and `start` take no flags: one the tool should not send is a usage error.
fn one_app_arg(command: &str, args: &[String], out: &mut Out) -> Result<String, Failed> {
    let mut name = String::new();
    for a in args {
        if a.starts_with('-') {
            return Err(out.unknown_flag(command, a));
        }
        name = a.clone();
    }
    if name.is_empty() {
        return Err(out.usage("Incorrect Usage: the required argument `APP_NAME` was not provided"));
    }
    Ok(name)
}

/// Written by hand in the fake's key order: serde_json would sort the keys, and a test
/// comparing bodies between the two should see the same text.
fn api_error(title: &str, detail: &str, code: u32) -> String {
    format!(
        r#"{{"errors":[{{"detail":{},"title":{},"code":{code}}}]}}"#,
        json_str(detail),
        json_str(title)
    )
}

fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

impl State {
    fn as_user(&self) -> String {
        format!(
            "in org {} / space {} as {}",
            self.org, self.space, self.user
        )
    }

    fn need_session(&self, out: &mut Out) -> Done {
        if !self.logged_in {
            return Err(out.fail(NOT_LOGGED_IN));
        }
        if !self.targeted {
            return Err(out.fail(
                "No org and space targeted, use 'cf target -o ORG -s SPACE' to target an org and space.",
            ));
        }
        Ok(())
    }

    fn need_app(&mut self, name: &str, out: &mut Out) -> Result<&mut App, Failed> {
        match self.apps.get_mut(name) {
            Some(app) => Ok(app),
            None => Err(out.fail(&format!("App '{name}' not found."))),
        }
    }

    fn add_route(&mut self, url: &str) {
        if !self.routes.iter().any(|r| r == url) {
            self.routes.push(url.to_string());
        }
    }

    fn route_table(&self) -> BTreeMap<String, Vec<(String, bool)>> {
        self.routes
            .iter()
            .map(|url| {
                let holders = self
                    .apps
                    .iter()
                    .filter(|(_, app)| app.routes.contains(url))
                    .map(|(name, app)| (name.clone(), app.started))
                    .collect();
                (url.clone(), holders)
            })
            .collect()
    }

    fn execute(&mut self, command: &str, args: &[String], out: &mut Out) -> Done {
        match command {
            "version" | "-v" | "--version" => {
                out.out(&self.version);
                Ok(())
            }
            "curl" => self.curl(args, out),
            "target" => self.target(args, out),
            "app" => self.app(args, out),
            "push" => self.push(args, out),
            "map-route" => self.map_route(args, out),
            "unmap-route" => self.unmap_route(args, out),
            "stop" => self.stop(args, out),
            "start" => self.start(args, out),
            "delete" => self.delete(args, out),
            "logs" => self.logs(args, out),
            _ => Err(out.usage(&format!(
                "'{command}' is not a registered command. See 'cf help -a'"
            ))),
        }
    }

    fn target(&mut self, args: &[String], out: &mut Out) -> Done {
        if !args.is_empty() {
            return Err(out.fail("memory cf: 'cf target' with arguments is not supported"));
        }
        if !self.logged_in {
            return Err(out.fail(NOT_LOGGED_IN));
        }
        out.out("API endpoint:   https://api.example.com");
        out.out("API version:    3.180.0");
        out.out(&format!("user:           {}", self.user));
        if self.targeted {
            out.out(&format!("org:            {}", self.org));
            out.out(&format!("space:          {}", self.space));
        } else {
            out.out("No org or space targeted, use 'cf target -o ORG -s SPACE'");
        }
        Ok(())
    }

    fn app(&mut self, args: &[String], out: &mut Out) -> Done {
        let mut name = String::new();
        let mut guid = false;
        for a in args {
            match a.as_str() {
                "--guid" => guid = true,
                f if f.starts_with('-') => return Err(out.unknown_flag("app", f)),
                _ => name = a.clone(),
            }
        }
        self.need_session(out)?;
        if guid {
            let guid = self.need_app(&name, out)?.guid.clone();
            out.out(&guid);
            return Ok(());
        }
        out.out(&format!(
            "Showing health and status for app {name} {}...",
            self.as_user()
        ));
        out.out("");
        self.need_app(&name, out)?;
        self.print_app(&name, out);
        Ok(())
    }

    fn print_app(&self, name: &str, out: &mut Out) {
        let app = &self.apps[name];
        let state = if app.started { "started" } else { "stopped" };
        out.out(&format!("name:              {name}"));
        out.out(&format!("requested state:   {state}"));
        out.out(&format!("routes:            {}", app.routes.join(", ")));
        out.out("last uploaded:     Thu 26 Nov 07:44:43 UTC 2026");
        out.out("stack:             cflinuxfs4");
        out.out("buildpacks:        ");
        out.out("\tname             version   detect output   buildpack name");
        out.out("\truby_buildpack   1.10.9    ruby            ruby");
        out.out("");
        out.out("type:           web");
        out.out("sidecars:       ");
        out.out(&format!(
            "instances:      {}",
            if app.started { "1/1" } else { "0/1" }
        ));
        out.out("memory usage:   256M");
        if app.started {
            let inst = if app.crashed { "crashed" } else { "running" };
            out.out("     state     since                  cpu    memory         disk         logging        cpu entitlement   details");
            out.out(&format!("#0   {inst}   2026-11-26T07:45:59Z   0.0%   9.4M of 256M   6.5M of 1G   0/s of 16K/s   0.0%              "));
        } else {
            out.out("There are no running instances of this process.");
        }
    }

    /// The fake's flag table: the flags v7+ knows take their value, and the push route
    /// flags v7 removed are rejected, as the tool must never send them. What the flags
    /// mean is ignored: `-f` does not read the manifest (so no manifest routes, and no
    /// check that it or `-p` exists), unlike the fake.
    fn push(&mut self, args: &[String], out: &mut Out) -> Done {
        let mut name = String::new();
        let (mut no_route, mut no_start) = (false, false);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--no-route" => no_route = true,
                "--no-start" => no_start = true,
                "--no-manifest" | "--no-wait" | "--random-route" => {}
                "-f"
                | "--manifest"
                | "-p"
                | "--path"
                | "--var"
                | "--vars-file"
                | "-i"
                | "--instances"
                | "-m"
                | "--memory"
                | "-k"
                | "--disk"
                | "-b"
                | "--buildpack"
                | "-s"
                | "--stack"
                | "-t"
                | "--app-start-timeout"
                | "-u"
                | "--health-check-type"
                | "-c"
                | "--start-command"
                | "--strategy"
                | "--endpoint"
                | "-o"
                | "--docker-image"
                | "--docker-username"
                | "--droplet"
                | "-l"
                | "--log-rate-limit"
                | "--max-in-flight" => {
                    it.next();
                }
                f if f.starts_with('-') => return Err(out.unknown_flag("push", f)),
                _ if !name.is_empty() => {
                    return Err(out.usage(&format!("Incorrect Usage: unexpected argument '{a}'")))
                }
                _ => name = a.clone(),
            }
        }
        self.need_session(out)?;
        if name.is_empty() {
            return Err(
                out.fail("Incorrect Usage: the required argument `APP_NAME` was not provided")
            );
        }
        out.out(&format!(
            "Pushing app {name} to org {} / space {} as {}...",
            self.org, self.space, self.user
        ));
        out.out("Packaging files to upload...");
        out.out("Uploading files...");
        out.out(" 1.02 KiB / 1.02 KiB [=====================================] 100.00% 1s");
        out.out("");
        out.out("Waiting for API to complete processing files...");
        let keep = self.no_route_keeps_routes;
        let app = self
            .apps
            .entry(name.clone())
            .or_insert_with(|| App::new(&name));
        let mut new_route = None;
        if no_route {
            // v8: --no-route removes the routes the app already had.
            if !keep {
                app.routes.clear();
            }
        } else if app.routes.is_empty() {
            let url = format!("{name}.{DEFAULT_DOMAIN}");
            app.routes.push(url.clone());
            new_route = Some(url);
        }
        if let Some(url) = new_route {
            self.add_route(&url);
        }
        out.out("");
        out.out("Staging app and tracing logs...");
        out.out("   Downloading ruby_buildpack...");
        out.out("   -----> Ruby Buildpack version 1.10.9");
        out.out("   Exit status 0");
        out.out("   Uploading droplet...");
        out.out("");
        let app = self.apps.get_mut(&name).expect("pushed above");
        if no_start {
            app.started = false;
        } else {
            out.out(&format!("Waiting for app {name} to start..."));
            app.started = true;
            if app.crashed {
                out.out("");
                out.out("Instances starting...");
                return Err(out.fail(&format!(
                    "Start unsuccessful\n\nTIP: use 'cf logs {name} --recent' for more information"
                )));
            }
        }
        out.out("");
        self.print_app(&name, out);
        Ok(())
    }

    fn map_route(&mut self, args: &[String], out: &mut Out) -> Done {
        let r = route_args("map-route", args, out)?;
        self.need_session(out)?;
        let as_user = self.as_user();
        out.out(&format!(
            "Mapping route {} to app {} {as_user}...",
            r.url, r.app
        ));
        self.need_app(&r.app, out)?;
        if !self.routes.contains(&r.url) {
            out.out(&format!(
                "Creating route {} for org {} / space {} as {}...",
                r.url, self.org, self.space, self.user
            ));
            self.add_route(&r.url);
        }
        let app = self.need_app(&r.app, out)?;
        if app.routes.contains(&r.url) {
            out.out(&format!(
                "App '{}' is already mapped to route '{}'. Nothing has been updated.",
                r.app, r.url
            ));
        } else {
            app.routes.push(r.url.clone());
        }
        out.out("OK");
        Ok(())
    }

    fn unmap_route(&mut self, args: &[String], out: &mut Out) -> Done {
        let r = route_args("unmap-route", args, out)?;
        self.need_session(out)?;
        let as_user = self.as_user();
        out.out(&format!(
            "Removing route {} from app {} {as_user}...",
            r.url, r.app
        ));
        self.need_app(&r.app, out)?;
        if !self.routes.contains(&r.url) {
            let (host, domain, path) = (&r.host, &r.domain, &r.path);
            return Err(out.fail(&if path.is_empty() {
                format!("Route with host '{host}' and domain '{domain}' not found.")
            } else {
                format!("Route with host '{host}', domain '{domain}', and path '{path}' not found.")
            }));
        }
        let app = self.need_app(&r.app, out)?;
        if let Some(i) = app.routes.iter().position(|u| *u == r.url) {
            app.routes.remove(i);
        } else {
            out.out("Route to be unmapped is not currently mapped to the application.");
        }
        out.out("OK");
        Ok(())
    }

    fn stop(&mut self, args: &[String], out: &mut Out) -> Done {
        let name = one_app_arg("stop", args, out)?;
        self.need_session(out)?;
        let as_user = self.as_user();
        let app = self.need_app(&name, out)?;
        if app.started {
            out.out(&format!("Stopping app {name} {as_user}..."));
            app.started = false;
        } else {
            out.out(&format!("App '{name}' is already stopped."));
        }
        out.out("");
        out.out("OK");
        Ok(())
    }

    fn start(&mut self, args: &[String], out: &mut Out) -> Done {
        let name = one_app_arg("start", args, out)?;
        self.need_session(out)?;
        let as_user = self.as_user();
        let app = self.need_app(&name, out)?;
        if app.started {
            out.out(&format!("App '{name}' is already started."));
            out.out("");
            out.out("OK");
            return Ok(());
        }
        out.out(&format!("Starting app {name} {as_user}..."));
        out.out("");
        out.out("Waiting for app to start...");
        app.started = true;
        if app.crashed {
            return Err(out.fail(&format!(
                "All instances crashed\n\nTIP: use 'cf logs {name} --recent' for more information"
            )));
        }
        out.out("");
        self.print_app(&name, out);
        Ok(())
    }

    /// With `-r`, the app's routes are deleted for every app holding them, as CF does; the
    /// fake only drops them from its route table. The tool never passes `-r`.
    fn delete(&mut self, args: &[String], out: &mut Out) -> Done {
        let mut name = String::new();
        let (mut force, mut with_routes) = (false, false);
        for a in args {
            match a.as_str() {
                "-f" => force = true,
                "-r" => with_routes = true,
                f if f.starts_with('-') => return Err(out.unknown_flag("delete", f)),
                _ => name = a.clone(),
            }
        }
        self.need_session(out)?;
        if !force {
            out.out(&format!("Really delete the app {name}? [yN]: "));
            return Err(out.fail("EOF"));
        }
        out.out(&format!("Deleting app {name} {}...", self.as_user()));
        let Some(app) = self.apps.remove(&name) else {
            out.out(&format!("App '{name}' does not exist."));
            out.out("OK");
            return Ok(());
        };
        if with_routes {
            self.routes.retain(|r| !app.routes.contains(r));
            for other in self.apps.values_mut() {
                other.routes.retain(|r| !app.routes.contains(r));
            }
        }
        out.out("OK");
        Ok(())
    }

    fn logs(&mut self, args: &[String], out: &mut Out) -> Done {
        let mut name = String::new();
        let mut recent = false;
        for a in args {
            match a.as_str() {
                "--recent" => recent = true,
                f if f.starts_with('-') => return Err(out.unknown_flag("logs", f)),
                _ => name = a.clone(),
            }
        }
        self.need_session(out)?;
        if !recent {
            return Err(out.fail("memory cf: only 'cf logs APP --recent' is supported"));
        }
        out.out(&format!(
            "Retrieving logs for app {name} {}...",
            self.as_user()
        ));
        out.out("");
        let app = self.need_app(&name, out)?;
        match &app.logs {
            Some(text) => out.out(text.trim_end_matches('\n')),
            None => {
                let guid = app.guid.clone();
                out.out(&format!(
                    "   2026-11-26T07:45:58.00+0000 [API/0] OUT Updated app with guid {guid}"
                ));
                out.out(
                    "   2026-11-26T07:45:59.00+0000 [APP/PROC/WEB/0] OUT Listening on 0.0.0.0:8080",
                );
            }
        }
        Ok(())
    }

    /// Only what the tool uses of the v3 API. Like cf without `--fail`, an API error is
    /// printed as JSON with exit 0. The PATCH body is parsed as JSON, where the fake cuts
    /// it apart with sed: values with quotes, commas or braces (which the tool sanitizes
    /// away) work here and would not there; a body that is not JSON gets an API error.
    fn curl(&mut self, args: &[String], out: &mut Out) -> Done {
        let (mut path, mut method, mut data) = (String::new(), "GET".to_string(), String::new());
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "-X" => method = it.next().cloned().unwrap_or_default(),
                "-d" => data = it.next().cloned().unwrap_or_default(),
                "-H" => {
                    it.next();
                }
                "--fail" | "-i" | "-v" => {}
                f if f.starts_with('-') => return Err(out.unknown_flag("curl", f)),
                _ => path = a.clone(),
            }
        }
        self.need_session(out)?;
        let Some(guid) = path.strip_prefix("/v3/apps/") else {
            out.out(&api_error("CF-NotFound", "Unknown request", 10000));
            return Ok(());
        };
        let Some((name, app)) = self.apps.iter_mut().find(|(_, a)| a.guid == guid) else {
            out.out(&api_error("CF-ResourceNotFound", "App not found", 10010));
            return Ok(());
        };
        match method.as_str() {
            "GET" => {}
            "PATCH" => {
                let Ok(body) = serde_json::from_str::<serde_json::Value>(&data) else {
                    out.out(&api_error(
                        "CF-MessageParseError",
                        "Request invalid due to parse error: invalid request body",
                        1001,
                    ));
                    return Ok(());
                };
                if let Some(values) = body
                    .pointer("/metadata/annotations")
                    .and_then(|v| v.as_object())
                {
                    for (key, value) in values {
                        match value {
                            serde_json::Value::Null => {
                                app.annotations.remove(key);
                            }
                            serde_json::Value::String(s) => {
                                app.annotations.insert(key.clone(), s.clone());
                            }
                            other => {
                                app.annotations.insert(key.clone(), other.to_string());
                            }
                        }
                    }
                }
            }
            _ => return Err(out.fail(&format!("memory cf: cf curl -X {method} is not supported"))),
        }
        let annotations: Vec<String> = app
            .annotations
            .iter()
            .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
            .collect();
        let resource = format!(
            r#"{{"guid":{},"name":{},"state":"{}","metadata":{{"labels":{{}},"annotations":{{{}}}}}}}"#,
            json_str(&app.guid),
            json_str(name),
            if app.started { "STARTED" } else { "STOPPED" },
            annotations.join(",")
        );
        out.out(&resource);
        Ok(())
    }
}

/// Shared by reference between the code under test and the test that inspects it, hence
/// builder methods by value (before the run) and inspection by `&self` (after, or while).
pub struct MemoryCf {
    state: Mutex<State>,
}

impl Default for MemoryCf {
    fn default() -> MemoryCf {
        MemoryCf::new()
    }
}

impl MemoryCf {
    /// cf 8, logged in as `tester`, targeting org `o` and space `s`, no apps.
    pub fn new() -> MemoryCf {
        MemoryCf {
            state: Mutex::new(State {
                version: DEFAULT_VERSION.to_string(),
                user: "tester".into(),
                org: "o".into(),
                space: "s".into(),
                logged_in: true,
                targeted: true,
                no_route_keeps_routes: false,
                apps: BTreeMap::new(),
                routes: Vec::new(),
                faults: Vec::new(),
                counts: HashMap::new(),
                seq: 0,
                calls: Vec::new(),
            }),
        }
    }

    /// A panicking test thread must not hide the state from the one reporting it.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn setup(&mut self) -> &mut State {
        self.state.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    #[track_caller]
    fn setup_app(&mut self, name: &str) -> &mut App {
        self.setup()
            .apps
            .get_mut(name)
            .unwrap_or_else(|| panic!("MemoryCf: no app {name:?}; add it with .app() first"))
    }

    /// An app with GUID `guid-NAME`, as tests/support.rs writes them. `routes` are URLs as
    /// `cf app` prints them, `host.domain[/path]`. Called again for the same name, it
    /// replaces the state and routes and keeps the rest.
    pub fn app(mut self, name: &str, started: bool, routes: &[&str]) -> MemoryCf {
        let state = self.setup();
        let app = state
            .apps
            .entry(name.to_string())
            .or_insert_with(|| App::new(name));
        app.started = started;
        app.routes = routes.iter().map(|r| r.to_string()).collect();
        for r in routes {
            state.add_route(r);
        }
        self
    }

    #[track_caller]
    pub fn annotate(mut self, app: &str, key: &str, value: &str) -> MemoryCf {
        self.setup_app(app)
            .annotations
            .insert(key.to_string(), value.to_string());
        self
    }

    /// Its instances crash: `start` and `push` fail after setting it started, and
    /// `cf app` shows a crashed instance.
    #[track_caller]
    pub fn crashed(mut self, app: &str) -> MemoryCf {
        self.setup_app(app).crashed = true;
        self
    }

    /// What `cf logs APP --recent` prints after its header, instead of two made-up lines.
    #[track_caller]
    pub fn logs(mut self, app: &str, text: &str) -> MemoryCf {
        self.setup_app(app).logs = Some(text.to_string());
        self
    }

    /// Faults in the fake's `FAKE_CF_FAIL` syntax, added to those already set. Panics on a
    /// spec it cannot honour, `interrupt` included.
    pub fn fail(mut self, spec: &str) -> MemoryCf {
        self.setup().faults.extend(parse_faults(spec));
        self
    }

    /// Every call of `command` from the `n`-th on fails (nothing applied, exit 1), which
    /// the fake cannot express.
    pub fn fail_from(mut self, command: &str, n: u32) -> MemoryCf {
        self.setup().faults.push(Fault {
            command: command.to_string(),
            n,
            onward: true,
            mode: Mode::Fail,
        });
        self
    }

    /// cf cannot report the state any more: every `app` call (with or without `--guid`)
    /// from the `n`-th on fails. `curl` reads still work; add `fail_from("curl", ..)` too
    /// if the annotations must be unreadable as well.
    pub fn fail_reads_from(self, n: u32) -> MemoryCf {
        self.fail_from("app", n)
    }

    /// What `cf version` prints: to test how the tool treats other cf releases.
    pub fn version(mut self, line: &str) -> MemoryCf {
        self.setup().version = line.to_string();
        self
    }

    pub fn logged_out(mut self) -> MemoryCf {
        self.setup().logged_in = false;
        self
    }

    pub fn no_target(mut self) -> MemoryCf {
        self.setup().targeted = false;
        self
    }

    /// `push --no-route` keeps the app's routes, as the v7 upgrade guide describes (v8
    /// removes them; the tool must rely on neither). The fake's
    /// `FAKE_CF_NO_ROUTE_KEEPS_ROUTES`.
    pub fn no_route_keeps_routes(mut self) -> MemoryCf {
        self.setup().no_route_keeps_routes = true;
        self
    }

    /// A new run of the tool against the same state, as tests/support.rs starts one:
    /// the per-command counts restart and `fail_spec` replaces every fault (`""` for
    /// none). The call log and its sequence numbers go on.
    pub fn next_run(&self, fail_spec: &str) {
        let faults = parse_faults(fail_spec);
        let mut state = self.lock();
        state.counts.clear();
        state.faults = faults;
    }

    /// `None`: no such app.
    pub fn started(&self, app: &str) -> Option<bool> {
        self.lock().apps.get(app).map(|a| a.started)
    }

    /// In the order `cf app` lists them; empty for an app that does not exist.
    pub fn routes(&self, app: &str) -> Vec<String> {
        self.lock()
            .apps
            .get(app)
            .map(|a| a.routes.clone())
            .unwrap_or_default()
    }

    pub fn annotation(&self, app: &str, key: &str) -> Option<String> {
        self.lock().apps.get(app)?.annotations.get(key).cloned()
    }

    pub fn guid(&self, app: &str) -> Option<String> {
        self.lock().apps.get(app).map(|a| a.guid.clone())
    }

    pub fn apps(&self) -> Vec<String> {
        self.lock().apps.keys().cloned().collect()
    }

    pub fn calls(&self) -> Vec<MemoryCall> {
        self.lock().calls.clone()
    }

    /// The calls that changed apps or routes, failed ones included, as `cf ...` lines.
    pub fn mutations(&self) -> Vec<String> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.changes_apps())
            .map(MemoryCall::line)
            .collect()
    }

    /// The zero-downtime property: from the first moment `route` is served by a started
    /// app, it stays served after every call. The same check as `assert_always_served` in
    /// tests/support.rs.
    #[track_caller]
    pub fn assert_always_served(&self, route: &str) {
        let calls = self.calls();
        let mut serving = false;
        for call in &calls {
            if call.served(route) {
                serving = true;
            } else if serving {
                let log: Vec<String> = calls
                    .iter()
                    .map(|c| format!("  {} {} -> {}", c.seq, c.line(), c.end))
                    .collect();
                panic!(
                    "{route} lost its last started app after call {} `{}` (exit {}):\n{:#?}\nfull log:\n{}",
                    call.seq,
                    call.line(),
                    call.end,
                    call.routes,
                    log.join("\n")
                );
            }
        }
    }
}

impl Cf for MemoryCf {
    fn run(
        &self,
        args: &[String],
        timeout: Duration,
        abort: &dyn Fn() -> bool,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<CfOutput, CfError> {
        // Before the lock: the callbacks are the caller's and may look at this MemoryCf.
        let aborted = abort();
        let mut out = Out::default();
        let end = {
            let mut state = self.lock();
            let command = args.first().map_or("help", String::as_str);
            let count = {
                let c = state.counts.entry(command.to_string()).or_insert(0);
                *c += 1;
                *c
            };
            state.seq += 1;
            // As in the fake, the last matching fault wins.
            let fault = state
                .faults
                .iter()
                .rev()
                .find(|f| f.matches(command, count))
                .map(|f| f.mode);
            let injected = |out: &mut Out| {
                out.fail(&format!(
                    "Server error, status code: 502, error code: 10001, message: injected failure of call {count} of '{command}'"
                ));
            };
            let end = if aborted {
                CallEnd::Aborted
            } else {
                match fault {
                    Some(Mode::Hang) => CallEnd::TimedOut,
                    Some(Mode::Fail) => {
                        injected(&mut out);
                        CallEnd::Exit(1)
                    }
                    _ => match state.execute(command, args.get(1..).unwrap_or(&[]), &mut out) {
                        Err(Failed) => CallEnd::Exit(1),
                        Ok(()) if fault == Some(Mode::After) => {
                            injected(&mut out);
                            CallEnd::Exit(1)
                        }
                        Ok(()) => CallEnd::Exit(0),
                    },
                }
            };
            let call = MemoryCall {
                seq: state.seq,
                argv: args.to_vec(),
                end,
                output: out.combined.clone(),
                routes: state.route_table(),
            };
            state.calls.push(call);
            end
        };
        let command = || CfCommand::new(args.iter().cloned()).to_string();
        match end {
            CallEnd::Exit(code) => {
                for line in &out.lines {
                    on_line(line);
                }
                Ok(CfOutput {
                    code: Some(code),
                    stdout: out.stdout,
                    stderr: out.stderr,
                    combined: out.combined,
                })
            }
            // The real runner's answer once the timeout has passed; the fake printed
            // nothing before it hung.
            CallEnd::TimedOut => Err(CfError::TimedOut {
                command: command(),
                after: timeout,
                output: String::new(),
            }),
            CallEnd::Aborted => Err(CfError::Aborted { command: command() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cf::CfClient;

    const T: Duration = Duration::from_secs(5);

    fn try_cf(m: &MemoryCf, args: &[&str]) -> Result<CfOutput, CfError> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        m.run(&args, T, &|| false, &|_| {})
    }

    /// Exit code, stdout, stderr.
    fn cf(m: &MemoryCf, args: &[&str]) -> (i32, String, String) {
        let out = try_cf(m, args).unwrap();
        (out.code.unwrap(), out.stdout, out.stderr)
    }

    fn with_client<R>(m: &MemoryCf, f: impl FnOnce(&CfClient) -> R) -> R {
        let client = CfClient::new(m, T, |_| {});
        f(&client)
    }

    #[test]
    fn the_tools_parsers_read_version_target_and_app() {
        let m = MemoryCf::new()
            .app("a", true, &["live.d.com", "other.d.com/api"])
            .app("b", false, &[])
            .crashed("a");
        with_client(&m, |c| {
            assert_eq!(c.version().unwrap().major, 8);
            let t = c.target().unwrap();
            assert_eq!(
                (t.user.as_deref(), t.org.as_deref(), t.space.as_deref()),
                (Some("tester"), Some("o"), Some("s"))
            );
            let a = c.app("a").unwrap().unwrap();
            assert!(a.started());
            assert_eq!(a.routes, ["live.d.com", "other.d.com/api"]);
            assert_eq!(a.instances, ["crashed"]);
            let b = c.app("b").unwrap().unwrap();
            assert!(!b.started());
            assert!(b.routes.is_empty() && b.instances.is_empty());
            assert_eq!(c.app("nope").unwrap(), None);
            assert_eq!(c.guid("a").unwrap().as_deref(), Some("guid-a"));
            assert_eq!(c.guid("nope").unwrap(), None);
            assert!(c.recent_logs("a", 5).unwrap().contains("guid-a"));
        });
        let m = m.version("cf7 version 7.2.0+be4a5ce2b.2020-12-10");
        with_client(&m, |c| assert_eq!(c.version().unwrap().major, 7));
    }

    #[test]
    fn annotations_round_trip_through_the_client() {
        let m = MemoryCf::new()
            .app("a", true, &[])
            .annotate("a", "cf-bluegreen/deploy", "d1")
            .annotate("a", "cf-bluegreen/lock", "me");
        with_client(&m, |c| {
            let meta = c.app_meta("guid-a").unwrap();
            assert_eq!(meta.guid, "guid-a");
            assert_eq!(meta.get("cf-bluegreen/deploy"), Some("d1"));
            let meta = c
                .annotate(
                    "guid-a",
                    &[
                        ("cf-bluegreen/checked".into(), Some("d1".into())),
                        ("cf-bluegreen/lock".into(), None),
                    ],
                )
                .unwrap();
            assert!(meta.checked());
            assert_eq!(meta.get("cf-bluegreen/lock"), None);
            // An unknown GUID is an API error, which cf prints with exit 0.
            let e = c.app_meta("guid-nope").unwrap_err().to_string();
            assert!(e.contains("CF-ResourceNotFound: App not found"), "{e}");
        });
        assert_eq!(
            m.annotation("a", "cf-bluegreen/deploy").as_deref(),
            Some("d1")
        );
        assert_eq!(
            m.annotation("a", "cf-bluegreen/checked").as_deref(),
            Some("d1")
        );
        assert_eq!(m.annotation("a", "cf-bluegreen/lock"), None);
        let (code, out, _) = cf(&m, &["curl", "/v2/info"]);
        assert_eq!(code, 0);
        assert!(out.contains("CF-NotFound"), "{out}");
    }

    #[test]
    fn missing_app_and_session_errors_read_like_cf_v8() {
        let m = MemoryCf::new();
        let (code, out, err) = cf(&m, &["app", "nope"]);
        assert_eq!(code, 1);
        assert!(out.contains("FAILED"), "{out}");
        assert_eq!(err, "App 'nope' not found.\n");
        assert_eq!(cf(&m, &["app", "nope", "--guid"]).0, 1);
        let (code, _, err) = cf(&m, &["map-route", "nope", "d.com", "--hostname", "r"]);
        assert_eq!(code, 1);
        assert!(err.contains("App 'nope' not found."), "{err}");
        let (code, _, err) = cf(&m, &["restart", "a"]);
        assert_eq!(code, 1);
        assert!(
            err.contains("'restart' is not a registered command"),
            "{err}"
        );
        let (code, _, err) = cf(&m, &["stop", "a", "--force"]);
        assert_eq!(code, 1);
        assert!(
            err.contains("Incorrect Usage: unknown flag `force'"),
            "{err}"
        );

        let m = MemoryCf::new().logged_out();
        let (code, _, err) = cf(&m, &["target"]);
        assert_eq!(code, 1);
        assert!(err.contains(NOT_LOGGED_IN), "{err}");
        let m = MemoryCf::new().no_target();
        with_client(&m, |c| {
            let t = c.target().unwrap();
            assert_eq!((t.org, t.space), (None, None));
        });
        assert!(cf(&m, &["app", "a"])
            .2
            .contains("No org and space targeted"));
    }

    #[test]
    fn idempotent_where_real_cf_is() {
        let m = MemoryCf::new().app("a", true, &["r.d.com"]);
        let (code, out, _) = cf(&m, &["map-route", "a", "d.com", "--hostname", "r"]);
        assert_eq!(code, 0);
        assert!(out.contains("is already mapped"), "{out}");
        // A new route is created, then mapped; mapping it again changes nothing.
        let (code, out, _) = cf(&m, &["map-route", "a", "d.com", "-n", "s", "--path", "p"]);
        assert_eq!(code, 0);
        assert!(out.contains("Creating route s.d.com/p"), "{out}");
        assert_eq!(m.routes("a"), ["r.d.com", "s.d.com/p"]);
        assert_eq!(
            cf(&m, &["map-route", "a", "d.com", "-n", "s", "--path", "/p"]).0,
            0
        );
        assert_eq!(m.routes("a"), ["r.d.com", "s.d.com/p"]);

        for _ in 0..2 {
            assert_eq!(cf(&m, &["stop", "a"]).0, 0);
            assert_eq!(m.started("a"), Some(false));
        }
        for _ in 0..2 {
            assert_eq!(cf(&m, &["start", "a"]).0, 0);
            assert_eq!(m.started("a"), Some(true));
        }

        assert_eq!(
            cf(&m, &["unmap-route", "a", "d.com", "--hostname", "r"]).0,
            0
        );
        assert_eq!(m.routes("a"), ["s.d.com/p"]);
        // Unmapping a route that exists but is not mapped: fine.
        let (code, out, _) = cf(&m, &["unmap-route", "a", "d.com", "--hostname", "r"]);
        assert_eq!(code, 0);
        assert!(out.contains("not currently mapped"), "{out}");
        // Unmapping a route that does not exist at all: an error.
        let (code, out, err) = cf(
            &m,
            &[
                "unmap-route",
                "a",
                "d.com",
                "--hostname",
                "nope",
                "--path",
                "p",
            ],
        );
        assert_eq!(code, 1);
        assert!(out.contains("FAILED"));
        assert_eq!(
            err,
            "Route with host 'nope', domain 'd.com', and path '/p' not found.\n"
        );
        let (code, _, err) = cf(&m, &["unmap-route", "a", "d.com", "--hostname", "nope"]);
        assert_eq!(code, 1);
        assert_eq!(
            err,
            "Route with host 'nope' and domain 'd.com' not found.\n"
        );

        // Without -f, cf asks and reads EOF.
        assert_eq!(cf(&m, &["delete", "a"]).0, 1);
        assert_eq!(m.started("a"), Some(true));
        assert_eq!(cf(&m, &["delete", "a", "-f"]).0, 0);
        assert_eq!(m.started("a"), None);
        let (code, out, _) = cf(&m, &["delete", "a", "-f"]);
        assert_eq!(code, 0);
        assert!(out.contains("App 'a' does not exist."), "{out}");
        // The routes outlive the app, as in CF.
        assert!(m.calls().last().unwrap().routes.contains_key("r.d.com"));
    }

    #[test]
    fn plain_fault_fails_the_nth_call_of_that_command_without_effect() {
        let m = MemoryCf::new()
            .app("a", true, &[])
            .fail("map-route:2,stop:1");
        assert_eq!(cf(&m, &["map-route", "a", "d.com", "-n", "x"]).0, 0);
        let (code, out, err) = cf(&m, &["map-route", "a", "d.com", "-n", "y"]);
        assert_eq!(code, 1);
        assert_eq!(out, "FAILED\n");
        assert!(
            err.contains("injected failure of call 2 of 'map-route'"),
            "{err}"
        );
        assert_eq!(cf(&m, &["map-route", "a", "d.com", "-n", "z"]).0, 0);
        assert_eq!(m.routes("a"), ["x.d.com", "z.d.com"]);
        assert_eq!(cf(&m, &["stop", "a"]).0, 1);
        assert_eq!(m.started("a"), Some(true));
        assert_eq!(cf(&m, &["stop", "a"]).0, 0);
        assert_eq!(m.started("a"), Some(false));
        let ends: Vec<CallEnd> = m.calls().iter().map(|c| c.end).collect();
        use CallEnd::Exit;
        assert_eq!(ends, [Exit(0), Exit(1), Exit(0), Exit(1), Exit(0)]);
    }

    #[test]
    fn after_fault_applies_then_fails() {
        let m = MemoryCf::new().app("a", true, &[]).fail("stop:1:after");
        let (code, out, err) = cf(&m, &["stop", "a"]);
        assert_eq!(code, 1);
        assert!(
            out.contains("Stopping app a") && out.ends_with("OK\nFAILED\n"),
            "{out}"
        );
        assert!(
            err.contains("injected failure of call 1 of 'stop'"),
            "{err}"
        );
        assert_eq!(m.started("a"), Some(false));
        // Through the client it is an error, as for a real failure.
        let m = m.fail("curl:1:after");
        with_client(&m, |c| {
            assert!(c
                .annotate("guid-a", &[("k".into(), Some("v".into()))])
                .is_err());
        });
        assert_eq!(m.annotation("a", "k").as_deref(), Some("v"));
    }

    #[test]
    fn hang_fault_times_out_without_effect() {
        let m = MemoryCf::new()
            .app("a", true, &["r.d.com"])
            .fail("unmap-route:1:hang");
        match try_cf(&m, &["unmap-route", "a", "d.com", "--hostname", "r"]) {
            Err(CfError::TimedOut {
                command,
                after,
                output,
            }) => {
                assert_eq!(command, "cf unmap-route a d.com --hostname r");
                assert_eq!(after, T);
                assert_eq!(output, "");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m.routes("a"), ["r.d.com"]);
        let call = m.calls().pop().unwrap();
        assert_eq!(call.end, CallEnd::TimedOut);
        assert!(call.served("r.d.com"));
        // The next call of the command goes through.
        assert_eq!(
            cf(&m, &["unmap-route", "a", "d.com", "--hostname", "r"]).0,
            0
        );
        assert!(m.routes("a").is_empty());
    }

    #[test]
    fn reads_fail_from_the_nth_on_and_a_new_run_restarts_the_counts() {
        let m = MemoryCf::new().app("a", true, &[]).fail_reads_from(2);
        with_client(&m, |c| {
            assert!(c.app("a").unwrap().is_some());
            assert!(c.guid("a").is_err());
            assert!(c.app("a").is_err());
            assert!(c.app("a").is_err());
            // Other commands are not reads.
            assert!(c.app_meta("guid-a").is_ok());
        });
        m.next_run("app:2:hang");
        with_client(&m, |c| {
            assert!(c.app("a").unwrap().is_some());
            assert!(matches!(c.app("a"), Err(CfError::TimedOut { .. })));
            assert!(c.app("a").unwrap().is_some());
        });
        // The log and its numbering go on across runs.
        let seqs: Vec<u64> = m.calls().iter().map(|c| c.seq).collect();
        assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    }

    #[test]
    #[should_panic(expected = "unknown mode")]
    fn a_mistyped_fault_is_refused() {
        let _ = MemoryCf::new().fail("stop:1:aftr");
    }

    #[test]
    fn an_abort_before_the_call_stops_it_before_it_changes_anything() {
        let m = MemoryCf::new();
        let args: Vec<String> = ["push", "a", "--no-route"].map(String::from).to_vec();
        let r = m.run(&args, T, &|| true, &|_| {});
        assert!(matches!(r, Err(CfError::Aborted { .. })), "{r:?}");
        assert_eq!(m.started("a"), None);
        assert_eq!(m.calls()[0].end, CallEnd::Aborted);
    }

    #[test]
    fn push_on_an_existing_app_drops_its_routes_and_starts_it() {
        let m = MemoryCf::new()
            .app("a", false, &["live.d.com", "a.d.com/x"])
            .annotate("a", "k", "v");
        let (code, out, _) = cf(
            &m,
            &[
                "push",
                "a",
                "--no-route",
                "-f",
                "no-such-manifest.yml",
                "--var",
                "k=v",
                "-i",
                "2",
            ],
        );
        assert_eq!(code, 0);
        assert!(out.contains("requested state:   started"), "{out}");
        assert_eq!(m.started("a"), Some(true));
        assert!(m.routes("a").is_empty());
        assert_eq!(m.guid("a").as_deref(), Some("guid-a"));
        assert_eq!(m.annotation("a", "k").as_deref(), Some("v"));
        // The routes still exist, now held by nobody.
        let table = &m.calls()[0].routes;
        assert_eq!(table["live.d.com"], []);

        // Without --no-route an app without routes gets the default one; one with routes
        // keeps them.
        assert_eq!(cf(&m, &["push", "a"]).0, 0);
        assert_eq!(m.routes("a"), ["a.apps.example.com"]);
        assert_eq!(cf(&m, &["map-route", "a", "d.com", "-n", "live"]).0, 0);
        assert_eq!(cf(&m, &["push", "a", "--no-start"]).0, 0);
        assert_eq!(m.routes("a"), ["a.apps.example.com", "live.d.com"]);
        assert_eq!(m.started("a"), Some(false));

        // A new app is created with the GUID the tests expect.
        assert_eq!(cf(&m, &["push", "b", "--no-route"]).0, 0);
        assert_eq!(m.guid("b").as_deref(), Some("guid-b"));
        assert_eq!(m.started("b"), Some(true));
        assert_eq!(m.apps(), ["a", "b"]);

        // The variant the v7 upgrade guide describes.
        let m = MemoryCf::new()
            .app("a", true, &["live.d.com"])
            .no_route_keeps_routes();
        assert_eq!(cf(&m, &["push", "a", "--no-route"]).0, 0);
        assert_eq!(m.routes("a"), ["live.d.com"]);
    }

    #[test]
    fn push_rejects_the_route_flags_v7_removed() {
        let m = MemoryCf::new();
        for flag in ["-n", "--hostname", "-d", "--route-path"] {
            let (code, _, err) = cf(&m, &["push", "x", flag, "y"]);
            assert_eq!(code, 1);
            let name = flag.trim_start_matches('-');
            assert!(
                err.contains(&format!("Incorrect Usage: unknown flag `{name}'")),
                "{err}"
            );
        }
        assert_eq!(m.started("x"), None);
    }

    #[test]
    fn a_crashing_app_fails_to_start() {
        let m = MemoryCf::new()
            .app("a", false, &[])
            .crashed("a")
            .logs("a", "boom\n");
        let (code, _, err) = cf(&m, &["start", "a"]);
        assert_eq!(code, 1);
        assert!(err.contains("All instances crashed"), "{err}");
        assert_eq!(cf(&m, &["push", "a", "--no-route"]).0, 1);
        assert_eq!(m.started("a"), Some(true));
        with_client(&m, |c| {
            assert_eq!(c.recent_logs("a", 5).as_deref(), Some("boom"));
        });
    }

    #[test]
    fn log_lines_reach_the_caller_in_order() {
        let m = MemoryCf::new();
        let lines = Mutex::new(Vec::new());
        let args: Vec<String> = ["app", "nope"].map(String::from).to_vec();
        let out = m
            .run(&args, T, &|| false, &|l| {
                lines.lock().unwrap().push(l.to_string())
            })
            .unwrap();
        let lines = lines.into_inner().unwrap();
        assert_eq!(
            lines,
            [
                "Showing health and status for app nope in org o / space s as tester...",
                "",
                "App 'nope' not found.",
                "FAILED"
            ]
        );
        assert_eq!(out.combined, lines.join("\n") + "\n");
        assert_eq!(m.calls()[0].output, out.combined);
    }

    #[test]
    fn the_log_shows_every_route_and_the_mutations() {
        let m = MemoryCf::new()
            .app("blue", true, &["live.d.com"])
            .app("green", false, &[]);
        for args in [
            &["app", "blue"][..],
            &["push", "green", "--no-route"],
            &["map-route", "green", "d.com", "--hostname", "live"],
            &["unmap-route", "blue", "d.com", "--hostname", "live"],
            &["stop", "blue"],
        ] {
            assert_eq!(cf(&m, args).0, 0, "{args:?}");
        }
        assert_eq!(
            m.mutations(),
            [
                "cf push green --no-route",
                "cf map-route green d.com --hostname live",
                "cf unmap-route blue d.com --hostname live",
                "cf stop blue",
            ]
        );
        let calls = m.calls();
        assert_eq!(
            calls[2].routes["live.d.com"],
            [("blue".to_string(), true), ("green".to_string(), true)]
        );
        assert_eq!(calls[4].routes["live.d.com"], [("green".to_string(), true)]);
        m.assert_always_served("live.d.com");
        // A route that was never served is not checked.
        m.assert_always_served("other.d.com");
    }

    #[test]
    #[should_panic(expected = "live.d.com lost its last started app after call 2 `cf stop blue`")]
    fn always_served_catches_a_gap() {
        let m =
            MemoryCf::new()
                .app("blue", true, &["live.d.com"])
                .app("green", false, &["live.d.com"]);
        cf(&m, &["app", "blue"]);
        cf(&m, &["stop", "blue"]);
        cf(&m, &["start", "green"]);
        m.assert_always_served("live.d.com");
    }

    #[test]
    fn usable_from_several_threads() {
        let m = MemoryCf::new().app("a", true, &[]);
        std::thread::scope(|s| {
            for i in 0..8 {
                let m = &m;
                s.spawn(move || {
                    let host = format!("h{i}");
                    assert_eq!(cf(m, &["map-route", "a", "d.com", "-n", &host]).0, 0);
                });
            }
        });
        assert_eq!(m.routes("a").len(), 8);
        assert_eq!(m.calls().len(), 8);
    }
}
