//! The longest each kind of free text may be, in characters. One value per kind for every
//! service, so a text one service accepts is never refused by the next one it is handed to
//! (a doctor's rejection reason travels to the appointment service), and the OpenAPI
//! document states the same numbers.

/// A person's name (patients, doctors, accounts).
pub const NAME: usize = 200;
/// A postal address.
pub const ADDRESS: usize = 500;
/// A doctor's speciality; an appointment's service type.
pub const LABEL: usize = 100;
/// Why something was rejected, cancelled or taken off: a rejection, cancellation or time-off
/// reason.
pub const REASON: usize = 500;
/// What an appointment is about.
pub const DESCRIPTION: usize = 2000;
/// A patient's medical history.
pub const MEDICAL_HISTORY: usize = 10_000;
/// An administrator's message and its subject.
pub const MESSAGE: usize = 2000;
pub const SUBJECT: usize = 200;
/// A search term (`q` of a list).
pub const SEARCH_TERM: usize = 200;
/// A medical record's title and its content.
pub const RECORD_TITLE: usize = 200;
pub const RECORD_CONTENT: usize = 100_000;
