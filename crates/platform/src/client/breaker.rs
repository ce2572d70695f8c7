use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Opens after `threshold` consecutive failures; after `cool_down` one trial call is let
/// through, and its outcome closes or re-opens the circuit. The gauge
/// `circuit_breakers_open{service}` counts the open circuits toward each service (each caller
/// has its own), and `circuit_breaker_opened_total{service}` how often one opened.
#[derive(Debug)]
pub struct CircuitBreaker {
    /// The service the calls go to, for the metrics.
    service: &'static str,
    threshold: u32,
    cool_down: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

impl CircuitBreaker {
    pub fn new(service: &'static str, threshold: u32, cool_down: Duration) -> Self {
        Self {
            service,
            threshold,
            cool_down,
            state: Mutex::default(),
        }
    }

    pub fn allows(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.open_until {
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                // Half-open: this caller is the trial; others wait for a full cool-down.
                state.open_until = Some(Instant::now() + self.cool_down);
                true
            }
            None => true,
        }
    }

    pub fn record(&self, success: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let was_open = state.open_until.is_some();
        if success {
            *state = State::default();
        } else {
            state.consecutive_failures += 1;
            if state.consecutive_failures >= self.threshold {
                state.open_until = Some(Instant::now() + self.cool_down);
            }
        }
        let open = || metrics::gauge!("circuit_breakers_open", "service" => self.service);
        match (was_open, state.open_until.is_some()) {
            (false, true) => {
                open().increment(1.0);
                metrics::counter!("circuit_breaker_opened_total", "service" => self.service)
                    .increment(1);
                tracing::warn!(service = self.service, "circuit opened");
            }
            (true, false) => open().decrement(1.0),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_closes_after_a_successful_trial() {
        let breaker = CircuitBreaker::new("test", 2, Duration::ZERO);
        breaker.record(false);
        assert!(breaker.allows());
        breaker.record(false);
        // Zero cool-down: the next caller is the half-open trial.
        assert!(breaker.allows());
        breaker.record(true);
        assert!(breaker.allows());
    }

    #[test]
    fn stays_open_during_cool_down() {
        let breaker = CircuitBreaker::new("test", 1, Duration::from_secs(60));
        breaker.record(false);
        assert!(!breaker.allows());
    }
}
