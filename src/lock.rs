//! One deploy at a time per app pair, across machines: the lock is a user-provided
//! service instance in the space, named after the pair ([`name`]), which every laptop
//! and CI runner sees, and which plain cf shows (`cf services`) and removes
//! (`cf delete-service NAME -f`).
//!
//! The Cloud Controller refuses a second service instance of the same name in a space
//! (HTTP 422), inside one database transaction: of two runs that create it at the same
//! moment exactly one gets it, with no wait and no read-back. The instance carries who
//! holds it and since when (the annotation `cf-bluegreen/lock`, `WHO since TIME token
//! TOKEN`), so that a run that finds it can say who holds it, and break it when it is
//! older than `lock.stale-after` or with `--force-unlock`. While a run holds it, its
//! time is brought forward every third of `lock.stale-after` ([`heartbeat`]), so that
//! only the lock of a run that died grows stale, however long a run takes.
//!
//! # Why the state need not be read again once the lock is held
//!
//! The lock is created side by side with the second round of reads (see
//! [`crate::preflight`]), and when that first create succeeds nothing is read again. That
//! is safe because a run holding the lock gives it back only after everything else it
//! does, its final cleanup (unmapping the staging route, retiring the previous app, the
//! last record) and any recovery of it included — never beside it, so that a cleanup step
//! that fails or lands late cannot act on the pair once another run holds it. So while we
//! create the lock, another run that held it until a moment ago can at worst be in that
//! last round: its switch is done, and what our reads may see of it is a cleanup half
//! done — the staging route still mapped, the old app not yet stopped, the `live-since`
//! record missing. Those are exactly the states the planner's resolution finishes
//! ([`crate::plan::resolve`]) with the same idempotent steps (unmap, stop), so the plan
//! made from these reads is right either way. And a run that took the lock before ours
//! cannot have started anything else yet: it holds the lock, so our create fails and we
//! stop before writing anything.
//!
//! When the first create is refused and a second one succeeds (the other run's lock was
//! stale and broken, or released meanwhile), the other run may have been anywhere in its
//! deploy while we read, so the state is read again ([`Held::contended`]): one round more,
//! only then.
//!
//! The last round of `deploy --no-switch` is one write, the staged record (with the
//! checked one), so reads made while it ends see the version staged whole or not at all.
//! The last round of an `abort` is its cleanup (staging unmap, stop, record, side by
//! side): half of it seen is a started app without the staging route, or a stopped one
//! with it, neither of which counts as staged (see [`crate::plan::staged`]); a deploy
//! resolves it as any leftover, and a `promote` finds nothing to promote.
//!
//! What is decided from the first round alone (which apps exist, their GUIDs, the space)
//! cannot be changed by a run in its cleanup: cleanup may delete the previous app
//! (`switch.old = "delete"`), and then our later reads and steps meet an app that is
//! gone; the pair's state, which the plan uses, comes from the second round.
//!
//! A lock annotation on an app (`cf-bluegreen/lock`, the lock of earlier versions of the
//! tool) still counts as held, unless it is stale or `--force-unlock` breaks it: a run of
//! an older version may be deploying the pair right now, and it does not know the new
//! lock. Once this run holds the new lock, the broken annotation is removed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use crate::cf::v3::Created;
use crate::cf::CfError;
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::metadata::{self, sanitize, AppMeta};

pub mod heartbeat;

/// The tag on every lock instance, so that `cf services` shows what it is.
pub const TAG: &str = "cf-bluegreen-lock";

/// The longest service instance name the Cloud Controller takes.
const MAX_NAME: usize = 255;

/// A lock this run holds: the service instance it created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The instance's name, as `cf services` shows it.
    pub name: String,
    guid: String,
    /// Taken only after another run's lock was found (and broken, or gone): that run may
    /// have changed the pair while this one read it, so the reads are stale.
    pub contended: bool,
    /// The run's token in the lock's value, which [`heartbeat`] keeps when it refreshes it.
    token: String,
    /// When its `since` was written: the first refresh is due an interval after this, not
    /// after the reads that went on beside the create.
    taken: Instant,
}

