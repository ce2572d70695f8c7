//! Optional TLS termination at the gateway (rustls), for deployments without a TLS proxy in
//! front. Backends behind the gateway are still reached over plain HTTP inside the deployment.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use platform::server::{Draining, ShutdownPlan, close_listener, drain, finish_in_flight};
use platform::wire::Guarded;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// HTTPS answers tell browsers to use HTTPS for this host from now on (one year).
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// Marks a request that came in over TLS, so the proxy forwards `x-forwarded-proto: https`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViaTls;

/// A certificate chain and its private key, ready to accept connections.
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
}

impl TlsConfig {
    /// Reads `CAREBOOK_TLS_CERT` (PEM certificate chain, leaf first) and `CAREBOOK_TLS_KEY`
    /// (PEM private key: PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        let cert_pem = std::fs::read(cert)
            .with_context(|| format!("CAREBOOK_TLS_CERT: cannot read {}", cert.display()))?;
        let key_pem = std::fs::read(key)
            .with_context(|| format!("CAREBOOK_TLS_KEY: cannot read {}", key.display()))?;
        Self::from_pem(&cert_pem, &key_pem)
    }

    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<Self> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .context("CAREBOOK_TLS_CERT is not a PEM certificate chain")?;
        anyhow::ensure!(!chain.is_empty(), "CAREBOOK_TLS_CERT holds no certificate");
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .context("CAREBOOK_TLS_KEY is not a PEM private key")?;
        // The provider is chosen here rather than taken from the process default, so this works
        // whatever else was installed.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("CAREBOOK_TLS_KEY does not match CAREBOOK_TLS_CERT or is not usable")?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            server: Arc::new(server),
        })
    }
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

/// Serves `app` over TLS until `shutdown` completes, then drains by `plan`
/// (`platform::server::serve_with_plan`), stops accepting (taking the queued connections) and
/// lets the open connections finish their requests in flight. Handlers see the peer as
/// `ConnectInfo<SocketAddr>`, and connections are guarded, as with `platform::server::serve`.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    tls: TlsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    plan: ShutdownPlan,
) -> std::io::Result<()> {
    let draining = Draining::new();
    let app = draining.wrap(app);
    let stop = async move {
        shutdown.await;
        drain(&draining, plan).await;
    };
    let acceptor = TlsAcceptor::from(tls.server);
    let mut http = auto::Builder::new(TokioExecutor::new());
    // Bounds how long a client may take to send its request head (slow-loris).
    http.http1().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let serve_connection = |stream: TcpStream, peer: SocketAddr| {
        let connection = Connection {
            acceptor: acceptor.clone(),
            http: http.clone(),
            app: app.clone(),
            peer,
        };
        tokio::spawn(connection.serve(stream, graceful.watcher()));
    };
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually out of file descriptors: pause rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        serve_connection(stream, peer);
    }
    close_listener(listener, serve_connection);
    finish_in_flight(graceful, plan).await;
    Ok(())
}

struct Connection {
    acceptor: TlsAcceptor,
    http: auto::Builder<TokioExecutor>,
    app: Router,
    peer: SocketAddr,
}

impl Connection {
    async fn serve(self, stream: TcpStream, watcher: hyper_util::server::graceful::Watcher) {
        let _ = stream.set_nodelay(true);
        let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream));
        let stream = match handshake.await {
            Ok(Ok(stream)) => stream,
            // Failed handshakes are the client's business (scanners, wrong trust): debug only.
            Ok(Err(error)) => {
                tracing::debug!(%error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!("TLS handshake timed out");
                return;
            }
        };
        let peer = self.peer;
        let app = self
            .app
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.extensions_mut().insert(ViaTls);
                req
            })
            .map_response(|mut response: axum::response::Response| {
                response
                    .headers_mut()
                    .entry(header::STRICT_TRANSPORT_SECURITY)
                    .or_insert(HSTS);
                response
            });
        let connection = self.http.serve_connection_with_upgrades(
            TokioIo::new(Guarded::new(stream)),
            TowerToHyperService::new(app),
        );
        if let Err(error) = watcher.watch(connection.into_owned()).await {
            tracing::debug!(error = %error, "connection ended with an error");
        }
    }
}
