//! The JSON of the Cloud Controller's v3 API and the policy server, read through `cf
//! curl`: the same for cf v6, v7 and v8 (v6/v7 re-indent it, v8 prints it raw — parse,
//! never compare text). `cf curl` exits 0 on HTTP errors, so every body is checked for an
//! error first.

use std::collections::BTreeMap;

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
    #[serde(default)]
    code: u32,
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
    #[serde(default)]
    next: Option<Link>,
}

#[derive(Debug, Deserialize)]
struct Link {
    href: String,
}

impl<T> Page<T> {
    /// The path of the next page, for `cf curl` (which takes a path, not a URL).
    fn next(&self) -> Option<String> {
        let href = &self.pagination.as_ref()?.next.as_ref()?.href;
        let path = match href.find("://") {
            Some(at) => {
                let rest = &href[at + 3..];
                &rest[rest.find('/').unwrap_or(rest.len())..]
            }
            None => href.as_str(),
        };
        (!path.is_empty()).then(|| path.to_string())
    }
}

/// One page of a list, and the path of the next one if there is more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Percent-encodes a value for a query string: everything but RFC 3986's unreserved
/// characters. App names may hold spaces, `&` or `#`.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The values of a list filter (`names=a,b`): each encoded, joined by commas.
pub fn list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| encode(v))
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    annotations: BTreeMap<String, Option<String>>,
}

impl Metadata {
    fn annotations(self) -> BTreeMap<String, String> {
        self.annotations
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }
}

#[derive(Debug, Deserialize)]
struct ToOne {
    data: Option<GuidRef>,
}

#[derive(Debug, Deserialize)]
struct GuidRef {
    guid: String,
}

/// An app as `GET /v3/apps` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub guid: String,
    pub name: String,
    /// `STARTED` or `STOPPED`.
    pub started: bool,
    pub annotations: BTreeMap<String, String>,
    pub space_guid: String,
    /// From `include=space.organization`: the space's and its org's names.
    pub space: Option<String>,
    pub org: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AppResource {
    guid: String,
    name: String,
    state: String,
    #[serde(default)]
    metadata: Metadata,
    relationships: AppRelationships,
}

#[derive(Debug, Deserialize)]
struct AppRelationships {
    space: ToOne,
}

#[derive(Debug, Deserialize)]
struct NamedResource {
    guid: String,
    name: String,
    #[serde(default)]
    relationships: Option<SpaceRelationships>,
}

#[derive(Debug, Deserialize)]
struct SpaceRelationships {
    organization: ToOne,
}

#[derive(Debug, Default, Deserialize)]
struct Included {
    #[serde(default)]
    spaces: Vec<NamedResource>,
    #[serde(default)]
    organizations: Vec<NamedResource>,
}

#[derive(Debug, Deserialize)]
struct AppsPage {
    #[serde(flatten)]
    page: Page<AppResource>,
    #[serde(default)]
    included: Included,
}

