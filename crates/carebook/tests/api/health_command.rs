//! `carebook health`, the container health check: it exits 0 only when the process it asks
//! answers `/health/ready` with 2xx.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures::process::ServiceProcess;

/// `carebook health <args>` with only `envs` of the `CAREBOOK_*` variables, run to its end.
fn health(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_carebook"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CAREBOOK_") {
            command.env_remove(name);
        }
    }
    command
        .arg("health")
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn health_passes_for_a_ready_service_found_through_its_listen_address() {
    let patients = ServiceProcess::spawn("patients", &[]).await;
    let port = patients.url().rsplit_once(':').unwrap().1.to_owned();
    // As in a container: the service binds every interface, the check asks loopback.
    let listen = format!("0.0.0.0:{port}");
    let own = health(&[], &[("CAREBOOK_LISTEN", &listen)]);
    assert!(own.status.success(), "{}", stderr(&own));
    let ready = format!("{}/health/ready", patients.url());
    let explicit = health(&[&ready], &[]);
    assert!(explicit.status.success(), "{}", stderr(&explicit));
}

#[tokio::test]
async fn health_fails_for_a_service_that_is_not_ready() {
    // A gateway whose backends are all missing is live but not ready (503).
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", nowhere.local_addr().unwrap());
    drop(nowhere);
    let envs: Vec<(String, String)> = platform::config::Service::BACKENDS
        .iter()
        .map(|s| {
            (
                format!("CAREBOOK_{}_URL", s.name().to_uppercase()),
                dead.clone(),
            )
        })
        .collect();
    let gateway = ServiceProcess::spawn("gateway", &envs).await;
    let ready = format!("{}/health/ready", gateway.url());
    let refused = health(&[&ready], &[]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("503"), "{}", stderr(&refused));
}

#[test]
fn health_fails_when_nothing_answers() {
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = nowhere.local_addr().unwrap().to_string();
    drop(nowhere);
    let refused = health(&[], &[("CAREBOOK_LISTEN", &listen)]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("did not answer"),
        "{}",
        stderr(&refused)
    );
}

/// Kills the process it holds when the test ends, also when it panics.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn health_probes_a_tls_gateway_over_https_without_checking_its_own_certificate() {
    let patients = ServiceProcess::spawn("patients", &[]).await;
    let files = tempfile::tempdir().unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["carebook.example".to_owned()]).unwrap();
    let (cert, key) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|probe| probe.local_addr())
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let tls = [("CAREBOOK_TLS_CERT", cert), ("CAREBOOK_TLS_KEY", key)];
    // Every backend answers at the patients' address, so the gateway becomes ready.
    let mut gateway = Command::new(env!("CARGO_BIN_EXE_carebook"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CAREBOOK_") {
            gateway.env_remove(name);
        }
    }
    for backend in platform::config::Service::BACKENDS {
        let key = format!("CAREBOOK_{}_URL", backend.name().to_uppercase());
        gateway.env(key, patients.url());
    }
    let _gateway = KillOnDrop(
        gateway
            .args(["serve", "gateway"])
            .env("CAREBOOK_DATA_DIR", files.path())
            .env("CAREBOOK_LISTEN", &listen)
            .envs(tls)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let own = [("CAREBOOK_LISTEN", listen.as_str()), tls[0], tls[1]];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let probe = health(&[], &own);
        if probe.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never healthy: {}",
            stderr(&probe)
        );
        // Polling interval, bounded by the deadline above.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A URL given explicitly gets the usual certificate checks: this one names another host.
    let explicit = health(&[&format!("https://{listen}/health/ready")], &[]);
    assert!(!explicit.status.success());
    assert!(
        stderr(&explicit).contains("did not answer"),
        "{}",
        stderr(&explicit)
    );
}
