//! `StartGate`: work a process does after it listens and before it may call itself ready, such
//! as seeding the demo clinic through its own API. Until the gate opens, `/health/ready` answers
//! 503 naming that work, so whoever waits for readiness sees the finished state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Readiness;

#[derive(Debug, Clone)]
pub struct StartGate {
    /// Why the process is not ready yet, e.g. "The demo clinic is being seeded."
    pending: &'static str,
    open: Arc<AtomicBool>,
}

impl StartGate {
    /// A gate with nothing to wait for.
    pub fn open() -> Self {
        Self {
            pending: "",
            open: Arc::new(AtomicBool::new(true)),
        }
    }

    /// A gate that stays closed, answering `pending`, until [`StartGate::release`].
    pub fn closed(pending: &'static str) -> Self {
        Self {
            pending,
            open: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The work is done: readiness is up to the other checks from now on.
    pub fn release(&self) {
        self.open.store(true, Ordering::Release);
    }

    fn check(&self) -> Result<(), String> {
        if self.open.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(self.pending.to_owned())
        }
    }
}

impl Readiness {
    /// Not ready while `gate` is closed; then ready when `self` is.
    pub fn gated(self, gate: StartGate) -> Self {
        Self::new(move || {
            let (gate, after) = (gate.clone(), self.clone());
            async move {
                gate.check()?;
                (after.0)().await
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ready(readiness: &Readiness) -> Result<(), String> {
        (readiness.0)().await
    }

    #[tokio::test]
    async fn a_closed_gate_holds_readiness_until_released() {
        let gate = StartGate::closed("The demo clinic is being seeded.");
        let readiness = Readiness::new(|| async { Ok(()) }).gated(gate.clone());
        assert_eq!(
            ready(&readiness).await,
            Err("The demo clinic is being seeded.".to_owned())
        );
        gate.release();
        assert_eq!(ready(&readiness).await, Ok(()));
    }

    #[tokio::test]
    async fn an_open_gate_leaves_the_other_checks_in_charge() {
        let down = Readiness::new(|| async { Err("database unreachable".to_owned()) });
        assert_eq!(
            ready(&down.gated(StartGate::open())).await,
            Err("database unreachable".to_owned())
        );
    }
}
