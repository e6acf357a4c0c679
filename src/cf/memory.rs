//! An in-memory [`Cf`] with the semantics of `fixtures/fake-cf`: the same v8 output, exit
//! codes, idempotency, fault injection and call log, without a process per call. The bash
//! fake costs ~10 ms a call; executor and recovery tests that make hundreds of calls should
//! run in milliseconds, and their faults should not depend on timing.
//!
//! Like the fake it knows HTTP, internal and TCP routes, instances that come up one read
//! at a time after `cf scale` (and a `stuck` app whose new ones never do), memory and
//! disk limits, network policies, the v3 routes, process and stats endpoints and the
//! policy server behind `cf curl`, and the v6/v7 differences `version` selects. A test in
//! this file runs the same commands through both and compares what they print.
//!
//! Where it deliberately differs from the fake, the item says so.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{Cf, CfCommand, CfError, CfOutput};

/// The fake's defaults, so that a test moving between the two sees the same routes.
const DEFAULT_DOMAIN: &str = "apps.example.com";
const DEFAULT_TCP_DOMAIN: &str = "tcp.example.com";
const DEFAULT_INTERNAL_DOMAIN: &str = "apps.internal";
const DEFAULT_VERSION: &str = "cf version 8.7.10+5b7ce3c.2024-04-04";
const NOT_LOGGED_IN: &str = "Not logged in. Use 'cf login' or 'cf login --sso' to log in.";
/// What the policy server answers to a body it cannot read.
const BAD_POLICIES: &str = r#"{"error":"policies-create: invalid request body"}"#;

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
    /// Every route that exists after the call (HTTP, internal and TCP) -> the apps
    /// holding it, with whether each is started. Routes nobody holds are kept: CF keeps
    /// them too.
    pub routes: BTreeMap<String, Vec<(String, bool)>>,
}

impl MemoryCall {
    /// Unquoted, like the lines of `Run::mutations` in tests/support.rs, so that
    /// expectations can move between the two.
    pub fn line(&self) -> String {
        format!("cf {}", self.argv.join(" "))
    }

    /// Changes apps, their routes, scale or network policies (`cf curl` writes are not
    /// counted, as in tests/support.rs).
    pub fn changes_apps(&self) -> bool {
        matches!(
            self.argv.first().map(String::as_str),
            Some(
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
        )
    }

    pub fn served(&self, route: &str) -> bool {
        self.routes
            .get(route)
            .is_some_and(|holders| holders.iter().any(|(_, started)| *started))
    }
}

/// A network policy, as the policy server keeps it: app GUIDs, protocol, port range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub source: String,
    pub destination: String,
    pub protocol: String,
    pub start: u16,
    pub end: u16,
}

impl Policy {
    fn json(&self) -> String {
        format!(
            r#"{{"source":{{"id":"{}"}},"destination":{{"id":"{}","protocol":"{}","ports":{{"start":{},"end":{}}}}}}}"#,
            self.source, self.destination, self.protocol, self.start, self.end
        )
    }
}

/// An app's web process: how many instances it wants and how many run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub desired: u32,
    /// Up now: none for a stopped or crashed app.
    pub running: u32,
    /// Still coming up (`cf app` shows them as `starting`).
    pub starting: u32,
    pub memory_mb: u32,
    pub disk_mb: u32,
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
    /// Desired instances of the web process.
    instances: u32,
    /// How many of them are still starting; at most `instances`.
    starting: u32,
    /// Instances `cf scale` adds never come up.
    stuck: bool,
    memory_mb: u32,
    disk_mb: u32,
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
            instances: 1,
            starting: 0,
            stuck: false,
            memory_mb: 256,
            disk_mb: 1024,
        }
    }

    fn running(&self) -> u32 {
        if self.started && !self.crashed {
            self.instances - self.starting.min(self.instances)
        } else {
            0
        }
    }

    /// After a read: one starting instance comes up, unless the app is stuck, stopped or
    /// crashed. What the caller saw was read before, so it must poll.
    fn advance(&mut self) {
        if self.starting > 0 && self.started && !self.stuck && !self.crashed {
            self.starting -= 1;
        }
    }

    fn scale(&self) -> Scale {
        Scale {
            desired: self.instances,
            running: self.running(),
            starting: self.starting.min(self.instances),
            memory_mb: self.memory_mb,
            disk_mb: self.disk_mb,
        }
    }

    /// `cf scale -i N`: new instances start as `starting`; scaling down drops the
    /// highest indexes, the starting ones first.
    fn set_instances(&mut self, n: u32) {
        let starting = self.starting.min(self.instances);
        if self.started {
            self.starting = if n >= self.instances {
                starting + n - self.instances
            } else {
                n - (self.instances - starting).min(n)
            };
        } else {
            self.starting = 0;
        }
        self.instances = n;
    }
}

/// A service instance: only user-provided ones, which is what the tool creates.
#[derive(Debug, Clone)]
struct Service {
    guid: String,
    tags: Vec<String>,
    annotations: BTreeMap<String, String>,
}

/// Percent-decoding of a query value, as the Cloud Controller reads it.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The values of a list filter in a query (`names=a,b`), decoded; `None` without it.
fn query_list(query: &str, key: &str) -> Option<Vec<String>> {
    query.split('&').find_map(|p| {
        let v = p.strip_prefix(key)?.strip_prefix('=')?;
        Some(decode(v).split(',').map(str::to_string).collect())
    })
}

