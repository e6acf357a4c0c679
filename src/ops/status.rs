//! `cf-bluegreen status`: both apps, their state, routes and records, and which one is
//! live. Read-only.

use crate::context::Context;
use crate::error::Error;
use crate::preflight;
use crate::report::Event;

pub fn status(ctx: &Context) -> Result<(), Error> {
    let observed = preflight::preflight(ctx)?;
    ctx.events.emit(Event::Status {
        config: ctx.config,
        pair: &observed.pair,
        meta: &observed.meta,
    });
    Ok(())
}
