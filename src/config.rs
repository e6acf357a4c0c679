//! `deploy.toml`: parsing and validation into a [`Config`] that later stages trust.
//!
//! Two stages: serde reads the file into `Raw*` structs that mirror it, then
//! [`Config::from_raw`] checks everything that needs more than a type (DNS labels,
//! paths, durations, forbidden push flags) and reports every problem at once.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::route::Route;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration {}: {reason}\n  hint: {hint}", path.display())]
    Read {
        path: PathBuf,
        reason: String,
        hint: String,
    },
    #[error("{}:{line}:{column}: {message}\n  hint: deploy.toml.example shows every key and its type", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{} has {} problem{}:\n{}", path.display(), problems.len(), if problems.len() == 1 { "" } else { "s" }, list(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

/// One invalid value, named by its dotted key (`routes.live`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "  {}: {}", self.key, self.message)
    }
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// What becomes of the previously live app once the switch is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OldApp {
    Stop,
    Keep,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub path: PathBuf,
    pub blue: String,
    pub green: String,
    /// The main live route first, then `routes.extra` in file order.
    pub live: Vec<Route>,
    pub staging: Route,
    pub push: Push,
    pub smoke: Smoke,
    pub old_app: OldApp,
    pub cf: CfSettings,
    pub lock: LockSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSettings {
    pub enabled: bool,
    /// A lock older than this is broken with a warning: its deploy is presumed dead.
    pub stale_after: Duration,
    /// How long to wait after taking the lock before checking that it is still ours.
    pub settle: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub path: Option<PathBuf>,
    pub manifest: Option<PathBuf>,
    pub vars_files: Vec<PathBuf>,
    pub vars: BTreeMap<String, String>,
    pub args: Vec<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smoke {
    pub enabled: bool,
    pub url: String,
    pub expect_status: u16,
    pub expect_body: Option<String>,
    pub timeout: Duration,
    pub interval: Duration,
    pub command: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfSettings {
    pub org: Option<String>,
    pub space: Option<String>,
    /// Limit for every cf call but the push.
    pub timeout: Duration,
}

// ---- the file as written -------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    apps: RawApps,
    routes: RawRoutes,
    #[serde(default)]
    push: RawPush,
    #[serde(default)]
    smoke: RawSmoke,
    #[serde(default)]
    switch: RawSwitch,
    #[serde(default)]
    cf: RawCf,
    #[serde(default)]
    lock: RawLock,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawApps {
    blue: String,
    green: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRoutes {
    domain: String,
    live: String,
    staging: String,
    path: Option<String>,
    #[serde(default)]
    extra: Vec<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRoute {
    host: String,
    domain: String,
    path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPush {
    path: Option<String>,
    manifest: Option<String>,
    #[serde(default)]
    vars_files: Vec<String>,
    #[serde(default)]
    vars: BTreeMap<String, toml::Value>,
    #[serde(default)]
    args: Vec<String>,
    timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSmoke {
    enabled: Option<bool>,
    url: Option<String>,
    path: Option<String>,
    expect_status: Option<u16>,
    expect_body: Option<String>,
    timeout: Option<String>,
    interval: Option<String>,
    #[serde(default)]
    command: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSwitch {
    old: Option<OldApp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCf {
    org: Option<String>,
    space: Option<String>,
    timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLock {
    enabled: Option<bool>,
    stale_after: Option<String>,
    settle: Option<String>,
}

pub const DEFAULT_LOCK_STALE_AFTER: Duration = Duration::from_secs(60 * 60);
pub const DEFAULT_LOCK_SETTLE: Duration = Duration::from_secs(2);
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_CF_TIMEOUT: Duration = Duration::from_secs(2 * 60);
pub const DEFAULT_SMOKE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_SMOKE_INTERVAL: Duration = Duration::from_secs(2);

/// Push flags that would put routes on the new version behind the tool's back.
const ROUTE_FLAGS: &[&str] = &[
    "-n",
    "--hostname",
    "-d",
    "--domain",
    "--route-path",
    "--no-route",
    "--random-route",
    "--no-hostname",
];

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let read_error = |reason: String, hint: &str| ConfigError::Read {
            path: path.to_path_buf(),
            reason,
            hint: hint.to_string(),
        };
        if path.is_dir() {
            return Err(read_error(
                "it is a directory".into(),
                "pass the file itself, for example --config deploy.toml",
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => read_error(
                "no such file".into(),
                "copy deploy.toml.example to deploy.toml and edit it, or pass --config PATH",
            ),
            std::io::ErrorKind::PermissionDenied => {
                read_error("permission denied".into(), "make the file readable")
            }
            _ => read_error(e.to_string(), "check the path given with --config"),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            read_error(
                format!(
                    "it is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
                "save the file as UTF-8",
            )
        })?;
        Config::parse(&text, path)
    }

    /// Parses `text` as if read from `path` (the path names the file in errors and anchors
    /// relative paths).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let only_comments = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if only_comments {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems: vec![Problem {
                    key: "apps".into(),
                    message: "the file is empty (or only comments); see deploy.toml.example for every key".into(),
                }],
            });
        }
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((1, 1));
            let message = readable(e.message().trim());
            let message = match did_you_mean(&message) {
                Some(hint) => format!("{message}; did you mean `{hint}`?"),
                None => message,
            };
            ConfigError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        })?;
        Config::from_raw(raw, path)
    }

    fn from_raw(raw: RawConfig, path: &Path) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(Problem {
                key: key.to_string(),
                message,
            })
        };
        let base = path.parent().unwrap_or(Path::new(""));

        // apps
        let blue = raw.apps.blue.trim().to_string();
        let green = raw.apps.green.trim().to_string();
        if blue.is_empty() {
            problem("apps.blue", "must name a CF app".into());
        }
        if green.is_empty() {
            problem("apps.green", "must name a CF app".into());
        }
        if !blue.is_empty() && blue == green {
            problem(
                "apps.green",
                format!("is the same app as apps.blue ({blue}); the pair needs two apps"),
            );
        }

        // routes
        let r = &raw.routes;
        check_domain("routes.domain", &r.domain, &mut problem);
        check_host("routes.live", &r.live, &mut problem);
        check_host("routes.staging", &r.staging, &mut problem);
        if let Some(p) = &r.path {
            check_path("routes.path", p, &mut problem);
        }
        if r.live.eq_ignore_ascii_case(&r.staging) {
            problem(
                "routes.staging",
                format!(
                    "is the same hostname as routes.live ({}); the new version must be checked on a route of its own",
                    r.live
                ),
            );
        }
        let main_live = Route::new(&r.live, &r.domain, r.path.as_deref());
        let staging = Route::new(&r.staging, &r.domain, r.path.as_deref());
        let mut live = vec![main_live];
        for (i, extra) in r.extra.iter().enumerate() {
            let key = format!("routes.extra[{i}]");
            check_host(&format!("{key}.host"), &extra.host, &mut problem);
            check_domain(&format!("{key}.domain"), &extra.domain, &mut problem);
            if let Some(p) = &extra.path {
                check_path(&format!("{key}.path"), p, &mut problem);
            }
            let route = Route::new(&extra.host, &extra.domain, extra.path.as_deref());
            if route == staging {
                problem(
                    &key,
                    format!("is the staging route ({route}); a live route cannot also be the staging route"),
                );
            } else if live.contains(&route) {
                problem(&key, format!("repeats the live route {route}"));
            }
            live.push(route);
        }

        // push
        let p = &raw.push;
        let timeout = duration(
            "push.timeout",
            p.timeout.as_deref(),
            DEFAULT_PUSH_TIMEOUT,
            &mut problem,
        );
        for (i, arg) in p.args.iter().enumerate() {
            let flag = arg.split('=').next().unwrap_or(arg);
            if ROUTE_FLAGS.contains(&flag) {
                problem(
                    &format!("push.args[{i}]"),
                    format!(
                        "`{arg}` is not allowed: the tool pushes with --no-route and maps the routes itself, after the new version passed its check (cf v7+ also removed push's -n/-d/--hostname)"
                    ),
                );
            }
        }
        let mut vars = BTreeMap::new();
        for (k, v) in &p.vars {
            let value = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    problem(
                        &format!("push.vars.{k}"),
                        format!(
                            "must be a string, number or boolean, not {}",
                            other.type_str()
                        ),
                    );
                    continue;
                }
            };
            vars.insert(k.clone(), value);
        }
        let resolve = |s: &str| resolve_path(base, s);
        let push = Push {
            path: p.path.as_deref().map(resolve),
            manifest: p.manifest.as_deref().map(resolve),
            vars_files: p.vars_files.iter().map(|s| resolve(s)).collect(),
            vars,
            args: p.args.clone(),
            timeout,
        };

        // smoke
        let s = &raw.smoke;
        let smoke_path = s.path.clone().unwrap_or_else(|| "/".into());
        if !smoke_path.starts_with('/') {
            problem("smoke.path", format!("`{smoke_path}` must start with /"));
        }
        let url = match s.url.as_deref().filter(|u| !u.is_empty()) {
            Some(u) => {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    problem(
                        "smoke.url",
                        format!("`{u}` must start with http:// or https://"),
                    );
                }
                u.to_string()
            }
            None => {
                let base_url = format!("https://{staging}");
                let base_url = base_url.trim_end_matches('/');
                format!("{base_url}{smoke_path}")
            }
        };
        let expect_status = s.expect_status.unwrap_or(200);
        if !(100..=599).contains(&expect_status) {
            problem(
                "smoke.expect-status",
                format!("{expect_status} is not an HTTP status (100-599)"),
            );
        }
        let smoke = Smoke {
            enabled: s.enabled.unwrap_or(true),
            url,
            expect_status,
            expect_body: s.expect_body.clone().filter(|b| !b.is_empty()),
            timeout: duration(
                "smoke.timeout",
                s.timeout.as_deref(),
                DEFAULT_SMOKE_TIMEOUT,
                &mut problem,
            ),
            interval: duration(
                "smoke.interval",
                s.interval.as_deref(),
                DEFAULT_SMOKE_INTERVAL,
                &mut problem,
            ),
            command: s.command.clone(),
        };

        // cf
        let nonempty = |s: &Option<String>| {
            s.as_ref()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let cf = CfSettings {
            org: nonempty(&raw.cf.org),
            space: nonempty(&raw.cf.space),
            timeout: duration(
                "cf.timeout",
                raw.cf.timeout.as_deref(),
                DEFAULT_CF_TIMEOUT,
                &mut problem,
            ),
        };
        let lock = LockSettings {
            enabled: raw.lock.enabled.unwrap_or(true),
            stale_after: duration(
                "lock.stale-after",
                raw.lock.stale_after.as_deref(),
                DEFAULT_LOCK_STALE_AFTER,
                &mut problem,
            ),
            settle: duration(
                "lock.settle",
                raw.lock.settle.as_deref(),
                DEFAULT_LOCK_SETTLE,
                &mut problem,
            ),
        };
        if cf.space.is_some() && cf.org.is_none() {
            problem(
                "cf.space",
                "is set without cf.org; set both or neither".into(),
            );
        }

        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            });
        }
        Ok(Config {
            path: path.to_path_buf(),
            blue,
            green,
            live,
            staging,
            push,
            smoke,
            old_app: raw.switch.old.unwrap_or(OldApp::Stop),
            cf,
            lock,
        })
    }

    /// The URLs the live routes serve, for people.
    pub fn live_urls(&self) -> String {
        let urls: Vec<String> = self.live.iter().map(|r| format!("https://{r}")).collect();
        urls.join(", ")
    }

    pub fn main_live(&self) -> &Route {
        &self.live[0]
    }

    /// The other app of the pair.
    pub fn other(&self, app: &str) -> &str {
        if app == self.blue {
            &self.green
        } else {
            &self.blue
        }
    }
}

