//! The raw transaction ceiling: what the appointment database commits per second when each
//! transaction is only a booking's rows (the insert into the overlap-constrained
//! `appointments`, its outbox event and its audit row, one commit) with as many in flight as
//! the HTTP run, through sqlx from this program, on the writer's own thread (`Db::write`) as
//! the store runs its bookings. No lookups, no per-patient lock, no count: the pgbench-like
//! figure a booking's write could at best reach on this database and machine.

use std::sync::Arc;

use platform::db::Db;

use super::{Ctx, book_ceiling};
use crate::load::{self, OpFuture, Stats};

pub async fn run(ctx: &Ctx) -> anyhow::Result<Stats> {
    let url = &ctx.system.database_urls[&platform::config::Service::Appointments];
    let db = Arc::new(Db::connect(url).await?);
    let allocator = ctx.allocator.clone();
    let op = {
        let db = db.clone();
        move |_| -> OpFuture {
            let (db, booking) = (db.clone(), allocator.next());
            Box::pin(async move {
                let request_id = uuid::Uuid::new_v4().to_string();
                let writer = db.clone();
                let write = async move {
                    let mut tx = writer.begin().await?;
                    book_ceiling::write_rows(&mut tx, &booking, &request_id).await?;
                    tx.commit().await?;
                    anyhow::Ok(())
                };
                db.write(write).await
            })
        }
    };
    let budget = ctx.budget;
    let stats = load::max_throughput(budget.concurrency, budget.warmup, budget.measure, op).await;
    db.close().await;
    stats
}
