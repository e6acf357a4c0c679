//! The file as a suite of app pairs: one pair for a classic file (`[apps]` and
//! `[routes]`), or one per `[[deployments]]` table, each a [`Config`] of its own.
//!
//! A deployment's `[push]`, `[smoke]`, `[switch]` and `[verify]` are merged over the top-level ones
//! key by key (`merge.rs`); `[cf]` and `[lock]` are top-level only. Each merged pair then
//! goes through the same validation as a classic file, and its problems are named with
//! their deployment (`deployments[1] (api).routes.live`). What only a suite can get wrong
//! (names, a missing `[apps]` or `[routes]`, two pairs sharing an app or a route) is
//! checked here. Every problem of the file is reported at once, in file order.

use std::path::{Path, PathBuf};

use super::raw::{RawConfig, RawDeployment, RawFile};
use super::validate::{self, is_dns_label};
use super::{read, syntax, CfLimits, Config, ConfigError, Problem};
use crate::route::Route;

/// The pairs one file describes, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    /// The file it was read from, as given.
    pub path: PathBuf,
    /// Never empty; a single one with no name for a file without `[[deployments]]`.
    pub deployments: Vec<Deployment>,
    /// Every pair's warnings, each once: one that holds for every pair (a top-level key,
    /// the environment) as it is, the others prefixed with their deployment.
    pub warnings: Vec<String>,
}

/// One app pair of a [`Suite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// `name`: `None` only for a file without `[[deployments]]`.
    pub name: Option<String>,
    /// The pair's settings, the file's defaults merged in; `config.name` is `name`.
    pub config: Config,
}

