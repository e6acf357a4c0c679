//! `cf-bluegreen rollback`: start the previous version on the idle app, check it, switch
//! the live routes back to it.

use super::{switch, SwitchOptions};
use crate::context::Context;
use crate::error::Error;
use crate::plan::Kind;

pub fn rollback(ctx: &Context, options: SwitchOptions) -> Result<(), Error> {
    switch::switch(ctx, Kind::Rollback, options)
}
