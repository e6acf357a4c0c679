//! The check of the new version on the staging route, before it gets live traffic: each
//! HTTP check repeated until the expected answer comes or the time is up, then the
//! user's smoke command, if any.
//!
//! Header values are secrets: they go into the request and nowhere else. What a server
//! answers may echo them (a debugging endpoint, an error page), so every line and
//! message made from an answer has them masked.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::child::{self, ChildError};
use crate::config::{Check, Smoke, Tls};

/// The longest a single HTTP attempt may take, so that a hanging router still leaves time
/// for further attempts.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_LIMIT: u64 = 1024 * 1024;
/// ureq's default.
const MAX_REDIRECTS: u32 = 10;
const EXCERPT: usize = 300;
/// What a header value is replaced with wherever it would show.
const MASK: &str = "***";

#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    #[error("{request} {url} did not answer as expected within smoke.timeout = {}; the last attempt saw {last}", humantime::format_duration(*after))]
    Http {
        /// The method, after the check's key when it is one of `[[smoke.checks]]`
        /// (`smoke.checks[1]: POST`).
        request: String,
        url: String,
        after: Duration,
        /// The last attempt: status and body excerpt, or the connection error.
        last: String,
        hint: String,
    },
    #[error(
        "the smoke command `{command}` failed ({status}). It said:\n{}",
        crate::cf::indent(output)
    )]
    Command {
        command: String,
        status: String,
        output: String,
    },
    #[error("the smoke command `{command}` could not be started: {reason}")]
    CommandStart { command: String, reason: String },
    #[error("the check was stopped by the interrupt")]
    Interrupted,
}

impl crate::hint::Hint for SmokeError {
    fn hint(&self) -> Option<String> {
        match self {
            SmokeError::Http { hint, .. } => Some(hint.clone()),
            _ => None,
        }
    }
}

/// The hint for a check whose server's certificate was not trusted.
const CERTIFICATE_HINT: &str = "the server's TLS certificate is not trusted: if an internal CA signed it, \
     set smoke.ca-cert = \"path/to/ca.pem\" (its certificate in PEM) in [smoke]; the system's trust store \
     is used besides";

/// What one attempt saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    Passed,
    Wrong(String),
    /// The TLS handshake failed on the certificate: no point blaming the app.
    Certificate(String),
}

/// What a check asks, and of whom.
struct Probe<'a> {
    check: &'a Check,
    url: &'a str,
    /// `X-CF-APP-INSTANCE: GUID:INDEX`: the router answers for that instance only.
    instance: Option<&'a str>,
}

/// Every HTTP check in turn, each retried until it passes or `smoke.timeout` passes;
/// then the command.
pub fn check(smoke: &Smoke, on_line: &(dyn Fn(&str) + Sync)) -> Result<(), SmokeError> {
    let tls = tls_config(&smoke.tls, smoke.checks.iter().map(|c| c.url.as_str()));
    for check in &smoke.checks {
        let probe = Probe {
            check,
            url: &check.url,
            instance: None,
        };
        check_http(smoke, &tls, &probe, on_line).map_err(|stop| {
            stop.into_error(
                check,
                &check.url,
                smoke.timeout,
                "the new version got no live traffic; fix it (its recent logs follow) and deploy again, \
                 or raise smoke.timeout if it only needs longer to start",
            )
        })?;
    }
    if !smoke.command.is_empty() {
        run_command(smoke, on_line)?;
    }
    Ok(())
}

/// After the live routes were mapped to the new app: asks the router for `url` as the
/// app's instance `instance` (`GUID:0`) until it answers as the first smoke check expects,
/// with that check's method and headers. Until the router has the new route it answers
/// 404 `unknown_route`: not yet, not a failure.
pub fn verify_live(
    smoke: &Smoke,
    url: &str,
    instance: &str,
    on_line: &(dyn Fn(&str) + Sync),
) -> Result<(), SmokeError> {
    let check = &smoke.checks[0];
    let probe = Probe {
        check,
        url,
        instance: Some(instance),
    };
    let tls = tls_config(&smoke.tls, [url]);
    check_http(smoke, &tls, &probe, on_line).map_err(|stop| {
        let mut error = stop.into_error(
            check,
            url,
            smoke.timeout,
            "the router did not send the live route to the new version in time, so the old \
             version kept every live route; check `cf routes` and the router, or raise smoke.timeout",
        );
        // The live check is one, whichever check it follows.
        if let SmokeError::Http { request, .. } = &mut error {
            request.clone_from(&check.method);
        }
        error
    })
}

