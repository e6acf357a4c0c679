//! A deployment's `[push]`, `[smoke]` and `[switch]` over the file's top-level ones, key
//! by key: a key the deployment sets wins, every other comes from the top level.
//!
//! A list (`push.args`, `push.vars-files`, `smoke.command`) is one value: a deployment's
//! replaces the default whole, since appending would leave no way to drop an argument.
//! `push.vars` is a table of named values, so it merges by name like a section does: a
//! deployment adds variables and overrides the ones it names, and keeps the others.

use super::raw::{RawPush, RawSmoke, RawSwitch};

impl RawPush {
    /// `self`, a deployment's `[push]`, with what it leaves out taken from `defaults`.
    pub(super) fn over(self, defaults: RawPush) -> RawPush {
        let vars = match (defaults.vars, self.vars) {
            (Some(mut all), Some(own)) => {
                all.extend(own);
                Some(all)
            }
            (defaults, own) => own.or(defaults),
        };
        RawPush {
            path: self.path.or(defaults.path),
            manifest: self.manifest.or(defaults.manifest),
            vars_files: self.vars_files.or(defaults.vars_files),
            vars,
            args: self.args.or(defaults.args),
            timeout: self.timeout.or(defaults.timeout),
        }
    }
}

impl RawSmoke {
    /// `self`, a deployment's `[smoke]`, with what it leaves out taken from `defaults`.
    pub(super) fn over(self, defaults: RawSmoke) -> RawSmoke {
        RawSmoke {
            enabled: self.enabled.or(defaults.enabled),
            url: self.url.or(defaults.url),
            path: self.path.or(defaults.path),
            expect_status: self.expect_status.or(defaults.expect_status),
            expect_body: self.expect_body.or(defaults.expect_body),
            timeout: self.timeout.or(defaults.timeout),
            interval: self.interval.or(defaults.interval),
            command: self.command.or(defaults.command),
        }
    }
}

impl RawSwitch {
    /// `self`, a deployment's `[switch]`, with what it leaves out taken from `defaults`.
    pub(super) fn over(self, defaults: RawSwitch) -> RawSwitch {
        RawSwitch {
            old: self.old.or(defaults.old),
            match_instances: self.match_instances.or(defaults.match_instances),
            verify_live: self.verify_live.or(defaults.verify_live),
            verify_live_url: self.verify_live_url.or(defaults.verify_live_url),
            drain: self.drain.or(defaults.drain),
        }
    }
}
