//! `deploy.toml`: read, parsed and validated into a [`Suite`] of app pairs, each a
//! [`Config`] that later stages trust.
//!
//! The stages, in [`Suite::load`] and [`Suite::parse`] ([`Config::load`] and
//! [`Config::parse`] take a file of one pair):
//!
//! 1. read the bytes and decode them as UTF-8 ([`ConfigError::Read`]);
//! 2. TOML into the `Raw*` structs of `raw.rs`, which mirror the file: serde checks the
//!    syntax, the types and the key names, and `syntax.rs` words its errors for people
//!    ([`ConfigError::Syntax`]: the first error, with line and column);
//! 3. `suite.rs` splits the file into pairs: the classic file is one; each
//!    `[[deployments]]` table is one, its sections merged over the top-level ones key by
//!    key (`merge.rs`);
//! 4. `validate.rs` turns each pair's raw structs into a [`Config`], one function per
//!    section, checking everything that needs more than a type (DNS labels, paths,
//!    durations, forbidden push flags); `suite.rs` adds what concerns several pairs
//!    (names, shared apps and routes), and every problem of the file is reported at once
//!    ([`ConfigError::Invalid`]).
//!
//! cf's own time limits ([`CfLimits`], from the environment) come in as a value, so that
//! the same file always gives the same [`Config`] for the same limits.

mod headers;
mod limits;
mod merge;
mod raw;
mod suite;
mod syntax;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::route::Route;
pub use headers::{Headers, Secret};
pub use limits::CfLimits;
pub use suite::{Deployment, Suite};
pub use validate::is_dns_label;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read, or is not UTF-8.
    #[error("cannot read the configuration {}: {reason}", path.display())]
    Read {
        path: PathBuf,
        reason: String,
        hint: String,
    },
    /// Not TOML, or not the shape of `deploy.toml`: an unknown key, a missing one, a
    /// wrong type. The first such error only.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed, but with values that cannot work: every such problem at once.
    #[error("{} has {} problem{}:\n{}", path.display(), problems.len(), if problems.len() == 1 { "" } else { "s" }, list(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    /// A command that runs one pair ([`Config::load`]) got a file with several.
    #[error("{} holds {} deployments ({}); this runs one app pair", path.display(), names.len(), names.join(", "))]
    SeveralDeployments { path: PathBuf, names: Vec<String> },
    /// `--only` named a deployment the file does not have.
    #[error("{} has no deployment named `{name}`; its deployments: {}", path.display(), known.join(", "))]
    UnknownDeployment {
        path: PathBuf,
        name: String,
        known: Vec<String>,
    },
    /// `--only` with a file of one pair, which has no deployments to pick from.
    #[error("--only picks [[deployments]] by name, and {} has none: it describes one app pair", path.display())]
    OnlyWithoutDeployments { path: PathBuf },
    /// `--label` or `CF_BLUEGREEN_LABEL` cannot be recorded as given.
    #[error("the label given with --label or CF_BLUEGREEN_LABEL {problem}")]
    Label { problem: String, hint: String },
}

impl crate::hint::Hint for ConfigError {
    fn hint(&self) -> Option<String> {
        match self {
            ConfigError::Read { hint, .. } => Some(hint.clone()),
            ConfigError::Syntax { .. } => {
                Some("deploy.toml.example shows every key and its type".into())
            }
            // Each problem says what is wrong with its key.
            ConfigError::Invalid { .. } => None,
            ConfigError::SeveralDeployments { .. } => {
                Some("pick the pairs to run with --only NAME".into())
            }
            // The message lists the names there are.
            ConfigError::UnknownDeployment { .. } => None,
            ConfigError::OnlyWithoutDeployments { .. } => Some("leave out --only".into()),
            ConfigError::Label { hint, .. } => Some(hint.clone()),
        }
    }
}

/// One invalid value, named by its dotted key (`routes.live`; in a deployment,
/// `deployments[1] (api).routes.live`).
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

