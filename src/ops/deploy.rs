//! `cf-bluegreen deploy`: push the new version to the idle app, check it on the staging
//! route, switch the live routes to it — or, with `--no-switch`, leave it there for
//! `promote`.

use super::{switch, SwitchOptions};
use crate::context::Context;
use crate::error::Error;
use crate::plan::Kind;
use crate::preflight;

pub fn deploy(ctx: &Context, options: SwitchOptions) -> Result<(), Error> {
    deploy_kind(ctx, Kind::Deploy, options)
}

/// A deploy, or with `Kind::Stage` a deploy that stops before the switch
/// (`deploy --no-switch`).
pub fn deploy_kind(ctx: &Context, kind: Kind, options: SwitchOptions) -> Result<(), Error> {
    // Files the push needs are checked before cf is even asked anything.
    preflight::check_push_files(ctx.config)?;
    switch::switch(ctx, kind, options)
}