fn resolve_path(base: &Path, s: &str) -> PathBuf {
    let p = Path::new(s);
    if p.is_absolute() || base.as_os_str().is_empty() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn duration(
    key: &str,
    value: Option<&str>,
    default: Duration,
    problem: &mut impl FnMut(&str, String),
) -> Duration {
    let Some(v) = value else { return default };
    match humantime::parse_duration(v.trim()) {
        Ok(d) if d.is_zero() => {
            problem(key, format!("`{v}` must be longer than zero"));
            default
        }
        Ok(d) => d,
        Err(e) => {
            problem(
                key,
                format!(
                    "`{v}` is not a duration ({e}); write it like \"90s\", \"2m\" or \"1h 30m\""
                ),
            );
            default
        }
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn check_host(key: &str, host: &str, problem: &mut impl FnMut(&str, String)) {
    if !is_dns_label(host) {
        problem(
            key,
            format!(
                "`{host}` is not a valid hostname: use 1-63 letters, digits and hyphens, not starting or ending with a hyphen (no dots, no underscores)"
            ),
        );
    }
}

fn check_domain(key: &str, domain: &str, problem: &mut impl FnMut(&str, String)) {
    if domain.len() > 253 || domain.split('.').any(|label| !is_dns_label(label)) {
        problem(
            key,
            format!("`{domain}` is not a valid domain: dot-separated labels of letters, digits and hyphens"),
        );
    }
}

fn check_path(key: &str, path: &str, problem: &mut impl FnMut(&str, String)) {
    if !path.starts_with('/') {
        problem(key, format!("`{path}` must start with /"));
    } else if path == "/" {
        problem(key, "`/` is the root: leave the key out instead".into());
    } else if path.ends_with('/') {
        problem(key, format!("`{path}` must not end with /"));
    } else if path
        .chars()
        .any(|c| c.is_whitespace() || c == '?' || c == '#')
    {
        problem(key, format!("`{path}` must not contain spaces, ? or #"));
    }
}

/// serde's words for the user's: no internal type names.
fn readable(message: &str) -> String {
    let mut out = message
        .replace("expected u16", "expected a whole number")
        .replace("expected a boolean", "expected true or false");
    while let Some(at) = out.find("struct Raw") {
        let end = out[at..]
            .find(|c: char| !c.is_alphanumeric() && c != ' ')
            .map_or(out.len(), |i| at + i);
        out.replace_range(at..end, "a table");
    }
    out
}

/// For serde's "unknown field `blu`, expected one of `blue`, `green`": the expected key
/// closest to the unknown one, if it is close.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest.split_once("expected")?.1;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|candidate| (strsim::jaro_winkler(unknown, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate.to_string())
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[apps]
blue = "sinatra_a"
green = "sinatra_b"

[routes]
domain = "de.a9sapp.eu"
live = "sinatralive"
staging = "sinatrastaging"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("deploy.toml"))
    }

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    fn keys(text: &str) -> Vec<String> {
        problems(text).into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.blue, "sinatra_a");
        assert_eq!(c.green, "sinatra_b");
        assert_eq!(
            c.live,
            vec![Route::new("sinatralive", "de.a9sapp.eu", None)]
        );
        assert_eq!(c.staging.url(), "sinatrastaging.de.a9sapp.eu");
        assert_eq!(c.smoke.url, "https://sinatrastaging.de.a9sapp.eu/");
        assert!(c.smoke.enabled);
        assert_eq!(c.smoke.expect_status, 200);
        assert_eq!(c.smoke.timeout, Duration::from_secs(60));
        assert_eq!(c.push.timeout, DEFAULT_PUSH_TIMEOUT);
        assert_eq!(c.cf.timeout, DEFAULT_CF_TIMEOUT);
        assert_eq!(c.old_app, OldApp::Stop);
        assert_eq!(c.other("sinatra_a"), "sinatra_b");
        assert_eq!(c.other("sinatra_b"), "sinatra_a");
    }

    #[test]
    fn full_config() {
        let text = format!(
            "{MINIMAL}path = \"/api\"\n{}",
            r#"
[[routes.extra]]
host = "www"
domain = "example.com"
path = "/shop"

[push]
path = "app"
manifest = "manifest.yml"
vars-files = ["vars/prod.yml"]
vars = { region = "eu", instances = 2 }
args = ["-i", "2"]
timeout = "15m"

[smoke]
path = "/health"
expect-status = 204
expect-body = "ok"
timeout = "30s"
interval = "500ms"
command = ["./check.sh"]

[switch]
old = "keep"

[cf]
org = "my-org"
space = "prod"
timeout = "90s"
"#
        );
        let c = Config::parse(&text, Path::new("/srv/proj/deploy.toml")).unwrap();
        assert_eq!(c.live.len(), 2);
        assert_eq!(c.live[0].url(), "sinatralive.de.a9sapp.eu/api");
        assert_eq!(c.live[1].url(), "www.example.com/shop");
        assert_eq!(c.staging.url(), "sinatrastaging.de.a9sapp.eu/api");
        assert_eq!(
            c.smoke.url,
            "https://sinatrastaging.de.a9sapp.eu/api/health"
        );
        assert_eq!(c.smoke.expect_status, 204);
        assert_eq!(c.smoke.expect_body.as_deref(), Some("ok"));
        assert_eq!(c.smoke.interval, Duration::from_millis(500));
        assert_eq!(c.push.path, Some(PathBuf::from("/srv/proj/app")));
        assert_eq!(
            c.push.manifest,
            Some(PathBuf::from("/srv/proj/manifest.yml"))
        );
        assert_eq!(
            c.push.vars_files,
            vec![PathBuf::from("/srv/proj/vars/prod.yml")]
        );
        assert_eq!(c.push.vars["instances"], "2");
        assert_eq!(c.push.vars["region"], "eu");
        assert_eq!(c.old_app, OldApp::Keep);
        assert_eq!(c.cf.org.as_deref(), Some("my-org"));
        assert_eq!(c.cf.timeout, Duration::from_secs(90));
    }

    #[test]
    fn explicit_smoke_url_wins() {
        let c = parse(&format!(
            "{MINIMAL}\n[smoke]\nurl = \"http://127.0.0.1:8080/x\"\npath = \"/ignored\"\n"
        ))
        .unwrap();
        assert_eq!(c.smoke.url, "http://127.0.0.1:8080/x");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = parse("[apps]\nblue = \"a\"\ngreen = \n").unwrap_err();
        match err {
            ConfigError::Syntax { line, column, .. } => {
                assert_eq!(line, 3);
                assert!(column >= 7, "column {column}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = parse(&format!("{MINIMAL}\n[smoke]\nexpect-code = 200\n")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("expect-code"), "{text}");
        assert!(text.starts_with("deploy.toml:12:1:"), "{text}");
    }

    #[test]
    fn unknown_key_gets_a_suggestion() {
        let err = parse(&format!("{MINIMAL}\n[smoke]\nexpect-stauts = 200\n")).unwrap_err();
        assert!(
            err.to_string().contains("did you mean `expect-status`?"),
            "{err}"
        );
        let err = parse(&MINIMAL.replace("blue =", "bleu =")).unwrap_err();
        assert!(err.to_string().contains("did you mean `blue`?"), "{err}");
        // Nothing close: no guess.
        let err = parse(&format!("{MINIMAL}\n[smoke]\nzzz = 1\n")).unwrap_err();
        assert!(!err.to_string().contains("did you mean"), "{err}");
    }

    #[test]
    fn missing_required_key() {
        let err =
            parse("[apps]\nblue = \"a\"\n[routes]\ndomain=\"d.com\"\nlive=\"l\"\nstaging=\"s\"\n")
                .unwrap_err();
        assert!(err.to_string().contains("missing field `green`"), "{err}");
    }

    #[test]
    fn wrong_type() {
        let err = parse(&format!("{MINIMAL}\n[smoke]\nexpect-status = \"200\"\n")).unwrap_err();
        assert!(
            matches!(err, ConfigError::Syntax { line: 12, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn same_app_twice() {
        assert_eq!(
            keys(&MINIMAL.replace("sinatra_b", "sinatra_a")),
            ["apps.green"]
        );
    }

    #[test]
    fn live_equals_staging() {
        assert_eq!(
            keys(&MINIMAL.replace("sinatrastaging", "sinatralive")),
            ["routes.staging"]
        );
    }

    #[test]
    fn invalid_hostnames_and_domains() {
        let text = MINIMAL
            .replace("\"sinatralive\"", "\"sinatra_live\"")
            .replace("\"sinatrastaging\"", "\"-staging\"")
            .replace("de.a9sapp.eu", "de..eu");
        assert_eq!(
            keys(&text),
            ["routes.domain", "routes.live", "routes.staging"]
        );
        let long = "a".repeat(64);
        assert_eq!(
            keys(&MINIMAL.replace("sinatralive", &long)),
            ["routes.live"]
        );
    }

    #[test]
    fn paths_must_start_with_slash() {
        assert_eq!(keys(&format!("{MINIMAL}path = \"api\"\n")), ["routes.path"]);
        assert_eq!(keys(&format!("{MINIMAL}path = \"/\"\n")), ["routes.path"]);
        assert_eq!(
            keys(&format!("{MINIMAL}path = \"/a b\"\n")),
            ["routes.path"]
        );
        assert_eq!(
            keys(&format!("{MINIMAL}\n[smoke]\npath = \"health\"\n")),
            ["smoke.path"]
        );
        let extra = format!(
            "{MINIMAL}\n[[routes.extra]]\nhost = \"www\"\ndomain = \"x.com\"\npath = \"shop\"\n"
        );
        assert_eq!(keys(&extra), ["routes.extra[0].path"]);
    }

    #[test]
    fn bad_durations() {
        let text = format!("{MINIMAL}\n[push]\ntimeout = \"soon\"\n[smoke]\ntimeout = \"0s\"\ninterval = \"5 parsecs\"\n[cf]\ntimeout = \"\"\n");
        assert_eq!(
            keys(&text),
            [
                "push.timeout",
                "smoke.timeout",
                "smoke.interval",
                "cf.timeout"
            ]
        );
    }

    #[test]
    fn route_flags_in_push_args_are_refused() {
        let text = format!("{MINIMAL}\n[push]\nargs = [\"-i\", \"2\", \"-n\", \"x\", \"--hostname=y\", \"--no-route\", \"--random-route\", \"-d\", \"--route-path\"]\n");
        assert_eq!(
            keys(&text),
            [
                "push.args[2]",
                "push.args[4]",
                "push.args[5]",
                "push.args[6]",
                "push.args[7]",
                "push.args[8]"
            ]
        );
    }

    #[test]
    fn extra_route_repeating_live_or_staging() {
        let dup = format!(
            "{MINIMAL}\n[[routes.extra]]\nhost = \"sinatralive\"\ndomain = \"de.a9sapp.eu\"\n"
        );
        assert_eq!(keys(&dup), ["routes.extra[0]"]);
        let stg = format!(
            "{MINIMAL}\n[[routes.extra]]\nhost = \"sinatrastaging\"\ndomain = \"de.a9sapp.eu\"\n"
        );
        assert_eq!(keys(&stg), ["routes.extra[0]"]);
        // Same host on another domain is a different route.
        let other = format!(
            "{MINIMAL}\n[[routes.extra]]\nhost = \"sinatralive\"\ndomain = \"example.com\"\n"
        );
        assert!(parse(&other).is_ok());
    }

    #[test]
    fn bad_status_and_url() {
        let text = format!("{MINIMAL}\n[smoke]\nexpect-status = 42\nurl = \"ftp://x\"\n");
        assert_eq!(keys(&text), ["smoke.url", "smoke.expect-status"]);
    }

    #[test]
    fn vars_must_be_scalars() {
        let text = format!("{MINIMAL}\n[push]\nvars = {{ list = [1, 2] }}\n");
        assert_eq!(keys(&text), ["push.vars.list"]);
    }

    #[test]
    fn space_without_org() {
        assert_eq!(
            keys(&format!("{MINIMAL}\n[cf]\nspace = \"prod\"\n")),
            ["cf.space"]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = MINIMAL
            .replace("sinatra_b", "sinatra_a")
            .replace("sinatralive", "bad_host");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.starts_with("deploy.toml has 2 problems:"), "{err}");
        assert!(err.contains("apps.green"), "{err}");
        assert!(err.contains("routes.live"), "{err}");
    }

    #[test]
    fn empty_file() {
        assert_eq!(keys("  \n"), ["apps"]);
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Lines built from the file's own vocabulary, so that the parser gets past the
        /// TOML syntax into validation more often than random text would.
        fn line() -> impl Strategy<Value = String> {
            let key = prop::sample::select(vec![
                "blue",
                "green",
                "domain",
                "live",
                "staging",
                "path",
                "host",
                "manifest",
                "vars-files",
                "vars",
                "args",
                "timeout",
                "enabled",
                "url",
                "expect-status",
                "expect-body",
                "interval",
                "command",
                "old",
                "org",
                "space",
                "settle",
                "stale-after",
                "bogus",
            ]);
            let value = prop_oneof![
                "\"[a-z0-9_./ -]{0,12}\"".prop_map(|s| s),
                (-5i64..100_000).prop_map(|n| n.to_string()),
                Just("true".to_string()),
                Just("[\"-i\", \"2\"]".to_string()),
                Just("{ a = \"b\" }".to_string()),
                Just("\"0s\"".to_string()),
                Just("\"1h 30m\"".to_string()),
                ".{0,6}",
            ];
            let table = prop::sample::select(vec![
                "[apps]",
                "[routes]",
                "[[routes.extra]]",
                "[push]",
                "[smoke]",
                "[switch]",
                "[cf]",
                "[lock]",
                "[",
                "[apps.x]",
            ]);
            prop_oneof![
                3 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
                1 => table.prop_map(str::to_string),
                1 => ".{0,20}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
                let _ = Config::parse(&text, Path::new("deploy.toml"));
            }

            #[test]
            fn config_shaped_text_never_panics(lines in prop::collection::vec(line(), 0..30)) {
                let text = lines.join("\n");
                match Config::parse(&text, Path::new("deploy.toml")) {
                    Ok(c) => prop_assert!(c.blue != c.green),
                    Err(ConfigError::Syntax { line, column, .. }) => {
                        prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
                        prop_assert!(column >= 1);
                    }
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }

            #[test]
            fn valid_configs_with_random_names_parse_or_name_the_key(
                blue in "[a-z_]{0,8}",
                live in "[a-zA-Z0-9_-]{0,70}",
                path in "[/a-z ?]{0,6}",
            ) {
                let text = format!(
                    "[apps]\nblue = \"{blue}\"\ngreen = \"g\"\n[routes]\ndomain = \"d.com\"\nlive = \"{live}\"\nstaging = \"s\"\npath = \"{path}\"\n"
                );
                match Config::parse(&text, Path::new("deploy.toml")) {
                    Ok(c) => {
                        prop_assert!(is_dns_label(&c.main_live().host));
                        prop_assert!(c.main_live().path.as_deref().is_none_or(|p| p.starts_with('/')));
                    }
                    Err(ConfigError::Invalid { problems, .. }) => {
                        prop_assert!(problems.iter().all(|p| ["apps.blue", "apps.green", "routes.live", "routes.staging", "routes.path"].contains(&p.key.as_str())));
                    }
                    Err(e) => prop_assert!(false, "unexpected {e}"),
                }
            }
        }
    }
}
