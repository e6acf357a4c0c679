//! `init`: a commented configuration to start from.
//!
//! With `--from-app NAME`, from an app that runs now: the app and every route it holds are
//! read from cf, NAME becomes `blue` and stays live as it is, its routes become the live
//! routes, and the first deploy goes to the new `green` app (no rename, no downtime).
//! Without it, no cf call: the app name and routes come from `./manifest.yml` if there is
//! one, else from the directory's name, with placeholders marked as such.
//!
//! What the file says is a [`Draft`]; [`render`] makes it text, and the text is parsed back
//! with [`Config::parse`] before anything is written, so that a file init writes always
//! passes the tool's own validation.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use crate::cf::{Cf, CfClient, CfError};
use crate::config::{is_dns_label, Config, DEFAULT_CF_TIMEOUT};
use crate::error::Error;
use crate::report::{Event, Sink};
use crate::route::Route;

/// What `init` was asked for on the command line.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub from_app: Option<&'a str>,
    /// `--output`, else the `--config` path; `-` is stdout.
    pub output: &'a Path,
    pub force: bool,
}

/// What the file will say, before it is text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Where the names and routes came from, for the file's first lines.
    pub origin: String,
    /// The command line that wrote it, for the same.
    pub command: String,
    pub blue: String,
    pub green: String,
    /// Comment lines above `blue =` and above `green =`.
    pub blue_note: Vec<String>,
    pub green_note: Vec<String>,
    /// The main live route: HTTP, with a host.
    pub live: Route,
    /// `live`'s host and domain are made up, to be edited.
    pub placeholder: bool,
    /// `routes.staging`: a host on the main live route's domain.
    pub staging: String,
    /// `[[routes.extra]]`, in order.
    pub extra: Vec<Route>,
    /// What the user must know or check: comments at the top of the file, and warnings.
    pub notes: Vec<String>,
    /// `push.manifest`, relative to the file; with `manifest_note` when it is left out.
    pub manifest: Option<String>,
    pub manifest_note: Option<String>,
    /// The org and space the app was read from, for the commented `[cf]` keys.
    pub target: Option<(String, String)>,
}

/// Runs `init`: builds the draft, checks it, writes it, and says what was written.
pub fn init(options: Options, cf: &dyn Cf, events: &dyn Sink) -> Result<(), Error> {
    let to_stdout = options.output == Path::new("-");
    // Before anything else, cf included: a refusal should not wait for the network.
    if !to_stdout {
        refuse_existing(options.output, options.force)?;
    }
    let cwd = std::env::current_dir().map_err(|e| Error::Environment {
        message: format!("cannot read the current directory: {e}"),
        hint: "run init from a directory that exists and is readable".into(),
    })?;
    let manifest = find_manifest(&cwd)?;
    let mut draft = match options.from_app {
        Some(name) => from_app(name, cf, events)?,
        None => from_files(manifest.as_ref(), &cwd),
    };
    draft.command = command_line(options);
    if let Some((path, app)) = &manifest {
        let dir = if to_stdout {
            cwd.clone()
        } else {
            absolute(&cwd, options.output.parent().unwrap_or(Path::new("")))
        };
        if app.apps > 1 {
            draft.manifest_note = Some(format!(
                "{} describes {} apps, and cf push refuses such a manifest unless it names \
                 both apps of the pair: give it one app (cf push renames it), then set this",
                file_name(path),
                app.apps
            ));
        } else {
            draft.manifest = Some(relative(&dir, path).display().to_string());
        }
    }
    let text = render(&draft);
    let path = if to_stdout {
        Path::new("deploy.toml")
    } else {
        options.output
    };
    let mut config = check(&text, path)?;
    for note in &draft.notes {
        events.emit(Event::Warning { message: note });
    }
    if to_stdout {
        super::docs::print(text.as_bytes())?;
    } else {
        write(options.output, &text, options.force)?;
        config.path = options.output.to_path_buf();
    }
    let next = next_step(options.output, to_stdout);
    events.emit(Event::Initialized {
        config: &config,
        printed: to_stdout,
        next: &next,
    });
    Ok(())
}

/// The text, parsed and validated as any command would read it. A failure is init's bug,
/// never the user's: nothing is written, and the message says so.
pub fn check(text: &str, path: &Path) -> Result<Config, Error> {
    Config::parse(text, path).map_err(|e| Error::Environment {
        message: format!(
            "init made a configuration that does not pass validation, so it wrote nothing \
             (a bug in cf-bluegreen): {e}"
        ),
        hint: "please report it with the app's routes; meanwhile start from deploy.toml.example"
            .into(),
    })
}

fn refuse_existing(path: &Path, force: bool) -> Result<(), Error> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.is_dir() {
        return Err(Error::Environment {
            message: format!("{} is a directory", path.display()),
            hint: "name the file to write with --output, for example --output deploy.toml".into(),
        });
    }
    if force {
        return Ok(());
    }
    Err(exists(path))
}

fn exists(path: &Path) -> Error {
    Error::Environment {
        message: format!(
            "{} exists already; init does not overwrite it",
            path.display()
        ),
        hint: "pass --force to replace it, --output PATH to write elsewhere, or --output - to print it"
            .into(),
    }
}

