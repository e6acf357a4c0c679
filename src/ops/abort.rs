//! `cf-bluegreen abort`: take the version `deploy --no-switch` staged off the staging
//! route and stop it; the live app is not touched.

use super::{switch, SwitchOptions};
use crate::context::Context;
use crate::error::Error;
use crate::plan::Kind;

pub fn abort(ctx: &Context, options: SwitchOptions) -> Result<(), Error> {
    switch::switch(ctx, Kind::Abort, options)
}
