//! The validation stage: [`pair`] turns one pair's [`RawConfig`] into a [`Config`], one
//! function per section, checking everything that needs more than a type (DNS labels,
//! paths, durations, forbidden push flags).
//!
//! Every section is checked even after a problem, so that the user sees all of them at
//! once. They are listed in the order found: section by section as [`pair`] calls them,
//! and within a section in the order its function checks; tests assert that order.
//!
//! Values that work but may hurt (a time limit below cf's own) are warnings, not
//! problems: they end up in [`Config::warnings`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::headers::{self, Secret};
use super::raw::{
    RawApps, RawCf, RawCheck, RawConfig, RawLock, RawPush, RawRoutes, RawSmoke, RawSwitch,
    RawVerify,
};
use super::{
    CfLimits, CfSettings, Check, Config, LockSettings, OldApp, Problem, Push, Smoke, Switch, Tls,
    Unlisted, Verify, DEFAULT_CF_TIMEOUT, DEFAULT_DRAIN, DEFAULT_LOCK_SETTLE,
    DEFAULT_LOCK_STALE_AFTER, DEFAULT_SMOKE_INTERVAL, DEFAULT_SMOKE_TIMEOUT,
    DEFAULT_VERIFY_INTERVAL,
};
use crate::route::Route;

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

/// The problems found so far, in the order found; shared by every section's check.
#[derive(Debug, Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: &str, message: String) {
        self.0.push(Problem {
            key: key.to_string(),
            message,
        });
    }
}

