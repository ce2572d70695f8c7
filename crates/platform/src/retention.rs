//! Retention: how long what the law makes the clinic keep about an erased patient (invoices,
//! clinical records) is kept, and the job that removes it afterwards. The job is a plain
//! function of "now", so tests step it with a manual [`Clock`].

use std::future::Future;
use std::time::Duration;

use jiff::{Timestamp, ToSpan};
use tokio_util::sync::CancellationToken;

use crate::time::Clock;

/// Default years invoices are kept (tax law commonly asks for up to 10).
pub const DEFAULT_INVOICE_YEARS: u32 = 10;
/// Default years clinical records are kept (10 after the last treatment is common).
pub const DEFAULT_RECORD_YEARS: u32 = 10;

/// How often the job looks for what has passed its retention.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// Years from an environment variable (`CAREBOOK_RETENTION_*`), at least 1.
pub fn years_from_env(key: &str, default: u32) -> anyhow::Result<u32> {
    match crate::config::parse_var::<u32>(key)? {
        Some(0) => anyhow::bail!("{key} must be at least 1 (years)"),
        Some(years) => Ok(years),
        None => Ok(default),
    }
}

/// The instant before which something created has been kept `years` by `now`.
pub fn cutoff(now: Timestamp, years: u32) -> Timestamp {
    let utc = now.to_zoned(jiff::tz::TimeZone::UTC);
    utc.checked_sub(i64::from(years).years())
        .map(|then| then.timestamp())
        .unwrap_or(Timestamp::MIN)
}

/// Runs `sweep` at start and then every `interval` until `shutdown`; a failed pass is logged
/// and tried again at the next one.
pub async fn run<F, Fut>(
    what: &'static str,
    clock: Clock,
    interval: Duration,
    shutdown: CancellationToken,
    sweep: F,
) where
    F: Fn(Timestamp) -> Fut,
    Fut: Future<Output = anyhow::Result<u64>>,
{
    loop {
        match sweep(clock.now()).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(what, removed, "retention passed: removed"),
            Err(err) => tracing::warn!(what, error = %format!("{err:#}"), "retention sweep failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_whole_calendar_years_back() {
        let now: Timestamp = "2036-03-01T12:00:00Z".parse().unwrap();
        assert_eq!(cutoff(now, 10).to_string(), "2026-03-01T12:00:00Z");
        let leap: Timestamp = "2028-02-29T00:00:00Z".parse().unwrap();
        assert_eq!(cutoff(leap, 1).to_string(), "2027-02-28T00:00:00Z");
    }
}
