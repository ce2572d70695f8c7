//! The instances of one backend service: round-robin, with a passive health check that passes
//! over an instance for a while after a connection to it failed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use platform::config::Service;

/// How long an instance that refused a connection is tried only after the others.
pub(crate) const DOWN_FOR: Duration = Duration::from_secs(5);

/// One backend service as the gateway sees it.
#[derive(Debug)]
pub(crate) struct Upstream {
    service: Service,
    instances: Vec<Instance>,
    next: AtomicUsize,
}

/// One address of a service, e.g. `http://10.0.0.7:8081`.
#[derive(Debug)]
pub(crate) struct Instance {
    base: String,
    /// Set when a connection failed; the instance is not "up" again before this instant.
    down_until: Mutex<Option<Instant>>,
}

impl Upstream {
    pub(crate) fn new(service: Service, bases: Vec<String>) -> Self {
        let instances = bases
            .into_iter()
            .map(|base| Instance {
                base: base.trim_end_matches('/').to_owned(),
                down_until: Mutex::new(None),
            })
            .collect();
        Self {
            service,
            instances,
            next: AtomicUsize::new(0),
        }
    }

    pub(crate) fn service(&self) -> Service {
        self.service
    }

    pub(crate) fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The instances to try for one request, in order: round-robin from the next turn, those
    /// marked down last, so they are only tried when no other instance could be reached.
    pub(crate) fn attempt_order(&self, now: Instant) -> Vec<&Instance> {
        let count = self.instances.len();
        if count == 0 {
            return Vec::new();
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        let (up, down): (Vec<&Instance>, Vec<&Instance>) = (0..count)
            .map(|offset| &self.instances[(start + offset) % count])
            .partition(|instance| !instance.is_down(now));
        up.into_iter().chain(down).collect()
    }
}

impl Instance {
    /// Scheme, authority and optional base path, without a trailing slash.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn mark_down(&self, now: Instant) {
        *self.lock() = Some(now + DOWN_FOR);
    }

    pub(crate) fn mark_up(&self) {
        *self.lock() = None;
    }

    fn is_down(&self, now: Instant) -> bool {
        self.lock().is_some_and(|until| now < until)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // The guarded value is a plain instant: a panic elsewhere cannot leave it half-written.
        self.down_until.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(count: usize) -> Upstream {
        let bases = (0..count).map(|i| format!("http://instance-{i}")).collect();
        Upstream::new(Service::Patients, bases)
    }

    fn order(upstream: &Upstream, now: Instant) -> Vec<&str> {
        upstream
            .attempt_order(now)
            .into_iter()
            .map(Instance::base)
            .collect()
    }

    #[test]
    fn takes_turns_and_offers_every_instance_once() {
        let upstream = upstream(3);
        let now = Instant::now();
        let first: Vec<&str> = (0..4).map(|_| order(&upstream, now)[0]).collect();
        assert_eq!(
            first,
            [
                "http://instance-0",
                "http://instance-1",
                "http://instance-2",
                "http://instance-0"
            ]
        );
        assert_eq!(
            order(&upstream, now),
            [
                "http://instance-1",
                "http://instance-2",
                "http://instance-0"
            ]
        );
    }

    #[test]
    fn passes_over_a_down_instance_while_another_is_up() {
        let upstream = upstream(2);
        let now = Instant::now();
        upstream.instances()[0].mark_down(now);
        for _ in 0..3 {
            assert_eq!(
                order(&upstream, now),
                ["http://instance-1", "http://instance-0"]
            );
        }
    }

    #[test]
    fn still_tries_instances_when_all_are_down() {
        let upstream = upstream(2);
        let now = Instant::now();
        for instance in upstream.instances() {
            instance.mark_down(now);
        }
        assert_eq!(order(&upstream, now).len(), 2);
    }

    #[test]
    fn a_down_instance_returns_after_its_pause_or_a_success() {
        let upstream = upstream(2);
        let now = Instant::now();
        let first = &upstream.instances()[0];
        first.mark_down(now);
        assert!(first.is_down(now + DOWN_FOR - Duration::from_millis(1)));
        assert!(!first.is_down(now + DOWN_FOR));
        first.mark_up();
        assert!(!first.is_down(now));
    }

    #[test]
    fn a_service_without_instances_offers_none() {
        assert!(upstream(0).attempt_order(Instant::now()).is_empty());
    }

    #[test]
    fn trailing_slashes_are_dropped_from_bases() {
        let upstream = Upstream::new(Service::Doctors, vec!["http://d:8082/".to_owned()]);
        assert_eq!(upstream.instances()[0].base(), "http://d:8082");
    }
}
