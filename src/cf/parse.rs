//! Parsers for the human-readable output of `cf version`, `cf target` and `cf app`.
//!
//! They read only the lines they need and ignore the rest: the formats drift between cf
//! releases (v6 `urls:` vs `routes:`, new instance-table columns in v8).

use crate::route::normalize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u32,
    /// As printed, e.g. `8.7.10+5b7ce3c.2024-04-04`.
    pub full: String,
}

/// `cf version 8.7.10+5b7ce3c.2024-04-04`; the first word may be `cf7` or `cf.exe`.
pub fn parse_version(stdout: &str) -> Option<Version> {
    stdout.lines().find_map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "version")?;
        let full = words.get(at + 1)?;
        let major = full.split(['.', '+', '-']).next()?.parse().ok()?;
        Some(Version {
            major,
            full: full.to_string(),
        })
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub api: Option<String>,
    pub user: Option<String>,
    pub org: Option<String>,
    pub space: Option<String>,
}

/// `cf target` rows; v6 writes `api endpoint:` in lower case, v7+ `API endpoint:`.
pub fn parse_target(stdout: &str) -> Target {
    let mut t = Target::default();
    for line in stdout.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let value = Some(value.to_string());
        match key.trim().to_ascii_lowercase().as_str() {
            "api endpoint" => t.api = value,
            "user" => t.user = value,
            "org" => t.org = value,
            "space" => t.space = value,
            _ => {}
        }
    }
    t
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedState {
    Started,
    Stopped,
}

/// What `cf app NAME` says about an app that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppStatus {
    pub requested_state: RequestedState,
    /// Normalized `host.domain/path` strings.
    pub routes: Vec<String>,
    /// One entry per instance row: `running`, `starting`, `crashed`, `down`.
    pub instances: Vec<String>,
}

impl AppStatus {
    pub fn started(&self) -> bool {
        self.requested_state == RequestedState::Started
    }

    pub fn running_instances(&self) -> usize {
        self.instances.iter().filter(|s| *s == "running").count()
    }
}

/// Parses `cf app NAME` for an app that exists; `None` if the output has no
/// `requested state:` row (not an app status at all).
pub fn parse_app(stdout: &str) -> Option<AppStatus> {
    let mut state = None;
    let mut routes = Vec::new();
    let mut instances = Vec::new();
    for line in stdout.lines() {
        let trimmed = line.trim();
        if let Some(v) = trimmed.strip_prefix("requested state:") {
            state = match v.trim().to_ascii_lowercase().as_str() {
                "started" => Some(RequestedState::Started),
                "stopped" => Some(RequestedState::Stopped),
                _ => None,
            };
        } else if let Some(v) = trimmed
            .strip_prefix("routes:")
            .or_else(|| trimmed.strip_prefix("urls:"))
        {
            routes = v
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(normalize)
                .collect();
        } else if let Some(rest) = trimmed.strip_prefix('#') {
            let mut words = rest.split_whitespace();
            let index_ok = words.next().is_some_and(|i| i.parse::<u32>().is_ok());
            if let (true, Some(s)) = (index_ok, words.next()) {
                instances.push(s.to_ascii_lowercase());
            }
        }
    }
    Some(AppStatus {
        requested_state: state?,
        routes,
        instances,
    })
}

/// `App 'NAME' not found.` (v7+, stderr) or `App NAME not found` (old v6, stdout).
pub fn is_app_not_found(name: &str, output: &str) -> bool {
    output.contains(&format!("App '{name}' not found"))
        || output.contains(&format!("App {name} not found"))
}

/// What cf answers an unmap whose route is already gone from the app: the route does not
/// exist at all (`Route with host 'h', domain 'd', and path '/p' not found.`, v6 `...
/// does not exist`), is not mapped to it (`not currently mapped`), or the app is gone.
/// The unmap's purpose holds either way.
pub fn is_already_unmapped(app: &str, output: &str) -> bool {
    let route_gone = output.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("route") && (l.contains("not found") || l.contains("does not exist"))
    });
    route_gone || output.contains("not currently mapped") || is_app_not_found(app, output)
}

