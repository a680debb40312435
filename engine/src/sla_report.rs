//! `weft report sla`: SLA compliance per channel and policy, first-response times per channel,
//! and the deadlines at risk now; as a table for people or as JSON.
//!
//! How a deadline counts, at the report's "now":
//! - **on time**: an agent's reply stopped it no later than it was due;
//! - **breached**: it breached (the timer fired), was answered late, or is still open past due
//!   (an engine that was not running has not fired the breach yet);
//! - **stopped**: a status (no response needed, solved, waiting on the buyer) ended it in time;
//!   it counts neither way;
//! - **pending**: still running and not yet due.
//!
//! Compliance is on time / (on time + breached). First-response time is, per ticket, from the
//! earliest first-response clock start to the agent reply that stopped it.

use crate::store::Store;
use crate::store::report::rfc3339;
use crate::store::sla::DeadlineRow;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;
use weft_sdk::duration::Duration as Span;

/// `weft report ...`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// SLA compliance per channel and policy, first-response times, tickets at risk now.
    Sla(SlaArgs),
}

/// Arguments of `weft report sla`.
#[derive(Debug, Args)]
pub struct SlaArgs {
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB.
    #[arg(long, env = "WEFT_DB", default_value = "sqlite://weft.db")]
    pub db: String,
    /// The report's "now" (RFC 3339); the wall clock by default.
    #[arg(long)]
    pub now: Option<String>,
    /// A running deadline due within this much of now is at risk (a warned one always is).
    #[arg(long, default_value = "4h")]
    pub within: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs `weft report ...`.
pub async fn run(command: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::Sla(args) = command;
    let now = match &args.now {
        Some(text) => text
            .parse::<jiff::Timestamp>()
            .with_context(|| format!("--now {text:?} is not an RFC 3339 time"))?
            .as_millisecond(),
        None => crate::store::now_ms(),
    };
    let within: Duration = Span::parse(&args.within)
        .map_err(|e| anyhow::anyhow!("--within: {e}"))?
        .into();
    let store = Store::open_existing(&args.db).await?;
    let report = build(&store.sla_deadlines().await?, now, within);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct SlaReport {
    /// The report's now, RFC 3339.
    pub now: String,
    /// The at-risk window.
    pub within: String,
    pub compliance: Vec<Compliance>,
    pub first_response: Vec<ResponseTimes>,
    pub at_risk: Vec<AtRisk>,
}

/// Counts for one channel and policy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Compliance {
    pub channel: String,
    pub policy: String,
    pub on_time: usize,
    pub breached: usize,
    pub stopped: usize,
    pub pending: usize,
    /// on time / (on time + breached), None before anything was decided.
    pub compliance: Option<f64>,
}

/// First-response times of one channel's answered tickets, in minutes.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseTimes {
    pub channel: String,
    pub answered: usize,
    pub median_minutes: f64,
    pub p90_minutes: f64,
}

/// A running deadline that is close to, or past, due.
#[derive(Debug, Clone, Serialize)]
pub struct AtRisk {
    pub ticket: i64,
    pub channel: String,
    pub kind: String,
    pub policy: String,
    pub due: String,
    /// `pending` or `warned`.
    pub state: String,
    /// Minutes until due; negative when overdue.
    pub minutes_left: i64,
}

/// How one deadline counts at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    OnTime,
    Breached,
    Stopped,
    Pending,
}

