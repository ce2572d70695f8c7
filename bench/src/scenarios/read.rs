//! read: `GET /api/appointments/{id}` and `GET /api/doctors/{id}/slots` (one day) through the
//! gateway as the admin, half and half, over 100 appointments booked for this scenario.
//!
//! Two ceilings, each with the same number in flight:
//! - bare HTTP: the same requests from the same client to a minimal handler on the same HTTP
//!   stack (`platform::server::serve`, axum on hyper, in a child process like the services)
//!   that answers the bytes the real endpoints answered;
//! - same work: the reads' queries and audit rows straight to the same databases
//!   (`read_ceiling.rs`).

use std::sync::Arc;

use anyhow::Context;
use futures::future::join_all;

use super::{Ctx, read_ceiling};
use crate::http::Http;
use crate::load::{self, OpFuture, Stats};
use crate::process::{Proc, Spec};
use crate::report::{Endpoint, Read, ratio, round};

const APPOINTMENTS: usize = 100;

/// Which request an operation sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Mix,
    Appointment,
    Slots,
}

impl Shape {
    /// What operation `n` sends: the mix alternates.
    pub(super) fn of(self, n: u64) -> Self {
        match self {
            Self::Mix if n % 2 == 1 => Self::Slots,
            Self::Mix => Self::Appointment,
            other => other,
        }
    }
}