impl Suite {
    /// Reads the file at `path` and parses it, deriving the default limits of the push
    /// and `cf start` from cf's own `limits`, and taking the variables that smoke
    /// headers name (`${VAR}`) from `env`.
    pub fn load(
        path: &Path,
        limits: &CfLimits,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Suite, ConfigError> {
        Suite::parse_in(&read(path)?, path, limits, env)
    }

    /// Parses `text` as if read from `path`, with cf's default limits.
    pub fn parse(text: &str, path: &Path) -> Result<Suite, ConfigError> {
        Suite::parse_with(text, path, &CfLimits::default())
    }

    /// [`Suite::parse`] with cf's limits as the environment sets them, and no variables
    /// for the smoke headers.
    pub fn parse_with(text: &str, path: &Path, limits: &CfLimits) -> Result<Suite, ConfigError> {
        Suite::parse_in(text, path, limits, &|_| None)
    }

    /// [`Suite::parse_with`], with `env` giving the variables of the smoke headers.
    pub fn parse_in(
        text: &str,
        path: &Path,
        limits: &CfLimits,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Suite, ConfigError> {
        let only_comments = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if only_comments {
            return Err(invalid(
                path,
                vec![problem(
                    "apps",
                    "the file is empty (or only comments); see deploy.toml.example for every key"
                        .into(),
                )],
            ));
        }
        let raw: RawFile = toml::from_str(text).map_err(|e| syntax::error(text, path, &e))?;
        let deployments = match raw.deployments {
            None => vec![classic(raw, text, path, limits, env)?],
            Some(_) => deployments(raw, path, limits, env)?,
        };
        Ok(Suite {
            path: path.to_path_buf(),
            warnings: warnings(&deployments),
            deployments,
        })
    }

    /// Whether the file has `[[deployments]]`, each with a name.
    pub fn has_names(&self) -> bool {
        self.deployments[0].name.is_some()
    }

    /// The deployments' names, in file order; empty for a file without `[[deployments]]`.
    pub fn names(&self) -> Vec<&str> {
        self.deployments
            .iter()
            .filter_map(|d| d.name.as_deref())
            .collect()
    }

    /// The deployments `--only` picks, in file order (not in the order named): all of them
    /// when `only` is empty. A name the file does not have is an error listing those it
    /// has, and so is any name for a file without `[[deployments]]`.
    pub fn select(&self, only: &[String]) -> Result<Vec<&Deployment>, ConfigError> {
        if only.is_empty() {
            return Ok(self.deployments.iter().collect());
        }
        if !self.has_names() {
            return Err(ConfigError::OnlyWithoutDeployments {
                path: self.path.clone(),
            });
        }
        let names = self.names();
        if let Some(unknown) = only.iter().find(|n| !names.contains(&n.as_str())) {
            return Err(ConfigError::UnknownDeployment {
                path: self.path.clone(),
                name: unknown.clone(),
                known: names.iter().map(ToString::to_string).collect(),
            });
        }
        Ok(self
            .deployments
            .iter()
            .filter(|d| d.name.as_ref().is_some_and(|n| only.contains(n)))
            .collect())
    }

    /// The one pair of a file that describes one; an error naming the deployments when
    /// there are several.
    pub fn into_single(mut self) -> Result<Config, ConfigError> {
        if self.deployments.len() == 1 {
            return Ok(self.deployments.remove(0).config);
        }
        Err(ConfigError::SeveralDeployments {
            names: self.names().iter().map(ToString::to_string).collect(),
            path: self.path,
        })
    }
}

/// A file without `[[deployments]]`: one pair, read exactly as it always was.
fn classic(
    raw: RawFile,
    text: &str,
    path: &Path,
    limits: &CfLimits,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Deployment, ConfigError> {
    let (Some(apps), Some(routes)) = (raw.apps, raw.routes) else {
        // serde's own "missing field `routes`", at the place it gives, as before suites:
        // the classic shape requires both tables.
        return Err(match toml::from_str::<RawConfig>(text) {
            Err(e) => syntax::error(text, path, &e),
            Ok(_) => invalid(
                path,
                vec![problem("apps", "and [routes] are required".into())],
            ),
        });
    };
    let raw = RawConfig {
        apps,
        routes,
        push: raw.push,
        smoke: raw.smoke,
        switch: raw.switch,
        verify: raw.verify,
        cf: raw.cf,
        lock: raw.lock,
    };
    let config =
        validate::pair(raw, path, limits, env).map_err(|problems| invalid(path, problems))?;
    Ok(Deployment { name: None, config })
}

/// Every `[[deployments]]` table as a pair, or every problem of the file.
fn deployments(
    mut raw: RawFile,
    path: &Path,
    limits: &CfLimits,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Deployment>, ConfigError> {
    let list = raw.deployments.take().unwrap_or_default();
    let mut problems = Vec::new();
    for (key, present) in [
        ("apps", raw.apps.is_some()),
        ("routes", raw.routes.is_some()),
    ] {
        if present {
            problems.push(problem(
                key,
                format!(
                    "[{key}] is not allowed beside [[deployments]]: each deployment has its own [deployments.{key}]"
                ),
            ));
        }
    }
    if list.is_empty() {
        problems.push(problem(
            "deployments",
            "is empty: add a [[deployments]] table, with its name, apps and routes, for each app pair".into(),
        ));
    }
    let mut done: Vec<(String, Deployment)> = Vec::new();
    let mut names: Vec<(String, String)> = Vec::new();
    // (app, label): the apps of every deployment so far, valid or not, so that a pair
    // with other problems still hears that it shares an app.
    let mut apps: Vec<(String, String)> = Vec::new();
    for (i, d) in list.into_iter().enumerate() {
        let name = check_name(i, d.name.as_deref(), &names, &mut problems);
        let label = match &name {
            Some(n) => format!("deployments[{i}] ({n})"),
            None => format!("deployments[{i}]"),
        };
        if let Some(n) = &name {
            names.push((n.clone(), label.clone()));
        }
        let own_apps: Vec<(&str, String)> = d
            .apps
            .iter()
            .flat_map(|a| [("apps.blue", a.blue.trim()), ("apps.green", a.green.trim())])
            .filter(|(_, app)| !app.is_empty())
            .map(|(key, app)| (key, app.to_string()))
            .collect();
        let config = merged(d, &raw, &label, &mut problems).and_then(|pair| {
            validate::pair(pair, path, limits, env)
                .map_err(|own| {
                    problems.extend(own.into_iter().map(|p| Problem {
                        key: format!("{label}.{}", p.key),
                        message: p.message,
                    }));
                })
                .ok()
        });
        shared_app(&label, &own_apps, &apps, &mut problems);
        if let Some(mut config) = config {
            config.name.clone_from(&name);
            shared_route(&label, &config, &done, &mut problems);
            done.push((label.clone(), Deployment { name, config }));
        }
        apps.extend(own_apps.into_iter().map(|(_, app)| (app, label.clone())));
    }
    if !problems.is_empty() {
        return Err(invalid(path, problems));
    }
    Ok(done.into_iter().map(|(_, d)| d).collect())
}

/// Deployment `i`'s name, if it is one: a DNS label in lower case (it is typed after
/// `--only` and shows in every message about the pair), and not the name of an earlier
/// one (`earlier`: (name, label)).
fn check_name(
    i: usize,
    name: Option<&str>,
    earlier: &[(String, String)],
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let key = format!("deployments[{i}].name");
    let Some(name) = name else {
        problems.push(problem(
            &key,
            "is missing: every deployment needs a name, for --only and for messages".into(),
        ));
        return None;
    };
    if !is_dns_label(name) || name.bytes().any(|b| b.is_ascii_uppercase()) {
        problems.push(problem(
            &key,
            format!(
                "`{name}` is not a valid name: use 1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen"
            ),
        ));
        return None;
    }
    if let Some((_, label)) = earlier.iter().find(|(n, _)| n == name) {
        problems.push(problem(
            &key,
            format!("`{name}` is already the name of {label}; each deployment needs its own"),
        ));
        return None;
    }
    Some(name.to_string())
}

/// The deployment's tables over the file's defaults, or `None` when it lacks `[apps]`
/// or `[routes]` (a problem each).
fn merged(
    d: RawDeployment,
    file: &RawFile,
    label: &str,
    problems: &mut Vec<Problem>,
) -> Option<RawConfig> {
    if d.apps.is_none() {
        problems.push(problem(
            &format!("{label}.apps"),
            "is missing: each deployment names its two apps in [deployments.apps] (blue, green)"
                .into(),
        ));
    }
    if d.routes.is_none() {
        problems.push(problem(
            &format!("{label}.routes"),
            "is missing: each deployment has its own [deployments.routes] (domain, live, staging)"
                .into(),
        ));
    }
    Some(RawConfig {
        apps: d.apps?,
        routes: d.routes?,
        push: d.push.over(file.push.clone()),
        smoke: d.smoke.over(file.smoke.clone()),
        switch: d.switch.over(file.switch.clone()),
        verify: d.verify.over(file.verify.clone()),
        cf: file.cf.clone(),
        lock: file.lock.clone(),
    })
}

/// Two pairs that drive one app would undo each other's work: the apps of deployment
/// `label` (`own`: (key, app)) against those of the deployments before it (`earlier`:
/// (app, label)).
fn shared_app(
    label: &str,
    own: &[(&str, String)],
    earlier: &[(String, String)],
    problems: &mut Vec<Problem>,
) {
    for (key, app) in own {
        // cf's app names are unique in a space regardless of case.
        if let Some((_, other)) = earlier.iter().find(|(a, _)| a.eq_ignore_ascii_case(app)) {
            problems.push(problem(
                &format!("{label}.{key}"),
                format!("`{app}` is also an app of {other}; two pairs cannot drive the same app"),
            ));
        }
    }
}

/// Two pairs that hold one route would take it from each other: the routes of `config`
/// against those of the valid pairs before it (`earlier`: (label, deployment)).
fn shared_route(
    label: &str,
    config: &Config,
    earlier: &[(String, Deployment)],
    problems: &mut Vec<Problem>,
) {
    for (key, route) in routes(config) {
        let other = earlier.iter().find_map(|(l, d)| {
            routes(&d.config)
                .find(|(_, r)| *r == route)
                .map(|(k, _)| (l, k))
        });
        if let Some((other, other_key)) = other {
            problems.push(problem(
                &format!("{label}.{key}"),
                format!("`{route}` is also {other_key} of {other}; two pairs cannot share a route"),
            ));
        }
    }
}

/// The pair's live routes and its staging route, with the keys that name them.
fn routes(config: &Config) -> impl Iterator<Item = (String, &Route)> {
    let live = config.live.iter().enumerate().map(|(i, r)| match i {
        0 => ("routes.live".to_string(), r),
        _ => (format!("routes.extra[{}]", i - 1), r),
    });
    live.chain(std::iter::once((
        "routes.staging".to_string(),
        &config.staging,
    )))
}

/// Each pair's warnings, a warning every pair has only once and as it is (it comes from
/// a top-level key or from the environment), the others with their deployment.
fn warnings(deployments: &[Deployment]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, d) in deployments.iter().enumerate() {
        for w in &d.config.warnings {
            let everyones = deployments.iter().all(|o| o.config.warnings.contains(w));
            let line = match (&d.name, everyones) {
                (Some(name), false) => format!("deployments[{i}] ({name}): {w}"),
                _ => w.clone(),
            };
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

fn problem(key: &str, message: String) -> Problem {
    Problem {
        key: key.to_string(),
        message,
    }
}

fn invalid(path: &Path, problems: Vec<Problem>) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::tests::MINIMAL;
    use crate::config::OldApp;

    /// Two pairs, `web` and `api`, with top-level defaults.
    const SUITE: &str = r#"
[switch]
old = "keep"
drain = "20s"

[smoke]
timeout = "30s"
path = "/ping"

[push]
args = ["-i", "2"]
vars = { region = "eu", tier = "std" }

[cf]
org = "o"
space = "s"

[lock]
stale-after = "2h"

[[deployments]]
name = "web"
[deployments.apps]
blue = "web-a"
green = "web-b"
[deployments.routes]
domain = "example.com"
live = "www"
staging = "www-stg"

[[deployments]]
name = "api"
[deployments.apps]
blue = "api-a"
green = "api-b"
[deployments.routes]
domain = "example.com"
live = "api"
staging = "api-stg"
[deployments.switch]
drain = "5s"
[deployments.smoke]
path = "/health"
[deployments.push]
path = "api"
args = ["-k", "1G"]
vars = { tier = "gold" }
"#;

    /// One pair as a `[[deployments]]` table.
    fn deployment(name: &str, blue: &str, green: &str, live: &str, staging: &str) -> String {
        format!(
            "\n[[deployments]]\nname = \"{name}\"\n[deployments.apps]\nblue = \"{blue}\"\ngreen = \"{green}\"\n\
             [deployments.routes]\ndomain = \"example.com\"\nlive = \"{live}\"\nstaging = \"{staging}\"\n"
        )
    }

    fn parse(text: &str) -> Result<Suite, ConfigError> {
        Suite::parse(text, Path::new("/srv/deploy.toml"))
    }

    /// The problems of `text`, as the user reads them.
    fn problems(text: &str) -> Vec<String> {
        match parse(text) {
            Err(ConfigError::Invalid { problems, .. }) => problems
                .iter()
                .map(|p| p.to_string().trim().to_string())
                .collect(),
            other => panic!("expected validation problems, got {other:?}"),
        }
    }

    #[test]
    fn a_classic_file_is_one_pair_without_a_name() {
        let suite = parse(MINIMAL).unwrap();
        assert_eq!(suite.deployments.len(), 1);
        assert_eq!(suite.deployments[0].name, None);
        assert!(!suite.has_names());
        assert!(suite.names().is_empty());
        let config = Config::parse(MINIMAL, Path::new("/srv/deploy.toml")).unwrap();
        assert_eq!(config.name, None);
        assert_eq!(suite.deployments[0].config, config);
        assert_eq!(suite.select(&[]).unwrap().len(), 1);
        assert_eq!(suite.into_single().unwrap(), config);
    }

    #[test]
    fn verify_merges_key_by_key_and_follows_each_pairs_live_route() {
        let text = r#"
[verify]
duration = "5m"
expect-body = "ok"

[[deployments]]
name = "web"
[deployments.apps]
blue = "web-a"
green = "web-b"
[deployments.routes]
domain = "example.com"
live = "www"
staging = "www-stg"

[[deployments]]
name = "api"
[deployments.apps]
blue = "api-a"
green = "api-b"
[deployments.routes]
domain = "example.com"
live = "api"
staging = "api-stg"
[deployments.verify]
interval = "30s"
"#;
        let suite = parse(text).unwrap();
        let web = suite.deployments[0].config.verify.as_ref().unwrap();
        let api = suite.deployments[1].config.verify.as_ref().unwrap();
        assert_eq!(web.check.url, "https://www.example.com/");
        assert_eq!(api.check.url, "https://api.example.com/");
        assert_eq!(web.interval, crate::config::DEFAULT_VERIFY_INTERVAL);
        assert_eq!(api.interval, Duration::from_secs(30));
        assert_eq!(api.duration, Duration::from_secs(300));
        assert_eq!(api.check.expect_body.as_deref(), Some("ok"));
        // A deployment turns it off with "0s".
        let off = text.replace("interval = \"30s\"", "duration = \"0s\"");
        assert_eq!(parse(&off).unwrap().deployments[1].config.verify, None);
    }

    #[test]
    fn deployments_override_the_defaults_key_by_key() {
        let suite = parse(SUITE).unwrap();
        assert_eq!(suite.names(), ["web", "api"]);
        let web = &suite.deployments[0].config;
        let api = &suite.deployments[1].config;
        assert_eq!(web.name.as_deref(), Some("web"));
        assert_eq!((web.blue.as_str(), web.green.as_str()), ("web-a", "web-b"));
        assert_eq!(api.main_live().url(), "api.example.com");

        // [switch]: api's drain wins, its old comes from the top.
        assert_eq!(web.switch.drain, Duration::from_secs(20));
        assert_eq!(api.switch.drain, Duration::from_secs(5));
        assert_eq!(api.switch.old, OldApp::Keep);
        // [smoke]: api's path, the top's timeout; the URLs on each pair's own routes.
        assert_eq!(web.smoke.url, "https://www-stg.example.com/ping");
        assert_eq!(api.smoke.url, "https://api-stg.example.com/health");
        assert_eq!(api.smoke.timeout, Duration::from_secs(30));
        assert_eq!(
            api.switch.verify_live.as_deref(),
            Some("https://api.example.com/health")
        );
        // [push]: a list is replaced whole, vars merge by name, paths are the file's.
        assert_eq!(web.push.args, ["-i", "2"]);
        assert_eq!(api.push.args, ["-k", "1G"]);
        assert_eq!(web.push.vars["tier"], "std");
        assert_eq!(api.push.vars["tier"], "gold");
        assert_eq!(api.push.vars["region"], "eu");
        assert_eq!(api.push.path, Some(PathBuf::from("/srv/api")));
        assert_eq!(web.push.path, None);
        // [cf] and [lock] hold for every pair.
        for c in [web, api] {
            assert_eq!(c.cf.org.as_deref(), Some("o"));
            assert_eq!(c.lock.stale_after, Duration::from_secs(2 * 60 * 60));
        }
        assert!(suite.warnings.is_empty(), "{:?}", suite.warnings);
    }

    #[test]
    fn the_examples_deployments_are_valid() {
        let example = include_str!("../../deploy.toml.example");
        // The example with its [apps] and [routes] swapped for its commented deployments.
        let defaults = &example[example.find("\n[push]").unwrap()..];
        let block = &example[example.find("# [[deployments]]").unwrap()..];
        let deployments: String = block
            .lines()
            .map(|l| format!("{}\n", l.trim_start_matches('#').trim_start()))
            .collect();
        let suite = parse(&format!("{defaults}\n{deployments}")).unwrap();
        assert_eq!(suite.names(), ["web", "api"]);
        let (web, api) = (&suite.deployments[0].config, &suite.deployments[1].config);
        assert_eq!(web.main_live().url(), "weblive.de.a9sapp.eu");
        assert_eq!(api.push.path, Some(PathBuf::from("/srv/api")));
        assert_eq!(web.switch.drain, crate::config::DEFAULT_DRAIN);
        assert_eq!(api.switch.drain, Duration::from_secs(30));
        assert_eq!(api.switch.old, web.switch.old);
    }

    #[test]
    fn the_readmes_example_is_valid() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("### Several app pairs in one file").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let text = &section[start..start + section[start..].find("```").unwrap()];
        let suite = parse(text).unwrap();
        assert_eq!(suite.names(), ["web", "api"]);
        let api = &suite.deployments[1].config;
        assert_eq!(api.switch.drain, Duration::from_secs(30));
        assert_eq!(api.switch.old, OldApp::Stop);
    }

    #[test]
    fn select_picks_in_file_order() {
        let suite = parse(SUITE).unwrap();
        let names = |only: &[&str]| -> Vec<String> {
            let only: Vec<String> = only.iter().map(ToString::to_string).collect();
            suite
                .select(&only)
                .unwrap()
                .iter()
                .map(|d| d.name.clone().unwrap())
                .collect()
        };
        assert_eq!(names(&[]), ["web", "api"]);
        assert_eq!(names(&["api"]), ["api"]);
        assert_eq!(names(&["api", "web", "api"]), ["web", "api"]);
    }

    #[test]
    fn select_refuses_unknown_names_and_a_classic_file() {
        let suite = parse(SUITE).unwrap();
        let err = suite.select(&["web".into(), "worker".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/srv/deploy.toml has no deployment named `worker`; its deployments: web, api"
        );
        let classic = parse(MINIMAL).unwrap();
        let err = classic.select(&["web".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--only picks [[deployments]] by name, and /srv/deploy.toml has none: it describes one app pair"
        );
    }

    #[test]
    fn one_pair_is_all_config_load_takes() {
        let one = deployment("web", "a", "b", "live", "stg");
        let config = Config::parse(&one, Path::new("deploy.toml")).unwrap();
        assert_eq!(config.name.as_deref(), Some("web"));
        let err = Config::parse(SUITE, Path::new("deploy.toml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "deploy.toml holds 2 deployments (web, api); this runs one app pair"
        );
    }

    #[test]
    fn problems_name_their_deployment() {
        let text = format!(
            "{}{}",
            deployment("web", "a", "b", "live", "stg"),
            deployment("api", "c", "c", "my_live", "stg2")
        );
        assert_eq!(
            problems(&text),
            [
                "deployments[1] (api).apps.green: is the same app as apps.blue (c); the pair needs two apps",
                "deployments[1] (api).routes.live: `my_live` is not a valid hostname: use 1-63 letters, digits and hyphens, not starting or ending with a hyphen (no dots, no underscores)",
            ]
        );
    }

    #[test]
    fn apps_and_routes_beside_deployments() {
        let text = format!("{MINIMAL}{}", deployment("web", "x", "y", "l2", "s2"));
        assert_eq!(
            problems(&text),
            [
                "apps: [apps] is not allowed beside [[deployments]]: each deployment has its own [deployments.apps]",
                "routes: [routes] is not allowed beside [[deployments]]: each deployment has its own [deployments.routes]",
            ]
        );
    }

    #[test]
    fn an_empty_list_of_deployments() {
        assert_eq!(
            problems("deployments = []\n"),
            ["deployments: is empty: add a [[deployments]] table, with its name, apps and routes, for each app pair"]
        );
    }

    #[test]
    fn names_are_required_valid_and_unique() {
        let text = format!(
            "{}{}{}{}",
            deployment("web", "a", "b", "l1", "s1"),
            deployment("Web_1", "c", "d", "l2", "s2"),
            deployment("web", "e", "f", "l3", "s3"),
            deployment("x", "g", "h", "l4", "s4").replace("name = \"x\"\n", "")
        );
        assert_eq!(
            problems(&text),
            [
                "deployments[1].name: `Web_1` is not a valid name: use 1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen",
                "deployments[2].name: `web` is already the name of deployments[0] (web); each deployment needs its own",
                "deployments[3].name: is missing: every deployment needs a name, for --only and for messages",
            ]
        );
        for bad in ["", "-web", "a.b", &"a".repeat(64)] {
            let text = deployment(bad, "a", "b", "l", "s");
            assert_eq!(problems(&text).len(), 1, "{bad:?}");
        }
    }

    #[test]
    fn a_deployment_without_apps_or_routes() {
        let text = "[[deployments]]\nname = \"web\"\n";
        assert_eq!(
            problems(text),
            [
                "deployments[0] (web).apps: is missing: each deployment names its two apps in [deployments.apps] (blue, green)",
                "deployments[0] (web).routes: is missing: each deployment has its own [deployments.routes] (domain, live, staging)",
            ]
        );
    }

    #[test]
    fn two_pairs_cannot_share_an_app_or_a_route() {
        let text = format!(
            "{}{}{}",
            deployment("web", "a", "b", "live", "stg"),
            deployment("api", "c", "A", "live", "api-stg"),
            deployment("jobs", "d", "e", "jobs", "api-stg")
        );
        assert_eq!(
            problems(&text),
            [
                "deployments[1] (api).apps.green: `A` is also an app of deployments[0] (web); two pairs cannot drive the same app",
                "deployments[1] (api).routes.live: `live.example.com` is also routes.live of deployments[0] (web); two pairs cannot share a route",
                "deployments[2] (jobs).routes.staging: `api-stg.example.com` is also routes.staging of deployments[1] (api); two pairs cannot share a route",
            ]
        );
        let extra = format!(
            "{}{}[[deployments.routes.extra]]\nhost = \"www\"\ndomain = \"example.com\"\n{}[[deployments.routes.extra]]\nhost = \"www\"\ndomain = \"example.com\"\n",
            deployment("web", "a", "b", "live", "stg"),
            "",
            deployment("api", "c", "d", "api", "api-stg"),
        );
        assert_eq!(
            problems(&extra),
            ["deployments[1] (api).routes.extra[0]: `www.example.com` is also routes.extra[0] of deployments[0] (web); two pairs cannot share a route"]
        );
    }

    #[test]
    fn every_problem_of_the_file_at_once() {
        let text = format!(
            "[routes]\ndomain = \"d.com\"\nlive = \"l\"\nstaging = \"s\"\n{}{}",
            deployment("web", "a", "b", "live", "stg"),
            deployment("web", "a", "c", "bad_live", "stg2")
        );
        let err = parse(&text).unwrap_err().to_string();
        let keys: Vec<&str> = err
            .lines()
            .skip(1)
            .map(|l| l.trim().split(": ").next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "routes",
                "deployments[1].name",
                "deployments[1].routes.live",
                "deployments[1].apps.blue"
            ]
        );
        assert!(
            err.starts_with("/srv/deploy.toml has 4 problems:\n"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_in_a_deployment_keep_line_and_column() {
        let text = format!(
            "{}[deployments.cf]\norg = \"o\"\n",
            deployment("web", "a", "b", "l", "s")
        );
        match parse(&text).unwrap_err() {
            ConfigError::Syntax { line, message, .. } => {
                assert_eq!(line, 11, "{message}");
                assert!(message.starts_with("unknown field `cf`"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let text = format!(
            "{}[deployments.smoke]\nexpect-status = \"200\"\n",
            deployment("web", "a", "b", "l", "s")
        );
        assert!(
            matches!(
                parse(&text).unwrap_err(),
                ConfigError::Syntax { line: 12, .. }
            ),
            "{text}"
        );
    }

    #[test]
    fn a_classic_file_without_routes_is_the_same_error_as_before() {
        let err = parse("[apps]\nblue = \"a\"\ngreen = \"b\"\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::Syntax { message, .. } if message == "missing field `routes`"),
            "{err:?}"
        );
    }

    #[test]
    fn warnings_are_said_once_and_named_when_a_pair_has_its_own() {
        let text = format!(
            "[push]\ntimeout = \"10m\"\n{}{}[deployments.push]\ntimeout = \"1h\"\n{}[deployments.push]\ntimeout = \"5m\"\n",
            deployment("web", "a", "b", "l1", "s1"),
            deployment("api", "c", "d", "l2", "s2"),
            deployment("jobs", "e", "f", "l3", "s3"),
        );
        let limits = CfLimits::from_env(Some("x"), None);
        let suite = Suite::parse_with(&text, Path::new("deploy.toml"), &limits).unwrap();
        let starts: Vec<&str> = suite
            .warnings
            .iter()
            .map(|w| w.split(" is").next().unwrap())
            .collect();
        assert_eq!(
            starts,
            [
                "CF_STAGING_TIMEOUT=x",
                "deployments[0] (web): push.timeout = \"10m\"",
                "deployments[2] (jobs): push.timeout = \"5m\"",
            ]
        );
        // Each pair still has all of its own, as a classic file's Config does.
        assert_eq!(suite.deployments[0].config.warnings.len(), 2);
        assert_eq!(suite.deployments[1].config.warnings.len(), 1);
    }
}
