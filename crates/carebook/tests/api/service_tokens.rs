//! Service tokens: never minted through the gateway, and never for a weak secret.

use std::process::{Command, Output};

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

/// 32 zero bytes, base64: a well-formed key-encryption key.
const MASTER_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

async fn service_tokens_are_not_routed_by_the_gateway(app: &TestApp) {
    let body = json!({"secret": app.service_secret});
    for token in [None, Some(app.admin_token.as_str())] {
        let refused = app
            .call(token, Method::POST, "/api/auth/service-token", Some(&body))
            .await
            .expect(404);
        assert_eq!(refused.headers["content-type"], "application/problem+json");
        assert_eq!(refused.headers["x-content-type-options"], "nosniff");
        assert!(refused.body["accessToken"].is_null());
    }
    let doc = app.get("/api/openapi.json").await.expect(200).body;
    assert!(doc["paths"].get("/api/auth/service-token").is_none());
    assert!(doc["paths"].get("/api/auth/login").is_some());
    // The services still get theirs straight from identity.
    let identity = &app.urls[&platform::config::Service::Identity];
    let issued = app
        .http
        .post(format!("{identity}/api/auth/service-token"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 200);
}

on_both_backends!(service_tokens_are_not_routed_by_the_gateway);

/// `carebook <args>` with only `envs` of the `CAREBOOK_*` variables, run to its end.
fn carebook(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_carebook"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CAREBOOK_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .env("CAREBOOK_DATA_DIR", dir.path())
        .env("CAREBOOK_LISTEN", "127.0.0.1:0")
        .env("CAREBOOK_LOG_FORMAT", "pretty")
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn a_weak_service_secret_stops_start_up() {
    let weak = "short-secret-of-31-bytes-long!!";
    assert_eq!(weak.len(), 31);
    for service in ["identity", "notifications"] {
        let run = carebook(
            &["serve", service],
            &[
                ("CAREBOOK_SERVICE_SECRET", weak),
                ("CAREBOOK_MASTER_KEY", MASTER_KEY),
            ],
        );
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&run.stderr),
            String::from_utf8_lossy(&run.stdout)
        );
        assert!(!run.status.success(), "{service}: {output}");
        assert!(output.contains("at least 32 bytes"), "{service}: {output}");
        assert!(!output.contains(weak), "the secret is not shown");
        assert!(!output.contains("unknown CAREBOOK_"), "{service}: {output}");
    }
    let run = carebook(&["up"], &[("CAREBOOK_SERVICE_SECRET", weak)]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("at least 32 bytes"));
}