/// One attempt of `check` (the verification's), with the smoke checks' trust: what it
/// saw when it did not pass, header values masked.
pub fn attempt_once(smoke: &Smoke, check: &Check, timeout: Duration) -> Result<(), String> {
    let probe = Probe {
        check,
        url: &check.url,
        instance: None,
    };
    match attempt(
        &tls_config(&smoke.tls, [check.url.as_str()]),
        &probe,
        timeout,
    ) {
        Attempt::Passed => Ok(()),
        Attempt::Wrong(what) | Attempt::Certificate(what) => Err(mask(&what, check)),
    }
}

/// Why a check ended without passing.
enum Stop {
    /// What the last attempt saw, and whether it was a certificate problem.
    TimedOut(String, bool),
    Interrupted,
}

impl Stop {
    fn into_error(self, check: &Check, url: &str, after: Duration, hint: &str) -> SmokeError {
        match self {
            Stop::Interrupted => SmokeError::Interrupted,
            Stop::TimedOut(last, certificate) => SmokeError::Http {
                request: match &check.key {
                    Some(key) => format!("{key}: {}", check.method),
                    None => check.method.clone(),
                },
                url: url.to_string(),
                after,
                last,
                hint: if certificate { CERTIFICATE_HINT } else { hint }.to_string(),
            },
        }
    }
}

/// Tries until the probe passes or `smoke.timeout` passes.
fn check_http(
    smoke: &Smoke,
    tls: &TlsConfig,
    probe: &Probe,
    on_line: &(dyn Fn(&str) + Sync),
) -> Result<(), Stop> {
    let started = Instant::now();
    let deadline = started + smoke.timeout;
    let mut last;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempt_timeout = remaining.clamp(Duration::from_millis(200), ATTEMPT_TIMEOUT);
        let (what, certificate) = match attempt(tls, probe, attempt_timeout) {
            Attempt::Passed => return Ok(()),
            Attempt::Wrong(what) => (what, false),
            Attempt::Certificate(what) => (what, true),
        };
        let what = mask(&what, probe.check);
        on_line(&format!("{} {}: {what}", probe.check.method, probe.url));
        last = (what, certificate);
        // The last attempt comes at the deadline, not an interval before it.
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        if !crate::interrupt::sleep(smoke.interval.min(remaining)) {
            return Err(Stop::Interrupted);
        }
    }
    Err(Stop::TimedOut(last.0, last.1))
}

/// `text` with every header value of `check` masked.
fn mask(text: &str, check: &Check) -> String {
    let mut out = text.to_string();
    for (_, value) in &check.headers {
        if !value.expose().is_empty() {
            out = out.replace(value.expose(), MASK);
        }
    }
    out
}

/// The trust `tls` asks for, for checks of `urls`. The system's store is read once per
/// run, and only when a URL is https: reading and parsing it is most of the tool's own
/// CPU in a deploy (two thirds, measured with callgrind), wasted on plain-HTTP checks. A
/// plain-HTTP check that a redirect sends to https meets the roots built into the tool.
fn tls_config<'u>(tls: &Tls, urls: impl IntoIterator<Item = &'u str>) -> TlsConfig {
    let builder = TlsConfig::builder();
    let https = urls.into_iter().any(|u| {
        u.get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    });
    match tls {
        Tls::Insecure => builder.disable_verification(true).build(),
        Tls::System if !https => builder.root_certs(RootCerts::WebPki).build(),
        Tls::System => builder.root_certs(roots(&[])).build(),
        Tls::WithCa { certs, .. } => builder.root_certs(roots(certs)).build(),
    }
}

