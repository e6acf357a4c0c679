//! After a failed step or an interrupt: read cf's state again, let
//! [`crate::plan::recovery`] decide (finish the switch or undo it), run its steps, and
//! say what happened. Without cf's state, recover from what the plan attempted.

use super::{run_step, side_by_side, StepError};
use crate::cf::CfError;
use crate::context::Context;
use crate::error::Error;
use crate::hint::Hint;
use crate::plan::batch::recovery_batches;
use crate::plan::recovery::{
    blind_forward, blind_recovery_steps, complete_forward, recovery_steps, spare_previous,
    switched_back_record, switches_back, verify_ahead, verify_failed_record,
};
use crate::plan::{Kind, Plan, Step};
use crate::preflight::observe_pair;
use crate::report::{Activity, Event};

/// The first interrupt came before step `next` ran: bring the routes to a safe state as
/// after a failure of the last step that ran, then report the interrupt.
pub(super) fn interrupted(ctx: &Context, plan: &Plan, next: usize) -> Result<(), Error> {
    interrupted_with(ctx, plan, next, StepError::Interrupted)
}

/// The first interrupt came while waiting at the `--all-or-nothing` gate after the
/// switch, before step `next`: as during the verification, the switch stays done and the
/// previous app started.
pub(super) fn interrupted_at_switched_gate(
    ctx: &Context,
    plan: &Plan,
    next: usize,
) -> Result<(), Error> {
    interrupted_with(ctx, plan, next, StepError::InterruptedAfterSwitch)
}

fn interrupted_with(
    ctx: &Context,
    plan: &Plan,
    next: usize,
    failure: StepError,
) -> Result<(), Error> {
    let at_gate = matches!(failure, StepError::InterruptedAfterSwitch);
    let Some(last) = next.checked_sub(1) else {
        return Err(Error::Interrupted {
            step: "the start".into(),
            state: "nothing was changed".into(),
        });
    };
    let step = plan.steps[last].to_string();
    let state = match recover(ctx, plan, last, failure) {
        // At the gate after the switch, the verification is behind: done, not cut short.
        Ok(()) if !at_gate && matches!(plan.steps[last], Step::Verify { .. }) => format!(
            "the switch was done, but its verification was cut short: {} is live, and {} \
             was left started without routes. `cf-bluegreen rollback` switches back to it \
             without a start; the next deploy pushes to it (`cf stop {}` retires it now)",
            plan.target,
            plan.previous.as_deref().unwrap_or("the previous app"),
            plan.previous.as_deref().unwrap_or("APP"),
        ),
        Ok(()) if plan.previous.is_some() && verify_ahead(plan, last).is_some() => format!(
            "the switch had begun, so it was completed, but the new version was NOT verified: \
             {} is live, and {} was left started without routes. `cf-bluegreen rollback` \
             switches back to it without a start; the next deploy pushes to it (`cf stop {}` \
             retires it now)",
            plan.target,
            plan.previous.as_deref().unwrap_or("the previous app"),
            plan.previous.as_deref().unwrap_or("APP"),
        ),
        Ok(())
            if at_gate
                || gate_ahead(ctx, plan, last).is_some()
                || spare_previous(plan, last, true) =>
        {
            format!(
                "the switch was done: {} is live; {} was left running without routes \
                 (`cf stop {}`, or let the next deploy push to it)",
                plan.target,
                plan.previous.as_deref().unwrap_or("the previous app"),
                plan.previous.as_deref().unwrap_or("APP"),
            )
        }
        Ok(()) if plan.kind == Kind::Abort => {
            format!("the abort was finished: {} is stopped", plan.target)
        }
        Ok(()) => format!(
            "the switch had begun, so it was completed: {} is live",
            plan.target
        ),
        Err(Error::DeployFailed { live, .. }) => live,
        Err(e) => return Err(e),
    };
    Err(Error::Interrupted { step, state })
}

/// `--all-or-nothing`: where the pair waits after the switch, if that is after step
/// `index` and there is a previous app to wait with.
fn gate_ahead(ctx: &Context, plan: &Plan, index: usize) -> Option<usize> {
    ctx.switched?;
    plan.previous.as_ref()?;
    super::switched_gate_index(plan).filter(|&at| at > index)
}