fn write(path: &Path, text: &str, force: bool) -> Result<(), Error> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if force {
        open.create(true).truncate(true);
    } else {
        // Not a check then a write: a file that appeared meanwhile is not replaced.
        open.create_new(true);
    }
    let result = open
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.flush()));
    result.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists(path),
        _ => Error::Environment {
            message: format!("cannot write {}: {e}", path.display()),
            hint: "check that its directory exists and is writable, or pick another --output"
                .into(),
        },
    })
}

/// `cf-bluegreen init ...` as it was run, for the file's first line.
fn command_line(options: Options) -> String {
    let mut line = String::from("cf-bluegreen init");
    if let Some(app) = options.from_app {
        line.push_str(&format!(" --from-app {}", shell_words::quote(app)));
    }
    line
}

fn next_step(output: &Path, to_stdout: bool) -> String {
    let dry_run =
        "`cf-bluegreen deploy --dry-run` shows what the first deploy would do, and changes nothing";
    if to_stdout {
        return format!("save it as deploy.toml and read it through; then {dry_run}");
    }
    if output == Path::new("deploy.toml") {
        return format!("read it through; then {dry_run}");
    }
    let config = shell_words::quote(&output.display().to_string()).into_owned();
    format!(
        "read it through; then `cf-bluegreen --config {config} deploy --dry-run` shows what the \
         first deploy would do, and changes nothing"
    )
}

// ---------------------------------------------------------------------------------------
// From cf

/// The draft for an app that runs now in the targeted org and space.
fn from_app(name: &str, cf: &dyn Cf, events: &dyn Sink) -> Result<Draft, Error> {
    let client = CfClient::new(cf, DEFAULT_CF_TIMEOUT, |line| {
        events.emit(Event::Output { line })
    });
    let target = client.target().map_err(|e| match e {
        CfError::Start { .. } => Error::CfMissing(e),
        CfError::Failed { ref output, .. } if crate::cf::parse::is_not_logged_in(output) => {
            Error::Environment {
                message: "cf is not logged in".into(),
                hint: "run `cf login` first, and `cf target -o ORG -s SPACE` for the app's space"
                    .into(),
            }
        }
        other => Error::Observe(other),
    })?;
    let (Some(org), Some(space)) = (target.org.clone(), target.space.clone()) else {
        return Err(Error::Environment {
            message: "cf has no org and space targeted".into(),
            hint: format!("run `cf target -o ORG -s SPACE` for the space where {name} runs"),
        });
    };
    let green = counterpart(name).unwrap_or_else(|| format!("{name}-green"));
    let listed = client
        .apps_named(&[name, &green])
        .map_err(crate::preflight::observe_error)?;
    let here = crate::preflight::in_space(&listed, &org, &space).map_err(Error::Observe)?;
    let Some(app) = here.iter().find(|a| a.name == name) else {
        let elsewhere: Vec<String> = listed
            .iter()
            .filter(|a| a.name == name)
            .filter_map(|a| {
                Some(format!(
                    "org {} / space {}",
                    a.org.as_ref()?,
                    a.space.as_ref()?
                ))
            })
            .collect();
        let hint = match elsewhere.first() {
            Some(_) => format!(
                "an app of that name is in {}: target it (`cf target -o ORG -s SPACE`) and run init again",
                elsewhere.join(", ")
            ),
            None => "check the name with `cf apps`, or target the app's space with `cf target -o ORG -s SPACE`, then run init again".into(),
        };
        return Err(Error::Environment {
            message: format!("there is no app named {name} in org {org} / space {space}"),
            hint,
        });
    };
    let routes = client
        .app_routes(&app.guid)
        .map_err(crate::preflight::observe_error)?;
    let Some(arranged) = arrange(&routes) else {
        return Err(no_main_route(name, &routes));
    };
    let mut notes = Vec::new();
    if !app.started {
        notes.push(format!(
            "{name} is stopped, so its routes serve nothing now; the first deploy makes {green} live on them"
        ));
    }
    let mut green_note = vec![
        format!(
            "The new app the first deploy pushes (`cf push {green} --no-route`) and checks on the"
        ),
        "staging route before it takes the live routes over. It must be bound to the same".into(),
        format!("services as {name}: through the manifest (push.manifest), or create it and bind"),
        "them (`cf bind-service`) before the first deploy.".into(),
    ];
    if let Some(taken) = here.iter().find(|a| a.name == green) {
        notes.push(format!(
            "an app named {green} exists already in this space ({}): the first deploy pushes the new version onto it; if it is meant for something else, change apps.green",
            if taken.started { "started" } else { "stopped" }
        ));
        green_note = vec![
            format!(
                "{green} exists already in this space: the first deploy pushes the new version"
            ),
            "onto it. It must be bound to the same services as blue.".into(),
        ];
    }
    notes.extend(left_out_notes(&arranged.left_out));
    Ok(Draft {
        origin: format!("the app {name} in org {org} / space {space}, as cf showed it"),
        command: String::new(),
        blue: name.to_string(),
        green,
        blue_note: vec![
            format!(
                "{name} runs now and holds the live routes below. It stays as it is, and live,"
            ),
            "until the first deploy has pushed and checked the new version on green.".into(),
        ],
        green_note,
        live: arranged.live,
        placeholder: false,
        staging: arranged.staging,
        extra: arranged.extra,
        notes,
        manifest: None,
        manifest_note: None,
        target: Some((org, space)),
    })
}

