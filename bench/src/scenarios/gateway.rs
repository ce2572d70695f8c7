//! gateway: the same request, `GET /api/appointments/{id}` as the admin, sent straight to the
//! appointment service and through the gateway. Latency in the open loop at a light fixed
//! rate, both streams at the same time (what one request costs), throughput in the closed
//! loop one after the other (what the gateway's own CPU takes away on a machine it shares with
//! the service).

use std::sync::Arc;

use platform::config::Service;

use super::Ctx;
use super::read::book_targets;
use crate::load::{self, OpFuture};
use crate::report::{Gateway, round};

/// Requests per second of the latency phases: light enough that nothing queues.
const LATENCY_RATE: f64 = 100.0;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Gateway> {
    let token = Arc::new(ctx.admin_token().await?);
    let ids: Arc<Vec<i64>> = Arc::new(
        book_targets(ctx, &token, 20)
            .await?
            .iter()
            .map(|t| t.appointment_id)
            .collect(),
    );
    ctx.settle().await;
    let direct = ctx.system.url(Service::Appointments).to_owned();
    let gateway = ctx.system.gateway().to_owned();
    let op = |base: &str| get_op(ctx, base, token.clone(), ids.clone());
    let b = ctx.budget;
    super::phase("latency, direct and through the gateway");
    // Both latency streams at once, so drift in the machine's state hits both alike.
    let (direct_latency, gateway_latency) = tokio::join!(
        load::fixed_rate(LATENCY_RATE, (b.warmup, b.measure), 256, op(&direct)),
        load::fixed_rate(LATENCY_RATE, (b.warmup, b.measure), 256, op(&gateway)),
    );
    let (direct_latency, gateway_latency) = (direct_latency?, gateway_latency?);
    direct_latency.check("direct reads")?;
    gateway_latency.check("reads through the gateway")?;
    ctx.settle().await;
    super::phase("direct, max throughput");
    let direct_max = load::max_throughput(b.concurrency, b.warmup, b.measure, op(&direct)).await?;
    direct_max.check("direct reads")?;
    ctx.settle().await;
    super::phase("through the gateway, max throughput");
    let gateway_max =
        load::max_throughput(b.concurrency, b.warmup, b.measure, op(&gateway)).await?;
    gateway_max.check("reads through the gateway")?;
    ctx.settle().await;
    Ok(Gateway {
        direct_p50_ms: round(direct_latency.p50()),
        gateway_p50_ms: round(gateway_latency.p50()),
        added_p50_ms: round(gateway_latency.p50() - direct_latency.p50()),
        direct_p99_ms: round(direct_latency.p99()),
        gateway_p99_ms: round(gateway_latency.p99()),
        added_p99_ms: round(gateway_latency.p99() - direct_latency.p99()),
        latency_rate: LATENCY_RATE,
        direct_rps: round(direct_max.rps()),
        gateway_rps: round(gateway_max.rps()),
        throughput_loss: round(1.0 - gateway_max.rps() / direct_max.rps().max(1e-9)),
        concurrency: b.concurrency,
    })
}

fn get_op(
    ctx: &Ctx,
    base: &str,
    token: Arc<String>,
    ids: Arc<Vec<i64>>,
) -> impl Fn(u64) -> OpFuture + Clone + Send + Sync + use<> {
    let http = ctx.http.clone();
    let base = Arc::new(base.to_owned());
    move |n| -> OpFuture {
        let url = format!("{base}/api/appointments/{}", ids[n as usize % ids.len()]);
        let (http, token) = (http.clone(), token.clone());
        Box::pin(async move {
            http.get(&url, &token).await?.expect(200)?;
            Ok(())
        })
    }
}
