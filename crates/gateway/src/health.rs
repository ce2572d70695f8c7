//! `/health/ready` for the gateway: ready when every backend has a live instance.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use http_body_util::{BodyExt, Full};
use platform::server::Readiness;

use crate::client::HttpClient;
use crate::upstream::{Instance, Upstream};

/// A live instance answers at once; a readiness probe must not hang on one that does not.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) fn readiness(client: HttpClient, upstreams: Vec<Arc<Upstream>>) -> Readiness {
    let upstreams: Arc<[Arc<Upstream>]> = upstreams.into();
    Readiness::new(move || {
        let client = client.clone();
        let upstreams = upstreams.clone();
        async move { check(&client, &upstreams).await }
    })
}

/// `Err` names (by service, never by address) each backend without a live instance.
async fn check(client: &HttpClient, upstreams: &[Arc<Upstream>]) -> Result<(), String> {
    let live = futures::future::join_all(upstreams.iter().map(|u| any_live(client, u))).await;
    let down: Vec<&str> = upstreams
        .iter()
        .zip(live)
        .filter(|(_, live)| !live)
        .map(|(upstream, _)| upstream.service().name())
        .collect();
    if down.is_empty() {
        Ok(())
    } else {
        Err(format!("No live instance of: {}.", down.join(", ")))
    }
}

/// Probes every instance at once and stops at the first that answers.
async fn any_live(client: &HttpClient, upstream: &Arc<Upstream>) -> bool {
    upstream.start().await;
    let instances = upstream.instances();
    let mut probes: FuturesUnordered<_> = instances
        .iter()
        .map(|instance| is_live(client, instance))
        .collect();
    while let Some(live) = probes.next().await {
        if live {
            return true;
        }
    }
    false
}

async fn is_live(client: &HttpClient, instance: &Instance) -> bool {
    let Ok(request) = hyper::Request::get(format!("{}/health/live", instance.base())).body(
        Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed_unsync(),
    ) else {
        return false;
    };
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, client.request(request)).await,
        Ok(Ok(response)) if response.status().is_success()
    )
}
