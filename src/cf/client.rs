//! Typed cf calls on top of [`Cf`]: each one checks the exit code, hands cf's lines to a
//! callback as they come and applies the configured timeout.

use std::time::Duration;

use super::parse::{self, AppStatus, Target, Version};
use super::{commands, Cf, CfCommand, CfError, CfOutput};
use crate::metadata::{self, AppMeta};

fn check(command: &CfCommand, out: CfOutput) -> Result<CfOutput, CfError> {
    if out.success() {
        Ok(out)
    } else {
        Err(CfError::failed(command, &out))
    }
}

/// The cf calls the tool makes, each with its timeout and its checks.
pub struct CfClient<'a> {
    cf: &'a dyn Cf,
    /// Sees every line cf prints, as it comes (for `--verbose`).
    on_line: Box<dyn Fn(&str) + Sync + 'a>,
    /// For every call that does not name its own.
    pub timeout: Duration,
}

impl<'a> CfClient<'a> {
    pub fn new(
        cf: &'a dyn Cf,
        timeout: Duration,
        on_line: impl Fn(&str) + Sync + 'a,
    ) -> CfClient<'a> {
        CfClient {
            cf,
            on_line: Box::new(on_line),
            timeout,
        }
    }

    /// Runs the command and returns its output whatever the exit code.
    pub fn run_unchecked(
        &self,
        command: &CfCommand,
        timeout: Duration,
    ) -> Result<CfOutput, CfError> {
        self.run_with(command, timeout, &|| false)
    }

    fn run_with(
        &self,
        command: &CfCommand,
        timeout: Duration,
        abort: &dyn Fn() -> bool,
    ) -> Result<CfOutput, CfError> {
        self.cf.run(&command.args, timeout, abort, &*self.on_line)
    }

    /// Runs the command; a non-zero exit is an error carrying cf's output.
    pub fn run(&self, command: &CfCommand, timeout: Duration) -> Result<CfOutput, CfError> {
        check(command, self.run_unchecked(command, timeout)?)
    }

    /// Like [`CfClient::run`], but an interrupt kills cf: for the push, which can take
    /// minutes and changes nothing live.
    pub fn run_abortable(
        &self,
        command: &CfCommand,
        timeout: Duration,
    ) -> Result<CfOutput, CfError> {
        check(
            command,
            self.run_with(command, timeout, &crate::interrupt::requested)?,
        )
    }

    pub fn version(&self) -> Result<Version, CfError> {
        let command = CfCommand::new(["version"]);
        let out = self.run(&command, self.timeout)?;
        parse::parse_version(&out.stdout).ok_or_else(|| CfError::Failed {
            command: command.to_string(),
            status: "output without a version number".into(),
            output: out.combined,
        })
    }

    pub fn target(&self) -> Result<Target, CfError> {
        let out = self.run(&CfCommand::new(["target"]), self.timeout)?;
        Ok(parse::parse_target(&out.stdout))
    }

    /// `None` when the app does not exist.
    pub fn app(&self, name: &str) -> Result<Option<AppStatus>, CfError> {
        let command = CfCommand::new(["app", name]);
        let out = self.run_unchecked(&command, self.timeout)?;
        if !out.success() {
            if parse::is_app_not_found(name, &out.combined) {
                return Ok(None);
            }
            return Err(CfError::failed(&command, &out));
        }
        match parse::parse_app(&out.stdout) {
            Some(status) => Ok(Some(status)),
            None => Err(CfError::Failed {
                command: command.to_string(),
                status: "output without a `requested state:` row".into(),
                output: out.combined,
            }),
        }
    }

    /// `cf app NAME --guid`; `None` when the app does not exist.
    pub fn guid(&self, name: &str) -> Result<Option<String>, CfError> {
        let command = CfCommand::new(["app", name, "--guid"]);
        let out = self.run_unchecked(&command, self.timeout)?;
        if !out.success() {
            if parse::is_app_not_found(name, &out.combined) {
                return Ok(None);
            }
            return Err(CfError::failed(&command, &out));
        }
        let guid = out.stdout.trim();
        if guid.is_empty() || guid.contains(char::is_whitespace) {
            return Err(CfError::Failed {
                command: command.to_string(),
                status: "output that is not a GUID".into(),
                output: out.combined,
            });
        }
        Ok(Some(guid.to_string()))
    }

    /// The app's annotations, through the v3 API.
    pub fn app_meta(&self, guid: &str) -> Result<AppMeta, CfError> {
        self.curl(&CfCommand::new([
            "curl".to_string(),
            format!("/v3/apps/{guid}"),
        ]))
    }

    /// Sets (or with `None` removes) annotations on the app.
    pub fn annotate(
        &self,
        guid: &str,
        values: &[(String, Option<String>)],
    ) -> Result<AppMeta, CfError> {
        self.curl(&commands::annotate(guid, values))
    }

    fn curl(&self, command: &CfCommand) -> Result<AppMeta, CfError> {
        let out = self.run(command, self.timeout)?;
        metadata::parse_app_resource(&out.stdout).map_err(|status| CfError::Failed {
            command: command.to_string(),
            status,
            output: out.combined,
        })
    }

    /// The last lines of `cf logs APP --recent`, to show why an app failed; `None` if
    /// they cannot be had (the failure being reported matters more).
    pub fn recent_logs(&self, app: &str, lines: usize) -> Option<String> {
        let command = CfCommand::new(["logs", app, "--recent"]);
        let out = self.run(&command, self.timeout).ok()?;
        let all: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("Retrieving logs"))
            .collect();
        let tail = &all[all.len().saturating_sub(lines)..];
        (!tail.is_empty()).then(|| tail.join("\n"))
    }
}
