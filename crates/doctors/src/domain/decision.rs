//! A doctor's answer to an appointment request, checked before it is passed on.

use contracts::appointments::DecisionBody;
use contracts::doctors::DecisionRequest;
use platform::validation::Violations;
use platform::values::NonBlank;

/// Which way the doctor decided; each endpoint stands for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject,
}

impl Verdict {
    /// The action's name in the appointment service's path.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }

    /// The status the appointment ends up in.
    pub fn status(self) -> &'static str {
        match self {
            Self::Approve => "APPROVED",
            Self::Reject => "REJECTED",
        }
    }
}

/// A validated decision on one appointment.
#[derive(Debug, Clone)]
pub struct Decision {
    pub appointment_id: i64,
    pub verdict: Verdict,
    pub body: DecisionBody,
}

impl Decision {
    /// A given `status` must name the endpoint's outcome; a reason is kept for rejections only.
    pub fn parse(request: DecisionRequest, verdict: Verdict) -> platform::Result<Self> {
        let mut v = Violations::default();
        if request.appointment_id <= 0 {
            v.add("appointmentId", "must be a positive id");
        }
        if let Some(status) = request.status.as_deref()
            && !status.trim().eq_ignore_ascii_case(verdict.status())
        {
            v.add("status", format!("must be {} when given", verdict.status()));
        }
        let reason = match verdict {
            Verdict::Approve => None,
            Verdict::Reject => v.check_optional("reason", request.reason, |r| NonBlank::reason(&r)),
        };
        let decision = Self {
            appointment_id: request.appointment_id,
            verdict,
            body: DecisionBody {
                reason: reason.map(NonBlank::into_string),
            },
        };
        v.finish(Some(decision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: Option<&str>, reason: Option<&str>) -> DecisionRequest {
        DecisionRequest {
            appointment_id: 42,
            status: status.map(Into::into),
            reason: reason.map(Into::into),
        }
    }

    fn fields(result: platform::Result<Decision>) -> Vec<String> {
        match result {
            Err(platform::ApiError::Invalid(errors)) => {
                errors.into_iter().map(|e| e.field).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn status_is_optional_but_must_match_the_endpoint() {
        assert!(Decision::parse(request(None, None), Verdict::Approve).is_ok());
        assert!(Decision::parse(request(Some("APPROVED"), None), Verdict::Approve).is_ok());
        assert!(Decision::parse(request(Some("REJECTED"), None), Verdict::Reject).is_ok());
        assert_eq!(
            fields(Decision::parse(
                request(Some("REJECTED"), None),
                Verdict::Approve
            )),
            ["status"]
        );
        assert_eq!(
            fields(Decision::parse(
                request(Some("APPROVED"), None),
                Verdict::Reject
            )),
            ["status"]
        );
    }

    #[test]
    fn a_rejection_keeps_its_reason() {
        let decision =
            Decision::parse(request(None, Some(" Fully booked ")), Verdict::Reject).unwrap();
        assert_eq!(decision.body.reason.as_deref(), Some("Fully booked"));
        assert_eq!(decision.verdict.verb(), "reject");
        let approval = Decision::parse(request(None, Some("ok")), Verdict::Approve).unwrap();
        assert_eq!(approval.body.reason, None);
    }

    #[test]
    fn a_reason_the_appointment_service_would_refuse_is_refused_here() {
        let long = "x".repeat(platform::values::limits::REASON + 1);
        assert_eq!(
            fields(Decision::parse(request(None, Some(&long)), Verdict::Reject)),
            ["reason"]
        );
        let longest = "x".repeat(platform::values::limits::REASON);
        assert!(Decision::parse(request(None, Some(&longest)), Verdict::Reject).is_ok());
    }

    #[test]
    fn reports_every_bad_field() {
        let bad = DecisionRequest {
            appointment_id: 0,
            status: Some("DONE".into()),
            reason: Some("".into()),
        };
        assert_eq!(
            fields(Decision::parse(bad, Verdict::Reject)),
            ["appointmentId", "status", "reason"]
        );
    }
}
