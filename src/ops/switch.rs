//! What `deploy` and `rollback` share: read the state, decide, take the lock, read again
//! and decide again, run the plan, release the lock, sum up.

use super::SwitchOptions;
use crate::context::Context;
use crate::error::Error;
use crate::execute::execute;
use crate::lock;
use crate::metadata::{self, DeployId};
use crate::plan::{self, Kind, Plan};
use crate::preflight::{self, Observed};
use crate::report::{timed, Activity, Event};

fn make_plan(ctx: &Context, kind: Kind, observed: &Observed, id: &DeployId) -> Result<Plan, Error> {
    let (config, pair, meta) = (ctx.config, &observed.pair, &observed.meta);
    Ok(match kind {
        Kind::Deploy => plan::plan_deploy(config, pair, meta, id)?,
        Kind::Rollback => plan::plan_rollback(config, pair, meta, id)?,
    })
}

pub(super) fn switch(ctx: &Context, kind: Kind, options: SwitchOptions) -> Result<(), Error> {
    let events = ctx.events;
    let observed = timed(events, Activity::ReadState, || preflight::preflight(ctx))?;
    events.emit(Event::Connected {
        version: &observed.version,
        target: &observed.target,
    });
    let id = DeployId::new(ctx.who);
    if options.dry_run {
        for (app, meta) in &observed.meta {
            if let Some(lock) = meta.get(metadata::LOCK) {
                ctx.warn(&format!(
                    "{app} carries a deploy lock: {}",
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

    // A state that needs a human is reported before anything is written, the lock included.
    make_plan(ctx, kind, &observed, &id)?;
    let acquire = || lock::acquire(ctx, &observed, &id.0, options.force_unlock);
    let held = if ctx.config.lock.enabled && !observed.meta.is_empty() {
        timed(events, Activity::TakeLock, acquire)?
    } else {
        // Nothing to lock with (it says why), or locking is off: no step to show.
        acquire()?
    };
    let result = (|| {
        let observed = match &held {
            // Another deploy may have finished while this one waited for the lock.
            Some(_) => {
                let (pair, meta) = preflight::observe(ctx).map_err(Error::Observe)?;
                Observed {
                    pair,
                    meta,
                    ..observed
                }
            }
            None => observed,
        };
        let plan = make_plan(ctx, kind, &observed, &id)?;
        events.emit(Event::PlanReady {
            plan: &plan,
            config: ctx.config,
        });
        execute(ctx, &plan)?;
        events.emit(Event::Summary {
            plan: &plan,
            config: ctx.config,
            elapsed: ctx.started.elapsed(),
        });
        Ok(())
    })();
    if let Some(held) = &held {
        match &result {
            Err(Error::Unsafe { .. }) => ctx.warn(&format!(
                "the deploy lock on {} is kept, so that no other deploy runs before the state is fixed; \
                 after fixing it, run again with --force-unlock",
                held.app
            )),
            _ => lock::release(ctx, held),
        }
    }
    result
}
