//! Runs a [`Plan`]: each step in turn, shown by the reporter; when one fails (or an
//! interrupt comes), the steps from `recovery` that bring the routes to a safe state.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::cf::{CfClient, CfError};
use crate::config::Config;
use crate::error::Error;
use crate::plan::{Kind, Plan, RouteRole, Step};
use crate::preflight::observe_pair;
use crate::recovery::{blind_forward, blind_recovery_steps, complete_forward, recovery_steps};
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

/// Runs the plan. `Ok` means `plan.target` is live: every step ran, or a failed step was
/// followed by a recovery that completed the switch (with a warning).
pub fn execute(ctx: &Context, plan: &Plan) -> Result<(), Error> {
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
    Ok(())
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Deploy => "deploy",
        Kind::Rollback => "rollback",
    }
}

/// The first interrupt came before step `next` ran: bring the routes to a safe state as
/// after a failure of the last step that ran, then report the interrupt.
fn interrupted(ctx: &Context, plan: &Plan, next: usize) -> Result<(), Error> {
    let Some(last) = next.checked_sub(1) else {
        return Err(Error::Interrupted {
            step: "the start".into(),
            state: "nothing was changed".into(),
        });
    };
    let step = plan.steps[last].to_string();
    let state = match recover(ctx, plan, last, StepError::Interrupted) {
        Ok(()) => format!(
            "the switch had begun, so it was completed: {} is live",
            plan.target
        ),
        Err(Error::DeployFailed { live, .. }) => live,
        Err(e) => return Err(e),
    };
    Err(Error::Interrupted { step, state })
}

/// What a second interrupt prints while step `index` runs.
fn at_once_message(config: &Config, plan: &Plan, index: usize) -> String {
    let forward = blind_forward(plan, index);
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
            let routes = ctx.cf.app(app)?.map(|s| s.routes).unwrap_or_default();
            let live: Vec<_> = config
                .live
                .iter()
                .filter(|r| routes.iter().any(|p| r.matches(p)))
                .cloned()
                .collect();
            let others: Vec<&String> = routes
                .iter()
                .filter(|p| {
                    !config
                        .live
                        .iter()
                        .chain([&config.staging])
                        .any(|r| r.matches(p))
                })
                .collect();
            if !others.is_empty() {
                // Not ours to remove (internal routes, say), but unchecked code serves them.
                ctx.reporter.warn(&format!(
                    "{app} also holds {}, which this tool does not manage: the new version serves there before its check",
                    others.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
            for route in live {
                ctx.reporter.warn(&format!(
                    "the push put the live route {route} on {app} (a route in the manifest?); unmapping it before anything else"
                ));
                run_step(ctx, &Step::unmap_route(app, &route, RouteRole::Live))?;
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
) -> Result<(), Error> {
    let failed = &plan.steps[failed_index];
    let cause = failure.to_string();
    let interrupted = matches!(failure, StepError::Interrupted);
    let hint = match failure {
        // The check's errors say what to do themselves.
        StepError::Smoke(_) | StepError::Interrupted => String::new(),
        StepError::Cf(_) => format!(
            "\n  hint: fix what cf reported above, then run `cf-bluegreen {}` again",
            kind_name(plan.kind)
        ),
    };
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
            let forward = blind_forward(plan, failed_index);
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
            "{failed} failed ({}), but {} had passed its check and already served live traffic: the switch was completed",
            first_line(&cause),
            plan.target
        ));
        return Ok(());
    }
    let live = match &plan.previous {
        // A rollback's target goes back to how it was (running, with switch.old = keep).
        Some(old) if plan.kind == Kind::Rollback => format!(
            "{old} still serves the live route, and {} is as it was.",
            plan.target
        ),
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
        details: logs + &hint,
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
