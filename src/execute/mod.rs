//! Runs a [`Plan`] batch by batch ([`Plan::batches`]): the steps of a batch side by
//! side, each announced as an event, and every batch done before the next begins. When a
//! step fails (or an interrupt comes), the steps that [`crate::plan::recovery`] decides
//! bring the routes to a safe state (see [`recover`]).

mod capacity;
mod recover;

use std::ops::Range;
use std::time::{Duration, Instant};

use crate::cf::v3::Policy;
use crate::cf::{commands, CfCommand, CfError};
use crate::context::Context;
use crate::error::Error;
use crate::hint::Hint;
use crate::plan::{Plan, RouteRole, Step};
use crate::report::{timed, Activity, Event};
use crate::route::Route;
use crate::smoke;

/// Runs the plan. `Ok` means `plan.target` is live: every step ran, or a failed step was
/// followed by a recovery that completed the switch (with a warning).
pub fn execute(ctx: &Context, plan: &Plan) -> Result<(), Error> {
    run_plan(ctx, plan)
}

fn run_plan(ctx: &Context, plan: &Plan) -> Result<(), Error> {
    for note in &plan.notes {
        ctx.warn(note);
    }
    run_from(ctx, plan, 0)
}

/// Runs the batches of the plan from the one that holds step `from` on (a recovery that
/// finished the switch resumes at the verification this way).
fn run_from(ctx: &Context, plan: &Plan, from: usize) -> Result<(), Error> {
    let batches = plan.batches();
    let gate_at = ctx.gate.and(gate_index(plan));
    let switched_at = ctx.switched.and(switched_gate_index(plan));
    for batch in batches.iter().filter(|b| b.end > from) {
        // A second interrupt during the batch: its first index makes the whole batch
        // count as attempted (see `Plan::attempted`).
        crate::interrupt::set_at_once_message_for(
            ctx.name,
            recover::at_once_message(ctx, plan, batch.start),
        );
        if crate::interrupt::requested() {
            if switched_at.is_some_and(|at| batch.contains(&at)) {
                // On the way to the gate after the switch: as at the gate.
                return recover::interrupted_at_switched_gate(ctx, plan, batch.start);
            }
            return recover::interrupted(ctx, plan, batch.start);
        }
        if let (Some(gate), Some(at)) = (ctx.gate, gate_at) {
            if batch.contains(&at) && !gate() {
                if crate::interrupt::requested() {
                    return recover::interrupted(ctx, plan, batch.start);
                }
                return recover::recover(ctx, plan, batch.start, StepError::Held);
            }
        }
        if let (Some(switched), Some(at)) = (ctx.switched, switched_at) {
            if batch.contains(&at) && !switched(true) {
                if crate::interrupt::requested() {
                    // As during the verification: live stays on the new version, and the
                    // previous app stays started, without routes.
                    return recover::interrupted_at_switched_gate(ctx, plan, batch.start);
                }
                match &plan.previous {
                    Some(_) => {
                        return recover::recover(ctx, plan, batch.start, StepError::SwitchedBack)
                    }
                    // Taking the live route off the only app that can serve it, after it
                    // served, would leave it unserved: a first deploy stays.
                    None => ctx.warn(&format!(
                        "{} is live, but another deployment of the suite did not pass; this was \
                         the first deploy of {}, so there is nothing to switch back to: it stays \
                         live (--all-or-nothing)",
                        plan.target,
                        ctx.name.unwrap_or("this pair")
                    )),
                }
            }
        }
        if let Err((index, failure)) = run_batch(ctx, plan, batch.clone()) {
            // A check that failed under live traffic wins over an interrupt that came
            // meanwhile: the failing version must not keep the live routes.
            let failed_verification = matches!(failure, StepError::Verify(_));
            if crate::interrupt::requested() && !failed_verification {
                return recover::interrupted(ctx, plan, index + 1);
            }
            // Recovery reads cf's state again, so what the rest of the batch did is seen.
            return recover::recover(ctx, plan, index, failure);
        }
    }
    if crate::interrupt::requested() {
        let done = match plan.kind {
            crate::plan::Kind::Stage => format!("{} is staged", plan.target),
            crate::plan::Kind::Abort => format!("{} is stopped", plan.target),
            _ => format!("{} is live", plan.target),
        };
        return Err(Error::Interrupted {
            step: "the last step".into(),
            state: format!("the {} had completed: {done}", plan.kind.name()),
        });
    }
    Ok(())
}

