//! The JSON of the Cloud Controller's v3 API and the policy server, read through `cf
//! curl`: the same for cf v6, v7 and v8 (v6/v7 re-indent it, v8 prints it raw — parse,
//! never compare text). `cf curl` exits 0 on HTTP errors, so every body is checked for an
//! error first.

use serde::{Deserialize, Serialize};

use crate::route::Route;

#[derive(Debug, Deserialize)]
struct V3Errors {
    errors: Vec<V3Error>,
}

#[derive(Debug, Deserialize)]
struct V3Error {
    #[serde(default)]
    detail: String,
    #[serde(default)]
    title: String,
}

/// The policy server and the v2 API answer errors in other shapes.
#[derive(Debug, Deserialize)]
struct OtherError {
    #[serde(alias = "description", alias = "message")]
    error: String,
}

/// The error an API body carries, if it is one.
pub fn api_error(body: &str) -> Option<String> {
    if let Ok(e) = serde_json::from_str::<V3Errors>(body) {
        let msgs: Vec<String> = e
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.title, e.detail))
            .collect();
        return Some(format!("the API answered {}", msgs.join("; ")));
    }
    if let Ok(e) = serde_json::from_str::<OtherError>(body) {
        return Some(format!("the API answered {}", e.error));
    }
    None
}

fn parse<'a, T: Deserialize<'a>>(body: &'a str, what: &str) -> Result<T, String> {
    if let Some(e) = api_error(body) {
        return Err(e);
    }
    serde_json::from_str(body)
        .map_err(|e| format!("the API answered something that is not {what} ({e})"))
}

#[derive(Debug, Deserialize)]
struct Page<T> {
    resources: Vec<T>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Debug, Deserialize)]
struct Pagination {
    #[serde(default)]
    total_results: usize,
}

#[derive(Debug, Deserialize)]
struct RouteResource {
    #[serde(default)]
    host: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    port: Option<u16>,
    url: String,
}

/// `GET /v3/apps/GUID/routes`: every route the app holds, HTTP (internal ones included)
/// and TCP.
pub fn parse_routes(body: &str) -> Result<Vec<Route>, String> {
    let page: Page<RouteResource> = parse(body, "a list of routes")?;
    if let Some(p) = &page.pagination {
        if p.total_results > page.resources.len() {
            return Err(format!(
                "the API listed {} of the app's {} routes",
                page.resources.len(),
                p.total_results
            ));
        }
    }
    page.resources.iter().map(route_of).collect()
}

fn route_of(r: &RouteResource) -> Result<Route, String> {
    // The domain's name is not in the resource, only its GUID; the URL holds it.
    let url = r.url.trim().to_ascii_lowercase();
    if let Some(port) = r.port {
        let domain = url
            .strip_suffix(&format!(":{port}"))
            .ok_or_else(|| format!("the TCP route {url} does not end in :{port}"))?;
        return Ok(Route::tcp(domain, port));
    }
    let host = r.host.to_ascii_lowercase();
    let without_path = match r.path.as_str() {
        "" => url.as_str(),
        p => url
            .strip_suffix(&p.to_ascii_lowercase())
            .ok_or_else(|| format!("the route {url} does not end in its path {p}"))?,
    };
    let domain = if host.is_empty() {
        without_path
    } else {
        without_path
            .strip_prefix(&format!("{host}."))
            .ok_or_else(|| format!("the route {url} does not start with its host {host}"))?
    };
    // Keep the path's own case: paths are case-sensitive.
    let path = (!r.path.is_empty()).then_some(r.path.as_str());
    Ok(Route::new(&host, domain, path))
}

/// What `GET /v3/apps/GUID/processes/web` says of the app's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Process {
    pub instances: u32,
    pub memory_in_mb: u64,
    pub disk_in_mb: u64,
}

pub fn parse_process(body: &str) -> Result<Process, String> {
    parse(body, "a process")
}

#[derive(Debug, Deserialize)]
struct Stat {
    state: String,
}

