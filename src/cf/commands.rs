//! The cf command lines the tool runs to change things. The executor runs them and the
//! dry run prints them, so both are built here, once.

use super::CfCommand;
use crate::metadata;
use crate::route::Route;

fn route_command(verb: &str, app: &str, route: &Route) -> CfCommand {
    let mut args = vec![verb.to_string(), app.to_string()];
    args.extend(route.cf_args());
    CfCommand { args }
}

/// `cf map-route APP DOMAIN --hostname HOST [--path PATH]`
pub fn map_route(app: &str, route: &Route) -> CfCommand {
    route_command("map-route", app, route)
}

/// `cf unmap-route APP DOMAIN --hostname HOST [--path PATH]`
pub fn unmap_route(app: &str, route: &Route) -> CfCommand {
    route_command("unmap-route", app, route)
}

pub fn start(app: &str) -> CfCommand {
    CfCommand::new(["start", app])
}

pub fn stop(app: &str) -> CfCommand {
    CfCommand::new(["stop", app])
}

/// Never `-r`: the routes may be shared with the other app.
pub fn delete(app: &str) -> CfCommand {
    CfCommand::new(["delete", app, "-f"])
}

/// `cf curl /v3/apps/GUID -X PATCH -d BODY`: sets (or, with `None`, removes) annotations.
pub fn annotate(guid: &str, values: &[(String, Option<String>)]) -> CfCommand {
    CfCommand::new([
        "curl".to_string(),
        format!("/v3/apps/{guid}"),
        "-X".into(),
        "PATCH".into(),
        "-d".into(),
        metadata::patch_body(values),
    ])
}
