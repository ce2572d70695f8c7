//! `POST /api/records`: a record as JSON, or as a form with its file.

use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use contracts::records::{MedicalRecord, NewRecord, RecordType};
use platform::ApiError;
use platform::audit::{Action, AuditContext, Outcome};
use platform::client::Forwarded;
use platform::docs::{BadRequest, Unprocessable};
use platform::extract::Json;

use super::{Refusal, upload};
use crate::AppState;
use crate::domain::{RecordDetails, SealedText};
use crate::policy::MayWrite;
use crate::seal::seal_text;
use crate::store::{NewRow, StoredFile};
use crate::view;

/// Add a record (a DOCTOR caring for the patient; ADMIN naming the doctor). As JSON, or as
/// `multipart/form-data` with a `record` JSON part first and a `file` part (PDF, PNG, JPEG or
/// plain text, recognised from its bytes).
#[utoipa::path(post, path = "/api/records", tag = "records",
    request_body(content(
        (NewRecord = "application/json"),
        (contracts::records::RecordUpload = "multipart/form-data"),
    )),
    responses((status = 201, body = MedicalRecord), BadRequest, Unprocessable,
        (status = 403, description = "Not a doctor caring for the patient, nor ADMIN", body = platform::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is over `CAREBOOK_MAX_UPLOAD_MB`", body = platform::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The file is not PDF, PNG, JPEG or plain text, or not what it was declared to be", body = platform::Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    ctx: AuditContext,
    fwd: Forwarded,
    request: Request,
) -> Response {
    let result = if is_multipart(&request) {
        upload::create_with_file(&state, &ctx, &fwd, request).await
    } else {
        match Json::<NewRecord>::from_request(request, &state).await {
            Ok(Json(input)) => create_plain(&state, &ctx, &fwd, input).await,
            Err(response) => return response,
        }
    };
    match result {
        Ok(record) => (StatusCode::CREATED, axum::Json(record)).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

async fn create_plain(
    state: &AppState,
    ctx: &AuditContext,
    fwd: &Forwarded,
    input: NewRecord,
) -> Result<MedicalRecord, Refusal> {
    let details = RecordDetails::parse(input, "")?;
    let access = authorize(state, ctx, fwd, &details).await?;
    let id = state.store.allocate_id().await?;
    let text = SealedText {
        title: details.title.into_string(),
        content: details.content.into_string(),
        file_name: None,
    };
    Ok(save(state, ctx, access, (id, details.record_type), text, None).await?)
}

/// The policy's answer; a refusal is on the audit trail.
pub(super) async fn authorize(
    state: &AppState,
    ctx: &AuditContext,
    fwd: &Forwarded,
    details: &RecordDetails,
) -> Result<MayWrite, Refusal> {
    let decision = state
        .policy
        .may_write(&ctx.principal, details.patient_id, details.doctor_id, fwd)
        .await;
    if let Err(err) = &decision {
        let outcome = match err {
            ApiError::Forbidden | ApiError::NotFound(_) => Outcome::Denied,
            _ => Outcome::Failed,
        };
        let resource = format!("patient/{}/records", details.patient_id);
        state
            .audit
            .record(
                ctx,
                Some(details.patient_id),
                Action::Create,
                &resource,
                outcome,
            )
            .await?;
    }
    Ok(decision?)
}

/// Seals the text under the newest key and stores the record, its event and its audit row.
pub(super) async fn save(
    state: &AppState,
    ctx: &AuditContext,
    access: MayWrite,
    (id, record_type): (i64, RecordType),
    text: SealedText,
    file: Option<StoredFile>,
) -> platform::Result<MedicalRecord> {
    let ring = state.keys.ring()?;
    let (key_id, key) = ring.newest();
    let plain = serde_json::to_vec(&text).map_err(anyhow::Error::from)?;
    let (nonce, sealed) = seal_text(key, id, &plain)?;
    let row = NewRow {
        id,
        record_type,
        key_id: key_id.to_owned(),
        nonce,
        sealed,
        file,
    };
    let stored = state.store.insert(access, row, (&state.audit, ctx)).await?;
    tracing::info!(
        record_id = id,
        patient_id = access.patient_id(),
        "medical record added"
    );
    view::open(&ring, stored)
}
