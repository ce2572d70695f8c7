//! Value types shared by several services, parsed once at the edge, and the limits they share.

mod dob;
mod email;
pub mod limits;
mod phone;
mod text;
mod visit;

pub use dob::parse_dob;
pub use email::Email;
pub use phone::PhoneNumber;
pub use text::{NonBlank, is_visible, search_term};
pub use visit::{
    DEFAULT_OFFERED_MAX_MINUTES, MAX_SLOT_MINUTES, MAX_VISIT_MINUTES, MIN_VISIT_MINUTES,
    VisitMinutes, offered_lengths,
};
