//! Composition of the carebook services into one process (`up`) or one service (`serve`).

use utoipa::OpenApi;

pub mod demo;
pub mod health;
pub mod system;

/// The merged OpenAPI document as the gateway serves it: `openapi.json`, which a test keeps
/// equal to [`openapi`]. The gateway starts without building the document, and keeps its JSON
/// alone.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// The merged OpenAPI document of every service (the source of [`OPENAPI_JSON`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("carebook")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Healthcare appointment scheduling: patients, doctors and their availability, \
                     appointments, notifications and webhooks, invoices, medical records, clinic figures. Every \
                     error is \
                     application/problem+json (RFC 9457).",
                ))
                .build(),
        )
        .build();
    doc.merge(patients::openapi());
    doc.merge(doctors::openapi());
    doc.merge(appointments::openapi());
    doc.merge(notifications::openapi());
    doc.merge(identity::openapi());
    doc.merge(billing::openapi());
    doc.merge(records::openapi());
    doc.merge(analytics::openapi());
    doc.merge(platform::audit::api::AuditApi::openapi());
    // Services ask identity for their tokens directly; the gateway does not route this.
    doc.paths.paths.remove("/api/auth/service-token");
    doc
}

#[cfg(test)]
mod openapi_tests;
