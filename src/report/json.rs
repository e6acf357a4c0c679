//! `--json`: every event as one JSON object on one line of stdout, for pipelines. Each
//! object has a string field `event`; an event of one pair of a suite also has
//! `deployment`. A run ends with one `summary` object (or, for `status`, one `status`
//! document), written by [`Json::finish`] once the exit code is known — also after a
//! configuration error. The schema is `docs/json-schema.json`, described in the README.
//!
//! Nothing secret reaches these lines: cf commands are shown as the dry run shows them
//! (`--var` values masked, push vars as a placeholder file), and smoke header values are
//! never part of an event.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use super::{Activity, Event, PairOutcome, Sink};
use crate::config::Config;
use crate::hint::Hint;
use crate::metadata::{self, AppMeta};
use crate::plan::{live_app, PairState, Plan};

/// What the summary of a pair says, gathered from its events.
#[derive(Debug, Clone, Default)]
struct PairFacts {
    /// The plan moves the live routes (deploy, rollback, promote; not a staging or an
    /// abort).
    switches: bool,
    target: Option<String>,
    previous: Option<String>,
    label: Option<String>,
    urls: Vec<String>,
    /// The switch finished (`Summary` came), or a recovery went forward to finish it.
    switched: bool,
    /// `deploy --no-switch` finished: the app that waits for promotion.
    staged: Option<String>,
    dry_run: bool,
    error: Option<String>,
}

impl PairFacts {
    /// The app live at the end, given the exit code: the new one once switched, the one
    /// live before on a failure it restored (or a dry run), none known when no safe
    /// state could be restored.
    fn live_app(&self, exit_code: i32) -> Option<String> {
        match exit_code {
            crate::error::EXIT_UNSAFE => None,
            _ if self.switched => self.target.clone(),
            _ => self.previous.clone(),
        }
    }

    /// The app live before the run, whatever came of it.
    fn previous_app(&self) -> Option<String> {
        self.previous.clone()
    }
}

#[derive(Default)]
struct Gathered {
    /// Keyed by deployment name; the single pair of a classic file under "".
    pairs: BTreeMap<String, PairFacts>,
    suite: Option<Vec<PairOutcome>>,
    /// `status`: each pair's document, in the order they came.
    status: Vec<(Option<String>, Value)>,
}

/// The JSON-lines renderer.
pub struct Json {
    out: Mutex<Box<dyn Write + Send>>,
    verbose: bool,
    gathered: Mutex<Gathered>,
}

impl Json {
    /// Lines on stdout; cf's own output only when `verbose`.
    pub fn stdout(verbose: bool) -> Json {
        Json::to(Box::new(std::io::stdout()), verbose)
    }

    pub fn to(out: Box<dyn Write + Send>, verbose: bool) -> Json {
        Json {
            out: Mutex::new(out),
            verbose,
            gathered: Mutex::default(),
        }
    }

    fn write(&self, pair: Option<&str>, event: &str, fields: Value) {
        let mut object = Map::new();
        object.insert("event".into(), event.into());
        if let Some(pair) = pair {
            object.insert("deployment".into(), pair.into());
        }
        object.insert(
            "time".into(),
            humantime::format_rfc3339_millis(SystemTime::now())
                .to_string()
                .into(),
        );
        if let Value::Object(fields) = fields {
            object.extend(fields);
        }
        let mut out = self.out.lock().unwrap();
        // A pipeline reads line by line while the run goes on: flush each.
        let _ = writeln!(out, "{}", Value::Object(object));
        let _ = out.flush();
    }

    fn facts<R>(&self, pair: Option<&str>, f: impl FnOnce(&mut PairFacts) -> R) -> R {
        let mut gathered = self.gathered.lock().unwrap();
        f(gathered
            .pairs
            .entry(pair.unwrap_or_default().to_string())
            .or_default())
    }

    /// The last line of a run: the `status` document, or else the summary of a deploy
    /// or rollback (of every pair, for a suite), with the exit code. `command` is the
    /// subcommand's name.
    pub fn finish(&self, command: &str, exit_code: i32, elapsed: Duration) {
        let gathered = std::mem::take(&mut *self.gathered.lock().unwrap());
        if exit_code == crate::error::EXIT_OK && !gathered.status.is_empty() {
            let document = match gathered.status.as_slice() {
                [(None, single)] => single.clone(),
                many => json!({
                    "deployments": many
                        .iter()
                        .map(|(name, doc)| {
                            let mut doc = doc.clone();
                            doc["name"] = name.clone().unwrap_or_default().into();
                            doc
                        })
                        .collect::<Vec<_>>()
                }),
            };
            self.write(None, "status", document);
            return;
        }
        let duration_ms = elapsed.as_millis() as u64;
        let mut summary = json!({
            "command": command,
            "exit_code": exit_code,
            "live_app": null,
            "previous_app": null,
            "urls": [],
            "label": null,
            "dry_run": false,
            "staged_app": null,
            "duration_ms": duration_ms,
        });
        if let Some(outcomes) = &gathered.suite {
            let deployments: Vec<Value> = outcomes
                .iter()
                .map(|o| {
                    let facts = gathered.pairs.get(&o.name).cloned().unwrap_or_default();
                    json!({
                        "name": o.name,
                        "exit_code": o.exit_code,
                        "live_app": o.live_app,
                        "previous_app": facts.previous_app(),
                        "urls": facts.urls,
                        "label": facts.label,
                        "staged_app": facts.staged.filter(|_| o.exit_code == crate::error::EXIT_OK),
                        "error": facts.error,
                        "switched_back": o.switched_back,
                    })
                })
                .collect();
            summary["deployments"] = deployments.into();
        } else if let Some(facts) = gathered.pairs.get("") {
            summary["live_app"] = facts.live_app(exit_code).into();
            summary["previous_app"] = facts.previous_app().into();
            summary["urls"] = facts.urls.clone().into();
            summary["label"] = facts.label.clone().into();
            summary["dry_run"] = facts.dry_run.into();
            if exit_code == crate::error::EXIT_OK {
                summary["staged_app"] = facts.staged.clone().into();
            }
            if let Some(error) = &facts.error {
                summary["error"] = error.clone().into();
            }
        }
        self.write(None, "summary", summary);
    }