fn outcome(d: &DeadlineRow, now: i64) -> Outcome {
    match (d.met_at, d.stopped_by.as_deref()) {
        (Some(at), _) if at > d.due || d.state == "breached" => Outcome::Breached,
        (Some(_), Some("reply")) => Outcome::OnTime,
        (Some(_), _) => Outcome::Stopped,
        (None, _) if d.state == "breached" || d.due <= now => Outcome::Breached,
        (None, _) => Outcome::Pending,
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> i64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn median(sorted: &[i64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2] as f64
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0
    }
}

/// The report over `deadlines` at `now` (ms).
pub fn build(deadlines: &[DeadlineRow], now: i64, within: Duration) -> SlaReport {
    let mut compliance: BTreeMap<(String, String), Compliance> = BTreeMap::new();
    // Per ticket: channel, earliest first-response start, earliest stop by a reply.
    let mut first: BTreeMap<i64, (String, Option<i64>, Option<i64>)> = BTreeMap::new();
    let mut at_risk = Vec::new();
    let window = within.as_millis() as i64;
    for d in deadlines {
        let row = compliance
            .entry((d.channel.clone(), d.policy.clone()))
            .or_insert_with(|| Compliance {
                channel: d.channel.clone(),
                policy: d.policy.clone(),
                ..Compliance::default()
            });
        let outcome = outcome(d, now);
        match outcome {
            Outcome::OnTime => row.on_time += 1,
            Outcome::Breached => row.breached += 1,
            Outcome::Stopped => row.stopped += 1,
            Outcome::Pending => row.pending += 1,
        }
        if d.kind == "first-response" {
            let entry = first.entry(d.ticket).or_insert((d.channel.clone(), None, None));
            if let Some(start) = d.started_at {
                entry.1 = Some(entry.1.map_or(start, |s: i64| s.min(start)));
            }
            if let (Some(at), Some("reply")) = (d.met_at, d.stopped_by.as_deref()) {
                entry.2 = Some(entry.2.map_or(at, |s: i64| s.min(at)));
            }
        }
        let running = d.met_at.is_none() && matches!(d.state.as_str(), "pending" | "warned");
        if running && (d.state == "warned" || d.due - now <= window) {
            at_risk.push(AtRisk {
                ticket: d.ticket,
                channel: d.channel.clone(),
                kind: d.kind.clone(),
                policy: d.policy.clone(),
                due: rfc3339(d.due),
                state: d.state.clone(),
                minutes_left: (d.due - now).div_euclid(60_000),
            });
        }
    }
    for row in compliance.values_mut() {
        let decided = row.on_time + row.breached;
        row.compliance = (decided > 0).then(|| row.on_time as f64 / decided as f64);
    }
    let mut times: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (channel, start, reply) in first.into_values() {
        if let (Some(start), Some(reply)) = (start, reply) {
            times.entry(channel).or_default().push((reply - start).max(0));
        }
    }
    let first_response = times
        .into_iter()
        .map(|(channel, mut ms)| {
            ms.sort_unstable();
            ResponseTimes {
                channel,
                answered: ms.len(),
                median_minutes: median(&ms) / 60_000.0,
                p90_minutes: percentile(&ms, 0.9) as f64 / 60_000.0,
            }
        })
        .collect();
    at_risk.sort_by_key(|a| (a.minutes_left, a.ticket));
    SlaReport {
        now: rfc3339(now),
        within: Span::from(within).to_string(),
        compliance: compliance.into_values().collect(),
        first_response,
        at_risk,
    }
}

fn minutes(m: f64) -> String {
    let total = m.round() as i64;
    let (sign, total) = if total < 0 { ("-", -total) } else { ("", total) };
    match (total / 60, total % 60) {
        (0, m) => format!("{sign}{m}m"),
        (h, 0) => format!("{sign}{h}h"),
        (h, m) => format!("{sign}{h}h{m:02}m"),
    }
}

/// The report as tables.
pub fn render(report: &SlaReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "SLA report at {}", report.now);
    let _ = writeln!(out, "\nCompliance per channel and policy");
    let _ = writeln!(
        out,
        "  {:<12} {:<16} {:>7} {:>8} {:>7} {:>7} {:>10}",
        "channel", "policy", "on time", "breached", "stopped", "pending", "compliance"
    );
    for c in &report.compliance {
        let share = c
            .compliance
            .map(|v| format!("{:.1}%", v * 100.0))
            .unwrap_or_else(|| "-".to_owned());
        let _ = writeln!(
            out,
            "  {:<12} {:<16} {:>7} {:>8} {:>7} {:>7} {:>10}",
            c.channel, c.policy, c.on_time, c.breached, c.stopped, c.pending, share
        );
    }
    let _ = writeln!(out, "\nFirst-response time per channel (answered tickets)");
    if report.first_response.is_empty() {
        let _ = writeln!(out, "  no ticket answered yet");
    }
    for r in &report.first_response {
        let _ = writeln!(
            out,
            "  {:<12} {:>4} answered · median {} · p90 {}",
            r.channel,
            r.answered,
            minutes(r.median_minutes),
            minutes(r.p90_minutes)
        );
    }
    let _ = writeln!(out, "\nAt risk now (warned, or due within {})", report.within);
    if report.at_risk.is_empty() {
        let _ = writeln!(out, "  nothing");
    }
    for r in &report.at_risk {
        let left = if r.minutes_left < 0 {
            format!("overdue by {}", minutes(-r.minutes_left as f64))
        } else {
            format!("{} left", minutes(r.minutes_left as f64))
        };
        let _ = writeln!(
            out,
            "  ticket {:<5} {:<12} {} ({}) due {} · {} · {left}",
            r.ticket, r.channel, r.kind, r.policy, r.due, r.state
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ticket: i64, channel: &str, policy: &str, due: i64, state: &str, met: Option<(i64, &str)>) -> DeadlineRow {
        DeadlineRow {
            ticket,
            channel: channel.into(),
            kind: "first-response".into(),
            policy: policy.into(),
            due,
            state: state.into(),
            started_at: Some(0),
            met_at: met.map(|m| m.0),
            stopped_by: met.map(|m| m.1.to_owned()),
        }
    }

    const H: i64 = 3_600_000;

    #[test]
    fn counts_times_and_risk() {
        let rows = vec![
            row(1, "amazon", "amazon-24h", 24 * H, "met", Some((2 * H, "reply"))),
            row(2, "amazon", "amazon-24h", 24 * H, "breached", Some((30 * H, "reply"))),
            row(
                3,
                "amazon",
                "amazon-24h",
                24 * H,
                "met",
                Some((H, "no-response-needed")),
            ),
            row(4, "amazon", "amazon-24h", 40 * H, "warned", None),
            row(5, "amazon", "amazon-24h", 100 * H, "pending", None),
            row(6, "e-mail", "équipe", 20 * H, "pending", None),
        ];
        let report = build(&rows, 37 * H, Duration::from_secs(4 * 3600));
        let amazon = &report.compliance[0];
        assert_eq!(
            (amazon.on_time, amazon.breached, amazon.stopped, amazon.pending),
            (1, 1, 1, 2)
        );
        assert_eq!(amazon.compliance, Some(0.5));
        // Overdue without a fired breach counts as breached.
        assert_eq!(report.compliance[1].breached, 1);
        assert_eq!(report.compliance[1].compliance, Some(0.0));
        let times = &report.first_response[0];
        assert_eq!(
            (times.answered, times.median_minutes, times.p90_minutes),
            (2, 960.0, 1800.0)
        );
        let risky: Vec<i64> = report.at_risk.iter().map(|r| r.ticket).collect();
        assert_eq!(risky, [6, 4], "overdue first, then warned; ticket 5 is far off");
        assert_eq!(report.at_risk[1].minutes_left, 180);
        let text = render(&report);
        assert!(text.contains("overdue by 17h"), "{text}");
        assert!(text.contains("median 16h · p90 30h"), "{text}");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 0.9), 9);
        assert_eq!(median(&v), 5.5);
        assert_eq!(percentile(&[7], 0.9), 7);
    }
}
