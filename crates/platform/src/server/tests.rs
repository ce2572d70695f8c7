//! The end of a drain over real sockets: a request a client has already sent is answered, not
//! dropped with its connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::{ShutdownPlan, close_listener, serve_with_plan};
use crate::client::{Forwarded, ServiceClient};

/// A server on a free port whose `POST /act` counts its calls, and the trigger of its shutdown.
async fn counting_server(
    plan: ShutdownPlan,
) -> (
    String,
    Arc<AtomicUsize>,
    Arc<Notify>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let acted = Arc::new(AtomicUsize::new(0));
    let app = {
        let acted = acted.clone();
        Router::new()
            .route(
                "/act",
                post(move || async move {
                    acted.fetch_add(1, Ordering::SeqCst);
                    axum::Json(serde_json::json!({"done": true}))
                }),
            )
            .route("/health/ready", axum::routing::get(|| async { "UP" }))
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    let signal = Arc::new(Notify::new());
    let shutdown = {
        let signal = signal.clone();
        async move { signal.notified().await }
    };
    let server = tokio::spawn(serve_with_plan(listener, app, shutdown, plan));
    (address.to_string(), acted, signal, server)
}

const POST: &[u8] = b"POST /act HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n";

/// A connection the kernel completed but the server had not accepted yet is handed over, with
/// the request its client already wrote; the next one is refused.
#[tokio::test]
async fn a_queued_connection_is_handed_over_when_the_listener_closes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    let mut queued = std::net::TcpStream::connect(address).expect("queued by the kernel");
    std::io::Write::write_all(&mut queued, POST).expect("written");
    let mut handed = Vec::new();
    close_listener(listener, |stream, peer| handed.push((stream, peer)));
    assert_eq!(handed.len(), 1);
    let (mut stream, peer) = handed.pop().expect("one");
    assert_eq!(peer, queued.local_addr().expect("the client's address"));
    let mut request = vec![0; POST.len()];
    stream.read_exact(&mut request).await.expect("the request");
    assert_eq!(request, POST);
    assert!(TcpStream::connect(address).await.is_err(), "closed after");
}

/// A connection opened during the drain whose request arrives just after the listener closed
/// is still answered (and closed after that answer), not closed as idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_arriving_as_the_listener_closes_is_answered() {
    let plan = ShutdownPlan {
        drain: Duration::from_millis(500),
        grace: Duration::from_secs(10),
    };
    let (address, acted, signal, server) = counting_server(plan).await;
    signal.notify_one();
    let mut late = TcpStream::connect(&address)
        .await
        .expect("accepted while draining");
    while TcpStream::connect(&address).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    late.write_all(POST).await.expect("sent");
    let mut answer = String::new();
    late.read_to_string(&mut answer).await.expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert_eq!(acted.load(Ordering::SeqCst), 1);
    server
        .await
        .expect("the server task")
        .expect("a clean stop");
}

/// A service's client sends one call to an instance that began draining; its answer says so,
/// and the next calls go to the other instance.
#[tokio::test]
async fn callers_move_off_a_draining_instance_after_its_first_answer() {
    let plan = ShutdownPlan {
        drain: Duration::from_secs(30),
        grace: Duration::from_secs(1),
    };
    let (leaving, leaving_acted, signal, _leaving) = counting_server(plan).await;
    let (staying, staying_acted, _signal, _staying) = counting_server(plan).await;
    signal.notify_one();
    // Draining has begun once readiness fails.
    let ready = format!("http://{leaving}/health/ready");
    while reqwest::get(&ready)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let bases = vec![format!("http://{leaving}"), format!("http://{staying}")];
    let client = ServiceClient::new("things", bases, Duration::from_secs(5)).expect("a client");
    for _ in 0..6 {
        let done: serde_json::Value = client
            .send_json(
                reqwest::Method::POST,
                "/act",
                Some(&()),
                &Forwarded::default(),
            )
            .await
            .expect("answered");
        assert_eq!(done["done"], true);
    }
    assert_eq!(leaving_acted.load(Ordering::SeqCst), 1);
    assert_eq!(staying_acted.load(Ordering::SeqCst), 5);
}
