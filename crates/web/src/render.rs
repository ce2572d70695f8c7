//! Pages: the templates (compiled into the binary, HTML auto-escaped), and the headers every
//! page carries — `no-store` (pages show personal data on shared computers) and a policy that
//! lets only this origin's scripts and styles run.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::Environment;
use serde::Serialize;

pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

const TEMPLATES: [(&str, &str); 27] = [
    ("base.html", include_str!("../templates/base.html")),
    ("fields.html", include_str!("../templates/fields.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("register.html", include_str!("../templates/register.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("doctors.html", include_str!("../templates/doctors.html")),
    ("week.html", include_str!("../templates/week.html")),
    ("book.html", include_str!("../templates/book.html")),
    (
        "appointments.html",
        include_str!("../templates/appointments.html"),
    ),
    ("cancel.html", include_str!("../templates/cancel.html")),
    ("day.html", include_str!("../templates/day.html")),
    (
        "notifications.html",
        include_str!("../templates/notifications.html"),
    ),
    ("console.html", include_str!("../templates/console.html")),
    ("records.html", include_str!("../templates/records.html")),
    (
        "reschedule.html",
        include_str!("../templates/reschedule.html"),
    ),
    ("invoices.html", include_str!("../templates/invoices.html")),
    ("schedule.html", include_str!("../templates/schedule.html")),
    ("timegrid.html", include_str!("../templates/timegrid.html")),
    (
        "console_doctors.html",
        include_str!("../templates/console_doctors.html"),
    ),
    (
        "console_doctor_form.html",
        include_str!("../templates/console_doctor_form.html"),
    ),
    (
        "console_patients.html",
        include_str!("../templates/console_patients.html"),
    ),
    (
        "console_patient_form.html",
        include_str!("../templates/console_patient_form.html"),
    ),
    (
        "console_appointments.html",
        include_str!("../templates/console_appointments.html"),
    ),
    (
        "console_cancel.html",
        include_str!("../templates/console_cancel.html"),
    ),
    (
        "console_book.html",
        include_str!("../templates/console_book.html"),
    ),
    (
        "console_audit.html",
        include_str!("../templates/console_audit.html"),
    ),
    (
        "console_webhooks.html",
        include_str!("../templates/console_webhooks.html"),
    ),
];

#[derive(Clone)]
pub struct Templates(Arc<Environment<'static>>);

impl Templates {
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self(Arc::new(env)))
    }

    /// `name` rendered with `context`, as a page with `status`.
    pub fn page(&self, status: StatusCode, name: &str, context: impl Serialize) -> Response {
        let rendered = self
            .0
            .get_template(name)
            .and_then(|template| template.render(context));
        match rendered {
            Ok(html) => html_response(status, html),
            Err(err) => {
                tracing::error!(%err, template = name, "a page could not be rendered");
                html_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><html lang=\"en\"><title>Error · carebook</title>\
                     <main><h1>Something went wrong</h1><p>This page could not be shown. \
                     <a href=\"/\">Back to the start page</a>.</p></main></html>"
                        .to_owned(),
                )
            }
        }
    }
}

pub fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    no_store(headers);
    response
}

/// After a form: go to `to` (303, so a reload does not send the form again).
pub fn see_other(to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    no_store(response.headers_mut());
    response
}

fn no_store(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
}
