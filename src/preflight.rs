//! The start of every command: cf runs, is logged in and targeted, and what both apps
//! look like — routes, state, instances, GUIDs and the records the tool keeps on them —
//! in two rounds of calls side by side, the deploy lock taken in the second (see
//! [`read`]).

use std::collections::BTreeMap;
use std::thread;

use crate::cf::v3::{self, MappedRoute};
use crate::cf::{AppStatus, CfError, RequestedState, Target, Version};
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::lock::{self, Held};
use crate::metadata::{self, AppMeta};
use crate::plan::PairState;
use crate::route::normalize;

/// What the state read found.
#[derive(Debug, Clone)]
pub struct Observed {
    pub version: Version,
    pub target: Target,
    pub pair: PairState,
    /// GUID, annotations and routes of each app that exists.
    pub meta: BTreeMap<String, AppMeta>,
}

/// What a command wants from the state read beyond the pair's state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wants<'a> {
    /// Take the deploy lock in the second round: `token` names this run in it, `force`
    /// breaks another run's.
    pub lock: Option<LockRequest<'a>>,
    /// Also read what the switch's steps use (network policies; the started apps' web
    /// processes, for `switch.match-instances`), into [`Context::seen`].
    pub switch: bool,
    /// What this kind of run refuses from the first round alone is refused there, before
    /// the lock is taken: see [`crate::plan::refuse_early`].
    pub refuse_early: Option<crate::plan::Kind>,
}

#[derive(Debug, Clone, Copy)]
pub struct LockRequest<'a> {
    pub token: &'a str,
    pub force: bool,
}

/// Checks that cf runs and is logged in and targeted, and reads both apps. Read-only:
/// for `status` and the dry run.
pub fn preflight(ctx: &Context) -> Result<Observed, Error> {
    read(ctx, Wants::default()).map(|(observed, _)| observed)
}

