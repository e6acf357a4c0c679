//! A deployment's `[push]`, `[smoke]`, `[switch]` and `[verify]` over the file's top-level ones, key
//! by key: a key the deployment sets wins, every other comes from the top level.
//!
//! A list (`push.args`, `push.vars-files`, `smoke.command`) is one value: a deployment's
//! replaces the default whole, since appending would leave no way to drop an argument.
//! `push.vars` is a table of named values, so it merges by name like a section does: a
//! deployment adds variables and overrides the ones it names, and keeps the others.
//! `smoke.headers` merges by name the same way (names compared regardless of case).
//!
//! What the smoke check asks is one value too: `[[smoke.checks]]`, or the single check of
//! `smoke.url`/`path`/`expect-status`/`expect-body`. A deployment that sets either form
//! replaces the other form of the defaults, so that a deployment can move from the
//! single check to several (or back) without the two meeting. The same goes for the
//! trust: a deployment's `smoke.ca-cert` drops the defaults' `insecure`, and its
//! `insecure = true` the defaults' `ca-cert`.

use super::raw::{RawPush, RawSmoke, RawSwitch, RawVerify};

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
        let own_single = self.url.is_some()
            || self.path.is_some()
            || self.expect_status.is_some()
            || self.expect_body.is_some();
        let keep_single = self.checks.is_none();
        let keep_checks = !own_single;
        // Likewise the trust: a deployment's CA, or its `insecure = true`, replaces the
        // other one of the defaults.
        let keep_insecure = self.ca_cert.is_none();
        let keep_ca = self.insecure != Some(true);
        let headers = match (defaults.headers, self.headers) {
            (Some(all), Some(own)) => Some(super::headers::over(own, all)),
            (defaults, own) => own.or(defaults),
        };
        RawSmoke {
            enabled: self.enabled.or(defaults.enabled),
            url: self.url.or(defaults.url.filter(|_| keep_single)),
            path: self.path.or(defaults.path.filter(|_| keep_single)),
            expect_status: self
                .expect_status
                .or(defaults.expect_status.filter(|_| keep_single)),
            expect_body: self
                .expect_body
                .or(defaults.expect_body.filter(|_| keep_single)),
            timeout: self.timeout.or(defaults.timeout),
            interval: self.interval.or(defaults.interval),
            command: self.command.or(defaults.command),
            headers,
            ca_cert: self.ca_cert.or(defaults.ca_cert.filter(|_| keep_ca)),
            insecure: self
                .insecure
                .or(defaults.insecure.filter(|_| keep_insecure)),
            checks: self.checks.or(defaults.checks.filter(|_| keep_checks)),
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

impl RawVerify {
    /// `self`, a deployment's `[verify]`, with what it leaves out taken from `defaults`.
    pub(super) fn over(self, defaults: RawVerify) -> RawVerify {
        RawVerify {
            duration: self.duration.or(defaults.duration),
            interval: self.interval.or(defaults.interval),
            timeout: self.timeout.or(defaults.timeout),
            url: self.url.or(defaults.url),
            expect_status: self.expect_status.or(defaults.expect_status),
            expect_body: self.expect_body.or(defaults.expect_body),
            command: self.command.or(defaults.command),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::raw::RawCheck;
    use crate::config::Secret;

    fn headers(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, Secret>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Secret::new(v.to_string())))
                .collect(),
        )
    }

    fn check(path: &str) -> RawCheck {
        RawCheck {
            path: Some(path.into()),
            ..RawCheck::default()
        }
    }

    #[test]
    fn smoke_headers_merge_by_name_and_checks_replace_the_single_check() {
        let defaults = RawSmoke {
            path: Some("/ping".into()),
            expect_status: Some(204),
            headers: headers(&[("Authorization", "a"), ("X-Team", "web")]),
            insecure: Some(true),
            ..RawSmoke::default()
        };
        let own = RawSmoke {
            headers: headers(&[("x-team", "api")]),
            checks: Some(vec![check("/health"), check("/ready")]),
            ca_cert: Some("ca.pem".into()),
            ..RawSmoke::default()
        };
        let merged = own.over(defaults.clone());
        let names: Vec<(&str, &str)> = merged
            .headers
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.expose()))
            .collect();
        assert_eq!(names, [("Authorization", "a"), ("x-team", "api")]);
        assert_eq!(merged.checks.as_ref().map(Vec::len), Some(2));
        // The defaults' single check and their `insecure` gave way.
        assert_eq!((merged.path, merged.expect_status), (None, None));
        assert_eq!(merged.insecure, None);
        assert_eq!(merged.ca_cert.as_deref(), Some("ca.pem"));

        // A deployment's single check drops the defaults' checks, and keeps the rest of
        // the defaults' single check.
        let defaults = RawSmoke {
            expect_status: Some(204),
            checks: Some(vec![check("/a")]),
            ca_cert: Some("ca.pem".into()),
            ..RawSmoke::default()
        };
        let own = RawSmoke {
            path: Some("/b".into()),
            insecure: Some(true),
            ..RawSmoke::default()
        };
        let merged = own.over(defaults.clone());
        assert!(merged.checks.is_none());
        assert_eq!(merged.path.as_deref(), Some("/b"));
        assert_eq!(merged.ca_cert, None);
        // A deployment that says nothing about checks keeps the defaults' whole.
        let merged = RawSmoke::default().over(defaults);
        assert_eq!(merged.checks.map(|c| c.len()), Some(1));
        assert_eq!(merged.ca_cert.as_deref(), Some("ca.pem"));
    }
}
