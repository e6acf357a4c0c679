//! Which consecutive steps may run side by side. Every cf call is a round trip of a
//! second or more against a real Cloud Foundry, and most steps of a switch do not need
//! each other; the order that makes zero downtime does need some of them, so the rules
//! are explicit, by the kind and role of each step, and the executor runs one batch at a
//! time, waiting for all of it before the next:
//!
//! - the push (or a rollback's start) with the deploy record, when the app exists (its
//!   GUID is known, and a push keeps it);
//! - after it, everything that prepares the new version: the deploy record of an app the
//!   push created, the look for live routes the push put on it, the network policies, the
//!   instances and the staging map — all done before the check;
//! - the smoke check alone; the "checked" record alone (it must be written before any
//!   live map); every live map of the new app together; the live check alone; every
//!   unmap of a live route from the previous app together; the drain alone;
//! - the final cleanup together: staging unmap, live-since record, the previous app's
//!   stop or delete (after the unmaps and the drain, by the order above).
//!
//! The resolution's steps at the start of a plan are grouped more carefully: only
//! consecutive live maps, or consecutive unmaps, go together — a map never shares a
//! batch with an unmap, so "map before unmap" keeps holding between batches.
//! Anything else runs alone.

use std::ops::Range;

use crate::metadata;

use super::{Kind, Plan, RouteRole, Step};

/// What a step may share a batch with: the steps next to it of the same stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// A batch of its own.
    Alone,
    /// The push or the start, and the deploy record of an app that exists.
    Push,
    /// After the push, before the check.
    Prepare,
    LiveMaps,
    LiveUnmaps,
    Cleanup,
}

/// Whether `step` clears `key`.
fn clears(step: &Step, key: &str) -> bool {
    matches!(step, Step::Annotate { values, .. }
        if values.iter().any(|(k, v)| k == key && v.is_none()))
}

/// Whether `step` records `key` (sets it, not clears it).
fn records(step: &Step, key: &str) -> bool {
    matches!(step, Step::Annotate { values, .. }
        if values.iter().any(|(k, v)| k == key && v.is_some()))
}

/// The stage of a step of the switch itself (after the resolution).
fn switch_stage(plan: &Plan, step: &Step) -> Stage {
    let target = plan.target.as_str();
    let previous = plan.previous.as_deref();
    match step {
        Step::Push { .. } => Stage::Push,
        Step::Start { app } if app == target => Stage::Push,
        Step::Annotate { guid, .. } if records(step, metadata::DEPLOY) => {
            // Without a GUID the app is created by the push, and must exist first.
            if guid.is_some() {
                Stage::Push
            } else {
                Stage::Prepare
            }
        }
        Step::EnsureNotLive { .. } | Step::CopyPolicies { .. } | Step::MatchInstances { .. } => {
            Stage::Prepare
        }
        Step::MapRoute {
            app,
            role: RouteRole::Staging,
            ..
        } if app == target => Stage::Prepare,
        Step::MapRoute {
            app,
            role: RouteRole::Live,
            ..
        } if app == target => Stage::LiveMaps,
        Step::UnmapRoute {
            app,
            role: RouteRole::Live,
            ..
        } if Some(app.as_str()) == previous => Stage::LiveUnmaps,
        Step::UnmapRoute {
            app,
            role: RouteRole::Staging,
            ..
        } if app == target => Stage::Cleanup,
        Step::Annotate { .. } if records(step, metadata::LIVE_SINCE) => Stage::Cleanup,
        Step::Stop { app } | Step::Delete { app } if Some(app.as_str()) == previous => {
            Stage::Cleanup
        }
        // An abort is all cleanup: the staging route, the stop and the record together.
        Step::Stop { app } if plan.kind == Kind::Abort && app == target => Stage::Cleanup,
        Step::Annotate { .. } if plan.kind == Kind::Abort && clears(step, metadata::STAGED) => {
            Stage::Cleanup
        }
        // The check, the "checked" record, the live check, the drain.
        _ => Stage::Alone,
    }
}

