//! The steps that bring what an interrupted run (or a hand) left behind back to one live
//! app, no staging route and consistent extra live routes — the start of every plan, so
//! that a plain re-run converges.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::metadata::{self, AppMeta};
use crate::route::Route;

use super::retire::By;
use super::{planner, Kind, PairState, PlanError, Retire, RouteRole, Step};

/// The steps that bring what an interrupted deploy (or a hand) left behind back to one
/// live app, no staging route and consistent extra routes — and the state after them.
///
/// Where the safe choice needs a human (both apps live, and the records do not say which
/// one holds the checked new version) it fails, and nothing is changed.
/// `live` is every live route (see [`super::planner::live_routes`]), the main one first.
pub fn resolve(
    config: &Config,
    live: &[Route],
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
) -> Result<(Vec<Step>, PairState, Vec<String>), PlanError> {
    resolve_keeping(config, live, pair, meta, None)
}

/// A version waiting for promotion: an app that `deploy --no-switch` pushed, checked on
/// the staging route and left there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub app: String,
    /// The id of the deploy that staged it (`TIME WHO`), its `cf-bluegreen/staged` record.
    pub id: String,
}

impl Staged {
    /// `by WHO at TIME`, for the user.
    pub fn by(&self) -> String {
        match self.id.split_once(' ') {
            Some((time, who)) => format!("by {who} at {time}"),
            None => format!("by deploy {}", self.id),
        }
    }
}

/// The staged version as the records and the apps' states alone say it — what the first
/// round of the state read knows, before the lock: a started app whose staged record
/// names the deploy that pushed it and whose check it passed, and that never went live
/// since. (A record that names another deploy is stale: a later push replaced the
/// version; one beside `live-since` is stale too: a promotion whose clearing failed.)
pub fn staged_record(
    config: &Config,
    meta: &BTreeMap<String, AppMeta>,
    started: &dyn Fn(&str) -> bool,
) -> Option<Staged> {
    [&config.blue, &config.green].into_iter().find_map(|app| {
        let m = meta.get(app.as_str())?;
        let id = m.get(metadata::STAGED)?;
        let never_live = m.get(metadata::LIVE_SINCE).is_none();
        let current = m.checked() && m.get(metadata::DEPLOY) == Some(id);
        (started(app) && current && never_live).then(|| Staged {
            app: app.clone(),
            id: id.to_string(),
        })
    })
}

/// The staged version, if the state is the one `deploy --no-switch` leaves: the staged
/// record ([`staged_record`]), and the app holding the staging route (alone) and no live
/// route. That state is deliberate, not a leftover of an interrupted run.
pub fn staged(
    config: &Config,
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
) -> Option<Staged> {
    let staged = staged_record(config, meta, &|app| pair.started(app))?;
    let app = staged.app.as_str();
    let holds_live = config.live.iter().any(|r| pair.holds(app, r));
    let staging_alone =
        pair.holds(app, &config.staging) && !pair.holds(config.other(app), &config.staging);
    (staging_alone && !holds_live).then_some(staged)
}