/// `GET /v3/apps?names=...&include=space.organization`: the apps, each with the names
/// of its space and org (from `included`).
pub fn parse_apps(body: &str) -> Result<Listed<App>, String> {
    let AppsPage { page, included } = parse(body, "a list of apps")?;
    let next = page.next();
    let items = page
        .resources
        .into_iter()
        .map(|a| {
            let space_guid = a
                .relationships
                .space
                .data
                .map(|d| d.guid)
                .ok_or_else(|| format!("the app {} has no space", a.name))?;
            let space = included.spaces.iter().find(|s| s.guid == space_guid);
            let org = space
                .and_then(|s| s.relationships.as_ref())
                .and_then(|r| r.organization.data.as_ref())
                .and_then(|o| included.organizations.iter().find(|x| x.guid == o.guid));
            Ok(App {
                started: a.state.eq_ignore_ascii_case("STARTED"),
                guid: a.guid,
                name: a.name,
                annotations: a.metadata.annotations(),
                space: space.map(|s| s.name.clone()),
                org: org.map(|o| o.name.clone()),
                space_guid,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Listed { items, next })
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
    #[serde(default)]
    destinations: Vec<DestinationResource>,
}

#[derive(Debug, Deserialize)]
struct DestinationResource {
    app: GuidRef,
}

/// A route and the GUIDs of the apps it is mapped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRoute {
    pub route: Route,
    pub apps: Vec<String>,
}

/// `GET /v3/routes?app_guids=...`: every route mapped to any of the apps, with all its
/// destinations.
pub fn parse_mapped_routes(body: &str) -> Result<Listed<MappedRoute>, String> {
    let page: Page<RouteResource> = parse(body, "a list of routes")?;
    let next = page.next();
    let items = page
        .resources
        .iter()
        .map(|r| {
            Ok(MappedRoute {
                route: route_of(r)?,
                apps: r.destinations.iter().map(|d| d.app.guid.clone()).collect(),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Listed { items, next })
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

/// `GET /v3/apps/GUID/processes/web/stats`: each instance's state, as `cf app` prints
/// it (`running`, `starting`, `crashed`, `down`).
pub fn parse_instance_states(body: &str) -> Result<Vec<String>, String> {
    let page: Page<Stat> = parse(body, "process stats")?;
    Ok(page
        .resources
        .iter()
        .map(|s| s.state.to_ascii_lowercase())
        .collect())
}

/// A service instance, as the v3 API shows one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInstance {
    pub guid: String,
    pub name: String,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct ServiceInstanceResource {
    guid: String,
    name: String,
    #[serde(default)]
    metadata: Metadata,
}

impl From<ServiceInstanceResource> for ServiceInstance {
    fn from(r: ServiceInstanceResource) -> ServiceInstance {
        ServiceInstance {
            guid: r.guid,
            name: r.name,
            annotations: r.metadata.annotations(),
        }
    }
}

/// What `POST /v3/service_instances` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// 201: the instance is ours.
    Instance(ServiceInstance),
    /// 422: an instance of that name exists in the space.
    NameTaken,
}

/// Whether an API error says that the name is taken. A duplicate user-provided instance
/// is `CF-UnprocessableEntity` (10008) "The service instance name is taken: NAME."
/// (cloud_controller_ng, `ServiceInstanceCreateMixin#validation_error!`); older Cloud
/// Controllers and the v2 API said `CF-ServiceInstanceNameTaken` (60002). 10008 alone
/// is any unprocessable request (a quota, a bad space), so it needs the detail too.
fn name_taken(e: &V3Error) -> bool {
    e.code == 60002
        || e.title == "CF-ServiceInstanceNameTaken"
        || (e.code == 10008 || e.title == "CF-UnprocessableEntity")
            && e.detail.to_ascii_lowercase().contains("name is taken")
}

/// The answer to `POST /v3/service_instances`.
pub fn parse_created(body: &str) -> Result<Created, String> {
    if let Ok(e) = serde_json::from_str::<V3Errors>(body) {
        if e.errors.iter().any(name_taken) {
            return Ok(Created::NameTaken);
        }
    }
    let r: ServiceInstanceResource = parse(body, "a service instance")?;
    Ok(Created::Instance(r.into()))
}

/// `GET /v3/service_instances?names=...&space_guids=...`.
pub fn parse_service_instances(body: &str) -> Result<Listed<ServiceInstance>, String> {
    let page: Page<ServiceInstanceResource> = parse(body, "a list of service instances")?;
    let next = page.next();
    Ok(Listed {
        items: page.resources.into_iter().map(Into::into).collect(),
        next,
    })
}

/// The answer to `DELETE /v3/service_instances/GUID`: 204 and no body for a
/// user-provided instance; an instance already gone (404) is deleted as well.
pub fn parse_deleted(body: &str) -> Result<(), String> {
    if body.trim().is_empty() {
        return Ok(());
    }
    if let Ok(e) = serde_json::from_str::<V3Errors>(body) {
        if e.errors
            .iter()
            .all(|e| e.code == 60004 || e.title == "CF-ResourceNotFound")
        {
            return Ok(());
        }
    }
    if serde_json::from_str::<serde_json::Value>(body).is_err() {
        // Not the Cloud Controller's answer (a router's error page, a proxy's): the lock
        // may still be there, and a release taken for done would block the next deploy
        // for lock.stale-after.
        let shown: String = body.trim().chars().take(200).collect();
        return Err(format!(
            "an answer that is not the Cloud Controller's JSON: {shown}"
        ));
    }
    match api_error(body) {
        Some(e) => Err(e),
        // 202 with a job: the deletion goes on in the background.
        None => Ok(()),
    }
}

/// The answer to `PATCH /v3/service_instances/GUID`: for a user-provided instance the
/// update is synchronous, 200 with the instance; `None` when it is gone (404), which for
/// the lock means that another run broke it.
pub fn parse_patched(body: &str) -> Result<Option<ServiceInstance>, String> {
    if let Ok(e) = serde_json::from_str::<V3Errors>(body) {
        if !e.errors.is_empty()
            && e.errors
                .iter()
                .all(|e| e.code == 10010 || e.code == 60004 || e.title == "CF-ResourceNotFound")
        {
            return Ok(None);
        }
    }
    let r: ServiceInstanceResource = parse(body, "a service instance")?;
    Ok(Some(r.into()))
}

/// The body of `PATCH /v3/service_instances/GUID` that sets annotations (the others
/// stay as they are).
pub fn annotations_body(annotations: &[(&str, &str)]) -> String {
    let annotations: serde_json::Map<String, serde_json::Value> = annotations
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    serde_json::json!({ "metadata": { "annotations": annotations } }).to_string()
}

/// The body of `POST /v3/service_instances` for a user-provided instance.
pub fn user_provided_body(
    name: &str,
    space_guid: &str,
    tags: &[&str],
    annotations: &[(&str, &str)],
) -> String {
    let annotations: serde_json::Map<String, serde_json::Value> = annotations
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    serde_json::json!({
        "type": "user-provided",
        "name": name,
        "relationships": { "space": { "data": { "guid": space_guid } } },
        "tags": tags,
        "metadata": { "annotations": annotations },
    })
    .to_string()
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
    fn a_deleted_lock_is_told_from_a_page_that_is_not_the_api() {
        assert_eq!(parse_deleted(""), Ok(()));
        assert_eq!(
            parse_deleted(
                r#"{"errors":[{"code":60004,"title":"CF-ResourceNotFound","detail":"Service instance not found"}]}"#
            ),
            Ok(())
        );
        let err = parse_deleted("<html><body>502 Bad Gateway</body></html>").unwrap_err();
        assert!(
            err.contains("not the Cloud Controller's JSON: <html>"),
            "{err}"
        );
        assert!(parse_deleted(
            r#"{"errors":[{"code":10001,"title":"CF-Unknown","detail":"boom"}]}"#
        )
        .is_err());
    }

    #[test]
    fn a_patched_lock_a_gone_one_and_an_error() {
        let instance = r#"{"guid":"g1","name":"lock","type":"user-provided","metadata":{"labels":{},"annotations":{"cf-bluegreen/lock":"me since 2026-11-26T08:00:00Z token t"}}}"#;
        let patched = parse_patched(instance).unwrap().unwrap();
        assert_eq!(patched.guid, "g1");
        assert_eq!(
            patched.annotations["cf-bluegreen/lock"],
            "me since 2026-11-26T08:00:00Z token t"
        );
        assert_eq!(
            parse_patched(
                r#"{"errors":[{"detail":"Service instance not found","title":"CF-ResourceNotFound","code":10010}]}"#
            ),
            Ok(None)
        );
        let err = parse_patched(
            r#"{"errors":[{"code":10003,"title":"CF-NotAuthorized","detail":"You are not authorized to perform the requested action"}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("CF-NotAuthorized"), "{err}");
        assert!(parse_patched("<html>502</html>").is_err());
        assert_eq!(
            annotations_body(&[("cf-bluegreen/lock", "me since T token t")]),
            r#"{"metadata":{"annotations":{"cf-bluegreen/lock":"me since T token t"}}}"#
        );
    }

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
