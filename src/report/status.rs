//! How `status` shows both apps to a person: their state and routes, their records, and
//! which one is live.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::config::Unlisted;
use crate::metadata::{self, AppMeta};
use crate::plan::{first_target, live_app, staged, unfinished_switch, unlisted_routes, PairState};

/// The lines `status` prints on stdout.
pub fn render(config: &Config, pair: &PairState, meta: &BTreeMap<String, AppMeta>) -> Vec<String> {
    let width = config.blue.len().max(config.green.len()).max(3);
    let mut lines = vec![format!("{:width$}  {:11}  ROUTES", "APP", "STATE")];
    for (name, status) in pair.apps() {
        let (state, routes) = match status {
            None => ("missing".to_string(), "(not pushed yet)".to_string()),
            Some(s) => {
                let state = match (s.started(), s.instances.len(), s.running_instances()) {
                    (false, _, _) => "stopped".to_string(),
                    (true, 0, _) => "started".to_string(),
                    (true, n, r) => format!("started {r}/{n}"),
                };
                let routes = if s.routes.is_empty() {
                    "-".to_string()
                } else {
                    s.routes.join(", ")
                };
                (state, routes)
            }
        };
        let mark = if config.live.iter().any(|r| pair.holds(name, r)) {
            "  <- live"
        } else {
            ""
        };
        lines.push(format!("{name:width$}  {state:11}  {routes}{mark}"));
    }
    for (app, m) in meta {
        let facts: Vec<String> = [
            (metadata::LABEL, "label"),
            (metadata::DEPLOY, "deployed"),
            (metadata::CHECKED, "checked"),
            (metadata::LIVE_SINCE, "live since"),
            (
                metadata::VERIFY_FAILED,
                "FAILED its verification after the switch, deploy",
            ),
            (
                metadata::SWITCHED_BACK,
                "switched back after its verification because another deployment of the suite did not pass (--all-or-nothing), deploy",
            ),
            (metadata::LOCK, "LOCKED by"),
        ]
        .iter()
        // Only the current version's failed verification: an older one's says nothing now.
        .filter(|(key, _)| *key != metadata::VERIFY_FAILED || m.verify_failed())
        .filter(|(key, _)| *key != metadata::SWITCHED_BACK || m.switched_back())
        .filter_map(|(key, label)| m.get(key).map(|v| format!("{label} {v}")))
        .collect();
        if !facts.is_empty() {
            lines.push(format!("{app}: {}", facts.join("; ")));
        }
    }
    let unlisted: Vec<String> = unlisted_routes(config, pair, meta)
        .iter()
        .map(|(_, r)| r.to_string())
        .collect();
    if !unlisted.is_empty() {
        lines.push(match config.unlisted {
            Unlisted::Move => format!(
                "not in {}, moved with the live app: {}",
                config.path.display(),
                unlisted.join(", ")
            ),
            Unlisted::Refuse => format!(
                "not in {} (routes.unlisted = \"refuse\": a deploy stops): {}",
                config.path.display(),
                unlisted.join(", ")
            ),
        });
    }
    if let Some(staged) = staged(config, pair, meta) {
        let label = meta
            .get(&staged.app)
            .and_then(|m| m.get(metadata::LABEL))
            .map(|l| format!(", label {l},"))
            .unwrap_or_default();
        lines.push(format!(
            "staged: {}{label} at https://{}, {}, waiting for `cf-bluegreen promote` (or `abort`)",
            staged.app,
            config.staging,
            staged.by()
        ));
    }
    if let Some((live, warm)) = unfinished_switch(config, pair, meta) {
        let verified = if config.verify.is_some() {
            "its verification ([verify]) is under way or was cut short: the live version is NOT verified"
        } else {
            "its drain is under way or was cut short"
        };
        lines.push(format!(
            "switch not finished: {live} took the live routes, but has no live-since record yet: \
             {verified}. {warm} is still started without routes: `cf-bluegreen rollback` switches back \
             to it without a start; the next deploy pushes to it"
        ));
    }
    lines.push(match live_app(config, pair) {
        Ok(Some(app)) => {
            format!("live: {app} ({})", config.live_urls())
        }
        Ok(None) => format!(
            "live: none (no app of the pair holds {}; the next deploy goes to {})",
            config.main_live(),
            first_target(config, meta)
        ),
        Err(_) => format!(
            "live: both {} and {} hold {} (an interrupted deploy?)",
            config.blue,
            config.green,
            config.main_live()
        ),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cf::{AppStatus, RequestedState};
    use std::path::Path;

    #[test]
    fn shows_live_app_and_missing_app() {
        let c = Config::parse(
            "[apps]\nblue = \"sinatra_a\"\ngreen = \"sinatra_b\"\n[routes]\ndomain = \"d.eu\"\nlive = \"live\"\nstaging = \"stg\"\n",
            Path::new("deploy.toml"),
        )
        .unwrap();
        let pair = PairState {
            blue: (
                "sinatra_a".into(),
                Some(AppStatus {
                    requested_state: RequestedState::Started,
                    routes: vec!["live.d.eu".into()],
                    instances: vec!["running".into(), "crashed".into()],
                }),
            ),
            green: ("sinatra_b".into(), None),
        };
        let lines = render(&c, &pair, &BTreeMap::new());
        assert_eq!(lines[1], "sinatra_a  started 1/2  live.d.eu  <- live");
        assert_eq!(lines[2], "sinatra_b  missing      (not pushed yet)");
        assert_eq!(lines[3], "live: sinatra_a (https://live.d.eu)");
    }

    #[test]
    fn a_staged_version_is_shown_with_who_staged_it_and_when() {
        use crate::plan::fixtures::{config, meta, pair, started};
        let c = config("");
        let id = "2026-12-03T06:00:00Z ci@runner pid 7";
        let m = meta(&[(
            "b",
            &[
                (metadata::DEPLOY, id),
                (metadata::CHECKED, id),
                (metadata::STAGED, id),
            ],
        )]);
        let state = pair(
            started(&["live.example.com"]),
            started(&["stg.example.com"]),
        );
        let lines = render(&c, &state, &m);
        assert_eq!(
            lines[lines.len() - 2],
            "staged: b at https://stg.example.com, by ci@runner pid 7 at 2026-12-03T06:00:00Z, \
             waiting for `cf-bluegreen promote` (or `abort`)"
        );
        // Off the staging route, it no longer waits for anything.
        let state = pair(started(&["live.example.com"]), started(&[]));
        assert!(!render(&c, &state, &m)
            .iter()
            .any(|l| l.starts_with("staged")));
        // Its label, if it has one.
        let mut m = m;
        m.get_mut("b")
            .unwrap()
            .annotations
            .insert(metadata::LABEL.into(), "v1.2.3".into());
        let state = pair(
            started(&["live.example.com"]),
            started(&["stg.example.com"]),
        );
        let lines = render(&c, &state, &m);
        assert!(
            lines[lines.len() - 2]
                .starts_with("staged: b, label v1.2.3, at https://stg.example.com, by ci@runner"),
            "{lines:?}"
        );
    }

    #[test]
    fn each_apps_label_leads_its_records() {
        use crate::plan::fixtures::{config, meta, pair, started, stopped};
        let m = meta(&[
            (
                "a",
                &[
                    (metadata::DEPLOY, "d2"),
                    (metadata::LABEL, "v1.2.3"),
                    (metadata::CHECKED, "d2"),
                ],
            ),
            ("b", &[(metadata::LABEL, "0123456789ab-dirty")]),
        ]);
        let lines = render(
            &config(""),
            &pair(started(&["live.example.com"]), stopped(&[])),
            &m,
        );
        assert_eq!(
            lines[3..5],
            [
                "a: label v1.2.3; deployed d2; checked d2",
                "b: label 0123456789ab-dirty"
            ],
            "{lines:?}"
        );
    }

    #[test]
    fn a_version_that_failed_its_verification_says_so_an_older_ones_record_not() {
        use crate::plan::fixtures::{config, meta, pair, started, stopped};
        let failed: &[(&str, &str)] = &[
            (metadata::DEPLOY, "d2"),
            (metadata::CHECKED, "d2"),
            (metadata::VERIFY_FAILED, "d2"),
        ];
        let stale: &[(&str, &str)] = &[(metadata::DEPLOY, "d3"), (metadata::VERIFY_FAILED, "d1")];
        let m = meta(&[("a", stale), ("b", failed)]);
        let lines = render(
            &config(""),
            &pair(started(&["live.example.com"]), stopped(&[])),
            &m,
        );
        assert_eq!(
            lines[3..5],
            [
                "a: deployed d3",
                "b: deployed d2; checked d2; FAILED its verification after the switch, deploy d2"
            ],
            "{lines:?}"
        );
    }

    #[test]
    fn with_nothing_live_it_names_the_app_the_next_deploy_goes_to() {
        use crate::plan::fixtures::{config, meta, pair, stopped};
        let c = config("");
        let m = meta(&[("a", &[(metadata::LIVE_SINCE, "2026-03-01T00:00:00Z")])]);
        let lines = render(&c, &pair(stopped(&[]), stopped(&[])), &m);
        assert!(
            lines
                .last()
                .unwrap()
                .ends_with("the next deploy goes to b)"),
            "{lines:?}"
        );
    }
}