/// What can be refused from the first round of the state read, before the lock is taken
/// (so without any write): `promote` and `abort` with nothing staged, and a `rollback`
/// while a version is staged.
pub fn refuse_early(
    kind: Kind,
    config: &Config,
    meta: &BTreeMap<String, AppMeta>,
    started: &dyn Fn(&str) -> bool,
) -> Result<(), PlanError> {
    let found = staged_record(config, meta, started);
    match (kind, found) {
        (Kind::Promote | Kind::Abort, None) => Err(nothing_staged(kind, config, meta)),
        (Kind::Rollback, Some(staged)) => Err(rollback_while_staged(config, &staged)),
        // After a clean switch back the rejected version is stopped and the other app
        // serves: a rollback would put the rejected one live. (Started, it may still hold
        // the live routes after a switch back stopped hard: the full read decides.)
        (Kind::Rollback, None) => match [&config.blue, &config.green]
            .into_iter()
            .find(|app| rejected(meta, app) && !started(app) && started(config.other(app)))
        {
            Some(app) => Err(rollback_to_rejected(config, app, meta)),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Whether the version on `app` was switched back from: it failed its verification, or
/// `--all-or-nothing` sent it back. Only the current version's record counts.
pub(super) fn rejected(meta: &BTreeMap<String, AppMeta>, app: &str) -> bool {
    meta.get(app)
        .is_some_and(|m| m.verify_failed() || m.switched_back())
}

/// A rollback to `app`, whose version was switched back from: it is the newer version,
/// not the previous one, and nothing verifies a rollback. Names the version (its deploy
/// and label), when it was rejected — in the deploy that pushed it, the one its record
/// names — and what to do instead.
pub(super) fn rollback_to_rejected(
    config: &Config,
    app: &str,
    meta: &BTreeMap<String, AppMeta>,
) -> PlanError {
    let m = meta.get(app);
    let record = |key: &str| m.and_then(|m| m.get(key));
    let label = record(metadata::LABEL)
        .map(|l| format!(" (labelled {l})"))
        .unwrap_or_default();
    let when = |deploy: Option<&str>| match deploy.and_then(|d| d.split_once(' ')) {
        Some((time, who)) => format!("in the deploy {who} started at {time}"),
        None => format!("in deploy {}", deploy.unwrap_or("?")),
    };
    let why = if m.is_some_and(AppMeta::verify_failed) {
        format!(
            "failed its verification after the switch, {} (cf-bluegreen/verify-failed)",
            when(record(metadata::VERIFY_FAILED))
        )
    } else {
        format!(
            "was switched back because another deployment of the suite did not pass \
             (--all-or-nothing), {} (cf-bluegreen/switched-back)",
            when(record(metadata::SWITCHED_BACK))
        )
    };
    PlanError::NoRollback {
        reason: format!(
            "{app} holds the newer version{label}, which {why}; {} already serves the version \
             that was live before it",
            config.other(app)
        ),
        hint: format!(
            "there is no older version on this pair to go back to, and a rollback would put the \
             rejected one live, unverified: fix the new version and `cf-bluegreen deploy` it (it \
             goes to {app}); `cf-bluegreen status` shows the records"
        ),
    }
}

/// What a switch back leaves when it stopped before its first map back (exit 3 after its
/// retries, a kill, a second Ctrl-C): the rejected version alone holds the live routes,
/// started, and the app it was going back to is still started without them. A deploy
/// finishes that switch back first, so that the rejected version does not serve while it
/// pushes — and pushes over the rejected version, not over the good, warm one. Not for a
/// rollback, whose own plan is that switch back (to the other app, started: no start).
///
/// `pair` is the state as observed, before any other resolution step: those would move
/// extra live routes the switch back had already mapped back over to the rejected app.
pub(super) fn finish_switch_back(
    config: &Config,
    live: &[Route],
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
) -> Option<(Vec<Step>, PairState, String)> {
    let [holder] = pair.holders(config.main_live())[..] else {
        return None;
    };
    let (holder, other) = (holder.to_string(), config.other(holder).to_string());
    let held = meta
        .get(&holder)
        .filter(|m| m.verify_failed() || m.switched_back())?;
    let what = match held
        .get(metadata::VERIFY_FAILED)
        .filter(|_| held.verify_failed())
    {
        Some(deploy) => format!("failed its verification after the switch (deploy {deploy})"),
        None => format!(
            "was switched back from by --all-or-nothing (deploy {})",
            held.get(metadata::SWITCHED_BACK).unwrap_or("?")
        ),
    };
    // The other app takes the live routes back only if its records prove that its
    // current version is the one that served before the rejected one, so that this can
    // never put a version live that was not (a staged one waiting for approval, one a
    // later run pushed and checked but never switched to). `live-since` proves it: every
    // push clears it, and it is written only once a switch to that version finished;
    // since then the only switch away from it is the rejected one (a rollback would have
    // written the rejected app's own live-since). An app this tool never pushed (no
    // `deploy` record) was adopted as it was: the rejected version was switched to from
    // it. Not the deploy ids' order: they come from the clocks of different machines.
    // Without that proof — a version that went live in a run cut short before its
    // `live-since` — the rejected version keeps serving until this run switches, as
    // before, and the warning says so.
    let records = meta.get(&other);
    let served_before = records.is_none_or(|m| {
        m.get(metadata::DEPLOY).is_none()
            || (m.get(metadata::LIVE_SINCE).is_some() && !m.verify_failed() && !m.switched_back())
    });
    let status = pair.get(&other);
    let why_not = match status {
        None => Some(format!("{other} does not exist")),
        Some(s) if !s.started() => Some(format!("{other} is stopped")),
        Some(s) if !s.instances.is_empty() && s.running_instances() == 0 => Some(format!(
            "no instance of {other} is running ({})",
            s.instances.join(", ")
        )),
        Some(_) if pair.holds(&other, &config.staging) => Some(format!(
            "{other} holds the staging route {}: its version was not the live one",
            config.staging
        )),
        Some(_) if !served_before => Some(format!(
            "the records of {other} do not show that its version was live before (no cf-bluegreen/live-since)"
        )),
        Some(_) => None,
    };
    if let Some(why_not) = why_not {
        return Some((
            Vec::new(),
            pair.clone(),
            format!(
                "the live app {holder} holds a version that {what}: a switch back did not finish, \
                 and {other} cannot take the live routes back ({why_not}): {holder} serves until \
                 this run switches"
            ),
        ));
    }
    let note = format!(
        "{holder} holds the live routes with a version that was switched back from, and {other} is \
         still started: the switch back (the version {what}) was stopped before it moved them; \
         finishing it first: the live routes go back to {other}, and {holder} is stopped"
    );
    // Maps before unmaps, as in every resolution: no live route without an app.
    let mut state = pair.clone();
    let mut moves: Vec<Step> = live
        .iter()
        .filter(|r| state.holds(&holder, r) && !state.holds(&other, r))
        .map(|r| Step::map_route(&other, r, RouteRole::Live))
        .collect();
    moves.extend(
        live.iter()
            .filter(|r| state.holds(&holder, r))
            .map(|r| Step::unmap_route(&holder, r, RouteRole::Live)),
    );
    if state.started(&holder) {
        moves.push(Step::Stop { app: holder });
    }
    for step in &moves {
        state.apply(step);
    }
    Some((moves, state, note))
}

pub(super) fn nothing_staged(
    kind: Kind,
    config: &Config,
    meta: &BTreeMap<String, AppMeta>,
) -> PlanError {
    let recorded = [&config.blue, &config.green].into_iter().find(|app| {
        meta.get(app.as_str())
            .and_then(|m| m.get(metadata::STAGED))
            .is_some()
    });
    let reason = match recorded {
        Some(app) => format!(
            "{app} carries the record of a staged version, but not the state `deploy --no-switch` \
             leaves (started, holding the staging route {} and no live route, its version the one \
             recorded): it was changed since",
            config.staging
        ),
        None => format!(
            "no version of {} or {} waits for promotion on the staging route {}",
            config.blue, config.green, config.staging
        ),
    };
    PlanError::NothingStaged {
        command: kind.name(),
        reason,
    }
}

pub(super) fn rollback_while_staged(config: &Config, staged: &Staged) -> PlanError {
    let app = &staged.app;
    PlanError::NoRollback {
        reason: format!(
            "{app} holds the version staged {} (deploy --no-switch), which replaced the previous \
             version on it",
            staged.by()
        ),
        hint: format!(
            "`cf-bluegreen promote` puts the staged version live, `cf-bluegreen abort` drops it \
             (stops {app}; it still does not hold the previous version then); to go back to an \
             older version, deploy it. {} stays live meanwhile",
            config.other(app)
        ),
    }
}

/// [`resolve`], leaving the staging route on `keep` (the staged app that `promote` or
/// `abort` works on).
pub(super) fn resolve_keeping(
    config: &Config,
    live: &[Route],
    pair: &PairState,
    meta: &BTreeMap<String, AppMeta>,
    keep: Option<&str>,
) -> Result<(Vec<Step>, PairState, Vec<String>), PlanError> {
    let staged = staged(config, pair, meta);
    let mut state = pair.clone();
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    let push = |state: &mut PairState, steps: &mut Vec<Step>, step: Step| {
        state.apply(&step);
        steps.push(step);
    };
    let main = config.main_live();

    // A stopped app serves nothing: beside a started one, its live routes are leftovers
    // that can go without moving any traffic.
    if let [a, b] = state.holders(main)[..] {
        let (a, b) = (a.to_string(), b.to_string());
        let stopped = match (state.started(&a), state.started(&b)) {
            (true, false) => Some(b),
            (false, true) => Some(a),
            _ => None,
        };
        if let Some(stopped) = stopped {
            notes.push(format!(
                "both apps hold the live route, but {stopped} is stopped and serves nothing: unmapping the live routes from it"
            ));
            for route in live {
                if state.holds(&stopped, route) {
                    let step = Step::unmap_route(&stopped, route, RouteRole::Live);
                    push(&mut state, &mut steps, step);
                }
            }
        }
    }

    if state.holders(main).len() == 2 {
        let Some(new) = checked_newer(config, &state, meta) else {
            return Err(planner::both_live(
                config,
                "the records on the apps do not say which one holds the checked new version \
                 (cf-bluegreen/deploy and cf-bluegreen/checked annotations)"
                    .into(),
            ));
        };
        let old = config.other(&new).to_string();
        let failed = meta.get(&old).is_some_and(AppMeta::verify_failed);
        let switched_back = meta.get(&old).is_some_and(AppMeta::switched_back);
        notes.push(if failed {
            format!(
                "both apps hold the live route: an earlier deploy was stopped while switching back \
                 from {old}, whose version failed its verification; the switch back to {new} is finished first"
            )
        } else if switched_back {
            format!(
                "both apps hold the live route: an earlier deploy was stopped while switching back \
                 from {old} because another deployment of its suite did not pass (--all-or-nothing); \
                 the switch back to {new} is finished first"
            )
        } else {
            format!(
                "both apps hold the live route: an earlier deploy was interrupted during the switch; \
                 {new} holds the version that passed its check in that deploy, so the switch to it is finished first"
            )
        });
        for route in live {
            if state.holds(&old, route) && !state.holds(&new, route) {
                let step = Step::map_route(&new, route, RouteRole::Live);
                push(&mut state, &mut steps, step);
            }
        }
        for route in live {
            if state.holds(&old, route) {
                let step = Step::unmap_route(&old, route, RouteRole::Live);
                push(&mut state, &mut steps, step);
            }
        }
        if let Some(step) = Retire::of(config.switch.old, By::Resolution).step(&old) {
            if state.changed_by(&step) {
                push(&mut state, &mut steps, step);
            }
        }
    }

    for app in [config.blue.clone(), config.green.clone()] {
        if keep == Some(app.as_str()) {
            continue;
        }
        if state.holds(&app, &config.staging) {
            notes.push(match staged.as_ref().filter(|s| s.app == app) {
                Some(s) => format!(
                    "{app} holds a version staged {} for promotion, on the staging route {}: \
                     this deploy replaces it",
                    s.by(),
                    config.staging
                ),
                None => format!(
                    "{app} still holds the staging route {}: an earlier deploy did not finish; unmapping it",
                    config.staging
                ),
            });
            let step = Step::unmap_route(&app, &config.staging, RouteRole::Staging);
            push(&mut state, &mut steps, step);
        }
    }

    if let Some(holder) = state.holders(main).first().map(|s| s.to_string()) {
        let other = config.other(&holder).to_string();
        // What an interrupted verification (or drain) leaves: the switch done, its
        // cleanup not — the live app checked but without live-since, the other still
        // started. Nothing to undo: the plan that follows pushes to it, or a rollback
        // switches back to it without a start.
        let unfinished = meta
            .get(&holder)
            .is_some_and(|m| m.checked() && m.get(metadata::LIVE_SINCE).is_none());
        let idle_warm =
            state.started(&other) && state.get(&other).is_some_and(|s| s.routes.is_empty());
        if unfinished && idle_warm {
            notes.push(format!(
                "{other} is still started without routes: an earlier run switched to {holder} and was \
                 stopped before it retired {other} (during the verification or the drain)"
            ));
        }
        for route in &live[1..] {
            if state.holds(&other, route) {
                notes.push(format!(
                    "{other} still holds the live route {route}, which belongs with {holder}"
                ));
                if !state.holds(&holder, route) {
                    let step = Step::map_route(&holder, route, RouteRole::Live);
                    push(&mut state, &mut steps, step);
                }
                let step = Step::unmap_route(&other, route, RouteRole::Live);
                push(&mut state, &mut steps, step);
            }
        }
        if let Some(s) = state.get(&holder) {
            if !s.started() {
                notes.push(format!(
                    "the live app {holder} is stopped: {main} is down until this deploy switches it"
                ));
            } else if !s.instances.is_empty() && s.running_instances() == 0 {
                notes.push(format!(
                    "no instance of the live app {holder} is running ({}): {main} is down until this deploy switches it",
                    s.instances.join(", ")
                ));
            }
        }
    } else if live[1..].iter().any(|r| !state.holders(r).is_empty()) {
        notes.push(format!(
            "no app holds the main live route {main}, but extra live routes are held; the deploy maps them all"
        ));
    }
    Ok((steps, state, notes))
}

/// Of two apps both holding the live route, the one whose version passed its check in
/// the most recent deploy, if the annotations say so and it is started; else, when the
/// other's version failed its verification (or was switched back from by
/// `--all-or-nothing`), the started one it was switching back to.
fn checked_newer(
    config: &Config,
    state: &PairState,
    meta: &BTreeMap<String, AppMeta>,
) -> Option<String> {
    let candidates: Vec<(&str, &str)> = [config.blue.as_str(), config.green.as_str()]
        .into_iter()
        .filter(|app| state.get(app).is_some_and(|s| s.started()))
        .filter_map(|app| {
            let m = meta.get(app)?;
            m.checked()
                .then(|| (app, m.get(metadata::DEPLOY).unwrap_or("")))
        })
        .collect();
    candidates
        .into_iter()
        .max_by(|a, b| a.1.cmp(b.1))
        .map(|(app, _)| app.to_string())
        .or_else(|| {
            // A switch back after a failed verification, stopped hard between its maps
            // and its unmaps: the app it went back to was live before, records or not.
            let failed = [config.blue.as_str(), config.green.as_str()]
                .into_iter()
                .find(|app| {
                    meta.get(*app)
                        .is_some_and(|m| m.verify_failed() || m.switched_back())
                })?;
            let other = config.other(failed);
            state.started(other).then(|| other.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::DeployId;
    use crate::plan::fixtures::*;
    use crate::plan::plan_deploy;

    fn lines(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(Step::command)
            .map(|c| c.to_string())
            .collect()
    }

    const D: &str = metadata::DEPLOY;
    const C: &str = metadata::CHECKED;

    #[test]
    fn clean_state_needs_nothing() {
        let c = config("");
        let (steps, _, notes) = resolve(
            &c,
            &c.live,
            &pair(started(&["live.example.com"]), stopped(&[])),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(steps.is_empty() && notes.is_empty());
    }

    #[test]
    fn both_live_with_records_finishes_the_switch_to_the_checked_newer_app() {
        let c = config("");
        let state = pair(
            started(&["live.example.com"]),
            started(&["live.example.com", "stg.example.com"]),
        );
        let m = meta(&[
            (
                "a",
                &[(D, "2026-01-01T00:00:00Z x"), (C, "2026-01-01T00:00:00Z x")],
            ),
            (
                "b",
                &[(D, "2026-02-01T00:00:00Z y"), (C, "2026-02-01T00:00:00Z y")],
            ),
        ]);
        let (steps, after, notes) = resolve(&c, &c.live, &state, &m).unwrap();
        assert_eq!(
            lines(&steps),
            [
                "cf unmap-route a example.com --hostname live",
                "cf stop a",
                "cf unmap-route b example.com --hostname stg"
            ]
        );
        assert_eq!(after.holders(c.main_live()), ["b"]);
        assert!(notes[0].contains("b holds the version that passed its check"));
        // The deploy that follows goes to a.
        let plan = plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(plan.target, "a");
        assert_eq!(plan.previous.as_deref(), Some("b"));
    }

    #[test]
    fn both_live_where_the_new_app_was_never_checked_goes_back_to_the_old_one() {
        let c = config("");
        let state = pair(
            started(&["live.example.com"]),
            started(&["live.example.com"]),
        );
        // b was pushed (deploy recorded, checked cleared), a is the checked old version.
        let m = meta(&[
            (
                "a",
                &[(D, "2026-01-01T00:00:00Z x"), (C, "2026-01-01T00:00:00Z x")],
            ),
            ("b", &[(D, "2026-02-01T00:00:00Z y")]),
        ]);
        let (steps, _, _) = resolve(&c, &c.live, &state, &m).unwrap();
        assert_eq!(
            lines(&steps),
            ["cf unmap-route b example.com --hostname live", "cf stop b"]
        );
    }

    #[test]
    fn both_live_while_switching_back_from_a_failed_verification_finishes_the_switch_back() {
        let c = config("");
        let state = pair(
            started(&["live.example.com"]),
            started(&["live.example.com"]),
        );
        let y = "2026-02-01T00:00:00Z y";
        // b passed its check, then failed its verification; a has no records at all.
        let failed: &[(&str, &str)] = &[(D, y), (C, y), (metadata::VERIFY_FAILED, y)];
        let m = meta(&[("b", failed)]);
        let (steps, _, notes) = resolve(&c, &c.live, &state, &m).unwrap();
        assert_eq!(
            lines(&steps),
            ["cf unmap-route b example.com --hostname live", "cf stop b"]
        );
        assert!(
            notes[0].contains("switching back from b, whose version failed its verification"),
            "{notes:?}"
        );
        // A record of an older version's failure does not count against a newer one.
        let stale: &[(&str, &str)] = &[(D, y), (C, y), (metadata::VERIFY_FAILED, "older")];
        let m = meta(&[("b", stale)]);
        let (steps, _, _) = resolve(&c, &c.live, &state, &m).unwrap();
        assert_eq!(
            lines(&steps)[0],
            "cf unmap-route a example.com --hostname live"
        );
    }

    #[test]
    fn both_live_while_switching_back_a_held_pair_finishes_the_switch_back() {
        let c = config("");
        let state = pair(
            started(&["live.example.com"]),
            started(&["live.example.com"]),
        );
        let (x, y) = ("2026-01-01T00:00:00Z x", "2026-02-01T00:00:00Z y");
        // b passed its check and its verification, but its suite went back
        // (--all-or-nothing): the newer checked version no longer counts.
        let held: &[(&str, &str)] = &[(D, y), (C, y), (metadata::SWITCHED_BACK, y)];
        let m = meta(&[("a", &[(D, x), (C, x)]), ("b", held)]);
        let (steps, _, notes) = resolve(&c, &c.live, &state, &m).unwrap();
        assert_eq!(
            lines(&steps),
            ["cf unmap-route b example.com --hostname live", "cf stop b"]
        );
        assert!(
            notes[0].contains("switching back from b because another deployment of its suite"),
            "{notes:?}"
        );
        // Without records on a, the held version still does not win.
        let m = meta(&[("b", held)]);
        let (steps, _, _) = resolve(&c, &c.live, &state, &m).unwrap();
        assert_eq!(
            lines(&steps)[0],
            "cf unmap-route b example.com --hostname live"
        );
    }

    #[test]
    fn an_interrupted_verification_is_named_and_needs_no_step() {
        let c = config("");
        let state = pair(started(&[]), started(&["live.example.com"]));
        let y = "2026-02-01T00:00:00Z y";
        let m = meta(&[("b", &[(D, y), (C, y)])]);
        let (steps, _, notes) = resolve(&c, &c.live, &state, &m).unwrap();
        assert!(steps.is_empty());
        assert_eq!(
            notes,
            [
                "a is still started without routes: an earlier run switched to b and was stopped \
              before it retired a (during the verification or the drain)"
            ]
        );
        let plan = plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(
            (plan.target.as_str(), plan.previous.as_deref()),
            ("a", Some("b"))
        );
        // Kept on purpose (switch.old = "keep"): the live app has its live-since.
        let m = meta(&[("b", &[(D, y), (C, y), (metadata::LIVE_SINCE, y)])]);
        assert!(resolve(&c, &c.live, &state, &m).unwrap().2.is_empty());
    }

    #[test]
    fn both_live_without_records_needs_a_human() {
        let c = config("");
        let state = pair(
            started(&["live.example.com"]),
            started(&["live.example.com"]),
        );
        let e = resolve(&c, &c.live, &state, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("do not say which one holds the checked new version"),
            "{e}"
        );
        // Both stopped: nothing serves, and nothing says which should.
        let state = pair(
            stopped(&["live.example.com"]),
            stopped(&["live.example.com"]),
        );
        let m = meta(&[("b", &[(D, "d"), (C, "d")])]);
        assert!(resolve(&c, &c.live, &state, &m).is_err());
    }

    #[test]
    fn a_stopped_app_beside_a_started_one_loses_its_live_routes() {
        // Even checked and newer: it serves nothing, so unmapping moves no traffic.
        let c = config("[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n");
        let state = pair(
            started(&["live.example.com", "www.shop.com"]),
            stopped(&["live.example.com", "www.shop.com"]),
        );
        let m = meta(&[("b", &[(D, "d"), (C, "d")])]);
        let (steps, after, notes) = resolve(&c, &c.live, &state, &m).unwrap();
        assert_eq!(
            lines(&steps),
            [
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route b shop.com --hostname www",
            ]
        );
        assert_eq!(after.holders(c.main_live()), ["a"]);
        assert!(
            notes[0].contains("b is stopped and serves nothing"),
            "{notes:?}"
        );
    }

    #[test]
    fn leftover_staging_and_extra_routes_are_cleaned_up() {
        let c = config("[[routes.extra]]\nhost = \"www\"\ndomain = \"shop.com\"\n");
        let state = pair(
            started(&["live.example.com", "stg.example.com"]),
            started(&["www.shop.com", "stg.example.com"]),
        );
        let (steps, _, notes) = resolve(&c, &c.live, &state, &BTreeMap::new()).unwrap();
        assert_eq!(
            lines(&steps),
            [
                "cf unmap-route a example.com --hostname stg",
                "cf unmap-route b example.com --hostname stg",
                "cf map-route a shop.com --hostname www",
                "cf unmap-route b shop.com --hostname www",
            ]
        );
        assert_eq!(notes.len(), 3);
    }

    const S: &str = metadata::STAGED;

    #[test]
    fn a_staged_version_is_told_from_a_leftover() {
        let c = config("");
        let id = "2026-12-03T06:00:00Z ci";
        let records = meta(&[("b", &[(D, id), (C, id), (S, id)])]);
        let staged_state = pair(
            started(&["live.example.com"]),
            started(&["stg.example.com"]),
        );
        assert_eq!(
            staged(&c, &staged_state, &records),
            Some(Staged {
                app: "b".into(),
                id: id.into()
            })
        );
        // Anything else is not the state `deploy --no-switch` leaves.
        let not = [
            (
                "stopped",
                pair(
                    started(&["live.example.com"]),
                    stopped(&["stg.example.com"]),
                ),
                records.clone(),
            ),
            (
                "off staging",
                pair(started(&["live.example.com"]), started(&[])),
                records.clone(),
            ),
            (
                "live too",
                pair(
                    started(&["live.example.com"]),
                    started(&["stg.example.com", "live.example.com"]),
                ),
                records.clone(),
            ),
            (
                "staging on both",
                pair(
                    started(&["live.example.com", "stg.example.com"]),
                    started(&["stg.example.com"]),
                ),
                records.clone(),
            ),
            (
                "pushed since",
                staged_state.clone(),
                meta(&[("b", &[(D, "2026-12-04T00:00:00Z x"), (S, id)])]),
            ),
            (
                "never checked",
                staged_state.clone(),
                meta(&[("b", &[(D, id), (S, id)])]),
            ),
            (
                "no record",
                staged_state.clone(),
                meta(&[("b", &[(D, id), (C, id)])]),
            ),
            (
                "live since",
                staged_state.clone(),
                meta(&[(
                    "b",
                    &[(D, id), (C, id), (S, id), (metadata::LIVE_SINCE, "t")],
                )]),
            ),
        ];
        for (name, state, m) in not {
            assert_eq!(staged(&c, &state, &m), None, "{name}");
        }

        // A deploy replaces it, and says whose it was; a promotion keeps its staging route.
        let (steps, _, notes) = resolve(&c, &c.live, &staged_state, &records).unwrap();
        assert_eq!(
            lines(&steps),
            ["cf unmap-route b example.com --hostname stg"]
        );
        assert_eq!(
            notes,
            [
                "b holds a version staged by ci at 2026-12-03T06:00:00Z for promotion, on the \
              staging route stg.example.com: this deploy replaces it"
            ]
        );
        let (steps, _, notes) =
            resolve_keeping(&c, &c.live, &staged_state, &records, Some("b")).unwrap();
        assert!(steps.is_empty() && notes.is_empty(), "{steps:?} {notes:?}");
    }

    /// The commands of `plan` but the annotations and the checks.
    fn cf_lines(plan: &crate::plan::Plan) -> Vec<String> {
        plan.commands()
            .iter()
            .filter(|c| c.name() != "curl")
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_switch_back_stopped_before_its_maps_is_finished_by_a_deploy_not_a_rollback() {
        let c = config("");
        let (x, y) = ("2026-01-01T00:00:00Z x", "2026-02-01T00:00:00Z y");
        // b, rejected, alone on the live route (and still on the staging route, as the
        // switch back unmaps it after the live routes); a, live before, started without
        // routes.
        let state = pair(
            started(&[]),
            started(&["live.example.com", "stg.example.com"]),
        );
        let failed: &[(&str, &str)] = &[(D, y), (C, y), (metadata::VERIFY_FAILED, y)];
        let was_live: &[(&str, &str)] = &[(D, x), (C, x), (metadata::LIVE_SINCE, x)];
        let m = meta(&[("a", was_live), ("b", failed)]);
        let plan = plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(
            cf_lines(&plan)[..5],
            [
                "cf map-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname live",
                "cf stop b",
                "cf unmap-route b example.com --hostname stg",
                "cf push b --no-route"
            ]
        );
        assert_eq!(
            (plan.target.as_str(), plan.previous.as_deref()),
            ("b", Some("a"))
        );
        assert!(
            plan.notes[0].starts_with(
                "b holds the live routes with a version that was switched back from, and a is still started: \
                 the switch back (the version failed its verification after the switch (deploy 2026-02-01T00:00:00Z y))"
            ),
            "{:?}",
            plan.notes
        );
        // An app the tool never pushed was adopted live as it was: the same.
        let adopted = meta(&[("b", failed)]);
        let plan = plan_deploy(&c, &state, &adopted, &DeployId("id".into())).unwrap();
        assert_eq!(plan.target, "b", "{:?}", plan.notes);
        // A rollback is that switch back itself: to a, started, without a start.
        let plan = crate::plan::plan_rollback(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(
            (plan.target.as_str(), plan.previous.as_deref()),
            ("a", Some("b"))
        );
        assert!(!plan.steps.iter().any(|s| matches!(s, Step::Start { .. })));
        assert!(!plan.notes.iter().any(|n| n.contains("switched back")));
    }

    #[test]
    fn a_switch_back_already_partly_mapped_back_is_finished_without_moving_routes_twice() {
        let c = config("[[routes.extra]]\ndomain = \"example.com\"\nhost = \"www\"\n");
        let (x, y) = ("2026-01-01T00:00:00Z x", "2026-02-01T00:00:00Z y");
        // The maps back run side by side: the extra route's went through, the main one's
        // did not.
        let state = pair(
            started(&["www.example.com"]),
            started(&["live.example.com", "www.example.com"]),
        );
        let m = meta(&[
            ("a", &[(D, x), (C, x), (metadata::LIVE_SINCE, x)]),
            ("b", &[(D, y), (C, y), (metadata::VERIFY_FAILED, y)]),
        ]);
        let plan = plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(
            cf_lines(&plan)[..5],
            [
                "cf map-route a example.com --hostname live",
                "cf unmap-route b example.com --hostname live",
                "cf unmap-route b example.com --hostname www",
                "cf stop b",
                "cf push b --no-route"
            ]
        );
    }

    #[test]
    fn a_switch_back_is_finished_only_to_the_version_that_was_live() {
        let c = config("");
        let (x, y, z) = (
            "2026-01-01T00:00:00Z x",
            "2026-02-01T00:00:00Z y",
            "2026-03-01T00:00:00Z z",
        );
        let failed: &[(&str, &str)] = &[(D, y), (C, y), (metadata::VERIFY_FAILED, y)];
        let held: &[(&str, &str)] = &[(D, y), (C, y), (metadata::SWITCHED_BACK, y)];
        let was_live: &[(&str, &str)] = &[(D, x), (C, x), (metadata::LIVE_SINCE, x)];
        let crashed = Some(crate::cf::AppStatus {
            instances: vec!["crashed".into()],
            ..started(&[]).unwrap()
        });
        for (a_state, a_records, b_records, why) in [
            (stopped(&[]), was_live, failed, "a is stopped"),
            (None, was_live, failed, "a does not exist"),
            (
                crashed,
                was_live,
                failed,
                "no instance of a is running (crashed)",
            ),
            // Pushed and checked by a later run, never switched to.
            (
                started(&[]),
                &[(D, z), (C, z)][..],
                failed,
                "the records of a do not show that its version was live before",
            ),
            // Staged for approval: not put live by a resolution.
            (
                started(&["stg.example.com"]),
                &[(D, z), (C, z), (metadata::STAGED, z)][..],
                held,
                "a holds the staging route stg.example.com",
            ),
        ] {
            let state = pair(a_state, started(&["live.example.com"]));
            let m = meta(&[("a", a_records), ("b", b_records)]);
            let plan = plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
            // As before: the new version goes to a, b serves meanwhile.
            assert_eq!(plan.target, "a", "{:?}", plan.notes);
            let push = plan
                .steps
                .iter()
                .position(|s| matches!(s, Step::Push { .. }))
                .unwrap();
            assert!(
                !plan.steps[..push]
                    .iter()
                    .any(|s| s.maps(RouteRole::Live) || matches!(s, Step::Stop { .. })),
                "{:?}",
                plan.steps
            );
            let warning = plan
                .notes
                .iter()
                .find(|n| n.starts_with("the live app b holds a version that "))
                .unwrap_or_else(|| panic!("{why}: {:?}", plan.notes));
            assert!(warning.contains(why), "{warning}");
            assert!(
                warning.ends_with("b serves until this run switches"),
                "{warning}"
            );
        }
        let state = pair(stopped(&[]), started(&["live.example.com"]));
        let m = meta(&[("a", was_live), ("b", failed)]);
        let plan = plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert!(
            plan.notes[0].contains("holds a version that failed its verification after the switch (deploy 2026-02-01T00:00:00Z y)"),
            "{:?}",
            plan.notes
        );
        // A record of an older version on b says nothing about the one it holds now.
        let stale: &[(&str, &str)] = &[(D, z), (C, z), (metadata::VERIFY_FAILED, y)];
        let state = pair(started(&[]), started(&["live.example.com"]));
        let m = meta(&[("a", was_live), ("b", stale)]);
        let plan = plan_deploy(&c, &state, &m, &DeployId("id".into())).unwrap();
        assert_eq!(plan.target, "a");
        assert!(
            !plan.notes.iter().any(|n| n.contains("switched back")),
            "{:?}",
            plan.notes
        );
    }

    /// Whole runs against the in-memory cf, from the states a switch back leaves.
    mod after_a_switch_back {
        use crate::cf::memory::MemoryCf;
        use crate::context::Context;
        use crate::error::Error;
        use crate::metadata::{CHECKED, DEPLOY, LIVE_SINCE, VERIFY_FAILED};
        use crate::ops::{self, SwitchOptions};
        use crate::plan::fixtures::config;
        use crate::plan::Kind;
        use crate::report::Recorder;

        const LIVE: &str = "live.example.com";
        const QUICK: &str = "[smoke]\nenabled = false\n[switch]\ndrain = \"0s\"\n";
        const OLD: &str = "2026-11-01T10:00:00Z ci";
        const NEW: &str = "2026-11-02T10:00:00Z ci";

        fn run(cf: &MemoryCf, kind: Kind) -> (Result<(), Error>, Vec<String>) {
            let events = Recorder::default();
            let config = config(QUICK);
            let result = {
                let mut ctx = Context::new(&config, cf, &events, "tester@host pid 1");
                ctx.retry_pause = std::time::Duration::from_millis(1);
                ops::run_kind(&ctx, kind, SwitchOptions::default())
            };
            (result, events.lines())
        }

        /// `a` was live (its version checked and live since OLD); `b`'s version failed its
        /// verification, and `b` holds the live route (`b_live`) or not.
        fn after_switch_back(a_started: bool, b_started: bool, b_live: bool) -> MemoryCf {
            let b_routes: &[&str] = if b_live { &[LIVE] } else { &[] };
            let a_routes: &[&str] = if b_live { &[] } else { &[LIVE] };
            MemoryCf::new()
                .app("a", a_started, a_routes)
                .app("b", b_started, b_routes)
                .annotate("a", DEPLOY, OLD)
                .annotate("a", CHECKED, OLD)
                .annotate("a", LIVE_SINCE, OLD)
                .annotate("b", DEPLOY, NEW)
                .annotate("b", CHECKED, NEW)
                .annotate("b", VERIFY_FAILED, NEW)
        }

        #[test]
        fn a_deploy_finishes_the_switch_back_then_pushes_over_the_rejected_version() {
            let cf = after_switch_back(true, true, true);
            let (result, lines) = run(&cf, Kind::Deploy);
            result.unwrap();
            let m = cf.mutations();
            assert_eq!(
                m[..4],
                [
                    "cf map-route a example.com --hostname live",
                    "cf unmap-route b example.com --hostname live",
                    "cf stop b",
                    "cf push b --no-route",
                ],
                "{lines:#?}"
            );
            // The rejected version served nothing from the first call on.
            for call in cf.calls().iter().filter(|c| c.changes_apps()) {
                if call.argv[0] == "push" {
                    break;
                }
                let holders = call.routes.get(LIVE).cloned().unwrap_or_default();
                assert!(
                    holders.iter().all(|(app, _)| app == "a") || call.argv[0] == "map-route",
                    "{} {holders:?}",
                    call.line()
                );
            }
            cf.assert_always_served(LIVE);
            assert_eq!(cf.routes("b"), [LIVE]);
            assert_eq!(cf.started("a"), Some(false));
            // A new version: the old record no longer counts.
            assert!(cf.annotation("b", DEPLOY).as_deref() != Some(NEW));
            assert!(lines.iter().any(|l| l.starts_with(
                "warning: b holds the live routes with a version that was switched back from, and a is still started"
            )), "{lines:#?}");
        }

        #[test]
        fn with_the_previous_app_stopped_a_deploy_warns_and_goes_on_as_before() {
            let cf = after_switch_back(false, true, true);
            let (result, lines) = run(&cf, Kind::Deploy);
            result.unwrap();
            assert_eq!(cf.mutations()[0], "cf push a --no-route");
            assert!(lines.iter().any(|l| l.starts_with(
                "warning: the live app b holds a version that failed its verification after the switch"
            ) && l.contains("(a is stopped)")), "{lines:#?}");
            cf.assert_always_served(LIVE);
            assert_eq!(cf.routes("a"), [LIVE]);
        }

        #[test]
        fn a_rollback_to_the_rejected_version_writes_nothing() {
            // The clean switch back: a live again, b stopped with its record.
            let cf =
                after_switch_back(true, false, false).annotate("b", crate::metadata::LABEL, "v1.2");
            let (result, _) = run(&cf, Kind::Rollback);
            let e = result.unwrap_err().to_string();
            assert!(
                e.contains("b holds the newer version (labelled v1.2), which failed its verification after the switch, in the deploy ci started at 2026-11-02T10:00:00Z"),
                "{e}"
            );
            assert!(
                e.contains("a already serves the version that was live before it"),
                "{e}"
            );
            // Not even the lock: decided from the first read.
            assert!(cf.mutations().is_empty(), "{:?}", cf.mutations());
            assert!(cf.services().is_empty(), "{:?}", cf.services());
            assert!(
                !cf.calls()
                    .iter()
                    .any(|c| c.argv.iter().any(|a| a == "PATCH" || a == "POST")),
                "{:#?}",
                cf.calls()
            );
        }

        #[test]
        fn a_rollback_is_allowed_once_a_later_deploy_replaced_the_rejected_version() {
            let cf = after_switch_back(true, false, false);
            // The fixed version goes to b and passes: the record names an older version.
            let (result, _) = run(&cf, Kind::Deploy);
            result.unwrap();
            assert_eq!(cf.routes("b"), [LIVE]);
            assert_eq!(cf.annotation("b", VERIFY_FAILED).as_deref(), Some(NEW));
            // Back to a: the version that was live before the fixed one.
            let (result, lines) = run(&cf, Kind::Rollback);
            result.unwrap_or_else(|e| panic!("{e} {lines:#?}"));
            assert_eq!(cf.routes("a"), [LIVE]);
            // And forward again to the fixed version, which never failed.
            let (result, lines) = run(&cf, Kind::Rollback);
            result.unwrap_or_else(|e| panic!("{e} {lines:#?}"));
            assert_eq!(cf.routes("b"), [LIVE]);
        }
    }

    #[test]
    fn a_rollback_to_a_rejected_version_is_refused() {
        let c = config("");
        let y = "2026-02-01T00:00:00Z y";
        let failed: &[(&str, &str)] = &[(D, y), (C, y), (metadata::VERIFY_FAILED, y)];
        let m = meta(&[("b", failed)]);
        // From the first round: b stopped, a started.
        let only_a = |app: &str| app == "a";
        let e = refuse_early(Kind::Rollback, &c, &m, &only_a).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "nothing to roll back: b holds the newer version, which failed its verification after the switch"
            ),
            "{e}"
        );
        // From the full read too.
        let state = pair(started(&["live.example.com"]), stopped(&[]));
        let e = crate::plan::plan_rollback(&c, &state, &m, &DeployId("id".into())).unwrap_err();
        assert!(matches!(e, PlanError::NoRollback { .. }), "{e}");
        // Sent back by --all-or-nothing: the same.
        let held: &[(&str, &str)] = &[(D, y), (C, y), (metadata::SWITCHED_BACK, y)];
        let m = meta(&[("b", held)]);
        let e = refuse_early(Kind::Rollback, &c, &m, &only_a).unwrap_err();
        assert!(e.to_string().contains("--all-or-nothing"), "{e}");
    }

    #[test]
    fn what_the_first_round_refuses_before_the_lock() {
        let c = config("");
        let id = "2026-12-03T06:00:00Z ci";
        let records = meta(&[("b", &[(D, id), (C, id), (S, id)])]);
        let all = |_: &str| true;
        let only_a = |app: &str| app == "a";
        assert!(refuse_early(Kind::Promote, &c, &records, &all).is_ok());
        assert!(refuse_early(Kind::Abort, &c, &records, &all).is_ok());
        assert!(refuse_early(Kind::Deploy, &c, &records, &all).is_ok());
        assert!(matches!(
            refuse_early(Kind::Rollback, &c, &records, &all),
            Err(PlanError::NoRollback { .. })
        ));
        // Stopped: nothing runs on the staging route.
        for kind in [Kind::Promote, Kind::Abort] {
            let e = refuse_early(kind, &c, &records, &only_a).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("nothing to {}: b carries the record", kind.name())),
                "{e}"
            );
        }
        assert!(refuse_early(Kind::Rollback, &c, &records, &only_a).is_ok());
    }

    #[test]
    fn stopped_or_crashed_live_app_is_noted() {
        let c = config("");
        let (_, _, notes) = resolve(
            &c,
            &c.live,
            &pair(stopped(&["live.example.com"]), None),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(notes[0].contains("the live app a is stopped"), "{notes:?}");
        let mut crashed = started(&["live.example.com"]);
        crashed.as_mut().unwrap().instances = vec!["crashed".into()];
        let (_, _, notes) = resolve(&c, &c.live, &pair(crashed, None), &BTreeMap::new()).unwrap();
        assert!(
            notes[0].contains("no instance of the live app a is running (crashed)"),
            "{notes:?}"
        );
    }
}
