//! How a forwarding attempt fails, answered as problem+json.
//!
//! The gateway's own enum rather than `platform::ApiError`: 413, 502 and 504 are answers only a
//! proxy gives. Details name the service, never an instance's address or the transport error,
//! which go to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use platform::Problem;
use platform::config::Service;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyError {
    /// 413: the body is larger than the configured limit.
    TooLarge { limit: usize },
    /// 400: the client's body broke off before its end.
    BrokenBody,
    /// 503: no instance of the service accepted a connection.
    Unavailable(Service),
    /// 504: the service did not answer within the upstream timeout.
    Timeout(Service),
    /// 502: the request was sent but the exchange failed; not retried, the service may have acted.
    BadGateway(Service),
}

impl ProxyError {
    fn to_problem(self) -> Problem {
        match self {
            Self::TooLarge { limit } => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body is larger than {limit} bytes."),
            ),
            Self::BrokenBody => Problem::new(
                StatusCode::BAD_REQUEST,
                "The request body could not be read.".to_owned(),
            ),
            Self::Unavailable(service) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("The {service} service is not available."),
            ),
            Self::Timeout(service) => Problem::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!("The {service} service did not answer in time."),
            ),
            Self::BadGateway(service) => Problem::new(
                StatusCode::BAD_GATEWAY,
                format!("The {service} service failed to answer."),
            ),
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        self.to_problem().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_name_the_service_and_statuses_match() {
        let cases = [
            (
                ProxyError::TooLarge { limit: 10 },
                413,
                "larger than 10 bytes",
            ),
            (
                ProxyError::Unavailable(Service::Doctors),
                503,
                "doctors service is not available",
            ),
            (
                ProxyError::Timeout(Service::Patients),
                504,
                "patients service did not answer in time",
            ),
            (
                ProxyError::BadGateway(Service::Appointments),
                502,
                "appointments service failed",
            ),
        ];
        for (error, status, detail) in cases {
            let problem = error.to_problem();
            assert_eq!(problem.status, status);
            assert!(
                problem.detail.unwrap_or_default().contains(detail),
                "{error:?}"
            );
        }
    }
}
