//! Runs a [`Plan`]: the preflight that observes the current state, the executor that
//! runs the steps, and the recovery that brings the routes back to a safe state when a
//! step fails.
//!
//! Recovery converges on a target state computed from what cf reports *after* the
//! failure, not from what the tool believes it did: a cf call can fail although the
//! server applied it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::thread;

use crate::cf::{CfClient, CfCommand, CfError, Target, Version};
use crate::config::{Config, OldApp};
use crate::error::Error;
use crate::metadata::AppMeta;
use crate::plan::{Kind, PairState, Plan, RouteRole, Step};
use crate::report::Reporter;
use crate::smoke;

pub struct Context<'a> {
    pub config: &'a Config,
    pub cf: CfClient<'a>,
    pub reporter: &'a Reporter,
    /// GUIDs learnt during the run, for apps created by it.
    pub guids: Mutex<BTreeMap<String, String>>,
}

impl<'a> Context<'a> {
    pub fn new(config: &'a Config, cf: CfClient<'a>, reporter: &'a Reporter) -> Context<'a> {
        Context {
            config,
            cf,
            reporter,
            guids: Mutex::new(BTreeMap::new()),
        }
    }
}

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
    // Independent reads: run them side by side.
    let (target, observed) = thread::scope(|s| {
        let target = s.spawn(|| ctx.cf.target());
        let pair = s.spawn(|| observe(ctx));
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
    let (pair, meta) = observed.map_err(Error::Observe)?;
    Ok(Observed {
        version,
        target,
        pair,
        meta,
    })
}

/// Both apps: `cf app` and `cf app --guid` side by side, then the annotations of those
/// that exist.
pub fn observe(ctx: &Context) -> Result<(PairState, BTreeMap<String, AppMeta>), CfError> {
    let (blue, green) = (&ctx.config.blue, &ctx.config.green);
    let (pair, guids) = thread::scope(|s| {
        let pair = s.spawn(|| observe_pair(ctx));
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
    let metas: Vec<Result<AppMeta, CfError>> = thread::scope(|s| {
        let handles: Vec<_> = existing
            .iter()
            .map(|(_, guid)| s.spawn(|| ctx.cf.app_meta(guid)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("cf curl thread"))
            .collect()
    });
    let mut meta = BTreeMap::new();
    for ((app, _), m) in existing.into_iter().zip(metas) {
        meta.insert(app, m?);
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

/// How a deploy ended, when it ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub live: String,
    pub previous: Option<String>,
    /// A step failed and the switch was completed by the recovery.
    pub completed_by_recovery: Option<String>,
}

pub fn execute(ctx: &Context, plan: &Plan) -> Result<Outcome, Error> {
    for note in &plan.notes {
        ctx.reporter.warn(note);
    }
    for (index, step) in plan.steps.iter().enumerate() {
        crate::interrupt::set_at_once_message(at_once_message(ctx.config, plan, index));
        if crate::interrupt::requested() {
            return interrupted(ctx, plan, index);
        }
        if let Err(failure) = ctx.reporter.step(&step.to_string(), || run_step(ctx, step)) {
            if crate::interrupt::requested() {
                return interrupted(ctx, plan, index + 1);
            }
            return recover(ctx, plan, index, failure);
        }
    }
    if crate::interrupt::requested() {
        return Err(Error::Interrupted {
            step: "the last step".into(),
            state: format!(
                "the {} had completed: {} is live",
                kind_name(plan.kind),
                plan.target
            ),
        });
    }
    Ok(Outcome {
        live: plan.target.clone(),
        previous: plan.previous.clone(),
        completed_by_recovery: None,
    })
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Deploy => "deploy",
        Kind::Rollback => "rollback",
    }
}

/// The first interrupt came before step `next` ran: bring the routes to a safe state as
/// after a failure of the last step that ran, then report the interrupt.
fn interrupted(ctx: &Context, plan: &Plan, next: usize) -> Result<Outcome, Error> {
    let Some(last) = next.checked_sub(1) else {
        return Err(Error::Interrupted {
            step: "the start".into(),
            state: "nothing was changed".into(),
        });
    };
    let step = plan.steps[last].to_string();
    let state = match recover(ctx, plan, last, StepError::Interrupted) {
        Ok(outcome) => format!(
            "the switch had begun, so it was completed: {} is live",
            outcome.live
        ),
        Err(Error::DeployFailed { live, .. }) => live,
        Err(e) => return Err(e),
    };
    Err(Error::Interrupted { step, state })
}

/// What a second interrupt prints while step `index` runs.
fn at_once_message(config: &Config, plan: &Plan, index: usize) -> String {
    let forward = plan.steps[..=index]
        .iter()
        .any(|s| is_unmap_from_previous(plan, s));
    let commands: Vec<String> = blind_recovery_steps(config, plan, index, forward)
        .iter()
        .filter_map(Step::command)
        .map(|c| format!("    {c}"))
        .collect();
    format!(
        "stopped at once during: {}\n\
         cf may still be finishing that command. `cf-bluegreen status` shows the state; a plain \
         `cf-bluegreen deploy` resolves what an interrupted deploy leaves. Or, by hand:\n{}\n\
         The deploy lock stays; break it with --force-unlock.",
        plan.steps[index],
        commands.join("\n")
    )
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Cf(#[from] CfError),
    #[error(transparent)]
    Smoke(#[from] smoke::SmokeError),
    #[error("interrupted")]
    Interrupted,
}

fn run_step(ctx: &Context, step: &Step) -> Result<(), StepError> {
    let config = ctx.config;
    match step {
        Step::SmokeCheck { .. } => {
            smoke::check(&config.smoke, &|line| {
                ctx.reporter.emit(crate::report::Event::CfLine { line })
            })?;
        }
        Step::EnsureNotLive { app } => {
            let held: Vec<_> = match ctx.cf.app(app)? {
                Some(status) => config
                    .live
                    .iter()
                    .filter(|r| status.routes.iter().any(|p| r.matches(p)))
                    .cloned()
                    .collect(),
                None => Vec::new(),
            };
            for route in held {
                ctx.reporter.warn(&format!(
                    "the push put the live route {route} on {app} (a route in the manifest?); unmapping it before anything else"
                ));
                let unmap = Step::UnmapRoute {
                    app: app.clone(),
                    route,
                    role: RouteRole::Live,
                };
                run_step(ctx, &unmap)?;
            }
        }
        Step::Push { command, .. } => {
            ctx.cf.run_abortable(command, config.push.timeout)?;
        }
        Step::Annotate { app, guid, values } => {
            // Bookkeeping: a failure here must not fail the deploy. Without the records
            // a later run may need a human to resolve an interrupted switch, and says so.
            if let Err(e) = annotate(ctx, app, guid.as_deref(), values) {
                ctx.reporter.warn(&format!(
                    "could not record {} on {app}: {e}",
                    step_keys(values)
                ));
            }
        }
        other => {
            let command = other.command().expect("every other step is one cf command");
            ctx.cf.run(&command, ctx.cf.timeout)?;
        }
    }
    Ok(())
}

fn step_keys(values: &[(String, Option<String>)]) -> String {
    values
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn annotate(
    ctx: &Context,
    app: &str,
    guid: Option<&str>,
    values: &[(String, Option<String>)],
) -> Result<(), CfError> {
    let known = guid
        .map(str::to_string)
        .or_else(|| ctx.guids.lock().unwrap().get(app).cloned());
    let guid = match known {
        Some(g) => g,
        None => {
            let g = ctx.cf.guid(app)?.ok_or_else(|| CfError::Failed {
                command: format!("cf app {app} --guid"),
                status: "the app does not exist".into(),
                output: String::new(),
            })?;
            ctx.guids.lock().unwrap().insert(app.to_string(), g.clone());
            g
        }
    };
    ctx.cf.annotate(&guid, values)?;
    Ok(())
}

fn recover(
    ctx: &Context,
    plan: &Plan,
    failed_index: usize,
    failure: StepError,
) -> Result<Outcome, Error> {
    let failed = &plan.steps[failed_index];
    let cause = failure.to_string();
    let interrupted = matches!(failure, StepError::Interrupted);
    let logs = match failed {
        _ if interrupted => String::new(),
        Step::Push { .. } | Step::SmokeCheck { .. } | Step::Start { .. } => ctx
            .cf
            .recent_logs(&plan.target, 20)
            .map(|l| {
                format!(
                    "\n\nLast lines of `cf logs {} --recent`:\n{}",
                    plan.target,
                    crate::cf::indent(&l)
                )
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    ctx.reporter.warn(&if interrupted {
        format!("interrupted after: {failed}; bringing the routes to a safe state")
    } else {
        format!("{failed} failed; bringing the routes to a safe state")
    });

    let (forward, steps) = match observe_pair(ctx) {
        Ok(now) => {
            let forward = complete_forward(ctx.config, plan, &now, failed_index);
            (forward, recovery_steps(ctx.config, plan, &now, forward))
        }
        Err(e) => {
            ctx.reporter.warn(&format!(
                "cannot read the apps' state ({e}); recovering from what the deploy did"
            ));
            let forward = plan.steps[..=failed_index]
                .iter()
                .any(|s| is_unmap_from_previous(plan, s));
            (
                forward,
                blind_recovery_steps(ctx.config, plan, failed_index, forward),
            )
        }
    };

    for (j, step) in steps.iter().enumerate() {
        let label = format!("recover: {step}");
        if let Err(e) = ctx.reporter.step(&label, || run_step(ctx, step)) {
            return Err(Error::Unsafe {
                step: failed.to_string(),
                cause,
                recovery: e.to_string(),
                commands: steps[j..].iter().filter_map(Step::command).collect(),
            });
        }
    }

    if forward {
        ctx.reporter.warn(&format!(
            "{failed} failed ({}), but {} already held every live route and had passed its check: the switch was completed",
            first_line(&cause),
            plan.target
        ));
        return Ok(Outcome {
            live: plan.target.clone(),
            previous: plan.previous.clone(),
            completed_by_recovery: Some(failed.to_string()),
        });
    }
    let live = match &plan.previous {
        Some(old) => format!(
            "{old} still serves the live route, and {} is stopped.",
            plan.target
        ),
        None => format!(
            "this was the first deploy: {} is stopped and holds no live route.",
            plan.target
        ),
    };
    Err(Error::DeployFailed {
        what: kind_name(plan.kind),
        step: failed.to_string(),
        cause,
        live,
        logs,
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn is_unmap_from_previous(plan: &Plan, step: &Step) -> bool {
    matches!(step, Step::UnmapRoute { app, role: RouteRole::Live, .. } if Some(app) == plan.previous.as_ref())
}

/// Whether to finish the switch instead of undoing it. Only once the new version has
/// passed its check (every step before the first live map completed) and is started; then
///
/// - with a previous app: once that app has already lost a live route, so undoing would
///   move live traffic twice more, to an app that was on its way out;
/// - on a first deploy: once the new app holds a live route at all, since it is the only
///   app that can serve it and unmapping it would take a served route down.
pub fn complete_forward(
    config: &Config,
    plan: &Plan,
    now: &PairState,
    failed_index: usize,
) -> bool {
    let before = &plan.before;
    let target = &plan.target;
    let first_live_map = plan.steps.iter().position(|s| {
        matches!(
            s,
            Step::MapRoute {
                role: RouteRole::Live,
                ..
            }
        )
    });
    let checked = first_live_map.is_some_and(|i| failed_index >= i);
    if !checked || !now.get(target).is_some_and(|s| s.started()) {
        return false;
    }
    match &plan.previous {
        None => config.live.iter().any(|r| now.holds(target, r)),
        Some(old) => config
            .live
            .iter()
            .any(|r| before.holds(old, r) && !now.holds(old, r)),
    }
}

/// The steps from the observed state `now` to a safe one: the previous app serving what
/// it served before (restore), or the new app serving everything (forward). Mapping
/// always comes before unmapping, so no live route is ever left without an app.
pub fn recovery_steps(config: &Config, plan: &Plan, now: &PairState, forward: bool) -> Vec<Step> {
    let before = &plan.before;
    let target = &plan.target;
    let mut steps = Vec::new();
    let unmap_staging = |steps: &mut Vec<Step>| {
        if now.holds(target, &config.staging) {
            steps.push(Step::UnmapRoute {
                app: target.clone(),
                route: config.staging.clone(),
                role: RouteRole::Staging,
            });
        }
    };
    if forward {
        for route in &config.live {
            if !now.holds(target, route) {
                steps.push(Step::MapRoute {
                    app: target.clone(),
                    route: route.clone(),
                    role: RouteRole::Live,
                });
            }
        }
        if let Some(old) = &plan.previous {
            for route in &config.live {
                if now.holds(old, route) {
                    steps.push(Step::UnmapRoute {
                        app: old.clone(),
                        route: route.clone(),
                        role: RouteRole::Live,
                    });
                }
            }
        }
        unmap_staging(&mut steps);
        if let Some(old) = &plan.previous {
            match (config.old_app, now.get(old)) {
                (OldApp::Stop, Some(s)) if s.started() => {
                    steps.push(Step::Stop { app: old.clone() })
                }
                (OldApp::Delete, Some(_)) => steps.push(Step::Delete { app: old.clone() }),
                _ => {}
            }
        }
    } else {
        if let Some(old) = &plan.previous {
            if now.get(old).is_some_and(|s| !s.started()) {
                steps.push(Step::Start { app: old.clone() });
            }
            for route in &config.live {
                if before.holds(old, route) && !now.holds(old, route) {
                    steps.push(Step::MapRoute {
                        app: old.clone(),
                        route: route.clone(),
                        role: RouteRole::Live,
                    });
                }
            }
        }
        for route in &config.live {
            if now.holds(target, route) {
                steps.push(Step::UnmapRoute {
                    app: target.clone(),
                    route: route.clone(),
                    role: RouteRole::Live,
                });
            }
        }
        unmap_staging(&mut steps);
        // A pushed version that did not make it is stopped; a rollback's target goes
        // back to how it was.
        let was_started = before.get(target).is_some_and(|s| s.started());
        let stop = plan.kind == Kind::Deploy || !was_started;
        if stop && now.get(target).is_some_and(|s| s.started()) {
            steps.push(Step::Stop {
                app: target.clone(),
            });
        }
    }
    steps
}

/// When cf cannot even report the apps' state: every command the deploy attempted may
/// have taken effect, so undo (or finish) all of them. Map and unmap are idempotent.
fn blind_recovery_steps(
    config: &Config,
    plan: &Plan,
    failed_index: usize,
    forward: bool,
) -> Vec<Step> {
    let before = &plan.before;
    let attempted = &plan.steps[..=failed_index];
    let mut steps = Vec::new();
    let target = &plan.target;
    let staging_attempted = attempted.iter().any(|s| {
        matches!(
            s,
            Step::MapRoute {
                role: RouteRole::Staging,
                ..
            }
        )
    });
    if forward {
        steps.extend(config.live.iter().map(|r| Step::MapRoute {
            app: target.clone(),
            route: r.clone(),
            role: RouteRole::Live,
        }));
        steps.extend(
            plan.steps
                .iter()
                .filter(|s| is_unmap_from_previous(plan, s))
                .cloned(),
        );
        steps.push(Step::UnmapRoute {
            app: target.clone(),
            route: config.staging.clone(),
            role: RouteRole::Staging,
        });
        if let (Some(old), OldApp::Stop) = (&plan.previous, config.old_app) {
            steps.push(Step::Stop { app: old.clone() });
        }
        return steps;
    }
    if let Some(old) = &plan.previous {
        steps.push(Step::Start { app: old.clone() });
        for route in config.live.iter().filter(|r| before.holds(old, r)) {
            steps.push(Step::MapRoute {
                app: old.clone(),
                route: route.clone(),
                role: RouteRole::Live,
            });
        }
    }
    for step in attempted {
        if let Step::MapRoute {
            route,
            role: RouteRole::Live,
            ..
        } = step
        {
            steps.push(Step::UnmapRoute {
                app: target.clone(),
                route: route.clone(),
                role: RouteRole::Live,
            });
        }
    }
    if staging_attempted {
        steps.push(Step::UnmapRoute {
            app: target.clone(),
            route: config.staging.clone(),
            role: RouteRole::Staging,
        });
    }
    if plan.kind == Kind::Deploy || !before.get(target).is_some_and(|s| s.started()) {
        steps.push(Step::Stop {
            app: target.clone(),
        });
    }
    steps
}

/// The commands a plan would run, for `--dry-run`.
pub fn dry_run_lines(plan: &Plan) -> Vec<String> {
    plan.commands().iter().map(CfCommand::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::DeployId;
    use crate::plan::fixtures::*;

    fn plan_deploy(c: &Config, state: &PairState) -> Result<Plan, crate::plan::PlanError> {
        crate::plan::plan_deploy(c, state, &BTreeMap::new(), &DeployId("id".into()))
    }

    fn commands(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(Step::command)
            .map(|c| c.to_string())
            .collect()
    }

    fn index_of(plan: &Plan, pred: impl Fn(&Step) -> bool) -> usize {
        plan.steps.iter().position(pred).unwrap()
    }

    /// A cf in memory that holds each read until three are in flight (or two seconds
    /// pass), and records the most it saw at once.
    struct GatheringCf {
        in_flight: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
    }

    impl crate::cf::Cf for GatheringCf {
        fn run(
            &self,
            args: &[String],
            _timeout: std::time::Duration,
            _abort: &dyn Fn() -> bool,
            _on_line: &(dyn Fn(&str) + Sync),
        ) -> Result<crate::cf::CfOutput, CfError> {
            use std::sync::atomic::Ordering::SeqCst;
            let out = |code, stdout: &str, stderr: &str| crate::cf::CfOutput {
                code: Some(code),
                stdout: stdout.into(),
                stderr: stderr.into(),
                combined: format!("{stdout}{stderr}"),
            };
            if args[0] == "version" {
                return Ok(out(0, "cf version 8.7.0+abc.2024-01-01\n", ""));
            }
            let now = self.in_flight.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            let started = std::time::Instant::now();
            while self.most.load(SeqCst) < 3 && started.elapsed().as_secs() < 2 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            self.most.fetch_max(self.in_flight.load(SeqCst), SeqCst);
            self.in_flight.fetch_sub(1, SeqCst);
            Ok(match args[0].as_str() {
                "target" => out(0, "user: u\norg: o\nspace: s\n", ""),
                _ => out(1, "FAILED\n", &format!("App '{}' not found.\n", args[1])),
            })
        }
    }

    #[test]
    fn preflight_reads_target_and_both_apps_side_by_side() {
        let cf = GatheringCf {
            in_flight: Default::default(),
            most: Default::default(),
        };
        let reporter = Reporter::new(crate::report::Verbosity::Quiet);
        let c = config("");
        let ctx = Context::new(
            &c,
            CfClient::new(&cf, &reporter, std::time::Duration::from_secs(5)),
            &reporter,
        );
        let observed = preflight(&ctx).unwrap();
        assert_eq!(observed.pair, pair(None, None));
        assert_eq!(cf.most.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn manifest_names() {
        let m = "---\napplications:\n- name: a\n  memory: 64M\n- name: b\n";
        assert_eq!(manifest_app_names(m).unwrap(), ["a", "b"]);
        assert_eq!(manifest_app_names("").unwrap(), Vec::<String>::new());
        assert!(manifest_app_names("applications: [").is_err());
    }

    #[test]
    fn smoke_failure_restores() {
        let c = config("");
        let before = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        let smoke = index_of(&plan, |s| matches!(s, Step::SmokeCheck { .. }));
        let now = pair(
            started(&["live.example.com"]),
            started(&["stg.example.com"]),
        );
        assert!(!complete_forward(&c, &plan, &now, smoke));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, false)),
            ["cf unmap-route b example.com --hostname stg", "cf stop b"]
        );
    }

    #[test]
    fn failure_between_map_and_unmap_unmaps_from_the_new_app() {
        let c = config("");
        let before = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        let unmap_old = index_of(&plan, |s| is_unmap_from_previous(&plan, s));
        // The unmap from the old app failed without effect: both hold the live route.
        let now = pair(
            started(&["live.example.com"]),
            started(&["stg.example.com", "live.example.com"]),
        );
        assert!(!complete_forward(&c, &plan, &now, unmap_old));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, false)),
            [
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route b example.com --hostname stg",
                "cf stop b"
            ]
        );
    }

    #[test]
    fn unmap_from_old_that_applied_completes_forward() {
        let c = config("");
        let before = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        let unmap_old = index_of(&plan, |s| is_unmap_from_previous(&plan, s));
        let now = pair(
            started(&[]),
            started(&["stg.example.com", "live.example.com"]),
        );
        assert!(complete_forward(&c, &plan, &now, unmap_old));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, true)),
            ["cf unmap-route b example.com --hostname stg", "cf stop a"]
        );
    }

    #[test]
    fn restore_maps_back_before_unmapping_and_starts_a_stopped_old_app() {
        let c = config("[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n");
        let before = pair(started(&["live.example.com", "www.shop.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        // Odd state: old lost one route and was stopped, the new app is not started.
        let now = pair(
            stopped(&["www.shop.com"]),
            stopped(&["live.example.com", "www.shop.com"]),
        );
        assert!(!complete_forward(&c, &plan, &now, 5));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, false)),
            [
                "cf start a",
                "cf map-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route b shop.com --hostname www",
            ]
        );
    }

    #[test]
    fn first_deploy_failing_after_the_live_map_completes_forward() {
        let c = config("");
        let before = pair(None, None);
        let plan = plan_deploy(&c, &before).unwrap();
        let last = plan.steps.len() - 1;
        let now = pair(started(&["live.example.com", "stg.example.com"]), None);
        assert!(complete_forward(&c, &plan, &now, last));
        assert_eq!(
            commands(&recovery_steps(&c, &plan, &now, true)),
            ["cf unmap-route a example.com --hostname stg"]
        );
    }

    #[test]
    fn first_deploy_never_unmaps_a_live_route_it_already_serves() {
        let c = config("");
        let before = pair(None, None);
        let plan = plan_deploy(&c, &before).unwrap();
        let map_live = index_of(&plan, |s| {
            matches!(
                s,
                Step::MapRoute {
                    role: RouteRole::Live,
                    ..
                }
            )
        });
        // The live map took effect although cf reported a failure.
        let now = pair(started(&["live.example.com", "stg.example.com"]), None);
        assert!(complete_forward(&c, &plan, &now, map_live));
        // It did not take effect: nothing is served, restoring is safe.
        let now = pair(started(&["stg.example.com"]), None);
        assert!(!complete_forward(&c, &plan, &now, map_live));
    }

    #[test]
    fn blind_restore_undoes_everything_attempted() {
        let c = config("");
        let before = pair(started(&["live.example.com"]), stopped(&[]));
        let plan = plan_deploy(&c, &before).unwrap();
        let map_live = index_of(&plan, |s| {
            matches!(
                s,
                Step::MapRoute {
                    role: RouteRole::Live,
                    ..
                }
            )
        });
        assert_eq!(
            commands(&blind_recovery_steps(&c, &plan, map_live, false)),
            [
                "cf start a",
                "cf map-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route b example.com --hostname stg",
                "cf stop b",
            ]
        );
    }
}
