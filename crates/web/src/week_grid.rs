//! The doctor's week as a time grid: a column a day and a row an hour, in the reader's zone;
//! working hours shaded, time off hatched, each appointment a card with its status in words and
//! colour. The actions stay on the day page, which each day's heading links to. An ADMIN sees
//! any doctor's week (`?doctor=`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::doctor::{DayQuery, elsewhere, whose};
use crate::extract::SignedIn;
use crate::pages::{Page, layout, merge, status_label};
use crate::time;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Appointment {
    patient_id: i64,
    appointment_date: Timestamp,
    status: String,
}

#[derive(Debug, Deserialize)]
struct Patient {
    id: i64,
    name: String,
}

#[derive(Debug, Deserialize)]
struct Doctor {
    name: String,
    timezone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Schedule {
    weekly: Vec<Hours>,
}

#[derive(Debug, Deserialize)]
struct Hours {
    day: String,
    start: String,
    end: String,
}

#[derive(Debug, Deserialize)]
struct TimeOff {
    from: Timestamp,
    to: Timestamp,
}

#[derive(Debug, Default, Serialize)]
struct Cell {
    working: bool,
    away: bool,
    cards: Vec<Card>,
}

#[derive(Debug, Serialize)]
struct Card {
    time: String,
    patient: String,
    status: String,
    status_label: &'static str,
}

const DAY_NAMES: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];
/// The rows shown when the week has neither hours nor appointments.
const QUIET_HOURS: (usize, usize) = (8, 17);

/// "09:30" → minutes since midnight.
fn minutes(clock: &str) -> Option<i32> {
    let (h, m) = clock.split_once(':')?;
    Some(h.parse::<i32>().ok()? * 60 + m.parse::<i32>().ok()?)
}

/// Whether `at` falls in the doctor's weekly hours, read in the doctor's zone.
fn working(at: &Zoned, hours: &[Hours]) -> bool {
    let day = DAY_NAMES[usize::from(at.weekday().to_monday_zero_offset().unsigned_abs())];
    let now = i32::from(at.hour()) * 60 + i32::from(at.minute());
    hours.iter().filter(|h| h.day == day).any(|h| {
        minutes(&h.start).is_some_and(|s| s <= now) && minutes(&h.end).is_some_and(|e| now < e)
    })
}

/// `grid[hour][day]` of the week from `first`, each cell judged at its half hour: inside the
/// doctor's hours (in the doctor's zone), or away.
fn shade(
    first: jiff::civil::Date,
    zone: &TimeZone,
    doctor_zone: &TimeZone,
    hours: &[Hours],
    time_off: &[TimeOff],
) -> Vec<Vec<Cell>> {
    (0..24)
        .map(|hour| {
            (0..7)
                .map(|day| {
                    let civil = time::add_days(first, day).at(hour, 30, 0, 0);
                    let Ok(at) = civil.to_zoned(zone.clone()) else {
                        return Cell::default();
                    };
                    let moment = at.timestamp();
                    Cell {
                        working: working(&moment.to_zoned(doctor_zone.clone()), hours),
                        away: time_off.iter().any(|o| o.from <= moment && moment < o.to),
                        cards: Vec::new(),
                    }
                })
                .collect()
        })
        .collect()
}

/// Puts the appointment's card in the cell of its day and hour (in the reader's zone).
fn place(
    grid: &mut [Vec<Cell>],
    first: jiff::civil::Date,
    zone: &TimeZone,
    a: &Appointment,
    patient: String,
) {
    let local = a.appointment_date.to_zoned(zone.clone());
    let Ok(day) = usize::try_from((local.date() - first).get_days()) else {
        return;
    };
    let hour = usize::from(local.hour().unsigned_abs());
    if let Some(cell) = grid.get_mut(hour).and_then(|row| row.get_mut(day)) {
        cell.cards.push(Card {
            time: time::clock(a.appointment_date, zone),
            patient,
            status: a.status.clone(),
            status_label: status_label(&a.status),
        });
    }
}

