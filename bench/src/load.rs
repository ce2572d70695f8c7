//! Load shapes: as fast as a fixed number of workers can go (closed loop, for throughput), and
//! a fixed arrival rate (open loop, for latency). In the open loop every request has an intended
//! start time and its latency counts from then, so a stalled system is charged for the requests
//! it held back instead of being measured only by the few it let through (no coordinated
//! omission). Latencies go into HDR histograms in microseconds.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// What one phase of load measured.
#[derive(Debug, Clone)]
pub struct Stats {
    pub histogram: Histogram<u64>,
    pub ok: u64,
    pub errors: u64,
    /// Open loop only: requests not sent because `max_in_flight` were outstanding.
    pub dropped: u64,
    pub elapsed: Duration,
    pub first_error: Option<String>,
}

impl Stats {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            // 1 µs .. 100 s at 3 significant digits.
            histogram: Histogram::new_with_bounds(1, 100_000_000, 3)?,
            ok: 0,
            errors: 0,
            dropped: 0,
            elapsed: Duration::ZERO,
            first_error: None,
        })
    }

    fn record(&mut self, latency: Duration, result: anyhow::Result<()>) {
        match result {
            Ok(()) => {
                self.ok += 1;
                self.histogram.saturating_record(latency.as_micros() as u64);
            }
            Err(err) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{err:#}"));
                }
            }
        }
    }

    fn merge(&mut self, other: &Stats) -> anyhow::Result<()> {
        self.histogram.add(&other.histogram)?;
        self.ok += other.ok;
        self.errors += other.errors;
        self.dropped += other.dropped;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        Ok(())
    }

    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Latency at `quantile` (0..1) of the successful requests, in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn p50(&self) -> f64 {
        self.ms(0.5)
    }

    pub fn p99(&self) -> f64 {
        self.ms(0.99)
    }

    /// Fails when more than 1% of requests failed: such a figure would not mean anything.
    pub fn check(&self, what: &str) -> anyhow::Result<()> {
        let total = self.ok + self.errors;
        if total == 0 || self.errors * 100 > total {
            anyhow::bail!(
                "{what}: {} of {total} requests failed (first: {})",
                self.errors,
                self.first_error.as_deref().unwrap_or("none")
            );
        }
        Ok(())
    }
}

/// `concurrency` workers each send the next request as soon as the previous one answered.
/// Requests finishing during `warmup` are not counted; then it runs for `duration`.
/// `op` gets a sequence number unique in this run.
pub async fn max_throughput<F, Fut>(
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    op: F,
) -> anyhow::Result<Stats>
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let sequence = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let measured_from = begin + warmup;
    let end = measured_from + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let op = op.clone();
        let sequence = sequence.clone();
        workers.push(tokio::spawn(async move {
            let mut stats = Stats::new()?;
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                let result = op(sequence.fetch_add(1, Ordering::Relaxed)).await;
                let finished = Instant::now();
                if finished >= measured_from && finished < end {
                    stats.record(finished - started, result);
                }
            }
            anyhow::Ok(stats)
        }));
    }
    let mut total = Stats::new()?;
    for worker in workers {
        total.merge(&worker.await??)?;
    }
    total.elapsed = duration;
    Ok(total)
}

/// Starts `rate` requests per second for `warmup + duration`, each on its own task, and waits
/// for them; those started during `warmup` are not counted (first connections, caches). At
/// most `max_in_flight` may be outstanding; beyond that a request is counted as dropped.
pub async fn fixed_rate<F, Fut>(
    rate: f64,
    (warmup, duration): (Duration, Duration),
    max_in_flight: u64,
    op: F,
) -> anyhow::Result<Stats>
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let shared = Arc::new(Mutex::new(Stats::new()?));
    let in_flight = Arc::new(AtomicU64::new(0));
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let begin = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut dropped = 0;
    let mut i: u64 = 0;
    loop {
        let intended = begin + interval.mul_f64(i as f64);
        if intended >= begin + warmup + duration {
            break;
        }
        let counted = intended >= begin + warmup;
        tokio::time::sleep_until(intended).await;
        if in_flight.load(Ordering::Relaxed) >= max_in_flight {
            dropped += u64::from(counted);
        } else {
            in_flight.fetch_add(1, Ordering::Relaxed);
            let (op, shared, in_flight) = (op.clone(), shared.clone(), in_flight.clone());
            let intended = intended.into_std();
            tasks.spawn(async move {
                let result = op(i).await;
                let latency = intended.elapsed();
                in_flight.fetch_sub(1, Ordering::Relaxed);
                if !counted {
                    return;
                }
                if let Ok(mut stats) = shared.lock() {
                    stats.record(latency, result);
                }
            });
        }
        i += 1;
        // Reap finished tasks as we go so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let mut stats = shared
        .lock()
        .map_err(|_| anyhow::anyhow!("a request task panicked"))?
        .clone();
    stats.dropped = dropped;
    stats.elapsed = duration;
    Ok(stats)
}

/// What one request of a load phase is: a boxed future, so every scenario's closures agree.
pub type OpFuture = std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
