//! Runs a [`Plan`]: each step in turn, announced as an event; when one fails (or an
//! interrupt comes), the steps that [`crate::plan::recovery`] decides bring the routes to
//! a safe state (see [`recover`]).

mod capacity;
mod recover;

use crate::cf::v3::Policy;
use crate::cf::{commands, CfCommand, CfError};
use crate::context::Context;
use crate::error::Error;
use crate::hint::Hint;
use crate::plan::{Plan, RouteRole, Step};
use crate::report::{timed, Activity};
use crate::route::Route;
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
    /// The new version did not reach the state the switch needs (its instances).
    #[error("{what}")]
    NotReady { what: String, hint: String },
    #[error("interrupted")]
    Interrupted,
}

impl Hint for StepError {
    fn hint(&self) -> Option<String> {
        match self {
            StepError::Cf(e) => e.hint(),
            StepError::Smoke(e) => e.hint(),
            StepError::NotReady { hint, .. } => Some(hint.clone()),
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
        Step::EnsureNotLive { app, live } => ensure_not_live(ctx, app, live)?,
        Step::CopyPolicies { from, to, required } => copy_policies(ctx, from, to, *required)?,
        Step::MatchInstances { app, like, pushed } => {
            capacity::match_instances(ctx, app, like, *pushed)?
        }
        Step::VerifyLive { app, url } => {
            let guid = guid(ctx, app, None)?;
            smoke::verify_live(&config.smoke, url, &format!("{guid}:0"), &|line| {
                ctx.events.emit(crate::report::Event::Output { line })
            })?;
        }
        // Cut short by an interrupt, the executor then stops before the next step.
        Step::Drain { time, .. } => {
            crate::interrupt::sleep(*time);
        }
        Step::MapRoute { app, route, .. } => cf(commands::map_route(app, route))?,
        Step::UnmapRoute { app, route, .. } => {
            match ctx
                .cf
                .run(&commands::unmap_route(app, route), ctx.cf.timeout)
            {
                Err(CfError::Failed { output, .. })
                    if crate::cf::parse::is_already_unmapped(app, &output) =>
                {
                    // Recovery unmaps what may have been mapped: an unmap with nothing
                    // to do has done its job.
                    ctx.events.emit(crate::report::Event::Output {
                        line: &format!("{route} is not mapped to {app}: nothing to unmap"),
                    });
                }
                other => drop(other?),
            }
        }
        Step::SmokeCheck { .. } => {
            smoke::check(&config.smoke, &|line| {
                ctx.events.emit(crate::report::Event::Output { line })
            })?;
        }
        Step::Start { app } => drop(ctx.cf.run(&commands::start(app), config.cf.start_timeout)?),
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
fn ensure_not_live(ctx: &Context, app: &str, live: &[Route]) -> Result<(), StepError> {
    let config = ctx.config;
    let routes = ctx.cf.app(app)?.map(|s| s.routes).unwrap_or_default();
    let on_it: Vec<_> = live
        .iter()
        .filter(|r| routes.iter().any(|p| r.matches(p)))
        .cloned()
        .collect();
    let others: Vec<&str> = routes
        .iter()
        .filter(|p| !live.iter().chain([&config.staging]).any(|r| r.matches(p)))
        .map(String::as_str)
        .collect();
    if !others.is_empty() {
        // Not ours to remove (internal routes, say), but unchecked code serves them.
        ctx.warn(&format!(
            "{app} also holds {}, which this tool does not manage: the new version serves there before its check",
            others.join(", ")
        ));
    }
    for route in on_it {
        ctx.warn(&format!(
            "the push put the live route {route} on {app} (a route in the manifest?); unmapping it before anything else"
        ));
        run_step(ctx, &Step::unmap_route(app, &route, RouteRole::Live))?;
    }
    Ok(())
}

/// The app's GUID: `known` (from the plan), learnt earlier in the run, or asked of cf.
fn guid(ctx: &Context, app: &str, known: Option<&str>) -> Result<String, CfError> {
    let known = known
        .map(str::to_string)
        .or_else(|| ctx.guids.lock().unwrap().get(app).cloned());
    if let Some(g) = known {
        return Ok(g);
    }
    let g = ctx.cf.guid(app)?.ok_or_else(|| CfError::Failed {
        command: format!("cf app {app} --guid"),
        status: "the app does not exist".into(),
        output: String::new(),
    })?;
    ctx.guids.lock().unwrap().insert(app.to_string(), g.clone());
    Ok(g)
}

fn annotate(
    ctx: &Context,
    app: &str,
    known: Option<&str>,
    values: &[(String, Option<String>)],
) -> Result<(), CfError> {
    let guid = guid(ctx, app, known)?;
    ctx.cf.annotate(&guid, values)?;
    Ok(())
}

/// Gives `to` the network policies `from` has, with `to` in `from`'s place. A policy
/// server that cannot be read (no container networking, no permission to list) is a
/// warning when no internal route moves: there may be nothing to copy, and a deploy must
/// not depend on it. When one moves (`required`), or once they are read, adding them
/// must work: internal callers would be denied after the switch.
///
/// The policies come from the state read when it listed them for `from` (the push keeps
/// an app's GUID, so they still name it), else from the policy server now; a failed read
/// that `required` cannot pass over is tried again here.
fn copy_policies(ctx: &Context, from: &str, to: &str, required: bool) -> Result<(), StepError> {
    let (from_guid, to_guid) = (guid(ctx, from, None)?, guid(ctx, to, None)?);
    let seen = ctx.seen.lock().unwrap().policies.clone();
    let seen = seen
        .filter(|s| s.ids.contains(&from_guid) && (s.read.is_ok() || !required))
        .map(|s| (s.ids, s.read));
    let unreadable = |e: &dyn std::fmt::Display| {
        ctx.warn(&format!(
            "could not read the network policies of {from}, so {to} gets none of them: {e}\n  \
             if other apps reach {from} over an internal route, give {to} the same policies \
             (cf network-policies, cf add-network-policy)"
        ));
    };
    let (all, to_listed) = match seen {
        // `to` was not asked for: it did not exist then, so no policy names its new GUID.
        Some((ids, Ok(all))) => (all, ids.contains(&to_guid)),
        // Only when not `required` (filtered above).
        Some((_, Err(e))) => {
            unreadable(&e);
            return Ok(());
        }
        None => match ctx.cf.policies(&[from_guid.as_str(), to_guid.as_str()]) {
            Ok(all) => (all, true),
            Err(e) if !required => {
                unreadable(&e);
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        },
    };
    let names = |p: &Policy, id: &str| p.source.id == id || p.destination.id == id;
    let theirs: Vec<Policy> = all
        .iter()
        .filter(|p| names(p, &from_guid))
        .cloned()
        .collect();
    let have: Vec<Policy> = if to_listed {
        all.iter().filter(|p| names(p, &to_guid)).cloned().collect()
    } else {
        Vec::new()
    };
    let swap = |id: &str| {
        if id == from_guid {
            to_guid.clone()
        } else {
            id.to_string()
        }
    };
    let mut wanted: Vec<Policy> = theirs
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.source.id = swap(&p.source.id);
            p.destination.id = swap(&p.destination.id);
            p
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    wanted.retain(|p| !have.contains(p));
    if wanted.is_empty() {
        return Ok(());
    }
    ctx.cf.add_policies(&wanted)?;
    let name = |id: &str| {
        if id == to_guid {
            to.to_string()
        } else if id == from_guid {
            from.to_string()
        } else {
            id.to_string()
        }
    };
    let shown: Vec<String> = wanted
        .iter()
        .map(|p| {
            let ports = p.destination.ports;
            let ports = if ports.start == ports.end {
                ports.start.to_string()
            } else {
                format!("{}-{}", ports.start, ports.end)
            };
            format!(
                "{} -> {} {} {ports}",
                name(&p.source.id),
                name(&p.destination.id),
                p.destination.protocol
            )
        })
        .collect();
    ctx.events.emit(crate::report::Event::PoliciesAdded {
        from,
        to,
        policies: &shown,
    });
    Ok(())
}

#[cfg(test)]
mod tests;
