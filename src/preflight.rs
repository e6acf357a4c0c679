//! The read-only start of every command: cf runs, is logged in and targeted, and what
//! both apps look like — routes, state, GUIDs and the records the tool keeps on them.
//! Independent calls run side by side, once the first call that needs the login has run
//! alone (see [`preflight`]).

use std::collections::BTreeMap;
use std::thread;

use crate::cf::{AppStatus, CfError, Target, Version};
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::metadata::AppMeta;
use crate::plan::PairState;
use crate::route::Route;

/// What the read-only preflight found.
#[derive(Debug, Clone)]
pub struct Observed {
    pub version: Version,
    pub target: Target,
    pub pair: PairState,
    /// GUID and annotations of each app that exists.
    pub meta: BTreeMap<String, AppMeta>,
}

/// Checks that cf runs and is logged in and targeted, and reads both apps. Read-only.
pub fn preflight(ctx: &Context) -> Result<Observed, Error> {
    let config = ctx.config;
    let version = ctx.cf.version().map_err(|e| match e {
        CfError::Start { .. } => Error::CfMissing(e),
        other => Error::Environment {
            message: format!("`cf version` did not work: {other}"),
            hint: "check that --cf or CF_BIN names the cf CLI".into(),
        },
    })?;
    if version.major < 6 {
        return Err(Error::Environment {
            message: format!("cf {} is too old", version.full),
            hint: "install cf CLI v7 or v8".into(),
        });
    }
    // The first call that sends the access token runs alone. Each cf process that finds
    // the token expired refreshes it and rewrites config.json — cf v6 in place — so
    // refreshes side by side race, and a read during one can see half a file. `cf target`
    // only reads the login from config.json (v6, v7, v8), so `cf app` is that first call.
    // Its result waits for the others, so that errors come in the usual order (the login
    // and the target first).
    let blue = ctx.cf.app(&config.blue);
    // The rest, with a fresh token, side by side.
    let (target, observed) = thread::scope(|s| {
        let target = s.spawn(|| ctx.cf.target());
        let pair = s.spawn(|| observe_given(ctx, Some(blue)));
        (
            target.join().expect("cf target thread"),
            pair.join().expect("cf app thread"),
        )
    });
    let target = target.map_err(|e| match e {
        CfError::Failed { ref output, .. } if crate::cf::parse::is_not_logged_in(output) => {
            Error::Environment {
                message: "cf is not logged in".into(),
                hint: "run `cf login` first (in CI: `cf auth` with CF_USERNAME and CF_PASSWORD set, then `cf target -o ORG -s SPACE`)".into(),
            }
        }
        other => Error::Observe(other),
    })?;
    let (Some(org), Some(space)) = (&target.org, &target.space) else {
        return Err(Error::Environment {
            message: "cf has no org and space targeted".into(),
            hint: match (&config.cf.org, &config.cf.space) {
                (Some(o), Some(s)) => format!("run `cf target -o {o} -s {s}`"),
                _ => "run `cf target -o ORG -s SPACE`".into(),
            },
        });
    };
    let org_ok = config.cf.org.as_ref().is_none_or(|o| o == org);
    let space_ok = config.cf.space.as_ref().is_none_or(|s| s == space);
    if !org_ok || !space_ok {
        let wanted_org = config.cf.org.as_deref().unwrap_or(org);
        let wanted_space = config.cf.space.as_deref().unwrap_or(space);
        return Err(Error::Environment {
            message: format!(
                "cf targets org {org} / space {space}, but {} requires org {wanted_org} / space {wanted_space}",
                config.path.display()
            ),
            hint: format!("run `cf target -o {wanted_org} -s {wanted_space}` if that is the right place to deploy"),
        });
    }
    let (pair, meta) = observed.map_err(|e| match e {
        // Not a failure of the apps: cf's configuration, which the user sets.
        CfError::Traced { .. } => Error::Environment {
            hint: crate::hint::Hint::hint(&e).unwrap_or_default(),
            message: e.to_string(),
        },
        other => Error::Observe(other),
    })?;
    Ok(Observed {
        version,
        target,
        pair,
        meta,
    })
}

/// What `observe` returns: both apps, and the records of those that exist.
type Apps = (PairState, BTreeMap<String, AppMeta>);

/// Both apps: `cf app` and `cf app --guid` side by side, then the annotations and the
/// routes of those that exist.
pub fn observe(ctx: &Context) -> Result<Apps, CfError> {
    observe_given(ctx, None)
}

