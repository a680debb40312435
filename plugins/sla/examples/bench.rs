//! Benchmark: deadlines for 100,000 new tickets over business-hours calendars.
//!
//! `cargo run --release --example bench -p weft-plugin-sla [tickets]`
//! Each ticket matches a 24/7 marketplace policy and one business-hours policy (Berlin with
//! DE-BE holidays and a lunch break, Tokyo with JP holidays, or New York with US holidays),
//! each with first-response and resolution targets and two warnings: 4 deadlines per ticket.

use std::time::Instant;
use weft_plugin_sla::policy::TicketFacts;
use weft_plugin_sla::step::{Signal, deadlines};
use weft_plugin_sla::{Config, compile};

fn main() {
    let tickets: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let config: Config = serde_json::from_value(serde_json::json!({
        "policies": [
            { "name": "marketplace", "match": { "channel": ["amazon", "ebay"] }, "first_response": "24h", "resolution": "3d", "clock": "always", "warn_before": ["4h", "1h"] },
            { "name": "berlin", "match": { "marketplace": "amazon.de" }, "first_response": "8h", "resolution": "3d", "clock": "business-hours", "calendar": "berlin", "warn_before": ["4h", "1h"] },
            { "name": "tokyo", "match": { "marketplace": "amazon.co.jp" }, "first_response": "8h", "resolution": "3d", "clock": "business-hours", "calendar": "tokyo", "warn_before": ["4h", "1h"] },
            { "name": "new-york", "match": { "marketplace": "ebay.com" }, "first_response": "8h", "resolution": "3d", "clock": "business-hours", "calendar": "new-york", "warn_before": ["4h", "1h"] }
        ],
        "calendars": {
            "berlin": { "timezone": "Europe/Berlin", "hours": { "mon": ["09:00-12:30", "13:30-18:00"], "tue": ["09:00-12:30", "13:30-18:00"], "wed": ["09:00-12:30", "13:30-18:00"], "thu": ["09:00-12:30", "13:30-18:00"], "fri": ["09:00-15:00"] }, "holidays": { "country": "DE", "region": "BE" }, "closed": ["2025-12-24", "2025-12-31", "2026-12-24", "2026-12-31"] },
            "tokyo": { "timezone": "Asia/Tokyo", "hours": { "mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"], "thu": ["09:00-18:00"], "fri": ["09:00-18:00"] }, "holidays": { "country": "JP" } },
            "new-york": { "timezone": "America/New_York", "hours": { "mon": ["08:00-20:00"], "tue": ["08:00-20:00"], "wed": ["08:00-20:00"], "thu": ["08:00-20:00"], "fri": ["08:00-20:00"], "sat": ["10:00-14:00"] }, "holidays": { "country": "US" } }
        }
    }))
    .expect("the benchmark configuration is valid");
    let compiled = compile(&config).expect("the benchmark configuration compiles");
    let markets = [
        ("amazon", "amazon.de"),
        ("amazon", "amazon.co.jp"),
        ("ebay", "ebay.com"),
    ];
    // Arrival times spread over 2025 and the first eleven months of 2026, deterministically.
    let start = jiff::Timestamp::from_second(1_735_689_600).expect("2025-01-01");
    let mut seed: u64 = 0x5eed;
    let mut total = 0usize;
    let began = Instant::now();
    for i in 0..tickets {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let offset = (seed >> 33) % (690 * 86_400);
        let at = start + jiff::SignedDuration::from_secs(offset as i64);
        let (channel, marketplace) = markets[i % markets.len()];
        let facts = TicketFacts {
            channel: Some(channel.to_owned()),
            marketplace: Some(marketplace.to_owned()),
            ..TicketFacts::default()
        };
        total += deadlines(&compiled, Signal::NewTicket, &facts, at)
            .expect("deadlines")
            .len();
    }
    let elapsed = began.elapsed();
    println!(
        "{tickets} tickets, {total} deadlines in {:.3} s: {:.2} µs per ticket, {:.0} tickets/s",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / tickets as f64,
        tickets as f64 / elapsed.as_secs_f64()
    );
}
