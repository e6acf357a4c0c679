//! cf's own time limits, and the defaults they give the calls that wait on them.
//!
//! `cf push` uploads the app, stages it (up to `CF_STAGING_TIMEOUT`, 15 minutes unless
//! set) and starts it (up to `CF_STARTUP_TIMEOUT`, 5 minutes); `cf start` stages again
//! first when the newest package has no droplet. A limit of ours below cf's own kills cf
//! while it is still waiting within them, and a slow app (a JVM, say) fails for no fault
//! of its own. So the push's and the start's limits are derived from cf's.
//!
//! The environment is read in [`crate::context::cf_limits`]; everything here is pure.

use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

/// cf's default for `CF_STAGING_TIMEOUT`.
pub const CF_DEFAULT_STAGING: Duration = Duration::from_secs(15 * 60);
/// cf's default for `CF_STARTUP_TIMEOUT`.
pub const CF_DEFAULT_STARTUP: Duration = Duration::from_secs(5 * 60);
/// The upload, which cf does not limit: Cloud Foundry's default upload limit (its
/// "Deploying large apps" guide).
pub const UPLOAD_ALLOWANCE: Duration = Duration::from_secs(15 * 60);
/// The API calls around cf's waits (finding the app, setting the droplet, the summary),
/// so that cf reports its own timeout before ours kills it.
pub const CALLS_ALLOWANCE: Duration = MINUTE;
/// Longer than any deploy waits for; also keeps `Instant + limit` from overflowing.
const LONGEST: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// How long cf itself waits for staging and for startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfLimits {
    pub staging: Duration,
    pub startup: Duration,
    /// Variables set to what cf cannot read as minutes, as (name, value): cf v7 and v8
    /// ignore them and use their default.
    pub unreadable: Vec<(String, String)>,
}

impl Default for CfLimits {
    /// cf's defaults: what it waits when neither variable is set.
    fn default() -> CfLimits {
        CfLimits {
            staging: CF_DEFAULT_STAGING,
            startup: CF_DEFAULT_STARTUP,
            unreadable: Vec::new(),
        }
    }
}

impl CfLimits {
    /// From the values of `CF_STAGING_TIMEOUT` and `CF_STARTUP_TIMEOUT` (`None`: unset),
    /// read as cf v7 and v8 read them (`util/configv3/env.go`): minutes, fractions
    /// allowed; empty means unset; anything else leaves cf at its default.
    pub fn from_env(staging: Option<&str>, startup: Option<&str>) -> CfLimits {
        let mut unreadable = Vec::new();
        let mut read = |name: &str, value: Option<&str>, default: Duration| {
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                return default;
            };
            match minutes(value) {
                Some(d) => d,
                None => {
                    unreadable.push((name.to_string(), value.to_string()));
                    default
                }
            }
        };
        let staging = read("CF_STAGING_TIMEOUT", staging, CF_DEFAULT_STAGING);
        let startup = read("CF_STARTUP_TIMEOUT", startup, CF_DEFAULT_STARTUP);
        CfLimits {
            staging,
            startup,
            unreadable,
        }
    }

    /// The longest cf itself waits in `cf start` (staging again, then startup), and
    /// in `cf push` after the upload: a limit below this cuts cf short.
    pub fn cf_wait(&self) -> Duration {
        self.staging.saturating_add(self.startup)
    }

    /// The default `cf.start-timeout`: cf's own wait, and its API calls.
    pub fn start_timeout(&self) -> Duration {
        self.cf_wait().saturating_add(CALLS_ALLOWANCE)
    }

    /// The default `push.timeout`: the upload, then what `cf start` may take.
    pub fn push_timeout(&self) -> Duration {
        UPLOAD_ALLOWANCE.saturating_add(self.start_timeout())
    }

    /// "staging 15m + startup 5m", naming the variable behind a value that is not cf's
    /// default.
    pub fn describe(&self) -> String {
        let part = |name: &str, d: Duration, default: Duration| {
            let source = if d == default {
                String::new()
            } else {
                format!(" ({name})")
            };
            format!("{}{source}", humantime::format_duration(d))
        };
        format!(
            "staging {} + startup {}",
            part("CF_STAGING_TIMEOUT", self.staging, CF_DEFAULT_STAGING),
            part("CF_STARTUP_TIMEOUT", self.startup, CF_DEFAULT_STARTUP),
        )
    }
}

/// `value` as cf reads a number of minutes (Go's `strconv.ParseFloat`); negative is
/// zero (cf gives up at once), and anything past a year is a year.
fn minutes(value: &str) -> Option<Duration> {
    let m: f64 = value.parse().ok()?;
    if !m.is_finite() {
        return None;
    }
    let secs = (m * 60.0).clamp(0.0, LONGEST.as_secs_f64());
    // Whole seconds, as cf truncates them.
    Some(Duration::from_secs(secs as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_is_cfs_default() {
        let l = CfLimits::from_env(None, None);
        assert_eq!(l, CfLimits::default());
        assert_eq!(l.cf_wait(), 20 * MINUTE);
        assert_eq!(l.start_timeout(), 21 * MINUTE);
        assert_eq!(l.push_timeout(), 36 * MINUTE);
        assert_eq!(l.describe(), "staging 15m + startup 5m");
    }

    #[test]
    fn minutes_as_cf_reads_them() {
        let l = CfLimits::from_env(Some("30"), Some("2.5"));
        assert_eq!(l.staging, 30 * MINUTE);
        assert_eq!(l.startup, Duration::from_secs(150));
        assert!(l.unreadable.is_empty());
        assert_eq!(l.start_timeout(), Duration::from_secs(33 * 60 + 30));
        assert_eq!(l.push_timeout(), Duration::from_secs(48 * 60 + 30));
        assert_eq!(
            l.describe(),
            "staging 30m (CF_STAGING_TIMEOUT) + startup 2m 30s (CF_STARTUP_TIMEOUT)"
        );
    }

    #[test]
    fn empty_is_unset_and_garbage_is_the_default() {
        let l = CfLimits::from_env(Some(""), Some("20m"));
        assert_eq!(l.staging, CF_DEFAULT_STAGING);
        assert_eq!(l.startup, CF_DEFAULT_STARTUP);
        assert_eq!(
            l.unreadable,
            [("CF_STARTUP_TIMEOUT".to_string(), "20m".to_string())]
        );
        assert_eq!(l.describe(), "staging 15m + startup 5m");
        for bad in [" 20", "NaN", "inf", "twenty"] {
            let l = CfLimits::from_env(Some(bad), None);
            assert_eq!(l.staging, CF_DEFAULT_STAGING, "{bad}");
            assert_eq!(l.unreadable.len(), 1, "{bad}");
        }
    }

    #[test]
    fn extremes_stay_usable() {
        let l = CfLimits::from_env(Some("-3"), Some("1e300"));
        assert_eq!(l.staging, Duration::ZERO);
        assert_eq!(l.startup, LONGEST);
        // No overflow anywhere.
        assert!(l.push_timeout() > LONGEST);
        let _ = std::time::Instant::now() + l.push_timeout();
    }
}
