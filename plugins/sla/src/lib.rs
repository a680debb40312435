//! The `sla` step: every ticket's deadlines, on the right clock.
//!
//! For each ticket event it answers `set-deadline` decisions, one per matching policy and
//! target (first-response, next-response, resolution), each with its warnings and the evidence
//! behind it: which policy matched and why, which clock, which holidays and closed days were
//! skipped. Several policies can apply at once: the marketplace's 24/7 clock and the team's
//! business-hours clock side by side. The engine keeps deadlines and warnings as durable timers.
//!
//! # Layout
//! - [`config`]: the `with:` file format (policies, calendars).
//! - [`policy`]: checks and compiles it; durations with units; policy matching.
//! - [`calendar`]: business calendars and business-time arithmetic across DST transitions.
//! - [`holidays`]: public holidays of 251 countries and their regions, 1970..=2100, generated
//!   from python-holidays into rules and date lists (`holiday_data` reads the generated file).
//! - [`step`]: which event starts which clock, and the decisions.
//! - [`check`]: the configuration check the engine runs when a workflow loads.

pub mod calendar;
pub mod check;
pub mod config;
mod holiday_data;
pub mod holidays;
pub mod policy;
pub mod step;

pub use calendar::{Calendar, add_business_duration, business_duration_between};
pub use config::Config;
pub use policy::{Compiled, compile};

use weft_sdk::prelude::*;

/// The step.
pub struct Sla;

impl Step for Sla {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "sets first-response, next-response and resolution deadlines on 24/7 and business-hours clocks";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        check::check(config)
    }

    fn decide(event: &Event, config: &Config, ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
        step::decide(&compile(config)?, event, ctx)
    }
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_step!(Sla);
