//! Ctrl-C and SIGTERM. The first asks the deploy to stop: the step in progress is
//! finished (or, for the push and the smoke check, abandoned), then the routes are brought
//! to a safe state and the tool exits 130. The second stops at once and prints what is
//! needed to finish by hand.
//!
//! cf runs in its own process group (see `child`), so a Ctrl-C on the terminal reaches
//! only this process: a `map-route` in flight is never cut in half.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// Files with secrets (push.vars) that a second interrupt, which exits at once, removes.
static REMOVE_ON_EXIT: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());

/// What else a second interrupt does before the process exits: `--json`'s summary line.
type AtExit = Box<dyn Fn() + Send>;
static AT_EXIT: Mutex<Option<AtExit>> = Mutex::new(None);

/// What a second interrupt prints, per pair of a suite (`""` for a single pair).
static AT_ONCE: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

pub const EXIT_INTERRUPTED: i32 = 130;

/// Starts listening for SIGINT and SIGTERM. Only the binary calls this: a library user
/// keeps its own signal handling.
pub fn install() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        std::thread::spawn(move || {
            for _ in signals.forever() {
                let n = SIGNALS.fetch_add(1, Ordering::SeqCst) + 1;
                REQUESTED.store(true, Ordering::SeqCst);
                if n == 1 {
                    eprintln!(
                        "\ninterrupted: finishing the step in progress, then bringing the routes to a safe state \
                         (interrupt again to stop at once)"
                    );
                } else {
                    // The reporter may be holding its lock; this path must not wait.
                    eprintln!("\n{}", at_once_text());
                    if let Ok(paths) = REMOVE_ON_EXIT.lock() {
                        for path in paths.iter() {
                            let _ = std::fs::remove_file(path);
                        }
                    }
                    if let Ok(at_exit) = AT_EXIT.try_lock() {
                        if let Some(f) = at_exit.as_ref() {
                            f();
                        }
                    }
                    std::process::exit(EXIT_INTERRUPTED);
                }
            }
        });
    }
}

/// Runs `f` if a second interrupt ends the process at once. It must not wait for locks
/// the workflow may hold.
pub fn at_exit(f: Box<dyn Fn() + Send>) {
    if let Ok(mut at_exit) = AT_EXIT.lock() {
        *at_exit = Some(f);
    }
}

/// Removes `path` if a second interrupt ends the process at once.
pub fn remove_on_exit(path: &std::path::Path) {
    if let Ok(mut paths) = REMOVE_ON_EXIT.lock() {
        paths.push(path.to_path_buf());
    }
}

/// `path` is gone already: nothing to remove on exit.
pub fn forget_on_exit(path: &std::path::Path) {
    if let Ok(mut paths) = REMOVE_ON_EXIT.lock() {
        paths.retain(|p| p != path);
    }
}

/// Whether an interrupt asked the deploy to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// What a second interrupt prints before the process exits: the state and the commands
/// that finish the job. Kept current by the executor before each step.
pub fn set_at_once_message(text: String) {
    set_at_once_message_for(None, text);
}

/// [`set_at_once_message`] for the pair `pair` of a suite: several pairs may be halfway
/// at once, and the user needs every one's commands.
pub fn set_at_once_message_for(pair: Option<&str>, text: String) {
    if let Ok(mut m) = AT_ONCE.lock() {
        m.insert(pair.unwrap_or_default().to_string(), text);
    }
}

/// A pair has ended: nothing of it is left to finish by hand.
pub fn clear_at_once_message_for(pair: Option<&str>) {
    if let Ok(mut m) = AT_ONCE.lock() {
        m.remove(pair.unwrap_or_default());
    }
}

fn at_once_text() -> String {
    let Ok(m) = AT_ONCE.lock() else {
        return String::new();
    };
    m.iter()
        .map(|(pair, text)| match pair.as_str() {
            "" => text.clone(),
            pair => format!("[{pair}] {text}"),
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Waits `duration`, or less when an interrupt comes: every wait of the tool (the smoke
/// check's interval, the drain) goes through here, so that Ctrl-C is never
/// held up by one. Returns whether it waited the whole time.
pub fn sleep(duration: Duration) -> bool {
    let until = Instant::now() + duration;
    loop {
        if requested() {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}