/// An appointment to read, and the doctor and day whose free slots to ask for.
pub(super) struct Target {
    pub(super) appointment_id: i64,
    pub(super) doctor_id: i64,
    day: String,
    /// The booking's start (epoch ms).
    pub(super) start_ms: i64,
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Read> {
    let token = Arc::new(ctx.admin_token().await?);
    let targets = Arc::new(book_targets(ctx, &token, APPOINTMENTS).await?);
    let gateway = ctx.system.gateway().to_owned();
    let appointment = ctx
        .http
        .get(
            &format!("{gateway}{}", path(&targets[0], Shape::Appointment)),
            &token,
        )
        .await?
        .expect(200)?;
    let slots = ctx
        .http
        .get(
            &format!("{gateway}{}", path(&targets[0], Shape::Slots)),
            &token,
        )
        .await?
        .expect(200)?;
    let dir = ctx.system.dir.path();
    std::fs::write(dir.join("appointment.json"), &appointment.body)?;
    std::fs::write(dir.join("slots.json"), &slots.body)?;
    let (ceiling_url, _ceiling) = start_ceiling(ctx).await?;
    let work = read_ceiling::Work::open(ctx).await?;
    ctx.settle().await;
    let measure = |base: String, shape: Shape| {
        let op = request_op(&ctx.http, base, token.clone(), targets.clone(), shape);
        let b = ctx.budget;
        async move { load::max_throughput(b.concurrency, b.warmup, b.measure, op).await }
    };
    super::phase("reads through the gateway");
    let system_mix = measure(gateway.clone(), Shape::Mix).await?;
    system_mix.check("read")?;
    super::phase("the bare HTTP ceiling");
    let ceiling_mix = measure(ceiling_url.clone(), Shape::Mix).await?;
    ceiling_mix.check("read ceiling")?;
    super::phase("the same-work ceiling");
    let work_mix = read_ceiling::measure(ctx, &work, &targets, Shape::Mix).await?;
    work_mix.check("read same-work ceiling")?;
    let mut endpoints = Vec::new();
    if !ctx.budget.quick {
        for shape in [Shape::Appointment, Shape::Slots] {
            super::phase(&format!("{shape:?}: the three phases again"));
            let system = measure(gateway.clone(), shape).await?;
            system.check("read")?;
            let ceiling = measure(ceiling_url.clone(), shape).await?;
            ceiling.check("read ceiling")?;
            let same_work = read_ceiling::measure(ctx, &work, &targets, shape).await?;
            same_work.check("read same-work ceiling")?;
            endpoints.push(Some(endpoint(&system, &ceiling, &same_work)));
        }
    }
    work.close().await;
    ctx.settle().await;
    let mut endpoints = endpoints.into_iter();
    Ok(Read {
        rps: round(system_mix.rps()),
        ceiling_rps: round(ceiling_mix.rps()),
        ratio: ratio(system_mix.rps(), ceiling_mix.rps()),
        p50_ms: round(system_mix.p50()),
        p99_ms: round(system_mix.p99()),
        ceiling_p99_ms: round(ceiling_mix.p99()),
        work_ceiling_rps: round(work_mix.rps()),
        work_ratio: ratio(system_mix.rps(), work_mix.rps()),
        work_ceiling_p99_ms: round(work_mix.p99()),
        concurrency: ctx.budget.concurrency,
        appointment: endpoints.next().flatten(),
        slots: endpoints.next().flatten(),
    })
}

fn endpoint(system: &Stats, ceiling: &Stats, same_work: &Stats) -> Endpoint {
    Endpoint {
        rps: round(system.rps()),
        ceiling_rps: round(ceiling.rps()),
        ratio: ratio(system.rps(), ceiling.rps()),
        p50_ms: round(system.p50()),
        p99_ms: round(system.p99()),
        ceiling_p99_ms: round(ceiling.p99()),
        work_ceiling_rps: round(same_work.rps()),
        work_ratio: ratio(system.rps(), same_work.rps()),
        work_ceiling_p99_ms: round(same_work.p99()),
    }
}

fn path(target: &Target, shape: Shape) -> String {
    match shape {
        Shape::Appointment | Shape::Mix => format!("/api/appointments/{}", target.appointment_id),
        Shape::Slots => format!(
            "/api/doctors/{}/slots?from={}&to={}",
            target.doctor_id, target.day, target.day
        ),
    }
}

fn request_op(
    http: &Http,
    base: String,
    token: Arc<String>,
    targets: Arc<Vec<Target>>,
    shape: Shape,
) -> impl Fn(u64) -> OpFuture + Clone + Send + Sync + use<> {
    let http = http.clone();
    let base = Arc::new(base);
    move |n| -> OpFuture {
        let target = &targets[n as usize % targets.len()];
        let url = format!("{base}{}", path(target, shape.of(n)));
        let (http, token) = (http.clone(), token.clone());
        Box::pin(async move {
            http.get(&url, &token).await?.expect(200)?;
            Ok(())
        })
    }
}

/// Books the appointments the reads ask for, through the gateway.
pub(super) async fn book_targets(
    ctx: &Ctx,
    token: &str,
    count: usize,
) -> anyhow::Result<Vec<Target>> {
    let url = format!("{}/api/appointments", ctx.system.gateway());
    let bookings: Vec<_> = (0..count).map(|_| ctx.allocator.next()).collect();
    let mut targets = Vec::new();
    for chunk in bookings.chunks(8) {
        let bodies: Vec<_> = chunk.iter().map(|b| b.json()).collect();
        let replies = join_all(bodies.iter().map(|b| ctx.http.post(&url, Some(token), b)));
        for (booking, reply) in chunk.iter().zip(replies.await) {
            let body = reply?.expect(201)?.json()?;
            targets.push(Target {
                appointment_id: body["id"].as_i64().context("no appointment id")?,
                doctor_id: booking.doctor_id,
                day: booking.start()[..10].to_owned(),
                start_ms: booking.start_ms,
            });
        }
    }
    Ok(targets)
}

/// Starts the minimal server in a child process; it stops when the returned `Proc` drops.
async fn start_ceiling(ctx: &Ctx) -> anyhow::Result<(String, Proc)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dir = ctx.system.dir.path();
    let route = |path: &str, file: &str| format!("{path}={}", dir.join(file).display());
    let spec = Spec {
        label: "read-ceiling".to_owned(),
        args: vec![
            "__child".into(),
            "static".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--route".into(),
            route("/api/appointments/{id}", "appointment.json"),
            "--route".into(),
            route("/api/doctors/{id}/slots", "slots.json"),
        ],
        env: Vec::new(),
        log: dir.join("read-ceiling.log"),
    };
    let mut proc = Proc::spawn(&spec)?;
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..500 {
        if ctx.http.is_ok(&format!("{url}/health/live")).await {
            return Ok((url, proc));
        }
        if let Some(reason) = proc.exited() {
            anyhow::bail!("{reason}: {}", proc.log_tail());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    anyhow::bail!("the read ceiling's server did not start")
}