/// What a lock says: `WHO since TIME token TOKEN`.
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

/// The time to write into a lock taken or refreshed now: rounded up to the second, as
/// the value shows whole seconds. Rounded down, a lock would look up to a second older
/// than it is, and a lock.stale-after of a few seconds would let another run break a
/// lock that was refreshed a moment ago.
pub fn since_now() -> SystemTime {
    let now = SystemTime::now();
    let into_second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    if into_second == 0 {
        now
    } else {
        now + Duration::from_nanos(u64::from(1_000_000_000 - into_second))
    }
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

/// The lock instance's name: `cf-bluegreen-lock-APP1-APP2`, the apps lower-cased (the
/// Cloud Controller matches app names without regard to case, service instance names
/// with it) and in sorted order (a configuration that swaps blue and green locks the same
/// pair). When an app's name holds a `-`, the name ends in a hash of the pair, so that
/// `x-y` and `z` cannot share a lock with `x` and `y-z`. A name past the Cloud
/// Controller's 255 characters is cut and ends in a hash of the whole, to stay unique.
pub fn name(config: &Config) -> String {
    let mut apps = [config.blue.to_lowercase(), config.green.to_lowercase()];
    apps.sort_unstable();
    let mut full = format!("{TAG}-{}-{}", apps[0], apps[1]);
    if apps.iter().any(|a| a.contains('-')) {
        full.push_str(&format!("-{:08x}", fnv1a(&apps.join("\n")) as u32));
    }
    if full.len() <= MAX_NAME {
        return full;
    }
    let hash = format!("-{:016x}", fnv1a(&full));
    let mut cut = MAX_NAME - hash.len();
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{hash}", &full[..cut])
}

/// FNV-1a, 64 bits: stable across machines and releases, unlike std's hasher.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn age_of(info: &LockInfo) -> Option<Duration> {
    info.since
        .map(|t| SystemTime::now().duration_since(t).unwrap_or_default())
}

/// Whether a lock found may be broken (with a warning saying why), or else the error
/// naming its holder. A lock whose time cannot be read is broken only by force: it may
/// not be this tool's at all.
fn may_break(ctx: &Context, lock: &str, info: &LockInfo, force: bool) -> Result<(), Error> {
    let stale_after = ctx.config.lock.stale_after;
    let age = age_of(info);
    let holder = if info.holder.is_empty() {
        "an unknown holder".to_string()
    } else {
        info.holder.clone()
    };
    if force {
        ctx.warn(&format!(
            "breaking the deploy lock held by {holder} (--force-unlock)"
        ));
        return Ok(());
    }
    match age {
        Some(age) if age > stale_after => {
            ctx.warn(&format!(
                "breaking a stale deploy lock held by {holder} for {} (lock.stale-after is {})",
                age_text(age),
                humantime::format_duration(stale_after)
            ));
            Ok(())
        }
        _ => Err(Error::Locked {
            lock: lock.to_string(),
            holder,
            age: match (age, info.since) {
                (Some(age), Some(t)) => format!(
                    "{} (since {})",
                    age_text(age),
                    humantime::format_rfc3339_seconds(t)
                ),
                _ => "an unknown time".into(),
            },
        }),
    }
}

/// The lock of earlier versions, an annotation on an app of the pair: held unless stale
/// or forced. Returns the apps (name, GUID) whose annotation this run breaks, to be
/// removed with [`clear_legacy`] once it holds the new lock. Reads nothing.
pub fn check_legacy(
    ctx: &Context,
    meta: &BTreeMap<String, AppMeta>,
    force: bool,
) -> Result<Vec<(String, String)>, Error> {
    let mut broken = Vec::new();
    for (app, m) in meta {
        if let Some(value) = m.get(metadata::LOCK) {
            let lock = format!("annotation {} on {app}", metadata::LOCK);
            may_break(ctx, &lock, &parse_value(value), force)?;
            broken.push((app.clone(), m.guid.clone()));
        }
    }
    Ok(broken)
}