/// Why an app cannot start a pair: no route the file could name as its main live route.
fn no_main_route(name: &str, routes: &[Route]) -> Error {
    if routes.is_empty() {
        return Error::Environment {
            message: format!(
                "{name} holds no route: there is no live route for a blue-green pair to keep served"
            ),
            hint: format!(
                "map its public route first (`cf map-route {name} DOMAIN --hostname HOST`) and run init again, \
                 or run `cf-bluegreen init` without --from-app and edit the routes"
            ),
        };
    }
    let held: Vec<String> = routes.iter().map(ToString::to_string).collect();
    Error::Environment {
        message: format!(
            "{name} holds no HTTP route with a hostname on a public domain (it holds {}): the main \
             live route (routes.live) must be one, as the smoke check and the switch go through it",
            held.join(", ")
        ),
        hint: format!(
            "map such a route to {name} (`cf map-route {name} DOMAIN --hostname HOST`) and run init again, \
             or write the configuration from deploy.toml.example"
        ),
    }
}

/// The other app of a pair whose names say so: `-blue`/`-green`, `_a`/`_b`, ...
pub fn counterpart(name: &str) -> Option<String> {
    const PAIRS: [(&str, &str); 8] = [
        ("-blue", "-green"),
        ("_blue", "_green"),
        ("-green", "-blue"),
        ("_green", "_blue"),
        ("-a", "-b"),
        ("_a", "_b"),
        ("-b", "-a"),
        ("_b", "_a"),
    ];
    PAIRS.iter().find_map(|(this, other)| {
        name.strip_suffix(this)
            .filter(|stem| !stem.is_empty())
            .map(|stem| format!("{stem}{other}"))
    })
}

// ---------------------------------------------------------------------------------------
// From the manifest or the directory

/// What init reads of a manifest: its first app's name and routes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestApp {
    pub name: Option<String>,
    /// `routes[].route`, as written.
    pub routes: Vec<String>,
    /// How many apps it describes.
    pub apps: usize,
}

/// `manifest.yml` or `manifest.yaml` in `dir`, as `cf push` looks for them, and what it
/// says.
fn find_manifest(dir: &Path) -> Result<Option<(PathBuf, ManifestApp)>, Error> {
    for name in ["manifest.yml", "manifest.yaml"] {
        let path = dir.join(name);
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Environment {
            message: format!("cannot read {}: {e}", path.display()),
            hint: "make it a readable UTF-8 file".into(),
        })?;
        let app = read_manifest(&text).map_err(|e| Error::Environment {
            message: format!("{} is not valid YAML: {e}", path.display()),
            hint: "fix the manifest (`cf push` would reject it too), then run init again".into(),
        })?;
        return Ok(Some((path, app)));
    }
    Ok(None)
}