/// The state read, in two rounds of calls side by side:
///
/// 1. `cf version`, `cf target` and `GET /v3/apps?names=BLUE,GREEN&include=space.organization`.
///    The apps call is the only one of the three that sends the access token: each cf
///    process that finds the token expired refreshes it and rewrites config.json (cf v6
///    in place), so refreshes side by side race, and a read during one can see half a
///    file. `cf version` and `cf target` only read config.json. The apps of those names
///    in the targeted org and space give their GUIDs, states, records and the space.
/// 2. With a fresh token: the routes mapped to either app (`GET /v3/routes?app_guids=`),
///    the instances of each started app (its process stats), and for a switch the
///    network policies naming either app and the started apps' web processes; the
///    deploy lock, if wanted ([`lock::acquire`]), side by side with them. Without any app
///    (a first deploy) there is nothing to read, but the lock needs the space's GUID
///    first (`cf space NAME --guid`).
///
/// Errors come in the usual order: cf missing, not logged in, no or the wrong target,
/// then the reads. A lock taken in a read that fails is given back before returning.
pub fn read(ctx: &Context, wants: Wants) -> Result<(Observed, Option<Held>), Error> {
    let config = ctx.config;
    let (blue, green) = (config.blue.as_str(), config.green.as_str());
    let (version, target, apps) = thread::scope(|s| {
        let target = s.spawn(|| ctx.cf.target());
        let apps = s.spawn(|| {
            let read = || ctx.cf.apps_named(&[blue, green]);
            match ctx.first_call {
                Some(first) => first.run(read),
                None => read(),
            }
        });
        let version = ctx.cf.version();
        (
            version,
            target.join().expect("cf target thread"),
            apps.join().expect("cf curl thread"),
        )
    });
    let version = version.map_err(|e| match e {
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
    let apps = apps.map_err(observe_error)?;
    let apps = in_space(&apps, org, space).map_err(Error::Observe)?;
    if let Some(kind) = wants.refuse_early {
        let meta: BTreeMap<String, AppMeta> = apps
            .iter()
            .map(|a| (a.name.clone(), app_meta(a, &[])))
            .collect();
        let started = |name: &str| apps.iter().any(|a| a.name == name && a.started);
        crate::plan::refuse_early(kind, config, &meta, &started)?;
    }
    // Decided before anything is written: an old-style lock someone holds stops here.
    let legacy = match wants.lock {
        Some(l) => {
            let meta = apps
                .iter()
                .map(|a| (a.name.clone(), app_meta(a, &[])))
                .collect();
            lock::check_legacy(ctx, &meta, l.force)?
        }
        None => Vec::new(),
    };
    let round = second_round(ctx, &apps, space, wants, &legacy);
    let held = match round.lock {
        Some(Ok(held)) => Some(held),
        Some(Err(e)) => {
            // Read errors first, as ever: they say more about what is wrong.
            round.reads.map_err(observe_error)?;
            return Err(e);
        }
        None => None,
    };
    let reads = match round.reads {
        Ok(reads) => reads,
        Err(e) => {
            if let Some(held) = &held {
                lock::release(ctx, held);
            }
            return Err(observe_error(e));
        }
    };
    if held.as_ref().is_some_and(|h| h.contended) {
        // Another run held the lock while this one read: what it did since is not in
        // these reads. Read again, now that no other run can change the pair.
        return match read(
            ctx,
            Wants {
                lock: None,
                ..wants
            },
        ) {
            Ok((observed, _)) => Ok((observed, held)),
            Err(e) => {
                if let Some(held) = &held {
                    lock::release(ctx, held);
                }
                Err(e)
            }
        };
    }
    let (pair, meta) = assemble(ctx, &apps, reads, !legacy.is_empty());
    Ok((
        Observed {
            version,
            target,
            pair,
            meta,
        },
        held,
    ))
}

/// The reads of a failed round: cf's tracing is the user's configuration, not a failure
/// of the apps.
pub(crate) fn observe_error(e: CfError) -> Error {
    match e {
        CfError::Traced { .. } => Error::Environment {
            hint: crate::hint::Hint::hint(&e).unwrap_or_default(),
            message: e.to_string(),
        },
        other => Error::Observe(other),
    }
}

/// The apps of the pair in the targeted org and space: `GET /v3/apps?names=` lists those
/// of every space the user sees.
pub(crate) fn in_space(apps: &[v3::App], org: &str, space: &str) -> Result<Vec<v3::App>, CfError> {
    let mut found = Vec::new();
    for app in apps {
        match (&app.org, &app.space) {
            (Some(o), Some(s)) => {
                if o == org && s == space {
                    found.push(app.clone());
                }
            }
            // Without its space an app cannot be placed, and taking it for missing could
            // push over a live app.
            _ => {
                return Err(CfError::Failed {
                    command: "cf curl /v3/apps?names=...&include=space.organization".into(),
                    status: format!("an answer without the space of the app {}", app.name),
                    output: String::new(),
                })
            }
        }
    }
    Ok(found)
}

/// What the second round read.
struct Reads {
    routes: Vec<MappedRoute>,
    /// Instance states of each started app, by GUID.
    instances: BTreeMap<String, Vec<String>>,
}

struct Round {
    reads: Result<Reads, CfError>,
    lock: Option<Result<Held, Error>>,
}

/// The second round: every read and the lock, side by side.
fn second_round(
    ctx: &Context,
    apps: &[v3::App],
    space: &str,
    wants: Wants,
    legacy: &[(String, String)],
) -> Round {
    let guids: Vec<&str> = apps.iter().map(|a| a.guid.as_str()).collect();
    let started: Vec<&v3::App> = apps.iter().filter(|a| a.started).collect();
    let switch = wants.switch && !guids.is_empty();
    let space_guid = apps.first().map(|a| a.space_guid.clone());
    thread::scope(|s| {
        let lock = wants.lock.map(|l| {
            let space_guid = space_guid.clone();
            s.spawn(move || {
                let space_guid = match space_guid {
                    Some(g) => g,
                    // A first deploy: no app to learn the space's GUID from.
                    None => match ctx.cf.space_guid(space) {
                        Ok(Some(g)) => g,
                        Ok(None) => {
                            return Err(Error::LockFailed {
                                lock: lock::name(ctx.config),
                                cause: format!("`cf space {space} --guid` found no such space"),
                            })
                        }
                        Err(e) => {
                            return Err(Error::LockFailed {
                                lock: lock::name(ctx.config),
                                cause: e.to_string(),
                            })
                        }
                    },
                };
                let held = lock::acquire(ctx, &space_guid, l.token, l.force)?;
                lock::clear_legacy(ctx, legacy);
                Ok(held)
            })
        });
        let routes = (!guids.is_empty()).then(|| s.spawn(|| ctx.cf.routes_of_apps(&guids)));
        let stats: Vec<_> = started
            .iter()
            .map(|a| (a, s.spawn(|| ctx.cf.instance_states(&a.guid))))
            .collect();
        let processes: Vec<_> = if switch && ctx.config.switch.match_instances {
            started
                .iter()
                .map(|a| (a, s.spawn(|| ctx.cf.process(&a.guid))))
                .collect()
        } else {
            Vec::new()
        };
        let policies = switch.then(|| s.spawn(|| ctx.cf.policies(&guids)));

        let reads = (|| {
            let routes = match routes {
                Some(h) => h.join().expect("cf curl thread")?,
                None => Vec::new(),
            };
            let mut instances = BTreeMap::new();
            for (app, h) in stats {
                instances.insert(app.guid.clone(), h.join().expect("cf curl thread")?);
            }
            Ok(Reads { routes, instances })
        })();
        // Side reads for the steps: kept for them, a failure too (the step decides).
        let mut seen = ctx.seen.lock().unwrap();
        for (app, h) in processes {
            if let Ok(p) = h.join().expect("cf curl thread") {
                seen.processes.insert(app.name.clone(), p);
            }
        }
        if let Some(h) = policies {
            let got = h.join().expect("cf curl thread").map_err(|e| e.to_string());
            seen.policies = Some(crate::context::SeenPolicies {
                ids: guids.iter().map(|g| g.to_string()).collect(),
                read: got,
            });
        }
        drop(seen);
        Round {
            reads,
            lock: lock.map(|h| h.join().expect("lock thread")),
        }
    })
}

fn app_meta(app: &v3::App, routes: &[MappedRoute]) -> AppMeta {
    AppMeta {
        guid: app.guid.clone(),
        annotations: app.annotations.clone(),
        routes: routes
            .iter()
            .filter(|r| r.apps.contains(&app.guid))
            .map(|r| r.route.clone())
            .collect(),
    }
}

/// The pair's state and records from the two rounds; the GUIDs go to the context.
fn assemble(
    ctx: &Context,
    apps: &[v3::App],
    reads: Reads,
    legacy_cleared: bool,
) -> (PairState, BTreeMap<String, AppMeta>) {
    let mut meta = BTreeMap::new();
    let status = |name: &str| {
        // The Cloud Controller matches names without regard to case (`names=Shop`
        // finds `shop`): an app spelt otherwise in the configuration is still found,
        // never taken for a missing one that a push would create.
        let app = apps
            .iter()
            .find(|a| a.name == name)
            .or_else(|| apps.iter().find(|a| a.name.eq_ignore_ascii_case(name)))?;
        let mut m = app_meta(app, &reads.routes);
        if legacy_cleared {
            m.annotations.remove(metadata::LOCK);
        }
        let status = AppStatus {
            requested_state: if app.started {
                RequestedState::Started
            } else {
                RequestedState::Stopped
            },
            routes: m.routes.iter().map(|r| normalize(&r.url())).collect(),
            instances: reads.instances.get(&app.guid).cloned().unwrap_or_default(),
        };
        Some((m, status))
    };
    let (blue, green) = (&ctx.config.blue, &ctx.config.green);
    let mut pair = PairState {
        blue: (blue.clone(), None),
        green: (green.clone(), None),
    };
    for (name, slot) in [(blue, &mut pair.blue.1), (green, &mut pair.green.1)] {
        if let Some((m, s)) = status(name) {
            meta.insert(name.clone(), m);
            *slot = Some(s);
        }
    }
    let mut guids = ctx.guids.lock().unwrap();
    for (app, m) in &meta {
        guids.insert(app.clone(), m.guid.clone());
    }
    (pair, meta)
}

/// `cf app` for both apps, side by side: the state after a failure, for the recovery.
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

    use crate::cf::memory::MemoryCf;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Mutex;
    use std::time::Duration;

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

    /// The in-memory cf, each call held 150ms so that calls side by side overlap and
    /// calls one after another do not; it records when each call started and ended.
    struct Timed {
        cf: MemoryCf,
        events: AtomicUsize,
        spans: Mutex<Vec<Span>>,
    }

    impl Timed {
        fn new(cf: MemoryCf) -> Timed {
            Timed {
                cf,
                events: AtomicUsize::new(0),
                spans: Mutex::new(Vec::new()),
            }
        }

        /// The calls, in the order they started.
        fn spans(&self) -> Vec<Span> {
            let mut spans = self.spans.lock().unwrap().clone();
            spans.sort_by_key(|s| s.start);
            spans
        }
    }

    impl crate::cf::Cf for Timed {
        fn run(
            &self,
            args: &[String],
            timeout: Duration,
            abort: &dyn Fn() -> bool,
            on_line: &(dyn Fn(&str) + Sync),
        ) -> Result<crate::cf::CfOutput, CfError> {
            let start = self.events.fetch_add(1, SeqCst);
            std::thread::sleep(Duration::from_millis(150));
            let out = self.cf.run(args, timeout, abort, on_line);
            let end = self.events.fetch_add(1, SeqCst);
            self.spans.lock().unwrap().push(Span {
                args: args[..2.min(args.len())].join(" "),
                start,
                end,
            });
            out
        }
    }

    /// Every call of `round` started before any of them ended.
    fn side_by_side(round: &[Span]) -> bool {
        let last_start = round.iter().map(|s| s.start).max().unwrap();
        let first_end = round.iter().map(|s| s.end).min().unwrap();
        last_start < first_end
    }

    /// Every call of `later` started after every call of `earlier` ended.
    fn after(earlier: &[Span], later: &[Span]) -> bool {
        let end = earlier.iter().map(|s| s.end).max().unwrap();
        later.iter().all(|s| s.start > end)
    }

    const APPS: &str = "curl /v3/apps?names=a,b&include=space.organization&per_page=5000";

    #[test]
    fn a_lock_taken_after_breaking_another_reads_the_state_again() {
        let count = |cf: &MemoryCf, what: &str| {
            cf.calls()
                .iter()
                .filter(|c| c.line().contains(what))
                .count()
        };
        let stale = lock::format_value(
            "ci@runner-7 pid 99",
            std::time::SystemTime::now() - Duration::from_secs(7300),
            "x",
        );
        for (cf, reads) in [
            (MemoryCf::new(), 1),
            (
                MemoryCf::new().service("cf-bluegreen-lock-a-b", metadata::LOCK, &stale),
                2,
            ),
        ] {
            let cf = cf
                .app("a", true, &["live.example.com"])
                .app("b", false, &[]);
            let c = config("");
            let events = crate::report::Recorder::default();
            let ctx = Context::new(&c, &cf, &events, "tester");
            let wants = Wants {
                lock: Some(LockRequest {
                    token: "tok",
                    force: false,
                }),
                switch: true,
                refuse_early: None,
            };
            let (observed, held) = read(&ctx, wants).unwrap();
            assert_eq!(held.unwrap().contended, reads == 2);
            assert!(observed.pair.get("a").unwrap().started());
            assert_eq!(count(&cf, "/v3/apps?names="), reads);
            assert_eq!(count(&cf, "/v3/routes?app_guids="), reads);
            assert_eq!(count(&cf, "/v3/service_instances -X POST"), reads);
        }
    }

    #[test]
    fn apps_spelt_in_another_case_are_found_not_taken_for_missing() {
        // `names=A` finds `a` on a Cloud Controller: the live app must be seen as live,
        // or the next push would go to it.
        let cf = MemoryCf::new()
            .app("a", true, &["live.example.com"])
            .app("b", false, &[]);
        let mut c = config("");
        c.blue = "A".into();
        let events = crate::report::Recorder::default();
        let ctx = Context::new(&c, &cf, &events, "tester");
        let observed = preflight(&ctx).unwrap();
        let a = observed.pair.get("A").expect("A is found as a");
        assert!(a.started());
        assert_eq!(a.routes, ["live.example.com"]);
        assert_eq!(observed.meta["A"].guid, "guid-a");
        let plan = crate::plan::plan_deploy(
            &c,
            &observed.pair,
            &observed.meta,
            &metadata::DeployId("id".into()),
        )
        .unwrap();
        assert_eq!(plan.target, "b");
        assert_eq!(plan.previous.as_deref(), Some("A"));
    }

    #[test]
    fn a_later_deploy_reads_and_locks_in_two_rounds() {
        let cf = Timed::new(
            MemoryCf::new()
                .app("a", true, &["live.example.com", "shop.apps.internal"])
                .app("b", false, &[])
                .instances("a", 2)
                .annotate("a", metadata::DEPLOY, "d1"),
        );
        let c = config("");
        let events = crate::report::Recorder::default();
        let ctx = Context::new(&c, &cf, &events, "tester");
        let wants = Wants {
            lock: Some(LockRequest {
                token: "tok",
                force: false,
            }),
            switch: true,
            refuse_early: None,
        };
        let (observed, held) = read(&ctx, wants).unwrap();
        assert_eq!(held.unwrap().name, "cf-bluegreen-lock-a-b");
        let a = observed.pair.get("a").unwrap();
        assert!(a.started());
        assert_eq!(a.routes, ["live.example.com", "shop.apps.internal"]);
        assert_eq!(a.instances, ["running", "running"]);
        let b = observed.pair.get("b").unwrap();
        assert!(!b.started() && b.routes.is_empty() && b.instances.is_empty());
        assert_eq!(observed.meta["a"].get(metadata::DEPLOY), Some("d1"));
        assert_eq!(observed.meta["a"].routes[1].domain, "apps.internal");
        assert_eq!(observed.meta["b"].guid, "guid-b");
        assert_eq!(ctx.guids.lock().unwrap()["b"], "guid-b");
        let seen = ctx.seen.lock().unwrap().clone();
        assert_eq!(seen.processes["a"].instances, 2);
        assert_eq!(seen.policies.unwrap().ids, ["guid-a", "guid-b"]);

        let spans = cf.spans();
        let names: Vec<&str> = spans.iter().map(|s| s.args.as_str()).collect();
        let (one, two) = spans.split_at(3);
        let mut first: Vec<&str> = names[..3].to_vec();
        first.sort_unstable();
        assert_eq!(first, [APPS, "target", "version"], "{spans:?}");
        let mut second: Vec<&str> = names[3..].to_vec();
        second.sort_unstable();
        assert_eq!(
            second,
            [
                "curl /networking/v1/external/policies?id=guid-a,guid-b",
                "curl /v3/apps/guid-a/processes/web",
                "curl /v3/apps/guid-a/processes/web/stats",
                "curl /v3/routes?app_guids=guid-a,guid-b&per_page=5000",
                "curl /v3/service_instances",
            ],
            "{spans:?}"
        );
        assert!(side_by_side(one), "{spans:?}");
        assert!(side_by_side(two), "{spans:?}");
        assert!(after(one, two), "{spans:?}");
    }

    #[test]
    fn a_first_deploy_learns_the_space_before_the_lock() {
        let cf = Timed::new(MemoryCf::new());
        let c = config("");
        let events = crate::report::Recorder::default();
        let ctx = Context::new(&c, &cf, &events, "tester");
        let wants = Wants {
            lock: Some(LockRequest {
                token: "tok",
                force: false,
            }),
            switch: true,
            refuse_early: None,
        };
        let (observed, held) = read(&ctx, wants).unwrap();
        assert_eq!(observed.pair, pair(None, None));
        assert!(held.is_some());
        let spans = cf.spans();
        let names: Vec<&str> = spans.iter().map(|s| s.args.as_str()).collect();
        assert_eq!(
            names[3..],
            ["space s", "curl /v3/service_instances"],
            "{spans:?}"
        );
        assert!(side_by_side(&spans[..3]), "{spans:?}");
        assert!(after(&spans[..3], &spans[3..4]), "{spans:?}");
        assert!(after(&spans[3..4], &spans[4..]), "{spans:?}");
    }

    #[test]
    fn status_reads_no_lock_no_policies() {
        let cf = MemoryCf::new()
            .app("a", true, &["live.example.com"])
            .app("b", false, &[]);
        let c = config("");
        let events = crate::report::Recorder::default();
        let ctx = Context::new(&c, &cf, &events, "tester");
        preflight(&ctx).unwrap();
        let calls: Vec<String> = cf.calls().iter().map(|c| c.argv.join(" ")).collect();
        assert_eq!(calls.len(), 5, "{calls:?}");
        assert!(calls
            .iter()
            .all(|c| !c.contains("service_instances") && !c.contains("policies")));
    }

    #[test]
    fn a_failed_read_gives_the_lock_back() {
        // The routes call fails; the lock, taken side by side, is released.
        let cf = MemoryCf::new()
            .app("a", true, &["live.example.com"])
            .fail("curl:2");
        let c = config("[switch]\nmatch-instances = false\n");
        let events = crate::report::Recorder::default();
        let ctx = Context::new(&c, &cf, &events, "tester");
        let wants = Wants {
            lock: Some(LockRequest {
                token: "tok",
                force: false,
            }),
            switch: false,
            refuse_early: None,
        };
        // Which curl is second depends on the threads: any failure of a read will do.
        match read(&ctx, wants) {
            Err(Error::Observe(_)) => {}
            other => {
                // The lock's create was the one that failed.
                assert!(matches!(other, Err(Error::LockFailed { .. })), "{other:?}")
            }
        }
        assert!(cf.services().is_empty(), "{:?}", cf.services());
    }

    #[test]
    fn apps_of_other_spaces_are_not_the_pairs() {
        let page = |space: &str, org: &str| {
            format!(
                r#"{{"resources":[{{"guid":"g","name":"a","state":"STARTED","relationships":{{"space":{{"data":{{"guid":"s1"}}}}}}}}],
                "included":{{"spaces":[{{"guid":"s1","name":"{space}","relationships":{{"organization":{{"data":{{"guid":"o1"}}}}}}}}],
                "organizations":[{{"guid":"o1","name":"{org}"}}]}}}}"#
            )
        };
        let apps = |body: String| v3::parse_apps(&body).unwrap().items;
        assert_eq!(in_space(&apps(page("s", "o")), "o", "s").unwrap().len(), 1);
        assert!(in_space(&apps(page("s", "other")), "o", "s")
            .unwrap()
            .is_empty());
        assert!(in_space(&apps(page("other", "o")), "o", "s")
            .unwrap()
            .is_empty());
        // Without `included`, an app cannot be placed: an error, never "missing".
        let bare = r#"{"resources":[{"guid":"g","name":"a","state":"STARTED","relationships":{"space":{"data":{"guid":"s1"}}}}]}"#;
        assert!(in_space(&apps(bare.to_string()), "o", "s").is_err());
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
                "`cf curl '/v3/apps?names=a,b&include=space.organization&per_page=5000'` printed cf's HTTP trace instead of the response"
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
