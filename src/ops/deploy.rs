//! `cf-bluegreen deploy`: push the new version to the idle app, check it on the staging
//! route, switch the live routes to it.

use super::{switch, SwitchOptions};
use crate::context::Context;
use crate::error::Error;
use crate::plan::Kind;
use crate::preflight;

pub fn deploy(ctx: &Context, options: SwitchOptions) -> Result<(), Error> {
    // Files the push needs are checked before cf is even asked anything.
    preflight::check_push_files(ctx.config)?;
    switch::switch(ctx, Kind::Deploy, options)
}