/// `Not logged in. Use 'cf login' ...`
pub fn is_not_logged_in(output: &str) -> bool {
    output.contains("Not logged in")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmaps_that_found_nothing_to_do() {
        for out in [
            "Route with host 'live', domain 'd.com', and path '/api' not found.\nFAILED",
            "FAILED\nRoute live.d.com does not exist.",
            "Route is not currently mapped to app a",
            "App 'a' not found.",
        ] {
            assert!(is_already_unmapped("a", out), "{out}");
        }
        assert!(!is_already_unmapped("a", "Server error, status code: 502"));
        assert!(!is_already_unmapped("a", "App 'b' not found."));
    }

    const V8_APP: &str = "Showing health and status for app myapp in org my-org / space dev as admin...

name:              myapp
requested state:   started
routes:            myapp.apps.example.com, other.example.com/api
last uploaded:     Tue 14 Nov 07:44:43 UTC 2023
stack:             cflinuxfs4
buildpacks:        
\tname                   version   detect output   buildpack name
\tstaticfile_buildpack   1.6.9     staticfile      staticfile

type:           web
sidecars:       
instances:      2/2
memory usage:   256M
     state     since                  cpu    memory         disk         logging        cpu entitlement   details
#0   running   2023-11-14T07:45:59Z   0.0%   9.4M of 256M   6.5M of 1G   0/s of 16K/s   0.0%              
#1   crashed   2023-11-14T07:45:59Z   0.0%   9.4M of 256M   6.5M of 1G   0/s of 16K/s   0.0%              
";

    const V7_STOPPED_NO_ROUTES: &str =
        "Showing health and status for app myapp in org my-org / space dev as admin...

name:              myapp
requested state:   stopped
routes:            
last uploaded:     Tue 14 Nov 07:44:43 UTC 2023
stack:             cflinuxfs3
buildpacks:        
\tname           version   detect output   buildpack name
\truby_buildpack 1.8.0     ruby            ruby

type:           web
sidecars:       
instances:      0/1
memory usage:   256M
There are no running instances of this process.
";

    const V6_APP: &str =
        "Showing health and status for app myapp in org my-org / space dev as admin...

name:              myapp
requested state:   started
routes:            myapp.example.com/v1
last uploaded:     Tue 14 Nov 07:44:43 UTC 2023
stack:             cflinuxfs3
buildpacks:        ruby

type:           web
instances:      1/1
memory usage:   256M
     state     since                  cpu    memory         disk           details
#0   running   2023-11-14T07:45:59Z   0.0%   9.4M of 256M   6.5M of 1G
";

    const V6_OLD_APP: &str =
        "Showing health and status for app myapp in org o / space s as admin...
OK

requested state: started
instances: 1/1
usage: 256M x 1 instances
urls: MyApp.Example.com, b.example.com
last uploaded: Tue Nov 14 07:44:43 UTC 2017
stack: cflinuxfs2
buildpack: ruby

     state     since                    cpu    memory          disk          details
#0   running   2017-11-14 07:45:59 AM   0.0%   9.4M of 256M    6.5M of 1G
";

    #[test]
    fn v8_app_with_several_routes_and_a_path() {
        let a = parse_app(V8_APP).unwrap();
        assert!(a.started());
        assert_eq!(
            a.routes,
            ["myapp.apps.example.com", "other.example.com/api"]
        );
        assert_eq!(a.instances, ["running", "crashed"]);
        assert_eq!(a.running_instances(), 1);
    }

    #[test]
    fn v7_stopped_app_without_routes() {
        let a = parse_app(V7_STOPPED_NO_ROUTES).unwrap();
        assert_eq!(a.requested_state, RequestedState::Stopped);
        assert!(a.routes.is_empty());
        assert!(a.instances.is_empty());
    }

    #[test]
    fn v6_app() {
        let a = parse_app(V6_APP).unwrap();
        assert!(a.started());
        assert_eq!(a.routes, ["myapp.example.com/v1"]);
        assert_eq!(a.instances, ["running"]);
    }

    #[test]
    fn old_v6_urls_row() {
        let a = parse_app(V6_OLD_APP).unwrap();
        assert_eq!(a.routes, ["myapp.example.com", "b.example.com"]);
        assert_eq!(a.running_instances(), 1);
    }

    #[test]
    fn not_an_app_status() {
        assert_eq!(parse_app("FAILED\n"), None);
    }

    #[test]
    fn not_found_in_every_version() {
        assert!(is_app_not_found("myapp", "App 'myapp' not found.\n"));
        assert!(is_app_not_found("myapp", "FAILED\nApp myapp not found\n"));
        assert!(!is_app_not_found("myapp", "App 'other' not found.\n"));
    }

    #[test]
    fn versions() {
        let v = parse_version("cf version 8.7.10+5b7ce3c.2024-04-04\n").unwrap();
        assert_eq!((v.major, v.full.as_str()), (8, "8.7.10+5b7ce3c.2024-04-04"));
        assert_eq!(
            parse_version("cf7 version 7.2.0+be4a5ce2b.2020-12-10")
                .unwrap()
                .major,
            7
        );
        assert_eq!(
            parse_version("cf.exe version 6.53.0+8e2b70a4a.2020-10-01")
                .unwrap()
                .major,
            6
        );
        assert_eq!(parse_version("something else"), None);
    }

    #[test]
    fn target_v8_and_v6() {
        let v8 = "API endpoint:   https://api.example.com\nAPI version:    3.180.0\nuser:           admin\norg:            my-org\nspace:          dev\n";
        let t = parse_target(v8);
        assert_eq!(t.api.as_deref(), Some("https://api.example.com"));
        assert_eq!(t.user.as_deref(), Some("admin"));
        assert_eq!(t.org.as_deref(), Some("my-org"));
        assert_eq!(t.space.as_deref(), Some("dev"));
        let v6 = "api endpoint:   https://api.example.com\napi version:    2.150.0\nuser:           admin\nNo org or space targeted, use 'cf target -o ORG -s SPACE'\n";
        let t = parse_target(v6);
        assert_eq!(t.api.as_deref(), Some("https://api.example.com"));
        assert_eq!(t.org, None);
        assert_eq!(t.space, None);
    }
}
