use std::time::Duration;

use super::*;

fn balancing() -> Balancing {
    Balancing {
        health_check_interval: Duration::from_millis(20),
        ..Balancing::default()
    }
}

fn upstream_of(urls: &[&str]) -> Arc<Upstream> {
    let urls = urls.iter().map(|u| (*u).to_owned()).collect();
    let client = crate::client::build(Duration::from_secs(2), Duration::from_secs(30));
    Arc::new(Upstream::new(Service::Patients, urls, balancing(), client))
}

fn upstream(count: usize) -> Arc<Upstream> {
    let urls: Vec<String> = (0..count).map(|i| format!("http://instance-{i}")).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    upstream_of(&urls)
}

fn base_of(instance: Option<Arc<Instance>>) -> String {
    instance.expect("an instance").base().to_owned()
}

#[test]
fn never_picks_an_instance_already_tried() {
    let upstream = upstream(3);
    let now = Instant::now();
    let mut tried = Vec::new();
    while let Some(next) = upstream.pick(&tried, now) {
        assert!(!tried.iter().any(|t| Arc::ptr_eq(t, &next)));
        tried.push(next);
    }
    assert_eq!(tried.len(), 3);
}

#[test]
fn of_two_choices_takes_the_one_with_fewer_requests_outstanding() {
    let upstream = upstream(2);
    let busy = upstream.instances()[0].clone();
    let _in_flight: Vec<InFlight> = (0..3).map(|_| busy.begin()).collect();
    for _ in 0..20 {
        assert_eq!(
            base_of(upstream.pick(&[], Instant::now())),
            "http://instance-1"
        );
    }
    drop(_in_flight);
    assert_eq!(busy.outstanding(), 0);
}

#[test]
fn spreads_requests_over_equally_loaded_instances() {
    let upstream = upstream(3);
    let picked: std::collections::HashSet<String> = (0..200)
        .map(|_| base_of(upstream.pick(&[], Instant::now())))
        .collect();
    assert_eq!(picked.len(), 3);
}

#[test]
fn a_refused_connection_ejects_for_a_doubling_while() {
    let upstream = upstream(2);
    let now = Instant::now();
    let first = upstream.instances()[0].clone();
    first.record(Outcome::Unreachable, now);
    for _ in 0..20 {
        assert_eq!(base_of(upstream.pick(&[], now)), "http://instance-1");
    }
    assert!(!first.is_available(now + FIRST_EJECTION - Duration::from_millis(1)));
    let back = now + FIRST_EJECTION;
    assert!(first.is_available(back));
    // Ejected again before any success: twice as long.
    first.record(Outcome::Unreachable, back);
    assert!(!first.is_available(back + FIRST_EJECTION));
    assert!(first.is_available(back + 2 * FIRST_EJECTION));
    // A success after the ejection resets the doubling.
    let later = back + 2 * FIRST_EJECTION;
    first.record(Outcome::Answered, later);
    first.record(Outcome::Unreachable, later);
    assert!(first.is_available(later + FIRST_EJECTION));
}

#[test]
fn a_streak_of_failures_ejects_a_single_one_does_not() {
    let upstream = upstream(1);
    let now = Instant::now();
    let instance = upstream.instances()[0].clone();
    for _ in 1..EJECT_AFTER {
        instance.record(Outcome::Failed, now);
    }
    instance.record(Outcome::Answered, now);
    for _ in 1..EJECT_AFTER {
        instance.record(Outcome::Failed, now);
    }
    assert!(instance.is_available(now));
    instance.record(Outcome::Failed, now);
    assert!(!instance.is_available(now));
}

#[test]
fn when_none_is_available_every_instance_is_still_tried() {
    let upstream = upstream(2);
    let now = Instant::now();
    for instance in upstream.instances().iter() {
        instance.record(Outcome::Unreachable, now);
    }
    let first = upstream.pick(&[], now).expect("an instance");
    let second = upstream.pick(std::slice::from_ref(&first), now);
    assert!(second.is_some());
    assert!(upstream.pick(&[first, second.unwrap()], now).is_none());
}

#[test]
fn a_service_without_instances_offers_none() {
    assert!(upstream(0).pick(&[], Instant::now()).is_none());
}

#[test]
fn trailing_slashes_are_dropped_from_bases() {
    let upstream = upstream_of(&["http://d:8082/"]);
    assert_eq!(upstream.instances()[0].base(), "http://d:8082");
}

#[test]
fn dns_entries_name_host_port_and_path() {
    assert_eq!(
        Source::parse("dns+http://appointments-headless:8083/base/"),
        Source::Dns {
            host: "appointments-headless".to_owned(),
            port: 8083,
            path: "/base".to_owned()
        }
    );
    assert_eq!(
        Source::parse("dns+http://patients"),
        Source::Dns {
            host: "patients".to_owned(),
            port: 80,
            path: String::new()
        }
    );
    assert_eq!(
        Source::parse("http://10.0.0.7:8081"),
        Source::Fixed("http://10.0.0.7:8081".to_owned())
    );
}

#[tokio::test]
async fn a_dns_name_becomes_one_instance_per_address_beside_the_fixed_ones() {
    let upstream = upstream_of(&["dns+http://localhost:8081", "http://10.0.0.7:8081"]);
    assert_eq!(upstream.instances().len(), 1, "nothing resolved yet");
    upstream.start().await;
    let bases: Vec<String> = upstream
        .instances()
        .iter()
        .map(|i| i.base().to_owned())
        .collect();
    assert!(
        bases.contains(&"http://127.0.0.1:8081".to_owned()),
        "{bases:?}"
    );
    assert!(
        bases.contains(&"http://10.0.0.7:8081".to_owned()),
        "{bases:?}"
    );
    // Resolving again keeps each instance, with its state.
    let before = upstream.instances();
    upstream.resolve().await;
    let after = upstream.instances();
    assert!(
        before
            .iter()
            .zip(after.iter())
            .all(|(a, b)| Arc::ptr_eq(a, b))
    );
}

/// A backend whose `/health/ready` answers what `ready` holds.
async fn backend(ready: Arc<std::sync::atomic::AtomicBool>) -> String {
    use axum::http::StatusCode;
    let app = axum::Router::new().route(
        "/health/ready",
        axum::routing::get(move || {
            let ready = ready.clone();
            async move {
                if ready.load(Ordering::Relaxed) {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn active_checks_follow_each_instances_readiness() {
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let url = backend(ready.clone()).await;
    let upstream = upstream_of(&[&url]);
    upstream.start().await;
    let instance = upstream.instances()[0].clone();
    ready.store(false, Ordering::Relaxed);
    until("the instance to be unready", || {
        !instance.is_available(Instant::now())
    })
    .await;
    ready.store(true, Ordering::Relaxed);
    until("the instance to be ready again", || {
        instance.is_available(Instant::now())
    })
    .await;
}
