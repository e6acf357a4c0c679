//! Everything that talks to the cf CLI: the [`Cf`] trait that the deploy logic sees, the
//! real process runner behind it, and the parsers for cf's output.

mod client;
pub mod commands;
#[cfg(test)]
pub mod memory;
pub mod parse;
pub mod process;
pub mod v3;

pub use client::CfClient;

use std::fmt;
use std::time::Duration;

pub use parse::{AppStatus, RequestedState, Target, Version};

/// What a finished cf call printed. Both streams are kept: cf v6 reports errors on
/// stdout, v7+ on stderr.
pub type CfOutput = crate::child::Output;

/// Runs cf. The deploy logic sees only this trait, so tests can put an in-memory fake here.
pub trait Cf: Sync {
    /// Runs `cf ARGS` and returns its output whatever its exit code; fails only when cf
    /// could not be started, did not finish within `timeout`, or `abort()` turned true
    /// (then it is killed). `on_line` sees each output line as it arrives.
    fn run(
        &self,
        args: &[String],
        timeout: Duration,
        abort: &dyn Fn() -> bool,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<CfOutput, CfError>;
}

/// A cf command line: what the plan holds, the executor runs and `--dry-run` prints.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CfCommand {
    pub args: Vec<String>,
}

impl CfCommand {
    pub fn new<I, S>(args: I) -> CfCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CfCommand {
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// The subcommand: `push`, `map-route`, ...
    pub fn name(&self) -> &str {
        self.args.first().map_or("", String::as_str)
    }
}

/// Shell-quoted, with the values of `--var K=V` masked: these lines end up in CI logs.
impl fmt::Display for CfCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = Vec::with_capacity(self.args.len());
        let mut mask_next = false;
        for arg in &self.args {
            if mask_next {
                let key = arg.split('=').next().unwrap_or("");
                shown.push(format!("{key}=***"));
                mask_next = false;
            } else {
                mask_next = arg == "--var";
                shown.push(arg.clone());
            }
        }
        let quoted: Vec<String> = shown
            .iter()
            .map(|a| {
                if a.starts_with("/v3/") && a.contains("$(") {
                    // A GUID looked up when the command is pasted into a shell.
                    format!("\"{a}\"")
                } else {
                    shell_words::quote(a).into_owned()
                }
            })
            .collect();
        write!(f, "cf {}", quoted.join(" "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CfError {
    #[error("cannot run the cf CLI `{program}`: {reason}")]
    Start {
        program: String,
        reason: String,
        hint: String,
    },
    #[error("`{command}` failed ({status}). cf said:\n{}", indent(output))]
    Failed {
        command: String,
        status: String,
        output: String,
    },
    #[error("`{command}` did not finish within {} and was killed. cf had said:\n{}", humantime::format_duration(*after), indent(output))]
    TimedOut {
        command: String,
        after: Duration,
        output: String,
    },
    #[error("`{command}` was stopped by the interrupt")]
    Aborted { command: String },
    /// cf printed its HTTP trace where the tool reads a response: tracing is on in cf's
    /// configuration, which v6 and v7 `cf curl` follow whatever CF_TRACE says.
    #[error(
        "`{command}` printed cf's HTTP trace instead of the response: tracing is on in cf's own \
         configuration (`cf config --trace true`), which `cf curl` of cf v6 and v7 follows even with \
         CF_TRACE=false. cf printed (headers and bodies left out):\n{}",
        indent(excerpt)
    )]
    Traced { command: String, excerpt: String },
}

impl crate::hint::Hint for CfError {
    fn hint(&self) -> Option<String> {
        match self {
            CfError::Start { hint, .. } => Some(hint.clone()),
            CfError::Traced { .. } => Some(
                "turn cf's tracing off with `cf config --trace false` (CF_TRACE=false cannot), then run again"
                    .into(),
            ),
            _ => None,
        }
    }
}

impl CfError {
    pub fn failed(command: &CfCommand, output: &CfOutput) -> CfError {
        CfError::Failed {
            command: command.to_string(),
            status: output.status(),
            output: output.combined.clone(),
        }
    }
}

/// The last lines of cf's output, indented under the message.
pub fn indent(output: &str) -> String {
    const KEEP: usize = 25;
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "    (no output)".to_string();
    }
    let skipped = lines.len().saturating_sub(KEEP);
    let mut out = String::new();
    if skipped > 0 {
        out.push_str(&format!("    ... ({skipped} earlier lines)\n"));
    }
    let tail: Vec<String> = lines[skipped..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect();
    out.push_str(&tail.join("\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_and_masks_vars() {
        let c = CfCommand::new(["push", "app", "--var", "password=s3cret", "-p", "my dir"]);
        assert_eq!(
            c.to_string(),
            "cf push app --var 'password=***' -p 'my dir'"
        );
        assert_eq!(c.name(), "push");
    }

    #[test]
    fn failed_error_shows_both_streams_tail() {
        let out = CfOutput {
            code: Some(1),
            combined: "Removing route...\nRoute with host 'x' not found.\nFAILED\n".into(),
            ..Default::default()
        };
        let e = CfError::failed(&CfCommand::new(["unmap-route", "a"]), &out).to_string();
        assert!(e.contains("`cf unmap-route a` failed (exit code 1)"), "{e}");
        assert!(e.contains("    Route with host 'x' not found."), "{e}");
        assert!(e.contains("    FAILED"), "{e}");
    }

    #[test]
    fn indent_keeps_the_tail() {
        let long: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let shown = indent(&long);
        assert!(shown.starts_with("    ... (15 earlier lines)"), "{shown}");
        assert!(shown.ends_with("    line 39"));
    }
}
