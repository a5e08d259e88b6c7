//! The OCPP-J reconnect back-off (2.0.1 Part 4 section 5.3, test case TC_B_57_CS).
//!
//! First wait = `wait_minimum + random(0..random_range)`; after each further failure the previous
//! wait is doubled and a fresh random part added, for at most `repeat_times` doublings; after that
//! the wait stays where it is. A successful connection resets the sequence.
//! Pure: the caller supplies the randomness, so tests can pin it.

use std::time::Duration;

/// The three RetryBackOff variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// RetryBackOffWaitMinimum.
    pub wait_minimum: Duration,
    /// RetryBackOffRandomRange: the random part is drawn from `0..random_range`.
    pub random_range: Duration,
    /// RetryBackOffRepeatTimes: how many times the wait is doubled.
    pub repeat_times: u32,
}

impl Default for BackoffConfig {
    /// The values the fleet runs with unless the env file says otherwise.
    fn default() -> Self {
        Self {
            wait_minimum: Duration::from_secs(3),
            random_range: Duration::from_secs(10),
            repeat_times: 5,
        }
    }
}

/// The position in the back-off sequence.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    previous: Option<Duration>,
    doublings: u32,
}

impl Backoff {
    /// A fresh sequence.
    pub fn new(config: BackoffConfig) -> Self {
        Self {
            config,
            previous: None,
            doublings: 0,
        }
    }

    /// The wait before the next attempt, given a random fraction in `[0, 1)`.
    pub fn next_wait(&mut self, random_fraction: f64) -> Duration {
        // A fraction outside [0, 1] (or NaN, which clamp lets through) is no fraction.
        let fraction = if random_fraction.is_nan() {
            0.0
        } else {
            random_fraction.clamp(0.0, 1.0)
        };
        let range = self.config.random_range;
        // try_from: a range near Duration::MAX times 1.0 may round beyond it.
        let random = Duration::try_from_secs_f64(range.as_secs_f64() * fraction).unwrap_or(range);
        let wait = match self.previous {
            None => self.config.wait_minimum.saturating_add(random),
            Some(previous) if self.doublings < self.config.repeat_times => {
                self.doublings = self.doublings.saturating_add(1);
                previous.saturating_mul(2).saturating_add(random)
            }
            Some(previous) => previous,
        };
        self.previous = Some(wait);
        wait
    }

    /// New parameters (the CSMS changed them); the sequence starts over.
    pub fn set_config(&mut self, config: BackoffConfig) {
        if config != self.config {
            self.config = config;
            self.reset();
        }
    }

    /// Back to the first wait, after a successful connection.
    pub fn reset(&mut self) {
        self.previous = None;
        self.doublings = 0;
    }

    /// The largest wait the sequence can reach (for documentation and tests).
    pub fn ceiling(config: &BackoffConfig) -> Duration {
        let mut wait = config.wait_minimum.saturating_add(config.random_range);
        for _ in 0..config.repeat_times {
            wait = wait.saturating_mul(2).saturating_add(config.random_range);
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BackoffConfig {
        BackoffConfig {
            wait_minimum: Duration::from_secs(3),
            random_range: Duration::from_secs(10),
            repeat_times: 3,
        }
    }

    #[test]
    fn without_randomness_the_wait_doubles_then_holds() {
        let mut b = Backoff::new(config());
        let waits: Vec<u64> = (0..6).map(|_| b.next_wait(0.0).as_secs()).collect();
        assert_eq!(waits, [3, 6, 12, 24, 24, 24]);
    }

    #[test]
    fn each_wait_stays_within_the_spec_bounds() {
        let cfg = config();
        for fraction in [0.0, 0.25, 0.5, 0.999] {
            let mut b = Backoff::new(cfg);
            let mut lower = cfg.wait_minimum;
            let mut upper = cfg.wait_minimum + cfg.random_range;
            let mut prev = Duration::ZERO;
            for i in 0..8 {
                let w = b.next_wait(fraction);
                assert!(
                    w >= lower && w <= upper,
                    "attempt {i}: {w:?} not in {lower:?}..={upper:?}"
                );
                if i > 0 && i <= cfg.repeat_times as usize {
                    assert!(w >= prev * 2, "attempt {i} must at least double");
                }
                prev = w;
                if i < cfg.repeat_times as usize {
                    lower *= 2;
                    upper = upper * 2 + cfg.random_range;
                }
            }
            assert!(prev <= Backoff::ceiling(&cfg));
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(config());
        b.next_wait(0.0);
        b.next_wait(0.0);
        b.reset();
        assert_eq!(b.next_wait(0.0), Duration::from_secs(3));
    }

    #[test]
    fn out_of_range_randomness_is_clamped() {
        let mut b = Backoff::new(config());
        assert_eq!(b.next_wait(7.0), Duration::from_secs(13));
        let mut b = Backoff::new(config());
        assert_eq!(b.next_wait(-1.0), Duration::from_secs(3));
        b.reset();
        assert_eq!(b.next_wait(f64::NAN), Duration::from_secs(3));
    }
}
