//! A client's `x-request-id` is kept only when short and plain; junk never reaches the audit
//! trail or the logs, whether the request comes through the gateway or straight to a service.

use platform::config::Service;
use serde_json::Value;

use crate::helpers::TestApp;

/// Ids a client may not make us log or store.
fn junk() -> [String; 3] {
    [
        "x".repeat(5000),
        "tab\there \"quoted\" {braced}".to_owned(),
        "{\"level\":\"ERROR\",\"msg\":\"forged\"}".to_owned(),
    ]
}

fn is_plain(id: &str) -> bool {
    platform::request_id::is_acceptable(id.as_bytes())
}

async fn junk_request_ids_are_replaced_before_they_are_recorded(app: &TestApp) {
    let patient = app.register_patient(1).await;
    let patient_id = patient.patient_id.unwrap();
    let profile = format!("/api/patients/{patient_id}");
    let mut given = Vec::new();
    for id in junk() {
        let answer = app
            .http
            .get(format!("{}{profile}", app.gateway))
            .bearer_auth(&patient.token)
            .header("x-request-id", &id)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let replaced = answer.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(replaced, id);
        assert!(is_plain(&replaced), "{replaced}");
        given.push(replaced);
    }

    // Straight to the service, past the gateway: its own server layer replaces the id too.
    let direct = app
        .http
        .get(format!("{}{profile}", app.urls[&Service::Patients]))
        .bearer_auth(&patient.token)
        .header("x-request-id", &junk()[1])
        .send()
        .await
        .unwrap();
    let replaced = direct.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(is_plain(&replaced), "{replaced}");
    given.push(replaced);

    let trail = app
        .get(&format!("/api/audit?patientId={patient_id}&size=100"))
        .await
        .expect(200)
        .body;
    let ids: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|row| row["requestId"].as_str())
        .collect();
    for id in &given {
        assert!(
            ids.contains(&id.as_str()),
            "no audit row under {id}: {ids:?}"
        );
    }
    assert!(ids.iter().all(|id| is_plain(id)), "{ids:?}");
    assert!(!trail.to_string().contains("forged"));
}

async fn a_plain_request_id_is_kept(app: &TestApp) {
    let answer = app
        .http
        .get(format!("{}/api/doctors", app.gateway))
        .bearer_auth(&app.admin_token)
        .header("x-request-id", "client-trace:42.a_b")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-request-id"], "client-trace:42.a_b");
    let _: Value = answer.json().await.unwrap();
}

on_both_backends!(
    junk_request_ids_are_replaced_before_they_are_recorded,
    a_plain_request_id_is_kept
);