/// Runs the steps `batch` of the plan side by side. The failed step with the lowest
/// index, if any, with its error.
fn run_batch(ctx: &Context, plan: &Plan, batch: Range<usize>) -> Result<(), (usize, StepError)> {
    let run = |step: &Step| run_step(ctx, step);
    side_by_side(ctx, &plan.steps[batch.clone()], Activity::Step, &run).map_err(|mut failed| {
        let (i, e) = failed.swap_remove(0);
        (batch.start + i, e)
    })
}

/// Runs `steps` side by side, one thread each (the first, or a single step, on this
/// thread); waits for all of them. The output stays one line per step in their order: every start is announced first, in order, and every end once all have
/// ended, in order, each with its own duration. Returns every failed step, by index in
/// `steps` (lowest first, never empty), with its error.
fn side_by_side<'s>(
    ctx: &Context,
    steps: &'s [Step],
    activity: fn(&'s Step) -> Activity<'s>,
    run: &(dyn Fn(&Step) -> Result<(), StepError> + Sync),
) -> Result<(), Vec<(usize, StepError)>> {
    if let [step] = steps {
        return timed(ctx.events, activity(step), || run(step)).map_err(|e| vec![(0, e)]);
    }
    for step in steps {
        ctx.events.emit(Event::Started {
            activity: activity(step),
        });
    }
    let measured = |step: &Step| {
        let started = Instant::now();
        let result = run(step);
        (started.elapsed(), result)
    };
    let results: Vec<(Duration, Result<(), StepError>)> = std::thread::scope(|scope| {
        // This thread takes the first step: one thread fewer.
        let handles: Vec<_> = steps[1..]
            .iter()
            .map(|step| scope.spawn(move || measured(step)))
            .collect();
        let first = steps.first().map(measured);
        let joined = handles.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        first.into_iter().chain(joined).collect()
    });
    let mut failed = Vec::new();
    for (i, (step, (elapsed, result))) in steps.iter().zip(results).enumerate() {
        ctx.events.emit(Event::Finished {
            activity: activity(step),
            elapsed,
            ok: result.is_ok(),
        });
        if let Err(e) = result {
            failed.push((i, e));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed)
    }
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Cf(#[from] CfError),
    #[error(transparent)]
    Smoke(#[from] smoke::SmokeError),
    /// A check of `[verify]` failed after the switch: the executor switches back.
    #[error(transparent)]
    Verify(#[from] crate::verify::VerifyError),
    /// The new version did not reach the state the switch needs (its instances).
    #[error("{what}")]
    NotReady { what: String, hint: String },
    #[error("interrupted")]
    Interrupted,
    /// `--all-or-nothing`: another pair of the suite did not pass its checks, so this
    /// one, which did, must not switch either.
    #[error("another deployment of the suite did not pass its checks, and with --all-or-nothing none switches then")]
    Held,
    /// `--all-or-nothing`, after the switch: another pair failed (its checks, its switch
    /// or its verification), so this one, live and verified, switches back.
    #[error("another deployment of the suite did not switch or pass its verification, and with --all-or-nothing every deployment switches back then")]
    SwitchedBack,
    /// An interrupt while waiting at the gate after the switch: as during the
    /// verification, the previous app is left started.
    #[error("interrupted")]
    InterruptedAfterSwitch,
}

impl Hint for StepError {
    fn hint(&self) -> Option<String> {
        match self {
            StepError::Cf(e) => e.hint(),
            StepError::Smoke(e) => e.hint(),
            StepError::Verify(_) => Some(
                "fix the new version (its recent logs follow) and deploy again; if the check \
                 asked for the wrong thing, change verify.url, verify.expect-status, \
                 verify.expect-body or verify.command"
                    .into(),
            ),
            StepError::NotReady { hint, .. } => Some(hint.clone()),
            StepError::Interrupted | StepError::InterruptedAfterSwitch => None,
            StepError::Held => Some(
                "see the other deployments' errors; run again once all pass their checks".into(),
            ),
            // Recovery words it, knowing the command to run again.
            StepError::SwitchedBack => None,
        }
    }
}

fn run_step(ctx: &Context, step: &Step) -> Result<(), StepError> {
    let config = ctx.config;
    let cf = |command: CfCommand| ctx.cf.run(&command, ctx.cf.timeout).map(drop);
    match step {
        Step::Push { command, .. } => {
            let placeholder = crate::vars_file::PLACEHOLDER;
            // Lives until the push is over, then removes itself.
            let vars = match command.args.iter().any(|a| a == placeholder) {
                true => Some(
                    crate::vars_file::VarsFile::create(&config.push.vars).map_err(|e| {
                        StepError::NotReady {
                            what: format!("could not write push.vars to a temporary file: {e}"),
                            hint: "check that the temporary directory (TMPDIR) is writable".into(),
                        }
                    })?,
                ),
                false => None,
            };
            let mut command = command.clone();
            if let Some(file) = &vars {
                for arg in &mut command.args {
                    if arg == placeholder {
                        *arg = file.path().display().to_string();
                    }
                }
            }
            ctx.cf.run_abortable(&command, config.push.timeout)?;
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
        // Cut short by an interrupt, like the drain.
        Step::Verify { .. } => {
            let verify = config.verify.as_ref().expect("planned with [verify]");
            crate::verify::watch(verify, &config.smoke, &|line| {
                ctx.events.emit(crate::report::Event::Output { line })
            })?;
            // Cut short, it did not pass: the step says so (the executor spares the
            // previous app).
            if crate::interrupt::requested() {
                return Err(StepError::Interrupted);
            }
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
            // But the staged record is what `deploy --no-switch` leaves for `promote`:
            // without it nothing waits for promotion, so the staging is undone.
            let stages = values
                .iter()
                .any(|(k, v)| k == crate::metadata::STAGED && v.is_some());
            let written = annotate(ctx, app, guid.as_deref(), values);
            if stages {
                written?;
            } else if let Err(e) = written {
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

/// Where `--all-or-nothing` waits: once every check has passed, before anything that says
/// or makes the new version live (its "checked" record, its first live route).
fn gate_index(plan: &Plan) -> Option<usize> {
    plan.steps.iter().position(|s| match s {
        Step::MapRoute {
            app,
            role: RouteRole::Live,
            ..
        } => *app == plan.target,
        // Setting it, not the deploy record that clears it.
        Step::Annotate { values, .. } => values
            .iter()
            .any(|(k, v)| k == crate::metadata::CHECKED && v.is_some()),
        _ => false,
    })
}

/// Where `--all-or-nothing` waits after the switch: once the new version is live and
/// verified, before the first step that retires the previous app or says the switch is
/// done — the drain, the retirement, the cleanup (staging route, live-since record) —
/// so that a pair sent back still has its previous app started.
fn switched_gate_index(plan: &Plan) -> Option<usize> {
    let first_live_map = plan.steps.iter().position(
        |s| matches!(s, Step::MapRoute { app, role: RouteRole::Live, .. } if *app == plan.target),
    )?;
    let retire = plan.retire_steps();
    plan.steps
        .iter()
        .enumerate()
        .skip(first_live_map)
        .find(|(_, s)| match s {
            Step::Drain { .. } => true,
            Step::UnmapRoute {
                app,
                role: RouteRole::Staging,
                ..
            } => *app == plan.target,
            Step::Annotate { values, .. } => values
                .iter()
                .any(|(k, v)| k == crate::metadata::LIVE_SINCE && v.is_some()),
            s => retire.contains(s),
        })
        .map(|(i, _)| i)
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
