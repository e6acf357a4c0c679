//! What becomes of the previously live app once the live routes have left it. One rule,
//! decided once per plan: the planner, every recovery (with or without cf's state) and
//! the closing summary all read [`Plan::retire`](super::Plan), so what the tool does and
//! what it says cannot disagree.

use std::fmt;

use crate::config::OldApp;

use super::{Kind, Step};

/// The switch that retires the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Deploy,
    Rollback,
    /// Finishing a switch an earlier run left half done, before this run's own.
    Resolution,
}

impl From<Kind> for By {
    fn from(kind: Kind) -> By {
        match kind {
            // A promotion retires the previous app as the deploy it finishes would.
            Kind::Deploy | Kind::Stage | Kind::Promote | Kind::Abort => By::Deploy,
            Kind::Rollback => By::Rollback,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retire {
    /// Left running, without routes.
    Keep,
    Stop,
    Delete,
}

impl Retire {
    /// `switch.old`, as far as the switch allows it. Only a deploy deletes: a rollback
    /// moves away from the version just deployed, which may be wanted back, and the
    /// resolution of an interrupted switch retires the app the deploy that follows pushes
    /// to.
    pub fn of(policy: OldApp, by: By) -> Retire {
        match (policy, by) {
            (OldApp::Keep, _) => Retire::Keep,
            (OldApp::Stop, _) | (OldApp::Delete, By::Rollback | By::Resolution) => Retire::Stop,
            (OldApp::Delete, By::Deploy) => Retire::Delete,
        }
    }

    /// The step that retires `app`, if any.
    pub fn step(self, app: &str) -> Option<Step> {
        let app = app.to_string();
        match self {
            Retire::Keep => None,
            Retire::Stop => Some(Step::Stop { app }),
            Retire::Delete => Some(Step::Delete { app }),
        }
    }
}

/// How the summary says it: `sinatra_a stopped`.
impl fmt::Display for Retire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Retire::Keep => "kept running, without routes",
            Retire::Stop => "stopped",
            Retire::Delete => "deleted",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_deploy_deletes() {
        for by in [By::Deploy, By::Rollback, By::Resolution] {
            assert_eq!(Retire::of(OldApp::Keep, by), Retire::Keep);
            assert_eq!(Retire::of(OldApp::Stop, by), Retire::Stop);
        }
        assert_eq!(
            Retire::of(OldApp::Delete, Kind::Deploy.into()),
            Retire::Delete
        );
        assert_eq!(
            Retire::of(OldApp::Delete, Kind::Rollback.into()),
            Retire::Stop
        );
        assert_eq!(Retire::of(OldApp::Delete, By::Resolution), Retire::Stop);
        assert_eq!(Retire::Keep.step("a"), None);
        assert_eq!(
            Retire::Delete.step("a"),
            Some(Step::Delete { app: "a".into() })
        );
    }
}
