//! Instances that said they are leaving. While an instance drains before it shuts down, it
//! answers every request with `Connection: close` (`server::drain`). A caller that saw that
//! answer sends its next calls to the other instances for the drain's length, instead of
//! opening a new connection to one about to close its listener: a `POST` written just as the
//! listener closes may go unanswered, and is not sent again.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{CONNECTION, HeaderMap};

/// Instants as milliseconds since the first use, so they fit an atomic.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_ms() -> u64 {
    u64::try_from(EPOCH.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Per instance of one service: until when it is passed over.
#[derive(Debug)]
pub(super) struct Leaving {
    until_ms: Box<[AtomicU64]>,
    drain: Duration,
}

impl Leaving {
    /// `drain`: how long an instance of this deployment drains (`ShutdownPlan::drain`).
    pub(super) fn new(instances: usize, drain: Duration) -> Self {
        Self {
            until_ms: (0..instances).map(|_| AtomicU64::new(0)).collect(),
            drain,
        }
    }

    /// Notes an answer of instance `index`: one that closes its connection is leaving.
    pub(super) fn answered(&self, index: usize, headers: &HeaderMap) {
        let closes = headers
            .get(CONNECTION)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        if closes && !self.drain.is_zero() {
            let until = now_ms().saturating_add(u64::try_from(self.drain.as_millis()).unwrap_or(0));
            self.until_ms[index].fetch_max(until, Ordering::Relaxed);
        }
    }

    /// The instances to try, starting at `first`: round-robin order, the leaving ones last
    /// (still better than none).
    pub(super) fn order(&self, first: usize) -> impl Iterator<Item = usize> + '_ {
        let count = self.until_ms.len();
        let now = now_ms();
        // One look at the clock and the marks, so that every instance is in exactly one pass.
        // (A service of more than 64 instances has the rest never passed over.)
        let leaving = self
            .until_ms
            .iter()
            .take(64)
            .enumerate()
            .filter(|(_, until)| until.load(Ordering::Relaxed) > now)
            .fold(0u64, |mask, (i, _)| mask | 1 << i);
        let is_leaving = move |i: usize| i < 64 && leaving & (1 << i) != 0;
        let round = move || (0..count).map(move |offset| (first + offset) % count);
        round()
            .filter(move |&i| !is_leaving(i))
            .chain(round().filter(move |&i| is_leaving(i)))
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn closing() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        headers
    }

    #[test]
    fn an_instance_that_closed_its_connection_is_tried_last_for_the_drain() {
        let leaving = Leaving::new(3, Duration::from_secs(60));
        assert_eq!(leaving.order(1).collect::<Vec<_>>(), [1, 2, 0]);
        leaving.answered(1, &HeaderMap::new());
        assert_eq!(leaving.order(1).collect::<Vec<_>>(), [1, 2, 0]);
        leaving.answered(1, &closing());
        assert_eq!(leaving.order(1).collect::<Vec<_>>(), [2, 0, 1]);
        assert_eq!(leaving.order(0).collect::<Vec<_>>(), [0, 2, 1]);
        leaving.answered(2, &closing());
        leaving.answered(0, &closing());
        assert_eq!(leaving.order(2).collect::<Vec<_>>(), [2, 0, 1]);
    }

    #[test]
    fn without_a_drain_nobody_is_leaving_for_long() {
        let leaving = Leaving::new(2, Duration::ZERO);
        leaving.answered(0, &closing());
        assert_eq!(leaving.order(0).collect::<Vec<_>>(), [0, 1]);
    }
}
