//! The real cf, run as a child process.

use std::time::Duration;

use super::{Cf, CfCommand, CfError, CfOutput};
use crate::child::{self, ChildError};

pub struct CfProcess {
    program: String,
}

impl CfProcess {
    pub fn new(program: impl Into<String>) -> CfProcess {
        CfProcess {
            program: program.into(),
        }
    }
}

impl Cf for CfProcess {
    fn run(
        &self,
        args: &[String],
        timeout: Duration,
        abort: &dyn Fn() -> bool,
        on_line: &(dyn Fn(&str) + Sync),
    ) -> Result<CfOutput, CfError> {
        // Parsed output must be English, uncoloured and free of HTTP traces.
        let env = [
            ("CF_COLOR", "false"),
            ("CF_TRACE", "false"),
            ("LC_ALL", "C"),
            ("LANG", "C"),
        ];
        let command = || CfCommand::new(args.iter().cloned()).to_string();
        child::run(&self.program, args, &env, timeout, abort, on_line).map_err(|e| match e {
            ChildError::Start(e) => {
                let (reason, hint) = match e.kind() {
                    std::io::ErrorKind::NotFound => (
                        "not found".to_string(),
                        "install the cf CLI (v6.40+, v7 or v8) and put it on PATH, or name it with --cf PATH or CF_BIN",
                    ),
                    std::io::ErrorKind::PermissionDenied => (
                        "permission denied (is it executable?)".to_string(),
                        "check the path given with --cf or CF_BIN, and `chmod +x` it",
                    ),
                    _ => (e.to_string(), "check the path given with --cf or CF_BIN"),
                };
                CfError::Start {
                    program: self.program.clone(),
                    reason,
                    hint: hint.to_string(),
                }
            }
            ChildError::TimedOut(output) => CfError::TimedOut {
                command: command(),
                after: timeout,
                output: output.combined,
            },
            ChildError::Aborted(_) => CfError::Aborted { command: command() },
        })
    }
}
