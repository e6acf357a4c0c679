//! One integration-test binary: the real cf-bluegreen against the fake cf in fixtures/.

mod support;

mod after_switch_back;
mod bad_input;
mod ci_recipes;
mod cli;
mod config_errors;
mod deploy;
mod environment;
mod failures;
mod fake_cf;
mod heartbeat;
mod init;
mod interrupts;
mod json;
mod labels;
mod lock;
mod matrix;
mod output;
mod promote;
mod real_cf;
mod resume;
mod rollback;
mod rounds;
mod smoke_checks;
mod status;
mod suite;
mod verify;
