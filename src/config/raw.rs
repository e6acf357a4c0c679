//! The file as written: serde reads `deploy.toml` into these structs, which mirror its
//! tables and keys one for one. Types are checked here (a string is a string); every
//! other rule is [`super::validate`]'s.
//!
//! The struct names show up in serde's messages ("invalid type: ..., expected struct
//! RawApps"); [`super::syntax`] rewrites them, so rename them together.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{OldApp, Secret};

/// The whole file: one pair's `[apps]` and `[routes]` (a classic file), or
/// `[[deployments]]`, each with its own; the other tables are defaults for every
/// deployment. Which keys may stand beside which is [`super::suite`]'s to check, so that
/// it can name the deployment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawFile {
    pub(super) apps: Option<RawApps>,
    pub(super) routes: Option<RawRoutes>,
    #[serde(default)]
    pub(super) push: RawPush,
    #[serde(default)]
    pub(super) smoke: RawSmoke,
    #[serde(default)]
    pub(super) switch: RawSwitch,
    #[serde(default)]
    pub(super) verify: RawVerify,
    #[serde(default)]
    pub(super) cf: RawCf,
    #[serde(default)]
    pub(super) lock: RawLock,
    pub(super) deployments: Option<Vec<RawDeployment>>,
}

/// One `[[deployments]]` table. No `[cf]`: one run talks to one cf target. No `[lock]`:
/// its settings are the run's, not a pair's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawDeployment {
    pub(super) name: Option<String>,
    pub(super) apps: Option<RawApps>,
    pub(super) routes: Option<RawRoutes>,
    #[serde(default)]
    pub(super) push: RawPush,
    #[serde(default)]
    pub(super) smoke: RawSmoke,
    #[serde(default)]
    pub(super) switch: RawSwitch,
    #[serde(default)]
    pub(super) verify: RawVerify,
}

/// One pair's tables, a deployment's merged over the file's defaults: what
/// [`super::validate`] checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawConfig {
    pub(super) apps: RawApps,
    pub(super) routes: RawRoutes,
    #[serde(default)]
    pub(super) push: RawPush,
    #[serde(default)]
    pub(super) smoke: RawSmoke,
    #[serde(default)]
    pub(super) switch: RawSwitch,
    #[serde(default)]
    pub(super) verify: RawVerify,
    #[serde(default)]
    pub(super) cf: RawCf,
    #[serde(default)]
    pub(super) lock: RawLock,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawApps {
    pub(super) blue: String,
    pub(super) green: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRoutes {
    pub(super) domain: String,
    pub(super) live: String,
    pub(super) staging: String,
    pub(super) path: Option<String>,
    #[serde(default)]
    pub(super) extra: Vec<RawRoute>,
    pub(super) unlisted: Option<super::Unlisted>,
}

/// One `[[routes.extra]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawRoute {
    pub(super) host: Option<String>,
    pub(super) domain: String,
    pub(super) path: Option<String>,
    pub(super) port: Option<u16>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawPush {
    pub(super) path: Option<String>,
    pub(super) manifest: Option<String>,
    // Lists and tables are `Option` like the rest, so that a deployment that leaves a key
    // out can be told from one that sets it empty.
    pub(super) vars_files: Option<Vec<String>>,
    pub(super) vars: Option<BTreeMap<String, toml::Value>>,
    pub(super) args: Option<Vec<String>>,
    pub(super) timeout: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawSmoke {
    pub(super) enabled: Option<bool>,
    pub(super) url: Option<String>,
    pub(super) path: Option<String>,
    pub(super) expect_status: Option<u16>,
    pub(super) expect_body: Option<String>,
    pub(super) timeout: Option<String>,
    pub(super) interval: Option<String>,
    pub(super) command: Option<Vec<String>>,
    pub(super) headers: Option<BTreeMap<String, Secret>>,
    pub(super) ca_cert: Option<String>,
    pub(super) insecure: Option<bool>,
    pub(super) checks: Option<Vec<RawCheck>>,
}

/// One `[[smoke.checks]]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawCheck {
    pub(super) path: Option<String>,
    pub(super) url: Option<String>,
    pub(super) method: Option<String>,
    pub(super) expect_status: Option<u16>,
    pub(super) expect_body: Option<String>,
    pub(super) headers: Option<BTreeMap<String, Secret>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawSwitch {
    pub(super) old: Option<OldApp>,
    pub(super) match_instances: Option<bool>,
    pub(super) verify_live: Option<bool>,
    pub(super) verify_live_url: Option<String>,
    pub(super) drain: Option<String>,
}

/// `[verify]`: the checks of the live URL after the switch.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawVerify {
    pub(super) duration: Option<String>,
    pub(super) interval: Option<String>,
    pub(super) timeout: Option<String>,
    pub(super) url: Option<String>,
    pub(super) expect_status: Option<u16>,
    pub(super) expect_body: Option<String>,
    pub(super) command: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawCf {
    pub(super) org: Option<String>,
    pub(super) space: Option<String>,
    pub(super) timeout: Option<String>,
    pub(super) start_timeout: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawLock {
    pub(super) enabled: Option<bool>,
    pub(super) stale_after: Option<String>,
    pub(super) settle: Option<String>,
}