/// [`observe`], with `cf app BLUE` already read when `blue_app` holds its result.
fn observe_given(
    ctx: &Context,
    blue_app: Option<Result<Option<AppStatus>, CfError>>,
) -> Result<Apps, CfError> {
    let (blue, green) = (&ctx.config.blue, &ctx.config.green);
    let (pair, guids) = thread::scope(|s| {
        let pair = s.spawn(|| match blue_app {
            Some(blue_app) => {
                let green_app = ctx.cf.app(green);
                Ok(PairState {
                    blue: (blue.clone(), blue_app?),
                    green: (green.clone(), green_app?),
                })
            }
            None => observe_pair(ctx),
        });
        let b = s.spawn(|| ctx.cf.guid(blue));
        let g = s.spawn(|| ctx.cf.guid(green));
        (
            pair.join().expect("cf app thread"),
            [
                (blue, b.join().expect("cf app --guid thread")),
                (green, g.join().expect("cf app --guid thread")),
            ],
        )
    });
    let pair = pair?;
    let mut existing = Vec::new();
    for (app, guid) in guids {
        if let Some(guid) = guid? {
            existing.push((app.clone(), guid));
        }
    }
    // Records and routes of each app, all side by side.
    type Read = (Result<AppMeta, CfError>, Result<Vec<Route>, CfError>);
    let reads: Vec<Read> = thread::scope(|s| {
        let handles: Vec<_> = existing
            .iter()
            .map(|(_, guid)| {
                (
                    s.spawn(|| ctx.cf.app_meta(guid)),
                    s.spawn(|| ctx.cf.app_routes(guid)),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(m, r)| {
                (
                    m.join().expect("cf curl thread"),
                    r.join().expect("cf curl thread"),
                )
            })
            .collect()
    });
    let mut meta = BTreeMap::new();
    for ((app, _), (m, routes)) in existing.into_iter().zip(reads) {
        let mut m = m?;
        m.routes = routes?;
        meta.insert(app, m);
    }
    let mut guids = ctx.guids.lock().unwrap();
    for (app, m) in &meta {
        guids.insert(app.clone(), m.guid.clone());
    }
    Ok((pair, meta))
}

/// `cf app` for both apps, side by side.
pub fn observe_pair(ctx: &Context) -> Result<PairState, CfError> {
    let (blue, green) = (&ctx.config.blue, &ctx.config.green);
    let (b, g) = thread::scope(|s| {
        let b = s.spawn(|| ctx.cf.app(blue));
        let g = s.spawn(|| ctx.cf.app(green));
        (
            b.join().expect("cf app thread"),
            g.join().expect("cf app thread"),
        )
    });
    Ok(PairState {
        blue: (blue.clone(), b?),
        green: (green.clone(), g?),
    })
}

/// The files the push needs: missing ones are a configuration error, found before any
/// change. A manifest with several apps must name both apps of the pair, or cf push
/// refuses it.
pub fn check_push_files(config: &Config) -> Result<(), Error> {
    check_files_exist(config)?;
    let Some(manifest) = &config.push.manifest else {
        return Ok(());
    };
    let text = std::fs::read_to_string(manifest).map_err(|e| Error::Environment {
        message: format!("cannot read push.manifest {}: {e}", manifest.display()),
        hint: "make it a readable UTF-8 file".into(),
    })?;
    let names = manifest_app_names(&text).map_err(|e| Error::Environment {
        message: format!(
            "push.manifest {} is not valid YAML: {e}",
            manifest.display()
        ),
        hint: "fix the manifest (`cf push` would reject it too)".into(),
    })?;
    if names.len() > 1 {
        let missing: Vec<&str> = [config.blue.as_str(), config.green.as_str()]
            .into_iter()
            .filter(|app| !names.iter().any(|n| n == app))
            .collect();
        if !missing.is_empty() {
            return Err(Error::Environment {
                message: format!(
                    "push.manifest {} describes several apps ({}) but not {}: cf push then refuses to push {}",
                    manifest.display(),
                    names.join(", "),
                    missing.join(" or "),
                    missing.join(" or "),
                ),
                hint: "give the manifest a single app (cf push renames it to the app being pushed), \
                       or name both apps of the pair in it"
                    .into(),
            });
        }
    }
    Ok(())
}

/// The instance count the user asked the push for, if any: `-i N` in `push.args`, or
/// `instances:` of the app in the manifest (the single app, which the push renames, or
/// the one named `app`). The tool does not scale below what the user chose.
pub fn user_instances(config: &Config, app: &str) -> Option<u32> {
    let args = &config.push.args;
    for (i, arg) in args.iter().enumerate() {
        let value = match arg.as_str() {
            "-i" | "--instances" => args.get(i + 1).map(String::as_str),
            other => other
                .strip_prefix("-i=")
                .or_else(|| other.strip_prefix("--instances=")),
        };
        if let Some(n) = value.and_then(|v| v.parse().ok()) {
            return Some(n);
        }
    }
    let text = std::fs::read_to_string(config.push.manifest.as_ref()?).ok()?;
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).ok()?;
    let apps = docs.first()?["applications"].as_vec()?.clone();
    let entry = match apps.as_slice() {
        [one] => one.clone(),
        several => several
            .iter()
            .find(|a| a["name"].as_str() == Some(app))?
            .clone(),
    };
    entry["instances"]
        .as_i64()
        .and_then(|n| u32::try_from(n).ok())
}

/// The `applications[].name` entries of a manifest.
pub fn manifest_app_names(text: &str) -> Result<Vec<String>, String> {
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    let Some(doc) = docs.first() else {
        return Ok(Vec::new());
    };
    Ok(doc["applications"]
        .as_vec()
        .map(|apps| {
            apps.iter()
                .filter_map(|a| a["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

fn check_files_exist(config: &Config) -> Result<(), Error> {
    let p = &config.push;
    let files = p
        .path
        .iter()
        .map(|f| ("push.path", f))
        .chain(p.manifest.iter().map(|f| ("push.manifest", f)))
        .chain(p.vars_files.iter().map(|f| ("push.vars-files", f)));
    for (key, file) in files {
        if !file.exists() {
            return Err(Error::Environment {
                message: format!("{key} names {}, which does not exist", file.display()),
                hint: format!(
                    "fix {key} in {} (relative paths are relative to that file)",
                    config.path.display()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;
    use crate::plan::fixtures::*;

    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    fn out(code: i32, stdout: &str, stderr: &str) -> crate::cf::CfOutput {
        crate::cf::CfOutput {
            code: Some(code),
            stdout: stdout.into(),
            stderr: stderr.into(),
            combined: format!("{stdout}{stderr}"),
        }
    }

    /// One call: its arguments, and when it started and ended, counted in events.
    #[derive(Debug, Clone)]
    struct Span {
        args: String,
        start: usize,
        end: usize,
    }

    /// A cf in memory that holds each read until four are in flight (or 300ms pass), so
    /// that reads side by side overlap and a read alone stays alone long enough for any
    /// other to show up; it records when each call started and ended. Neither app exists.
    #[derive(Default)]
    struct GatheringCf {
        events: AtomicUsize,
        in_flight: AtomicUsize,
        most: AtomicUsize,
        spans: Mutex<Vec<Span>>,
    }

    impl crate::cf::Cf for GatheringCf {
        fn run(
            &self,
            args: &[String],
            _timeout: Duration,
            _abort: &dyn Fn() -> bool,
            _on_line: &(dyn Fn(&str) + Sync),
        ) -> Result<crate::cf::CfOutput, CfError> {
            let start = self.events.fetch_add(1, SeqCst);
            if args[0] != "version" {
                let now = self.in_flight.fetch_add(1, SeqCst) + 1;
                self.most.fetch_max(now, SeqCst);
                let started = Instant::now();
                while self.most.load(SeqCst) < 4 && started.elapsed() < Duration::from_millis(300) {
                    std::thread::sleep(Duration::from_millis(5));
                    self.most.fetch_max(self.in_flight.load(SeqCst), SeqCst);
                }
                self.in_flight.fetch_sub(1, SeqCst);
            }
            let end = self.events.fetch_add(1, SeqCst);
            self.spans.lock().unwrap().push(Span {
                args: args.join(" "),
                start,
                end,
            });
            Ok(match args[0].as_str() {
                "version" => out(0, "cf version 8.7.0+abc.2024-01-01\n", ""),
                "target" => out(0, "user: u\norg: o\nspace: s\n", ""),
                _ => out(1, "FAILED\n", &format!("App '{}' not found.\n", args[1])),
            })
        }
    }

    #[test]
    fn preflight_reads_one_app_alone_then_the_rest_side_by_side() {
        let cf = GatheringCf::default();
        let c = config("");
        let events = crate::report::Recorder::default();
        let ctx = Context::new(&c, &cf, &events, "tester");
        let observed = preflight(&ctx).unwrap();
        assert_eq!(observed.pair, pair(None, None));

        let mut spans = cf.spans.lock().unwrap().clone();
        spans.sort_by_key(|s| s.start);
        let order: Vec<&str> = spans.iter().map(|s| s.args.as_str()).collect();
        // The same reads as ever, `cf version` first and alone.
        assert_eq!(order.len(), 6, "{order:?}");
        assert_eq!(order[..2], ["version", "app a"], "{spans:?}");
        let mut rest = order[2..].to_vec();
        rest.sort();
        assert_eq!(rest, ["app a --guid", "app b", "app b --guid", "target"]);
        // `cf app a`, the first call that sends the token, ran alone: everything else
        // started after it ended.
        let first = &spans[1];
        assert!(spans[0].end < first.start, "{spans:?}");
        assert!(spans[2..].iter().all(|s| s.start > first.end), "{spans:?}");
        // The other four ran side by side: each started before any of them ended.
        let last_start = spans[2..].iter().map(|s| s.start).max().unwrap();
        let first_end = spans[2..].iter().map(|s| s.end).min().unwrap();
        assert!(last_start < first_end, "{spans:?}");
    }

    /// cf v6 or v7 with `cf config --trace true`: `cf curl` prints the trace, not the body.
    struct TracingCf;

    impl crate::cf::Cf for TracingCf {
        fn run(
            &self,
            args: &[String],
            _timeout: Duration,
            _abort: &dyn Fn() -> bool,
            _on_line: &(dyn Fn(&str) + Sync),
        ) -> Result<crate::cf::CfOutput, CfError> {
            let a = args.iter().map(String::as_str).collect::<Vec<_>>();
            Ok(match a[..] {
                ["version"] => out(0, "cf version 7.7.1+abc.2024-01-01\n", ""),
                ["target"] => out(0, "user: u\norg: o\nspace: s\n", ""),
                ["app", "a"] => out(0, "name: a\nrequested state: started\nroutes: live.example.com\n", ""),
                ["app", "a", "--guid"] => out(0, "guid-a\n", ""),
                ["curl", _] => out(
                    0,
                    "\nREQUEST: [2026-01-01T00:00:00Z]\nGET /v3/apps/guid-a HTTP/1.1\nAuthorization: [PRIVATE DATA HIDDEN]\n\n\
                     RESPONSE: [2026-01-01T00:00:01Z]\nHTTP/1.1 200 OK\nSet-Cookie: session=s3cret\n\n{\"guid\": \"guid-a\"}\n",
                    "",
                ),
                _ => out(1, "FAILED\n", &format!("App '{}' not found.\n", args[1])),
            })
        }
    }

    #[test]
    fn cf_tracing_is_an_environment_error_naming_the_fix() {
        let c = config("");
        let events = crate::report::Recorder::default();
        let ctx = Context::new(&c, &TracingCf, &events, "tester");
        let error = preflight(&ctx).unwrap_err();
        assert_eq!(error.exit_code(), crate::error::EXIT_USAGE, "{error}");
        let message = error.to_string();
        assert!(
            message.starts_with(
                "`cf curl /v3/apps/guid-a` printed cf's HTTP trace instead of the response"
            ),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
        let hint = crate::hint::Hint::hint(&error).unwrap();
        assert!(hint.contains("`cf config --trace false`"), "{hint}");
    }

    #[test]
    fn instances_the_user_chose() {
        let c = config("[push]\nargs = [\"-i\", \"2\"]\n");
        assert_eq!(user_instances(&c, "a"), Some(2));
        let c = config("[push]\nargs = [\"--instances=5\"]\n");
        assert_eq!(user_instances(&c, "a"), Some(5));
        assert_eq!(user_instances(&config(""), "a"), None);
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.yml");
        std::fs::write(&m, "applications:\n- name: a\n  instances: 4\n- name: b\n").unwrap();
        let c = config(&format!(
            "[push]\nmanifest = {:?}\n",
            m.display().to_string()
        ));
        assert_eq!(user_instances(&c, "a"), Some(4));
        assert_eq!(user_instances(&c, "b"), None);
    }

    #[test]
    fn manifest_names() {
        let m = "---\napplications:\n- name: a\n  memory: 64M\n- name: b\n";
        assert_eq!(manifest_app_names(m).unwrap(), ["a", "b"]);
        assert_eq!(manifest_app_names("").unwrap(), Vec::<String>::new());
        assert!(manifest_app_names("applications: [").is_err());
    }
}
