//! Telegram's send limits: 1 message/s per chat, 20/min per group, 30/s for the bot, plus
//! the pause a 429 asked for. Governor's clock reads tokio's, so paused-time tests work.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::state::keyed::DashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, Default)]
struct TokioClock;

impl GovernorClock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> Self::Instant {
        Instant::now().into_std()
    }
}

type Keyed = RateLimiter<i64, DashMapStateStore<i64>, TokioClock>;
type Direct = RateLimiter<NotKeyed, InMemoryState, TokioClock>;

/// The limiters of one bot.
pub struct Throttle {
    per_chat: Keyed,
    per_group: Keyed,
    overall: Direct,
    /// Chats a 429 told us to leave alone until then.
    held: Mutex<HashMap<i64, Instant>>,
}

fn quota(per_second: Option<u32>, per_minute: Option<u32>) -> Quota {
    let one = NonZeroU32::MIN;
    match (per_second.and_then(NonZeroU32::new), per_minute.and_then(NonZeroU32::new)) {
        (Some(n), _) => Quota::per_second(n),
        (None, Some(n)) => Quota::per_minute(n),
        (None, None) => Quota::per_second(one),
    }
}

impl Throttle {
    pub fn new() -> Self {
        Self {
            per_chat: RateLimiter::new(quota(Some(1), None), DashMapStateStore::default(), TokioClock),
            per_group: RateLimiter::new(quota(None, Some(20)), DashMapStateStore::default(), TokioClock),
            overall: RateLimiter::direct_with_clock(quota(Some(30), None), TokioClock),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until a message may go to `chat` (`group`: a group chat, with its per-minute
    /// limit). `Err(secs)` when a 429 holds the chat for that much longer: try again later.
    pub async fn wait(&self, chat: i64, group: bool) -> Result<(), u64> {
        let held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&chat).copied();
        if let Some(until) = held {
            let now = Instant::now();
            if until > now {
                return Err((until - now).as_secs().max(1));
            }
        }
        Self::until_ready(|| self.per_chat.check_key(&chat)).await;
        if group {
            Self::until_ready(|| self.per_group.check_key(&chat)).await;
        }
        Self::until_ready(|| self.overall.check()).await;
        Ok(())
    }

    /// Holds back `chat` for `wait` (a 429's `retry_after`).
    pub fn hold(&self, chat: i64, wait: Duration) {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(chat, Instant::now() + wait);
    }

    async fn until_ready(check: impl Fn() -> Result<(), governor::NotUntil<std::time::Instant>>) {
        loop {
            match check() {
                Ok(()) => return,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(TokioClock.now());
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_chat_gets_one_message_a_second_and_other_chats_are_not_held_up() {
        let throttle = Throttle::new();
        let start = Instant::now();
        for _ in 0..3 {
            throttle.wait(-100, true).await.unwrap();
        }
        assert!(start.elapsed() >= Duration::from_secs(2), "three sends took {:?}", start.elapsed());
        let other = Instant::now();
        throttle.wait(-200, true).await.unwrap();
        assert!(other.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_chat_is_refused_with_the_time_left() {
        let throttle = Throttle::new();
        throttle.hold(-100, Duration::from_secs(7));
        assert_eq!(throttle.wait(-100, true).await, Err(7));
        tokio::time::advance(Duration::from_secs(8)).await;
        assert_eq!(throttle.wait(-100, true).await, Ok(()));
    }
}
