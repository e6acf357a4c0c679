//! The observed state of the pair: what `cf app` said about both apps. Planning,
//! resolution and recovery all decide from this, and [`PairState::apply`] predicts the
//! state after a step so that a plan can be reasoned about before it runs.

use std::collections::BTreeMap;

use crate::cf::{AppStatus, RequestedState};
use crate::config::Config;
use crate::metadata::{self, AppMeta};
use crate::route::{normalize, Route};

use super::Step;

/// A switch not finished: `.0` alone holds the main live route, and its version passed
/// its check but has no `live-since` yet, while `.1` is still started without routes —
/// what a run leaves that was stopped during its verification or drain (or what one
/// under way shows). With `[verify]`, the live version was not (or not yet) verified,
/// and `.1` is where a rollback goes without a start.
pub fn unfinished_switch<'a>(
    config: &Config,
    state: &'a PairState,
    meta: &BTreeMap<String, AppMeta>,
) -> Option<(&'a str, &'a str)> {
    let [holder] = state.holders(config.main_live())[..] else {
        return None;
    };
    let other = state
        .apps()
        .into_iter()
        .find(|(name, _)| *name != holder)
        .map(|(name, _)| name)?;
    let unfinished = meta
        .get(holder)
        .is_some_and(|m| m.checked() && m.get(metadata::LIVE_SINCE).is_none());
    let idle_warm = state
        .get(other)
        .is_some_and(|s| s.started() && s.routes.is_empty());
    (unfinished && idle_warm).then_some((holder, other))
}

/// What `cf app` said about both apps of the pair (`None`: the app does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairState {
    pub blue: (String, Option<AppStatus>),
    pub green: (String, Option<AppStatus>),
}

impl PairState {
    pub fn get(&self, app: &str) -> Option<&AppStatus> {
        [&self.blue, &self.green]
            .into_iter()
            .find(|(name, _)| name == app)
            .and_then(|(_, s)| s.as_ref())
    }

    fn get_mut(&mut self, app: &str) -> Option<&mut Option<AppStatus>> {
        [&mut self.blue, &mut self.green]
            .into_iter()
            .find(|(name, _)| name == app)
            .map(|(_, s)| s)
    }

    pub fn apps(&self) -> [(&str, Option<&AppStatus>); 2] {
        [
            (self.blue.0.as_str(), self.blue.1.as_ref()),
            (self.green.0.as_str(), self.green.1.as_ref()),
        ]
    }

    pub fn holds(&self, app: &str, route: &Route) -> bool {
        self.get(app)
            .is_some_and(|s| s.routes.iter().any(|r| route.matches(r)))
    }

    /// The apps of the pair that hold `route`.
    pub fn holders(&self, route: &Route) -> Vec<&str> {
        self.apps()
            .into_iter()
            .filter(|(name, _)| self.holds(name, route))
            .map(|(name, _)| name)
            .collect()
    }

    pub fn started(&self, app: &str) -> bool {
        self.get(app).is_some_and(|s| s.started())
    }

    /// Whether `step` would change anything in this state. Recovery leaves out the steps
    /// that would not: with cf's state in hand there is no need to repeat what is done.
    pub fn changed_by(&self, step: &Step) -> bool {
        match step {
            Step::MapRoute { app, route, .. } => !self.holds(app, route),
            Step::UnmapRoute { app, route, .. } => self.holds(app, route),
            Step::Start { app } => self.get(app).is_some_and(|s| !s.started()),
            Step::Stop { app } => self.started(app),
            Step::Delete { app } => self.get(app).is_some(),
            Step::Push { .. }
            | Step::EnsureNotLive { .. }
            | Step::CopyPolicies { .. }
            | Step::MatchInstances { .. }
            | Step::SmokeCheck { .. }
            | Step::VerifyLive { .. }
            | Step::Verify { .. }
            | Step::Drain { .. }
            | Step::Annotate { .. } => true,
        }
    }

    /// The state after `step`, as cf would leave it.
    pub fn apply(&mut self, step: &Step) {
        match step {
            Step::MapRoute { app, route, .. } => {
                if let Some(Some(s)) = self.get_mut(app) {
                    if !s.routes.iter().any(|r| route.matches(r)) {
                        s.routes.push(normalize(&route.url()));
                    }
                }
            }
            Step::UnmapRoute { app, route, .. } => {
                if let Some(Some(s)) = self.get_mut(app) {
                    s.routes.retain(|r| !route.matches(r));
                }
            }
            Step::Start { app } | Step::Stop { app } => {
                let state = if matches!(step, Step::Start { .. }) {
                    RequestedState::Started
                } else {
                    RequestedState::Stopped
                };
                if let Some(Some(s)) = self.get_mut(app) {
                    s.requested_state = state;
                }
            }
            Step::Delete { app } => {
                if let Some(s) = self.get_mut(app) {
                    *s = None;
                }
            }
            Step::Push { .. }
            | Step::EnsureNotLive { .. }
            | Step::CopyPolicies { .. }
            | Step::MatchInstances { .. }
            | Step::SmokeCheck { .. }
            | Step::VerifyLive { .. }
            | Step::Verify { .. }
            | Step::Drain { .. }
            | Step::Annotate { .. } => {}
        }
    }
}