/// One pair's `raw` tables (a classic file's, or a deployment's merged over the file's
/// defaults), read from `path`, as a [`Config`] without a name, or every problem they
/// have, keyed as in a classic file. Relative paths in the file are anchored at `path`'s
/// directory; the default limits of the push and of `cf start` come from cf's own
/// `limits`; `${VAR}` in the smoke headers from `env`.
pub(super) fn pair(
    raw: RawConfig,
    path: &Path,
    limits: &CfLimits,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<Problem>> {
    let mut problems = Problems::default();
    let mut warnings = unreadable_limits(limits);
    let base = path.parent().unwrap_or(Path::new(""));

    let Apps { blue, green } = apps(raw.apps, &mut problems);
    let Routes {
        live,
        staging,
        unlisted,
    } = routes(raw.routes, &mut problems);
    let push = push(raw.push, base, limits, &mut problems, &mut warnings);
    let SmokeSection {
        smoke,
        first_url_given: smoke_url_given,
        first_path: smoke_path,
        headers: smoke_headers,
    } = smoke(raw.smoke, &staging, base, env, &mut problems);
    let cf = cf(raw.cf, limits, &mut problems, &mut warnings);
    let lock = lock(raw.lock, &mut problems, &mut warnings);
    // Here rather than in `cf` only to keep the order problems have always been listed
    // in: cf.space came after the [lock] keys.
    space_needs_org(&cf, &mut problems);
    let live_check = LiveCheck {
        smoke: &smoke,
        smoke_url_given,
        smoke_path: smoke_path.as_deref(),
        main_live: &live[0],
    };
    let switch = switch(raw.switch, &live_check, &mut problems);
    let verify = verify(raw.verify, &live[0], smoke_headers, &mut problems);
    if smoke.tls == Tls::Insecure {
        warnings.push(insecure_warning(&smoke, &switch, verify.as_ref()));
    }

    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    Ok(Config {
        path: path.to_path_buf(),
        name: None,
        blue,
        green,
        live,
        staging,
        unlisted,
        push,
        smoke,
        switch,
        verify,
        cf,
        lock,
        warnings,
        label: None,
    })
}

/// `CF_STAGING_TIMEOUT` or `CF_STARTUP_TIMEOUT` set to what cf does not take for minutes:
/// the user meant a limit cf will not keep.
fn unreadable_limits(limits: &CfLimits) -> Vec<String> {
    limits
        .unreadable
        .iter()
        .map(|(name, value)| {
            let default = if name == "CF_STAGING_TIMEOUT" {
                super::limits::CF_DEFAULT_STAGING
            } else {
                super::limits::CF_DEFAULT_STARTUP
            };
            format!(
                "{name}={value} is not a number of minutes: cf v7 and v8 ignore it and wait their default {}; \
                 write minutes only, like {name}=20",
                humantime::format_duration(default)
            )
        })
        .collect()
}

/// The limit `key` sets for a call in which cf itself waits up to `limits.cf_wait()`:
/// `value` if given (it wins, with a warning when it is shorter than cf's wait), else
/// `default`.
fn limit_for_cf_wait(
    key: &str,
    value: Option<&str>,
    (what, default): (&str, Duration),
    limits: &CfLimits,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Duration {
    let Some(value) = value else { return default };
    let limit = duration(key, Some(value), default, problems);
    if limit < limits.cf_wait() {
        warnings.push(format!(
            "{key} = \"{value}\" is shorter than cf's own limits for {what} ({}): a slow app is killed \
             while cf is still waiting for it; leave {key} out (default here: {}) or raise it",
            limits.describe(),
            humantime::format_duration(default)
        ));
    }
    limit
}

/// `[apps]`, names trimmed.
struct Apps {
    blue: String,
    green: String,
}

fn apps(raw: RawApps, problems: &mut Problems) -> Apps {
    let blue = raw.blue.trim().to_string();
    let green = raw.green.trim().to_string();
    if blue.is_empty() {
        problems.add("apps.blue", "must name a CF app".into());
    }
    if green.is_empty() {
        problems.add("apps.green", "must name a CF app".into());
    }
    if !blue.is_empty() && blue == green {
        problems.add(
            "apps.green",
            format!("is the same app as apps.blue ({blue}); the pair needs two apps"),
        );
    }
    Apps { blue, green }
}

/// `[routes]`: the live routes (main one first, then the extra ones) and the staging route.
struct Routes {
    live: Vec<Route>,
    staging: Route,
    unlisted: Unlisted,
}

fn routes(raw: RawRoutes, problems: &mut Problems) -> Routes {
    check_domain("routes.domain", &raw.domain, problems);
    check_host("routes.live", &raw.live, problems);
    check_host("routes.staging", &raw.staging, problems);
    if let Some(p) = &raw.path {
        check_path("routes.path", p, problems);
    }
    if raw.live.eq_ignore_ascii_case(&raw.staging) {
        problems.add(
            "routes.staging",
            format!(
                "is the same hostname as routes.live ({}); the new version must be checked on a route of its own",
                raw.live
            ),
        );
    }
    let main_live = Route::new(&raw.live, &raw.domain, raw.path.as_deref());
    let staging = Route::new(&raw.staging, &raw.domain, raw.path.as_deref());
    let mut live = vec![main_live];
    for (i, extra) in raw.extra.iter().enumerate() {
        let key = format!("routes.extra[{i}]");
        check_domain(&format!("{key}.domain"), &extra.domain, problems);
        let route = match (extra.port, &extra.host) {
            (Some(port), host) => {
                if host.is_some() || extra.path.is_some() {
                    problems.add(
                        &key,
                        "a TCP route (with a port) has no host or path: give domain and port only"
                            .into(),
                    );
                }
                Route::tcp(&extra.domain, port)
            }
            (None, host) => {
                let host = host.as_deref().unwrap_or("");
                if host.is_empty() {
                    problems.add(
                        &format!("{key}.host"),
                        "is missing: an HTTP route needs a host (a TCP route, a port)".into(),
                    );
                } else {
                    check_host(&format!("{key}.host"), host, problems);
                }
                if let Some(p) = &extra.path {
                    check_path(&format!("{key}.path"), p, problems);
                }
                Route::new(host, &extra.domain, extra.path.as_deref())
            }
        };
        if route == staging {
            problems.add(
                &key,
                format!(
                    "is the staging route ({route}); a live route cannot also be the staging route"
                ),
            );
        } else if live.contains(&route) {
            problems.add(&key, format!("repeats the live route {route}"));
        }
        live.push(route);
    }
    Routes {
        live,
        staging,
        unlisted: raw.unlisted.unwrap_or(Unlisted::Move),
    }
}

/// `[push]`, with its paths anchored at `base`, the directory of the file; the push's
/// limit defaults to cf's own `limits` and the upload.
fn push(
    raw: RawPush,
    base: &Path,
    limits: &CfLimits,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Push {
    let timeout = limit_for_cf_wait(
        "push.timeout",
        raw.timeout.as_deref(),
        ("a push, after the upload", limits.push_timeout()),
        limits,
        problems,
        warnings,
    );
    let args = raw.args.unwrap_or_default();
    for (i, arg) in args.iter().enumerate() {
        let flag = arg.split('=').next().unwrap_or(arg);
        if ROUTE_FLAGS.contains(&flag) {
            problems.add(
                &format!("push.args[{i}]"),
                format!(
                    "`{arg}` is not allowed: the tool pushes with --no-route and maps the routes itself, after the new version passed its check (cf v7+ also removed push's -n/-d/--hostname)"
                ),
            );
        }
    }
    let mut vars = BTreeMap::new();
    for (k, v) in raw.vars.iter().flatten() {
        let value = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                problems.add(
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
    Push {
        path: raw.path.as_deref().map(resolve),
        manifest: raw.manifest.as_deref().map(resolve),
        vars_files: raw
            .vars_files
            .iter()
            .flatten()
            .map(|s| resolve(s))
            .collect(),
        vars,
        args,
        timeout,
    }
}

/// What `[smoke]` gives the other sections: the settings, and where its first check
/// points, which the live check follows.
struct SmokeSection {
    smoke: Smoke,
    /// The first check has a URL of its own (`smoke.url`, or a check's `url`).
    first_url_given: bool,
    /// The first check's path on the staging route, if it has one.
    first_path: Option<String>,
    /// `smoke.headers`, expanded: the verification sends them too.
    headers: BTreeMap<String, Secret>,
}

/// The methods a check may use.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// `[smoke]`: the single check of `smoke.url`/`path`/`expect-status`/`expect-body`, or
/// the `[[smoke.checks]]`, never both; each check's headers are `smoke.headers` with its
/// own over them, `${VAR}` taken from `env`; a `ca-cert` relative to `base`.
fn smoke(
    raw: RawSmoke,
    staging: &Route,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> SmokeSection {
    let common = header_table("smoke.headers", raw.headers, env, problems);
    let single = RawCheck {
        path: raw.path,
        url: raw.url,
        method: None,
        expect_status: raw.expect_status,
        expect_body: raw.expect_body,
        headers: None,
    };
    let raw_checks = match raw.checks {
        None => vec![(None, single)],
        Some(list) => {
            let beside: Vec<&str> = [
                ("smoke.url", single.url.is_some()),
                ("smoke.path", single.path.is_some()),
                ("smoke.expect-status", single.expect_status.is_some()),
                ("smoke.expect-body", single.expect_body.is_some()),
            ]
            .into_iter()
            .filter(|(_, set)| *set)
            .map(|(key, _)| key)
            .collect();
            if !beside.is_empty() {
                problems.add(
                    "smoke.checks",
                    format!(
                        "cannot stand beside {}, which describe the single check: move them into a [[smoke.checks]] table (path or url, expect-status, expect-body)",
                        beside.join(", ")
                    ),
                );
            }
            if list.is_empty() {
                problems.add(
                    "smoke.checks",
                    "is empty: give at least one [[smoke.checks]] table, or leave the key out for the single check of smoke.path".into(),
                );
            }
            list.into_iter()
                .enumerate()
                .map(|(i, c)| (Some(format!("smoke.checks[{i}]")), c))
                .collect()
        }
    };
    let mut first_url_given = false;
    let mut first_path = None;
    let mut checks = Vec::new();
    for (i, (key, raw_check)) in raw_checks.into_iter().enumerate() {
        if i == 0 {
            first_url_given = raw_check.url.as_deref().is_some_and(|u| !u.is_empty());
            first_path = raw_check.path.clone();
        }
        checks.push(check(key, raw_check, staging, &common, env, problems));
    }
    let tls = match (raw.insecure.unwrap_or(false), raw.ca_cert) {
        (true, Some(_)) => {
            problems.add(
                "smoke.insecure",
                "is true beside smoke.ca-cert: trust the CA (leave insecure out) or verify nothing, not both".into(),
            );
            Tls::Insecure
        }
        (true, None) => Tls::Insecure,
        (false, Some(ca)) => ca_cert(&resolve_path(base, &ca), problems),
        (false, None) => Tls::System,
    };
    let smoke = Smoke {
        enabled: raw.enabled.unwrap_or(true),
        url: checks.first().map(|c| c.url.clone()).unwrap_or_default(),
        checks,
        timeout: duration(
            "smoke.timeout",
            raw.timeout.as_deref(),
            DEFAULT_SMOKE_TIMEOUT,
            problems,
        ),
        interval: duration(
            "smoke.interval",
            raw.interval.as_deref(),
            DEFAULT_SMOKE_INTERVAL,
            problems,
        ),
        command: raw.command.unwrap_or_default(),
        tls,
    };
    SmokeSection {
        smoke,
        first_url_given,
        first_path,
        headers: common,
    }
}

/// One check, its problems under `key` (`smoke.checks[N]`; `None`: the single check,
/// whose keys are `smoke.*`). Without a URL of its own, the check asks for its path on
/// the `staging` route.
fn check(
    key: Option<String>,
    raw: RawCheck,
    staging: &Route,
    common: &BTreeMap<String, Secret>,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Check {
    let prefix = key.as_deref().unwrap_or("smoke");
    let url_given = raw.url.as_deref().filter(|u| !u.is_empty());
    if key.is_some() {
        match (url_given, &raw.path) {
            (Some(_), Some(_)) => problems.add(
                prefix,
                "has both path and url: give path (on the staging route) or url, not both".into(),
            ),
            (None, None) => problems.add(
                prefix,
                "needs a path (on the staging route, like \"/health\") or a url".into(),
            ),
            _ => {}
        }
    }
    let path = raw.path.unwrap_or_else(|| "/".into());
    if !path.starts_with('/') {
        problems.add(
            &format!("{prefix}.path"),
            format!("`{path}` must start with /"),
        );
    }
    let url = match url_given {
        Some(u) => {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                problems.add(
                    &format!("{prefix}.url"),
                    format!("`{u}` must start with http:// or https://"),
                );
            }
            u.to_string()
        }
        None => {
            let base_url = format!("https://{staging}");
            let base_url = base_url.trim_end_matches('/');
            format!("{base_url}{path}")
        }
    };
    let method = raw
        .method
        .as_deref()
        .map(|m| m.trim().to_ascii_uppercase())
        .unwrap_or_else(|| "GET".into());
    if !METHODS.contains(&method.as_str()) {
        problems.add(
            &format!("{prefix}.method"),
            format!(
                "`{}` is not a method the check sends: use one of {}",
                raw.method.as_deref().unwrap_or_default(),
                METHODS.join(", ")
            ),
        );
    }
    let expect_status = raw.expect_status.unwrap_or(200);
    if !(100..=599).contains(&expect_status) {
        problems.add(
            &format!("{prefix}.expect-status"),
            format!("{expect_status} is not an HTTP status (100-599)"),
        );
    }
    let expect_body = raw.expect_body.filter(|b| !b.is_empty());
    if method == "HEAD" && expect_body.is_some() {
        problems.add(
            &format!("{prefix}.expect-body"),
            "cannot be checked: the answer to HEAD has no body; use GET".into(),
        );
    }
    let own = header_table(&format!("{prefix}.headers"), raw.headers, env, problems);
    let headers = headers::over(own, common.clone())
        .into_iter()
        // "" drops a header the check would otherwise inherit.
        .filter(|(_, value)| !value.expose().is_empty())
        .collect();
    Check {
        key,
        method,
        url,
        expect_status,
        expect_body,
        headers,
    }
}

/// A table of headers (`key`: `smoke.headers`, `smoke.checks[N].headers`), names checked
/// and values expanded. Problems name the header and the variable, never the value.
fn header_table(
    key: &str,
    raw: Option<BTreeMap<String, Secret>>,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> BTreeMap<String, Secret> {
    let mut out: BTreeMap<String, Secret> = BTreeMap::new();
    for (name, template) in raw.unwrap_or_default() {
        let at = format!("{key}.{name}");
        if !headers::is_token(&name) {
            problems.add(
                &at,
                format!("`{name}` is not an HTTP header name: letters, digits and !#$%&'*+-.^_`|~ only, no spaces or colons"),
            );
            continue;
        }
        if let Some(other) = out.keys().find(|o| o.eq_ignore_ascii_case(&name)) {
            problems.add(
                &at,
                format!("repeats the header {other} (HTTP header names ignore case); keep one"),
            );
            continue;
        }
        match headers::expand(template.expose(), env) {
            Ok(value) if !headers::is_field_value(&value) => problems.add(
                &at,
                "has a control character (a line break?) in its value, which HTTP cannot carry; the value is not shown".into(),
            ),
            Ok(value) => {
                out.insert(name, Secret::new(value));
            }
            Err(e) => problems.add(&at, e.to_string()),
        }
    }
    out
}

/// `smoke.ca-cert` at `path`: the certificates of its PEM file.
fn ca_cert(path: &Path, problems: &mut Problems) -> Tls {
    let shown = path.display();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            problems.add(
                "smoke.ca-cert",
                format!("cannot read {shown}: {e}; give the PEM file of the CA that signed the smoke URL's certificate (relative paths start at the configuration's directory)"),
            );
            return Tls::System;
        }
    };
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c.der().to_vec()),
            Ok(_) => {}
            Err(e) => {
                problems.add(
                    "smoke.ca-cert",
                    format!("{shown} is not a PEM file that can be read ({e}); give the CA certificate in PEM (-----BEGIN CERTIFICATE-----)"),
                );
                return Tls::System;
            }
        }
    }
    if certs.is_empty() {
        problems.add(
            "smoke.ca-cert",
            format!("{shown} holds no certificate; give the CA certificate in PEM (-----BEGIN CERTIFICATE-----)"),
        );
        return Tls::System;
    }
    Tls::WithCa {
        path: path.to_path_buf(),
        certs,
    }
}

/// Said on every run with `smoke.insecure = true`, naming what is not verified.
fn insecure_warning(smoke: &Smoke, switch: &Switch, verify: Option<&Verify>) -> String {
    let mut urls: Vec<&str> = smoke.checks.iter().map(|c| c.url.as_str()).collect();
    urls.extend(switch.verify_live.as_deref());
    // The verification's URL is usually the live check's: named once.
    urls.extend(verify.map(|v| v.check.url.as_str()));
    urls.dedup();
    format!(
        "smoke.insecure = true: TLS certificates are not verified for {}, so an impostor could pass the check; trust the CA with smoke.ca-cert instead",
        urls.join(", ")
    )
}

/// `[cf]`, blank org and space taken as unset. See also [`space_needs_org`].
///
/// `cf start`'s limit: `cf.start-timeout`; without it, an explicit `cf.timeout`, which
/// has always limited `cf start` too and keeps that meaning in the files that set it
/// (with a warning if it cuts cf short); without either, cf's own `limits` and a minute
/// for its API calls.
fn cf(
    raw: RawCf,
    limits: &CfLimits,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> CfSettings {
    let nonempty = |s: Option<String>| s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let timeout = duration(
        "cf.timeout",
        raw.timeout.as_deref(),
        DEFAULT_CF_TIMEOUT,
        problems,
    );
    let default_start = limits.start_timeout();
    let start_timeout = match (raw.start_timeout.as_deref(), raw.timeout.as_deref()) {
        (Some(_), _) | (None, None) => limit_for_cf_wait(
            "cf.start-timeout",
            raw.start_timeout.as_deref(),
            ("`cf start`", default_start),
            limits,
            problems,
            warnings,
        ),
        (None, Some(v)) => {
            if timeout < limits.cf_wait() {
                warnings.push(format!(
                    "cf.timeout = \"{v}\" also limits `cf start` (a rollback's, a recovery's), as cf.start-timeout \
                     is not set, and is shorter than cf's own limits for it ({}): a slow app is killed while cf \
                     is still waiting for it; set cf.start-timeout = \"{}\"",
                    limits.describe(),
                    humantime::format_duration(default_start)
                ));
            }
            timeout
        }
    };
    CfSettings {
        org: nonempty(raw.org),
        space: nonempty(raw.space),
        timeout,
        start_timeout,
    }
}

/// A space names nothing without its org.
fn space_needs_org(cf: &CfSettings, problems: &mut Problems) {
    if cf.space.is_some() && cf.org.is_none() {
        problems.add(
            "cf.space",
            "is set without cf.org; set both or neither".into(),
        );
    }
}

/// `[lock]`. `lock.settle` is accepted and warned about: files written for the lock that
/// waited for its write to settle keep working. Its value still reaches [`LockSettings`]
/// for as long as the lock reads it, but a bad one is no longer a problem.
fn lock(raw: RawLock, problems: &mut Problems, warnings: &mut Vec<String>) -> LockSettings {
    if let Some(v) = &raw.settle {
        warnings.push(format!(
            "lock.settle = \"{v}\" is no longer used: the deploy lock needs no settle time; remove the key"
        ));
    }
    LockSettings {
        enabled: raw.enabled.unwrap_or(true),
        stale_after: duration(
            "lock.stale-after",
            raw.stale_after.as_deref(),
            DEFAULT_LOCK_STALE_AFTER,
            problems,
        ),
        settle: raw
            .settle
            .and_then(|v| humantime::parse_duration(v.trim()).ok())
            .unwrap_or(DEFAULT_LOCK_SETTLE),
    }
}

/// What `[switch]`'s live check needs of the other sections.
struct LiveCheck<'a> {
    smoke: &'a Smoke,
    smoke_url_given: bool,
    smoke_path: Option<&'a str>,
    main_live: &'a Route,
}

/// `[switch]`. The live check is on by default when the smoke check runs on its default
/// URL: then the same path, on the main live route, answers as the smoke check expects.
/// With a smoke URL of its own, only the user knows what the live route should answer,
/// so it is off unless asked for (and then checks `verify-live-url`, or the smoke path
/// on the main live route).
fn switch(raw: RawSwitch, live: &LiveCheck, problems: &mut Problems) -> Switch {
    let explicit_url = raw.verify_live_url.filter(|u| !u.is_empty());
    if let Some(u) = &explicit_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            problems.add(
                "switch.verify-live-url",
                format!("`{u}` must start with http:// or https://"),
            );
        }
    }
    let default_on = live.smoke.enabled && !live.smoke_url_given;
    let on = raw
        .verify_live
        .unwrap_or(default_on || explicit_url.is_some());
    let verify_live = on.then(|| {
        explicit_url.unwrap_or_else(|| {
            let base = format!("https://{}", live.main_live);
            format!(
                "{}{}",
                base.trim_end_matches('/'),
                live.smoke_path.unwrap_or("/")
            )
        })
    });
    Switch {
        old: raw.old.unwrap_or(OldApp::Stop),
        match_instances: raw.match_instances.unwrap_or(true),
        verify_live,
        drain: duration_or_zero(
            "switch.drain",
            raw.drain.as_deref(),
            DEFAULT_DRAIN,
            problems,
        ),
    }
}

