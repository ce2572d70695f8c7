//! Event payloads (the `data` of an envelope). They carry ids and times, never names, contact
//! data or free text: consumers that need more ask the owning service.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::appointments::{Appointment, AppointmentStatus};
use crate::billing::{InvoiceKind, PaymentStatus};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientChanged {
    pub patient_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorChanged {
    pub doctor_id: i64,
    /// The doctor's speciality after the change (not personal data: it is on the public
    /// profile); absent on changes that leave the profile as it was (a new schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speciality: Option<String>,
    /// The profile's `updatedAt` in epoch milliseconds, so a consumer can tell the newest
    /// profile from a stale one; 0 when the event carries no profile.
    #[serde(default)]
    pub version: i64,
}

/// What every appointment event says about the appointment after the change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentChanged {
    pub appointment_id: i64,
    pub patient_id: i64,
    pub doctor_id: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub status: AppointmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_cancellation: Option<bool>,
    /// The appointment's `updatedAt` in epoch milliseconds: strictly increasing with every
    /// change of one appointment, so a consumer receiving events out of order can tell the
    /// newest state from a stale one. 0 in payloads published before it existed.
    #[serde(default)]
    pub version: i64,
    /// The appointment's `serviceType`, which may set its price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
}

impl AppointmentChanged {
    pub fn of(appointment: &Appointment) -> Self {
        Self {
            appointment_id: appointment.id,
            patient_id: appointment.patient_id,
            doctor_id: appointment.doctor_id,
            start: appointment.appointment_date,
            end: appointment.end_date,
            status: appointment.status,
            previous_start: None,
            late_cancellation: appointment.late_cancellation,
            version: appointment.updated_at.as_millisecond(),
            service_type: appointment.service_type.clone(),
        }
    }
}

/// What every invoice event says about the invoice after the change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceChanged {
    pub invoice_id: i64,
    pub appointment_id: i64,
    pub patient_id: i64,
    pub amount: i64,
    pub currency: String,
    pub payment_status: PaymentStatus,
    pub kind: InvoiceKind,
    /// The invoice's `updatedAt` in epoch milliseconds, strictly increasing per invoice.
    pub version: i64,
    /// When the invoice was created; absent in payloads published before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// When the invoice was paid, once it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<Timestamp>,
}

/// A patient asked to be forgotten: the patient service pseudonymized the profile, and every
/// service that holds data about the patient erases or pseudonymizes its own (README "Data
/// protection"). Only the id, like every event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientErased {
    pub patient_id: i64,
}

/// A medical record was written: ids only, never its content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicalRecordAdded {
    pub record_id: i64,
    pub patient_id: i64,
    pub doctor_id: i64,
}

/// Event type names (the envelope's `type`, and the routing key on the broker).
pub mod types {
    pub const PATIENT_REGISTERED: &str = "PatientRegistered";
    pub const PATIENT_UPDATED: &str = "PatientUpdated";
    pub const PATIENT_ERASED: &str = "PatientErased";
    pub const DOCTOR_CREATED: &str = "DoctorCreated";
    pub const DOCTOR_UPDATED: &str = "DoctorUpdated";
    pub const APPOINTMENT_REQUESTED: &str = "AppointmentRequested";
    pub const APPOINTMENT_APPROVED: &str = "AppointmentApproved";
    pub const APPOINTMENT_REJECTED: &str = "AppointmentRejected";
    pub const APPOINTMENT_CANCELLED: &str = "AppointmentCancelled";
    pub const APPOINTMENT_RESCHEDULED: &str = "AppointmentRescheduled";
    pub const APPOINTMENT_COMPLETED: &str = "AppointmentCompleted";
    pub const APPOINTMENT_NO_SHOW: &str = "AppointmentNoShow";
    pub const INVOICE_CREATED: &str = "InvoiceCreated";
    pub const INVOICE_PAID: &str = "InvoicePaid";
    /// An invoice voided, or turned into a late-cancellation or no-show fee.
    pub const INVOICE_UPDATED: &str = "InvoiceUpdated";
    pub const MEDICAL_RECORD_ADDED: &str = "MedicalRecordAdded";

    /// Every type published today.
    pub const ALL: &[&str] = &[
        PATIENT_REGISTERED,
        PATIENT_UPDATED,
        PATIENT_ERASED,
        DOCTOR_CREATED,
        DOCTOR_UPDATED,
        APPOINTMENT_REQUESTED,
        APPOINTMENT_APPROVED,
        APPOINTMENT_REJECTED,
        APPOINTMENT_CANCELLED,
        APPOINTMENT_RESCHEDULED,
        APPOINTMENT_COMPLETED,
        APPOINTMENT_NO_SHOW,
        INVOICE_CREATED,
        INVOICE_PAID,
        INVOICE_UPDATED,
        MEDICAL_RECORD_ADDED,
    ];

    /// What billing follows, and what changes a care relationship between a doctor and a
    /// patient (records).
    pub const APPOINTMENTS: &[&str] = &[
        APPOINTMENT_REQUESTED,
        APPOINTMENT_APPROVED,
        APPOINTMENT_REJECTED,
        APPOINTMENT_CANCELLED,
        APPOINTMENT_RESCHEDULED,
        APPOINTMENT_COMPLETED,
        APPOINTMENT_NO_SHOW,
    ];

    /// Appointment events and the erasure of a patient: what billing and records follow.
    pub const APPOINTMENTS_AND_ERASURE: &[&str] = &[
        APPOINTMENT_REQUESTED,
        APPOINTMENT_APPROVED,
        APPOINTMENT_REJECTED,
        APPOINTMENT_CANCELLED,
        APPOINTMENT_RESCHEDULED,
        APPOINTMENT_COMPLETED,
        APPOINTMENT_NO_SHOW,
        PATIENT_ERASED,
    ];

    /// What a service that only erases follows (identity, appointments).
    pub const ERASURE: &[&str] = &[PATIENT_ERASED];
}

/// Every durable subscription of the deployment. Each process declares all of them when it
/// connects to the broker, so a queue collects its events even before its consumer first runs.
pub static TOPOLOGY: &[platform::events::Subscription] = &[
    platform::events::Subscription {
        queue: queues::NOTIFICATIONS,
        // Appointment events become notifications and reminders; every type may be a webhook's.
        event_types: types::ALL,
    },
    platform::events::Subscription {
        queue: queues::BILLING,
        // Invoices follow appointments; an erased patient's invoices are kept for retention.
        event_types: types::APPOINTMENTS_AND_ERASURE,
    },
    platform::events::Subscription {
        queue: queues::ANALYTICS,
        // Figures are built from every fact the services publish.
        event_types: types::ALL,
    },
    platform::events::Subscription {
        queue: queues::RECORDS,
        // Care relationships follow the appointments' states; an erased patient's records are
        // kept for retention.
        event_types: types::APPOINTMENTS_AND_ERASURE,
    },
    platform::events::Subscription {
        queue: queues::IDENTITY,
        // An erased patient's account is disabled and scrubbed.
        event_types: types::ERASURE,
    },
    platform::events::Subscription {
        queue: queues::APPOINTMENTS,
        // An erased patient's appointments lose their free text.
        event_types: types::ERASURE,
    },
];

/// Queue names: one per consuming service.
pub mod queues {
    pub const NOTIFICATIONS: &str = "notifications";
    pub const BILLING: &str = "billing";
    pub const RECORDS: &str = "records";
    pub const IDENTITY: &str = "identity";
    pub const APPOINTMENTS: &str = "appointments";
    pub const ANALYTICS: &str = "analytics";
}
