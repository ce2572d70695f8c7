//! Value types shared by several services, parsed once at the edge.

mod email;
mod phone;
mod text;
mod visit;

pub use email::Email;
pub use phone::PhoneNumber;
pub use text::NonBlank;
pub use visit::{
    DEFAULT_OFFERED_MAX_MINUTES, MAX_VISIT_MINUTES, MIN_VISIT_MINUTES, VisitMinutes,
    offered_lengths,
};