/// `GET /v3/apps/GUID/processes/web/stats`: how many instances run, of how many.
pub fn parse_running(body: &str) -> Result<(u32, u32), String> {
    let page: Page<Stat> = parse(body, "process stats")?;
    let running = page
        .resources
        .iter()
        .filter(|s| s.state.eq_ignore_ascii_case("running"))
        .count();
    Ok((running as u32, page.resources.len() as u32))
}

/// A container-to-container network policy, as the policy server names it: app GUIDs,
/// a protocol and a port range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Policy {
    pub source: Source,
    pub destination: Destination,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Source {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Destination {
    pub id: String,
    pub protocol: String,
    pub ports: Ports,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ports {
    pub start: u16,
    pub end: u16,
}

#[derive(Debug, Deserialize, Serialize)]
struct Policies {
    #[serde(default)]
    policies: Vec<Policy>,
}

/// `GET /networking/v1/external/policies?id=GUID`: every policy naming the app, as
/// source or as destination.
pub fn parse_policies(body: &str) -> Result<Vec<Policy>, String> {
    Ok(parse::<Policies>(body, "a list of network policies")?.policies)
}

/// The body of `POST /networking/v1/external/policies`.
pub fn policies_body(policies: &[Policy]) -> String {
    serde_json::to_string(&Policies {
        policies: policies.to_vec(),
    })
    .expect("policies serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_of_every_kind() {
        let body = r#"{"pagination":{"total_results":4},"resources":[
            {"host":"live","path":"","port":null,"url":"live.example.com","protocol":"http"},
            {"host":"shop","path":"","port":null,"url":"shop.apps.internal","protocol":"http"},
            {"host":"www","path":"/Api","port":null,"url":"www.shop.com/Api","protocol":"http"},
            {"host":"","path":"","port":1234,"url":"tcp.example.com:1234","protocol":"tcp"}]}"#;
        let routes = parse_routes(body).unwrap();
        assert_eq!(
            routes,
            [
                Route::new("live", "example.com", None),
                Route::new("shop", "apps.internal", None),
                Route::new("www", "shop.com", Some("/Api")),
                Route::tcp("tcp.example.com", 1234),
            ]
        );
        assert_eq!(routes[2].url(), "www.shop.com/Api");
    }

    #[test]
    fn errors_and_partial_pages() {
        let e = parse_routes(
            r#"{"errors":[{"detail":"App not found","title":"CF-ResourceNotFound","code":10010}]}"#,
        )
        .unwrap_err();
        assert_eq!(e, "the API answered CF-ResourceNotFound: App not found");
        let e = parse_routes(r#"{"pagination":{"total_results":60},"resources":[]}"#).unwrap_err();
        assert!(e.contains("listed 0 of the app's 60 routes"), "{e}");
        assert!(parse_routes("REQUEST: GET /v3/apps").is_err());
    }

    #[test]
    fn process_stats_and_policies() {
        let p = parse_process(
            r#"{"guid":"p","type":"web","instances":3,"memory_in_mb":512,"disk_in_mb":1024}"#,
        )
        .unwrap();
        assert_eq!(p.instances, 3);
        let running = parse_running(
            r#"{"resources":[{"index":0,"state":"RUNNING"},{"index":1,"state":"STARTING"}]}"#,
        )
        .unwrap();
        assert_eq!(running, (1, 2));
        let body = r#"{"total_policies":1,"policies":[{"source":{"id":"f"},"destination":{"id":"a","protocol":"tcp","ports":{"start":8080,"end":8080}}}]}"#;
        let policies = parse_policies(body).unwrap();
        assert_eq!(policies[0].destination.ports.start, 8080);
        assert_eq!(
            policies_body(&policies),
            r#"{"policies":[{"source":{"id":"f"},"destination":{"id":"a","protocol":"tcp","ports":{"start":8080,"end":8080}}}]}"#
        );
        assert!(
            parse_policies(r#"{"error":"token missing scope network.write"}"#)
                .unwrap_err()
                .contains("network.write")
        );
    }
}