/// The system's trust store and `extra` (DER). A system without one (a bare container)
/// gets the Mozilla roots built into the tool, as before.
fn roots(extra: &[Vec<u8>]) -> RootCerts {
    static SYSTEM: OnceLock<Vec<Certificate<'static>>> = OnceLock::new();
    let system = SYSTEM.get_or_init(|| {
        rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect()
    });
    if system.is_empty() && extra.is_empty() {
        return RootCerts::WebPki;
    }
    let extra = extra
        .iter()
        .map(|der| Certificate::from_der(der).to_owned());
    RootCerts::from(system.iter().cloned().chain(extra))
}

/// A TLS failure about the certificate, as rustls words it ("invalid peer certificate:
/// UnknownIssuer").
fn is_certificate_error(e: &ureq::Error) -> bool {
    e.to_string().to_ascii_lowercase().contains("certificate")
}

fn attempt(tls: &TlsConfig, probe: &Probe, timeout: Duration) -> Attempt {
    let check = probe.check;
    // ureq keeps every header but Authorization on a redirect, whatever the host: a
    // redirect to a login page elsewhere would hand it the key. So with headers, the
    // check follows redirects itself, on the same scheme, host and port only.
    let guarded = !check.headers.is_empty();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .tls_config(tls.clone())
        .max_redirects(if guarded { 0 } else { MAX_REDIRECTS })
        .build()
        .into();
    let mut url = probe.url.to_string();
    let mut method = check.method.clone();
    let mut hops = 0;
    let mut response = loop {
        let response = match send(&agent, &method, &url, probe) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let status = response.status();
        if !guarded || !status.is_redirection() || status.as_u16() == check.expect_status {
            break response;
        }
        let Some(next) = response
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .map(|l| resolve(&url, l))
        else {
            break response;
        };
        let status = status.as_u16();
        if origin(&next) != origin(&url) {
            return Attempt::Wrong(format!(
                "status {status}, a redirect to {next}, where the smoke headers are not sent (another host); \
                 check that URL with a check of its own, or expect-status = {status}"
            ));
        }
        hops += 1;
        if hops > MAX_REDIRECTS {
            return Attempt::Wrong(format!(
                "more than {MAX_REDIRECTS} redirects, the last to {next}"
            ));
        }
        // As curl and ureq do: only 307 and 308 keep a method other than GET and HEAD.
        if !matches!(status, 307 | 308) && method != "HEAD" {
            method = "GET".into();
        }
        url = next;
    };
    let status = response.status().as_u16();
    let router_error = response
        .headers()
        .get("X-Cf-Routererror")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let (Some(instance), Some(error)) = (probe.instance, &router_error) {
        if status != check.expect_status {
            return Attempt::Wrong(format!(
                "status {status} from the router ({error}): it does not route to {instance} yet"
            ));
        }
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_string()
        .unwrap_or_default();
    if status != check.expect_status {
        return Attempt::Wrong(format!(
            "status {status} (expected {}), body: {}",
            check.expect_status,
            excerpt(&body)
        ));
    }
    if let Some(expected) = &check.expect_body {
        if !body.contains(expected.as_str()) {
            return Attempt::Wrong(format!(
                "status {status}, but the body does not contain {expected:?}: {}",
                excerpt(&body)
            ));
        }
    }
    Attempt::Passed
}

/// One request of a check, with its headers; what the attempt saw if it got no answer.
fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    probe: &Probe,
) -> Result<ureq::http::Response<ureq::Body>, Attempt> {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in &probe.check.headers {
        request = request.header(name.as_str(), value.expose());
    }
    if let Some(instance) = probe.instance {
        request = request.header("X-CF-APP-INSTANCE", instance);
    }
    let request = request
        .body(())
        .map_err(|e| Attempt::Wrong(format!("no request could be made ({e})")))?;
    agent.run(request).map_err(|e| {
        if is_certificate_error(&e) {
            Attempt::Certificate(format!(
                "a TLS certificate problem ({e}); an internal CA goes in smoke.ca-cert"
            ))
        } else {
            Attempt::Wrong(format!("no answer ({e})"))
        }
    })
}

