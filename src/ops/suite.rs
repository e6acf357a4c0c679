//! Several app pairs in one run (`[[deployments]]`): each pair runs the same workflow as
//! a single one (its own lock, plan, recovery and records), up to `--parallel` at a time,
//! and a failure in one leaves the others alone. With `--all-or-nothing`, no pair moves
//! its live routes until every selected pair has passed its checks, and none retires its
//! previous app until every pair has switched and passed its verification: if one fails
//! after the switch, every pair switches back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::SwitchOptions;
use crate::cf::Cf;
use crate::config::Config;
use crate::context::Context;
use crate::error::{Error, EXIT_OK};
use crate::plan::Kind;
use crate::report::{Event, PairOutcome, Sink, Tagged};

/// One selected pair: its name in the file and its configuration.
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    pub name: &'a str,
    pub config: &'a Config,
}

#[derive(Debug, Clone, Copy)]
pub struct SuiteOptions {
    /// How many pairs run at once (at least 1).
    pub parallel: usize,
    pub all_or_nothing: bool,
    pub switch: SwitchOptions,
}

/// Counts free places, so that at most `--parallel` pairs work at a time. A pair waiting
/// at the all-or-nothing gate gives its place back: the pairs still queued must reach the
/// gate too, or it would never open.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    fn new(n: usize) -> Slots {
        Slots {
            free: Mutex::new(n.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a place; `false` when an interrupt came first (the pair does not start).
    fn take(&self) -> bool {
        let mut free = self.free.lock().unwrap();
        loop {
            if crate::interrupt::requested() {
                return false;
            }
            if *free > 0 {
                *free -= 1;
                return true;
            }
            free = self
                .freed
                .wait_timeout(free, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }

    fn give(&self) {
        *self.free.lock().unwrap() += 1;
        self.freed.notify_all();
    }
}

/// `--all-or-nothing`: every pair that passed its checks waits here until all have, or
/// until one has failed (then none switches). A second one after the switch: every pair
/// that switched (and passed its verification) waits there until all have, or until one
/// has failed (then every pair switches back).
struct Gate<'s> {
    total: usize,
    state: Mutex<GateState>,
    changed: Condvar,
    slots: &'s Slots,
}

#[derive(Default)]
struct GateState {
    passed: usize,
    failed: usize,
}

impl Gate<'_> {
    /// A pair passed its checks: `true` when every pair has, `false` when one failed or an
    /// interrupt came.
    fn pass(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        state.passed += 1;
        self.changed.notify_all();
        self.slots.give();
        let go = loop {
            if state.failed > 0 || crate::interrupt::requested() {
                break false;
            }
            if state.passed == self.total {
                break true;
            }
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap()
                .0;
        };
        drop(state);
        // The switch (or the way back) is work like any other: it takes a place again.
        self.slots.take();
        go
    }

    /// A pair got there without waiting (a switch completed forward by a recovery).
    fn arrive(&self) {
        self.state.lock().unwrap().passed += 1;
        self.changed.notify_all();
    }

    /// A pair ended without passing its checks.
    fn fail(&self) {
        self.state.lock().unwrap().failed += 1;
        self.changed.notify_all();
    }
}

/// Deploys or rolls back every pair in `pairs`; `Ok` when all switched. The summary lists
/// every pair; the error carries the highest exit code of any pair.
pub fn switch_all(
    pairs: &[Pair],
    cf: &dyn Cf,
    events: &dyn Sink,
    who: &str,
    kind: Kind,
    options: SuiteOptions,
) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let slots = Slots::new(options.parallel);
    let first_call = crate::context::FirstCall::default();
    let new_gate = || Gate {
        total: pairs.len(),
        state: Mutex::default(),
        changed: Condvar::new(),
        slots: &slots,
    };
    let all_or_nothing = options.all_or_nothing && !options.switch.dry_run;
    let gate = all_or_nothing.then(new_gate);
    let switched_gate = all_or_nothing.then(new_gate);
    let outcomes: Vec<PairOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = pairs
            .iter()
            .map(|pair| {
                let shared = Shared {
                    slots: &slots,
                    gate: gate.as_ref(),
                    switched_gate: switched_gate.as_ref(),
                    first_call: &first_call,
                };
                s.spawn(move || run_pair(pair, cf, events, who, kind, options, shared))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("pair thread"))
            .collect()
    });
    events.emit(Event::SuiteSummary {
        kind,
        outcomes: &outcomes,
        elapsed: started.elapsed(),
    });
    let code = outcomes
        .iter()
        .map(|o| o.exit_code)
        .max_by_key(|&c| urgency(c))
        .unwrap_or(EXIT_OK);
    if code == EXIT_OK {
        return Ok(());
    }
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.exit_code != EXIT_OK)
        .map(|o| format!("{} (exit {})", o.name, o.exit_code))
        .collect();
    Err(Error::Suite {
        verb: match kind {
            Kind::Deploy => "deploy",
            Kind::Rollback => "roll back",
            Kind::Stage => "stage",
            Kind::Promote => "promote",
            Kind::Abort => "abort",
        },
        failed,
        total: outcomes.len(),
        code,
    })
}