    /// The summary when a second interrupt ends the process at once, from the signal
    /// thread: nothing here may wait for a lock the workflow holds, so a line that cannot
    /// be written at once is not written. Which app serves is for a person to check.
    pub fn finish_at_once(&self, command: &str, elapsed: Duration) {
        let Ok(gathered) = self.gathered.try_lock() else {
            return;
        };
        let previous = gathered.pairs.get("").and_then(PairFacts::previous_app);
        drop(gathered);
        let Ok(mut out) = self.out.try_lock() else {
            return;
        };
        let line = json!({
            "event": "summary",
            "time": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            "command": command,
            "exit_code": crate::interrupt::EXIT_INTERRUPTED,
            "live_app": null,
            "previous_app": previous,
            "urls": [],
            "label": null,
            "dry_run": false,
            "staged_app": null,
            "duration_ms": elapsed.as_millis() as u64,
            "error": "stopped at once by a second interrupt",
        });
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn render(&self, pair: Option<&str>, event: Event<'_>) {
        match event {
            Event::Connected { version, target } => self.write(
                pair,
                "connected",
                json!({
                    "cf_version": version.full,
                    "api": target.api,
                    "user": target.user,
                    "org": target.org,
                    "space": target.space,
                }),
            ),
            Event::PlanReady { plan, config } => {
                self.facts(pair, |f| {
                    f.switches = plan.kind.switches();
                    f.target = Some(plan.target.clone());
                    f.previous = plan.previous.clone();
                    f.label = plan.label.clone();
                    f.urls = config.live_url_list();
                });
                self.write(pair, "plan", plan_fields(plan, config));
            }
            Event::DryRun { plan } => {
                self.facts(pair, |f| f.dry_run = true);
                self.write(
                    pair,
                    "dry_run",
                    json!({
                        "commands": plan
                            .commands()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>(),
                    }),
                );
            }
            Event::Started { activity } => {
                self.write(pair, "step_started", activity_fields(activity))
            }
            Event::Finished {
                activity,
                elapsed,
                ok,
            } => {
                let mut fields = activity_fields(activity);
                fields["ok"] = ok.into();
                fields["duration_ms"] = (elapsed.as_millis() as u64).into();
                self.write(pair, "step_finished", fields);
            }
            Event::Output { line } => {
                if self.verbose {
                    self.write(pair, "output", json!({ "line": line }));
                }
            }
            Event::RecoveryStarted {
                failed,
                interrupted,
            } => self.write(
                pair,
                "recovery_started",
                json!({ "failed_step": failed.to_string(), "interrupted": interrupted }),
            ),
            Event::RecoveryDecided {
                forward,
                blind,
                steps,
            } => {
                // A recovery that goes forward finishes the switch (or else ends in
                // exit 3, which knows no live app); the last recovery decides (a switch
                // finished forward, then verified, may be switched back).
                self.facts(pair, |f| f.switched = forward && f.switches);
                self.write(
                    pair,
                    "recovery_decided",
                    json!({
                        "direction": if forward { "forward" } else { "restore" },
                        "blind": blind,
                        "steps": steps.iter().map(step_fields).collect::<Vec<_>>(),
                    }),
                )
            }
            Event::SwitchCompleted {
                failed,
                cause,
                target,
            } => self.write(
                pair,
                "switch_completed",
                json!({ "failed_step": failed.to_string(), "cause": cause, "target": target }),
            ),
            Event::PoliciesAdded { from, to, policies } => self.write(
                pair,
                "policies_added",
                json!({ "from": from, "to": to, "policies": policies }),
            ),
            Event::Scaled {
                app,
                like,
                from,
                to,
            } => self.write(
                pair,
                "scaled",
                json!({ "app": app, "like": like, "from": from, "to": to }),
            ),
            Event::Warning { message } => {
                self.write(pair, "warning", json!({ "message": message }))
            }
            Event::Status {
                config,
                pair: state,
                meta,
            } => {
                let document = status_document(config, state, meta);
                self.gathered
                    .lock()
                    .unwrap()
                    .status
                    .push((pair.map(str::to_string), document));
            }
            Event::Summary { .. } => self.facts(pair, |f| f.switched = true),
            Event::SuiteSummary { outcomes, .. } => {
                self.gathered.lock().unwrap().suite = Some(outcomes.to_vec());
            }
            Event::Initialized {
                config,
                printed,
                next,
            } => self.write(
                pair,
                "initialized",
                json!({
                    "path": config.path.display().to_string(),
                    "printed": printed,
                    "blue": config.blue,
                    "green": config.green,
                    "live_routes": config.live.iter().map(|r| r.url()).collect::<Vec<_>>(),
                    "next": next,
                }),
            ),
            Event::Staged { plan, config, .. } => {
                self.facts(pair, |f| f.staged = Some(plan.target.clone()));
                self.write(
                    pair,
                    "staged",
                    json!({
                        "target": plan.target,
                        "previous": plan.previous,
                        "label": plan.label,
                        "staging_url": format!("https://{}", config.staging),
                    }),
                );
            }
            Event::Aborted { plan, .. } => self.write(
                pair,
                "aborted",
                json!({ "target": plan.target, "previous": plan.previous }),
            ),
            Event::Failed { error } => {
                self.facts(pair, |f| f.error = Some(error.to_string()));
                self.write(
                    pair,
                    "error",
                    json!({
                        "message": error.to_string(),
                        "hint": error.hint(),
                        "exit_code": error.exit_code(),
                    }),
                );
            }
        }
    }
}

impl Sink for Json {
    fn emit(&self, event: Event<'_>) {
        self.render(None, event);
    }

