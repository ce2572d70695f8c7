use axum::extract::{Path, Query, State};
use contracts::doctors::{Slot, SlotQuery};
use jiff::Timestamp;
use platform::Result;
use platform::auth::Principal;
use platform::client::Forwarded;
use platform::docs::{BadQuery, NotFound};

use super::doctor_not_found;
use crate::AppState;
use crate::domain::slots::{DateRange, free_slots};

/// Free bookable slots on the dates `from..=to` (in the doctor's zone): working hours minus
/// past slots, time off and taken appointments. A doctor who takes no bookings has none.
#[utoipa::path(get, path = "/api/doctors/{id}/slots", tag = "doctors",
    params(("id" = platform::schema::Id, Path, description = "Doctor id"), SlotQuery),
    responses((status = 200, body = Vec<Slot>), BadQuery, NotFound))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Principal,
    Path(id): Path<i64>,
    Query(query): Query<SlotQuery>,
    forwarded: Forwarded,
) -> Result<axum::Json<Vec<Slot>>> {
    let range = DateRange::parse(&query.from, &query.to)?;
    let doctor = state
        .store
        .find(id)
        .await?
        .ok_or_else(|| doctor_not_found(id))?;
    if !doctor.available {
        return Ok(axum::Json(Vec::new()));
    }
    let calendar = state.calendar_of(&doctor).await?;
    let candidates = calendar.slots(range.from, range.to);
    let Some(window) = span_of(&candidates) else {
        return Ok(axum::Json(Vec::new()));
    };
    let now = Timestamp::now();
    let time_off = state.store.time_off_during(id, window).await?;
    let open = free_slots(candidates, now, &time_off);
    // Only ask the appointment service when there is something left to take.
    let Some(window) = span_of(&open) else {
        return Ok(axum::Json(open));
    };
    let busy = state
        .appointments
        .busy(id, window.start, window.end, &forwarded)
        .await?;
    Ok(axum::Json(free_slots(open, now, &busy)))
}

/// From the first slot's start to the last one's end (slots come in order).
fn span_of(slots: &[Slot]) -> Option<Slot> {
    Some(Slot {
        start: slots.first()?.start,
        end: slots.last()?.end,
    })
}
