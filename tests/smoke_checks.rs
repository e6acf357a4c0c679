//! Smoke checks for real services: headers from the environment that the server sees and
//! the output never shows, an internal CA's HTTPS, and several checks.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::*;

/// Header values the runs are given; none may show in their output.
const TOKEN: &str = "tok-9f8e7d6c5b4a";
const KEY: &str = "key-0a1b2c3d4e5f";

/// How the test server answers a request, given its head (request line and headers).
type Answer = dyn Fn(&str) -> (u16, String) + Send + Sync;

/// A server on 127.0.0.1 standing in for the app behind the staging route: plain HTTP,
/// or HTTPS with `tls`. It keeps every request head it read.
struct Server {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(tls: Option<Arc<rustls::ServerConfig>>, answer: Arc<Answer>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base = format!("{scheme}://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                let (tls, answer, log) = (tls.clone(), answer.clone(), log.clone());
                // A client that rejects the certificate must not hold up the next one.
                std::thread::spawn(move || match tls {
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        serve(rustls::StreamOwned::new(conn, tcp), &*answer, &log);
                    }
                    None => serve(tcp, &*answer, &log),
                });
            }
        });
        Server { base, seen }
    }

    /// Every request head it read, in one string.
    fn heads(&self) -> String {
        self.seen.lock().unwrap().join("\n")
    }
}

fn serve(mut stream: impl Read + Write, answer: &Answer, log: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    log.lock().unwrap().push(head.clone());
    let (status, body) = answer(&head);
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// 200 `ok` for every path but `/fail`, which answers 503 with the request head, as a
/// debugging error page might: its echo of the headers must not reach the output.
fn app() -> Arc<Answer> {
    Arc::new(|head: &str| {
        if head.starts_with("GET /fail ") {
            (503, format!("down; you sent:\n{head}"))
        } else {
            (200, "ok".to_string())
        }
    })
}

/// The guide's pair with `smoke` as its `[smoke]` table and what follows it.
fn config(smoke: &str) -> String {
    format!(
        r#"[apps]
blue = "{BLUE}"
green = "{GREEN}"

[routes]
domain = "de.a9sapp.eu"
live = "sinatralive"
staging = "sinatrastaging"

[lock]
stale-after = "1h"

[smoke]
timeout = "2s"
interval = "50ms"
headers = {{ Authorization = "Bearer ${{SMOKE_TOKEN}}", X-Api-Key = "${{SMOKE_KEY}}" }}
{smoke}
"#
    )
}

const SECRETS: &[(&str, &str)] = &[("SMOKE_TOKEN", TOKEN), ("SMOKE_KEY", KEY)];

#[track_caller]
fn assert_no_secret(run: &Run) {
    for secret in [TOKEN, KEY] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret} shows in the output\n{}",
            run.dump()
        );
    }
}

#[test]
fn headers_reach_the_server_and_never_the_output() {
    let server = Server::start(None, app());
    let t = Test::blue_live().config(&config(&format!("url = \"{}/health\"", server.base)));
    for args in [
        &["deploy", "--dry-run"][..],
        &["--verbose", "deploy", "--dry-run"],
        &["--verbose", "deploy"],
        &["deploy"],
    ] {
        let run = t.run_with(args, SECRETS);
        run.expect_code(0);
        assert_no_secret(&run);
        if args.contains(&"--dry-run") {
            // The plan shows the URL, as it always did.
            run.stderr_has(&format!("check {GREEN} at {}/health\n", server.base));
        }
    }
    let heads = server.heads().to_ascii_lowercase();
    // Two real deploys: the headers came with every request.
    assert_eq!(server.seen.lock().unwrap().len(), 2, "{heads}");
    assert!(
        heads.contains(&format!("authorization: bearer {TOKEN}")),
        "{heads}"
    );
    assert!(heads.contains(&format!("x-api-key: {KEY}")), "{heads}");
}

#[test]
fn an_unset_variable_stops_the_run_before_any_cf_call() {
    let server = Server::start(None, app());
    let t = Test::blue_live().config(&config(&format!("url = \"{}/health\"", server.base)));
    let run = t.run_with(&["deploy"], &[("SMOKE_TOKEN", TOKEN)]);
    run.expect_code(2).stderr_has(
        "smoke.headers.X-Api-Key: takes the environment variable SMOKE_KEY, which is not set",
    );
    assert!(run.calls.is_empty(), "{}", run.dump());
    assert_no_secret(&run);
    assert!(server.heads().is_empty());
    // Status sends no check: it works without the secrets.
    let run = t.run(&["status"]);
    run.expect_code(0).stdout_has("<- live");
}