/// What the pairs of one run share.
#[derive(Clone, Copy)]
struct Shared<'s> {
    slots: &'s Slots,
    gate: Option<&'s Gate<'s>>,
    /// The gate after the switch (see [`Gate`]).
    switched_gate: Option<&'s Gate<'s>>,
    first_call: &'s crate::context::FirstCall,
}

fn run_pair(
    pair: &Pair,
    cf: &dyn Cf,
    events: &dyn Sink,
    who: &str,
    kind: Kind,
    options: SuiteOptions,
    shared: Shared,
) -> PairOutcome {
    let Shared {
        slots,
        gate,
        switched_gate,
        first_call,
    } = shared;
    let tagged = Tagged::new(pair.name, events);
    if !slots.take() {
        for gate in [gate, switched_gate].into_iter().flatten() {
            gate.fail();
        }
        let error = Error::Interrupted {
            step: "the wait for its turn".into(),
            state: "nothing was changed".into(),
        };
        tagged.emit(Event::Failed { error: &error });
        return tagged.outcome(error.exit_code());
    }
    let passed = AtomicBool::new(false);
    let pass = || {
        passed.store(true, Ordering::SeqCst);
        gate.is_none_or(Gate::pass)
    };
    // Whether the pair got to the gate after the switch, and whether it was sent back.
    let (switched, sent_back) = (AtomicBool::new(false), AtomicBool::new(false));
    let switch_done = |wait: bool| {
        // Once: a recovery after the gate may complete its switch forward too.
        if switched.swap(true, Ordering::SeqCst) {
            return true;
        }
        let Some(gate) = switched_gate else {
            return true;
        };
        if !wait {
            gate.arrive();
            return true;
        }
        let go = gate.pass();
        sent_back.store(!go, Ordering::SeqCst);
        go
    };
    let result = {
        let mut ctx = Context::new(pair.config, cf, &tagged, who);
        ctx.name = Some(pair.name);
        ctx.first_call = Some(first_call);
        if gate.is_some() {
            ctx.gate = Some(&pass);
            ctx.switched = Some(&switch_done);
        }
        super::run_kind(&ctx, kind, options.switch)
    };
    crate::interrupt::clear_at_once_message_for(Some(pair.name));
    if let (Some(gate), false) = (gate, passed.load(Ordering::SeqCst)) {
        gate.fail();
    }
    if let (Some(gate), false) = (switched_gate, switched.load(Ordering::SeqCst)) {
        gate.fail();
    }
    slots.give();
    let code = match &result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            tagged.emit(Event::Failed { error: e });
            e.exit_code()
        }
    };
    let mut outcome = tagged.outcome(code);
    // Sent back and back on its previous app (a first deploy stays, and exits 0).
    outcome.switched_back = sent_back.load(Ordering::SeqCst)
        && !crate::interrupt::requested()
        && code == crate::error::EXIT_FAILED;
    outcome
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::cf::memory::MemoryCf;
    use crate::report::Recorder;

    /// Pair `i`: apps `a{i}`/`b{i}`, live route `live{i}.example.com`.
    fn config(i: usize) -> Config {
        let text = format!(
            "[apps]\nblue = \"a{i}\"\ngreen = \"b{i}\"\n[routes]\ndomain = \"example.com\"\nlive = \"live{i}\"\nstaging = \"stg{i}\"\n\
             [smoke]\nenabled = false\n[switch]\ndrain = \"0s\"\n"
        );
        Config::parse(&text, Path::new("deploy.toml")).unwrap()
    }

    /// `n` pairs, each with `a{i}` live and `b{i}` stopped.
    fn suite(n: usize) -> (MemoryCf, Vec<Config>, Vec<String>) {
        let mut cf = MemoryCf::new();
        for i in 1..=n {
            cf = cf
                .app(&format!("a{i}"), true, &[&format!("live{i}.example.com")])
                .app(&format!("b{i}"), false, &[]);
        }
        let configs = (1..=n).map(config).collect();
        let names = (1..=n).map(|i| format!("p{i}")).collect();
        (cf, configs, names)
    }

    fn run(
        cf: &MemoryCf,
        configs: &[Config],
        names: &[String],
        parallel: usize,
        all_or_nothing: bool,
    ) -> (Result<(), Error>, Recorder) {
        run_kind(cf, configs, names, parallel, all_or_nothing, Kind::Deploy)
    }

    fn run_kind(
        cf: &MemoryCf,
        configs: &[Config],
        names: &[String],
        parallel: usize,
        all_or_nothing: bool,
        kind: Kind,
    ) -> (Result<(), Error>, Recorder) {
        let pairs: Vec<Pair> = names
            .iter()
            .zip(configs)
            .map(|(name, config)| Pair { name, config })
            .collect();
        let events = Recorder::default();
        let options = SuiteOptions {
            parallel,
            all_or_nothing,
            switch: SwitchOptions::default(),
        };
        let result = switch_all(&pairs, cf, &events, "tester", kind, options);
        (result, events)
    }

    fn live_on(cf: &MemoryCf, i: usize) -> String {
        let route = format!("live{i}.example.com");
        let holders: Vec<String> = [format!("a{i}"), format!("b{i}")]
            .into_iter()
            .filter(|app| cf.routes(app).contains(&route))
            .collect();
        holders.join(",")
    }

    #[test]
    fn every_pair_switches_and_the_summary_lists_each() {
        let (cf, configs, names) = suite(3);
        let (result, events) = run(&cf, &configs, &names, 2, false);
        result.unwrap();
        for i in 1..=3 {
            assert_eq!(live_on(&cf, i), format!("b{i}"));
            assert_eq!(cf.started(&format!("a{i}")), Some(false));
            cf.assert_always_served(&format!("live{i}.example.com"));
        }
        let lines = events.lines();
        assert_eq!(
            lines.last().unwrap(),
            "suite: p1 0 Some(\"b1\"); p2 0 Some(\"b2\"); p3 0 Some(\"b3\")"
        );
        // Every event of a pair is marked as that pair's.
        assert!(lines.contains(&"[p2] summary: b2 live; a2 stopped".to_string()));
    }

    #[test]
    fn a_failing_pair_does_not_disturb_the_others() {
        let (cf, configs, names) = suite(3);
        let cf = cf.crashed("b2");
        let (result, events) = run(&cf, &configs, &names, 4, false);
        let error = result.unwrap_err();
        assert_eq!(error.exit_code(), 1);
        assert_eq!(
            error.to_string(),
            "1 of 3 deployments did not deploy: p2 (exit 1)"
        );
        assert_eq!(live_on(&cf, 1), "b1");
        assert_eq!(live_on(&cf, 2), "a2");
        assert_eq!(live_on(&cf, 3), "b3");
        assert_eq!(cf.started("a2"), Some(true));
        assert_eq!(
            events.lines().last().unwrap(),
            "suite: p1 0 Some(\"b1\"); p2 1 Some(\"a2\"); p3 0 Some(\"b3\")"
        );
        assert!(
            events
                .lines()
                .iter()
                .any(|l| l.starts_with("[p2] error: push the new version to b2")),
            "{:#?}",
            events.lines()
        );
    }

    #[test]
    fn all_or_nothing_switches_none_when_one_pair_fails_its_checks() {
        let (cf, configs, names) = suite(3);
        let cf = cf.crashed("b3");
        let (result, events) = run(&cf, &configs, &names, 4, true);
        assert_eq!(result.unwrap_err().exit_code(), 1);
        for i in 1..=3 {
            // The pairs that passed are left as after an abort: the new version stopped,
            // without the staging route.
            assert_eq!(live_on(&cf, i), format!("a{i}"));
            assert_eq!(cf.started(&format!("a{i}")), Some(true));
            assert_eq!(cf.started(&format!("b{i}")), Some(false), "b{i}");
            assert!(cf.routes(&format!("b{i}")).is_empty(), "b{i}");
            // Held before anything says it is the version to finish a switch to.
            let checked = cf.annotation(&format!("b{i}"), crate::metadata::CHECKED);
            assert_eq!(checked, None, "b{i}");
            cf.assert_always_served(&format!("live{i}.example.com"));
        }
        let lines = events.lines();
        assert!(
            lines.iter().any(|l| l.starts_with(
                "[p1] warning: b1 passed its checks, but another deployment of the suite did not pass its checks"
            )),
            "{lines:#?}"
        );
        assert_eq!(
            lines.last().unwrap(),
            "suite: p1 1 Some(\"a1\"); p2 1 Some(\"a2\"); p3 1 Some(\"a3\")"
        );
    }

    use crate::test_http::answering;

    /// Pair `i` with `[verify]` against a server answering `status`.
    fn verifying(i: usize, status: u16) -> Config {
        let text = format!(
            "[apps]\nblue = \"a{i}\"\ngreen = \"b{i}\"\n[routes]\ndomain = \"example.com\"\nlive = \"live{i}\"\nstaging = \"stg{i}\"\n\
             [smoke]\nenabled = false\n[switch]\ndrain = \"0s\"\n\
             [verify]\nduration = \"300ms\"\ninterval = \"50ms\"\nurl = \"{}\"\n",
            answering(status)
        );
        Config::parse(&text, Path::new("deploy.toml")).unwrap()
    }

    /// After an --all-or-nothing deploy whose pair `failing` failed its verification:
    /// every pair back on its old app, warm all along, the new one stopped, no live route
    /// ever unserved; only the failing pair's version recorded as failed.
    fn assert_all_switched_back(cf: &MemoryCf, n: usize, failing: usize) {
        for i in 1..=n {
            let (a, b) = (format!("a{i}"), format!("b{i}"));
            assert_eq!(live_on(cf, i), a, "pair {i}");
            assert_eq!(cf.started(&a), Some(true), "{a}");
            assert_eq!(cf.started(&b), Some(false), "{b}");
            assert!(cf.routes(&b).is_empty(), "{b}");
            cf.assert_always_served(&format!("live{i}.example.com"));
            let deploy = cf.annotation(&b, crate::metadata::DEPLOY).unwrap();
            let record = |key| cf.annotation(&b, key);
            assert_eq!(record(crate::metadata::LIVE_SINCE), None, "{b}");
            if i == failing {
                assert_eq!(record(crate::metadata::VERIFY_FAILED), Some(deploy));
                assert_eq!(record(crate::metadata::SWITCHED_BACK), None);
            } else {
                // It passed: sent back, not failed.
                assert_eq!(record(crate::metadata::VERIFY_FAILED), None, "{b}");
                assert_eq!(record(crate::metadata::SWITCHED_BACK), Some(deploy));
            }
        }
        // The old apps were never stopped: the way back is route calls only.
        assert!(
            !cf.mutations().iter().any(|m| m.starts_with("cf start")),
            "{:#?}",
            cf.mutations()
        );
    }

    #[test]
    fn all_or_nothing_switches_every_pair_back_when_one_fails_its_verification() {
        let (cf, _, names) = suite(3);
        let configs = vec![verifying(1, 200), verifying(2, 200), verifying(3, 500)];
        let (result, events) = run(&cf, &configs, &names, 4, true);
        assert_eq!(result.unwrap_err().exit_code(), 1);
        assert_all_switched_back(&cf, 3, 3);
        let lines = events.lines();
        for i in 1..=2 {
            let warning = format!(
                "[p{i}] warning: b{i} passed its verification, but another deployment of the suite did not: switching back (--all-or-nothing)"
            );
            assert!(lines.contains(&warning), "{lines:#?}");
        }
        assert_eq!(
            lines.last().unwrap(),
            "suite: p1 1 Some(\"a1\") switched back; p2 1 Some(\"a2\") switched back; p3 1 Some(\"a3\")"
        );
        // A plain deploy afterwards, the broken version fixed, converges.
        cf.next_run("");
        let fixed = vec![verifying(1, 200), verifying(2, 200), verifying(3, 200)];
        let (result, _) = run(&cf, &fixed, &names, 4, false);
        result.unwrap();
        for i in 1..=3 {
            assert_eq!(live_on(&cf, i), format!("b{i}"));
            assert_eq!(cf.started(&format!("a{i}")), Some(false));
            cf.assert_always_served(&format!("live{i}.example.com"));
        }
    }

    #[test]
    fn the_json_summary_says_which_pairs_were_switched_back() {
        #[derive(Clone, Default)]
        struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Shared {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (cf, _, names) = suite(2);
        let configs = [verifying(1, 200), verifying(2, 500)];
        let pairs: Vec<Pair> = names
            .iter()
            .zip(&configs)
            .map(|(name, config)| Pair { name, config })
            .collect();
        let out = Shared::default();
        let json = crate::report::json::Json::to(Box::new(out.clone()), false);
        let options = SuiteOptions {
            parallel: 2,
            all_or_nothing: true,
            switch: SwitchOptions::default(),
        };
        let error = switch_all(&pairs, &cf, &json, "tester", Kind::Deploy, options).unwrap_err();
        json.finish("deploy", error.exit_code(), Duration::ZERO);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let summary: serde_json::Value =
            serde_json::from_str(text.lines().last().unwrap()).unwrap();
        let pairs = summary["deployments"].as_array().unwrap();
        let by_name = |n: &str| pairs.iter().find(|p| p["name"] == n).unwrap().clone();
        assert_eq!(by_name("p1")["switched_back"], true, "{summary}");
        assert_eq!(by_name("p1")["live_app"], "a1");
        assert_eq!(by_name("p1")["exit_code"], 1);
        assert_eq!(by_name("p2")["switched_back"], false, "{summary}");
    }

    #[test]
    fn all_or_nothing_switches_back_one_at_a_time_and_pairs_without_verify_too() {
        // One place: each pair gives it back while it waits after the switch, or the
        // next could never switch; pair 1 has no [verify] and waits all the same.
        let (cf, configs, names) = suite(3);
        let configs = vec![configs[0].clone(), verifying(2, 200), verifying(3, 500)];
        let (result, events) = run(&cf, &configs, &names, 1, true);
        assert_eq!(result.unwrap_err().exit_code(), 1);
        assert_all_switched_back(&cf, 3, 3);
        let lines = events.lines();
        assert!(
            lines.contains(
                &"[p1] warning: b1 switched, but another deployment of the suite did not: switching back (--all-or-nothing)".to_string()
            ),
            "{lines:#?}"
        );
    }

    #[test]
    fn all_or_nothing_switches_back_when_another_pairs_switch_is_undone() {
        // The first unmap from an old app fails without effect: that pair's switch is
        // undone, so the other, already switched, goes back too.
        let (cf, configs, names) = suite(2);
        let cf = cf.fail("unmap-route:1");
        let (result, events) = run(&cf, &configs, &names, 2, true);
        assert_eq!(result.unwrap_err().exit_code(), 1);
        let mut sent_back = 0;
        for i in 1..=2 {
            let (a, b) = (format!("a{i}"), format!("b{i}"));
            assert_eq!(live_on(&cf, i), a);
            assert_eq!(cf.started(&a), Some(true));
            assert_eq!(cf.started(&b), Some(false));
            cf.assert_always_served(&format!("live{i}.example.com"));
            assert_eq!(cf.annotation(&b, crate::metadata::VERIFY_FAILED), None);
            sent_back += usize::from(cf.annotation(&b, crate::metadata::SWITCHED_BACK).is_some());
        }
        assert_eq!(sent_back, 1, "{:#?}", events.lines());
    }

    #[test]
    fn all_or_nothing_counts_a_switch_completed_forward_as_switched() {
        // The first unmap from an old app takes effect but reports a failure: its
        // recovery finishes the switch, and the other pair need not go back for it.
        let (cf, configs, names) = suite(2);
        let cf = cf.fail("unmap-route:1:after");
        let (result, events) = run(&cf, &configs, &names, 2, true);
        result.unwrap();
        for i in 1..=2 {
            assert_eq!(live_on(&cf, i), format!("b{i}"), "{:#?}", events.lines());
            assert_eq!(cf.started(&format!("a{i}")), Some(false));
            cf.assert_always_served(&format!("live{i}.example.com"));
        }
    }

    #[test]
    fn all_or_nothing_sends_back_a_switch_completed_forward_too() {
        // Whichever pair's unmap takes effect but reports a failure has its switch
        // completed forward, with its previous app kept started: it then waits like the
        // others, and goes back when pair 2 fails its verification.
        let (cf, configs, names) = suite(2);
        let cf = cf.fail("unmap-route:1:after");
        let configs = vec![configs[0].clone(), verifying(2, 500)];
        let (result, events) = run(&cf, &configs, &names, 2, true);
        assert_eq!(result.unwrap_err().exit_code(), 1, "{:#?}", events.lines());
        assert_all_switched_back(&cf, 2, 2);
    }

    #[test]
    fn all_or_nothing_leaves_a_first_deploy_live_when_another_pair_goes_back() {
        // Pair 1 has never been deployed: it has nothing to go back to, and its live
        // route has been served by a1 alone since the switch.
        let cf = MemoryCf::new()
            .app("a2", true, &["live2.example.com"])
            .app("b2", false, &[]);
        let configs = vec![verifying(1, 200), verifying(2, 500)];
        let names = vec!["p1".to_string(), "p2".to_string()];
        let (result, events) = run(&cf, &configs, &names, 2, true);
        assert_eq!(result.unwrap_err().exit_code(), 1);
        assert_eq!(live_on(&cf, 1), "a1");
        assert_eq!(cf.started("a1"), Some(true));
        cf.assert_always_served("live1.example.com");
        assert_eq!(live_on(&cf, 2), "a2");
        cf.assert_always_served("live2.example.com");
        let lines = events.lines();
        assert!(
            lines.iter().any(|l| l.starts_with(
                "[p1] warning: a1 is live, but another deployment of the suite did not pass"
            )),
            "{lines:#?}"
        );
        assert_eq!(
            lines.last().unwrap(),
            "suite: p1 0 Some(\"a1\"); p2 1 Some(\"a2\")"
        );
    }

    #[test]
    fn all_or_nothing_switches_every_pair_even_one_at_a_time() {
        // With one place, the first pair must give it up while it waits at the gate, or
        // the others could never reach it.
        let (cf, configs, names) = suite(3);
        let (result, _) = run(&cf, &configs, &names, 1, true);
        result.unwrap();
        for i in 1..=3 {
            assert_eq!(live_on(&cf, i), format!("b{i}"));
            cf.assert_always_served(&format!("live{i}.example.com"));
        }
    }

    #[test]
    fn at_most_parallel_pairs_work_at_once() {
        let (cf, configs, names) = suite(4);
        let (result, events) = run(&cf, &configs, &names, 1, false);
        result.unwrap();
        // One at a time: each pair's events end before the next pair's begin.
        let order: Vec<String> = events
            .lines()
            .iter()
            .filter_map(|l| l.strip_prefix('[').and_then(|l| l.split(']').next()))
            .map(str::to_string)
            .collect();
        let mut runs = order.clone();
        runs.dedup();
        assert_eq!(runs.len(), 4, "{order:?}");
    }

    #[test]
    fn staged_pairs_are_promoted_together_or_stay_staged() {
        let (cf, configs, names) = suite(3);
        // Pairs 1 and 2 staged; pair 3 not.
        let (result, events) = run_kind(&cf, &configs[..2], &names[..2], 4, false, Kind::Stage);
        result.unwrap();
        assert_eq!(
            events.lines().last().unwrap(),
            "suite: p1 0 None; p2 0 None"
        );
        cf.next_run("");
        let (result, events) = run_kind(&cf, &configs, &names, 4, true, Kind::Promote);
        assert_eq!(result.unwrap_err().exit_code(), 1);
        let lines = events.lines();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("[p3] error: nothing to promote")),
            "{lines:#?}"
        );
        for i in 1..=2 {
            // Held at the gate: left staged, for a promotion once all pass.
            assert_eq!(live_on(&cf, i), format!("a{i}"));
            assert_eq!(cf.routes(&format!("b{i}")), [format!("stg{i}.example.com")]);
            assert_eq!(cf.started(&format!("b{i}")), Some(true));
            assert!(cf
                .annotation(&format!("b{i}"), crate::metadata::STAGED)
                .is_some());
            cf.assert_always_served(&format!("live{i}.example.com"));
        }
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("[p1] error: the switch to b1 failed")
                    && l.contains("a1 still serves the live route, and b1 is still staged.")),
            "{lines:#?}"
        );
        // Without pair 3, both switch.
        cf.next_run("");
        let (result, _) = run_kind(&cf, &configs[..2], &names[..2], 1, true, Kind::Promote);
        result.unwrap();
        for i in 1..=2 {
            assert_eq!(live_on(&cf, i), format!("b{i}"));
            assert_eq!(cf.started(&format!("a{i}")), Some(false));
            assert!(cf
                .annotation(&format!("b{i}"), crate::metadata::STAGED)
                .is_none());
        }
    }
}

/// How much a pair's exit code must be seen in the suite's: a pair left unsafe (3) comes
/// first, whatever the others did, since its printed commands are what a person must run;
/// then an interrupt (130), a usage error (2), a failure (1).
fn urgency(code: i32) -> u8 {
    match code {
        crate::error::EXIT_UNSAFE => 4,
        crate::interrupt::EXIT_INTERRUPTED => 3,
        crate::error::EXIT_USAGE => 2,
        EXIT_OK => 0,
        _ => 1,
    }
}

#[cfg(test)]
mod urgency_tests {
    use super::urgency;

    #[test]
    fn an_unsafe_pair_outranks_an_interrupted_one() {
        let suite = |codes: &[i32]| codes.iter().copied().max_by_key(|&c| urgency(c));
        assert_eq!(suite(&[0, 3, 130, 1]), Some(3));
        assert_eq!(suite(&[130, 1, 2]), Some(130));
        assert_eq!(suite(&[1, 2, 0]), Some(2));
        assert_eq!(suite(&[0, 1]), Some(1));
        assert_eq!(suite(&[0, 0]), Some(0));
    }
}
