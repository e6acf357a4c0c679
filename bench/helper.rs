//! Helpers for `bench/run`, compiled by it with plain `rustc` (std only), so that the
//! benchmark stays outside Cargo: no target of `cargo test`, clippy or `.ci/run` builds it.
//!
//!   helper router STATE ROUTE...   the stand-in router of the tests and the demo
//!                                  (fixtures/router.rs), one server per staging route on
//!                                  127.0.0.1; prints one URL a line, then serves until killed
//!   helper rusage OUT CMD ARGS...  runs CMD and writes to OUT what getrusage(RUSAGE_CHILDREN)
//!                                  says once it is reaped: user µs, sys µs, peak RSS KB.
//!                                  That is CMD *and every descendant it waited for* (the cf
//!                                  calls): Linux folds reaped grandchildren into it (the
//!                                  RSS as a maximum). Then, as a fourth figure, CMD's own
//!                                  VmHWM (KB), sampled every millisecond while it runs:
//!                                  the kernel keeps no figure of a process's own peak once
//!                                  it has exited, and the third one may be a cf call's
//!   cf-meter ARGS...               (the helper called through a link of that name, since
//!                                  the tool's --cf takes no arguments) stands in for cf: runs $BENCH_CF_REAL ARGS, then appends
//!                                  to $BENCH_METER_LOG the same three figures for that cf
//!                                  call (the meter itself and everything below it), so that
//!                                  `bench/run` can subtract them from the tool's total,
//!                                  then when the call began and ended (µs since the epoch)
//!                                  and cf's subcommand: the critical path is read from these
//!
//! Why not `/usr/bin/time -f`: it prints CPU in hundredths of a second (the target is
//! 25 ms), and its figures, like ours, include the cf calls; only the meter separates them.

#[path = "../fixtures/router.rs"]
mod router;

use std::io::Write;
use std::process::{exit, Command};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// `struct rusage` on 64-bit Linux: two timevals, then 14 longs (ru_maxrss first, in KB).
#[repr(C)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    rest: [i64; 14],
}

extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}
const RUSAGE_SELF: i32 = 0;
const RUSAGE_CHILDREN: i32 = -1;

/// (user µs, sys µs, peak RSS KB).
fn usage(who: i32) -> (i64, i64, i64) {
    let mut r = Rusage { utime: [0; 2], stime: [0; 2], rest: [0; 14] };
    // SAFETY: getrusage writes one struct rusage, which Rusage lays out.
    if unsafe { getrusage(who, &mut r) } != 0 {
        eprintln!("helper: getrusage failed");
        exit(99);
    }
    (r.utime[0] * 1_000_000 + r.utime[1], r.stime[0] * 1_000_000 + r.stime[1], r.rest[0])
}

/// The child's exit code, or 128 + signal as a shell reports it.
fn run(cmd: &str, args: &[String]) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    let status = Command::new(cmd).args(args).status().unwrap_or_else(|e| {
        eprintln!("helper: cannot run {cmd}: {e}");
        exit(127)
    });
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Like [`run`], and the last VmHWM (peak RSS, KB) of the child seen before it exited.
/// The high-water mark only grows, so the last sample misses at most what the child added
/// in its last millisecond; its memory is gone (no VmHWM) by the time it is a zombie.
fn run_sampling_hwm(cmd: &str, args: &[String]) -> (i32, u64) {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(cmd).args(args).spawn().unwrap_or_else(|e| {
        eprintln!("helper: cannot run {cmd}: {e}");
        exit(127)
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut hwm = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let kb = text.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")?.trim().trim_end_matches("kB").trim().parse().ok()
            });
            hwm = hwm.max(kb.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return (status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)), hwm);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let called_as_meter = std::path::Path::new(&args[0]).file_name()
        == Some(std::ffi::OsStr::new("cf-meter"));
    if called_as_meter {
        args[0] = "cf-meter".into();
    } else {
        args.remove(0);
    }
    match args.first().map(String::as_str) {
        Some("router") if args.len() >= 3 => {
            let state = std::path::PathBuf::from(&args[1]);
            let mut out = std::io::stdout();
            for route in &args[2..] {
                // router::serve wants a &'static str; these live as long as the process.
                let route: &'static str = Box::leak(route.clone().into_boxed_str());
                let url = router::serve(state.clone(), route, Arc::new(AtomicBool::new(false)));
                writeln!(out, "{url}").expect("stdout");
            }
            out.flush().expect("stdout");
            loop {
                std::thread::park();
            }
        }
        Some("rusage") if args.len() >= 3 => {
            let (code, hwm) = run_sampling_hwm(&args[2], &args[3..]);
            let (u, s, rss) = usage(RUSAGE_CHILDREN);
            std::fs::write(&args[1], format!("{u} {s} {rss} {hwm}\n")).expect("write rusage");
            exit(code);
        }
        Some("cf-meter") if called_as_meter => {
            let real = std::env::var("BENCH_CF_REAL").expect("BENCH_CF_REAL");
            let log = std::env::var("BENCH_METER_LOG").expect("BENCH_METER_LOG");
            let since_epoch = || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros())
            };
            let start = since_epoch();
            let code = run(&real, &args[1..]);
            let end = since_epoch();
            let (cu, cs, crss) = usage(RUSAGE_CHILDREN);
            let (su, ss, srss) = usage(RUSAGE_SELF);
            // One short write in append mode: calls the tool runs side by side do not mix.
            let line = format!(
                "{} {} {} {start} {end} {}\n",
                cu + su,
                cs + ss,
                crss.max(srss),
                args.get(1).map_or("", String::as_str)
            );
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&log)
                .expect("open meter log");
            f.write_all(line.as_bytes()).expect("write meter log");
            exit(code);
        }
        _ => {
            eprintln!("usage: helper router STATE ROUTE... | rusage OUT CMD ARGS...");
            exit(2);
        }
    }
}
