//! Value types shared by several services, parsed once at the edge.

mod email;
mod phone;
mod text;

pub use email::Email;
pub use phone::PhoneNumber;
pub use text::NonBlank;
