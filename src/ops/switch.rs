//! What `deploy`, `rollback`, `promote` and `abort` share: read the state and take the lock (side by side),
//! decide, run the plan, release the lock, sum up.

use super::SwitchOptions;
use crate::context::Context;
use crate::error::Error;
use crate::execute::execute;
use crate::lock;
use crate::metadata::{self, DeployId};
use crate::plan::{self, Kind, Plan};
use crate::preflight::{self, LockRequest, Observed, Wants};
use crate::report::{timed, Activity, Event};

fn make_plan(ctx: &Context, kind: Kind, observed: &Observed, id: &DeployId) -> Result<Plan, Error> {
    let (config, pair, meta) = (ctx.config, &observed.pair, &observed.meta);
    Ok(match kind {
        Kind::Deploy => plan::plan_deploy(config, pair, meta, id)?,
        Kind::Rollback => plan::plan_rollback(config, pair, meta, id)?,
        Kind::Stage => plan::plan_stage(config, pair, meta, id)?,
        Kind::Promote => plan::plan_promote(config, pair, meta, id)?,
        Kind::Abort => plan::plan_abort(config, pair, meta, id)?,
    })
}

pub(super) fn switch(ctx: &Context, kind: Kind, options: SwitchOptions) -> Result<(), Error> {
    let events = ctx.events;
    let id = DeployId::new(ctx.who);
    if options.dry_run {
        // No lock call at all: the dry run only reads.
        let observed = timed(events, Activity::ReadState, || preflight::preflight(ctx))?;
        events.emit(Event::Connected {
            version: &observed.version,
            target: &observed.target,
        });
        for (app, meta) in &observed.meta {
            if let Some(lock) = meta.get(metadata::LOCK) {
                ctx.warn(&format!(
                    "{app} carries a deploy lock of an earlier version of cf-bluegreen: {}",
                    lock::parse_value(lock).holder
                ));
            }
        }
        let plan = make_plan(ctx, kind, &observed, &id)?;
        events.emit(Event::PlanReady {
            plan: &plan,
            config: ctx.config,
        });
        for note in &plan.notes {
            ctx.warn(note);
        }
        events.emit(Event::DryRun { plan: &plan });
        return Ok(());
    }

    let wants = Wants {
        lock: ctx.config.lock.enabled.then_some(LockRequest {
            token: &id.0,
            force: options.force_unlock,
        }),
        switch: kind != Kind::Abort,
        refuse_early: Some(kind),
    };
    // The lock is taken side by side with the reads, and nothing is read again once it
    // is held: see the argument in crate::lock.
    let activity = if wants.lock.is_some() {
        Activity::ReadStateAndLock
    } else {
        Activity::ReadState
    };
    let (observed, held) = timed(events, activity, || preflight::read(ctx, wants))?;
    events.emit(Event::Connected {
        version: &observed.version,
        target: &observed.target,
    });
    // A long run (a slow push, a long verification, a suite at its gates) must not see
    // its lock broken as stale: it is refreshed until the plan and any recovery are over.
    let result = lock::heartbeat::while_held(ctx, held.as_ref(), || {
        // A state that needs a human is reported before anything else is written (the
        // lock, if just taken, is released below).
        let plan = make_plan(ctx, kind, &observed, &id)?;
        events.emit(Event::PlanReady {
            plan: &plan,
            config: ctx.config,
        });
        execute(ctx, &plan)?;
        let (config, elapsed) = (ctx.config, ctx.started.elapsed());
        events.emit(match kind {
            Kind::Stage => Event::Staged {
                plan: &plan,
                config,
                elapsed,
            },
            Kind::Abort => Event::Aborted {
                plan: &plan,
                elapsed,
            },
            _ => Event::Summary {
                plan: &plan,
                config,
                elapsed,
            },
        });
        Ok(())
    });
    // The lock goes back only once the plan and any recovery are over, never beside the
    // final cleanup: a cleanup step that fails (or a `cf stop` that lands late) would
    // otherwise act on the pair while the next deploy already holds it, and could stop
    // that deploy's new, checked version as it takes the live route.
    if let Some(held) = &held {
        match &result {
            Err(Error::Unsafe { .. }) => ctx.warn(&format!(
                "the deploy lock {} is kept, so that no other deploy runs before the state is fixed; \
                 after fixing it, run again with --force-unlock",
                held.name
            )),
            _ => lock::release(ctx, held),
        }
    }
    result
}