/// `[verify]`: off without a `duration` (or with "0s"); its GET goes to `verify.url`, or
/// the main live URL, with `smoke.headers` (the smoke check's trust goes with it).
fn verify(
    raw: RawVerify,
    main_live: &Route,
    smoke_headers: BTreeMap<String, Secret>,
    problems: &mut Problems,
) -> Option<Verify> {
    let length = duration_or_zero(
        "verify.duration",
        raw.duration.as_deref(),
        Duration::ZERO,
        problems,
    );
    let interval = duration(
        "verify.interval",
        raw.interval.as_deref(),
        DEFAULT_VERIFY_INTERVAL,
        problems,
    );
    // By default as long as an interval, within 1s to 10s: a slow answer is a failed
    // check, but a busy app gets a second.
    let timeout = duration(
        "verify.timeout",
        raw.timeout.as_deref(),
        interval.clamp(Duration::from_secs(1), Duration::from_secs(10)),
        problems,
    );
    let url = match raw.url.as_deref().filter(|u| !u.is_empty()) {
        Some(u) => {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                problems.add(
                    "verify.url",
                    format!("`{u}` must start with http:// or https://"),
                );
            }
            u.to_string()
        }
        // The route as the router knows it: `https://live.example.com/`, or with its path.
        None if main_live.path.is_some() => format!("https://{main_live}"),
        None => format!("https://{main_live}/"),
    };
    let expect_status = raw.expect_status.unwrap_or(200);
    if !(100..=599).contains(&expect_status) {
        problems.add(
            "verify.expect-status",
            format!("{expect_status} is not an HTTP status (100-599)"),
        );
    }
    let command = raw.command.unwrap_or_default();
    if command.first().is_some_and(|p| p.trim().is_empty()) {
        problems.add(
            "verify.command",
            "starts with an empty program name: give the program first, like [\"./check-live.sh\"]"
                .into(),
        );
    }
    if length.is_zero() {
        return None;
    }
    if interval > length {
        problems.add(
            "verify.interval",
            format!(
                "`{}` is longer than verify.duration = `{}`: the live URL would be checked once at most; shorten the interval or lengthen the duration",
                humantime::format_duration(interval),
                humantime::format_duration(length)
            ),
        );
    }
    Some(Verify {
        duration: length,
        interval,
        timeout,
        check: Check {
            key: None,
            method: "GET".into(),
            url,
            expect_status,
            expect_body: raw.expect_body.filter(|b| !b.is_empty()),
            // "" drops a header, as it does for the smoke checks.
            headers: smoke_headers
                .into_iter()
                .filter(|(_, value)| !value.expose().is_empty())
                .collect(),
        },
        command,
    })
}

