//! Schema components for the OpenAPI document: each rule the services enforce on a kind of
//! value, stated once and referenced by every field and parameter of that kind. A DTO field
//! names one of these with `#[schema(value_type = …)]`; the types are never instantiated.
//!
//! Rules JSON Schema cannot state (a date in the past, a phone number a numbering plan
//! accepts, a known time zone) are listed in `.ci/schemathesis-allowlist.toml`.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::values::limits;

/// Characters Rust's `char::is_control` finds (C0, DEL, C1), less tab and line feed, which
/// free text may contain.
const CONTROL: &str = r"\u0000-\u0008\u000B-\u001F\u007F-\u009F";
/// What `str::trim` drops: Unicode's `White_Space` (ECMAScript's `\s` differs in a few).
const WHITE_SPACE: &str =
    r"\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// Characters that show nothing: white space, every control character, and Unicode's
/// default-ignorable code points of the Basic Multilingual Plane (zero-width spaces and
/// joiners, direction marks, fillers, variation selectors), as `platform::values::is_visible`
/// has them.
const INVISIBLE: &str = r"\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u2800\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8";

/// Text with a visible character and no control characters other than tab and line feed,
/// with any white space around it (which is dropped), as a pattern without anchors.
fn visible_text_body() -> String {
    format!("[{WHITE_SPACE}]*[^{CONTROL}]*[^{WHITE_SPACE}{INVISIBLE}][^{CONTROL}]*[{WHITE_SPACE}]*")
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// Free text of at most `max` characters with something visible in it.
fn visible_text(description: &str, max: usize) -> Schema {
    string()
        .description(Some(format!(
            "{description} 1 to {max} characters, with a visible one; no control characters \
             other than tab and line feed. Surrounding white space is dropped."
        )))
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!("^{}$", visible_text_body())))
        .into()
}

/// Declares a schema component named after the type; `uses` names the components its schema
/// refers to, so a document that includes it includes them too.
macro_rules! component {
    ($(#[$doc:meta])* $name:ident $(uses [$($used:ident),*])? => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::RefOr::T($schema)
            }
        }

        impl ::utoipa::ToSchema for $name {
            fn name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(stringify!($name))
            }

            fn schemas(
                _schemas: &mut Vec<(
                    String,
                    ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema>,
                )>,
            ) {
                $($(
                    _schemas.push((
                        <$used as ::utoipa::ToSchema>::name().into_owned(),
                        <$used as ::utoipa::PartialSchema>::schema(),
                    ));
                )*)?
            }
        }
    };
}

mod text;
mod values;

pub use text::*;
pub use values::*;

#[cfg(test)]
mod tests;