#[test]
fn several_checks_must_all_pass_and_the_failing_one_is_named() {
    let server = Server::start(None, app());
    let checks = format!(
        r#"
[[smoke.checks]]
url = "{base}/health"

[[smoke.checks]]
url = "{base}/health"
method = "POST"
expect-body = "ok"
headers = {{ X-Api-Key = "" }}

[[smoke.checks]]
url = "{base}/fail"
"#,
        base = server.base
    );
    let t = Test::blue_live().config(&config(&checks));
    let dry = t.run_with(&["deploy", "--dry-run"], SECRETS);
    dry.expect_code(0).stderr_has(&format!(
        "check {GREEN} at GET {base}/health, POST {base}/health, GET {base}/fail",
        base = server.base
    ));
    let run = t.run_with(&["--verbose", "deploy"], SECRETS);
    run.expect_code(1)
        .stderr_has(&format!(
            "smoke.checks[2]: GET {}/fail did not answer as expected within smoke.timeout = 2s",
            server.base
        ))
        .stderr_has("status 503 (expected 200), body: \"down; you sent:")
        .stderr_has(&format!("{BLUE} still serves the live route"));
    // The server's echo of the headers is masked.
    assert_no_secret(&run);
    t.assert_clean(BLUE, &[LIVE], Some("stopped"));
    assert!(
        !run.mutations().iter().any(|m| m.contains("sinatralive")),
        "{:?}",
        run.mutations()
    );
    let seen = server.seen.lock().unwrap().clone();
    let first = |prefix: &str| {
        seen.iter()
            .find(|h| h.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {seen:?}"))
            .to_ascii_lowercase()
    };
    // Each check in turn, the POST without the key its own table dropped.
    assert!(first("GET /health ").contains(&format!("x-api-key: {KEY}")));
    let post = first("POST /health ");
    assert!(
        post.contains(&format!("authorization: bearer {TOKEN}")) && !post.contains("x-api-key"),
        "{post}"
    );
    first("GET /fail ");
}

/// A CA made for the test, and a certificate for 127.0.0.1 that it signed: an internal
/// CA that no trust store knows.
fn internal_ca() -> (String, Arc<rustls::ServerConfig>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "cf-bluegreen test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (ca.pem(), Arc::new(server))
}

#[test]
fn an_internal_ca_is_trusted_through_smoke_ca_cert() {
    let (ca_pem, tls) = internal_ca();
    let server = Server::start(Some(tls), app());
    let url = format!("url = \"{}/health\"", server.base);

    let untrusted = Test::blue_live().config(&config(&url));
    let run = untrusted.run_with(&["deploy"], SECRETS);
    run.expect_code(1)
        .stderr_has("a TLS certificate problem")
        .stderr_has("smoke.ca-cert");
    assert_no_secret(&run);
    untrusted.assert_clean(BLUE, &[LIVE], Some("stopped"));

    let trusted = Test::blue_live()
        .write("certs/ca.pem", &ca_pem)
        .config(&config(&format!("{url}\nca-cert = \"certs/ca.pem\"")));
    let run = trusted.run_with(&["deploy"], SECRETS);
    run.expect_code(0);
    assert!(!run.stderr.contains("smoke.insecure"), "{}", run.dump());
    trusted.assert_clean(GREEN, &[LIVE], Some("stopped"));
    assert!(
        server
            .heads()
            .to_ascii_lowercase()
            .contains(&format!("authorization: bearer {TOKEN}")),
        "the HTTPS request carried the headers"
    );

    let missing = Test::blue_live().config(&config(&format!("{url}\nca-cert = \"nope.pem\"")));
    let run = missing.run_with(&["deploy"], SECRETS);
    run.expect_code(2).stderr_has("smoke.ca-cert: cannot read");
    assert!(run.calls.is_empty(), "{}", run.dump());
}

#[test]
fn insecure_passes_and_warns_on_every_run() {
    let (_, tls) = internal_ca();
    let server = Server::start(Some(tls), app());
    let t = Test::blue_live().config(&config(&format!(
        "url = \"{}/health\"\ninsecure = true",
        server.base
    )));
    let warning = format!(
        "smoke.insecure = true: TLS certificates are not verified for {}/health",
        server.base
    );
    for args in [&["deploy", "--dry-run"][..], &["deploy"]] {
        let run = t.run_with(args, SECRETS);
        run.expect_code(0).stderr_has(&warning);
        assert_no_secret(&run);
    }
    t.assert_clean(GREEN, &[LIVE], Some("stopped"));
}
