//! The retry budget of one upstream: retries may add at most a share of the requests (20% by
//! default) plus a small steady allowance, so a service in trouble gets a few retries rather
//! than every request twice. Each request deposits its share of a token, each retry withdraws
//! a whole one.

use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct RetryBudget {
    /// Hundredths of a token a request earns: the percentage.
    per_request: u64,
    state: Mutex<State>,
}

/// A retry costs this many units: tokens are counted in hundredths, exactly.
const TOKEN: u64 = 100;

#[derive(Debug)]
struct State {
    units: u64,
    refilled_at: Instant,
}

impl RetryBudget {
    /// Retries allowed per second whatever the traffic, so a quiet gateway can still retry.
    pub(crate) const MIN_PER_SECOND: u64 = 10;
    /// Unused tokens saved up at most: the largest burst of retries at once (an instance dying
    /// with many requests in flight).
    pub(crate) const MAX_TOKENS: u64 = 50;

    pub(crate) fn new(percent: u32) -> Self {
        Self::starting_at(percent, Instant::now())
    }

    fn starting_at(percent: u32, now: Instant) -> Self {
        Self {
            per_request: u64::from(percent.min(100)),
            state: Mutex::new(State {
                units: Self::MIN_PER_SECOND * TOKEN,
                refilled_at: now,
            }),
        }
    }

    /// A request (not a retry) was made.
    pub(crate) fn deposit(&self) {
        let mut state = self.lock();
        state.units = (state.units + self.per_request).min(Self::MAX_TOKENS * TOKEN);
    }

    /// Whether one more retry fits; takes its token if so.
    pub(crate) fn withdraw(&self) -> bool {
        self.withdraw_at(Instant::now())
    }

    fn withdraw_at(&self, now: Instant) -> bool {
        let mut state = self.lock();
        let elapsed = now.saturating_duration_since(state.refilled_at);
        // Whole units only; the remainder of the interval counts towards the next refill.
        let earned = elapsed.as_millis() as u64 * Self::MIN_PER_SECOND * TOKEN / 1000;
        if earned > 0 {
            state.units = (state.units + earned).min(Self::MAX_TOKENS * TOKEN);
            state.refilled_at = now;
        }
        if state.units >= TOKEN {
            state.units -= TOKEN;
            true
        } else {
            false
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain numbers: a panic elsewhere cannot leave them half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn drain(budget: &RetryBudget, now: Instant) -> usize {
        std::iter::from_fn(|| budget.withdraw_at(now).then_some(())).count()
    }

    #[test]
    fn starts_with_a_second_of_the_steady_allowance() {
        let now = Instant::now();
        let budget = RetryBudget::starting_at(20, now);
        assert_eq!(drain(&budget, now), 10);
    }

    #[test]
    fn requests_earn_their_share_of_retries() {
        let now = Instant::now();
        let budget = RetryBudget::starting_at(20, now);
        drain(&budget, now);
        for _ in 0..100 {
            budget.deposit();
        }
        assert_eq!(drain(&budget, now), 20);
    }

    #[test]
    fn time_refills_the_allowance_up_to_the_cap() {
        let now = Instant::now();
        let budget = RetryBudget::starting_at(0, now);
        drain(&budget, now);
        assert_eq!(drain(&budget, now + Duration::from_millis(500)), 5);
        let later = now + Duration::from_secs(3600);
        assert_eq!(drain(&budget, later), RetryBudget::MAX_TOKENS as usize);
    }

    #[test]
    fn no_share_no_retries_beyond_the_allowance() {
        let now = Instant::now();
        let budget = RetryBudget::starting_at(0, now);
        drain(&budget, now);
        for _ in 0..1000 {
            budget.deposit();
        }
        assert!(!budget.withdraw_at(now));
    }
}