pub fn read_manifest(text: &str) -> Result<ManifestApp, String> {
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    let Some(apps) = docs.first().and_then(|d| d["applications"].as_vec()) else {
        return Ok(ManifestApp::default());
    };
    let Some(first) = apps.first() else {
        return Ok(ManifestApp::default());
    };
    Ok(ManifestApp {
        name: first["name"].as_str().map(str::to_string),
        routes: first["routes"]
            .as_vec()
            .map(|routes| {
                routes
                    .iter()
                    .filter_map(|r| r["route"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        apps: apps.len(),
    })
}

/// A manifest's `route:` as a route: `host.domain/path` (CF hosts are single labels) or
/// `domain:port`. Text with fewer than three labels is taken for a route on a bare domain.
pub fn manifest_route(text: &str) -> Route {
    let text = text.trim().trim_end_matches('/');
    if let Some((domain, port)) = text.rsplit_once(':') {
        if let Ok(port) = port.parse() {
            if !domain.contains('/') {
                return Route::tcp(domain, port);
            }
        }
    }
    let (name, path) = match text.find('/') {
        Some(at) => (&text[..at], Some(&text[at..])),
        None => (text, None),
    };
    match name.split_once('.') {
        Some((host, domain)) if domain.contains('.') => Route::new(host, domain, path),
        _ => Route::new("", name, path),
    }
}

/// The draft for a new pair: names and routes from the manifest, else the directory's name
/// and placeholders. No cf call.
fn from_files(manifest: Option<&(PathBuf, ManifestApp)>, cwd: &Path) -> Draft {
    let from_manifest = manifest.and_then(|(path, app)| Some((path, app.name.clone()?)));
    let dir_name = cwd
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.trim().is_empty());
    let (name, origin) = match (&from_manifest, dir_name) {
        (Some((path, name)), _) => (
            name.clone(),
            format!("the app {name} in {}", file_name(path)),
        ),
        (None, Some(dir)) => (dir.clone(), format!("the name of the directory {dir}")),
        (None, None) => (
            "myapp".to_string(),
            "nothing: every name is a placeholder".into(),
        ),
    };
    let (blue, green) = match counterpart(&name) {
        Some(other) => (name.clone(), other),
        None => (format!("{name}-blue"), format!("{name}-green")),
    };
    let routes: Vec<Route> = manifest
        .map(|(_, app)| app.routes.iter().map(|r| manifest_route(r)).collect())
        .unwrap_or_default();
    let mut notes = Vec::new();
    let arranged = arrange(&routes);
    let placeholder = arranged.is_none();
    let arranged = arranged.unwrap_or_else(|| {
        let host = hostname(&name);
        let live = Route::new(&host, "example.com", None);
        notes.push(format!(
            "routes.domain and routes.live are placeholders ({live}): set your app's public route"
        ));
        Arranged {
            staging: staging_host(&live, &[]),
            live,
            extra: Vec::new(),
            // Nothing the manifest held can be named, but it still says what it held.
            left_out: routes
                .iter()
                .map(|r| (r.clone(), listable(r).err().unwrap_or_default()))
                .collect(),
        }
    });
    notes.extend(left_out_notes(&arranged.left_out));
    Draft {
        origin,
        command: String::new(),
        blue: blue.clone(),
        green,
        blue_note: vec![
            "The first deploy pushes to this app (it need not exist yet). If the app runs in cf"
                .into(),
            format!(
                "already, `cf-bluegreen init --from-app {name} --force` takes it over as blue,"
            ),
            "live as it is, with its routes.".into(),
        ],
        green_note: vec![
            format!(
                "The second deploy pushes to this app; then they take turns. Both must be bound to"
            ),
            "the same services: list them in the manifest, or bind them (`cf bind-service`)."
                .into(),
        ],
        live: arranged.live,
        placeholder,
        staging: arranged.staging,
        extra: arranged.extra,
        notes,
        manifest: None,
        manifest_note: None,
        target: None,
    }
}

/// A hostname made from an app name: lower case, runs of other characters as one hyphen,
/// short enough to take a `-staging` suffix.
fn hostname(name: &str) -> String {
    let mut host = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            host.push(c.to_ascii_lowercase());
        } else if !host.ends_with('-') {
            host.push('-');
        }
    }
    let host = fit(&host, 63 - "-staging".len());
    if host.is_empty() {
        "myapp".into()
    } else {
        host
    }
}

/// `host` cut to at most `max` characters, without a hyphen at either end.
fn fit(host: &str, max: usize) -> String {
    let cut: String = host.chars().take(max).collect();
    cut.trim_matches('-').to_string()
}

// ---------------------------------------------------------------------------------------
// Routes

/// An app's routes, as the file names them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Arranged {
    live: Route,
    staging: String,
    extra: Vec<Route>,
    /// Routes the file cannot name, and why.
    left_out: Vec<(Route, String)>,
}

/// The main live route is the first HTTP route with a hostname on a public domain; every
/// other route the file can name is an extra one. `None`: there is no main route.
fn arrange(routes: &[Route]) -> Option<Arranged> {
    let mut unique: Vec<Route> = Vec::new();
    for r in routes {
        if !unique.contains(r) {
            unique.push(r.clone());
        }
    }
    let main = unique.iter().position(|r| {
        r.is_http() && !r.host.is_empty() && !is_internal(r) && listable(r).is_ok()
    })?;
    let live = unique[main].clone();
    let mut extra = Vec::new();
    let mut left_out = Vec::new();
    for (i, r) in unique.iter().enumerate() {
        if i == main {
            continue;
        }
        match listable(r) {
            Ok(()) => extra.push(r.clone()),
            Err(why) => left_out.push((r.clone(), why)),
        }
    }
    Some(Arranged {
        staging: staging_host(&live, &unique),
        live,
        extra,
        left_out,
    })
}

/// Internal domains (`apps.internal`) are reached only from other apps: no smoke check
/// or browser gets there. The same test as [`Config::live_urls`].
fn is_internal(route: &Route) -> bool {
    route.domain.ends_with("internal")
}

/// Whether `[[routes.extra]]` can name the route, or why not: the rules of the
/// configuration's validation.
fn listable(route: &Route) -> Result<(), String> {
    let domain_ok = route.domain.len() <= 253 && route.domain.split('.').all(is_dns_label);
    if !domain_ok {
        return Err(format!(
            "`{}` is not a domain the file accepts",
            route.domain
        ));
    }
    if route.port.is_some() {
        return Ok(());
    }
    if route.host.is_empty() {
        return Err("a route on the bare domain: the file names HTTP routes by hostname".into());
    }
    if !is_dns_label(&route.host) {
        return Err(format!(
            "`{}` is not a hostname the file accepts",
            route.host
        ));
    }
    if let Some(p) = &route.path {
        let ok = p.starts_with('/')
            && !p.ends_with('/')
            && !p.chars().any(|c| c.is_whitespace() || c == '?' || c == '#');
        if !ok {
            return Err(format!("the path `{p}` is not one the file accepts"));
        }
    }
    Ok(())
}

