//! Creating the profile of a new account in the patient or doctor service, as the identity
//! service itself (a short-lived `SERVICE` token), never with the registering caller's token.

use axum::http::{HeaderValue, Method};
use platform::ApiError;
use platform::client::{Forwarded, ServiceClient};
use serde::Deserialize;

use crate::domain::registration::Profile;

#[derive(Debug, Clone)]
pub struct Profiles {
    pub patients: ServiceClient,
    pub doctors: ServiceClient,
}

/// The profile ids an account is linked to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkedProfile {
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
}

/// All we need of the created profile.
#[derive(Deserialize)]
struct Created {
    id: i64,
}

impl Profiles {
    /// Creates `profile`; the other service's refusals (400, 409) are passed on, its outage
    /// is 503.
    pub async fn create(
        &self,
        profile: &Profile,
        service_token: &str,
        request_id: Option<&HeaderValue>,
    ) -> platform::Result<LinkedProfile> {
        let forwarded = Forwarded::service(service_token, request_id);
        match profile {
            Profile::Patient(input) => {
                let created: Created = self
                    .patients
                    .send_json(Method::POST, "/api/patients", Some(input), &forwarded)
                    .await
                    .map_err(|err| refused_us("patients", err))?;
                Ok(LinkedProfile {
                    patient_id: Some(created.id),
                    doctor_id: None,
                })
            }
            Profile::Doctor(input) => {
                let created: Created = self
                    .doctors
                    .send_json(Method::POST, "/api/doctors", Some(input), &forwarded)
                    .await
                    .map_err(|err| refused_us("doctors", err))?;
                Ok(LinkedProfile {
                    patient_id: None,
                    doctor_id: Some(created.id),
                })
            }
            Profile::None => Ok(LinkedProfile::default()),
        }
    }
}

/// A 401/403 means the other service does not accept our service token: a deployment fault,
/// not the caller's, so it is logged and answered as an outage.
fn refused_us(service: &'static str, err: ApiError) -> ApiError {
    match err {
        ApiError::Upstream(problem) if matches!(problem.status, 401 | 403) => {
            tracing::error!(
                service,
                status = problem.status,
                "a service refused the identity service's token"
            );
            ApiError::Unavailable(format!(
                "The {service} service is unavailable; try again shortly."
            ))
        }
        other => other,
    }
}
