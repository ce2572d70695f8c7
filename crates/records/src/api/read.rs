//! Reading records: a patient's list, and one record's file.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use contracts::records::MedicalRecord;
use platform::audit::{Action, AuditContext};
use platform::docs::{BadQuery, NotFound};
use platform::page::{Page, PageParams};
use platform::{ApiError, Result};

use crate::AppState;
use crate::blobs::Sealed;
use crate::view;

/// A patient's records, newest first (the patient; a DOCTOR caring for the patient — a doctor
/// whose care ended sees the records they wrote; ADMIN).
#[utoipa::path(get, path = "/api/records/{patientId}", tag = "records",
    params(("patientId" = platform::schema::Id, Path, description = "Patient id"), PageParams),
    responses((status = 200, body = Page<MedicalRecord>), BadQuery,
        (status = 403, description = "Not allowed to see this patient's records", body = platform::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(patient_id): Path<i64>,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<MedicalRecord>>> {
    positive_id("patientId", patient_id)?;
    let result = async {
        let page = page.validate()?;
        let access = state.policy.may_read(&ctx.principal, patient_id).await?;
        let (records, total) = state.store.list(access, page).await?;
        let ring = state.keys.ring()?;
        let items = records
            .into_iter()
            .map(|record| view::open(&ring, record))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, page, total))
    }
    .await;
    let resource = format!("patient/{patient_id}/records");
    let page = state
        .audit
        .outcome(&ctx, Some(patient_id), Action::List, &resource, result)
        .await?;
    Ok(axum::Json(page))
}

/// A record's file, with its content type and file name (same callers as the list).
#[utoipa::path(get, path = "/api/records/{patientId}/{recordId}/file", tag = "records",
    params(("patientId" = platform::schema::Id, Path, description = "Patient id"),
        ("recordId" = platform::schema::Id, Path, description = "Record id")),
    responses((status = 200, description = "The file's bytes, as `attachment` with its name",
            content((String = "application/pdf"), (String = "image/png"),
                (String = "image/jpeg"), (String = "text/plain"))),
        BadQuery, NotFound,
        (status = 403, description = "Not allowed to see this patient's records", body = platform::Problem, content_type = "application/problem+json")))]
pub async fn download(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path((patient_id, record_id)): Path<(i64, i64)>,
) -> Result<Response> {
    positive_id("patientId", patient_id)?;
    positive_id("recordId", record_id)?;
    let result = async {
        let access = state.policy.may_read(&ctx.principal, patient_id).await?;
        let record = state
            .store
            .find(access, record_id)
            .await?
            .ok_or_else(|| not_found(record_id))?;
        let file = record.file.as_ref().ok_or_else(|| not_found(record_id))?;
        let ring = state.keys.ring()?;
        let text = view::open_sealed(&ring, &record)?;
        let key = ring
            .get(&file.key_id)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown records key")))?;
        let sealed = Sealed {
            record_id,
            key,
            nonce_prefix: &file.nonce_prefix,
            object: &file.object,
            size: file.size,
            sha256: &file.sha256,
        };
        let bytes = state.blobs.read(&sealed).await.map_err(|err| {
            tracing::error!(record_id, error = %format!("{err:#}"),
                "INTEGRITY: attachment refused, it does not match what was stored");
            ApiError::Internal(err)
        })?;
        let name = text.file_name.unwrap_or_else(|| "attachment".to_owned());
        Ok(file_response(bytes, &file.content_type, &name))
    }
    .await;
    let resource = format!("record/{record_id}/file");
    state
        .audit
        .outcome(&ctx, Some(patient_id), Action::Read, &resource, result)
        .await
}

fn file_response(bytes: Vec<u8>, content_type: &str, name: &str) -> Response {
    let content_type = if content_type == "text/plain" {
        "text/plain; charset=utf-8".to_owned()
    } else {
        content_type.to_owned()
    };
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::try_from(content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        ),
        (header::CONTENT_DISPOSITION, content_disposition(name)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    (headers, bytes).into_response()
}

/// `attachment` with an ASCII fallback name and the exact name in RFC 5987 form.
fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    HeaderValue::try_from(format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

fn not_found(record_id: i64) -> ApiError {
    ApiError::NotFound(format!("Record {record_id} has no file here."))
}

/// Ids start at 1, as the document says: anything else names nothing and is refused.
fn positive_id(field: &str, id: i64) -> Result<()> {
    if id < 1 {
        return Err(ApiError::invalid(field, "must be a positive id"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn content_disposition_quotes_safely_and_keeps_the_exact_name() {
        let value = content_disposition("scan \"1\" é.pdf");
        assert_eq!(
            value.to_str().unwrap(),
            "attachment; filename=\"scan _1_ _.pdf\"; filename*=UTF-8''scan%20%221%22%20%C3%A9.pdf"
        );
    }
}
