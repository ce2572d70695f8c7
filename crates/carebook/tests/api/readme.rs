//! The README as a user meets it: `carebook up` as its own process (demo clinic seeded), shell
//! scripts run with bash and the real curl, and the walk-through checked claim by claim.

mod calls;

use std::process::Command;

use serde_json::{Value, json};

use crate::events::eventually;
use crate::fixtures::process::ServiceProcess;
use crate::web::Browser;
use calls::{Call, Recorder};

const README: &str = include_str!("../../../../README.md");

/// Waits (at most 60 s) until the gateway at `$GW` is ready, as a deploy script would.
const WAIT_UNTIL_READY: &str = r#"
for _ in $(seq 1 600); do
  "$REAL_CURL" -fs "$GW/health/ready" >/dev/null && break
  sleep 0.1
done
"$REAL_CURL" -fs "$GW/health/ready" >/dev/null || { echo "never ready" >&2; exit 1; }
"#;

/// Runs `script` with bash, `$GW` set to `gateway` and curl recorded; panics if it fails.
fn run_bash(gateway: &str, script: &str, recorder: &Recorder) -> String {
    let output = Command::new("timeout")
        .args([
            "120",
            "bash",
            "-c",
            &format!("{WAIT_UNTIL_READY}\n{script}"),
        ])
        .env("GW", gateway)
        .envs(recorder.env())
        .output()
        .expect("bash and coreutils' timeout run the README's scripts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the script failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every ```sh block of the README section headed `heading`, joined.
fn shell_blocks(heading: &str) -> String {
    let start = README
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let section = &README[start + 1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let blocks: Vec<&str> = section
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default())
        .collect();
    assert!(!blocks.is_empty(), "no ```sh block under {heading:?}");
    blocks.join("\n")
}

#[tokio::test]
async fn a_script_waiting_for_readiness_sees_the_seeded_demo_clinic() {
    let carebook = ServiceProcess::up(&[]).await;
    let recorder = Recorder::new();
    let script = r#"
token=$(curl -s -XPOST "$GW/api/auth/login" -H 'content-type: application/json' \
  -d '{"email":"admin@carebook.example","password":"demo-admin-2026"}' |
  sed 's/.*"accessToken":"\([^"]*\)".*/\1/')
for list in doctors patients appointments; do
  curl -s "$GW/api/$list?size=100" -H "authorization: Bearer $token"; echo
done
"#;
    let lines = run_bash(carebook.url(), script, &recorder);
    let ids = |line: &str| -> Vec<i64> {
        let list: Value = serde_json::from_str(line).unwrap();
        let mut ids: Vec<i64> = list["items"]
            .as_array()
            .unwrap_or_else(|| panic!("not a list: {line}"))
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    let lists: Vec<Vec<i64>> = lines.lines().map(ids).collect();
    assert_eq!(lists, [vec![1, 2, 3], vec![1, 2, 3, 4, 5], vec![1, 2]]);
}

/// "Open http://127.0.0.1:8080/ for the web app": the demo clinic's patient signs in there.
#[tokio::test]
async fn the_web_app_is_at_the_gateways_address() {
    let carebook = ServiceProcess::up(&[]).await;
    let ready = format!("{}/health/ready", carebook.url());
    eventually("the demo clinic seeded", || async {
        let answer = reqwest::get(&ready).await.ok()?;
        answer.status().is_success().then_some(())
    })
    .await;
    let mut browser = Browser::at(carebook.url());
    browser.get("/").await.redirects_to("/login");
    let landing = browser
        .sign_in("ada@carebook.example", "demo-patient-2026")
        .await;
    assert_eq!(landing, "/appointments");
    let page = browser.get("/appointments").await.expect(200);
    assert!(page.html.contains("My appointments"), "{}", page.html);
    let doctors = browser.get("/doctors").await.expect(200);
    assert!(doctors.html.contains("See free times"), "{}", doctors.html);
}

#[tokio::test]
async fn the_walk_through_holds_as_written() {
    let script = shell_blocks("A walk through with curl");
    let default_gateway = "GW=http://127.0.0.1:8080\n";
    assert!(script.starts_with(default_gateway), "{script}");
    // Only the gateway's address changes; `GW` comes from the environment instead.
    let script = &script[default_gateway.len()..];
    let carebook = ServiceProcess::up(&[]).await;
    let recorder = Recorder::new();
    run_bash(carebook.url(), script, &recorder);

    let calls = recorder.calls();
    let day = calls[4].url_param("from");
    check_accounts_and_schedule(&calls, &day);
    check_bookings(&calls);
    check_notifications_and_audit(&calls, carebook.url()).await;
    let bad = calls[16].expect("POST", "/api/patients", 400);
    assert_eq!(
        bad.problem_fields(),
        ["name", "email", "phone", "dob", "address"]
    );
    assert_eq!(calls.len(), 17, "one more call than the README shows");
    // Nothing was written: the demo clinic's five patients, Ann and Bob.
    let admin = calls[0].body()["accessToken"].as_str().unwrap().to_owned();
    let patients = get(carebook.url(), "/api/patients", &admin).await;
    assert_eq!(patients["total"], 7, "{patients}");
}

/// The admin's sign-in, Jane's registration and schedule, and the patients' registrations.
fn check_accounts_and_schedule(calls: &[Call], day: &str) {
    calls[0].expect("POST", "/api/auth/login", 200);
    let jane = calls[1].expect("POST", "/api/auth/register", 201).body();
    assert_eq!(
        (jane["doctorId"].clone(), jane["role"].clone()),
        (json!(4), json!("DOCTOR"))
    );
    calls[2].expect("POST", "/api/auth/login", 200);
    calls[3].expect("PUT", "/api/doctors/4/schedule", 200);
    let slots = calls[4].expect("GET", "/api/doctors/4/slots", 200).body();
    assert_eq!(
        slots[0],
        json!({"start": format!("{day}T09:00:00Z"), "end": format!("{day}T09:30:00Z")})
    );
    for (call, patient_id) in [(&calls[5], 6), (&calls[6], 7)] {
        let registered = call.expect("POST", "/api/auth/register", 201).body();
        assert_eq!(registered["patientId"], patient_id, "{registered}");
        assert_eq!(registered["role"], "PATIENT");
    }
    calls[7].expect("POST", "/api/auth/login", 200);
    calls[8].expect("POST", "/api/auth/login", 200);
}

/// Ann's booking, its approval, Bob's refused booking and read, Ann's cancellation.
fn check_bookings(calls: &[Call]) {
    let booked = calls[9].expect("POST", "/api/appointments", 201).body();
    assert_eq!(
        (booked["id"].clone(), booked["status"].clone()),
        (json!(3), json!("REQUESTED"))
    );
    let approved = calls[10].expect("POST", "/api/doctors/appointments/approve", 200);
    assert_eq!(approved.body()["status"], "APPROVED");
    let refused = calls[11].expect("POST", "/api/appointments", 409);
    assert_eq!(refused.content_type(), "application/problem+json");
    assert_eq!(
        refused.body()["detail"],
        "The doctor already has an appointment overlapping this time."
    );
    calls[12].expect("GET", "/api/appointments/3", 404);
    let cancelled = calls[13]
        .expect("DELETE", "/api/appointments/3", 200)
        .body();
    assert_eq!(cancelled["status"], "CANCELLED", "{cancelled}");
    assert_eq!(cancelled["lateCancellation"], false, "{cancelled}");
}

/// Ann's notifications, Jane's (asked to approve, told of both changes) and the audit trail.
async fn check_notifications_and_audit(calls: &[Call], gateway: &str) {
    let ann = calls[14].expect("GET", "/api/notifications", 200).body();
    assert_eq!(kinds(&ann), ["CANCELLATION", "CONFIRMATION"], "{ann}");
    assert_eq!(ann["items"][0]["channel"], "IN_APP");
    let jane_token = calls[3].bearer_token();
    let jane = get(gateway, "/api/notifications", &jane_token).await;
    assert_eq!(
        kinds(&jane),
        ["CANCELLATION", "CONFIRMATION", "APPROVAL_REQUEST"],
        "{jane}"
    );

    let audit = calls[15].expect("GET", "/api/audit", 200).body();
    let rows: Vec<(String, String, String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["resource"] == "appointment/3")
        .map(|row| {
            assert_eq!(row["patientId"], 6);
            let field = |name: &str| row[name].as_str().unwrap().to_owned();
            (
                field("actorRole"),
                field("action"),
                field("outcome"),
                field("endpoint"),
            )
        })
        .collect();
    let row = |role: &str, action: &str, outcome: &str, endpoint: &str| {
        (
            role.to_owned(),
            action.to_owned(),
            outcome.to_owned(),
            endpoint.to_owned(),
        )
    };
    assert_eq!(
        rows,
        [
            row(
                "PATIENT",
                "UPDATE",
                "SUCCESS",
                "DELETE /api/appointments/{id}"
            ),
            row("PATIENT", "READ", "DENIED", "GET /api/appointments/{id}"),
            row(
                "DOCTOR",
                "UPDATE",
                "SUCCESS",
                "POST /api/appointments/{id}/approve"
            ),
            row("PATIENT", "CREATE", "SUCCESS", "POST /api/appointments"),
        ]
    );
}

fn kinds(list: &Value) -> Vec<&str> {
    let items = list["items"].as_array().unwrap();
    items.iter().map(|n| n["kind"].as_str().unwrap()).collect()
}

async fn get(gateway: &str, path: &str, token: &str) -> Value {
    let answer = reqwest::Client::new()
        .get(format!("{gateway}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{path}");
    answer.json().await.unwrap()
}
