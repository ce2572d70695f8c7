//! OpenAPI building blocks: the problem+json answers every endpoint may give.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, response::Response};

use crate::error::PROBLEM_JSON;

fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

fn responses(list: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    list.iter()
        .map(|(status, description)| ((*status).to_owned(), problem(description)))
        .collect()
}

const UNAUTHORIZED: (&str, &str) = ("401", "Missing, invalid or expired access token");
const FORBIDDEN: (&str, &str) = (
    "403",
    "The caller's role or relationship does not allow this",
);
const RATE_LIMITED: (&str, &str) = ("429", "Too many requests; see Retry-After");
const UNAVAILABLE: (&str, &str) = ("503", "A dependency is unavailable");

/// For requests with a body: 400, 413, 415 (unreadable or invalid), plus the answers every
/// endpoint may give (401, 403, 429, 503).
pub struct BadRequest;

impl IntoResponses for BadRequest {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            (
                "400",
                "Malformed request or invalid fields (one entry per field)",
            ),
            ("413", "Body too large"),
            ("415", "Body is not JSON"),
            UNAUTHORIZED,
            FORBIDDEN,
            RATE_LIMITED,
            UNAVAILABLE,
        ])
    }
}

/// For requests without a body: 400 for bad parameters, plus 401, 403, 429, 503.
pub struct BadQuery;

impl IntoResponses for BadQuery {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[
            ("400", "Invalid parameters"),
            UNAUTHORIZED,
            FORBIDDEN,
            RATE_LIMITED,
            UNAVAILABLE,
        ])
    }
}

pub struct NotFound;

impl IntoResponses for NotFound {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[("404", "No such resource")])
    }
}

pub struct Conflict;

impl IntoResponses for Conflict {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[("409", "Conflicts with the current state")])
    }
}

pub struct Unprocessable;

impl IntoResponses for Unprocessable {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[(
            "422",
            "A referenced entity does not exist or cannot be used",
        )])
    }
}