    fn emit_for(&self, pair: &str, event: Event<'_>) {
        self.render(Some(pair), event);
    }
}

fn step_fields(step: &crate::plan::Step) -> Value {
    json!({
        "step": step.to_string(),
        "commands": step.command().iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn activity_fields(activity: Activity<'_>) -> Value {
    match activity {
        Activity::Step(step) => {
            let mut fields = step_fields(step);
            fields["recovery"] = false.into();
            fields
        }
        Activity::Recover(step) => {
            let mut fields = step_fields(step);
            fields["recovery"] = true.into();
            fields
        }
        Activity::ReadState | Activity::ReadStateAndLock => json!({
            "step": activity.to_string(),
            "commands": [],
            "recovery": false,
        }),
    }
}

fn plan_fields(plan: &Plan, config: &Config) -> Value {
    // Which steps run side by side: each step's batch number.
    let mut batch_of = vec![0; plan.steps.len()];
    for (n, batch) in plan.batches().into_iter().enumerate() {
        for i in batch {
            batch_of[i] = n;
        }
    }
    json!({
        "kind": plan.kind.name(),
        "target": plan.target,
        "previous": plan.previous,
        "label": plan.label,
        "urls": config.live_url_list(),
        "live_routes": plan.live.iter().map(|r| r.url()).collect::<Vec<_>>(),
        "notes": plan.notes,
        "steps": plan
            .steps
            .iter()
            .zip(batch_of)
            .map(|(step, batch)| {
                let mut fields = step_fields(step);
                fields["batch"] = batch.into();
                fields
            })
            .collect::<Vec<_>>(),
    })
}

/// `status --json` for one pair: both apps, which is live, their records, and the lock.
fn status_document(config: &Config, pair: &PairState, meta: &BTreeMap<String, AppMeta>) -> Value {
    let live = live_app(config, pair).ok().flatten();
    let apps: Vec<Value> = pair
        .apps()
        .iter()
        .map(|(name, status)| {
            let record = |key: &str| meta.get(*name).and_then(|m| m.get(key)).map(str::to_string);
            let (state, instances, routes) = match status {
                None => ("missing", Value::Null, Vec::new()),
                Some(s) => (
                    if s.started() { "started" } else { "stopped" },
                    json!({ "running": s.running_instances(), "total": s.instances.len() }),
                    s.routes.clone(),
                ),
            };
            json!({
                "name": name,
                "exists": status.is_some(),
                "state": state,
                "instances": instances,
                "routes": routes,
                "live": live == Some(*name),
                "label": record(metadata::LABEL),
                "deployed": record(metadata::DEPLOY),
                "checked": record(metadata::CHECKED),
                "live_since": record(metadata::LIVE_SINCE),
                "staged": record(metadata::STAGED),
                // Only the current version's: an older one's record says nothing now.
                "verify_failed": record(metadata::VERIFY_FAILED)
                    .filter(|_| meta.get(*name).is_some_and(|m| m.verify_failed())),
                "switched_back": record(metadata::SWITCHED_BACK)
                    .filter(|_| meta.get(*name).is_some_and(|m| m.switched_back())),
            })
        })
        .collect();
    let unfinished = crate::plan::unfinished_switch(config, pair, meta).map(
        |(live, warm)| json!({ "live": live, "previous": warm, "verify": config.verify.is_some() }),
    );
    json!({
        "apps": apps,
        "live_app": live,
        "urls": config.live_url_list(),
        "unfinished_switch": unfinished,
    })
}
