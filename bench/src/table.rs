//! The human side of the report: one table per mode, then the targets.

use std::collections::BTreeMap;

use crate::report::{ModeReport, Summary, Target, ratio};

struct Row {
    scenario: &'static str,
    figure: String,
    value: String,
    ceiling: String,
    ratio: String,
}

fn row(scenario: &'static str, figure: impl Into<String>, value: f64) -> Row {
    Row {
        scenario,
        figure: figure.into(),
        value: format!("{value:.2}"),
        ceiling: String::new(),
        ratio: String::new(),
    }
}

fn against(scenario: &'static str, figure: impl Into<String>, value: f64, ceiling: f64) -> Row {
    Row {
        ceiling: format!("{ceiling:.2}"),
        ratio: format!("{:.2}", ratio(value, ceiling)),
        ..row(scenario, figure, value)
    }
}

/// The table of one mode, as text.
pub fn mode_table(name: &str, report: &ModeReport) -> String {
    let mut rows = Vec::new();
    if let Some(b) = &report.book {
        let c = b.concurrency;
        rows.push(against(
            "book",
            format!("req/s, {c} in flight"),
            b.rps,
            b.ceiling_rps,
        ));
        rows.push(against(
            "book",
            format!("req/s vs. raw tx, {c} in flight"),
            b.rps,
            b.raw_tx_ceiling_rps,
        ));
        rows.push(against(
            "book",
            "p50 ms, max mode",
            b.max_mode_p50_ms,
            b.ceiling_p50_ms,
        ));
        rows.push(against(
            "book",
            "p99 ms, max mode",
            b.max_mode_p99_ms,
            b.ceiling_p99_ms,
        ));
        let rate = b.fixed_rate_rps;
        rows.push(row(
            "book",
            format!("p50 ms at {rate:.0}/s (open loop)"),
            b.p50_ms,
        ));
        rows.push(row(
            "book",
            format!("p99 ms at {rate:.0}/s (open loop)"),
            b.p99_ms,
        ));
    }
    if let Some(r) = &report.read {
        let c = r.concurrency;
        rows.push(against(
            "read",
            format!("mix req/s, {c} in flight"),
            r.rps,
            r.ceiling_rps,
        ));
        rows.push(against("read", "mix p99 ms", r.p99_ms, r.ceiling_p99_ms));
        rows.push(against(
            "read",
            "mix req/s vs same work",
            r.rps,
            r.work_ceiling_rps,
        ));
        rows.push(against(
            "read",
            "mix p99 ms vs same work",
            r.p99_ms,
            r.work_ceiling_p99_ms,
        ));
        for (label, endpoint) in [("appointment", &r.appointment), ("slots", &r.slots)] {
            if let Some(e) = endpoint {
                rows.push(against(
                    "read",
                    format!("{label} req/s"),
                    e.rps,
                    e.ceiling_rps,
                ));
                rows.push(against(
                    "read",
                    format!("{label} p99 ms"),
                    e.p99_ms,
                    e.ceiling_p99_ms,
                ));
                rows.push(against(
                    "read",
                    format!("{label} req/s vs same work"),
                    e.rps,
                    e.work_ceiling_rps,
                ));
            }
        }
    }
    if let Some(g) = &report.gateway {
        let rate = g.latency_rate;
        rows.push(against(
            "gateway",
            format!("p50 ms at {rate:.0}/s"),
            g.gateway_p50_ms,
            g.direct_p50_ms,
        ));
        rows.push(against(
            "gateway",
            format!("p99 ms at {rate:.0}/s"),
            g.gateway_p99_ms,
            g.direct_p99_ms,
        ));
        rows.push(row("gateway", "added p50 ms", g.added_p50_ms));
        rows.push(against(
            "gateway",
            format!("req/s, {} in flight", g.concurrency),
            g.gateway_rps,
            g.direct_rps,
        ));
        rows.push(row("gateway", "throughput loss", g.throughput_loss));
    }
    if let Some(b) = &report.billing {
        rows.push(row(
            "billing",
            format!("invoice visible p50 ms ({} samples)", b.samples),
            b.p50_ms,
        ));
        rows.push(row("billing", "invoice visible p99 ms", b.p99_ms));
        rows.push(row("billing", "max ms", b.max_ms));
        rows.push(row("billing", "invoice stored p99 ms", b.created_p99_ms));
        rows.push(row("billing", "approvals/s", b.probe_rate));
        rows.push(row("billing", "probes missed (> 10 s)", b.missed as f64));
    }
    if let Some(e) = &report.event_delay {
        rows.push(row(
            "event-delay",
            format!("p50 ms ({} samples)", e.samples),
            e.p50_ms,
        ));
        rows.push(row("event-delay", "p99 ms", e.p99_ms));
        rows.push(row("event-delay", "max ms", e.max_ms));
        rows.push(row(
            "event-delay",
            "p99 ms seen by polling",
            e.observed_p99_ms,
        ));
        rows.push(row("event-delay", "bookings/s meanwhile", e.booking_rate));
        rows.push(row(
            "event-delay",
            "probes missed (> 10 s)",
            e.missed as f64,
        ));
        rows.push(row(
            "event-delay",
            "sustainable bookings/s",
            e.sustainable_booking_rate,
        ));
        rows.push(row(
            "event-delay",
            format!("p50 ms at {} bookings/s", e.sustained_booking_rate),
            e.sustained_p50_ms,
        ));
        rows.push(row(
            "event-delay",
            format!("p99 ms at {} bookings/s", e.sustained_booking_rate),
            e.sustained_p99_ms,
        ));
        rows.push(row(
            "event-delay",
            "probes missed then (> 10 s)",
            e.sustained_missed as f64,
        ));
        rows.push(row(
            "event-delay",
            format!(
                "then: commit to published p50 ms ({} events)",
                e.sustained_events
            ),
            e.sustained_relay_p50_ms,
        ));
        rows.push(row(
            "event-delay",
            "then: commit to published p99 ms",
            e.sustained_relay_p99_ms,
        ));
        rows.push(row(
            "event-delay",
            "then: published to handled p50 ms",
            e.sustained_consumer_p50_ms,
        ));
        rows.push(row(
            "event-delay",
            "then: published to handled p99 ms",
            e.sustained_consumer_p99_ms,
        ));
        rows.push(row(
            "event-delay",
            "backlog waited for (events)",
            e.backlog_at_start as f64,
        ));
        rows.push(row(
            "event-delay",
            "undelivered notifications then",
            e.undelivered_at_start as f64,
        ));
        rows.push(row(
            "event-delay",
            "backlog left when measuring",
            e.backlog_left as f64,
        ));
        rows.push(row(
            "event-delay",
            format!("consumer events/s (backlog of {})", e.consumer_backlog),
            e.consumer_events_per_s,
        ));
    }
    if let Some(s) = &report.scale {
        curve(&mut rows, "slots p50 ms", &s.slots_p50_ms);
        curve(&mut rows, "slots p99 ms", &s.slots_p99_ms);
        curve(&mut rows, "week agenda p99 ms", &s.agenda_p99_ms);
        curve(&mut rows, "list page p99 ms", &s.list_p99_ms);
        curve(&mut rows, "bulk insert s", &s.insert_seconds);
    }
    if let Some(a) = &report.analytics {
        curve_of(
            &mut rows,
            "analytics",
            "year summary p50 ms",
            &a.summary_p50_ms,
        );
        curve_of(
            &mut rows,
            "analytics",
            "year summary p99 ms",
            &a.summary_p99_ms,
        );
        curve_of(&mut rows, "analytics", "bulk insert s", &a.insert_seconds);
    }
    if let Some(f) = &report.footprint {
        for (label, mb) in &f.idle_rss_mb {
            rows.push(row("footprint", format!("{label} RSS MB idle"), *mb));
        }
        for (label, mb) in &f.load_rss_mb {
            rows.push(row("footprint", format!("{label} RSS MB under load"), *mb));
        }
        rows.push(row(
            "footprint",
            "cold start s (existing data)",
            f.cold_start_s,
        ));
        rows.push(row(
            "footprint",
            "first start s (empty data)",
            f.first_start_s,
        ));
    }
    if let Some(r) = &report.records {
        rows.push(row(
            "records",
            format!("peak RSS rise MiB ({})", r.process),
            r.rss_rise_mib,
        ));
        rows.push(row(
            "records",
            format!("rise per MiB of a {:.0} MiB file", r.file_mib),
            r.rss_rise_per_file,
        ));
        rows.push(against(
            "records",
            "upload MB/s (gateway) vs disk write",
            r.upload_mb_s,
            r.ceiling_write_mb_s,
        ));
        rows.push(against(
            "records",
            "upload MB/s (direct) vs disk write",
            r.direct_upload_mb_s,
            r.ceiling_write_mb_s,
        ));
        rows.push(against(
            "records",
            "download MB/s (gateway) vs disk read",
            r.download_mb_s,
            r.ceiling_read_mb_s,
        ));
        rows.push(against(
            "records",
            "download MB/s (direct) vs disk read",
            r.direct_download_mb_s,
            r.ceiling_read_mb_s,
        ));
    }
    let mut out = format!("\n== {name} ({:.0} s) ==\n", report.seconds);
    out.push_str(&format!(
        "{:<12} {:<34} {:>10} {:>10} {:>6}\n",
        "scenario", "figure", "value", "ceiling", "ratio"
    ));
    for r in rows {
        out.push_str(&format!(
            "{:<12} {:<34} {:>10} {:>10} {:>6}\n",
            r.scenario, r.figure, r.value, r.ceiling, r.ratio
        ));
    }
    for error in &report.errors {
        out.push_str(&format!("error: {error}\n"));
    }
    out
}