/// What becomes of the previously live app once the switch is done (`switch.old`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OldApp {
    Stop,
    Keep,
    Delete,
}

/// A validated `deploy.toml`. Names, routes, paths and durations have been checked;
/// whether the apps, domain and files exist is for the preflight to find out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from, as given: it names the file in messages.
    pub path: PathBuf,
    /// The deployment's `name`; `None` for a file of one pair without `[[deployments]]`.
    pub name: Option<String>,
    /// `apps.blue`, trimmed: the app the first deploy goes to.
    pub blue: String,
    /// `apps.green`, trimmed; never the same as `blue`.
    pub green: String,
    /// The main live route first, then `routes.extra` in file order.
    pub live: Vec<Route>,
    /// Where the new version is checked before it gets live traffic; not a live route.
    pub staging: Route,
    /// `routes.unlisted`: what to do with routes the live app holds that are not listed.
    pub unlisted: Unlisted,
    pub push: Push,
    pub smoke: Smoke,
    pub switch: Switch,
    /// `[verify]`; `None`: off (no `duration`, or "0s").
    pub verify: Option<Verify>,
    pub cf: CfSettings,
    pub lock: LockSettings,
    /// Values that work but may hurt (a limit below cf's own), for the user to hear
    /// before a deploy or a rollback; each names its key or variable.
    pub warnings: Vec<String>,
    /// The label a deploy records on the app it pushes (`--label`, `CF_BLUEGREEN_LABEL`
    /// or the git commit of the push's source; see [`crate::label`]). Not from the file:
    /// `None` until a deploy sets it, and `None` then means the deploy clears it.
    pub label: Option<String>,
}

/// `[switch]`: how the live routes move, and what becomes of the previous app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    /// `switch.old`.
    pub old: OldApp,
    /// Scale the new version up to the live app's instance count before it takes live
    /// traffic.
    pub match_instances: bool,
    /// The URL to check through the router, as the new app's instance 0, after the live
    /// routes were mapped to it and before any is unmapped from the old app; `None`: off.
    pub verify_live: Option<String>,
    /// The wait between the old app losing its last live route and its retirement, so
    /// that requests the router already sent there finish.
    pub drain: Duration,
}

/// `[verify]`: after the live routes moved, the old app stays started without routes
/// for `duration` while `check` (and `command`) run every `interval`; the first failure
/// switches back to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verify {
    pub duration: Duration,
    pub interval: Duration,
    /// The longest one request (and the command) may take before it counts as failed.
    pub timeout: Duration,
    /// A GET of `verify.url` (default: the main live URL), with `smoke.headers` and the
    /// smoke check's trust; `key` is `None`.
    pub check: Check,
    /// Run each interval with the URL in `VERIFY_URL`; empty for none.
    pub command: Vec<String>,
}

/// Routes the live app holds that `deploy.toml` does not list: `cf push --no-route`
/// strips them from the idle app, so unless they move they stay on the old app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unlisted {
    /// Move them with the listed ones.
    Move,
    /// Stop before any change, naming them.
    Refuse,
}

/// `[lock]`: the deploy lock that keeps two deploys of the pair apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSettings {
    pub enabled: bool,
    /// A lock older than this is broken with a warning: its deploy is presumed dead.
    pub stale_after: Duration,
    /// How long to wait after taking the lock before checking that it is still ours.
    pub settle: Duration,
}

/// `[push]`: how the new version is pushed (always with --no-route).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// `cf push -p`; relative paths in the file are anchored at its directory, as are
    /// `manifest` and `vars_files`.
    pub path: Option<PathBuf>,
    /// `cf push -f`.
    pub manifest: Option<PathBuf>,
    /// `--vars-file`, each.
    pub vars_files: Vec<PathBuf>,
    /// `--var key=value`, each; numbers and booleans written as text.
    pub vars: BTreeMap<String, String>,
    /// Further `cf push` arguments, passed as given; none of them a route flag.
    pub args: Vec<String>,
    /// The push is killed after this long: `push.timeout`, or by default cf's own limits
    /// and an upload allowance ([`CfLimits::push_timeout`]).
    pub timeout: Duration,
}