/// What a second interrupt prints while the batch of step `index` runs: every step of
/// the batch may be under way, so the commands undo (or finish) all of them.
pub(super) fn at_once_message(ctx: &Context, plan: &Plan, index: usize) -> String {
    let during: Vec<String> = plan.steps[plan.batch_of(index)]
        .iter()
        .map(ToString::to_string)
        .collect();
    let forward = blind_forward(plan, index);
    let mut steps = blind_recovery_steps(ctx.config, plan, index, forward);
    // As after the first interrupt: during the verification or the drain (or before an
    // unverified switch), the previous app is kept, started, to go back to.
    let spare =
        spare_previous(plan, index, true) || (forward && verify_ahead(plan, index).is_some());
    let mut kept = String::new();
    if let (true, Some(old)) = (spare, &plan.previous) {
        let retire = plan.retire_steps();
        steps.retain(|s| !retire.contains(s));
        kept = format!(
            "\n{old} stays started without routes: `cf-bluegreen rollback` switches back to it without a start."
        );
    }
    let commands: Vec<String> = steps
        .iter()
        .filter_map(Step::command)
        .map(|c| format!("    {c}"))
        .collect();
    format!(
        "stopped at once during: {}\n\
         cf may still be finishing that command. `cf-bluegreen status` shows the state; a plain \
         `cf-bluegreen deploy` resolves what an interrupted deploy leaves. Or, by hand:\n{}{kept}\n\
         The deploy lock stays; break it with --force-unlock.",
        during.join("; "),
        commands.join("\n")
    )
}

/// What a second interrupt prints during the recovery steps `current` (a batch), `rest`
/// being them and the steps after them.
fn recovery_at_once_message(current: &[Step], rest: &[Step]) -> String {
    let current: Vec<String> = current.iter().map(ToString::to_string).collect();
    let current = current.join("; ");
    let commands: Vec<String> = rest
        .iter()
        .filter_map(Step::command)
        .map(|c| format!("    {c}"))
        .collect();
    format!(
        "stopped at once while bringing the routes to a safe state, during: {current}\n\
         cf may still be finishing that command. These finish the recovery:\n{}\n\
         The deploy lock stays; break it with --force-unlock.",
        commands.join("\n")
    )
}

/// How many times a recovery step is run before the run gives up with exit 3.
pub(super) const RECOVERY_ATTEMPTS: u32 = 3;

/// Runs a batch of recovery steps side by side; the steps that failed are tried again
/// (after [`Context::retry_pause`], doubled each time), up to [`RECOVERY_ATTEMPTS`] in
/// all. Exit 3 leaves live routes in a state only a human can finish, so one dropped
/// connection or one 502 from the API must not end there: every recovery step is
/// idempotent (map, unmap with "not mapped" taken as done, start, stop, `delete -f`,
/// records), and a step that failed after taking effect is done by its second run. The
/// pause is not cut short by an interrupt, as the recovery is not. The error names the
/// last failure of each step that never passed.
fn run_recovery_batch(
    ctx: &Context,
    batch: &[Step],
    run: &(dyn Fn(&Step) -> Result<(), StepError> + Sync),
) -> Result<(), String> {
    let mut pending = batch.to_vec();
    let mut pause = ctx.retry_pause;
    let mut attempt = 1;
    loop {
        let failed = match side_by_side(ctx, &pending, Activity::Recover, run) {
            Ok(()) => return Ok(()),
            Err(failed) => failed,
        };
        // A check through the router has waited for smoke.timeout already: only cf's
        // calls are tried again.
        let final_attempt = attempt == RECOVERY_ATTEMPTS
            || failed.iter().any(|(_, e)| !matches!(e, StepError::Cf(_)));
        if final_attempt {
            let errors: Vec<String> = failed
                .iter()
                .map(|(i, e)| format!("{}: {e}", pending[*i]))
                .collect();
            let tried = match attempt {
                1 => String::new(),
                n => format!(" (tried {n} times)"),
            };
            let unanswered = failed.iter().find_map(|(i, _)| match &pending[*i] {
                Step::VerifyLive { app, .. } => Some(app),
                _ => None,
            });
            let both = match unanswered {
                Some(old) => format!(
                    "\n\n{old} holds the live routes again, but the router did not send the live URL to it, \
                     so the new version was left on them too: both apps serve. Run the commands below only \
                     once {old} answers (`cf app {old}`, `cf logs {old} --recent`); or keep the new \
                     version and unmap the live routes from {old} instead"
                ),
                None => String::new(),
            };
            return Err(format!("{}{tried}{both}", errors.join("; ")));
        }
        for (i, e) in &failed {
            ctx.warn(&format!(
                "{} failed: {}; trying it again in {} (attempt {} of {RECOVERY_ATTEMPTS})",
                pending[*i],
                crate::report::one_line(&e.to_string()),
                humantime::format_duration(pause),
                attempt + 1
            ));
        }
        pending = failed
            .into_iter()
            .map(|(i, _)| pending[i].clone())
            .collect();
        std::thread::sleep(pause);
        pause *= 2;
        attempt += 1;
    }
}