/// The ceiling column of a scale curve is its first (smallest) point, the ratio the growth.
fn curve(rows: &mut Vec<Row>, figure: &str, points: &BTreeMap<u64, f64>) {
    curve_of(rows, "scale", figure, points);
}

fn curve_of(
    rows: &mut Vec<Row>,
    scenario: &'static str,
    figure: &str,
    points: &BTreeMap<u64, f64>,
) {
    let first = points.values().next().copied().unwrap_or(0.0);
    for (count, value) in points {
        rows.push(against(
            scenario,
            format!("{figure} @ {count}"),
            *value,
            first,
        ));
    }
}

/// The targets, checked for each mode that measured the figure.
pub fn targets(summary: &Summary) -> Vec<Target> {
    let mut targets = Vec::new();
    for (mode, report) in [
        ("embedded", &summary.embedded),
        ("distributed", &summary.distributed),
    ] {
        let Some(r) = report else { continue };
        let mut check = |name: &str, value: f64, limit: &str, met: bool| {
            targets.push(Target {
                mode,
                name: name.to_owned(),
                value,
                limit: limit.to_owned(),
                met,
            });
        };
        if let Some(b) = &r.book {
            check(
                "book ratio to its database ceiling",
                b.ratio,
                ">= 0.8",
                b.ratio >= 0.8,
            );
            let tail = ratio(b.max_mode_p99_ms, b.max_mode_p50_ms);
            check(
                "book p99 / p50 at max throughput",
                tail,
                "<= 3",
                tail <= 3.0,
            );
        }
        if let Some(rd) = &r.read {
            check(
                "read ratio to its same-work ceiling",
                rd.work_ratio,
                ">= 0.6",
                rd.work_ratio >= 0.6,
            );
        }
        if let Some(g) = &r.gateway {
            check(
                "gateway added p50 ms",
                g.added_p50_ms,
                "<= 0.3",
                g.added_p50_ms <= 0.3,
            );
            check(
                "gateway throughput loss",
                g.throughput_loss,
                "<= 0.15",
                g.throughput_loss <= 0.15,
            );
        }
        if let (Some(e), "distributed") = (&r.event_delay, mode) {
            check("event delay p99 ms", e.p99_ms, "<= 50", e.p99_ms <= 50.0);
            check(
                "event delay p99 ms, sustainable rate",
                e.sustained_p99_ms,
                "<= 50",
                e.sustained_p99_ms <= 50.0,
            );
            let drain = ratio(e.consumer_events_per_s, e.max_booking_rate);
            check(
                "consumer events/s / max booking rate",
                drain,
                ">= 3",
                drain >= 3.0,
            );
        }
        if let Some(s) = &r.scale
            && let (Some((n, p99)), Some(first)) = (
                s.slots_p99_ms.last_key_value(),
                s.slots_p99_ms.values().next(),
            )
        {
            check(&format!("slots p99 ms at {n}"), *p99, "<= 5", *p99 <= 5.0);
            let growth = ratio(*p99, *first);
            check(
                &format!("slots p99 at {n} / smallest"),
                growth,
                "<= 2",
                growth <= 2.0,
            );
        }
        if let Some(rec) = &r.records {
            check(
                "records upload peak RSS rise / file",
                rec.rss_rise_per_file,
                "< 3",
                rec.rss_rise_per_file < 3.0,
            );
        }
        if let Some(a) = &r.analytics
            && let (Some((n, p99)), Some(first)) = (
                a.summary_p99_ms.last_key_value(),
                a.summary_p99_ms.values().next(),
            )
        {
            check(
                &format!("analytics year summary p99 ms at {n}"),
                *p99,
                "<= 20",
                *p99 <= 20.0,
            );
            let growth = ratio(*p99, *first);
            check(
                &format!("analytics summary p99 at {n} / smallest"),
                growth,
                "<= 2",
                growth <= 2.0,
            );
        }
        if let Some(f) = &r.footprint {
            if mode == "distributed" {
                check(
                    "idle RSS MB, largest service",
                    f.idle_rss_mb_max,
                    "<= 30",
                    f.idle_rss_mb_max <= 30.0,
                );
            } else {
                check(
                    "idle RSS MB, the one process",
                    f.idle_rss_mb_max,
                    "<= 60",
                    f.idle_rss_mb_max <= 60.0,
                );
                check(
                    "cold start s of up (existing data)",
                    f.cold_start_s,
                    "<= 2",
                    f.cold_start_s <= 2.0,
                );
            }
        }
    }
    targets
}

pub fn targets_table(targets: &[Target]) -> String {
    let mut out = String::from("\n== targets ==\n");
    for t in targets {
        let verdict = if t.met { "met" } else { "MISSED" };
        out.push_str(&format!(
            "{:<12} {:<38} {:>10.3} {:>7} {verdict}\n",
            t.mode, t.name, t.value, t.limit
        ));
    }
    out
}
