//! The step's `with:` as it is written: policies and calendars. Checked and compiled by
//! [`crate::policy::compile`] into runtime types that are not `Deserialize`.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `with:` for the sla step.
///
/// ```yaml
/// with:
///   policies:
///     - { name: amazon, match: { channel: amazon }, first_response: 24h, clock: always }
///     - name: team-berlin
///       first_response: 8h
///       resolution: 3d
///       clock: business-hours
///       calendar: berlin
///       warn_before: [4h, 1h]
///   calendars:
///     berlin:
///       timezone: Europe/Berlin
///       hours: { mon: ["09:00-12:30", "13:30-18:00"], fri: ["09:00-15:00"] }
///       holidays: { country: DE, region: BE }
///       closed: ["2026-12-24", "2026-12-31"]
/// ```
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Deadline policies. Every policy whose `match` fits the ticket applies, each with its own
    /// deadlines. Example: `[{ match: { channel: amazon }, first_response: 24h }]`.
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
    /// Business calendars by name, used by policies with `clock: business-hours`.
    /// Example: `{ berlin: { timezone: Europe/Berlin, hours: { mon: ["09:00-18:00"] } } }`.
    #[serde(default)]
    pub calendars: BTreeMap<String, CalendarConfig>,
}

/// One deadline policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The policy's name, shown in every deadline it sets; unique. Defaults to `policy-<n>`
    /// (1-based). Example: `amazon-24h`.
    #[serde(default)]
    pub name: Option<String>,
    /// Which tickets the policy applies to: every given key must match; an empty match
    /// applies to all tickets. Example: `{ channel: [amazon, ebay], priority: high }`.
    #[serde(default, rename = "match")]
    pub matches: MatchConfig,
    /// Time to the first answer on a new ticket, with a unit (`ms`, `s`, `m`, `h`, `d`; combine
    /// as `1h30m`). On a business clock this is business time. Example: `24h`.
    #[serde(default)]
    pub first_response: Option<String>,
    /// Time to answer each later buyer message. Example: `8h`.
    #[serde(default)]
    pub next_response: Option<String>,
    /// Time to resolve the ticket from its first message. `1d` is 24 hours of the policy's
    /// clock: on a business clock write business days as hours. Example: `3d`.
    #[serde(default)]
    pub resolution: Option<String>,
    /// `always` (24/7, weekends and holidays count; the marketplaces' clock) or
    /// `business-hours` (only the open hours of `calendar`). Example: `business-hours`.
    #[serde(default)]
    pub clock: ClockConfig,
    /// The calendar of a `business-hours` clock, a key of `calendars`. Example: `berlin`.
    #[serde(default)]
    pub calendar: Option<String>,
    /// Warnings this long before each deadline, counted on the policy's clock (business time
    /// on a business clock). A lead time not shorter than the target is dropped.
    /// Example: `[4h, 1h]`.
    #[serde(default)]
    pub warn_before: Vec<String>,
    /// Ticket statuses during which the clock stops. Example: `[waiting-on-buyer]`.
    #[serde(default)]
    pub pause_on: Vec<String>,
}

/// The ticket facts a policy can match on. Values compare case-insensitively.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchConfig {
    /// The message's channel. Example: `amazon` or `[email, chat]`.
    #[serde(default)]
    pub channel: Option<OneOrMany>,
    /// The marketplace that relayed the message. Example: `amazon.de`.
    #[serde(default)]
    pub marketplace: Option<OneOrMany>,
    /// The ticket's priority (from the event payload's `priority`). Example: `[high, urgent]`.
    #[serde(default)]
    pub priority: Option<OneOrMany>,
    /// The ticket's category. Example: `refund`.
    #[serde(default)]
    pub category: Option<OneOrMany>,
}

/// One value or a list of accepted values.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    /// Example: `amazon`.
    One(String),
    /// Example: `[amazon, ebay]`.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The accepted values.
    pub fn values(&self) -> Vec<String> {
        match self {
            OneOrMany::One(v) => vec![v.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// Which clock a policy's durations run on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ClockConfig {
    /// Wall time, 24/7. Example: `always`.
    #[default]
    Always,
    /// Only the open hours of a calendar. Example: `business-hours`.
    BusinessHours,
}

/// A business calendar.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// IANA time zone the hours are in. Example: `Europe/Berlin`.
    pub timezone: String,
    /// Weekly opening hours; a day left out is closed. Example:
    /// `{ mon: ["09:00-12:30", "13:30-18:00"], sat: ["10:00-14:00"] }`.
    pub hours: HoursConfig,
    /// Public holidays to close on. Example: `{ country: DE, region: BE }`.
    #[serde(default)]
    pub holidays: Option<HolidaysConfig>,
    /// The seller's own closed dates (local dates, `YYYY-MM-DD`). Example: `["2026-12-24"]`.
    #[serde(default)]
    pub closed: Vec<String>,
}

/// Opening periods per weekday, each `HH:MM-HH:MM` in local time (`24:00` ends a day).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursConfig {
    /// Monday. Example: `["09:00-12:30", "13:30-18:00"]`.
    #[serde(default)]
    pub mon: Vec<String>,
    /// Tuesday. Example: `["09:00-18:00"]`.
    #[serde(default)]
    pub tue: Vec<String>,
    /// Wednesday. Example: `["09:00-18:00"]`.
    #[serde(default)]
    pub wed: Vec<String>,
    /// Thursday. Example: `["09:00-18:00"]`.
    #[serde(default)]
    pub thu: Vec<String>,
    /// Friday. Example: `["09:00-15:00"]`.
    #[serde(default)]
    pub fri: Vec<String>,
    /// Saturday. Example: `["10:00-14:00"]`.
    #[serde(default)]
    pub sat: Vec<String>,
    /// Sunday. Example: `[]`.
    #[serde(default)]
    pub sun: Vec<String>,
}

impl HoursConfig {
    /// The seven days, Monday first.
    pub fn days(&self) -> [&[String]; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }
}

/// Which public holidays close the calendar.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidaysConfig {
    /// ISO 3166-1 alpha-2 code of one of the 251 countries with holiday data (generated from
    /// python-holidays). Example: `DE`.
    pub country: String,
    /// ISO 3166-2 subdivision suffix (for Alsace-Moselle `6AE`, or `57`, `67`, `68`). Required
    /// for CH (cantons), GB (ENG, NIR, SCT, WLS) and AU (states). Example: `BE`.
    #[serde(default)]
    pub region: Option<String>,
    /// Whether official make-up working days (China's 调休 weekends) are open, with Monday's
    /// hours. Example: `true` (the default).
    #[serde(default = "yes")]
    pub make_up_days: bool,
    /// What to do in a year the holiday data does not cover (`holidays::country` tells which):
    /// `weekly-hours-only` (the default: count weekly hours and closed dates, and say so in the
    /// deadline's reason and evidence) or `error` (no deadline is set and the step fails).
    /// Example: `weekly-hours-only`.
    #[serde(default)]
    pub unknown_years: UnknownYearsConfig,
}

fn yes() -> bool {
    true
}

/// See [`HolidaysConfig::unknown_years`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownYearsConfig {
    /// Fail. Example: `error`.
    Error,
    /// Go on without holidays, and say so. Example: `weekly-hours-only`.
    #[default]
    WeeklyHoursOnly,
}
