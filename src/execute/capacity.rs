//! The new version takes live traffic with the capacity of the old one: `cf push`
//! without `instances` keeps the idle app's own count, which can be far below the live
//! app's (scaled by hand or by an autoscaler while it was live).

use std::time::Instant;

use super::{guid, StepError};
use crate::cf::CfCommand;
use crate::context::Context;
use crate::report::Event;

/// Scales `app` up to `like`'s instance count (never down, and not past the user's own
/// count: that wins, with a warning), then waits until that many run: `cf scale` returns
/// once one runs (v7/v8) or at once (v6).
pub(super) fn match_instances(
    ctx: &Context,
    app: &str,
    like: &str,
    pushed: bool,
) -> Result<(), StepError> {
    let guid = guid(ctx, app, None)?;
    // The live app's process as the state read found it (it is not pushed); the new
    // version's as the push left it, so read now.
    let seen = ctx.seen.lock().unwrap().processes.get(like).copied();
    let theirs = match seen {
        Some(p) => p,
        None => ctx.cf.process(&super::guid(ctx, like, None)?)?,
    };
    // Its process and its instances side by side: when nothing needs scaling, the
    // instances read here are the whole wait, and the step costs one round.
    let (ours, now) = std::thread::scope(|s| {
        let running = s.spawn(|| ctx.cf.running(&guid));
        (
            ctx.cf.process(&guid),
            running.join().expect("cf curl thread"),
        )
    });
    let ours = ours?;
    let mut now = Some(now?);
    if ours.memory_in_mb != theirs.memory_in_mb || ours.disk_in_mb != theirs.disk_in_mb {
        ctx.warn(&format!(
            "{app} has {} MB of memory and {} MB of disk per instance, {like} has {} MB and {} MB",
            ours.memory_in_mb, ours.disk_in_mb, theirs.memory_in_mb, theirs.disk_in_mb
        ));
    }
    let mut goal = theirs.instances.min(ours.instances);
    if ours.instances < theirs.instances {
        let asked = pushed
            .then(|| crate::preflight::user_instances(ctx.config, app))
            .flatten();
        match asked {
            Some(n) => ctx.warn(&format!(
                "{like} runs {} instances, but the push asks for {n} (push.args or the manifest): \
                 {app} takes live traffic with {} as asked",
                theirs.instances, ours.instances
            )),
            None => {
                let command = CfCommand::new([
                    "scale".to_string(),
                    app.to_string(),
                    "-i".to_string(),
                    theirs.instances.to_string(),
                ]);
                ctx.cf.run(&command, ctx.cf.timeout)?;
                now = None;
                ctx.events.emit(Event::Scaled {
                    app,
                    like,
                    from: ours.instances,
                    to: theirs.instances,
                });
                goal = theirs.instances;
            }
        }
    }
    wait_until_running(ctx, app, &guid, goal, now)
}

/// Waits until `goal` instances of `app` run; `now` is a reading of them made a moment
/// ago, if there is one.
fn wait_until_running(
    ctx: &Context,
    app: &str,
    guid: &str,
    goal: u32,
    mut now: Option<(u32, u32)>,
) -> Result<(), StepError> {
    // As long as a `cf start` may take: the same instances, coming up.
    let limit = ctx.config.cf.start_timeout;
    let deadline = Instant::now() + limit;
    loop {
        let (running, of) = match now.take() {
            Some(reading) => reading,
            None => ctx.cf.running(guid)?,
        };
        if running >= goal {
            return Ok(());
        }
        ctx.events.emit(Event::Output {
            line: &format!("{app}: {running} of {of} instances running, waiting for {goal}"),
        });
        if Instant::now() >= deadline {
            return Err(StepError::NotReady {
                what: format!(
                    "only {running} of {app}'s instances run after {}, and {goal} must before it takes live traffic",
                    humantime::format_duration(limit)
                ),
                hint: format!(
                    "see why with `cf app {app}` and `cf logs {app} --recent` (quota, memory, a crash), \
                     then deploy again; cf.start-timeout sets how long to wait"
                ),
            });
        }
        if !crate::interrupt::sleep(ctx.config.smoke.interval) {
            return Err(StepError::Interrupted);
        }
    }
}