/// `<live host>-staging` on the live route's domain and path, unless the app holds that
/// route already (then it could not be the staging route).
fn staging_host(live: &Route, held: &[Route]) -> String {
    let free = |host: &str| {
        let route = Route::new(host, &live.domain, live.path.as_deref());
        !held.contains(&route) && host != live.host
    };
    let suffixes = ["-staging".to_string()]
        .into_iter()
        .chain((2..100).map(|n| format!("-staging{n}")));
    for suffix in suffixes {
        let host = format!("{}{suffix}", fit(&live.host, 63 - suffix.len()));
        if free(&host) {
            return host;
        }
    }
    format!("{}-staging", fit(&live.host, 55))
}

fn left_out_notes(left_out: &[(Route, String)]) -> Vec<String> {
    left_out
        .iter()
        .map(|(route, why)| {
            format!(
                "{route} is not listed ({why}); as an unlisted route of the live app it still moves with it (routes.unlisted = \"move\")"
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Paths

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `path` made absolute against `cwd`, `.` and `..` resolved without asking the file
/// system (the output file need not exist yet).
fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in cwd.join(path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `to` as seen from the directory `from` (both absolute): the configuration anchors
/// relative paths at its own directory.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to_parts[common..] {
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------
// The text

/// A TOML string: quoted and escaped as TOML wants.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The commented configuration.
pub fn render(d: &Draft) -> String {
    let mut t = String::new();
    let w = &mut t;
    let _ = writeln!(
        w,
        "# cf-bluegreen configuration, written by `{}`",
        d.command
    );
    let _ = writeln!(w, "# from {}.", d.origin);
    w.push_str(
        "# Read it through, then `cf-bluegreen deploy --dry-run` shows what the first deploy\n\
         # would do, and changes nothing. Keys are kebab-case; an unknown key is an error.\n\
         # Relative paths are relative to this file. deploy.toml.example in the cf-bluegreen\n\
         # repository shows every key.\n",
    );
    if !d.notes.is_empty() {
        w.push_str("#\n# Check before the first deploy:\n");
        for note in &d.notes {
            comment_wrapped(w, note, "# - ", "#   ");
        }
    }
    w.push_str(
        "\n# The two CF apps that take turns being live. Both must live in the targeted space and\n\
         # be bound to the same services. A deploy goes to the one that does not hold the main\n\
         # live route (the first deploy, if neither does, to `blue`).\n[apps]\n",
    );
    for line in &d.blue_note {
        let _ = writeln!(w, "# {line}");
    }
    let _ = writeln!(w, "blue  = {}", q(&d.blue));
    for line in &d.green_note {
        let _ = writeln!(w, "# {line}");
    }
    let _ = writeln!(w, "green = {}", q(&d.green));

    let placeholder = if d.placeholder {
        "   # PLACEHOLDER: edit"
    } else {
        ""
    };
    w.push_str("\n[routes]\n# The domain of the live and staging routes (it must exist in CF: `cf domains`).\n");
    let _ = writeln!(w, "domain  = {}{placeholder}", q(&d.live.domain));
    let _ = writeln!(
        w,
        "# Hostname of the main live route, {}. The app holding it is live.",
        d.live
    );
    let _ = writeln!(w, "live    = {}{placeholder}", q(&d.live.host));
    let staging = Route::new(&d.staging, &d.live.domain, d.live.path.as_deref());
    comment_wrapped(
        w,
        &format!(
            "Hostname where the new version is checked before it gets live traffic, {staging}. \
             No app should hold that route: the deploy maps it to the new version, then unmaps it."
        ),
        "# ",
        "# ",
    );
    let _ = writeln!(w, "staging = {}", q(&d.staging));
    match &d.live.path {
        Some(p) => {
            w.push_str("# The context path of the live and the staging route alike.\n");
            let _ = writeln!(w, "path    = {}", q(p));
        }
        None => w.push_str(
            "# Optional context path, for the live and the staging route alike (starts with /).\n\
             # path = \"/api\"\n",
        ),
    }
    w.push_str(
        "\n# Routes the live app holds that are not listed here are stripped from the idle app by\n\
         # `cf push --no-route`:\n\
         #   move   - they move with the listed ones, as the plan and `status` show (default)\n\
         #   refuse - a deploy stops before any change and names them, so that they get listed\n\
         # unlisted = \"move\"\n",
    );
    if d.extra.is_empty() {
        w.push_str(
            "\n# Optional: more live routes, switched together with the main one. Repeat the table\n\
             # for each. The main live route alone decides which app is live.\n\
             # [[routes.extra]]\n\
             # host   = \"www\"\n\
             # domain = \"example.com\"\n\
             # path   = \"/shop\"          # optional\n\
             # [[routes.extra]]          # an internal route (no path on internal domains)\n\
             # host   = \"shop\"\n\
             # domain = \"apps.internal\"\n\
             # [[routes.extra]]          # a TCP route: a port, no host or path\n\
             # domain = \"tcp.example.com\"\n\
             # port   = 1234\n",
        );
    } else {
        w.push_str(
            "\n# More live routes, switched together with the main one. The main live route alone\n\
             # decides which app is live.\n",
        );
        for r in &d.extra {
            let kind = match (r.port, is_internal(r)) {
                (Some(_), _) => "   # a TCP route",
                (None, true) => "   # an internal route, for other apps",
                (None, false) => "",
            };
            let _ = writeln!(w, "[[routes.extra]]{kind}");
            match r.port {
                Some(port) => {
                    let _ = writeln!(w, "domain = {}\nport   = {port}", q(&r.domain));
                }
                None => {
                    let _ = writeln!(w, "host   = {}\ndomain = {}", q(&r.host), q(&r.domain));
                    if let Some(p) = &r.path {
                        let _ = writeln!(w, "path   = {}", q(p));
                    }
                }
            }
        }
    }

    w.push_str(
        "\n# How the new version is pushed. Always with --no-route, so that routes in the manifest\n\
         # cannot put unchecked code on the live route.\n[push]\n",
    );
    match (&d.manifest, &d.manifest_note) {
        (Some(m), _) => {
            let _ = writeln!(w, "manifest   = {}   # cf push -f", q(m));
        }
        (None, Some(note)) => {
            comment_wrapped(w, note, "# ", "# ");
            w.push_str("# manifest   = \"manifest.yml\"   # cf push -f\n");
        }
        (None, None) => w.push_str("# manifest   = \"manifest.yml\"   # cf push -f\n"),
    }
    w.push_str(
        "# path       = \".\"               # cf push -p (default: the directory cf-bluegreen runs in)\n\
         # vars-files = [\"vars/prod.yml\"] # --vars-file, each\n\
         # vars       = { region = \"eu\" } # variables for the manifest (values are masked in output)\n\
         # args       = [\"-i\", \"2\"]       # further cf push arguments; route flags are refused\n\
         # timeout    = \"36m\"             # default: cf's own limits, and 15m for the upload\n",
    );

    w.push_str(
        "\n# The check of the new version on the staging route, before the switch.\n[smoke]\n\
         # enabled       = true    # false skips the check (not recommended)\n\
         # url           = \"\"      # default: https://<staging>.<domain><routes.path><smoke.path>\n\
         path          = \"/\"       # appended to the default URL\n\
         expect-status = 200\n\
         # expect-body   = \"\"      # a substring the body must contain\n\
         timeout       = \"60s\"     # keep trying until this long has passed\n\
         interval      = \"2s\"      # pause between attempts\n\
         # command       = [\"./smoke-test.sh\"]  # run after the HTTP check passes, with the\n\
         #                                      # staging URL in SMOKE_URL; non-zero = failed\n",
    );

    w.push_str(
        "\n[switch]\n\
         # What happens to the previous live app after the switch:\n\
         #   stop   - stopped, ready for `cf start` if you need it back (default)\n\
         #   keep   - keeps running without routes (doubles the memory in use)\n\
         #   delete - `cf delete APP -f` (a rollback never deletes)\n\
         old = \"stop\"\n\
         # Scale the new version up to the live app's instance count before it takes live traffic.\n\
         # match-instances = true\n\
         # The wait between the old app losing its last live route and its stop, so that\n\
         # requests the routers already sent there finish.\n\
         # drain = \"10s\"\n",
    );

    w.push_str(
        "\n[cf]\n# When set, refuse to deploy unless `cf target` shows this org and space.\n",
    );
    let (org, space) = d
        .target
        .clone()
        .unwrap_or_else(|| ("my-org".into(), "production".into()));
    let _ = writeln!(w, "# org   = {}\n# space = {}", q(&org), q(&space));
    t
}

/// `text` as comment lines of at most 88 characters: the first starts with `first`, the
/// others with `rest`.
fn comment_wrapped(w: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.len() + 1 + word.len() > 88 {
            let _ = writeln!(w, "{line}");
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    let _ = writeln!(w, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cf::memory::MemoryCf;
    use crate::report::Recorder;

    /// The draft for an app holding `routes`, as [`from_app`] makes it.
    fn draft(routes: &[Route]) -> Draft {
        let a = arrange(routes).expect("a main route");
        Draft {
            origin: "a test".into(),
            command: "cf-bluegreen init --from-app web".into(),
            blue: "web".into(),
            green: "web-green".into(),
            blue_note: vec!["now live".into()],
            green_note: vec!["new".into()],
            live: a.live,
            placeholder: false,
            staging: a.staging,
            extra: a.extra,
            notes: left_out_notes(&a.left_out),
            manifest: None,
            manifest_note: None,
            target: Some(("o".into(), "s \"quoted\"".into())),
        }
    }

    fn round_trip(d: &Draft) -> Config {
        let text = render(d);
        check(&text, Path::new("deploy.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn every_kind_of_route_round_trips_through_validation() {
        let routes = [
            Route::new("shop", "apps.internal", None),
            Route::new("web", "example.com", Some("/app")),
            Route::new("www", "shop.com", Some("/Api")),
            Route::tcp("tcp.example.com", 1234),
            // Twice: listed once.
            Route::new("www", "shop.com", Some("/Api")),
            // Nothing the file can name.
            Route::new("", "example.com", None),
        ];
        let d = draft(&routes);
        let c = round_trip(&d);
        assert_eq!(c.blue, "web");
        assert_eq!(c.green, "web-green");
        // The first public HTTP route is the main one, whatever comes before it.
        assert_eq!(
            c.live,
            [
                Route::new("web", "example.com", Some("/app")),
                Route::new("shop", "apps.internal", None),
                Route::new("www", "shop.com", Some("/Api")),
                Route::tcp("tcp.example.com", 1234),
            ]
        );
        assert_eq!(
            c.staging,
            Route::new("web-staging", "example.com", Some("/app"))
        );
        assert_eq!(c.smoke.url, "https://web-staging.example.com/app/");
        assert_eq!(c.smoke.checks[0].expect_status, 200);
        assert!(c.smoke.enabled);
        assert_eq!(d.notes.len(), 1, "{:?}", d.notes);
        assert!(
            d.notes[0].starts_with("example.com is not listed (a route on the bare domain"),
            "{:?}",
            d.notes
        );
        let text = render(&d);
        assert!(text.contains("# - example.com is not listed"), "{text}");
        assert!(
            text.contains("# space = 's \"quoted\"'")
                || text.contains("# space = \"s \\\"quoted\\\"\""),
            "{text}"
        );
    }

    #[test]
    fn one_route_and_no_extra_ones() {
        let c = round_trip(&draft(&[Route::new("web", "example.com", None)]));
        assert_eq!(c.live, [Route::new("web", "example.com", None)]);
        assert_eq!(c.staging.url(), "web-staging.example.com");
    }

    #[test]
    fn the_staging_route_is_one_the_app_does_not_hold() {
        let routes = [
            Route::new("web", "example.com", None),
            Route::new("web-staging", "example.com", None),
        ];
        let c = round_trip(&draft(&routes));
        assert_eq!(c.staging.url(), "web-staging2.example.com");
        assert_eq!(c.live.len(), 2);
        // The longest hostname still leaves room for the suffix.
        let long = "a".repeat(63);
        let c = round_trip(&draft(&[Route::new(&long, "example.com", None)]));
        assert_eq!(c.staging.host, format!("{}-staging", "a".repeat(55)));
    }

    #[test]
    fn without_a_public_http_route_there_is_no_main_route() {
        assert_eq!(arrange(&[]), None);
        let no_public = [
            Route::new("shop", "apps.internal", None),
            Route::tcp("tcp.example.com", 1),
            Route::new("", "example.com", None),
        ];
        assert_eq!(arrange(&no_public), None);
        let e = no_main_route("web", &no_public).to_string();
        assert!(
            e.contains("it holds shop.apps.internal, tcp.example.com:1, example.com"),
            "{e}"
        );
    }

    #[test]
    fn placeholders_validate_and_say_so() {
        let d = from_files(None, Path::new("/home/me/My Shop_2"));
        assert_eq!(
            (d.blue.as_str(), d.green.as_str()),
            ("My Shop_2-blue", "My Shop_2-green")
        );
        let c = round_trip(&d);
        assert_eq!(c.main_live().url(), "my-shop-2.example.com");
        let text = render(&d);
        assert!(
            text.contains("domain  = \"example.com\"   # PLACEHOLDER: edit"),
            "{text}"
        );
        assert!(d.notes[0].contains("placeholders"), "{:?}", d.notes);
        // A name that makes no hostname at all.
        round_trip(&from_files(None, Path::new("/")));
        round_trip(&from_files(None, Path::new("/tmp/___")));
    }

    #[test]
    fn a_manifest_gives_the_name_and_routes() {
        let app = read_manifest(
            "---\napplications:\n- name: shop\n  routes:\n  - route: shop.example.com/api\n  - route: admin.example.com\n  - route: tcp.example.com:2000\n  - route: ((host)).example.com\n",
        )
        .unwrap();
        assert_eq!(app.name.as_deref(), Some("shop"));
        assert_eq!(app.apps, 1);
        let d = from_files(
            Some(&(PathBuf::from("/p/manifest.yml"), app)),
            Path::new("/p"),
        );
        assert_eq!(
            (d.blue.as_str(), d.green.as_str()),
            ("shop-blue", "shop-green")
        );
        assert!(!d.placeholder);
        let c = round_trip(&d);
        assert_eq!(
            c.live,
            [
                Route::new("shop", "example.com", Some("/api")),
                Route::new("admin", "example.com", None),
                Route::tcp("tcp.example.com", 2000),
            ]
        );
        assert!(
            d.notes.iter().any(|n| n.contains("((host))")),
            "{:?}",
            d.notes
        );
        // A name that says which of a pair it is keeps it.
        let app = read_manifest("applications:\n- name: shop-a\n").unwrap();
        let d = from_files(
            Some(&(PathBuf::from("/p/manifest.yml"), app)),
            Path::new("/p"),
        );
        assert_eq!((d.blue.as_str(), d.green.as_str()), ("shop-a", "shop-b"));
        assert!(d.placeholder);
        round_trip(&d);
        assert!(read_manifest("applications: [").is_err());
    }

    #[test]
    fn manifest_routes() {
        assert_eq!(
            manifest_route("a.b.com/x/"),
            Route::new("a", "b.com", Some("/x"))
        );
        assert_eq!(manifest_route("tcp.b.com:80"), Route::tcp("tcp.b.com", 80));
        assert_eq!(manifest_route("b.com"), Route::new("", "b.com", None));
        assert_eq!(
            manifest_route("a.apps.internal"),
            Route::new("a", "apps.internal", None)
        );
    }

    #[test]
    fn counterparts() {
        assert_eq!(counterpart("web-blue").as_deref(), Some("web-green"));
        assert_eq!(counterpart("web_green").as_deref(), Some("web_blue"));
        assert_eq!(counterpart("sinatra_a").as_deref(), Some("sinatra_b"));
        assert_eq!(counterpart("web-b").as_deref(), Some("web-a"));
        assert_eq!(counterpart("web"), None);
        assert_eq!(counterpart("-a"), None);
    }

    #[test]
    fn paths_relative_to_the_file() {
        let rel = |from: &str, to: &str| relative(Path::new(from), Path::new(to));
        assert_eq!(rel("/p", "/p/manifest.yml"), Path::new("manifest.yml"));
        assert_eq!(
            rel("/p/ci", "/p/manifest.yml"),
            Path::new("../manifest.yml")
        );
        assert_eq!(rel("/", "/p/manifest.yml"), Path::new("p/manifest.yml"));
        assert_eq!(
            absolute(Path::new("/p"), Path::new("ci/../x")),
            Path::new("/p/x")
        );
        assert_eq!(absolute(Path::new("/p"), Path::new("")), Path::new("/p"));
    }

    fn from_memory(cf: &MemoryCf, name: &str) -> Result<Draft, Error> {
        from_app(name, cf, &Recorder::default())
    }

    #[test]
    fn an_app_in_cf_becomes_blue_with_its_routes() {
        let cf = MemoryCf::new().app(
            "web",
            true,
            &[
                "web.example.com",
                "web.apps.internal",
                "tcp.example.com:1234",
            ],
        );
        let d = from_memory(&cf, "web").unwrap();
        assert_eq!((d.blue.as_str(), d.green.as_str()), ("web", "web-green"));
        assert!(d.notes.is_empty(), "{:?}", d.notes);
        let c = round_trip(&d);
        assert_eq!(c.live.len(), 3);
        assert_eq!(c.staging.url(), "web-staging.example.com");
        assert!(render(&d).contains("# org   = \"o\"\n# space = \"s\"\n"));
        // Read-only.
        assert!(cf.mutations().is_empty(), "{:?}", cf.mutations());
    }

    #[test]
    fn an_existing_green_app_and_a_stopped_blue_are_told() {
        let cf = MemoryCf::new()
            .app("web-blue", false, &["web.example.com"])
            .app("web-green", true, &[]);
        let d = from_memory(&cf, "web-blue").unwrap();
        assert_eq!(d.green, "web-green");
        assert_eq!(d.notes.len(), 2, "{:?}", d.notes);
        assert!(
            d.notes[0].starts_with("web-blue is stopped"),
            "{:?}",
            d.notes
        );
        assert!(
            d.notes[1].starts_with("an app named web-green exists already in this space (started)"),
            "{:?}",
            d.notes
        );
        round_trip(&d);
    }

    #[test]
    fn an_app_not_in_the_space_or_without_routes_is_refused() {
        let cf = MemoryCf::new().app("web", true, &[]);
        let e = from_memory(&cf, "nope").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "there is no app named nope in org o / space s"
        );
        assert!(crate::hint::Hint::hint(&e).unwrap().contains("cf apps"));
        let e = from_memory(&cf, "web").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().starts_with("web holds no route"), "{e}");
        let e = from_memory(&MemoryCf::new().logged_out(), "web").unwrap_err();
        assert_eq!(e.to_string(), "cf is not logged in");
        let e = from_memory(&MemoryCf::new().no_target(), "web").unwrap_err();
        assert_eq!(e.to_string(), "cf has no org and space targeted");
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn route() -> impl Strategy<Value = Route> {
            let host = prop_oneof![Just(String::new()), "[a-zA-Z0-9_-]{1,70}"];
            let domain = prop_oneof![
                Just("example.com".to_string()),
                Just("apps.internal".to_string()),
                "[a-z0-9-]{0,10}(\\.[a-z0-9-]{0,10}){0,3}",
            ];
            let path = prop::option::of("/[a-zA-Z0-9/ ?#_-]{0,8}");
            prop_oneof![
                3 => (host, domain.clone(), path).prop_map(|(h, d, p)| Route::new(&h, &d, p.as_deref())),
                1 => (domain, any::<u16>()).prop_map(|(d, port)| Route::tcp(&d, port)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]

            /// Whatever routes an app holds, init writes a valid file or refuses.
            #[test]
            fn any_routes_give_a_valid_file_or_a_refusal(routes in prop::collection::vec(route(), 0..8)) {
                if let Some(a) = arrange(&routes) {
                    let d = draft(&routes);
                    let c = round_trip(&d);
                    prop_assert_eq!(c.live.len(), 1 + a.extra.len());
                    prop_assert!(c.live.iter().all(|r| routes.contains(r)));
                }
            }
        }
    }
}
