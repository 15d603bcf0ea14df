//! Throttles on guessing: failed logins per username and per client
//! address, and wrong PINs per user across all cards. A card locks itself
//! after three wrong PINs; this stops one token from trying three PINs on
//! every card in turn.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{AppError, AppResult, Code};

/// Failures allowed in a window before the key is refused.
pub const LOGIN_FAILURES: u32 = 10;
pub const PIN_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most; the oldest windows are dropped first.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// Refuses when `key` has failed `limit` times in the current window.
    pub fn check(&self, key: &str, limit: u32) -> AppResult<()> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((n, since)) = map.get(key) {
            if *n >= limit && since.elapsed() < WINDOW {
                let wait = WINDOW.saturating_sub(since.elapsed()).as_secs() / 60 + 1;
                return Err(AppError::new(
                    Code::RateLimited,
                    format!("too many failed attempts; try again in {wait} minutes"),
                )
                .with("retry_after_minutes", wait));
            }
        }
        Ok(())
    }

    pub fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = map.entry(key.to_string()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn clear(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_limit_and_clears_on_success() {
        let t = Throttle::default();
        for _ in 0..3 {
            assert!(t.check("u", 3).is_ok());
            t.fail("u");
        }
        assert_eq!(t.check("u", 3).unwrap_err().code, Code::RateLimited);
        assert!(t.check("v", 3).is_ok());
        t.clear("u");
        assert!(t.check("u", 3).is_ok());
    }
}
