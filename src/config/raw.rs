//! The file as written: serde reads `deploy.toml` into these structs, which mirror its
//! tables and keys one for one. Types are checked here (a string is a string); every
//! other rule is [`super::validate`]'s.
//!
//! The struct names show up in serde's messages ("invalid type: ..., expected struct
//! RawApps"); [`super::syntax`] rewrites them, so rename them together.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::OldApp;

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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawPush {
    pub(super) path: Option<String>,
    pub(super) manifest: Option<String>,
    #[serde(default)]
    pub(super) vars_files: Vec<String>,
    #[serde(default)]
    pub(super) vars: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub(super) args: Vec<String>,
    pub(super) timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawSmoke {
    pub(super) enabled: Option<bool>,
    pub(super) url: Option<String>,
    pub(super) path: Option<String>,
    pub(super) expect_status: Option<u16>,
    pub(super) expect_body: Option<String>,
    pub(super) timeout: Option<String>,
    pub(super) interval: Option<String>,
    #[serde(default)]
    pub(super) command: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawSwitch {
    pub(super) old: Option<OldApp>,
    pub(super) match_instances: Option<bool>,
    pub(super) verify_live: Option<bool>,
    pub(super) verify_live_url: Option<String>,
    pub(super) drain: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawCf {
    pub(super) org: Option<String>,
    pub(super) space: Option<String>,
    pub(super) timeout: Option<String>,
    pub(super) start_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawLock {
    pub(super) enabled: Option<bool>,
    pub(super) stale_after: Option<String>,
    pub(super) settle: Option<String>,
}
