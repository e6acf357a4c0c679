//! Typed cf calls on top of [`Cf`]: each one checks the exit code, hands cf's lines to a
//! callback as they come and applies the configured timeout.

use std::time::Duration;

use super::parse::{self, AppStatus, Target, Version};
use super::{commands, v3, Cf, CfCommand, CfError, CfOutput};
use crate::metadata::{self, AppMeta};
use crate::route::Route;

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

    /// `cf curl PATH [ARGS...]`, its body read by `parse` (which also turns an API error
    /// into an error: `cf curl` exits 0 on those).
    fn curl_json<T>(
        &self,
        path: String,
        args: &[&str],
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, CfError> {
        let mut all = vec!["curl".to_string(), path];
        all.extend(args.iter().map(|a| a.to_string()));
        let command = CfCommand { args: all };
        let out = self.run(&command, self.timeout)?;
        parse(&out.stdout).map_err(|status| CfError::Failed {
            command: command.to_string(),
            status,
            output: out.combined,
        })
    }

    /// Every route the app holds, typed (internal and TCP routes included).
    pub fn app_routes(&self, guid: &str) -> Result<Vec<Route>, CfError> {
        // The API's largest page: an app with more routes than that is refused by the
        // parser rather than half-moved.
        self.curl_json(
            format!("/v3/apps/{guid}/routes?per_page=5000"),
            &[],
            v3::parse_routes,
        )
    }

    /// The web process's instance count, memory and disk.
    pub fn process(&self, guid: &str) -> Result<v3::Process, CfError> {
        self.curl_json(
            format!("/v3/apps/{guid}/processes/web"),
            &[],
            v3::parse_process,
        )
    }

    /// How many instances of the web process run, of how many.
    pub fn running(&self, guid: &str) -> Result<(u32, u32), CfError> {
        self.curl_json(
            format!("/v3/apps/{guid}/processes/web/stats"),
            &[],
            v3::parse_running,
        )
    }

    /// Every network policy naming the app, as source or destination.
    pub fn policies(&self, guid: &str) -> Result<Vec<v3::Policy>, CfError> {
        self.curl_json(
            format!("/networking/v1/external/policies?id={guid}"),
            &[],
            v3::parse_policies,
        )
    }

    /// Adds policies (the policy server ignores those that exist). Through the API rather
    /// than `cf add-network-policy`: policies name apps by GUID, a source may live in
    /// another space, and the command's syntax differs between v6 and v7+.
    pub fn add_policies(&self, policies: &[v3::Policy]) -> Result<(), CfError> {
        let body = v3::policies_body(policies);
        self.curl_json(
            "/networking/v1/external/policies".to_string(),
            &["-X", "POST", "-d", &body],
            |out| match v3::api_error(out) {
                Some(e) => Err(e),
                None => Ok(()),
            },
        )
    }
}
