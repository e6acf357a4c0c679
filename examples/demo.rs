//! A real deploy against the bundled fake cf, as a demo: `cargo run --example demo`.
//!
//! Three deploys in a row (blue, green, blue), each checked over HTTP on the staging route
//! and then on the live route (as the new app's instance) by local servers standing in
//! for the CF router, then `status`, a rollback, and `status` again. Nothing leaves this
//! machine; the fake cf's state and call log stay in a temp directory that is printed.

#[path = "../fixtures/router.rs"]
mod router;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const STAGING: &str = "sinatrastaging.de.a9sapp.eu";
const LIVE: &str = "sinatralive.de.a9sapp.eu";

fn main() {
    let work = tempfile::Builder::new()
        .prefix("cf-bluegreen-demo-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let state = work.join("cf-state");
    std::fs::create_dir_all(&state).expect("state dir");
    let url = router::serve(state.clone(), STAGING, Arc::new(AtomicBool::new(false)));
    let live_url = router::serve_live(state.clone(), LIVE);

    let config = work.join("deploy.toml");
    std::fs::write(
        &config,
        format!(
            r#"# The sinatra pair from the anynines zero-downtime guide.
[apps]
blue = "sinatra_a"
green = "sinatra_b"

[routes]
domain = "de.a9sapp.eu"
live = "sinatralive"
staging = "sinatrastaging"

[smoke]
# The demo's stand-in for https://{STAGING}/
url = "{url}"
expect-body = "Hello from"
timeout = "10s"
interval = "200ms"

[switch]
# The demo's stand-in for https://{LIVE}/: before the old app lets go of the live
# route, the router must send it to the new one.
verify-live-url = "{live_url}"
# Short for the demo; the default, 10s, lets requests in flight finish.
drain = "1s"
"#
        ),
    )
    .expect("write deploy.toml");

    let fake_cf = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fake-cf");
    // The fake cf finds its state here; a little latency makes the progress visible.
    std::env::set_var("FAKE_CF_STATE", &state);
    std::env::set_var("FAKE_CF_LATENCY", "0.15");

    let run = |args: &[&str]| {
        let mut argv = vec![
            "cf-bluegreen".to_string(),
            "--cf".into(),
            fake_cf.display().to_string(),
            "--config".into(),
            config.display().to_string(),
        ];
        argv.extend(args.iter().map(|s| s.to_string()));
        eprintln!("\n$ cf-bluegreen {}", args.join(" "));
        let code = cf_bluegreen::run(argv);
        if code != 0 {
            eprintln!("demo: cf-bluegreen exited with {code}");
            std::process::exit(code);
        }
    };

    eprintln!("demo: working in {}", work.display());
    run(&["deploy"]);
    run(&["deploy", "--dry-run"]);
    run(&["deploy"]);
    run(&["deploy"]);
    run(&["status"]);
    run(&["rollback"]);
    run(&["status"]);
    eprintln!(
        "\ndemo: done. Every cf call, with the route table after it: {}",
        state.join("log").display()
    );
}
