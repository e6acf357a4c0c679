//! Typed cf calls on top of [`Cf`]: each one checks the exit code, hands cf's lines to a
//! callback as they come and applies the configured timeout.

use std::time::Duration;

use super::parse::{self, AppStatus, Target, Version};
use super::{commands, v3, Cf, CfCommand, CfError, CfOutput};
use crate::metadata::{self, AppMeta};
use crate::route::Route;

/// cf's HTTP trace: `REQUEST: [time]` and `RESPONSE: [time]` blocks, each a request or
/// status line, headers and a body. No JSON body has a line that starts like that.
fn is_trace(stdout: &str) -> bool {
    stdout
        .lines()
        .any(|l| l.starts_with("REQUEST:") || l.starts_with("RESPONSE:"))
}

/// The trace's block headers with the request or status line after each: what was asked
/// and answered, without the headers (cf hides the token, but cookies and the like are
/// none of the log's business) or the bodies.
fn trace_excerpt(stdout: &str) -> String {
    let lines: Vec<&str> = stdout.lines().collect();
    let mut shown = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("REQUEST:") || line.starts_with("RESPONSE:") {
            shown.push(line.trim_end());
            if let Some(next) = lines.get(i + 1).filter(|l| !l.trim().is_empty()) {
                shown.push(next.trim_end());
            }
        }
    }
    shown.join("\n")
}

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

    /// `cf curl`, its body read as an app. With tracing on in cf's configuration, v6 and
    /// v7 print the trace instead of the body: said as such, not as unreadable JSON.
    /// `cf curl`'s output, once it is known to be a body: not cf's HTTP trace, which v6
    /// and v7 print instead of the body when tracing is on in cf's config.
    fn curl_output(&self, command: &CfCommand) -> Result<CfOutput, CfError> {
        self.curl_output_with(command, &|| false)
    }

    /// [`CfClient::curl_output`], killed when `abort()` turns true.
    fn curl_output_with(
        &self,
        command: &CfCommand,
        abort: &dyn Fn() -> bool,
    ) -> Result<CfOutput, CfError> {
        let out = self.run_with(command, self.timeout, abort)?;
        if is_trace(&out.stdout) {
            return Err(CfError::Traced {
                command: command.to_string(),
                excerpt: trace_excerpt(&out.stdout),
            });
        }
        check(command, out)
    }

    fn curl(&self, command: &CfCommand) -> Result<AppMeta, CfError> {
        let out = self.curl_output(command)?;
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
        let out = self.curl_output(&command)?;
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

    /// Every page of a list, from `first` on, following `pagination.next`.
    fn curl_pages<T>(
        &self,
        first: String,
        parse: impl Fn(&str) -> Result<v3::Listed<T>, String>,
    ) -> Result<Vec<T>, CfError> {
        let mut all = Vec::new();
        let mut path = Some(first);
        let mut pages = 0;
        while let Some(p) = path.take() {
            let page = self.curl_json(p.clone(), &[], &parse)?;
            all.extend(page.items);
            pages += 1;
            // A next link that points back at the same page would never end.
            path = page.next.filter(|n| *n != p && pages < 100);
        }
        Ok(all)
    }

    /// `GET /v3/apps?names=...&include=space.organization`: the apps of those names in
    /// every space the user sees, each with its space's and org's names.
    pub fn apps_named(&self, names: &[&str]) -> Result<Vec<v3::App>, CfError> {
        self.curl_pages(
            format!(
                "/v3/apps?names={}&include=space.organization&per_page=5000",
                v3::list(names)
            ),
            v3::parse_apps,
        )
    }

    /// `GET /v3/routes?app_guids=...`: every route mapped to any of the apps, with all
    /// its destinations.
    pub fn routes_of_apps(&self, guids: &[&str]) -> Result<Vec<v3::MappedRoute>, CfError> {
        self.curl_pages(
            format!("/v3/routes?app_guids={}&per_page=5000", v3::list(guids)),
            v3::parse_mapped_routes,
        )
    }

    /// The state of each instance of the app's web process.
    pub fn instance_states(&self, guid: &str) -> Result<Vec<String>, CfError> {
        self.curl_json(
            format!("/v3/apps/{guid}/processes/web/stats"),
            &[],
            v3::parse_instance_states,
        )
    }

    /// `cf space NAME --guid`, in the targeted org; `None` when there is no such space.
    pub fn space_guid(&self, name: &str) -> Result<Option<String>, CfError> {
        let command = CfCommand::new(["space", name, "--guid"]);
        let out = self.run_unchecked(&command, self.timeout)?;
        if !out.success() {
            if out.combined.contains(&format!("Space '{name}' not found"))
                || out.combined.contains(&format!("Space {name} not found"))
            {
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

    /// `POST /v3/service_instances`: a user-provided instance, which the Cloud
    /// Controller creates only if no instance of that name is in the space.
    pub fn create_user_provided(
        &self,
        name: &str,
        space_guid: &str,
        tags: &[&str],
        annotations: &[(&str, &str)],
    ) -> Result<v3::Created, CfError> {
        let body = v3::user_provided_body(name, space_guid, tags, annotations);
        self.curl_json(
            "/v3/service_instances".to_string(),
            &["-X", "POST", "-d", &body],
            v3::parse_created,
        )
    }

    /// The service instances of that name in the space (one at most).
    pub fn service_instances_named(
        &self,
        name: &str,
        space_guid: &str,
    ) -> Result<Vec<v3::ServiceInstance>, CfError> {
        self.curl_pages(
            format!(
                "/v3/service_instances?names={}&space_guids={}",
                v3::encode(name),
                v3::encode(space_guid)
            ),
            v3::parse_service_instances,
        )
    }

    /// `DELETE /v3/service_instances/GUID`; one already gone counts as deleted.
    pub fn delete_service_instance(&self, guid: &str) -> Result<(), CfError> {
        self.curl_json(
            format!("/v3/service_instances/{guid}"),
            &["-X", "DELETE"],
            v3::parse_deleted,
        )
    }

    /// `PATCH /v3/service_instances/GUID`, setting annotations: synchronous for a
    /// user-provided instance (200 with it). `None` when the instance is gone. Killed when
    /// `abort()` turns true, so that a run that ends need not wait for it.
    pub fn annotate_service_instance(
        &self,
        guid: &str,
        annotations: &[(&str, &str)],
        abort: &dyn Fn() -> bool,
    ) -> Result<Option<v3::ServiceInstance>, CfError> {
        let body = v3::annotations_body(annotations);
        let command = CfCommand::new([
            "curl".to_string(),
            format!("/v3/service_instances/{guid}"),
            "-X".into(),
            "PATCH".into(),
            "-d".into(),
            body,
        ]);
        let out = self.curl_output_with(&command, abort)?;
        v3::parse_patched(&out.stdout).map_err(|status| CfError::Failed {
            command: command.to_string(),
            status,
            output: out.combined,
        })
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

    /// Every network policy naming any of the apps, as source or destination.
    pub fn policies(&self, guids: &[&str]) -> Result<Vec<v3::Policy>, CfError> {
        self.curl_json(
            format!("/networking/v1/external/policies?id={}", v3::list(guids)),
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
                // cf v8 exits 0 with an empty body on a network error: only the policy
                // server's own answer (`{}`) says they were added.
                None if serde_json::from_str::<serde_json::Value>(out.trim())
                    .is_ok_and(|v| v.is_object()) =>
                {
                    Ok(())
                }
                None => Err("the policy server's answer is missing".into()),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every call with the same output.
    struct Answer(CfOutput);

    impl Cf for Answer {
        fn run(
            &self,
            _args: &[String],
            _timeout: Duration,
            _abort: &dyn Fn() -> bool,
            _on_line: &(dyn Fn(&str) + Sync),
        ) -> Result<CfOutput, CfError> {
            Ok(self.0.clone())
        }
    }

    fn app_meta(code: i32, stdout: &str) -> Result<AppMeta, CfError> {
        let cf = Answer(CfOutput {
            code: Some(code),
            stdout: stdout.into(),
            combined: stdout.into(),
            ..Default::default()
        });
        let client = CfClient::new(&cf, Duration::from_secs(5), |_| {});
        client.app_meta("guid-a")
    }

    /// What cf v6 `cf curl` prints with `cf config --trace true`, in place of the body.
    const TRACE: &str = "\nREQUEST: [2026-01-01T10:00:00Z]\nGET /v3/apps/guid-a HTTP/1.1\r\n\
        Host: api.example.com\r\nAccept: application/json\r\nAuthorization: [PRIVATE DATA HIDDEN]\r\n\
        User-Agent: go-cli 6.53.0\r\n\r\n\
        RESPONSE: [2026-01-01T10:00:01Z]\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
        Set-Cookie: JSESSIONID=s3cret\r\n\r\n\
        {\"guid\":\"guid-a\",\"metadata\":{\"annotations\":{}}}\n";

    #[test]
    fn a_trace_instead_of_the_body_says_so_and_names_the_fix() {
        let error = app_meta(0, TRACE).unwrap_err();
        let CfError::Traced { command, excerpt } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(command, "cf curl /v3/apps/guid-a");
        // What was asked and answered; no header, no body.
        assert_eq!(
            excerpt.lines().collect::<Vec<_>>(),
            [
                "REQUEST: [2026-01-01T10:00:00Z]",
                "GET /v3/apps/guid-a HTTP/1.1",
                "RESPONSE: [2026-01-01T10:00:01Z]",
                "HTTP/1.1 200 OK",
            ]
        );
        let message = error.to_string();
        assert!(
            message.contains("tracing is on in cf's own configuration"),
            "{message}"
        );
        assert!(!message.contains("s3cret") && !message.contains("Authorization"));
        let hint = crate::hint::Hint::hint(&error).unwrap();
        assert!(hint.contains("`cf config --trace false`"), "{hint}");
    }

    #[test]
    fn a_trace_is_recognised_whatever_the_exit_code() {
        // v6 and v7 `cf curl` exit 1 on a network error; the trace comes all the same.
        let trace = "REQUEST: [2026-01-01T10:00:00Z]\nGET /v3/apps/guid-a HTTP/1.1\n\nFAILED\n";
        assert!(matches!(app_meta(1, trace), Err(CfError::Traced { .. })));
    }

    #[test]
    fn a_body_is_never_taken_for_a_trace() {
        // v6 and v7 re-indent the body; a value may hold anything.
        let body = "{\n   \"guid\": \"guid-a\",\n   \"metadata\": {\n      \"annotations\": {\n         \"note\": \"REQUEST: [x]\\nRESPONSE:\"\n      }\n   }\n}\n";
        let meta = app_meta(0, body).unwrap();
        assert_eq!(meta.guid, "guid-a");
        // Neither is an unreadable body.
        assert!(matches!(
            app_meta(0, "not json"),
            Err(CfError::Failed { .. })
        ));
    }
}