pub(super) fn recover(
    ctx: &Context,
    plan: &Plan,
    failed_index: usize,
    failure: StepError,
) -> Result<(), Error> {
    let failed = &plan.steps[failed_index];
    let cause = failure.to_string();
    let interrupted = matches!(
        failure,
        StepError::Interrupted | StepError::InterruptedAfterSwitch
    );
    // Held at the gate, the step at `failed_index` never ran: decide as after the last
    // step that did (the check), which undoes the deploy.
    let held = matches!(failure, StepError::Held);
    // Held at the gate after the switch (`--all-or-nothing`), likewise: the last step
    // that ran was the verification (or the switch), and the way back is the one a
    // failed verification takes.
    let sent_back = matches!(failure, StepError::SwitchedBack);
    let decided_at = if held || sent_back {
        failed_index.saturating_sub(1)
    } else {
        failed_index
    };

    let again = match plan.kind {
        // Undone, the promotion leaves nothing staged: the version is staged anew.
        Kind::Promote => "stage the version again (`cf-bluegreen deploy --no-switch`), \
                          then run `cf-bluegreen promote`"
            .to_string(),
        kind => format!("run `cf-bluegreen {}` again", kind.name()),
    };
    let hint = match &failure {
        StepError::Cf(CfError::TimedOut { .. }) => {
            let key = match failed {
                Step::Push { .. } => "push.timeout",
                Step::Start { .. } => "cf.start-timeout",
                _ => "cf.timeout",
            };
            Some(format!(
                "cf did not finish within {key}: if the platform is only slow, raise it in {}, then {again}",
                ctx.config.path.display()
            ))
        }
        // cf's own error may know better (trace mode, say).
        StepError::Cf(e) => e
            .hint()
            .or_else(|| Some(format!("fix what cf reported above, then {again}"))),
        StepError::SwitchedBack => Some(format!(
            "this version passed; see the other deployments' errors, and once they are fixed, {again}"
        )),
        // The check's errors say what to do themselves.
        other => other.hint(),
    };
    let logs = match failed {
        _ if interrupted => None,
        Step::Push { .. } | Step::SmokeCheck { .. } | Step::Start { .. } | Step::Verify { .. } => {
            ctx.cf.recent_logs(&plan.target, 20).map(|l| {
                format!(
                    "\n\nLast lines of `cf logs {} --recent`:\n{}",
                    plan.target,
                    crate::cf::indent(&l)
                )
            })
        }
        _ => None,
    };
    // A promotion held at the gate, or interrupted before its first record (a CI job
    // cancelled during the re-check): nothing on the staged app changed but its instance
    // count, so it stays staged, for a promotion later, rather than be staged anew.
    let before_record = super::gate_index(plan).is_some_and(|at| failed_index < at);
    if plan.kind == Kind::Promote && (held || (interrupted && before_record)) {
        let live = match &plan.previous {
            Some(old) => format!("{old} still serves the live route"),
            None => "nothing serves the live route yet".to_string(),
        };
        let hint = if held {
            "see the other deployments' errors; run `cf-bluegreen promote` again once all pass their checks"
        } else {
            "run `cf-bluegreen promote` again when ready, or `cf-bluegreen abort`"
        };
        return Err(Error::DeployFailed {
            what: plan.kind,
            step: format!("the switch to {}", plan.target),
            cause,
            live: format!("{live}, and {} is still staged.", plan.target),
            hint: Some(hint.into()),
            logs: None,
        });
    }
    if held {
        ctx.warn(&format!(
            "{} passed its checks, but {cause}: undoing this {}",
            plan.target,
            plan.kind.name()
        ));
    } else if sent_back {
        let verified = plan.steps.iter().any(|s| matches!(s, Step::Verify { .. }));
        let passed = match verified {
            true => "passed its verification",
            false => "switched",
        };
        ctx.warn(&format!(
            "{} {passed}, but another deployment of the suite did not: switching back (--all-or-nothing)",
            plan.target,
        ));
    } else {
        ctx.events.emit(Event::RecoveryStarted {
            failed,
            interrupted,
        });
    }

    let back = sent_back || switches_back(plan, failed_index, interrupted);
    let (forward, mut steps, blind) = match observe_pair(ctx) {
        Ok(now) => {
            let forward = !back && complete_forward(plan, &now, decided_at);
            (
                forward,
                recovery_steps(ctx.config, plan, &now, decided_at, forward),
                None,
            )
        }
        Err(e) => {
            let forward = !back && blind_forward(plan, decided_at);
            (
                forward,
                blind_recovery_steps(ctx.config, plan, decided_at, forward),
                Some(e.to_string()),
            )
        }
    };
    if back {
        // Before the first map back: from then on both apps may hold the live routes.
        let record = match sent_back {
            // Its version did not fail: the record says why it went back.
            true => switched_back_record(plan),
            false => verify_failed_record(plan),
        };
        steps.splice(0..0, record);
    }
    // Finished forward before its verification ran, the new version is verified now,
    // and the previous app waits for the outcome, started (or, interrupted, is kept).
    // With --all-or-nothing, before the gate after the switch, it waits there likewise.
    let resume = forward
        .then(|| verify_ahead(plan, decided_at).or(gate_ahead(ctx, plan, decided_at)))
        .flatten()
        .filter(|_| plan.previous.is_some());
    let spared = spare_previous(plan, failed_index, interrupted)
        || resume.is_some()
        || matches!(failure, StepError::InterruptedAfterSwitch);
    if let (true, false, None, Some(switched)) = (forward, interrupted, resume, ctx.switched) {
        // Completed forward with nothing to wait at (a first deploy, or past the gate):
        // it counts as switched, and the other pairs need not go back for it.
        switched(false);
    }
    if spared {
        let retire = plan.retire_steps();
        steps.retain(|s| !retire.contains(s));
    }
    ctx.events.emit(Event::RecoveryDecided {
        forward,
        blind: blind.as_deref(),
        steps: &steps,
    });

    let run = |step: &Step| match step {
        // The recovery runs after the first interrupt, and must not be cut short by it:
        // the old app is retired only once requests in flight are done.
        Step::Drain { time, .. } => {
            std::thread::sleep(*time);
            Ok(())
        }
        _ => run_step(ctx, step),
    };
    // Maps side by side, then unmaps, then the cleanup: the order between batches is the
    // one that keeps every live route served.
    for batch in recovery_batches(&steps) {
        let (current, rest) = (&steps[batch.clone()], &steps[batch.start..]);
        // What a second interrupt prints must be what is left of this recovery, not of
        // the plan it interrupted.
        crate::interrupt::set_at_once_message_for(
            ctx.name,
            recovery_at_once_message(current, rest),
        );
        if let Err(e) = run_recovery_batch(ctx, current, &run) {
            return Err(Error::Unsafe {
                step: failed.to_string(),
                cause,
                recovery: e,
                // Idempotent, so the whole batch again and what follows.
                commands: rest.iter().filter_map(Step::command).collect(),
            });
        }
    }

    if plan.kind == Kind::Abort {
        // Undoing an abort is finishing it: the staged version is off the staging route
        // and stopped either way.
        if !interrupted {
            ctx.warn(&format!(
                "{failed} failed ({}), but the recovery took {} off the staging route and stopped it: the abort is done",
                cause.lines().next().unwrap_or(&cause),
                plan.target
            ));
        }
        return Ok(());
    }
    // Interrupted during the verification or the drain, the switch was complete already.
    let completed_before = spare_previous(plan, failed_index, interrupted)
        || matches!(failure, StepError::InterruptedAfterSwitch);
    if forward && completed_before {
        return Ok(());
    }
    if forward {
        ctx.events.emit(Event::SwitchCompleted {
            failed,
            cause: &cause,
            target: &plan.target,
        });
        if let (Some(at), false) = (resume, interrupted) {
            if matches!(plan.steps[at], Step::Verify { .. }) {
                ctx.warn(&format!(
                    "{} has not been verified yet: verifying it now; {} stays started until it passes",
                    plan.target,
                    plan.previous.as_deref().unwrap_or("the previous app")
                ));
            }
            return super::run_from(ctx, plan, at);
        }
        return Ok(());
    }
    let live = match &plan.previous {
        // A rollback's target goes back to how it was (running, with switch.old = keep).
        Some(old) if plan.kind == Kind::Rollback => format!(
            "{old} still serves the live route, and {} is as it was.",
            plan.target
        ),
        Some(old) if back => format!(
            "the live routes went back to {old}, which had stayed started, and {} is stopped.",
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
        what: plan.kind,
        step: if held || sent_back {
            format!("the switch to {}", plan.target)
        } else {
            failed.to_string()
        },
        cause,
        live,
        hint,
        logs,
    })
}