/// Removes broken lock annotations (see [`check_legacy`]); a failure is a warning: the
/// next run breaks them again.
pub fn clear_legacy(ctx: &Context, apps: &[(String, String)]) {
    for (app, guid) in apps {
        if let Err(e) = ctx.cf.annotate(guid, &[(metadata::LOCK.into(), None)]) {
            ctx.warn(&format!(
                "could not remove the old deploy lock annotation from {app}: {e}"
            ));
        }
    }
}

/// Takes the lock in the space, or explains who holds it. One create in the usual case;
/// when one exists: who holds it, and if it may be broken, delete and create once more
/// (a second refusal means another run took it meanwhile).
pub fn acquire(ctx: &Context, space_guid: &str, token: &str, force: bool) -> Result<Held, Error> {
    let name = name(ctx.config);
    let taken = Instant::now();
    let value = format_value(ctx.who, since_now(), token);
    let failed = |e: CfError| Error::LockFailed {
        lock: name.clone(),
        cause: e.to_string(),
    };
    for attempt in 0..2 {
        let created = ctx.cf.create_user_provided(
            &name,
            space_guid,
            &[TAG],
            &[(metadata::LOCK, value.as_str())],
        );
        match created {
            Ok(Created::Instance(instance)) => {
                return Ok(Held {
                    name,
                    guid: instance.guid,
                    contended: attempt > 0,
                    token: token.to_string(),
                    taken,
                })
            }
            Ok(Created::NameTaken) if attempt > 0 => {
                return Err(Error::Locked {
                    lock: name,
                    holder: "another run".into(),
                    age: "a moment (it took the lock at the same time as this run)".into(),
                })
            }
            Ok(Created::NameTaken) => {
                let found = ctx
                    .cf
                    .service_instances_named(&name, space_guid)
                    .map_err(failed)?;
                // None: released since; create again.
                if let Some(instance) = found.first() {
                    let info = parse_value(
                        instance
                            .annotations
                            .get(metadata::LOCK)
                            .map_or("", String::as_str),
                    );
                    may_break(ctx, &name, &info, force)?;
                    ctx.cf
                        .delete_service_instance(&instance.guid)
                        .map_err(failed)?;
                }
            }
            Err(e) => {
                // cf may have failed after the Cloud Controller created it: take back an
                // instance that carries this run's value, so as not to block the next run.
                if let Ok(found) = ctx.cf.service_instances_named(&name, space_guid) {
                    for instance in found {
                        if instance.annotations.get(metadata::LOCK) == Some(&value) {
                            let _ = ctx.cf.delete_service_instance(&instance.guid);
                        }
                    }
                }
                return Err(failed(e));
            }
        }
    }
    unreachable!("the second attempt returns")
}

/// Gives the lock back; tries twice, since a lock left behind blocks every later deploy
/// until `--force-unlock` or `lock.stale-after`. By GUID: if another run broke this lock
/// and took its own, that one is not touched.
pub fn release(ctx: &Context, held: &Held) {
    let mut last_error = None;
    for _ in 0..2 {
        match ctx.cf.delete_service_instance(&held.guid) {
            Ok(()) => return,
            Err(e) => last_error = Some(e),
        }
    }
    if let Some(e) = last_error {
        ctx.warn(&format!(
            "could not release the deploy lock {}: {e}\n  remove it with `cf delete-service {} -f`, \
             or the next deploy needs --force-unlock",
            held.name, held.name
        ));
    }
}

fn age_text(age: Duration) -> String {
    humantime::format_duration(Duration::from_secs(age.as_secs())).to_string()
}

#[cfg(test)]
mod tests;
