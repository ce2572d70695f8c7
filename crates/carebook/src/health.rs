//! `carebook health`: the container health check. Images carry no shell and no curl, so the
//! binary asks its own process whether it is ready.

use std::time::Duration;

use anyhow::{Context, bail};

/// A ready process answers at once; a check that hangs would only delay the verdict.
const TIMEOUT: Duration = Duration::from_secs(3);

/// `GET url` (by default this process's own `/health/ready`, found from `CAREBOOK_LISTEN`)
/// must answer 2xx within a few seconds.
pub async fn check(url: Option<String>) -> anyhow::Result<()> {
    // Probing itself over loopback, the gateway meets its own certificate, which names its
    // public host: that one is not verified. A URL given explicitly is.
    let own = url.is_none();
    let url = url.unwrap_or_else(own_readiness_url);
    let http = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .tls_danger_accept_invalid_certs(own)
        .build()?;
    let answer = http
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} did not answer"))?;
    let status = answer.status();
    if !status.is_success() {
        let body = answer.text().await.unwrap_or_default();
        bail!("{url} answered {status}: {body}");
    }
    Ok(())
}

/// `http(s)://127.0.0.1:<port>/health/ready` for the address in `CAREBOOK_LISTEN` (any host
/// there becomes loopback), else the gateway's default port; https when the gateway has TLS.
fn own_readiness_url() -> String {
    let listen = platform::config::var("CAREBOOK_LISTEN").unwrap_or_default();
    let port = listen
        .rsplit_once(':')
        .map_or("8080", |(_, port)| port)
        .to_owned();
    let scheme = match platform::config::var("CAREBOOK_TLS_CERT") {
        Some(_) => "https",
        None => "http",
    };
    format!("{scheme}://127.0.0.1:{port}/health/ready")
}
