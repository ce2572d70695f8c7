use contracts::appointments::{AppointmentChange, AppointmentStatus, NewAppointment};
use contracts::doctors::Availability;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use platform::validation::Violations;
use platform::values::{NonBlank, VisitMinutes, is_visible, limits};
use platform::{ApiError, time::parse_instant};

/// A booking whose fields are valid; the doctor and patient are not checked yet. The patient
/// is the one the policy allowed the booking for.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    pub doctor_id: i64,
    pub start: Timestamp,
    pub duration_minutes: Option<u32>,
    pub description: String,
    pub service_type: Option<String>,
}

impl BookingRequest {
    pub fn parse(input: NewAppointment, now: Timestamp, zone: &TimeZone) -> platform::Result<Self> {
        let mut v = Violations::default();
        let patient_id = v.check("patientId", positive_id(input.patient_id));
        let doctor_id = v.check("doctorId", positive_id(input.doctor_id));
        let start = v.check(
            "appointmentDate",
            future_instant(&input.appointment_date, now, zone),
        );
        let duration_minutes =
            v.check_optional("durationMinutes", input.duration_minutes, duration);
        let description = v
            .check("description", description(input.description))
            .unwrap_or_default();
        let service_type = v.check_optional("serviceType", input.service_type, |s| {
            NonBlank::parse(&s, limits::LABEL).map(NonBlank::into_string)
        });
        let request = match (patient_id, doctor_id, start) {
            (Some(_), Some(doctor_id), Some(start)) => Some(Self {
                doctor_id,
                start,
                duration_minutes,
                description,
                service_type,
            }),
            _ => None,
        };
        v.finish(request)
    }
}

/// A reschedule or modification whose fields are valid.
#[derive(Debug, Clone, Default)]
pub struct ChangeRequest {
    pub start: Option<Timestamp>,
    pub duration_minutes: Option<u32>,
    pub description: Option<String>,
}

impl ChangeRequest {
    pub fn parse(
        input: AppointmentChange,
        now: Timestamp,
        zone: &TimeZone,
    ) -> platform::Result<Self> {
        let mut v = Violations::default();
        let start = v.check_optional("appointmentDate", input.appointment_date, |raw| {
            future_instant(&raw, now, zone)
        });
        let duration_minutes =
            v.check_optional("durationMinutes", input.duration_minutes, duration);
        let description =
            v.check_optional("description", input.description, |d| description(Some(d)));
        v.finish(Some(Self {
            start,
            duration_minutes,
            description,
        }))
    }

    pub fn moves_time(&self) -> bool {
        self.start.is_some() || self.duration_minutes.is_some()
    }
}

/// Decides the status of a new booking from the doctor's answer, or why it is refused (409).
pub fn admit(availability: &Availability) -> platform::Result<AppointmentStatus> {
    if !availability.available {
        return Err(ApiError::Conflict(
            "The doctor is not taking bookings.".to_owned(),
        ));
    }
    if availability.on_time_off {
        return Err(ApiError::Conflict(
            "The doctor is away at this time.".to_owned(),
        ));
    }
    if !availability.within_hours {
        return Err(ApiError::Conflict(
            "The time is outside the doctor's working hours.".to_owned(),
        ));
    }
    Ok(if availability.auto_approve {
        AppointmentStatus::Approved
    } else {
        AppointmentStatus::Requested
    })
}

fn positive_id(id: i64) -> Result<i64, String> {
    if id > 0 {
        Ok(id)
    } else {
        Err("must be a positive id".to_owned())
    }
}

fn future_instant(raw: &str, now: Timestamp, zone: &TimeZone) -> Result<Timestamp, String> {
    let start = parse_instant(raw, zone)?;
    if start <= now {
        return Err("must be in the future".to_owned());
    }
    if start.as_second() - now.as_second() > 2 * 366 * 24 * 3600 {
        return Err("must be within the next two years".to_owned());
    }
    Ok(start)
}

/// A length of a visit at all (400 otherwise); whether the doctor offers it is a 409 later.
fn duration(minutes: u32) -> Result<u32, String> {
    VisitMinutes::parse(minutes).map(VisitMinutes::get)
}

/// Optional: an absent or blank description is empty.
fn description(raw: Option<String>) -> Result<String, String> {
    raw.filter(|text| text.chars().any(is_visible))
        .map_or(Ok(String::new()), |text| {
            NonBlank::description(&text).map(NonBlank::into_string)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2030-01-01T00:00:00Z".parse().unwrap()
    }

    fn input(date: &str) -> NewAppointment {
        NewAppointment {
            patient_id: 1,
            doctor_id: 2,
            appointment_date: date.to_owned(),
            duration_minutes: None,
            description: Some("  check-up ".to_owned()),
            service_type: None,
        }
    }

    #[test]
    fn parses_clinic_local_times_and_trims_text() {
        let zone = TimeZone::get("America/New_York").unwrap();
        let booking = BookingRequest::parse(input("2030-01-07T09:00:00"), now(), &zone).unwrap();
        assert_eq!(booking.start.to_string(), "2030-01-07T14:00:00Z");
        assert_eq!(booking.description, "check-up");
    }

    #[test]
    fn reports_every_bad_field() {
        let bad = NewAppointment {
            patient_id: 0,
            doctor_id: -3,
            appointment_date: "2029-12-31T09:00:00Z".to_owned(),
            duration_minutes: Some(1),
            description: None,
            service_type: Some(" ".to_owned()),
        };
        let Err(ApiError::Invalid(errors)) = BookingRequest::parse(bad, now(), &TimeZone::UTC)
        else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "patientId",
                "doctorId",
                "appointmentDate",
                "durationMinutes",
                "serviceType"
            ]
        );
    }

    #[test]
    fn admission_follows_the_doctor() {
        let mut availability = Availability {
            doctor_id: 2,
            start: now(),
            end: now(),
            slot_minutes: 30,
            available: true,
            within_hours: true,
            on_time_off: false,
            on_grid: true,
            offered_minutes: vec![30],
            auto_approve: false,
        };
        assert_eq!(admit(&availability).unwrap(), AppointmentStatus::Requested);
        availability.auto_approve = true;
        assert_eq!(admit(&availability).unwrap(), AppointmentStatus::Approved);
        availability.within_hours = false;
        assert!(matches!(admit(&availability), Err(ApiError::Conflict(_))));
    }
}