/// `[smoke]`: the check of the new version on the staging route, before the switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smoke {
    pub enabled: bool,
    /// The first check's URL: `SMOKE_URL` for `command`. For the single check,
    /// `smoke.url`, or else `https://` + the staging route + `smoke.path`.
    pub url: String,
    /// Every one must pass, in this order; never empty. The single check of `smoke.url`
    /// and friends, or `[[smoke.checks]]`. The first is also the live check's
    /// (`switch.verify-live`) model: its method, headers and expectations.
    pub checks: Vec<Check>,
    /// How long to keep trying each check; also the limit for `command`.
    pub timeout: Duration,
    /// The pause between attempts.
    pub interval: Duration,
    /// Run after the HTTP checks pass, with the URL in `SMOKE_URL`; empty for none.
    pub command: Vec<String>,
    pub tls: Tls,
}

/// One HTTP check: a request, and the answer it must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `smoke.checks[N]`, to name it in messages; `None` for the single check, whose
    /// messages stay as they always were.
    pub key: Option<String>,
    /// Upper case: GET, HEAD, POST, ...
    pub method: String,
    pub url: String,
    pub expect_status: u16,
    /// A substring the body must contain; never empty.
    pub expect_body: Option<String>,
    /// Sent with every attempt: `smoke.headers` with the check's own over them, `${VAR}`
    /// expanded; a header set to "" is not sent.
    pub headers: Headers,
}

impl Smoke {
    /// What the checks ask, for the plan: the URL alone for a single GET, as it always
    /// was; else each check's method and URL.
    pub fn describe(&self) -> String {
        match self.checks.as_slice() {
            [one] if one.method == "GET" => one.url.clone(),
            all => all
                .iter()
                .map(Check::describe)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

impl Check {
    /// `GET https://...`, for people.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.url)
    }
}

/// Which certificates the HTTP checks trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    /// The system's trust store.
    System,
    /// The system's, and `smoke.ca-cert`: the file and its certificates (DER).
    WithCa { path: PathBuf, certs: Vec<Vec<u8>> },
    /// `smoke.insecure = true`: no verification at all.
    Insecure,
}

/// `[cf]`: the target the deploy insists on, and the limits for cf calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfSettings {
    /// When set, the deploy refuses to run unless `cf target` shows this org; never
    /// blank.
    pub org: Option<String>,
    /// The same for the space; only set when `org` is.
    pub space: Option<String>,
    /// Limit for every cf call but the push and `cf start`.
    pub timeout: Duration,
    /// Limit for `cf start` (a rollback's, a recovery's): `cf.start-timeout`; else
    /// `cf.timeout` if that is set, as it always limited `cf start`; else cf's own limits
    /// ([`CfLimits::start_timeout`]).
    pub start_timeout: Duration,
}

pub const DEFAULT_LOCK_STALE_AFTER: Duration = Duration::from_secs(60 * 60);
pub const DEFAULT_LOCK_SETTLE: Duration = Duration::from_secs(2);
pub const DEFAULT_CF_TIMEOUT: Duration = Duration::from_secs(2 * 60);
pub const DEFAULT_SMOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// Long enough for the routers to stop sending new requests to the old app (their route
/// tables follow a change within a few seconds) and for the requests they already sent
/// to finish; short enough not to hold a deploy up.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(10);
pub const DEFAULT_SMOKE_INTERVAL: Duration = Duration::from_secs(2);
pub const DEFAULT_VERIFY_INTERVAL: Duration = Duration::from_secs(10);