/// The stage of a step that restores routes, in a plan's resolution or a recovery: live
/// maps together, unmaps together, and the stops, deletes and staging unmaps that end a
/// recovery together. A start (before the maps to the app it starts) and a drain run
/// alone.
fn routes_stage(step: &Step, cleanup: bool) -> Stage {
    match step {
        Step::MapRoute {
            role: RouteRole::Live,
            ..
        } => Stage::LiveMaps,
        Step::UnmapRoute {
            role: RouteRole::Live,
            ..
        } => Stage::LiveUnmaps,
        Step::UnmapRoute {
            role: RouteRole::Staging,
            ..
        }
        | Step::Stop { .. }
        | Step::Delete { .. }
            if cleanup =>
        {
            Stage::Cleanup
        }
        // In a resolution, the staging route goes with the other unmaps; a stop there
        // (the app that lost the switch) runs alone, after them.
        Step::UnmapRoute { .. } => Stage::LiveUnmaps,
        _ => Stage::Alone,
    }
}

/// Consecutive steps of one stage (but `Alone`) form a batch, from `offset` on.
fn group(stages: impl IntoIterator<Item = Stage>, offset: usize) -> Vec<Range<usize>> {
    let mut batches: Vec<Range<usize>> = Vec::new();
    let mut last = Stage::Alone;
    for (i, stage) in stages.into_iter().enumerate() {
        let i = i + offset;
        match batches.last_mut() {
            Some(b) if stage != Stage::Alone && stage == last => b.end = i + 1,
            _ => batches.push(i..i + 1),
        }
        last = stage;
    }
    batches
}

impl Plan {
    /// The steps that run side by side, as consecutive ranges of `steps` covering all of
    /// them in order (see the module's rules).
    pub fn batches(&self) -> Vec<Range<usize>> {
        // The resolution ends where the new version is pushed or started — or, for a
        // promotion or an abort of the staged version, at the first step on it (the
        // resolution leaves the staged app alone).
        let switch_at = self
            .steps
            .iter()
            .position(|s| match s {
                Step::Push { .. } => true,
                Step::Start { app } => *app == self.target,
                _ if matches!(self.kind, Kind::Promote | Kind::Abort) => match s {
                    Step::CopyPolicies { to: app, .. }
                    | Step::MatchInstances { app, .. }
                    | Step::SmokeCheck { app, .. }
                    | Step::Annotate { app, .. }
                    | Step::MapRoute { app, .. }
                    | Step::UnmapRoute { app, .. }
                    | Step::Stop { app } => *app == self.target,
                    _ => false,
                },
                _ => false,
            })
            // A rollback to an app still started (after a verification) has no start:
            // its switch begins with the first step that prepares the target.
            .or_else(|| {
                self.steps.iter().position(|s| match s {
                    Step::CopyPolicies { to: app, .. }
                    | Step::MatchInstances { app, .. }
                    | Step::MapRoute { app, .. } => {
                        self.kind == Kind::Rollback && *app == self.target
                    }
                    _ => false,
                })
            })
            .unwrap_or(0);
        let (resolution, switch) = self.steps.split_at(switch_at);
        let mut batches = group(resolution.iter().map(|s| routes_stage(s, false)), 0);
        batches.extend(group(
            switch.iter().map(|s| switch_stage(self, s)),
            switch_at,
        ));
        batches
    }

    /// The batch that holds step `index`.
    pub fn batch_of(&self, index: usize) -> Range<usize> {
        self.batches()
            .into_iter()
            .find(|b| b.contains(&index))
            .unwrap_or(index..index + 1)
    }

    /// The steps that may have run when step `index` failed (or was interrupted): every
    /// one before it, and the others of its batch, which ran side by side with it.
    pub fn attempted(&self, index: usize) -> &[Step] {
        &self.steps[..self.batch_of(index).end]
    }
}

/// The batches of a recovery's steps ([`super::recovery::recovery_steps`] or the blind
/// ones): they map before they unmap and retire last, so the same grouping keeps that
/// order between batches.
pub fn recovery_batches(steps: &[Step]) -> Vec<Range<usize>> {
    group(steps.iter().map(|s| routes_stage(s, true)), 0)
}

#[cfg(test)]
mod tests;
