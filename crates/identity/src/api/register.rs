use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use contracts::identity::{AccountRole, RegisterRequest, RegisterResponse};
use jiff::{SignedDuration, Timestamp};
use platform::auth::Principal;
use platform::docs::{BadRequest, Conflict};
use platform::extract::Json;
use platform::server::REQUEST_ID;
use platform::{ApiError, Problem};

use crate::AppState;
use crate::domain::registration::{Profile, Registration, authorize};
use crate::profiles::LinkedProfile;
use crate::tokens::access::{SERVICE_TOKEN_TTL, Subject};

/// A registration still unfinished after this long was interrupted for good.
const UNFINISHED_AFTER: SignedDuration = SignedDuration::from_mins(10);

/// Create an account.
///
/// Anyone may create a `PATIENT` account; its patient profile is created with it. With an
/// ADMIN token the body may ask for a `DOCTOR` (with `speciality`; a doctor profile is created)
/// or an `ADMIN`. When the profile cannot be created, no account is left behind and the profile
/// service's answer (400, 409, 503) is passed on.
#[utoipa::path(post, path = "/api/auth/register", tag = "identity",
    request_body = contracts::identity::Registration,
    responses(
        (status = 201, body = RegisterResponse),
        BadRequest,
        (status = 403, description = "Only an ADMIN may create DOCTOR and ADMIN accounts",
            body = Problem, content_type = "application/problem+json"),
        Conflict))]
pub async fn register(
    State(state): State<AppState>,
    caller: Option<Principal>,
    headers: HeaderMap,
    Json(request): Json<RegisterRequest>,
) -> platform::Result<(StatusCode, axum::Json<RegisterResponse>)> {
    let role = request.role.unwrap_or(AccountRole::Patient);
    authorize(role, caller.as_ref())?;
    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let registration = Registration::parse(request, today)?;
    let hash = state.hasher.hash(&registration.password).await?;

    let now = Timestamp::now();
    let email = &registration.email;
    state
        .store
        .discard_unfinished_registration(email, now - UNFINISHED_AFTER)
        .await?;
    let has_profile = !matches!(registration.profile, Profile::None);
    let user_id = state
        .store
        .insert_user(email, &hash, registration.role, !has_profile, now)
        .await?;
    let linked = match create_profile(&state, &registration.profile, &headers).await {
        Ok(linked) => linked,
        Err(err) => {
            // No half-created accounts: the e-mail address is free again.
            state.store.delete_user(user_id).await?;
            tracing::info!(user_id, "registration undone: the profile was not created");
            return Err(err);
        }
    };
    if has_profile {
        state
            .store
            .activate_user(
                user_id,
                linked.patient_id,
                linked.doctor_id,
                Timestamp::now(),
            )
            .await?;
    }
    tracing::info!(
        user_id,
        role = registration.role.as_str(),
        patient_id = linked.patient_id,
        doctor_id = linked.doctor_id,
        "account registered"
    );
    let response = RegisterResponse {
        user_id,
        patient_id: linked.patient_id,
        doctor_id: linked.doctor_id,
        role: registration.role,
    };
    Ok((StatusCode::CREATED, axum::Json(response)))
}

async fn create_profile(
    state: &AppState,
    profile: &Profile,
    headers: &HeaderMap,
) -> Result<LinkedProfile, ApiError> {
    if matches!(profile, Profile::None) {
        return Ok(LinkedProfile::default());
    }
    let token = state.sign(&Subject::SERVICE, SERVICE_TOKEN_TTL).await?;
    state
        .profiles
        .create(profile, &token, headers.get(REQUEST_ID))
        .await
}