/// The text of the file at `path`, or why it cannot be read.
fn read(path: &Path) -> Result<String, ConfigError> {
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
    String::from_utf8(bytes).map_err(|e| {
        read_error(
            format!(
                "it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
            "save the file as UTF-8",
        )
    })
}

impl Config {
    /// Reads the file at `path` and parses it, deriving the default limits of the push
    /// and `cf start` from cf's own `limits`, the smoke headers' variables from `env`. The file describes one pair: without
    /// `[[deployments]]`, or with one ([`Suite::load`] reads any number).
    pub fn load(
        path: &Path,
        limits: &CfLimits,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Suite::parse_in(&read(path)?, path, limits, env)?.into_single()
    }

    /// Parses `text` as if read from `path` (the path names the file in errors and anchors
    /// relative paths), with cf's default limits.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::parse_with(text, path, &CfLimits::default())
    }

    /// [`Config::parse`] with cf's limits as the environment sets them.
    pub fn parse_with(text: &str, path: &Path, limits: &CfLimits) -> Result<Config, ConfigError> {
        Suite::parse_with(text, path, limits)?.into_single()
    }

    /// The URLs the live routes serve, for people.
    pub fn live_urls(&self) -> String {
        self.live_url_list().join(", ")
    }

    /// The URLs the live routes serve, one each.
    pub fn live_url_list(&self) -> Vec<String> {
        // TCP and internal routes are not reached at an https:// URL.
        self.live
            .iter()
            .filter(|r| r.is_http() && !r.domain.ends_with("internal"))
            .map(|r| format!("https://{r}"))
            .collect()
    }

    /// The route `routes.live` names: the app that holds it is the live one.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid file; the tests of every stage vary it.
    pub(super) const MINIMAL: &str = r#"
[apps]
blue = "sinatra_a"
green = "sinatra_b"

[routes]
domain = "de.a9sapp.eu"
live = "sinatralive"
staging = "sinatrastaging"
"#;

    pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("deploy.toml"))
    }

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    /// The keys of the problems `text` has, in the order reported.
    pub(super) fn keys(text: &str) -> Vec<String> {
        problems(text).into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn empty_file() {
        assert_eq!(keys("  \n"), ["apps"]);
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        use crate::config::validate::is_dns_label;

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
                "start-timeout",
                "name",
                "deployments",
                "headers",
                "method",
                "insecure",
                "bogus",
            ]);
            let value = prop_oneof![
                "\"[a-z0-9_./ -]{0,12}\"".prop_map(|s| s),
                (-5i64..100_000).prop_map(|n| n.to_string()),
                Just("true".to_string()),
                Just("[\"-i\", \"2\"]".to_string()),
                Just("{ a = \"b\" }".to_string()),
                Just("{ X-A = \"${HOME}\", \"B C\" = \"$${x\" }".to_string()),
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
                "[[deployments]]",
                "[deployments.apps]",
                "[deployments.routes]",
                "[deployments.smoke]",
                "[deployments.switch]",
                "[[deployments.routes.extra]]",
                "[[smoke.checks]]",
                "[[deployments.smoke.checks]]",
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
            fn suite_shaped_text_never_panics(lines in prop::collection::vec(line(), 0..40)) {
                let text = lines.join("\n");
                match Suite::parse(&text, Path::new("deploy.toml")) {
                    Ok(s) => {
                        prop_assert!(!s.deployments.is_empty());
                        prop_assert!(s.deployments.iter().all(|d| d.config.blue != d.config.green && d.name == d.config.name));
                        prop_assert!(s.select(&[]).unwrap().len() == s.deployments.len());
                    }
                    Err(ConfigError::Syntax { line, column, .. }) => {
                        prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
                        prop_assert!(column >= 1);
                    }
                    Err(ConfigError::Invalid { problems, .. }) => prop_assert!(!problems.is_empty()),
                    Err(e) => prop_assert!(false, "unexpected {e}"),
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
