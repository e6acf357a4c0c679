//! Runs a [`Plan`]: each step in turn, announced as an event; when one fails (or an
//! interrupt comes), the steps that [`crate::plan::recovery`] decides bring the routes to
//! a safe state (see [`recover`]).

mod recover;

use crate::cf::{commands, CfCommand, CfError};
use crate::context::Context;
use crate::error::Error;
use crate::hint::Hint;
use crate::plan::{Plan, RouteRole, Step};
use crate::report::{timed, Activity};
use crate::smoke;

/// Runs the plan. `Ok` means `plan.target` is live: every step ran, or a failed step was
/// followed by a recovery that completed the switch (with a warning).
pub fn execute(ctx: &Context, plan: &Plan) -> Result<(), Error> {
    for note in &plan.notes {
        ctx.warn(note);
    }
    for (index, step) in plan.steps.iter().enumerate() {
        crate::interrupt::set_at_once_message(recover::at_once_message(ctx, plan, index));
        if crate::interrupt::requested() {
            return recover::interrupted(ctx, plan, index);
        }
        if let Err(failure) = timed(ctx.events, Activity::Step(step), || run_step(ctx, step)) {
            if crate::interrupt::requested() {
                return recover::interrupted(ctx, plan, index + 1);
            }
            return recover::recover(ctx, plan, index, failure);
        }
    }
    if crate::interrupt::requested() {
        return Err(Error::Interrupted {
            step: "the last step".into(),
            state: format!(
                "the {} had completed: {} is live",
                plan.kind.name(),
                plan.target
            ),
        });
    }
    Ok(())
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

impl Hint for StepError {
    fn hint(&self) -> Option<String> {
        match self {
            StepError::Cf(e) => e.hint(),
            StepError::Smoke(e) => e.hint(),
            StepError::Interrupted => None,
        }
    }
}

fn run_step(ctx: &Context, step: &Step) -> Result<(), StepError> {
    let config = ctx.config;
    let cf = |command: CfCommand| ctx.cf.run(&command, ctx.cf.timeout).map(drop);
    match step {
        Step::Push { command, .. } => {
            ctx.cf.run_abortable(command, config.push.timeout)?;
        }
        Step::EnsureNotLive { app } => ensure_not_live(ctx, app)?,
        Step::MapRoute { app, route, .. } => cf(commands::map_route(app, route))?,
        Step::UnmapRoute { app, route, .. } => cf(commands::unmap_route(app, route))?,
        Step::SmokeCheck { .. } => {
            smoke::check(&config.smoke, &|line| {
                ctx.events.emit(crate::report::Event::Output { line })
            })?;
        }
        Step::Start { app } => cf(commands::start(app))?,
        Step::Stop { app } => cf(commands::stop(app))?,
        Step::Delete { app } => cf(commands::delete(app))?,
        Step::Annotate { app, guid, values } => {
            // Bookkeeping: a failure here must not fail the deploy. Without the records
            // a later run may need a human to resolve an interrupted switch, and says so.
            if let Err(e) = annotate(ctx, app, guid.as_deref(), values) {
                let keys: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
                ctx.warn(&format!(
                    "could not record {} on {app}: {e}",
                    keys.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// Reads the app after the push: a live route on it (from a manifest, or an old cf) is
/// unmapped at once; other routes are named in a warning.
fn ensure_not_live(ctx: &Context, app: &str) -> Result<(), StepError> {
    let config = ctx.config;
    let routes = ctx.cf.app(app)?.map(|s| s.routes).unwrap_or_default();
    let live: Vec<_> = config
        .live
        .iter()
        .filter(|r| routes.iter().any(|p| r.matches(p)))
        .cloned()
        .collect();
    let others: Vec<&str> = routes
        .iter()
        .filter(|p| {
            !config
                .live
                .iter()
                .chain([&config.staging])
                .any(|r| r.matches(p))
        })
        .map(String::as_str)
        .collect();
    if !others.is_empty() {
        // Not ours to remove (internal routes, say), but unchecked code serves them.
        ctx.warn(&format!(
            "{app} also holds {}, which this tool does not manage: the new version serves there before its check",
            others.join(", ")
        ));
    }
    for route in live {
        ctx.warn(&format!(
            "the push put the live route {route} on {app} (a route in the manifest?); unmapping it before anything else"
        ));
        run_step(ctx, &Step::unmap_route(app, &route, RouteRole::Live))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests;