/// `scheme://host:port` of `url`, as written.
fn origin(url: &str) -> String {
    match url.parse::<ureq::http::Uri>() {
        Ok(uri) => format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map(|a| a.as_str()).unwrap_or_default()
        ),
        Err(_) => url.to_string(),
    }
}

/// A redirect's `location` as an absolute URL, relative to `base`.
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    if let Some(rest) = location.strip_prefix("//") {
        let scheme = base.split("://").next().unwrap_or("https");
        return format!("{scheme}://{rest}");
    }
    if location.starts_with('/') {
        return format!("{}{location}", origin(base));
    }
    let origin = origin(base);
    let path = base.strip_prefix(origin.as_str()).unwrap_or_default();
    let path = &path[..path.find('?').unwrap_or(path.len())];
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    format!("{origin}{dir}{location}")
}

fn excerpt(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return "(empty)".to_string();
    }
    if flat.chars().count() <= EXCERPT {
        return format!("{flat:?}");
    }
    let cut: String = flat.chars().take(EXCERPT).collect();
    format!("{cut:?}...")
}

fn run_command(smoke: &Smoke, on_line: &(dyn Fn(&str) + Sync)) -> Result<(), SmokeError> {
    let command = shell_words::join(&smoke.command);
    let (program, args) = smoke.command.split_first().expect("checked non-empty");
    let env = [("SMOKE_URL", smoke.url.as_str())];
    match child::run(
        program,
        args,
        &env,
        smoke.timeout,
        &crate::interrupt::requested,
        on_line,
    ) {
        Ok(out) if out.success() => Ok(()),
        Ok(out) => Err(SmokeError::Command {
            command,
            status: out.status(),
            output: out.combined,
        }),
        Err(ChildError::Start(e)) => Err(SmokeError::CommandStart {
            command,
            reason: e.to_string(),
        }),
        Err(ChildError::Aborted(_)) => Err(SmokeError::Interrupted),
        Err(ChildError::TimedOut(out)) => Err(SmokeError::Command {
            command,
            status: format!(
                "still running after smoke.timeout = {}, killed",
                humantime::format_duration(smoke.timeout)
            ),
            output: out.combined,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// Answers every request with the given responses in turn (the last one repeats).
    fn server(responses: Vec<(u16, &'static str)>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/health", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf);
                let (status, body) = responses[i.min(responses.len() - 1)];
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        url
    }

    fn get(url: String) -> Check {
        Check {
            key: None,
            method: "GET".into(),
            url,
            expect_status: 200,
            expect_body: None,
            headers: vec![],
        }
    }

    fn smoke(url: String) -> Smoke {
        Smoke {
            enabled: true,
            url: url.clone(),
            checks: vec![get(url)],
            timeout: Duration::from_secs(5),
            interval: Duration::from_millis(20),
            command: vec![],
            tls: Tls::System,
        }
    }

    #[test]
    fn passes_after_retries() {
        let s = smoke(server(vec![
            (503, "starting"),
            (503, "starting"),
            (200, "ok"),
        ]));
        check(&s, &|_| {}).unwrap();
    }

    #[test]
    fn wrong_body_fails_with_an_excerpt() {
        let mut s = smoke(server(vec![(200, "version 1")]));
        s.checks[0].expect_body = Some("version 2".into());
        s.timeout = Duration::from_millis(300);
        let e = check(&s, &|_| {}).unwrap_err().to_string();
        assert!(
            e.contains("does not contain \"version 2\": \"version 1\""),
            "{e}"
        );
    }

    #[test]
    fn wrong_status_reports_the_last_status() {
        let mut s = smoke(server(vec![(500, "boom")]));
        s.timeout = Duration::from_millis(300);
        let e = check(&s, &|_| {}).unwrap_err().to_string();
        assert!(
            e.contains("status 500 (expected 200), body: \"boom\""),
            "{e}"
        );
    }

    #[test]
    fn nothing_listening() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        let mut s = smoke(url);
        s.timeout = Duration::from_millis(200);
        let e = check(&s, &|_| {}).unwrap_err().to_string();
        assert!(e.contains("no answer"), "{e}");
    }

    #[test]
    fn command_gets_the_url_and_its_failure_is_reported() {
        let mut s = smoke(server(vec![(200, "ok")]));
        s.command = vec![
            "sh".into(),
            "-c".into(),
            "echo checking $SMOKE_URL; exit 4".into(),
        ];
        let e = check(&s, &|_| {}).unwrap_err().to_string();
        assert!(e.contains("exit code 4"), "{e}");
        assert!(e.contains("checking http://127.0.0.1:"), "{e}");
        s.command = vec!["true".into()];
        check(&s, &|_| {}).unwrap();
    }

    /// A router that does not know the route for `guid` until its `known_after`-th
    /// request, then answers for it; records the X-CF-APP-INSTANCE headers it saw.
    fn router(guid: &'static str, known_after: usize) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                let instance = request
                    .lines()
                    .find_map(|l| l.strip_prefix("x-cf-app-instance: "))
                    .unwrap_or("")
                    .trim()
                    .to_string();
                log.lock().unwrap().push(instance.clone());
                let reply = if instance == format!("{guid}:0") && i + 1 >= known_after {
                    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                        .to_string()
                } else {
                    "HTTP/1.1 404 Not Found\r\nX-Cf-Routererror: unknown_route\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
                };
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        (url, seen)
    }

    #[test]
    fn the_live_check_waits_for_the_router_to_know_the_new_instance() {
        let (url, seen) = router("g-new", 3);
        let s = smoke("http://unused/".into());
        let lines = Mutex::new(Vec::new());
        verify_live(&s, &url, "g-new:0", &|l| {
            lines.lock().unwrap().push(l.to_string())
        })
        .unwrap();
        assert_eq!(*seen.lock().unwrap(), ["g-new:0", "g-new:0", "g-new:0"]);
        let lines = lines.into_inner().unwrap();
        assert!(
            lines[0].ends_with(
                "status 404 from the router (unknown_route): it does not route to g-new:0 yet"
            ),
            "{lines:?}"
        );
    }

    #[test]
    fn the_live_check_fails_when_the_router_never_routes_to_it() {
        let (url, _) = router("g-new", usize::MAX);
        let mut s = smoke("http://unused/".into());
        s.timeout = Duration::from_millis(200);
        let e = verify_live(&s, &url, "g-new:0", &|_| {}).unwrap_err();
        assert!(e.to_string().contains("unknown_route"), "{e}");
        assert!(crate::hint::Hint::hint(&e)
            .unwrap()
            .contains("the old version kept every live route"));
    }

    /// Answers `status` with the request head as its body, as a debugging endpoint might;
    /// records each request head.
    fn echo(status: u16) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/echo", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                log.lock().unwrap().push(head.clone());
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
                    head.len()
                );
            }
        });
        (url, seen)
    }

    fn with_secret(mut check: Check) -> Check {
        check.headers = vec![(
            "Authorization".into(),
            crate::config::Secret::new("Bearer s3cr3t".into()),
        )];
        check
    }

    #[test]
    fn headers_are_sent_and_masked_in_what_the_answer_shows() {
        let (url, seen) = echo(500);
        let mut s = smoke(url.clone());
        s.checks = vec![with_secret(get(url))];
        s.timeout = Duration::from_millis(200);
        let lines = Mutex::new(Vec::new());
        let e = check(&s, &|l| lines.lock().unwrap().push(l.to_string())).unwrap_err();
        let heads = seen.lock().unwrap().clone();
        assert!(!heads.is_empty());
        assert!(
            heads
                .iter()
                .all(|h| h.contains("authorization: Bearer s3cr3t")
                    || h.contains("Authorization: Bearer s3cr3t")),
            "{heads:?}"
        );
        let text = format!("{e} {e:?} {:?}", lines.lock().unwrap());
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("authorization: ***"), "{text}");
    }

    #[test]
    fn several_checks_run_in_turn_and_the_failure_names_its_check() {
        let (ok, seen) = echo(200);
        let (bad, _) = echo(503);
        let mut s = smoke(ok.clone());
        let mut post = get(ok.clone());
        post.method = "POST".into();
        post.key = Some("smoke.checks[1]".into());
        let mut head = get(ok);
        head.method = "HEAD".into();
        head.key = Some("smoke.checks[2]".into());
        let mut failing = get(bad.clone());
        failing.key = Some("smoke.checks[3]".into());
        s.checks = vec![s.checks[0].clone(), post, head, failing];
        s.timeout = Duration::from_millis(200);
        let e = check(&s, &|_| {}).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "smoke.checks[3]: GET {bad} did not answer as expected"
            )),
            "{e}"
        );
        assert!(e.contains("status 503 (expected 200)"), "{e}");
        let methods: Vec<String> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|h| h.split(' ').next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(methods, ["GET", "POST", "HEAD"]);
    }

    #[test]
    fn the_live_check_sends_the_first_checks_headers() {
        let (url, seen) = echo(200);
        let mut s = smoke("http://unused/".into());
        s.checks = vec![with_secret(get("http://unused/".into()))];
        verify_live(&s, &url, "g-new:0", &|_| {}).unwrap();
        let head = seen.lock().unwrap()[0].to_ascii_lowercase();
        assert!(head.contains("authorization: bearer s3cr3t"), "{head}");
        assert!(head.contains("x-cf-app-instance: g-new:0"), "{head}");
    }

    #[test]
    fn redirects_are_resolved_against_the_url() {
        let base = "https://a.example.com:8443/app/health?x=1";
        assert_eq!(
            resolve(base, "https://b.example.com/x"),
            "https://b.example.com/x"
        );
        assert_eq!(
            resolve(base, "//b.example.com/x"),
            "https://b.example.com/x"
        );
        assert_eq!(resolve(base, "/login"), "https://a.example.com:8443/login");
        assert_eq!(
            resolve(base, "ready"),
            "https://a.example.com:8443/app/ready"
        );
        assert_eq!(resolve("http://a", "ready"), "http://a/ready");
        assert_eq!(origin(base), "https://a.example.com:8443");
    }

    /// Redirects `/` to `location`, answers 200 `here` elsewhere; records request heads.
    fn redirecting(location: String) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                log.lock().unwrap().push(head.clone());
                let reply = if head.starts_with("GET / ") {
                    format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nhere"
                        .to_string()
                };
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        (url, seen)
    }

    #[test]
    fn headers_follow_redirects_on_the_same_host_only() {
        let (same, seen) = redirecting("/next".into());
        let mut s = smoke(same.clone());
        s.checks = vec![with_secret(get(same))];
        check(&s, &|_| {}).unwrap();
        let heads = seen.lock().unwrap().clone();
        assert_eq!(heads.len(), 2, "{heads:?}");
        assert!(heads[1].starts_with("GET /next "), "{heads:?}");
        assert!(heads[1]
            .to_ascii_lowercase()
            .contains("authorization: bearer s3cr3t"));

        let (elsewhere, elsewhere_seen) = echo(200);
        let (away, _) = redirecting(elsewhere.clone());
        let mut s = smoke(away.clone());
        s.checks = vec![with_secret(get(away))];
        s.timeout = Duration::from_millis(200);
        let e = check(&s, &|_| {}).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "status 302, a redirect to {elsewhere}, where the smoke headers are not sent"
            )),
            "{e}"
        );
        assert!(elsewhere_seen.lock().unwrap().is_empty());
        // Expected as it is, a redirect is not followed at all.
        s.checks[0].expect_status = 302;
        check(&s, &|_| {}).unwrap();
    }
}
