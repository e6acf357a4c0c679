//! One deploy at a time per app pair, across machines: the lock is an annotation on the
//! first app of the pair that exists, so every laptop and CI runner sees it.
//!
//! The v3 API has no compare-and-set for metadata, so taking the lock is write, wait
//! (`lock.settle`), read back: of two runs that write at nearly the same moment, only the
//! one whose value is still there goes on.

use std::time::{Duration, SystemTime};

use crate::cf::CfError;
use crate::context::Context;
use crate::error::Error;
use crate::metadata::{self, sanitize};
use crate::preflight::Observed;

/// A lock this run holds.
#[derive(Debug, Clone)]
pub struct Held {
    pub app: String,
    guid: String,
    value: String,
}

/// What a lock annotation says: `WHO since TIME token TOKEN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    pub holder: String,
    pub since: Option<SystemTime>,
}

pub fn format_value(who: &str, since: SystemTime, token: &str) -> String {
    sanitize(&format!(
        "{who} since {} token {token}",
        humantime::format_rfc3339_seconds(since)
    ))
}

pub fn parse_value(value: &str) -> LockInfo {
    let (holder, rest) = value.split_once(" since ").unwrap_or((value, ""));
    let since = rest
        .split(" token ")
        .next()
        .and_then(|t| humantime::parse_rfc3339(t.trim()).ok());
    LockInfo {
        holder: holder.to_string(),
        since,
    }
}

/// Takes the lock, or explains who holds it. `None` when no app exists yet to hold it (a
/// first deploy) or locking is off.
pub fn acquire(
    ctx: &Context,
    observed: &Observed,
    token: &str,
    force: bool,
) -> Result<Option<Held>, Error> {
    let config = ctx.config;
    if !config.lock.enabled {
        return Ok(None);
    }
    let Some((app, meta)) = [&config.blue, &config.green]
        .into_iter()
        .find_map(|a| observed.meta.get(a).map(|m| (a.clone(), m)))
    else {
        ctx.warn(
            "neither app exists yet, so there is nothing to hold the deploy lock: this first deploy runs unlocked",
        );
        return Ok(None);
    };
    if let Some(existing) = meta.get(metadata::LOCK) {
        let info = parse_value(existing);
        let age = info
            .since
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or(Duration::MAX);
        if force {
            ctx.warn(&format!(
                "breaking the deploy lock held by {} (--force-unlock)",
                info.holder
            ));
        } else if age > config.lock.stale_after {
            ctx.warn(&format!(
                "breaking a stale deploy lock held by {} for {} (lock.stale-after is {})",
                info.holder,
                age_text(age),
                humantime::format_duration(config.lock.stale_after)
            ));
        } else {
            return Err(Error::Locked {
                app,
                holder: info.holder,
                age: match info.since {
                    Some(t) => format!(
                        "{} (since {})",
                        age_text(age),
                        humantime::format_rfc3339_seconds(t)
                    ),
                    None => age_text(age),
                },
            });
        }
    }
    let value = format_value(ctx.who, SystemTime::now(), token);
    let held = Held {
        app: app.clone(),
        guid: meta.guid.clone(),
        value: value.clone(),
    };
    let failed = |e: CfError| {
        // The write may have landed although cf reported a failure: take it back.
        release(ctx, &held);
        Error::LockFailed {
            app: app.clone(),
            cause: e.to_string(),
        }
    };
    ctx.cf
        .annotate(&meta.guid, &[(metadata::LOCK.into(), Some(value.clone()))])
        .map_err(failed)?;
    // An interrupt cuts the wait short; the read-back still decides, and the executor
    // stops before its first step.
    crate::interrupt::sleep(config.lock.settle);
    let now = ctx.cf.app_meta(&meta.guid).map_err(failed)?;
    match now.get(metadata::LOCK) {
        Some(v) if v == value => Ok(Some(held)),
        other => Err(Error::Locked {
            app,
            holder: other.map_or_else(|| "another run".to_string(), |v| parse_value(v).holder),
            age: "a moment (it took the lock at the same time as this run)".into(),
        }),
    }
}

/// Gives the lock back, if it is still ours; tries twice, since a lock left behind
/// blocks every later deploy until `--force-unlock` or `lock.stale-after`.
pub fn release(ctx: &Context, held: &Held) {
    let mut last_error = None;
    for _ in 0..2 {
        match try_release(ctx, held) {
            Ok(()) => return,
            Err(e) => last_error = Some(e),
        }
    }
    if let Some(e) = last_error {
        ctx.warn(&format!(
            "could not release the deploy lock on {}: {e}\n  the next deploy needs --force-unlock",
            held.app
        ));
    }
}

fn try_release(ctx: &Context, held: &Held) -> Result<(), CfError> {
    let meta = ctx.cf.app_meta(&held.guid)?;
    if meta.get(metadata::LOCK) == Some(held.value.as_str()) {
        ctx.cf
            .annotate(&held.guid, &[(metadata::LOCK.into(), None)])?;
    }
    Ok(())
}

fn age_text(age: Duration) -> String {
    if age == Duration::MAX {
        return "an unknown time".into();
    }
    humantime::format_duration(Duration::from_secs(age.as_secs())).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_round_trip() {
        let t = humantime::parse_rfc3339("2026-11-26T08:00:00Z").unwrap();
        let v = format_value("ci@runner-1 pid 42", t, "tok");
        assert_eq!(v, "ci@runner-1 pid 42 since 2026-11-26T08:00:00Z token tok");
        let info = parse_value(&v);
        assert_eq!(info.holder, "ci@runner-1 pid 42");
        assert_eq!(info.since, Some(t));
        assert_eq!(parse_value("garbage").since, None);
    }
}
