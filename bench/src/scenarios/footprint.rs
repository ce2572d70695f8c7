//! footprint: resident memory of each process of the system idle (started, seeded, before
//! any request but the admin's sign-in) and its peak while the load scenarios run; and the
//! cold start: every process stopped gracefully, started again on its existing data, timed
//! until every one answers `/health/ready`. In the embedded mode the one process holds every
//! service, so its RSS is the whole system's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Ctx;
use crate::process::rss_mb;
use crate::report::{Footprint, round};
use crate::system::System;

pub fn idle(ctx: &Ctx, first_start: Duration) -> Footprint {
    let idle_rss_mb: BTreeMap<String, f64> = ctx
        .system
        .pids()
        .into_iter()
        .filter_map(|(label, pid)| Some((label, round(rss_mb(pid)?))))
        .collect();
    Footprint {
        idle_rss_mb_max: idle_rss_mb.values().copied().fold(0.0, f64::max),
        idle_rss_mb,
        first_start_s: round(first_start.as_secs_f64()),
        ..Footprint::default()
    }
}

/// Samples every process's RSS five times a second and keeps each one's peak.
pub struct Sampler {
    peaks: Arc<Mutex<BTreeMap<String, f64>>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    pub fn start(system: &System) -> Self {
        let pids = system.pids();
        let peaks = Arc::new(Mutex::new(BTreeMap::new()));
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (peaks, stop) = (peaks.clone(), stop.clone());
            async move {
                while !stop.is_cancelled() {
                    if let Ok(mut peaks) = peaks.lock() {
                        for (label, pid) in &pids {
                            let now = rss_mb(*pid).unwrap_or(0.0);
                            let peak = peaks.entry(label.clone()).or_insert(0.0);
                            *peak = f64::max(*peak, now);
                        }
                    }
                    tokio::select! {
                        () = stop.cancelled() => {}
                        () = tokio::time::sleep(Duration::from_millis(200)) => {}
                    }
                }
            }
        });
        Self { peaks, stop, task }
    }

    pub async fn stop(self) -> BTreeMap<String, f64> {
        self.stop.cancel();
        let _ = self.task.await;
        let peaks = self.peaks.lock().map(|p| p.clone()).unwrap_or_default();
        peaks.into_iter().map(|(k, v)| (k, round(v))).collect()
    }
}

/// Records the peaks under load and measures the cold start.
pub async fn finish(
    ctx: &mut Ctx,
    footprint: &mut Footprint,
    loaded: BTreeMap<String, f64>,
) -> anyhow::Result<()> {
    footprint.load_rss_mb_max = loaded.values().copied().fold(0.0, f64::max);
    footprint.load_rss_mb = loaded;
    ctx.settle().await;
    let cold = ctx.system.restart().await?;
    footprint.cold_start_s = round(cold.as_secs_f64());
    Ok(())
}
