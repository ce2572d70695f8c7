//! The scenarios, and running the chosen ones against one system under test.

mod analytics;
mod backlog;
mod billing;
mod book;
mod book_ceiling;
mod drain;
mod event_delay;
mod footprint;
mod gateway;
mod raw_tx_ceiling;
mod read;
mod read_ceiling;
mod records;
mod scale;
mod stages;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::calendar::Allocator;
use crate::http::Http;
use crate::report::ModeReport;
use crate::system::{ADMIN_EMAIL, ADMIN_PASSWORD, Mode, System};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Scenario {
    Book,
    Read,
    Gateway,
    EventDelay,
    Billing,
    Scale,
    Analytics,
    Footprint,
    Records,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::Book,
        Scenario::Read,
        Scenario::Gateway,
        Scenario::EventDelay,
        Scenario::Billing,
        Scenario::Scale,
        Scenario::Analytics,
        Scenario::Footprint,
        Scenario::Records,
    ];
}

/// How long each phase runs.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub quick: bool,
    /// Closed-loop warm-up, not counted.
    pub warmup: Duration,
    /// Each measured phase.
    pub measure: Duration,
    /// Requests in flight in the max-throughput phases.
    pub concurrency: usize,
    /// Longest wait for the system to go quiet between phases.
    pub settle: Duration,
}

impl Budget {
    pub fn new(quick: bool, concurrency: usize) -> Self {
        if quick {
            Self {
                quick,
                warmup: Duration::from_millis(500),
                measure: Duration::from_millis(2500),
                concurrency,
                settle: Duration::from_secs(5),
            }
        } else {
            Self {
                quick,
                warmup: Duration::from_secs(2),
                measure: Duration::from_secs(12),
                concurrency,
                settle: Duration::from_secs(30),
            }
        }
    }
}

/// What every scenario works with.
pub struct Ctx {
    pub system: System,
    pub http: Http,
    pub allocator: Arc<Allocator>,
    pub budget: Budget,
    /// The max booking rate, once the book scenario measured it.
    pub book_rps: Option<f64>,
}

impl Ctx {
    /// A fresh admin token (they live 15 minutes; a full run is longer).
    pub async fn admin_token(&self) -> anyhow::Result<String> {
        self.http
            .login(self.system.gateway(), ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
    }

    /// Waits until background work of the previous phase (event relay, notification
    /// delivery) has drained, so it does not bill the next phase.
    pub async fn settle(&self) {
        let pids: Vec<u32> = self.system.pids().into_iter().map(|(_, p)| p).collect();
        crate::process::quiesce(&pids, self.budget.settle).await;
    }
}

/// Starts a system in `mode`, seeds it, runs `scenarios` in a fixed order (the scale data
/// goes in last, so it does not change the others' database), and tears it down.
pub async fn run_mode(mode: Mode, scenarios: &[Scenario], budget: Budget) -> ModeReport {
    let began = Instant::now();
    let mut report = ModeReport::default();
    if let Err(err) = run_scenarios(mode, scenarios, budget, &mut report).await {
        report.errors.push(format!("{err:#}"));
    }
    report.seconds = crate::report::round(began.elapsed().as_secs_f64());
    report
}

async fn run_scenarios(
    mode: Mode,
    scenarios: &[Scenario],
    budget: Budget,
    report: &mut ModeReport,
) -> anyhow::Result<()> {
    eprintln!("[{}] starting the system", mode.name());
    let (system, first_start) = System::start(mode).await?;
    eprintln!(
        "[{}] ready in {:.2} s (logs in {}); seeding",
        mode.name(),
        first_start.as_secs_f64(),
        system.log_dir()
    );
    let dbs = crate::seed::Databases::open(&system).await?;
    let seeded = crate::seed::directory(&dbs).await?;
    dbs.close().await;
    eprintln!("[{}] seeded in {:.1} s", mode.name(), seeded.as_secs_f64());
    let mut ctx = Ctx {
        system,
        http: Http::default(),
        allocator: Arc::new(Allocator::new()?),
        budget,
        book_rps: None,
    };
    let wants = |s: Scenario| scenarios.contains(&s);
    let mut footprint = wants(Scenario::Footprint).then(|| footprint::idle(&ctx, first_start));
    let sampler = footprint::Sampler::start(&ctx.system);
    let step = |name: &str| eprintln!("[{}] {name}", mode.name());
    if wants(Scenario::Book) {
        step("book");
        record(
            &mut report.errors,
            "book",
            book::run(&mut ctx).await,
            &mut report.book,
        );
    }
    if wants(Scenario::Read) {
        step("read");
        record(
            &mut report.errors,
            "read",
            read::run(&ctx).await,
            &mut report.read,
        );
    }
    if wants(Scenario::Gateway) {
        step("gateway");
        record(
            &mut report.errors,
            "gateway",
            gateway::run(&ctx).await,
            &mut report.gateway,
        );
    }
    if wants(Scenario::EventDelay) {
        step("event-delay");
        let result = event_delay::run(&mut ctx).await;
        record(
            &mut report.errors,
            "event-delay",
            result,
            &mut report.event_delay,
        );
    }
    if wants(Scenario::Billing) {
        step("billing");
        let result = billing::run(&mut ctx).await;
        record(&mut report.errors, "billing", result, &mut report.billing);
    }
    let loaded = sampler.stop().await;
    // After the load sampler: its peaks are the other scenarios', not the 20 MiB uploads'.
    if wants(Scenario::Records) {
        step("records");
        record(
            &mut report.errors,
            "records",
            records::run(&ctx).await,
            &mut report.records,
        );
    }
    if wants(Scenario::Scale) {
        step("scale");
        record(
            &mut report.errors,
            "scale",
            scale::run(&ctx).await,
            &mut report.scale,
        );
    }
    if wants(Scenario::Analytics) {
        step("analytics");
        record(
            &mut report.errors,
            "analytics",
            analytics::run(&ctx).await,
            &mut report.analytics,
        );
    }
    if let Some(mut footprint) = footprint.take() {
        step("footprint: cold start");
        footprint::finish(&mut ctx, &mut footprint, loaded).await?;
        report.footprint = Some(footprint);
    }
    Ok(())
}

/// Names the phase a scenario starts on stderr, so a profile of the run can be cut by phase.
pub fn phase(name: &str) {
    eprintln!("  {name}");
}

fn record<T>(
    errors: &mut Vec<String>,
    name: &str,
    result: anyhow::Result<T>,
    slot: &mut Option<T>,
) {
    match result {
        Ok(value) => *slot = Some(value),
        Err(err) => {
            eprintln!("{name} failed: {err:#}");
            errors.push(format!("{name}: {err:#}"));
        }
    }
}
