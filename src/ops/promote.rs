//! `cf-bluegreen promote`: check the version `deploy --no-switch` staged again, on the
//! staging route, then switch the live routes to it as a deploy does.

use super::{switch, SwitchOptions};
use crate::context::Context;
use crate::error::Error;
use crate::plan::Kind;

pub fn promote(ctx: &Context, options: SwitchOptions) -> Result<(), Error> {
    switch::switch(ctx, Kind::Promote, options)
}