/// The first page of a list with everything on it, as the fake answers: no `next`.
fn page(path: &str, query: &str, resources: &[String], included: Option<String>) -> String {
    let href = format!("https://api.example.com{path}?{query}");
    let included = included.map_or(String::new(), |i| format!(r#","included":{i}"#));
    format!(
        r#"{{"pagination":{{"total_results":{},"total_pages":1,"first":{{"href":"{href}"}},"last":{{"href":"{href}"}},"next":null,"previous":null}},"resources":[{}]{included}}}"#,
        resources.len(),
        resources.join(",")
    )
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
    /// `None`: every HTTP domain is accepted (the fake without a `domains` file).
    domains: Option<Vec<String>>,
    tcp_domains: Vec<String>,
    internal_domains: Vec<String>,
    /// In the order they were added.
    policies: Vec<Policy>,
    /// The space's service instances (user-provided ones: the deploy lock), by name.
    services: BTreeMap<String, Service>,
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
    /// A v6 "legacy" command: FAILED and the error go to stdout.
    legacy: bool,
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

    /// v7/v8: the message on stderr, FAILED on stdout; v6 legacy commands: FAILED, then
    /// the message, both on stdout.
    fn fail(&mut self, message: &str) -> Failed {
        if self.legacy {
            self.out("FAILED");
            self.out(message);
        } else {
            self.err(message);
            self.out("FAILED");
        }
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
    /// As given: it is part of the URL.
    port: Option<String>,
    /// v6 `map-route --random-port`.
    random_port: bool,
    /// The route as cf shows it before any random port is chosen.
    url: String,
}

fn is_uint(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The number of a string [`is_uint`] accepted, as bash's `$((10#N))` reads it.
fn num(s: &str) -> u32 {
    s.parse().unwrap_or(u32::MAX)
}

/// `512M`, `1G`, `1024MB`, `2g` -> MB.
fn parse_mb(s: &str) -> Option<u32> {
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (n, unit) = s.split_at(digits);
    if n.is_empty() {
        return None;
    }
    let n: u32 = n.parse().ok()?;
    match unit {
        "M" | "m" | "MB" | "mb" => Some(n),
        "G" | "g" | "GB" | "gb" => n.checked_mul(1024),
        _ => None,
    }
}

/// 256 -> `256M`, 1024 -> `1G`.
fn fmt_mb(mb: u32) -> String {
    if mb.is_multiple_of(1024) {
        format!("{}G", mb / 1024)
    } else {
        format!("{mb}M")
    }
}

/// A GUID from a string (a 32-bit djb2 hash); `kind` (4 hex digits) tells route GUIDs
/// from domain GUIDs. The fake's `hash_guid`.
fn hash_guid(kind: &str, s: &str) -> String {
    let mut h: u32 = 5381;
    for b in s.bytes() {
        h = h.wrapping_mul(33).wrapping_add(u32::from(b));
    }
    format!("{h:08x}-0000-4000-{kind}-{:012x}", s.len())
}

/// Columns padded to the widest cell plus 3, the last one not, as cf's tables are. The
/// fake's `print_table`.
fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (c, cell) in r.iter().enumerate() {
                if c + 1 < columns {
                    line.push_str(&format!("{cell:<w$}", w = widths[c] + 3));
                } else {
                    line.push_str(cell);
                }
            }
            line
        })
        .collect()
}

fn route_args(
    command: &str,
    args: &[String],
    major: u32,
    out: &mut Out,
) -> Result<RouteArgs, Failed> {
    let (mut app, mut domain, mut host, mut path) =
        (String::new(), String::new(), String::new(), String::new());
    let (mut port, mut random_port) = (None, false);
    let mut positional = 0;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-n" | "--hostname" => host = it.next().cloned().unwrap_or_default(),
            "--path" => path = it.next().cloned().unwrap_or_default(),
            "--port" => {
                let p = it.next().cloned().unwrap_or_default();
                if !is_uint(&p) {
                    return Err(out.usage(
                        "Incorrect Usage: invalid argument for flag `--port' (expected int > 0)",
                    ));
                }
                port = Some(p);
            }
            // v6 only; v7 made a missing --port mean a random one.
            "--random-port" if major == 6 && command == "map-route" => random_port = true,
            "--app-protocol" | "--destination-protocol" => {
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
    let mut url = if host.is_empty() {
        format!("{domain}{path}")
    } else {
        format!("{host}.{domain}{path}")
    };
    if let Some(p) = &port {
        url = format!("{url}:{p}");
    }
    Ok(RouteArgs {
        app,
        domain,
        host,
        path,
        port,
        random_port,
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

/// A route URL taken apart as the v3 API shows it.
struct RouteParts {
    protocol: &'static str,
    host: String,
    domain: String,
    path: String,
    /// As in the URL.
    port: Option<String>,
}

/// The policies of a POST body, all or none: `None` for a body the policy server would
/// refuse. The fake reads the same fields with regular expressions, so it also takes
/// some text that is not JSON.
fn parse_policies(data: &str) -> Option<Vec<Policy>> {
    let body: serde_json::Value = serde_json::from_str(data).ok()?;
    let list = body.get("policies")?.as_array()?;
    list.iter()
        .map(|p| {
            let id = |v: &serde_json::Value| {
                v.get("id")?
                    .as_str()
                    .filter(|s| !s.is_empty() && !s.contains('"'))
                    .map(str::to_string)
            };
            let source = id(p.get("source")?)?;
            let dst = p.get("destination")?;
            let destination = id(dst)?;
            let protocol = dst.get("protocol")?.as_str()?;
            if protocol != "tcp" && protocol != "udp" {
                return None;
            }
            let ports = dst.get("ports")?;
            let start = u16::try_from(ports.get("start")?.as_u64()?).ok()?;
            let end = u16::try_from(ports.get("end")?.as_u64()?).ok()?;
            if start < 1 || start > end {
                return None;
            }
            Some(Policy {
                source,
                destination,
                protocol: protocol.to_string(),
                start,
                end,
            })
        })
        .collect()
}

impl State {
    fn as_user(&self) -> String {
        format!(
            "in org {} / space {} as {}",
            self.org, self.space, self.user
        )
    }

    /// The major version `cf version` claims (8 when it cannot be read, as in the fake).
    fn major(&self) -> u32 {
        super::parse::parse_version(&self.version).map_or(8, |v| v.major)
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

    fn is_tcp_domain(&self, domain: &str) -> bool {
        self.tcp_domains.iter().any(|d| d == domain)
    }

    fn is_internal_domain(&self, domain: &str) -> bool {
        self.internal_domains.iter().any(|d| d == domain)
    }

    fn is_known_domain(&self, domain: &str) -> bool {
        self.is_tcp_domain(domain)
            || self.is_internal_domain(domain)
            || domain == DEFAULT_DOMAIN
            || self
                .domains
                .as_ref()
                .is_some_and(|d| d.iter().any(|d| d == domain))
    }

    /// The fake's `route_parts`: the URL without path is the domain when it is a known
    /// one, else the host is its first label (CF hosts are single labels).
    fn route_parts(&self, url: &str) -> RouteParts {
        let (hp, path) = match url.find('/') {
            Some(i) => (&url[..i], url[i..].to_string()),
            None => (url, String::new()),
        };
        if let Some((domain, port)) = hp.rsplit_once(':') {
            if self.is_tcp_domain(domain) {
                return RouteParts {
                    protocol: "tcp",
                    host: String::new(),
                    domain: domain.to_string(),
                    path,
                    port: Some(port.to_string()),
                };
            }
        }
        let (host, domain) = match hp.split_once('.') {
            Some((host, domain)) if !self.is_known_domain(hp) => {
                (host.to_string(), domain.to_string())
            }
            _ => (String::new(), hp.to_string()),
        };
        RouteParts {
            protocol: "http",
            host,
            domain,
            path,
            port: None,
        }
    }

    /// The first free port on a TCP domain from 1024 + this call's sequence number:
    /// "random", but the same in every run, and in the fake.
    fn random_port(&self, domain: &str) -> u64 {
        let mut port = 1024 + self.seq;
        while self.routes.contains(&format!("{domain}:{port}")) {
            port += 1;
        }
        port
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
            "scale" => self.scale(args, out),
            "add-network-policy" => self.add_network_policy(args, out),
            "network-policies" => self.network_policies(args, out),
            "space" => self.space(args, out),
            "services" => self.services(args, out),
            "delete-service" => self.delete_service(args, out),
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

    /// A read: after printing, one starting instance comes up.
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
        self.need_app(&name, out)?.advance();
        Ok(())
    }

    fn print_app(&self, name: &str, out: &mut Out) {
        let app = &self.apps[name];
        let state = if app.started { "started" } else { "stopped" };
        let (memory, disk) = (fmt_mb(app.memory_mb), fmt_mb(app.disk_mb));
        let running = app.running();
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
        out.out(&format!("instances:      {running}/{}", app.instances));
        out.out(&format!("memory usage:   {memory}"));
        if app.started && app.instances > 0 {
            let header = [
                "",
                "state",
                "since",
                "cpu",
                "memory",
                "disk",
                "logging",
                "cpu entitlement",
                "details",
            ];
            let mut rows = vec![header.map(String::from).to_vec()];
            for i in 0..app.instances {
                let state = if app.crashed {
                    "crashed"
                } else if i < running {
                    "running"
                } else {
                    "starting"
                };
                rows.push(vec![
                    format!("#{i}"),
                    state.into(),
                    "2026-11-26T07:45:59Z".into(),
                    "0.0%".into(),
                    format!("9.4M of {memory}"),
                    format!("6.5M of {disk}"),
                    "0/s of 16K/s".into(),
                    "0.0%".into(),
                    String::new(),
                ]);
            }
            for line in table(&rows) {
                out.out(&line);
            }
        } else {
            out.out("There are no running instances of this process.");
        }
    }

    /// The fake's flag table: the flags v7+ knows take their value, and the push route
    /// flags v7 removed are rejected, as the tool must never send them. `-i`, `-m` and
    /// `-k` set the app's scale; the other flags' meaning is ignored: `-f` does not read
    /// the manifest (so no manifest routes or instances, and no check that it or `-p`
    /// exists), unlike the fake.
    fn push(&mut self, args: &[String], out: &mut Out) -> Done {
        let mut name = String::new();
        let (mut no_route, mut no_start) = (false, false);
        let (mut instances, mut memory, mut disk) = (None, None, None);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--no-route" => no_route = true,
                "--no-start" => no_start = true,
                "--no-manifest" | "--no-wait" | "--random-route" => {}
                "-i" | "--instances" => {
                    let v = it.next().cloned().unwrap_or_default();
                    if !is_uint(&v) {
                        return Err(out.usage(
                            "Incorrect Usage: invalid argument for flag `-i' (expected int > 0)",
                        ));
                    }
                    instances = Some(num(&v));
                }
                "-m" | "--memory" => {
                    let v = it.next().cloned().unwrap_or_default();
                    memory = Some(parse_mb(&v).ok_or_else(|| {
                        out.usage(
                            "Incorrect Usage: invalid argument for flag `-m' (expected int > 0)",
                        )
                    })?);
                }
                "-k" | "--disk" => {
                    let v = it.next().cloned().unwrap_or_default();
                    disk = Some(parse_mb(&v).ok_or_else(|| {
                        out.usage(
                            "Incorrect Usage: invalid argument for flag `-k' (expected int > 0)",
                        )
                    })?);
                }
                "-f"
                | "--manifest"
                | "-p"
                | "--path"
                | "--var"
                | "--vars-file"
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
        if let Some(n) = instances {
            app.instances = n;
        }
        if let Some(mb) = memory {
            app.memory_mb = mb;
        }
        if let Some(mb) = disk {
            app.disk_mb = mb;
        }
        let mut new_route = None;
        if no_route {
            // v8: --no-route removes the routes the app already had, of every kind.
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
        // A push (re)starts every instance.
        app.starting = 0;
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
        let major = self.major();
        let r = route_args("map-route", args, major, out)?;
        self.need_session(out)?;
        let tcp = self.is_tcp_domain(&r.domain);
        let internal = self.is_internal_domain(&r.domain);
        if !tcp && !internal {
            if let Some(domains) = &self.domains {
                if !domains.contains(&r.domain) {
                    return Err(out.fail(&format!("Domain '{}' not found.", r.domain)));
                }
            }
        }
        self.need_app(&r.app, out)?;
        let creating = |url: &str, s: &State| {
            format!(
                "Creating route {url} for org {} / space {} as {}...",
                s.org, s.space, s.user
            )
        };
        let v6 = |message: &str| {
            if major == 6 {
                format!("The route is invalid: {message}")
            } else {
                message.to_string()
            }
        };
        let mut url = r.url.clone();
        if tcp {
            if !r.host.is_empty() || !r.path.is_empty() {
                out.out(&creating(&url, self));
                if major == 6 {
                    return Err(out.fail(&v6(
                        "Host and path are not supported, as domain belongs to a TCP router group.",
                    )));
                }
                return Err(out.fail(if r.host.is_empty() {
                    "Paths are not supported for TCP routes."
                } else {
                    "Hosts are not supported for TCP routes."
                }));
            }
            if r.port.is_none() {
                out.out(&creating(&url, self));
                if major == 6 && !r.random_port {
                    return Err(out.fail(&v6(
                        "For TCP routes you must specify a port or request a random one.",
                    )));
                }
                // v7+ (and v6 --random-port): a new route on a free port.
                url = format!("{}:{}", r.domain, self.random_port(&r.domain));
                self.add_route(&url);
                out.out("OK");
            }
        } else if r.port.is_some() || r.random_port {
            out.out(&creating(&url, self));
            return Err(out.fail(&v6(
                "Port is supported for domains of TCP router groups only.",
            )));
        } else if internal && (!r.path.is_empty() || r.host.is_empty()) {
            out.out(&creating(&url, self));
            return Err(out.fail(if r.path.is_empty() {
                "Missing host. Routes in shared domains must have a host defined."
            } else {
                "Paths are not supported for internal domains."
            }));
        }
        if !self.routes.contains(&url) {
            out.out(&creating(&url, self));
            self.add_route(&url);
            out.out("OK");
        }
        let as_user = self.as_user();
        out.out(&format!(
            "Mapping route {url} to app {} {as_user}...",
            r.app
        ));
        let app = self.need_app(&r.app, out)?;
        if app.routes.contains(&url) {
            out.out(&format!(
                "App '{}' is already mapped to route '{url}'. Nothing has been updated.",
                r.app
            ));
        } else {
            app.routes.push(url);
        }
        out.out("OK");
        Ok(())
    }

    fn unmap_route(&mut self, args: &[String], out: &mut Out) -> Done {
        let r = route_args("unmap-route", args, self.major(), out)?;
        self.need_session(out)?;
        self.need_app(&r.app, out)?;
        if !self.routes.contains(&r.url) {
            let (host, domain, path) = (&r.host, &r.domain, &r.path);
            return Err(out.fail(&if let Some(port) = &r.port {
                format!("Route with domain '{domain}' and port {port} not found.")
            } else if path.is_empty() {
                format!("Route with host '{host}' and domain '{domain}' not found.")
            } else {
                format!("Route with host '{host}', domain '{domain}', and path '{path}' not found.")
            }));
        }
        let as_user = self.as_user();
        out.out(&format!(
            "Removing route {} from app {} {as_user}...",
            r.url, r.app
        ));
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
            app.starting = 0;
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
        app.starting = 0;
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

    /// `cf scale APP [-i N] [-m M] [-k K] [-f]`. -m/-k restart the app and ask first; stdin
    /// is never a terminal here, so the answer is no: exit 0, nothing scaled. New instances
    /// start as `starting`; v7+ wait until one instance runs (a stuck app with none
    /// running times out at once, where cf would wait `CF_STARTUP_TIMEOUT`), v6 returns
    /// at once.
    fn scale(&mut self, args: &[String], out: &mut Out) -> Done {
        let major = self.major();
        let mut name = String::new();
        let (mut instances, mut memory, mut disk) = (None, None, None);
        let mut force = false;
        let mut process = "web".to_string();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "-i" => {
                    let v = it.next().cloned().unwrap_or_default();
                    if !is_uint(&v) {
                        return Err(out.usage(
                            "Incorrect Usage: invalid argument for flag `-i' (expected int > 0)",
                        ));
                    }
                    instances = Some(num(&v));
                }
                "-m" => {
                    let v = it.next().cloned().unwrap_or_default();
                    memory = Some(parse_mb(&v).ok_or_else(|| {
                        out.usage(
                            "Incorrect Usage: invalid argument for flag `-m' (expected int > 0)",
                        )
                    })?);
                }
                "-k" => {
                    let v = it.next().cloned().unwrap_or_default();
                    disk = Some(parse_mb(&v).ok_or_else(|| {
                        out.usage(
                            "Incorrect Usage: invalid argument for flag `-k' (expected int > 0)",
                        )
                    })?);
                }
                "-f" => force = true,
                "--process" if major != 6 => process = it.next().cloned().unwrap_or_default(),
                f if f.starts_with('-') => return Err(out.unknown_flag("scale", f)),
                _ if !name.is_empty() => {
                    return Err(out.usage(&format!("Incorrect Usage: unexpected argument '{a}'")))
                }
                _ => name = a.clone(),
            }
        }
        if name.is_empty() {
            return Err(
                out.usage("Incorrect Usage: the required argument `APP_NAME` was not provided")
            );
        }
        self.need_session(out)?;
        self.need_app(&name, out)?;
        if process != "web" {
            return Err(out.fail(&format!("Process {process} not found")));
        }
        let as_user = self.as_user();
        let mut restart = memory.is_some() || disk.is_some();
        if instances.is_none() && !restart {
            out.out(&format!("Showing current scale of app {name} {as_user}..."));
            if major == 6 {
                let app = &self.apps[&name];
                out.out("OK");
                out.out("");
                out.out(&format!("memory: {}", fmt_mb(app.memory_mb)));
                out.out(&format!("disk: {}", fmt_mb(app.disk_mb)));
                out.out(&format!("instances: {}", app.instances));
            } else {
                out.out("");
                self.print_app(&name, out);
            }
            return Ok(());
        }
        let started = self.apps[&name].started;
        if major == 6 {
            restart &= started;
            if restart && !force {
                out.out(&format!(
                    "This will cause the app to restart. Are you sure you want to scale {name}?> "
                ));
                return Ok(());
            }
            out.out(&format!("Scaling app {name} {as_user}..."));
        } else {
            out.out(&format!("Scaling app {name} {as_user}..."));
            out.out("");
            if restart && !force {
                out.out(&format!(
                    "This will cause the app to restart. Are you sure you want to scale {name}? [yN]: "
                ));
                out.out("Scaling cancelled");
                return Ok(());
            }
        }
        let app = self.apps.get_mut(&name).expect("checked above");
        if let Some(mb) = memory {
            app.memory_mb = mb;
        }
        if let Some(mb) = disk {
            app.disk_mb = mb;
        }
        if let Some(n) = instances {
            app.set_instances(n);
        }
        if major == 6 {
            out.out("OK");
            if restart {
                app.starting = 0;
                out.out("");
                out.out(&format!("Stopping app {name} {as_user}..."));
                out.out("OK");
                out.out("");
                out.out(&format!("Starting app {name} {as_user}..."));
                out.out("OK");
            }
            return Ok(());
        }
        if restart {
            out.out(&format!("Stopping app {name} {as_user}..."));
            out.out("");
            out.out(&format!("Starting app {name} {as_user}..."));
            out.out("");
            app.starting = 0;
            app.started = true;
        }
        // Wait until at least one instance runs.
        if app.started && !app.crashed && app.running() == 0 && app.starting > 0 {
            if app.stuck {
                return Err(out.fail(&format!(
                    "Start app timeout\n\nTIP: Application must be listening on the right port. Instead of hard coding the port, use the $PORT environment variable.\n\nUse 'cf logs {name} --recent' for more information"
                )));
            }
            app.starting -= 1;
        }
        let failed = app.started && app.crashed && app.instances > 0;
        out.out("");
        out.out(&format!("Showing current scale of app {name} {as_user}..."));
        out.out("");
        self.print_app(&name, out);
        if failed {
            return Err(out.fail(&format!(
                "Start unsuccessful\n\nTIP: use 'cf logs {name} --recent' for more information"
            )));
        }
        Ok(())
    }

    fn add_policy(&mut self, policy: Policy) {
        if !self.policies.contains(&policy) {
            self.policies.push(policy);
        }
    }

    /// v7/v8: `add-network-policy SOURCE DEST [--port P[-Q]] [--protocol tcp|udp]`; v6:
    /// `add-network-policy SOURCE --destination-app DEST [...]`. Defaults 8080, tcp.
    fn add_network_policy(&mut self, args: &[String], out: &mut Out) -> Done {
        let major = self.major();
        let (mut src, mut dst, mut dflag) = (String::new(), String::new(), None);
        let (mut ports, mut protocol) = ("8080".to_string(), "tcp".to_string());
        let mut positional = 0;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--destination-app" if major == 6 => {
                    dflag = Some(it.next().cloned().unwrap_or_default())
                }
                "--port" => ports = it.next().cloned().unwrap_or_default(),
                "--protocol" => protocol = it.next().cloned().unwrap_or_default(),
                f if f.starts_with('-') => return Err(out.unknown_flag("add-network-policy", f)),
                _ => {
                    positional += 1;
                    if positional == 1 {
                        src = a.clone();
                    } else if positional == 2 && major != 6 {
                        dst = a.clone();
                    } else {
                        return Err(
                            out.usage(&format!("Incorrect Usage: unexpected argument '{a}'"))
                        );
                    }
                }
            }
        }
        if major == 6 {
            match dflag {
                Some(d) if !d.is_empty() => dst = d,
                _ => {
                    return Err(out.usage(
                        "Incorrect Usage: the required flag `--destination-app' was not specified",
                    ))
                }
            }
        }
        if src.is_empty() {
            return Err(
                out.usage("Incorrect Usage: the required argument `SOURCE_APP` was not provided")
            );
        }
        if dst.is_empty() {
            return Err(out.usage(
                "Incorrect Usage: the required argument `DESTINATION_APP` was not provided",
            ));
        }
        if protocol != "tcp" && protocol != "udp" {
            return Err(out.usage(&format!(
                "Incorrect Usage: Invalid value `{protocol}' for option `--protocol'. Allowed values are: tcp or udp"
            )));
        }
        let (start, end) = ports.split_once('-').unwrap_or((&ports, &ports));
        if !is_uint(start)
            || !is_uint(end)
            || num(start) < 1
            || num(end) > 65535
            || num(start) > num(end)
        {
            return Err(out.usage(
                "Incorrect Usage: invalid argument for flag `--port' (expected PORT or PORT-PORT)",
            ));
        }
        let port = |p: &str| u16::try_from(num(p)).expect("checked above");
        let (start, end) = (port(start), port(end));
        self.need_session(out)?;
        out.out(&format!(
            "Adding network policy from app {src} to app {dst} {}...",
            self.as_user()
        ));
        let source = self.need_app(&src, out)?.guid.clone();
        let destination = self.need_app(&dst, out)?.guid.clone();
        self.add_policy(Policy {
            source,
            destination,
            protocol,
            start,
            end,
        });
        out.out("OK");
        Ok(())
    }

    /// The policies whose source is an app of the space (with `--source`, that app) and
    /// whose destination is one too.
    fn network_policies(&mut self, args: &[String], out: &mut Out) -> Done {
        let mut source = String::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--source" => source = it.next().cloned().unwrap_or_default(),
                f if f.starts_with('-') => return Err(out.unknown_flag("network-policies", f)),
                _ => return Err(out.usage(&format!("Incorrect Usage: unexpected argument '{a}'"))),
            }
        }
        self.need_session(out)?;
        let as_user = self.as_user();
        if source.is_empty() {
            out.out(&format!("Listing network policies {as_user}..."));
        } else {
            out.out(&format!(
                "Listing network policies of app {source} {as_user}..."
            ));
            self.need_app(&source, out)?;
        }
        let name_of = |guid: &str| {
            self.apps
                .iter()
                .find(|(_, a)| a.guid == guid)
                .map(|(n, _)| n.clone())
        };
        let mut rows = vec![[
            "source",
            "destination",
            "protocol",
            "ports",
            "destination space",
            "destination org",
        ]
        .map(String::from)
        .to_vec()];
        for p in &self.policies {
            let (Some(src), Some(dst)) = (name_of(&p.source), name_of(&p.destination)) else {
                continue;
            };
            if !source.is_empty() && src != source {
                continue;
            }
            let ports = if p.start == p.end {
                p.start.to_string()
            } else {
                format!("{}-{}", p.start, p.end)
            };
            rows.push(vec![
                src,
                dst,
                p.protocol.clone(),
                ports,
                self.space.clone(),
                self.org.clone(),
            ]);
        }
        out.out("");
        for line in table(&rows) {
            out.out(&line);
        }
        Ok(())
    }

    /// The policy server: GET lists the policies naming any of the `id`s as source or
    /// destination (every policy without `?id=`); POST adds them (idempotent) and answers
    /// `{}`.
    fn api_policies(&mut self, method: &str, query: &str, data: &str, out: &mut Out) -> Done {
        match method {
            "GET" => {
                let mut ids: Option<Vec<String>> = None;
                for param in query.split('&') {
                    if let Some(v) = param.strip_prefix("id=") {
                        let v = v.replace("%2C", ",").replace("%2c", ",");
                        ids = Some(v.split(',').map(str::to_string).collect());
                    }
                }
                let listed: Vec<String> = self
                    .policies
                    .iter()
                    .filter(|p| {
                        ids.as_ref().is_none_or(|ids| {
                            ids.iter().any(|i| *i == p.source || *i == p.destination)
                        })
                    })
                    .map(Policy::json)
                    .collect();
                out.out(&format!(
                    r#"{{"total_policies":{},"policies":[{}]}}"#,
                    listed.len(),
                    listed.join(",")
                ));
            }
            "POST" => match parse_policies(data) {
                Some(policies) => {
                    for p in policies {
                        self.add_policy(p);
                    }
                    out.out("{}");
                }
                None => out.out(BAD_POLICIES),
            },
            _ => {
                return Err(out.fail(&format!(
                "memory cf: cf curl -X {method} /networking/v1/external/policies is not supported"
            )))
            }
        }
        Ok(())
    }

    /// The targeted space's GUID and its org's: hashes of their names, as in the fake.
    fn space_guid(&self) -> String {
        hash_guid("c000", &format!("{}/{}", self.org, self.space))
    }

    fn org_guid(&self) -> String {
        hash_guid("b000", &self.org)
    }

    /// `cf space NAME --guid`: the targeted org's space of that name (the only one this
    /// cf knows).
    fn space(&mut self, args: &[String], out: &mut Out) -> Done {
        let (mut name, mut guid) = (String::new(), false);
        for a in args {
            match a.as_str() {
                "--guid" => guid = true,
                f if f.starts_with('-') => return Err(out.unknown_flag("space", f)),
                _ => name = a.clone(),
            }
        }
        if name.is_empty() {
            return Err(
                out.usage("Incorrect Usage: the required argument `SPACE` was not provided")
            );
        }
        if !self.logged_in {
            return Err(out.fail(NOT_LOGGED_IN));
        }
        if !guid {
            return Err(out.fail("memory cf: only 'cf space NAME --guid' is supported"));
        }
        if name != self.space {
            return Err(out.fail(&format!("Space '{name}' not found.")));
        }
        out.out(&self.space_guid());
        Ok(())
    }

    /// `cf services`: the space's service instances (user-provided ones, here).
    fn services(&mut self, args: &[String], out: &mut Out) -> Done {
        if let Some(a) = args.first() {
            if a.starts_with('-') {
                return Err(out.unknown_flag("services", a));
            }
            return Err(out.usage(&format!("Incorrect Usage: unexpected argument '{a}'")));
        }
        self.need_session(out)?;
        out.out(&format!("Getting service instances {}...", self.as_user()));
        out.out("");
        if self.services.is_empty() {
            out.out("No service instances found.");
            return Ok(());
        }
        let mut rows = vec![[
            "name",
            "offering",
            "plan",
            "bound apps",
            "last operation",
            "broker",
            "upgrade available",
        ]
        .map(str::to_string)
        .to_vec()];
        for name in self.services.keys() {
            rows.push(vec![
                name.clone(),
                "user-provided".into(),
                String::new(),
                String::new(),
                "create succeeded".into(),
                String::new(),
                String::new(),
            ]);
        }
        for line in table(&rows) {
            out.out(&line);
        }
        Ok(())
    }

    /// `cf delete-service NAME -f`; one that does not exist is no error.
    fn delete_service(&mut self, args: &[String], out: &mut Out) -> Done {
        let (mut name, mut force) = (String::new(), false);
        for a in args {
            match a.as_str() {
                "-f" | "--force" => force = true,
                "-w" | "--wait" => {}
                f if f.starts_with('-') => return Err(out.unknown_flag("delete-service", f)),
                _ => name = a.clone(),
            }
        }
        if name.is_empty() {
            return Err(out.usage(
                "Incorrect Usage: the required argument `SERVICE_INSTANCE` was not provided",
            ));
        }
        self.need_session(out)?;
        if !force {
            out.out(&format!(
                "Really delete the service instance {name}? [yN]: "
            ));
            out.out("Delete cancelled");
            return Ok(());
        }
        out.out(&format!(
            "Deleting service instance {name} {}...",
            self.as_user()
        ));
        out.out("");
        if self.services.remove(&name).is_some() {
            out.out(&format!("Service instance {name} deleted."));
        } else {
            out.out(&format!("Service instance {name} did not exist."));
        }
        out.out("OK");
        Ok(())
    }

    /// An app as `GET /v3/apps` lists it.
    fn json_app(&self, name: &str, app: &App) -> String {
        let annotations: Vec<String> = app
            .annotations
            .iter()
            .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
            .collect();
        format!(
            r#"{{"guid":{},"name":{},"state":"{}","metadata":{{"labels":{{}},"annotations":{{{}}}}},"relationships":{{"space":{{"data":{{"guid":"{}"}}}}}}}}"#,
            json_str(&app.guid),
            json_str(name),
            if app.started { "STARTED" } else { "STOPPED" },
            annotations.join(","),
            self.space_guid()
        )
    }

    /// `GET /v3/apps`: the apps of the space, filtered by `names` and `space_guids`,
    /// with `include=space` or `space.organization`.
    fn api_apps(&self, query: &str) -> String {
        let names = query_list(query, "names");
        let spaces = query_list(query, "space_guids");
        let space_guid = self.space_guid();
        let in_space = spaces.as_ref().is_none_or(|s| s.contains(&space_guid));
        let resources: Vec<String> = self
            .apps
            .iter()
            // The Cloud Controller compares app names without regard to case.
            .filter(|(name, _)| {
                in_space
                    && names
                        .as_ref()
                        .is_none_or(|n| n.iter().any(|x| x.eq_ignore_ascii_case(name)))
            })
            .map(|(name, app)| self.json_app(name, app))
            .collect();
        let include = query_list(query, "include").unwrap_or_default();
        let space = format!(
            r#"{{"guid":"{space_guid}","name":{},"relationships":{{"organization":{{"data":{{"guid":"{}"}}}}}}}}"#,
            json_str(&self.space),
            self.org_guid()
        );
        let org = format!(
            r#"{{"guid":"{}","name":{}}}"#,
            self.org_guid(),
            json_str(&self.org)
        );
        let spaces_of = |r: &[String]| {
            if r.is_empty() {
                String::new()
            } else {
                space.clone()
            }
        };
        let included = if include.iter().any(|i| i == "space.organization") {
            let orgs = if resources.is_empty() {
                String::new()
            } else {
                org
            };
            Some(format!(
                r#"{{"spaces":[{}],"organizations":[{orgs}]}}"#,
                spaces_of(&resources)
            ))
        } else if include.iter().any(|i| i == "space") {
            Some(format!(r#"{{"spaces":[{}]}}"#, spaces_of(&resources)))
        } else {
            None
        };
        page("/v3/apps", query, &resources, included)
    }

    /// One route as the v3 API shows it, with every app it is mapped to.
    fn json_route(&self, url: &str) -> String {
        let parts = self.route_parts(url);
        let protocol = if parts.protocol == "tcp" {
            "null"
        } else {
            r#""http1""#
        };
        let destinations: Vec<String> = self
            .apps
            .values()
            .filter(|a| a.routes.iter().any(|r| r == url))
            .map(|a| {
                format!(
                    r#"{{"app":{{"guid":"{}","process":{{"type":"web"}}}},"port":8080,"protocol":{protocol}}}"#,
                    a.guid
                )
            })
            .collect();
        format!(
            r#"{{"guid":"{}","protocol":"{}","host":"{}","path":"{}","port":{},"url":"{url}","destinations":[{}],"relationships":{{"domain":{{"data":{{"guid":"{}"}}}}}}}}"#,
            hash_guid("a000", url),
            parts.protocol,
            parts.host,
            parts.path,
            parts.port.as_deref().unwrap_or("null"),
            destinations.join(","),
            hash_guid("d000", &parts.domain),
        )
    }

    /// `GET /v3/routes`: every route of the space, or with `app_guids` those mapped to
    /// any of the apps, in the order they were created.
    fn api_routes(&self, query: &str) -> String {
        let guids = query_list(query, "app_guids");
        let resources: Vec<String> = self
            .routes
            .iter()
            .filter(|url| {
                guids.as_ref().is_none_or(|g| {
                    self.apps
                        .values()
                        .any(|a| g.contains(&a.guid) && a.routes.contains(url))
                })
            })
            .map(|url| self.json_route(url))
            .collect();
        page("/v3/routes", query, &resources, None)
    }

    fn json_service(&self, name: &str, s: &Service) -> String {
        let annotations: Vec<String> = s
            .annotations
            .iter()
            .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
            .collect();
        let tags: Vec<String> = s.tags.iter().map(|t| json_str(t)).collect();
        format!(
            r#"{{"guid":"{g}","created_at":"2026-11-26T07:45:59Z","updated_at":"2026-11-26T07:45:59Z","name":{},"tags":[{}],"last_operation":{{"type":"create","state":"succeeded","description":"Operation succeeded","created_at":"2026-11-26T07:45:59Z","updated_at":"2026-11-26T07:45:59Z"}},"type":"user-provided","syslog_drain_url":null,"route_service_url":null,"metadata":{{"labels":{{}},"annotations":{{{}}}}},"relationships":{{"space":{{"data":{{"guid":"{}"}}}}}},"links":{{"self":{{"href":"https://api.example.com/v3/service_instances/{g}"}}}}}}"#,
            json_str(name),
            tags.join(","),
            annotations.join(","),
            self.space_guid(),
            g = s.guid
        )
    }

    /// `/v3/service_instances`: POST creates a user-provided instance (422 when the name
    /// is taken in the space), GET lists them (`names`, `space_guids`);
    /// `/v3/service_instances/GUID`: GET, PATCH of annotations (200 with the instance), and
    /// DELETE (204, no body).
    fn api_service_instances(
        &mut self,
        method: &str,
        guid: Option<&str>,
        query: &str,
        data: &str,
    ) -> String {
        const NOT_FOUND: (&str, &str, u32) =
            ("CF-ResourceNotFound", "Service instance not found", 10010);
        let space_guid = self.space_guid();
        match (method, guid) {
            ("GET", None) => {
                let names = query_list(query, "names");
                let spaces = query_list(query, "space_guids");
                let in_space = spaces.as_ref().is_none_or(|s| s.contains(&space_guid));
                let resources: Vec<String> = self
                    .services
                    .iter()
                    .filter(|(n, _)| in_space && names.as_ref().is_none_or(|x| x.contains(n)))
                    .map(|(n, s)| self.json_service(n, s))
                    .collect();
                page("/v3/service_instances", query, &resources, None)
            }
            ("POST", None) => {
                let Ok(body) = serde_json::from_str::<serde_json::Value>(data) else {
                    return api_error(
                        "CF-MessageParseError",
                        "Request invalid due to parse error: invalid request body",
                        1001,
                    );
                };
                let name = body["name"].as_str().unwrap_or_default().to_string();
                if body["type"] != "user-provided" || name.is_empty() {
                    return api_error(
                        "CF-UnprocessableEntity",
                        "Name must be a string, Type must be one of 'managed', 'user-provided'",
                        10008,
                    );
                }
                if body.pointer("/relationships/space/data/guid")
                    != Some(&space_guid.clone().into())
                {
                    return api_error(
                        "CF-UnprocessableEntity",
                        "Invalid space. Ensure that the space exists and you have access to it.",
                        10008,
                    );
                }
                if self.services.contains_key(&name) {
                    return api_error(
                        "CF-UnprocessableEntity",
                        &format!("The service instance name is taken: {name}."),
                        10008,
                    );
                }
                let strings = |v: &serde_json::Value| -> BTreeMap<String, String> {
                    v.as_object()
                        .map(|o| {
                            o.iter()
                                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let service = Service {
                    guid: hash_guid("5e00", &format!("{name}/{}", self.seq)),
                    tags: body["tags"]
                        .as_array()
                        .map(|t| {
                            t.iter()
                                .filter_map(|t| t.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    annotations: strings(&body["metadata"]["annotations"]),
                };
                let json = self.json_service(&name, &service);
                self.services.insert(name, service);
                json
            }
            (_, Some(guid)) => {
                let Some(name) = self
                    .services
                    .iter()
                    .find(|(_, s)| s.guid == guid)
                    .map(|(n, _)| n.clone())
                else {
                    return api_error(NOT_FOUND.0, NOT_FOUND.1, NOT_FOUND.2);
                };
                match method {
                    "GET" => self.json_service(&name, &self.services[&name]),
                    "DELETE" => {
                        self.services.remove(&name);
                        String::new()
                    }
                    // Annotations given are set (null removes one), the others stay.
                    "PATCH" => {
                        let Ok(body) = serde_json::from_str::<serde_json::Value>(data) else {
                            return api_error(
                                "CF-MessageParseError",
                                "Request invalid due to parse error: invalid request body",
                                1001,
                            );
                        };
                        let service = self.services.get_mut(&name).expect("found above");
                        if let Some(o) = body["metadata"]["annotations"].as_object() {
                            for (k, v) in o {
                                match v.as_str() {
                                    Some(v) => {
                                        service.annotations.insert(k.clone(), v.to_string());
                                    }
                                    None => {
                                        service.annotations.remove(k);
                                    }
                                }
                            }
                        }
                        self.json_service(&name, &self.services[&name])
                    }
                    _ => api_error("CF-NotFound", "Unknown request", 10000),
                }
            }
            _ => api_error("CF-NotFound", "Unknown request", 10000),
        }
    }

    /// `GET /v3/apps/GUID/routes`: the app's routes, each with every app it is mapped to.
    fn json_routes(&self, app: &App) -> String {
        let resources: Vec<String> = app
            .routes
            .iter()
            .map(|url| {
                let parts = self.route_parts(url);
                let protocol = if parts.protocol == "tcp" {
                    "null"
                } else {
                    r#""http1""#
                };
                let destinations: Vec<String> = self
                    .apps
                    .values()
                    .filter(|a| a.routes.contains(url))
                    .map(|a| {
                        format!(
                            r#"{{"app":{{"guid":"{}","process":{{"type":"web"}}}},"port":8080,"protocol":{protocol}}}"#,
                            a.guid
                        )
                    })
                    .collect();
                format!(
                    r#"{{"guid":"{}","protocol":"{}","host":"{}","path":"{}","port":{},"url":"{url}","destinations":[{}],"relationships":{{"domain":{{"data":{{"guid":"{}"}}}}}}}}"#,
                    hash_guid("a000", url),
                    parts.protocol,
                    parts.host,
                    parts.path,
                    parts.port.as_deref().unwrap_or("null"),
                    destinations.join(","),
                    hash_guid("d000", &parts.domain),
                )
            })
            .collect();
        let href = format!(
            "https://api.example.com/v3/apps/{}/routes?page=1&per_page=50",
            app.guid
        );
        format!(
            r#"{{"pagination":{{"total_results":{},"total_pages":1,"first":{{"href":"{href}"}},"last":{{"href":"{href}"}},"next":null,"previous":null}},"resources":[{}]}}"#,
            resources.len(),
            resources.join(",")
        )
    }

    /// `GET /v3/apps/GUID/processes/web`.
    fn json_process(app: &App) -> String {
        format!(
            r#"{{"guid":"{g}","type":"web","command":null,"instances":{},"memory_in_mb":{},"disk_in_mb":{},"log_rate_limit_in_bytes_per_second":16384,"health_check":{{"type":"port","data":{{"timeout":null,"invocation_timeout":null}}}},"relationships":{{"app":{{"data":{{"guid":"{g}"}}}}}},"metadata":{{"labels":{{}},"annotations":{{}}}}}}"#,
            app.instances,
            app.memory_mb,
            app.disk_mb,
            g = app.guid
        )
    }

    /// `GET /v3/apps/GUID/processes/web/stats`; a read that brings one starting instance
    /// up, after answering.
    fn json_stats(app: &App) -> String {
        let running = app.running();
        let resources: Vec<String> = (0..app.instances)
            .map(|i| {
                let state = if !app.started {
                    "DOWN"
                } else if app.crashed {
                    "CRASHED"
                } else if i < running {
                    "RUNNING"
                } else {
                    "STARTING"
                };
                format!(
                    r#"{{"type":"web","index":{i},"state":"{state}","host":"10.0.0.1","uptime":3600,"mem_quota":{},"disk_quota":{},"fds_quota":16384,"isolation_segment":null,"details":null}}"#,
                    u64::from(app.memory_mb) * 1_048_576,
                    u64::from(app.disk_mb) * 1_048_576
                )
            })
            .collect();
        format!(r#"{{"resources":[{}]}}"#, resources.join(","))
    }

    /// The v3 API the tool uses: `/v3/apps/GUID` (GET, PATCH of annotations), its routes,
    /// its web process and the process's stats; and the policy server. Like cf without
    /// `--fail`, an API error is printed as JSON with exit 0. The PATCH body is parsed as
    /// JSON, where the fake cuts it apart with sed: values with quotes, commas or braces
    /// (which the tool sanitizes away) work here and would not there; a body that is not
    /// JSON gets an API error.
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
        let (path, query) = path.split_once('?').unwrap_or((&path, ""));
        if path == "/networking/v1/external/policies" {
            return self.api_policies(&method, query, &data, out);
        }
        let body = match (path, method.as_str()) {
            ("/v3/apps", "GET") => Some(self.api_apps(query)),
            ("/v3/routes", "GET") => Some(self.api_routes(query)),
            ("/v3/service_instances", m) => Some(self.api_service_instances(m, None, query, &data)),
            (p, m) => p
                .strip_prefix("/v3/service_instances/")
                .filter(|g| !g.is_empty() && !g.contains('/'))
                .map(|g| {
                    let g = g.to_string();
                    self.api_service_instances(m, Some(&g), query, &data)
                }),
        };
        if let Some(body) = body {
            // DELETE answers 204 with no body: cf prints nothing.
            if !body.is_empty() {
                out.out(&body);
            }
            return Ok(());
        }
        let Some(rest) = path.strip_prefix("/v3/apps/").filter(|r| !r.is_empty()) else {
            out.out(&api_error("CF-NotFound", "Unknown request", 10000));
            return Ok(());
        };
        let (guid, sub) = rest.split_once('/').unwrap_or((rest, ""));
        if !matches!(sub, "" | "routes" | "processes/web" | "processes/web/stats") {
            out.out(&api_error("CF-NotFound", "Unknown request", 10000));
            return Ok(());
        }
        let Some(name) = self
            .apps
            .iter()
            .find(|(_, a)| a.guid == guid)
            .map(|(n, _)| n.clone())
        else {
            out.out(&api_error("CF-ResourceNotFound", "App not found", 10010));
            return Ok(());
        };
        if !sub.is_empty() {
            if method != "GET" {
                return Err(out.fail(&format!(
                    "memory cf: cf curl -X {method} {path} is not supported"
                )));
            }
            let app = &self.apps[&name];
            let body = match sub {
                "routes" => self.json_routes(app),
                "processes/web" => State::json_process(app),
                _ => State::json_stats(app),
            };
            out.out(&body);
            if sub == "processes/web/stats" {
                self.apps.get_mut(&name).expect("found above").advance();
            }
            return Ok(());
        }
        let app = self.apps.get_mut(&name).expect("found above");
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
            json_str(&name),
            if app.started { "STARTED" } else { "STOPPED" },
            annotations.join(",")
        );
        out.out(&resource);
        Ok(())
    }
}

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
                domains: None,
                tcp_domains: vec![DEFAULT_TCP_DOMAIN.to_string()],
                internal_domains: vec![DEFAULT_INTERNAL_DOMAIN.to_string()],
                policies: Vec::new(),
                services: BTreeMap::new(),
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

    /// An app with GUID `guid-NAME`, as tests/support.rs writes them; any name, not only
    /// the pair's (a `frontend` that network policies name, say). `routes` are URLs as
    /// `cf app` prints them: `host.domain[/path]`, `host.apps.internal`, `domain:port`.
    /// One instance, running if `started`. Called again for the same name, it replaces the
    /// state and routes and keeps the rest.
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

    /// The app's web process wants `n` instances, all running (until a `cf scale`).
    #[track_caller]
    pub fn instances(mut self, app: &str, n: u32) -> MemoryCf {
        let app = self.setup_app(app);
        app.instances = n;
        app.starting = 0;
        self
    }

    /// Instances `cf scale` adds to the app never come up: they stay `starting`, and a v7+
    /// `cf scale` that finds none running times out. The fake's `apps/NAME/stuck`.
    #[track_caller]
    pub fn stuck(mut self, app: &str) -> MemoryCf {
        self.setup_app(app).stuck = true;
        self
    }

    /// A network policy from `src` to `dst` (app names: their GUIDs, or `guid-NAME` for an
    /// app not added, as for one in another space), one port.
    pub fn policy(mut self, src: &str, dst: &str, protocol: &str, port: u16) -> MemoryCf {
        let state = self.setup();
        let guid = |name: &str| {
            state
                .apps
                .get(name)
                .map_or_else(|| format!("guid-{name}"), |a| a.guid.clone())
        };
        let policy = Policy {
            source: guid(src),
            destination: guid(dst),
            protocol: protocol.to_string(),
            start: port,
            end: port,
        };
        state.add_policy(policy);
        self
    }

    /// A user-provided service instance in the space, with one annotation: a deploy
    /// lock someone holds (`cf-bluegreen/lock` = `value`), say.
    pub fn service(mut self, name: &str, key: &str, value: &str) -> MemoryCf {
        let state = self.setup();
        let guid = hash_guid("5e00", &format!("{name}/{}", state.seq));
        state.services.insert(
            name.to_string(),
            Service {
                guid,
                tags: Vec::new(),
                annotations: BTreeMap::from([(key.to_string(), value.to_string())]),
            },
        );
        self
    }

    /// The only HTTP domains `map-route` accepts (TCP and internal domains aside); the
    /// fake's `domains` file. Without it, any.
    pub fn domains(mut self, domains: &[&str]) -> MemoryCf {
        self.setup().domains = Some(domains.iter().map(|d| d.to_string()).collect());
        self
    }

    /// The TCP domains (default `tcp.example.com`); the fake's `tcp-domains` file.
    pub fn tcp_domains(mut self, domains: &[&str]) -> MemoryCf {
        self.setup().tcp_domains = domains.iter().map(|d| d.to_string()).collect();
        self
    }

    /// The internal domains (default `apps.internal`); the fake's `internal-domains` file.
    pub fn internal_domains(mut self, domains: &[&str]) -> MemoryCf {
        self.setup().internal_domains = domains.iter().map(|d| d.to_string()).collect();
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

    /// What `cf version` prints: to test how the tool treats other cf releases. Its major
    /// version also selects v6/v7 behaviour where it differs, as `FAKE_CF_VERSION` does
    /// for the fake.
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

    /// The names of the space's service instances.
    pub fn services(&self) -> Vec<String> {
        self.lock().services.keys().cloned().collect()
    }

    pub fn service_annotation(&self, name: &str, key: &str) -> Option<String> {
        self.lock()
            .services
            .get(name)?
            .annotations
            .get(key)
            .cloned()
    }

    pub fn guid(&self, app: &str) -> Option<String> {
        self.lock().apps.get(app).map(|a| a.guid.clone())
    }

    /// The app's web process; `None`: no such app.
    pub fn scale(&self, app: &str) -> Option<Scale> {
        self.lock().apps.get(app).map(App::scale)
    }

    /// Every network policy, in the order they were added.
    pub fn policies(&self) -> Vec<Policy> {
        self.lock().policies.clone()
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
            out.legacy = state.major() == 6
                && matches!(
                    command,
                    "map-route" | "unmap-route" | "stop" | "delete" | "rename" | "routes" | "curl"
                );
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
            // Whatever the version, as in the fake.
            let injected = |out: &mut Out| {
                out.err(&format!(
                    "Server error, status code: 502, error code: 10001, message: injected failure of call {count} of '{command}'"
                ));
                out.out("FAILED");
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

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn curl(m: &MemoryCf, path: &str) -> serde_json::Value {
        let (code, out, err) = cf(m, &["curl", path]);
        assert_eq!(code, 0, "{err}");
        json(&out)
    }

    fn rows(out: &str) -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
            .collect()
    }

    const V6: &str = "cf version 6.53.0+8e2b70a4a.2020-10-01";

    #[test]
    fn tcp_routes_are_domain_port_and_take_no_host_or_path() {
        let m = MemoryCf::new().app("a", true, &[]);
        let (code, out, _) = cf(&m, &["map-route", "a", "tcp.example.com", "--port", "5000"]);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            "Creating route tcp.example.com:5000 for org o / space s as tester...\nOK\n\
             Mapping route tcp.example.com:5000 to app a in org o / space s as tester...\nOK\n"
        );
        // v7+: no --port is a free port from 1024 + the call's number.
        let (code, out, _) = cf(&m, &["map-route", "a", "tcp.example.com"]);
        assert_eq!(code, 0);
        assert!(
            out.contains("Mapping route tcp.example.com:1026 to app a"),
            "{out}"
        );
        assert_eq!(
            m.routes("a"),
            ["tcp.example.com:5000", "tcp.example.com:1026"]
        );
        let (code, _, err) = cf(&m, &["map-route", "a", "tcp.example.com", "-n", "x"]);
        assert_eq!(
            (code, err.as_str()),
            (1, "Hosts are not supported for TCP routes.\n")
        );
        let (code, _, err) = cf(&m, &["map-route", "a", "tcp.example.com", "--path", "x"]);
        assert_eq!(
            (code, err.as_str()),
            (1, "Paths are not supported for TCP routes.\n")
        );
        let (code, _, err) = cf(&m, &["unmap-route", "a", "tcp.example.com", "--port", "7"]);
        assert_eq!(code, 1);
        assert_eq!(
            err,
            "Route with domain 'tcp.example.com' and port 7 not found.\n"
        );
        assert_eq!(
            cf(
                &m,
                &["unmap-route", "a", "tcp.example.com", "--port", "5000"]
            )
            .0,
            0
        );
        assert_eq!(m.routes("a"), ["tcp.example.com:1026"]);
        let (_, out, _) = cf(&m, &["app", "a"]);
        assert!(
            out.contains("routes:            tcp.example.com:1026\n"),
            "{out}"
        );
        // The call log has them.
        assert!(m.calls().last().unwrap().served("tcp.example.com:1026"));

        // v6: --port or --random-port, and FAILED with the error on stdout.
        let m = m.version(V6);
        let (code, out, err) = cf(&m, &["map-route", "a", "tcp.example.com"]);
        assert_eq!(code, 1);
        assert!(err.is_empty());
        assert!(out.ends_with("FAILED\nThe route is invalid: For TCP routes you must specify a port or request a random one.\n"), "{out}");
        assert_eq!(
            cf(&m, &["map-route", "a", "tcp.example.com", "--random-port"]).0,
            0
        );
        assert_eq!(m.routes("a").len(), 2);
        let m = m.tcp_domains(&["tcp.other.org"]);
        assert_eq!(
            cf(&m, &["map-route", "a", "tcp.other.org", "--port", "9"]).0,
            0
        );
        assert_eq!(
            cf(&m, &["map-route", "a", "tcp.example.com", "--port", "9"]).0,
            1
        );
    }

    #[test]
    fn internal_routes_take_a_host_and_no_path() {
        let m = MemoryCf::new().app("a", true, &[]).domains(&["d.com"]);
        assert_eq!(
            cf(&m, &["map-route", "a", "apps.internal", "-n", "shop"]).0,
            0
        );
        assert_eq!(m.routes("a"), ["shop.apps.internal"]);
        let (code, _, err) = cf(
            &m,
            &["map-route", "a", "apps.internal", "-n", "s", "--path", "x"],
        );
        assert_eq!(
            (code, err.as_str()),
            (1, "Paths are not supported for internal domains.\n")
        );
        assert_eq!(cf(&m, &["map-route", "a", "apps.internal"]).0, 1);
        let (code, _, err) = cf(&m, &["map-route", "a", "nope.com", "-n", "x"]);
        assert_eq!((code, err.as_str()), (1, "Domain 'nope.com' not found.\n"));
        let m = m.internal_domains(&["mesh.local"]);
        assert_eq!(cf(&m, &["map-route", "a", "mesh.local", "-n", "cart"]).0, 0);
    }

    #[test]
    fn v3_routes_of_an_app_with_every_app_they_are_mapped_to() {
        let m = MemoryCf::new()
            .app(
                "a",
                true,
                &[
                    "www.example.com/api",
                    "shop.apps.internal",
                    "tcp.example.com:1234",
                ],
            )
            .app("b", false, &["shop.apps.internal"]);
        let body = curl(&m, "/v3/apps/guid-a/routes");
        assert_eq!(body["pagination"]["total_results"], 3);
        let r = &body["resources"];
        assert_eq!(
            (
                &r[0]["protocol"],
                &r[0]["host"],
                &r[0]["path"],
                &r[0]["port"],
                &r[0]["url"]
            ),
            (
                &"http".into(),
                &"www".into(),
                &"/api".into(),
                &serde_json::Value::Null,
                &"www.example.com/api".into()
            )
        );
        assert_eq!(r[0]["destinations"][0]["protocol"], "http1");
        assert_eq!(r[1]["destinations"].as_array().unwrap().len(), 2);
        assert_eq!(r[1]["destinations"][1]["app"]["guid"], "guid-b");
        assert_eq!(
            (&r[2]["protocol"], &r[2]["port"]),
            (&"tcp".into(), &1234.into())
        );
        assert_eq!(r[2]["destinations"][0]["protocol"], serde_json::Value::Null);
        assert_eq!(r[2]["destinations"][0]["port"], 8080);
        assert_eq!(r[0]["guid"], hash_guid("a000", "www.example.com/api"));
        assert_eq!(
            r[0]["relationships"]["domain"]["data"]["guid"],
            hash_guid("d000", "example.com")
        );
        let e = curl(&m, "/v3/apps/guid-nope/routes");
        assert_eq!(e["errors"][0]["code"], 10010);
        // --no-route strips every kind.
        assert_eq!(cf(&m, &["push", "a", "--no-route"]).0, 0);
        assert_eq!(
            curl(&m, "/v3/apps/guid-a/routes")["resources"],
            serde_json::json!([])
        );
    }

    #[test]
    fn the_route_guid_hash_is_the_fakes() {
        // djb2 over the bytes, as the fake's hash_guid computes it in bash arithmetic.
        assert_eq!(
            hash_guid("a000", ""),
            "00001505-0000-4000-a000-000000000000"
        );
        assert_eq!(
            hash_guid("d000", "a"),
            "0002b606-0000-4000-d000-000000000001"
        );
    }

    #[test]
    fn scaled_instances_come_up_one_read_at_a_time() {
        let m = MemoryCf::new().app("a", true, &[]);
        let (code, out, _) = cf(&m, &["scale", "a", "-i", "3"]);
        assert_eq!(code, 0);
        assert!(out.contains("instances:      1/3\n"), "{out}");
        assert_eq!(rows(&out), ["running", "starting", "starting"]);
        let (_, out, _) = cf(&m, &["app", "a"]);
        assert_eq!(rows(&out), ["running", "starting", "starting"]);
        let stats = curl(&m, "/v3/apps/guid-a/processes/web/stats");
        assert_eq!(stats["resources"][1]["state"], "RUNNING");
        assert_eq!(stats["resources"][2]["state"], "STARTING");
        assert_eq!(m.scale("a").map(|s| (s.running, s.desired)), Some((3, 3)));
        let p = curl(&m, "/v3/apps/guid-a/processes/web");
        assert_eq!(
            (&p["instances"], &p["memory_in_mb"], &p["disk_in_mb"]),
            (&3.into(), &256.into(), &1024.into())
        );
        assert_eq!(cf(&m, &["scale", "a", "-i", "1"]).0, 0);
        assert_eq!(m.scale("a").map(|s| (s.running, s.desired)), Some((1, 1)));

        // v6 returns at once; v7+ waits for one instance.
        let m = MemoryCf::new().app("a", true, &[]).instances("a", 0);
        let (_, out, _) = cf(&m, &["scale", "a", "-i", "2"]);
        assert!(out.contains("instances:      1/2\n"), "{out}");
        let m = m.version(V6);
        assert_eq!(
            cf(&m, &["scale", "a", "-i", "4"]).1.lines().last(),
            Some("OK")
        );
        assert_eq!(m.scale("a").map(|s| (s.running, s.starting)), Some((1, 3)));
        assert_eq!(cf(&m, &["stop", "a"]).0, 0);
        assert_eq!(
            curl(&m, "/v3/apps/guid-a/processes/web/stats")["resources"][3]["state"],
            "DOWN"
        );
        assert_eq!(cf(&m, &["start", "a"]).0, 0);
        assert_eq!(m.scale("a").map(|s| s.running), Some(4));
    }

    #[test]
    fn scale_memory_asks_first_and_stuck_instances_never_come_up() {
        let m = MemoryCf::new().app("a", true, &[]);
        let (code, out, _) = cf(&m, &["scale", "a", "-i", "2", "-m", "1G"]);
        assert_eq!(code, 0);
        assert!(out.ends_with("Scaling cancelled\n"), "{out}");
        assert_eq!(m.scale("a").map(|s| s.desired), Some(1));
        let (code, out, _) = cf(&m, &["scale", "a", "-m", "1G", "-k", "2048M", "-f"]);
        assert_eq!(code, 0);
        assert!(out.contains("9.4M of 1G   6.5M of 2G"), "{out}");
        assert_eq!(
            m.scale("a").map(|s| (s.memory_mb, s.disk_mb)),
            Some((1024, 2048))
        );

        let m = m.stuck("a");
        assert_eq!(cf(&m, &["scale", "a", "-i", "3"]).0, 0);
        for _ in 0..3 {
            cf(&m, &["app", "a"]);
        }
        assert_eq!(m.scale("a").map(|s| (s.running, s.starting)), Some((1, 2)));
        assert_eq!(cf(&m, &["scale", "a", "-i", "0"]).0, 0);
        let (code, out, err) = cf(&m, &["scale", "a", "-i", "2"]);
        assert_eq!(code, 1);
        assert!(out.ends_with("FAILED\n"));
        assert!(err.starts_with("Start app timeout"), "{err}");
    }

    #[test]
    fn push_keeps_the_instance_count_unless_told_and_starts_them_all() {
        let m = MemoryCf::new().app("a", true, &[]).instances("a", 3);
        assert_eq!(cf(&m, &["scale", "a", "-i", "4"]).0, 0);
        assert_eq!(cf(&m, &["push", "a", "--no-route"]).0, 0);
        assert_eq!(m.scale("a").map(|s| (s.running, s.desired)), Some((4, 4)));
        assert_eq!(
            cf(&m, &["push", "a", "--no-route", "-i", "2", "-m", "512M"]).0,
            0
        );
        assert_eq!(
            m.scale("a").map(|s| (s.running, s.desired, s.memory_mb)),
            Some((2, 2, 512))
        );
        assert_eq!(cf(&m, &["push", "b", "--no-route"]).0, 0);
        assert_eq!(m.scale("b").map(|s| (s.running, s.desired)), Some((1, 1)));
        let (code, _, err) = cf(&m, &["push", "b", "-i", "many"]);
        assert_eq!(code, 1);
        assert!(err.contains("invalid argument for flag `-i'"), "{err}");
    }

    #[test]
    fn network_policies_by_command_and_through_the_policy_server() {
        let m = MemoryCf::new()
            .app("a", true, &[])
            .app("b", true, &[])
            .app("frontend", true, &[])
            .policy("frontend", "a", "tcp", 8080)
            .policy("a", "elsewhere", "tcp", 8080);
        assert_eq!(cf(&m, &["add-network-policy", "a", "b"]).0, 0);
        assert_eq!(cf(&m, &["add-network-policy", "a", "b"]).0, 0);
        let (code, _, err) = cf(&m, &["add-network-policy", "a", "--destination-app", "b"]);
        assert_eq!(code, 1);
        assert!(err.contains("unknown flag `destination-app'"), "{err}");
        let (code, _, err) = cf(&m, &["add-network-policy", "a", "b", "--protocol", "icmp"]);
        assert_eq!(code, 1);
        assert!(err.contains("Allowed values are: tcp or udp"), "{err}");
        let (_, out, _) = cf(&m, &["network-policies"]);
        assert_eq!(
            out,
            "Listing network policies in org o / space s as tester...\n\n\
             source     destination   protocol   ports   destination space   destination org\n\
             frontend   a             tcp        8080    s                   o\n\
             a          b             tcp        8080    s                   o\n"
        );
        let (_, out, _) = cf(&m, &["network-policies", "--source", "frontend"]);
        assert_eq!(out.lines().count(), 4, "{out}");

        let m = m.version(V6);
        let (code, _, err) = cf(&m, &["add-network-policy", "b", "a"]);
        assert_eq!(code, 1);
        assert!(err.starts_with("Incorrect Usage"), "{err}");
        let args = [
            "add-network-policy",
            "b",
            "--destination-app",
            "a",
            "--port",
            "9000-9010",
            "--protocol",
            "udp",
        ];
        assert_eq!(cf(&m, &args).0, 0);

        let body = curl(&m, "/networking/v1/external/policies?id=guid-a");
        assert_eq!(body["total_policies"], 4);
        let body = curl(&m, "/networking/v1/external/policies?id=guid-elsewhere");
        assert_eq!(body["policies"][0]["source"]["id"], "guid-a");
        let post = |body: &str| {
            cf(
                &m,
                &[
                    "curl",
                    "/networking/v1/external/policies",
                    "-X",
                    "POST",
                    "-d",
                    body,
                ],
            )
            .1
        };
        let add = r#"{"policies":[{"source":{"id":"guid-frontend"},"destination":{"id":"guid-b","protocol":"tcp","ports":{"start":8080,"end":8080}}}]}"#;
        assert_eq!(post(add), "{}\n");
        assert_eq!(post(add), "{}\n");
        assert_eq!(post("nope"), format!("{BAD_POLICIES}\n"));
        assert_eq!(
            post(r#"{"policies":[{"source":{"id":"x"}}]}"#),
            format!("{BAD_POLICIES}\n")
        );
        let p = m.policies();
        assert_eq!(p.len(), 5);
        assert_eq!(
            p[4],
            Policy {
                source: "guid-frontend".into(),
                destination: "guid-b".into(),
                protocol: "tcp".into(),
                start: 8080,
                end: 8080
            }
        );
        assert_eq!(p[3].protocol, "udp");
        assert_eq!((p[3].start, p[3].end), (9000, 9010));
    }

    #[test]
    fn v6_legacy_commands_fail_on_stdout() {
        let m = MemoryCf::new().version(V6);
        assert_eq!(
            cf(&m, &["stop", "nope"]),
            (1, "FAILED\nApp 'nope' not found.\n".into(), String::new())
        );
        let (_, out, err) = cf(&m, &["app", "nope"]);
        assert!(out.ends_with("FAILED\n"));
        assert_eq!(err, "App 'nope' not found.\n");
        // Injected faults read the same in every version.
        let m = m.fail("stop:2");
        assert_eq!(cf(&m, &["stop", "nope"]).2, "Server error, status code: 502, error code: 10001, message: injected failure of call 2 of 'stop'\n");
    }

    /// The bash fake with a state directory of its own, set up like a [`MemoryCf`].
    struct Bash {
        state: tempfile::TempDir,
    }

    impl Bash {
        fn new() -> Bash {
            let b = Bash {
                state: tempfile::tempdir().unwrap(),
            };
            // MemoryCf's target.
            b.file("org", "o\n")
                .file("space", "s\n")
                .file("user", "tester\n")
        }

        fn file(self, name: &str, contents: &str) -> Bash {
            let path = self.state.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
            self
        }

        /// As tests/support.rs writes an app.
        fn app(self, name: &str, started: bool, routes: &[&str]) -> Bash {
            let state = if started { "started" } else { "stopped" };
            let lines: String = routes.iter().map(|r| format!("{r}\n")).collect();
            let all = self.state.path().join("routes");
            let mut existing = std::fs::read_to_string(&all).unwrap_or_default();
            for r in routes {
                if !existing.lines().any(|l| l == *r) {
                    existing.push_str(&format!("{r}\n"));
                }
            }
            std::fs::write(all, existing).unwrap();
            self.file(&format!("apps/{name}/state"), &format!("{state}\n"))
                .file(&format!("apps/{name}/guid"), &format!("guid-{name}\n"))
                .file(&format!("apps/{name}/routes"), &lines)
        }

        fn run(&self, version: &str, args: &[&str]) -> (i32, String, String) {
            let out = std::process::Command::new(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fake-cf"),
            )
            .args(args)
            .env("FAKE_CF_STATE", self.state.path())
            .env("FAKE_CF_VERSION", version)
            .env("LC_ALL", "C")
            .env_remove("FAKE_CF_FAIL")
            .env_remove("FAKE_CF_LATENCY")
            .env_remove("FAKE_CF_NO_ROUTE_KEEPS_ROUTES")
            .output()
            .expect("run fixtures/fake-cf");
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }

        /// The route table after each call, from the fake's log.
        fn route_tables(&self) -> Vec<BTreeMap<String, Vec<(String, bool)>>> {
            let log = std::fs::read_to_string(self.state.path().join("log")).unwrap();
            let mut tables = Vec::new();
            let mut current = BTreeMap::new();
            let mut last = BTreeMap::new();
            for line in log.lines() {
                let fields: Vec<&str> = line.split('\t').collect();
                match fields[0] {
                    // The fake logs the table only when it may have changed.
                    "routes-same" => current = std::mem::take(&mut last),
                    "route" => {
                        let holders = fields[2..]
                            .iter()
                            .map(|h| {
                                let (app, state) = h.rsplit_once(':').unwrap();
                                (app.to_string(), state == "started")
                            })
                            .collect();
                        current.insert(fields[1].to_string(), holders);
                    }
                    "end" => {
                        last = std::mem::take(&mut current);
                        tables.push(last.clone());
                    }
                    _ => {}
                }
            }
            tables
        }
    }

    /// The same commands through both fakes, from the same state: the same exit codes,
    /// stdout, stderr and route table after every call. What they are not meant to agree
    /// on stays out: manifests (MemoryCf does not read them), GUIDs of apps a push
    /// creates (the fake makes them from a checksum), `cf target` with arguments.
    #[test]
    fn both_fakes_answer_alike() {
        let start = |m: MemoryCf| {
            m.app(
                "blue",
                true,
                &["live.d.com", "shop.apps.internal", "tcp.example.com:2000"],
            )
            .app("green", false, &[])
            .app("frontend", true, &[])
            .app("slow", true, &[])
            .instances("slow", 0)
            .stuck("slow")
            .app("broken", true, &["broken.d.com"])
            .crashed("broken")
            .policy("frontend", "blue", "tcp", 8080)
        };
        let m = start(MemoryCf::new());
        let bash = Bash::new()
            .app(
                "blue",
                true,
                &["live.d.com", "shop.apps.internal", "tcp.example.com:2000"],
            )
            .app("green", false, &[])
            .app("frontend", true, &[])
            .app("slow", true, &[])
            .file("apps/slow/instances", "0\n")
            .file("apps/slow/stuck", "")
            .app("broken", true, &["broken.d.com"])
            .file("apps/broken/crashed", "")
            .file("policies", "guid-frontend guid-blue tcp 8080 8080\n");

        const V7: &str = "cf7 version 7.2.0+be4a5ce2b.2020-12-10";
        let space = hash_guid("c000", "o/s");
        let lock = crate::cf::v3::user_provided_body(
            "cf-bluegreen-lock-blue-green",
            &space,
            &["cf-bluegreen-lock"],
            &[(
                "cf-bluegreen/lock",
                "me@host pid 1 since 2026-11-26T08:00:00Z token t",
            )],
        );
        let elsewhere = crate::cf::v3::user_provided_body("x", "other-space", &[], &[]);
        let listed =
            format!("/v3/service_instances?names=cf-bluegreen-lock-blue-green&space_guids={space}");
        let post = r#"{"policies":[{"destination":{"id":"guid-frontend","protocol":"tcp","ports":{"end":81,"start":80}},"source":{"id":"guid-green"}}]}"#;
        let steps: &[(&str, &[&str])] = &[
            (DEFAULT_VERSION, &["version"]),
            (DEFAULT_VERSION, &["target"]),
            (DEFAULT_VERSION, &["app", "blue"]),
            (DEFAULT_VERSION, &["app", "blue", "--guid"]),
            (DEFAULT_VERSION, &["app", "nope"]),
            (DEFAULT_VERSION, &["app", "broken"]),
            (DEFAULT_VERSION, &["push", "green", "--no-route", "-i", "2"]),
            (DEFAULT_VERSION, &["push", "brand-new", "--no-route"]),
            (DEFAULT_VERSION, &["push", "green", "-n", "x"]),
            (
                DEFAULT_VERSION,
                &["map-route", "green", "tcp.example.com", "--port", "2000"],
            ),
            (
                DEFAULT_VERSION,
                &["map-route", "green", "tcp.example.com", "--port", "2000"],
            ),
            (DEFAULT_VERSION, &["map-route", "green", "tcp.example.com"]),
            (
                DEFAULT_VERSION,
                &["map-route", "green", "tcp.example.com", "--hostname", "x"],
            ),
            (
                DEFAULT_VERSION,
                &[
                    "map-route",
                    "green",
                    "tcp.example.com",
                    "--port",
                    "3000",
                    "--path",
                    "p",
                ],
            ),
            (
                DEFAULT_VERSION,
                &["map-route", "green", "tcp.example.com", "--port", "x"],
            ),
            (
                DEFAULT_VERSION,
                &["map-route", "green", "tcp.example.com", "--random-port"],
            ),
            (
                DEFAULT_VERSION,
                &["map-route", "green", "d.com", "--port", "80"],
            ),
            (
                DEFAULT_VERSION,
                &["map-route", "green", "apps.internal", "--hostname", "shop"],
            ),
            (
                DEFAULT_VERSION,
                &[
                    "map-route",
                    "green",
                    "apps.internal",
                    "--hostname",
                    "s",
                    "--path",
                    "/x",
                ],
            ),
            (DEFAULT_VERSION, &["map-route", "green", "apps.internal"]),
            (
                DEFAULT_VERSION,
                &["map-route", "green", "d.com", "-n", "live"],
            ),
            (
                DEFAULT_VERSION,
                &["map-route", "green", "d.com", "-n", "live"],
            ),
            (
                DEFAULT_VERSION,
                &["map-route", "green", "d.com", "-n", "api", "--path", "v1"],
            ),
            (DEFAULT_VERSION, &["map-route", "nope", "d.com", "-n", "x"]),
            (DEFAULT_VERSION, &["map-route", "green"]),
            (DEFAULT_VERSION, &["app", "green"]),
            (DEFAULT_VERSION, &["app", "green"]),
            (DEFAULT_VERSION, &["curl", "/v3/apps/guid-green/routes"]),
            (DEFAULT_VERSION, &["curl", "/v3/apps/guid-blue/routes"]),
            (DEFAULT_VERSION, &["curl", "/v3/apps/guid-nope/routes"]),
            (DEFAULT_VERSION, &["curl", "/v3/apps/guid-green/nope"]),
            (DEFAULT_VERSION, &["curl", "/v3/apps/guid-green"]),
            (DEFAULT_VERSION, &["curl", "/v2/info"]),
            (DEFAULT_VERSION, &["scale", "green", "-i", "4"]),
            (DEFAULT_VERSION, &["app", "green"]),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/apps/guid-green/processes/web/stats"],
            ),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/apps/guid-green/processes/web"],
            ),
            (DEFAULT_VERSION, &["app", "green"]),
            (DEFAULT_VERSION, &["scale", "green", "-i", "1"]),
            (DEFAULT_VERSION, &["scale", "green", "-m", "512M"]),
            (
                DEFAULT_VERSION,
                &["scale", "green", "-m", "512M", "-k", "2G", "-f"],
            ),
            (DEFAULT_VERSION, &["scale", "green"]),
            (DEFAULT_VERSION, &["scale", "green", "--process", "worker"]),
            (DEFAULT_VERSION, &["scale", "green", "-i", "x"]),
            (DEFAULT_VERSION, &["scale", "green", "-m", "lots"]),
            (DEFAULT_VERSION, &["scale", "nope", "-i", "2"]),
            (DEFAULT_VERSION, &["scale", "slow", "-i", "2"]),
            (DEFAULT_VERSION, &["scale", "broken", "-i", "2"]),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/apps/guid-broken/processes/web/stats"],
            ),
            (DEFAULT_VERSION, &["add-network-policy", "blue", "green"]),
            (DEFAULT_VERSION, &["add-network-policy", "blue", "green"]),
            (
                DEFAULT_VERSION,
                &[
                    "add-network-policy",
                    "green",
                    "frontend",
                    "--port",
                    "9000-9001",
                    "--protocol",
                    "udp",
                ],
            ),
            (
                DEFAULT_VERSION,
                &["add-network-policy", "blue", "--destination-app", "green"],
            ),
            (DEFAULT_VERSION, &["add-network-policy", "blue", "nope"]),
            (DEFAULT_VERSION, &["add-network-policy", "blue"]),
            (
                DEFAULT_VERSION,
                &["add-network-policy", "blue", "green", "--port", "0"],
            ),
            (
                DEFAULT_VERSION,
                &["add-network-policy", "blue", "green", "--protocol", "icmp"],
            ),
            (DEFAULT_VERSION, &["network-policies"]),
            (DEFAULT_VERSION, &["network-policies", "--source", "blue"]),
            (DEFAULT_VERSION, &["network-policies", "--source", "nope"]),
            (
                DEFAULT_VERSION,
                &["curl", "/networking/v1/external/policies?id=guid-green"],
            ),
            (
                DEFAULT_VERSION,
                &[
                    "curl",
                    "/networking/v1/external/policies?id=guid-x,guid-frontend",
                ],
            ),
            (
                DEFAULT_VERSION,
                &[
                    "curl",
                    "/networking/v1/external/policies",
                    "-X",
                    "POST",
                    "-d",
                    post,
                ],
            ),
            (
                DEFAULT_VERSION,
                &[
                    "curl",
                    "/networking/v1/external/policies",
                    "-X",
                    "POST",
                    "-d",
                    "{\"policies\":[]}",
                ],
            ),
            (
                DEFAULT_VERSION,
                &[
                    "curl",
                    "/networking/v1/external/policies",
                    "-X",
                    "POST",
                    "-d",
                    "nope",
                ],
            ),
            (
                DEFAULT_VERSION,
                &["curl", "/networking/v1/external/policies"],
            ),
            (
                DEFAULT_VERSION,
                &[
                    "curl",
                    "/v3/apps?names=blue,green,nope&include=space.organization&per_page=5000",
                ],
            ),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/apps?names=blue%2Cgreen&include=space"],
            ),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/apps?names=nope&include=space.organization"],
            ),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/apps?names=blue&space_guids=other"],
            ),
            (
                DEFAULT_VERSION,
                &[
                    "curl",
                    "/v3/routes?app_guids=guid-blue,guid-green&per_page=5000",
                ],
            ),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/routes?app_guids=guid-frontend"],
            ),
            (DEFAULT_VERSION, &["curl", "/v3/routes", "-X", "POST"]),
            (DEFAULT_VERSION, &["space", "s", "--guid"]),
            (DEFAULT_VERSION, &["space", "nope", "--guid"]),
            (DEFAULT_VERSION, &["services"]),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/service_instances", "-X", "POST", "-d", &lock],
            ),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/service_instances", "-X", "POST", "-d", &lock],
            ),
            (
                DEFAULT_VERSION,
                &[
                    "curl",
                    "/v3/service_instances",
                    "-X",
                    "POST",
                    "-d",
                    &elsewhere,
                ],
            ),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/service_instances", "-X", "POST", "-d", "nope"],
            ),
            (DEFAULT_VERSION, &["curl", &listed]),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/service_instances?names=nope"],
            ),
            (DEFAULT_VERSION, &["services"]),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/service_instances/nope", "-X", "DELETE"],
            ),
            (
                DEFAULT_VERSION,
                &["delete-service", "cf-bluegreen-lock-blue-green"],
            ),
            (
                DEFAULT_VERSION,
                &["delete-service", "cf-bluegreen-lock-blue-green", "-f"],
            ),
            (
                DEFAULT_VERSION,
                &["delete-service", "cf-bluegreen-lock-blue-green", "-f"],
            ),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/service_instances", "-X", "POST", "-d", &lock],
            ),
            (DEFAULT_VERSION, &["curl", &listed]),
            (V6, &["curl", &listed]),
            (
                DEFAULT_VERSION,
                &["unmap-route", "blue", "tcp.example.com", "--port", "2000"],
            ),
            (
                DEFAULT_VERSION,
                &["unmap-route", "blue", "tcp.example.com", "--port", "9"],
            ),
            (
                DEFAULT_VERSION,
                &["unmap-route", "blue", "d.com", "-n", "nope", "--path", "p"],
            ),
            (
                DEFAULT_VERSION,
                &["unmap-route", "blue", "d.com", "-n", "live"],
            ),
            (
                DEFAULT_VERSION,
                &["unmap-route", "blue", "d.com", "-n", "live"],
            ),
            (DEFAULT_VERSION, &["stop", "green"]),
            (DEFAULT_VERSION, &["stop", "green"]),
            (DEFAULT_VERSION, &["app", "green"]),
            (
                DEFAULT_VERSION,
                &["curl", "/v3/apps/guid-green/processes/web/stats"],
            ),
            (DEFAULT_VERSION, &["start", "green"]),
            (DEFAULT_VERSION, &["start", "broken"]),
            (DEFAULT_VERSION, &["logs", "blue", "--recent"]),
            (DEFAULT_VERSION, &["restart", "blue"]),
            (V7, &["map-route", "frontend", "tcp.example.com"]),
            (V7, &["scale", "frontend", "-i", "2"]),
            (V6, &["map-route", "frontend", "tcp.example.com"]),
            (
                V6,
                &["map-route", "frontend", "tcp.example.com", "--random-port"],
            ),
            (
                V6,
                &[
                    "map-route",
                    "frontend",
                    "tcp.example.com",
                    "-n",
                    "x",
                    "--port",
                    "5",
                ],
            ),
            (V6, &["map-route", "frontend", "d.com", "--port", "5"]),
            (V6, &["unmap-route", "frontend", "d.com", "-n", "nope"]),
            (V6, &["stop", "nope"]),
            (V6, &["curl", "/v3/apps/guid-nope"]),
            (V6, &["add-network-policy", "blue", "green"]),
            (
                V6,
                &[
                    "add-network-policy",
                    "blue",
                    "--destination-app",
                    "frontend",
                ],
            ),
            (V6, &["add-network-policy", "blue"]),
            (V6, &["scale", "blue", "-i", "2"]),
            (V6, &["scale", "blue"]),
            (V6, &["scale", "blue", "-m", "1G"]),
            (V6, &["scale", "blue", "-m", "1G", "-f"]),
            (V6, &["scale", "blue", "--process", "web"]),
            (DEFAULT_VERSION, &["app", "blue"]),
            (DEFAULT_VERSION, &["delete", "green"]),
            (DEFAULT_VERSION, &["delete", "green", "-f"]),
            (DEFAULT_VERSION, &["delete", "green", "-f"]),
        ];
        for (i, (version, args)) in steps.iter().enumerate() {
            m.lock().version = version.to_string();
            let memory = cf(&m, args);
            let bash = bash.run(version, args);
            assert_eq!(memory, bash, "step {i}: {version}: cf {}", args.join(" "));
        }
        let tables = bash.route_tables();
        let calls = m.calls();
        assert_eq!(tables.len(), calls.len());
        for (call, table) in calls.iter().zip(&tables) {
            assert_eq!(&call.routes, table, "after {}", call.line());
        }
        assert!(m.scale("green").is_none());
        let policies: String = m
            .policies()
            .iter()
            .map(|p| {
                format!(
                    "{} {} {} {} {}\n",
                    p.source, p.destination, p.protocol, p.start, p.end
                )
            })
            .collect();
        let bash_policies = std::fs::read_to_string(bash.state.path().join("policies")).unwrap();
        assert_eq!(policies, bash_policies);
        assert_eq!(m.policies().len(), 5);
    }
}
