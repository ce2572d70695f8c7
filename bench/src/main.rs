//! `carebook-bench`: throughput, latency, event delay, scale, footprint and file transfer of carebook, each
//! figure next to a ceiling measured in the same run on the same machine. It starts the system
//! itself (embedded and distributed), seeds it, runs, and tears everything down.
//!
//! `cargo run --release -p carebook-bench -- <scenario|all> [--quick] [--mode …]`
//! prints a table per mode, then the targets, then (last line) the JSON summary.

mod calendar;
mod child;
mod http;
mod infra;
mod load;
mod process;
mod report;
mod scenarios;
mod seed;
mod system;
mod table;

use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Summary;
use crate::scenarios::{Budget, Scenario};
use crate::system::Mode;

#[derive(Debug, Parser)]
#[command(about = "Benchmarks carebook against ceilings measured in the same run")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// POST /api/appointments vs the same SQL straight to the database.
    Book(Options),
    /// GET an appointment and a doctor's slots vs a minimal handler with the same bytes, and vs
    /// the same database work.
    Read(Options),
    /// The same request direct to the service and through the gateway.
    Gateway(Options),
    /// Approval to stored notification, at 80% of the max booking rate; the consumer's drain rate.
    EventDelay(Options),
    /// Approval to its invoice visible in the billing service.
    Billing(Options),
    /// Slot search and listing at 10 k, 100 k and 1 M appointments.
    Scale(Options),
    /// The analytics summary over a year at 10 k and 1 M appointments.
    Analytics(Options),
    /// RSS idle and under load; cold start.
    Footprint(Options),
    /// A 20 MiB file up and down: the records service's peak RSS rise, MB/s vs the disk.
    Records(Options),
    /// Every scenario.
    All(Options),
    /// What the child processes of a run execute.
    #[command(name = "__child", hide = true)]
    Child {
        #[command(subcommand)]
        child: child::Child,
    },
}

#[derive(Debug, Clone, Args)]
struct Options {
    /// Short phases and the scale curve up to 100 k: the whole of `all` in under 3 minutes.
    #[arg(long)]
    quick: bool,
    /// Which mode(s) to run.
    #[arg(long, value_enum, default_value = "both")]
    mode: ModeChoice,
    /// Requests in flight in the max-throughput phases (and the book ceiling).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeChoice {
    Both,
    Embedded,
    Distributed,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    sqlx::any::install_default_drivers();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (scenarios, options): (Vec<Scenario>, Options) = match cli.command {
        Command::Child { child } => {
            return match child::run(child).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("{err:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Book(o) => (vec![Scenario::Book], o),
        Command::Read(o) => (vec![Scenario::Read], o),
        Command::Gateway(o) => (vec![Scenario::Gateway], o),
        Command::EventDelay(o) => (vec![Scenario::EventDelay], o),
        Command::Billing(o) => (vec![Scenario::Billing], o),
        Command::Scale(o) => (vec![Scenario::Scale], o),
        Command::Analytics(o) => (vec![Scenario::Analytics], o),
        Command::Footprint(o) => (vec![Scenario::Footprint], o),
        Command::Records(o) => (vec![Scenario::Records], o),
        Command::All(o) => (Scenario::ALL.to_vec(), o),
    };
    tokio::select! {
        summary = bench(&scenarios, &options) => {
            let failed = [&summary.embedded, &summary.distributed]
                .iter()
                .any(|m| m.as_ref().is_some_and(|m| !m.errors.is_empty()));
            print(&summary);
            if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        _ = tokio::signal::ctrl_c() => {
            // Dropping the run kills its processes and removes its databases and vhost.
            eprintln!("interrupted: cleaning up");
            ExitCode::from(130)
        }
    }
}

async fn bench(scenarios: &[Scenario], options: &Options) -> Summary {
    let began = Instant::now();
    let budget = Budget::new(options.quick, options.concurrency.max(1));
    let modes: &[Mode] = match options.mode {
        ModeChoice::Both => &[Mode::Embedded, Mode::Distributed],
        ModeChoice::Embedded => &[Mode::Embedded],
        ModeChoice::Distributed => &[Mode::Distributed],
    };
    let mut summary = Summary {
        bench: "carebook",
        quick: options.quick,
        commit: commit(),
        date: jiff::Timestamp::now().to_string(),
        machine: machine(),
        load_before: load_average(),
        load_after: String::new(),
        seconds: 0.0,
        embedded: None,
        distributed: None,
        targets: Vec::new(),
    };
    for mode in modes {
        let report = scenarios::run_mode(*mode, scenarios, budget).await;
        match mode {
            Mode::Embedded => summary.embedded = Some(report),
            Mode::Distributed => summary.distributed = Some(report),
        }
    }
    summary.targets = table::targets(&summary);
    summary.load_after = load_average();
    summary.seconds = report::round(began.elapsed().as_secs_f64());
    summary
}

/// The tables go to standard output too, then the JSON summary as the very last line.
fn print(summary: &Summary) {
    for (name, report) in [
        ("embedded", &summary.embedded),
        ("distributed", &summary.distributed),
    ] {
        if let Some(report) = report {
            print!("{}", table::mode_table(name, report));
        }
    }
    print!("{}", table::targets_table(&summary.targets));
    println!(
        "\nwall time {:.0} s; load average before: {}, after: {}",
        summary.seconds, summary.load_before, summary.load_after
    );
    match serde_json::to_string(summary) {
        Ok(json) => println!("{json}"),
        Err(err) => println!("{{\"error\":\"{err}\"}}"),
    }
}

/// The checked-out commit (read only; `unknown` outside a git work tree).
fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// CPU model, cores and memory, from /proc.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {mem_gib:.0} GiB")
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
