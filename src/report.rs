//! The one place that writes to the terminal. Library code emits [`Event`]s; the reporter
//! turns them into a spinner on a terminal, timestamped lines in CI logs, or nothing under
//! `--quiet`. Results (`status`, `--dry-run`) go to stdout, everything else to stderr.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    /// Also cf's own output, line by line.
    Verbose,
}

#[derive(Debug)]
pub enum Event<'a> {
    StepStarted {
        step: &'a str,
    },
    StepFinished {
        step: &'a str,
        elapsed: Duration,
    },
    StepFailed {
        step: &'a str,
        elapsed: Duration,
    },
    /// A line cf printed.
    CfLine {
        line: &'a str,
    },
    Info {
        message: &'a str,
    },
    Warning {
        message: &'a str,
    },
    Error {
        message: &'a str,
    },
}

pub struct Reporter {
    verbosity: Verbosity,
    spinner: bool,
    started: Instant,
    bar: Mutex<Option<ProgressBar>>,
}

impl Reporter {
    /// A spinner only when stderr is a terminal: CI logs get plain lines.
    pub fn new(verbosity: Verbosity) -> Reporter {
        let spinner = verbosity != Verbosity::Quiet && std::io::stderr().is_terminal();
        Reporter {
            verbosity,
            spinner,
            started: Instant::now(),
            bar: Mutex::new(None),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn emit(&self, event: Event<'_>) {
        let quiet = self.verbosity == Verbosity::Quiet;
        match event {
            Event::StepStarted { step } => {
                if quiet {
                    return;
                }
                if self.spinner {
                    let bar = ProgressBar::new_spinner();
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}")
                            .expect("static template"),
                    );
                    bar.set_message(step.to_string());
                    bar.enable_steady_tick(Duration::from_millis(100));
                    *self.bar.lock().unwrap() = Some(bar);
                } else {
                    self.line(&format!("{step} ..."));
                }
            }
            Event::StepFinished { step, elapsed } => {
                if quiet {
                    return;
                }
                self.end_step(&format!("ok   {step} ({})", short(elapsed)));
            }
            Event::StepFailed { step, elapsed } => {
                self.end_step(&format!("FAIL {step} ({})", short(elapsed)));
            }
            Event::CfLine { line } => {
                if self.verbosity == Verbosity::Verbose {
                    self.line(&format!("  | {line}"));
                }
            }
            Event::Info { message } => {
                if !quiet {
                    self.line(message);
                }
            }
            Event::Warning { message } => self.line(&format!("warning: {message}")),
            Event::Error { message } => self.line(&format!("error: {message}")),
        }
    }

    pub fn info(&self, message: &str) {
        self.emit(Event::Info { message });
    }

    pub fn warn(&self, message: &str) {
        self.emit(Event::Warning { message });
    }

    pub fn error(&self, message: &str) {
        self.emit(Event::Error { message });
    }

    /// A result line on stdout.
    pub fn result(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Runs `f` as a step: shown while it runs, then marked done or failed.
    pub fn step<T, E>(&self, step: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let started = Instant::now();
        self.emit(Event::StepStarted { step });
        let result = f();
        let elapsed = started.elapsed();
        match &result {
            Ok(_) => self.emit(Event::StepFinished { step, elapsed }),
            Err(_) => self.emit(Event::StepFailed { step, elapsed }),
        }
        result
    }

    fn end_step(&self, text: &str) {
        let bar = self.bar.lock().unwrap().take();
        match bar {
            Some(bar) => {
                bar.finish_and_clear();
                eprintln!("{text}");
            }
            None => self.line(text),
        }
    }

    /// A line on stderr: above the spinner on a terminal, timestamped in logs.
    fn line(&self, text: &str) {
        let guard = self.bar.lock().unwrap();
        match guard.as_ref() {
            Some(bar) => bar.suspend(|| eprintln!("{text}")),
            None if self.spinner => eprintln!("{text}"),
            None => {
                // Only the first line is stamped: continuation lines (cf output, commands
                // to run) stay as they are, so they can be copied.
                let stamp = humantime::format_rfc3339_seconds(SystemTime::now());
                eprintln!("{stamp} {text}");
            }
        }
    }
}

/// `1.2s`, `3m 05s`.
pub fn short(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let s = d.as_secs();
        format!("{}m {:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations() {
        assert_eq!(short(Duration::from_millis(1234)), "1.2s");
        assert_eq!(short(Duration::from_secs(185)), "3m 05s");
    }
}