fn resolve_path(base: &Path, s: &str) -> PathBuf {
    let p = Path::new(s);
    if p.is_absolute() || base.as_os_str().is_empty() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Like [`duration`], where zero means "not at all".
fn duration_or_zero(
    key: &str,
    value: Option<&str>,
    default: Duration,
    problems: &mut Problems,
) -> Duration {
    match value.map(str::trim) {
        Some("0" | "0s") => Duration::ZERO,
        other => duration(key, other, default, problems),
    }
}

/// `value` as a duration ("90s", "1h 30m"), or `default` when the key is absent (or,
/// with a problem, when it is not a duration longer than zero).
fn duration(
    key: &str,
    value: Option<&str>,
    default: Duration,
    problems: &mut Problems,
) -> Duration {
    let Some(v) = value else { return default };
    match humantime::parse_duration(v.trim()) {
        Ok(d) if d.is_zero() => {
            problems.add(key, format!("`{v}` must be longer than zero"));
            default
        }
        Ok(d) => d,
        Err(e) => {
            problems.add(
                key,
                format!(
                    "`{v}` is not a duration ({e}); write it like \"90s\", \"2m\" or \"1h 30m\""
                ),
            );
            default
        }
    }
}

pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn check_host(key: &str, host: &str, problems: &mut Problems) {
    if !is_dns_label(host) {
        problems.add(
            key,
            format!(
                "`{host}` is not a valid hostname: use 1-63 letters, digits and hyphens, not starting or ending with a hyphen (no dots, no underscores)"
            ),
        );
    }
}

fn check_domain(key: &str, domain: &str, problems: &mut Problems) {
    if domain.len() > 253 || domain.split('.').any(|label| !is_dns_label(label)) {
        problems.add(
            key,
            format!("`{domain}` is not a valid domain: dot-separated labels of letters, digits and hyphens"),
        );
    }
}

fn check_path(key: &str, path: &str, problems: &mut Problems) {
    if !path.starts_with('/') {
        problems.add(key, format!("`{path}` must start with /"));
    } else if path == "/" {
        problems.add(key, "`/` is the root: leave the key out instead".into());
    } else if path.ends_with('/') {
        problems.add(key, format!("`{path}` must not end with /"));
    } else if path
        .chars()
        .any(|c| c.is_whitespace() || c == '?' || c == '#')
    {
        problems.add(key, format!("`{path}` must not contain spaces, ? or #"));
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::*;
    use crate::config::tests::{keys, parse, MINIMAL};

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
        assert_eq!(c.smoke.checks[0].expect_status, 200);
        assert_eq!(c.smoke.timeout, Duration::from_secs(60));
        // cf's own limits (staging 15m + startup 5m), an upload allowance and a minute
        // for the API calls: never shorter than cf's own waits.
        assert_eq!(c.push.timeout, Duration::from_secs(36 * 60));
        assert_eq!(c.cf.start_timeout, Duration::from_secs(21 * 60));
        assert_eq!(c.cf.timeout, DEFAULT_CF_TIMEOUT);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.switch.old, OldApp::Stop);
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
start-timeout = "30m"
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
        assert_eq!(c.smoke.checks[0].expect_status, 204);
        assert_eq!(c.smoke.checks[0].expect_body.as_deref(), Some("ok"));
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
        assert_eq!(c.switch.old, OldApp::Keep);
        assert_eq!(c.cf.org.as_deref(), Some("my-org"));
        assert_eq!(c.cf.timeout, Duration::from_secs(90));
        assert_eq!(c.cf.start_timeout, Duration::from_secs(30 * 60));
        assert_eq!(c.push.timeout, Duration::from_secs(15 * 60));
        // 15m is shorter than cf's own 20m: it wins, with a warning.
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].starts_with("push.timeout = \"15m\""));
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
        let text = format!("{MINIMAL}\n[push]\ntimeout = \"soon\"\n[smoke]\ntimeout = \"0s\"\ninterval = \"5 parsecs\"\n[cf]\ntimeout = \"\"\nstart-timeout = \"-1m\"\n");
        assert_eq!(
            keys(&text),
            [
                "push.timeout",
                "smoke.timeout",
                "smoke.interval",
                "cf.timeout",
                "cf.start-timeout"
            ]
        );
    }

    fn with_limits(text: &str, limits: &CfLimits) -> Config {
        Config::parse_with(text, Path::new("deploy.toml"), limits).unwrap()
    }

    #[test]
    fn default_limits_follow_cfs_own() {
        let limits = CfLimits::from_env(Some("30"), Some("10"));
        let c = with_limits(MINIMAL, &limits);
        // Upload 15m + staging 30m + startup 10m + 1m of API calls.
        assert_eq!(c.push.timeout, Duration::from_secs(56 * 60));
        assert_eq!(c.cf.start_timeout, Duration::from_secs(41 * 60));
        assert_eq!(c.cf.timeout, DEFAULT_CF_TIMEOUT);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn explicit_limits_win_and_short_ones_warn() {
        let limits = CfLimits::from_env(Some("30"), None);
        let text = format!("{MINIMAL}\n[push]\ntimeout = \"20m\"\n[cf]\nstart-timeout = \"10m\"\n");
        let c = with_limits(&text, &limits);
        assert_eq!(c.push.timeout, Duration::from_secs(20 * 60));
        assert_eq!(c.cf.start_timeout, Duration::from_secs(10 * 60));
        assert_eq!(
            c.warnings,
            [
                "push.timeout = \"20m\" is shorter than cf's own limits for a push, after the upload \
                 (staging 30m (CF_STAGING_TIMEOUT) + startup 5m): a slow app is killed while cf is still \
                 waiting for it; leave push.timeout out (default here: 51m) or raise it",
                "cf.start-timeout = \"10m\" is shorter than cf's own limits for `cf start` \
                 (staging 30m (CF_STAGING_TIMEOUT) + startup 5m): a slow app is killed while cf is still \
                 waiting for it; leave cf.start-timeout out (default here: 36m) or raise it",
            ]
        );
        // As long as cf's own limits, or longer: no warning.
        let text = format!("{MINIMAL}\n[push]\ntimeout = \"35m\"\n[cf]\nstart-timeout = \"2h\"\n");
        assert!(with_limits(&text, &limits).warnings.is_empty());
    }

    #[test]
    fn cf_timeout_limits_start_unless_start_timeout_is_set() {
        let short = format!("{MINIMAL}\n[cf]\ntimeout = \"1s\"\n");
        let c = parse(&short).unwrap();
        assert_eq!(c.cf.start_timeout, Duration::from_secs(1));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(
            c.warnings[0].starts_with("cf.timeout = \"1s\" also limits `cf start`"),
            "{}",
            c.warnings[0]
        );
        assert!(c.warnings[0].ends_with("set cf.start-timeout = \"21m\""));

        let long = format!("{MINIMAL}\n[cf]\ntimeout = \"30m\"\n");
        let c = parse(&long).unwrap();
        assert_eq!(c.cf.start_timeout, Duration::from_secs(30 * 60));
        assert!(c.warnings.is_empty());

        let both = format!("{MINIMAL}\n[cf]\ntimeout = \"1s\"\nstart-timeout = \"25m\"\n");
        let c = parse(&both).unwrap();
        assert_eq!(c.cf.timeout, Duration::from_secs(1));
        assert_eq!(c.cf.start_timeout, Duration::from_secs(25 * 60));
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn unreadable_cf_limits_warn() {
        let limits = CfLimits::from_env(Some("20m"), None);
        let c = with_limits(MINIMAL, &limits);
        assert_eq!(c.push.timeout, Duration::from_secs(36 * 60));
        assert_eq!(
            c.warnings,
            ["CF_STAGING_TIMEOUT=20m is not a number of minutes: cf v7 and v8 ignore it and wait their \
              default 15m; write minutes only, like CF_STAGING_TIMEOUT=20"]
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
    fn verify_is_off_by_default_and_checks_the_live_url_with_the_smoke_headers() {
        assert_eq!(parse(MINIMAL).unwrap().verify, None);
        let off = format!("{MINIMAL}\n[verify]\nduration = \"0s\"\ninterval = \"1s\"\n");
        assert_eq!(parse(&off).unwrap().verify, None);
        let on = format!(
            "{MINIMAL}\n[smoke]\nheaders = {{ Authorization = \"Bearer t\", X-Gone = \"\" }}\n[verify]\nduration = \"5m\"\nexpect-body = \"ok\"\n"
        );
        let v = parse(&on).unwrap().verify.unwrap();
        assert_eq!(v.duration, Duration::from_secs(300));
        assert_eq!(v.interval, DEFAULT_VERIFY_INTERVAL);
        // One request may take an interval, 1s to 10s, unless verify.timeout says.
        assert_eq!(v.timeout, Duration::from_secs(10));
        let fast = format!("{MINIMAL}\n[verify]\nduration = \"1m\"\ninterval = \"200ms\"\n");
        assert_eq!(
            parse(&fast).unwrap().verify.unwrap().timeout,
            Duration::from_secs(1)
        );
        let own = format!("{MINIMAL}\n[verify]\nduration = \"1m\"\ntimeout = \"30s\"\n");
        assert_eq!(
            parse(&own).unwrap().verify.unwrap().timeout,
            Duration::from_secs(30)
        );
        let bad = format!("{MINIMAL}\n[verify]\nduration = \"1m\"\ntimeout = \"soon\"\n");
        assert_eq!(keys(&bad), ["verify.timeout"]);
        assert_eq!(v.check.url, "https://sinatralive.de.a9sapp.eu/");
        assert_eq!(v.check.expect_status, 200);
        assert_eq!(v.check.expect_body.as_deref(), Some("ok"));
        assert_eq!(shown(&v.check.headers), [("Authorization", "Bearer t")]);
        assert!(v.command.is_empty());
    }

    #[test]
    fn bad_verify_values_name_their_keys() {
        let text = format!(
            "{MINIMAL}\n[verify]\nduration = \"soon\"\ninterval = \"0s\"\nurl = \"ftp://x\"\nexpect-status = 42\ncommand = [\"\"]\n"
        );
        assert_eq!(
            keys(&text),
            [
                "verify.duration",
                "verify.interval",
                "verify.url",
                "verify.expect-status",
                "verify.command"
            ]
        );
        let long = format!("{MINIMAL}\n[verify]\nduration = \"10s\"\ninterval = \"1m\"\n");
        let e = parse(&long).unwrap_err().to_string();
        assert!(
            e.contains("verify.interval: `1m` is longer than verify.duration = `10s`"),
            "{e}"
        );
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
    fn tcp_and_internal_extra_routes() {
        let c = parse(&format!(
            "{MINIMAL}\n[[routes.extra]]\ndomain = \"tcp.example.com\"\nport = 1234\n\
             [[routes.extra]]\nhost = \"shop\"\ndomain = \"apps.internal\"\n"
        ))
        .unwrap();
        assert_eq!(c.live[1], Route::tcp("tcp.example.com", 1234));
        assert_eq!(c.live[2].url(), "shop.apps.internal");
        assert_eq!(c.unlisted, Unlisted::Move);
        let bad = format!(
            "{MINIMAL}\n[[routes.extra]]\nhost = \"x\"\ndomain = \"tcp.example.com\"\nport = 1\n\
             [[routes.extra]]\ndomain = \"example.com\"\n"
        );
        assert_eq!(keys(&bad), ["routes.extra[0]", "routes.extra[1].host"]);
        let refuse =
            parse(&MINIMAL.replace("[routes]", "[routes]\nunlisted = \"refuse\"")).unwrap();
        assert_eq!(refuse.unlisted, Unlisted::Refuse);
    }

    #[test]
    fn lock_settle_is_accepted_with_a_warning() {
        let c = parse(&format!("{MINIMAL}\n[lock]\nsettle = \"1ms\"\n")).unwrap();
        assert_eq!(
            c.warnings,
            ["lock.settle = \"1ms\" is no longer used: the deploy lock needs no settle time; remove the key"]
        );
        // No longer checked: a value that is not a duration is no problem either.
        let c = parse(&format!("{MINIMAL}\n[lock]\nsettle = \"soon\"\n")).unwrap();
        assert_eq!(c.lock.settle, DEFAULT_LOCK_SETTLE);
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn switch_defaults_and_the_live_check() {
        let c = parse(MINIMAL).unwrap();
        assert!(c.switch.match_instances);
        assert_eq!(c.switch.drain, DEFAULT_DRAIN);
        // On by default with the default smoke URL: its path, on the main live route.
        assert_eq!(
            c.switch.verify_live.as_deref(),
            Some("https://sinatralive.de.a9sapp.eu/")
        );
        let c = parse(&format!("{MINIMAL}\n[smoke]\npath = \"/health\"\n")).unwrap();
        assert_eq!(
            c.switch.verify_live.as_deref(),
            Some("https://sinatralive.de.a9sapp.eu/health")
        );
        // Off with a smoke URL of the user's own, unless asked for.
        let own = format!("{MINIMAL}\n[smoke]\nurl = \"http://127.0.0.1:1/\"\n");
        assert_eq!(parse(&own).unwrap().switch.verify_live, None);
        let asked = format!("{own}[switch]\nverify-live-url = \"http://127.0.0.1:2/\"\n");
        assert_eq!(
            parse(&asked).unwrap().switch.verify_live.as_deref(),
            Some("http://127.0.0.1:2/")
        );
        let off = format!(
            "{MINIMAL}\n[switch]\nverify-live = false\ndrain = \"0s\"\nmatch-instances = false\n"
        );
        let c = parse(&off).unwrap();
        assert_eq!(c.switch.verify_live, None);
        assert_eq!(c.switch.drain, Duration::ZERO);
        assert!(!c.switch.match_instances);
        let bad = format!("{MINIMAL}\n[switch]\nverify-live-url = \"live\"\ndrain = \"soon\"\n");
        assert_eq!(keys(&bad), ["switch.verify-live-url", "switch.drain"]);
    }

    fn with_env(text: &str) -> Result<Config, crate::config::ConfigError> {
        let env = |name: &str| match name {
            "TOKEN" => Some("s3cr3t-token".to_string()),
            "TEAM" => Some("shop".to_string()),
            _ => None,
        };
        crate::config::Suite::parse_in(text, Path::new("deploy.toml"), &CfLimits::default(), &env)?
            .into_single()
    }

    fn shown(headers: &crate::config::Headers) -> Vec<(&str, &str)> {
        headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose()))
            .collect()
    }

    #[test]
    fn headers_take_variables_and_never_show_their_values() {
        let text = format!(
            "{MINIMAL}\n[smoke]\npath = \"/health\"\nheaders = {{ Authorization = \"Bearer ${{TOKEN}}\", X-Team = \"${{TEAM}}\", X-Literal = \"$${{NOT}}\" }}\n"
        );
        let c = with_env(&text).unwrap();
        assert_eq!(
            shown(&c.smoke.checks[0].headers),
            [
                ("Authorization", "Bearer s3cr3t-token"),
                ("X-Literal", "${NOT}"),
                ("X-Team", "shop")
            ]
        );
        let debug = format!("{c:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("Authorization"), "{debug}");
    }

    #[test]
    fn an_unset_variable_names_the_header_and_the_variable() {
        let text = format!(
            "{MINIMAL}\n[smoke]\nheaders = {{ Authorization = \"Bearer ${{MISSING}}\" }}\n"
        );
        let e = with_env(&text).unwrap_err().to_string();
        assert!(
            e.contains("smoke.headers.Authorization: takes the environment variable MISSING, which is not set"),
            "{e}"
        );
        // Without an environment, any variable is unset.
        assert_eq!(keys(&text), ["smoke.headers.Authorization"]);
    }

    #[test]
    fn bad_header_names_and_values() {
        let text = format!(
            "{MINIMAL}\n[smoke]\nheaders = {{ \"X Bad\" = \"1\", \"X-Inject\" = \"a\\r\\nInjected: s3cr3t\", Ok = \"1\", ok = \"2\", X-Open = \"${{TOKEN\" }}\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        assert_eq!(
            keys(&text),
            [
                "smoke.headers.X Bad",
                "smoke.headers.X-Inject",
                "smoke.headers.X-Open",
                "smoke.headers.ok"
            ]
        );
    }

    #[test]
    fn several_checks() {
        let text = format!(
            r#"{MINIMAL}
[smoke]
headers = {{ Authorization = "Bearer ${{TOKEN}}", X-Team = "shop" }}

[[smoke.checks]]
path = "/health"

[[smoke.checks]]
url = "https://api.example.com/v1/ping"
method = "post"
expect-status = 201
expect-body = "pong"
headers = {{ x-team = "api", Authorization = "" }}
"#
        );
        let c = with_env(&text).unwrap();
        let [health, ping] = c.smoke.checks.as_slice() else {
            panic!("{:?}", c.smoke.checks)
        };
        assert_eq!(health.key.as_deref(), Some("smoke.checks[0]"));
        assert_eq!(
            health.describe(),
            "GET https://sinatrastaging.de.a9sapp.eu/health"
        );
        assert_eq!(
            shown(&health.headers),
            [("Authorization", "Bearer s3cr3t-token"), ("X-Team", "shop")]
        );
        assert_eq!(ping.describe(), "POST https://api.example.com/v1/ping");
        assert_eq!(
            (ping.expect_status, ping.expect_body.as_deref()),
            (201, Some("pong"))
        );
        // Its own X-Team over the common one, whatever the case; "" drops Authorization.
        assert_eq!(shown(&ping.headers), [("x-team", "api")]);
        assert_eq!(c.smoke.url, "https://sinatrastaging.de.a9sapp.eu/health");
        assert_eq!(
            c.smoke.describe(),
            "GET https://sinatrastaging.de.a9sapp.eu/health, POST https://api.example.com/v1/ping"
        );
        // The live check follows the first check's path.
        assert_eq!(
            c.switch.verify_live.as_deref(),
            Some("https://sinatralive.de.a9sapp.eu/health")
        );
    }

    #[test]
    fn checks_and_the_single_check_do_not_mix() {
        let text = format!(
            "{MINIMAL}\n[smoke]\npath = \"/health\"\nexpect-status = 204\n[[smoke.checks]]\npath = \"/a\"\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("smoke.checks: cannot stand beside smoke.path, smoke.expect-status"),
            "{err}"
        );
        let bad = format!(
            "{MINIMAL}\n[smoke]\n[[smoke.checks]]\npath = \"/a\"\nurl = \"https://x/\"\n\
             [[smoke.checks]]\nmethod = \"FETCH\"\n[[smoke.checks]]\npath = \"b\"\nmethod = \"HEAD\"\nexpect-body = \"x\"\nexpect-status = 1000\n"
        );
        assert_eq!(
            keys(&bad),
            [
                "smoke.checks[0]",
                "smoke.checks[1]",
                "smoke.checks[1].method",
                "smoke.checks[2].path",
                "smoke.checks[2].expect-status",
                "smoke.checks[2].expect-body",
            ]
        );
        assert_eq!(
            keys(&format!("{MINIMAL}\n[smoke]\nchecks = []\n")),
            ["smoke.checks"]
        );
    }

    #[test]
    fn the_ca_cert_is_read_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert.pem()).unwrap();
        std::fs::write(dir.path().join("junk.pem"), "not a certificate\n").unwrap();
        let config = dir.path().join("deploy.toml");
        let load = |extra: &str| Config::parse(&format!("{MINIMAL}\n[smoke]\n{extra}\n"), &config);
        let c = load("ca-cert = \"ca.pem\"").unwrap();
        assert_eq!(
            c.smoke.tls,
            Tls::WithCa {
                path: dir.path().join("ca.pem"),
                certs: vec![ca.cert.der().to_vec()]
            }
        );
        for (extra, says) in [
            ("ca-cert = \"missing.pem\"", "cannot read"),
            ("ca-cert = \"junk.pem\"", "holds no certificate"),
            (
                "ca-cert = \"ca.pem\"\ninsecure = true",
                "smoke.insecure: is true beside smoke.ca-cert",
            ),
        ] {
            let err = load(extra).unwrap_err().to_string();
            assert!(err.contains(says), "{extra}: {err}");
        }
    }

    #[test]
    fn insecure_warns_naming_the_urls() {
        let c = parse(&format!("{MINIMAL}\n[smoke]\ninsecure = true\n")).unwrap();
        assert_eq!(c.smoke.tls, Tls::Insecure);
        assert_eq!(
            c.warnings,
            ["smoke.insecure = true: TLS certificates are not verified for https://sinatrastaging.de.a9sapp.eu/, \
              https://sinatralive.de.a9sapp.eu/, so an impostor could pass the check; trust the CA with smoke.ca-cert instead"]
        );
        assert_eq!(parse(MINIMAL).unwrap().smoke.tls, Tls::System);
    }

    #[test]
    fn the_readmes_verify_example_is_valid() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("### Verify after the switch").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let verify = &section[start..start + section[start..].find("```").unwrap()];
        let v = parse(&format!("{MINIMAL}\n{verify}"))
            .unwrap()
            .verify
            .unwrap();
        assert_eq!(v.duration, Duration::from_secs(300));
        assert_eq!(v.check.url, "https://sinatralive.de.a9sapp.eu/health");
        assert_eq!(v.command, ["./check-error-rate.sh"]);
    }

    #[test]
    fn the_readmes_smoke_example_is_valid() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("### Smoke checks for real services").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let smoke = &section[start..start + section[start..].find("```").unwrap()];
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("certs")).unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).unwrap();
        std::fs::write(dir.path().join("certs/internal-ca.pem"), ca.cert.pem()).unwrap();
        let env = |name: &str| Some(format!("value-of-{name}"));
        let c = crate::config::Suite::parse_in(
            &format!("{MINIMAL}\n{smoke}"),
            &dir.path().join("deploy.toml"),
            &CfLimits::default(),
            &env,
        )
        .unwrap()
        .into_single()
        .unwrap();
        let described: Vec<String> = c.smoke.checks.iter().map(Check::describe).collect();
        assert_eq!(
            described,
            [
                "GET https://sinatrastaging.de.a9sapp.eu/health",
                "GET https://sinatrastaging.de.a9sapp.eu/api/orders",
                "HEAD https://payments.internal.example.com/ping"
            ]
        );
        assert_eq!(
            shown(&c.smoke.checks[1].headers),
            [
                ("Authorization", "Bearer value-of-ORDERS_TOKEN"),
                ("X-Team", "shop")
            ]
        );
        assert_eq!(
            shown(&c.smoke.checks[2].headers),
            [("Authorization", "Bearer value-of-SMOKE_TOKEN")]
        );
        assert!(matches!(c.smoke.tls, Tls::WithCa { .. }));
    }
}
