//! The identity service's rules, free of HTTP and SQL.

pub mod lockout;
pub mod password;
pub mod registration;
