//! Bad questions get a problem+json naming each offending parameter and change nothing; the
//! figures are ADMIN's alone.

use reqwest::Method;

use super::figures;
use crate::helpers::TestApp;

on_both_backends!(bad_questions_are_refused_and_only_admin_reads_figures);

async fn bad_questions_are_refused_and_only_admin_reads_figures(app: &TestApp) {
    let summary = "/api/analytics/summary?from=2026-01-01&to=2026-12-31";
    let before = figures(app, summary).await;
    assert_eq!(before["appointments"]["total"], 0);
    assert_eq!(before["appointments"]["byStatus"]["NO_SHOW"], 0);

    let cases: [(&str, &[&str]); 10] = [
        ("/api/analytics/summary", &["from", "to"]),
        ("/api/analytics/summary?from=2026-01-01", &["to"]),
        (
            "/api/analytics/summary?from=2026-02-01&to=2026-01-31",
            &["from"],
        ),
        (
            "/api/analytics/summary?from=2026-01-01&to=2031-01-01",
            &["to"],
        ),
        (
            "/api/analytics/summary?from=01/02/2026&to=2026-02-30",
            &["from", "to"],
        ),
        (
            "/api/analytics/appointments?from=2026-01-01&to=2026-01-02",
            &["groupBy"],
        ),
        (
            "/api/analytics/appointments?groupBy=week&from=2026-01-01&to=2026-01-02",
            &["groupBy"],
        ),
        (
            "/api/analytics/appointments?groupBy=doctor&from=2026-03-01&to=2026-01-01",
            &["from"],
        ),
        (
            "/api/analytics/appointments?groupBy=day&from=2020-01-01&to=2025-01-01",
            &["to"],
        ),
        (
            "/api/analytics/appointments?groupBy=&from=&to=x",
            &["groupBy", "from", "to"],
        ),
    ];
    for (path, fields) in cases {
        let refused = app.get(path).await.expect(400);
        assert_eq!(refused.error_fields(), fields, "{path}");
    }
    // Five years less a day is the longest range.
    let longest = "/api/analytics/appointments?groupBy=speciality&from=2026-01-01&to=2030-12-31";
    assert_eq!(figures(app, longest).await, serde_json::json!([]));

    let doctor = app.register_doctor(1).await;
    let patient = app.register_patient(1).await;
    for path in [
        summary,
        "/api/analytics/appointments?groupBy=day&from=2026-01-01&to=2026-01-02",
    ] {
        for token in [&doctor.token, &patient.token] {
            app.call(Some(token), Method::GET, path, None)
                .await
                .expect(403);
        }
        app.call(None, Method::GET, path, None).await.expect(401);
    }
    // Only the registrations above are new figures: the appointments did not move.
    assert_eq!(
        figures(app, summary).await["appointments"],
        before["appointments"]
    );
}
