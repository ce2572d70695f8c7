use axum::extract::{Path, State};
use axum::http::StatusCode;
use platform::Result;
use platform::auth::Principal;
use platform::docs::{BadQuery, NotFound};

use crate::AppState;
use crate::policy::Policy;

/// Whether a patient exists (ADMIN; services; the patient themselves): `204`, or `404`.
///
/// Answers no personal data, so it is not audited as a read of the patient's record; the
/// appointment service asks it before booking.
#[utoipa::path(get, path = "/api/patients/{id}/exists", tag = "patients",
    params(("id" = platform::schema::Id, Path, description = "Patient id")),
    responses((status = 204, description = "The patient exists"), BadQuery, NotFound))]
pub async fn exists(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let access = Policy::may_check_exists(&principal, id)?;
    if state.store.exists(access).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(platform::ApiError::NotFound(format!(
            "Patient {id} does not exist."
        )))
    }
}