/// The rows from the first to the last hour anyone works or is booked (office hours when none).
fn visible_rows(grid: Vec<Vec<Cell>>) -> Vec<serde_json::Value> {
    let busy: Vec<usize> = (0..grid.len())
        .filter(|h| grid[*h].iter().any(|c| c.working || !c.cards.is_empty()))
        .collect();
    let (top, bottom) = match (busy.first(), busy.last()) {
        (Some(top), Some(bottom)) => (*top, *bottom),
        _ => QUIET_HOURS,
    };
    grid.into_iter()
        .enumerate()
        .filter(|(h, _)| (top..=bottom).contains(h))
        .map(|(h, cells)| json!({"time": format!("{h:02}:00"), "cells": cells}))
        .collect()
}

pub async fn week(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(query): Query<DayQuery>,
) -> Response {
    let Some(doctor_id) = whose(&session, query.doctor) else {
        return elsewhere(&session);
    };
    let zone = time::zone(&session.time_zone);
    let today = time::today(&zone);
    let first = time::week_start(query.date.unwrap_or(today));
    let instant = |date: jiff::civil::Date| date.to_zoned(zone.clone()).map(|z| z.timestamp());
    let (Ok(start), Ok(end)) = (instant(first), instant(time::add_days(first, 7))) else {
        return state.message_page(
            StatusCode::BAD_REQUEST,
            "No such week",
            "Please pick another date.",
        );
    };
    let api = &state.api;
    let (appointments, patients, doctor, schedule, time_off) = match tokio::try_join!(
        api.get::<Page<Appointment>>(
            &session,
            format!("/api/appointments?doctorId={doctor_id}&from={start}&to={end}&size=100"),
        ),
        api.get::<Page<Patient>>(&session, "/api/patients?size=100"),
        api.get::<Doctor>(&session, format!("/api/doctors/{doctor_id}")),
        api.get::<Schedule>(&session, format!("/api/doctors/{doctor_id}/schedule")),
        api.get::<Vec<TimeOff>>(&session, format!("/api/doctors/{doctor_id}/time-off")),
    ) {
        Ok(all) => all,
        Err(err) => return state.problem_page(&err),
    };
    let doctor_zone = doctor
        .timezone
        .as_deref()
        .map_or_else(|| state.clinic.timezone.clone(), time::zone);
    let names: HashMap<i64, String> = patients.items.into_iter().map(|p| (p.id, p.name)).collect();

    let mut grid = shade(first, &zone, &doctor_zone, &schedule.weekly, &time_off);
    let mut booked = appointments.items;
    booked.sort_by_key(|a| a.appointment_date);
    for a in &booked {
        let patient = names
            .get(&a.patient_id)
            .cloned()
            .unwrap_or_else(|| format!("New patient (#{})", a.patient_id));
        place(&mut grid, first, &zone, a, patient);
    }
    let rows = visible_rows(grid);
    let days: Vec<_> = (0..7)
        .map(|n| {
            let date = time::add_days(first, n);
            json!({"date": date.to_string(), "label": time::day_label(date), "today": date == today})
        })
        .collect();
    let doctor_param = if session.role == "ADMIN" {
        format!("&doctor={doctor_id}")
    } else {
        String::new()
    };
    let heading = if session.role == "DOCTOR" {
        format!("Your week of {}", time::day_label(first))
    } else {
        format!("{}: week of {}", doctor.name, time::day_label(first))
    };
    let context = json!({
        "heading": heading,
        "zone": session.time_zone,
        "date": query.date.unwrap_or(today).to_string(),
        "previous": time::add_days(first, -7).to_string(),
        "next": time::add_days(first, 7).to_string(),
        "doctor_param": doctor_param,
        "admin_doctor": (session.role == "ADMIN").then_some(doctor_id),
        "days": days,
        "rows": rows,
        "appointments": booked.len(),
    });
    state.templates.page(
        StatusCode::OK,
        "timegrid.html",
        merge(layout(&session, "day"), context),
    )
}
