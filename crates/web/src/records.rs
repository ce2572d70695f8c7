//! Medical records: a patient reads theirs and downloads the files; a doctor who cares for the
//! patient (or an ADMIN) reads them and writes a new one, with a file. The API decides who may:
//! these pages only ask with the reader's own token.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::api::ApiError;
use crate::extract::{SignedIn, check_multipart_csrf};
use crate::pages::{Page, layout, merge};
use crate::render::see_other;
use crate::session::Session;
use crate::time;

pub const RECORD_TYPES: [(&str, &str); 5] = [
    ("NOTE", "Note"),
    ("PRESCRIPTION", "Prescription"),
    ("LAB_REPORT", "Lab report"),
    ("DIAGNOSIS", "Diagnosis"),
    ("IMAGING", "Imaging"),
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    id: i64,
    record_type: String,
    title: String,
    content: String,
    created_at: Timestamp,
    attachment: Option<Attachment>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Attachment {
    file_name: String,
    size: u64,
}

#[derive(Debug, Deserialize)]
pub struct Whose {
    patient: Option<i64>,
}

/// The patient whose records: the reader's own, or (doctor, ADMIN) the one asked for.
fn patient_of(session: &Session, asked: Option<i64>) -> Option<i64> {
    match session.role.as_str() {
        "PATIENT" => session.patient_id,
        _ => asked,
    }
}

pub async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(whose): Query<Whose>,
) -> Response {
    let Some(patient_id) = patient_of(&session, whose.patient) else {
        return see_other("/");
    };
    records_page(&state, &session, patient_id, None, StatusCode::OK).await
}

async fn records_page(
    state: &AppState,
    session: &Session,
    patient_id: i64,
    failure: Option<&ApiError>,
    status: StatusCode,
) -> Response {
    let path = format!("/api/records/{patient_id}?size=100");
    let records: Vec<Record> = match state.api.get::<Page<Record>>(session, path).await {
        Ok(page) => page.items,
        Err(err) => return state.problem_page(&err),
    };
    let zone = time::zone(&session.time_zone);
    let mut records = records;
    records.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    let items: Vec<_> = records
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "kind": RECORD_TYPES.iter().find(|(k, _)| *k == r.record_type).map_or(r.record_type.as_str(), |(_, l)| l),
                "title": r.title,
                "content": r.content,
                "when": time::when(r.created_at, &zone),
                "attachment": r.attachment,
            })
        })
        .collect();
    let errors = failure.map(ApiError::field_messages).unwrap_or_default();
    let context = json!({
        "patient_id": patient_id,
        "records": items,
        "may_write": session.role != "PATIENT",
        "record_types": RECORD_TYPES.iter().map(|(k, l)| json!({"value": k, "label": l})).collect::<Vec<_>>(),
        "error": failure.map(ApiError::message),
        "errors": errors,
    });
    state.templates.page(
        status,
        "records.html",
        merge(layout(session, "records"), context),
    )
}

/// The file of a record, as an attachment (never shown inline: it is the patient's data, not a
/// page of this site).
pub async fn download(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((patient_id, record_id)): Path<(i64, i64)>,
) -> Response {
    let path = format!("/api/records/{patient_id}/{record_id}/file");
    match state.api.get_file(&session, &path).await {
        Ok(file) => {
            let mut response = file.bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&file.content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            let disposition = file
                .disposition
                .and_then(|value| HeaderValue::from_str(&value).ok())
                .or_else(|| {
                    HeaderValue::from_str(&format!("attachment; filename=\"record-{record_id}\""))
                        .ok()
                });
            if let Some(value) = disposition {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            );
            response
        }
        Err(err) => state.problem_page(&err),
    }
}

/// A new record from the form (`multipart/form-data`: `_csrf`, `recordType`, `title`,
/// `content`, optional `file`), sent on to the API as the same kind of request.
pub async fn write(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(patient_id): Path<i64>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let form = match check_multipart_csrf(&state, &headers, &session, multipart).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let record = json!({
        "patientId": patient_id,
        "recordType": form.text("recordType"),
        "title": form.text("title"),
        "content": form.text("content"),
    });
    match state.api.create_record(&session, &record, form.file).await {
        Ok(()) => see_other(&format!("/records?patient={patient_id}")),
        Err(err @ ApiError::Refused { .. }) => {
            let status = err.status();
            records_page(&state, &session, patient_id, Some(&err), status).await
        }
        Err(err) => state.problem_page(&err),
    }
}
