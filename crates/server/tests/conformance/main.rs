//! The connector conformance suite: ONE set of cases ([`cases`]) run against every connector
//! through a [`Peer`] — the platform side, driven the way the real platform would drive
//! qunzhu — generated for each peer by [`conformance!`]:
//!
//! - `onebot_reverse_ws`, `onebot_forward_ws`, `onebot_http` — the spec-faithful OneBot v11
//!   implementation-side peer (`crates/connectors/tests/support/onebot_peer.rs`) on each
//!   transport;
//! - `bridge` — an HTTP bridge posting wire events and pulling the action feed;
//! - `matrix` — a real Synapse (skipped without one, like `matrix_app`; mandatory in CI),
//!   reached through a TCP proxy the peer can cut;
//! - `telegram` — the local Bot API peer (`crates/connectors/tests/support/telegram_peer.rs`),
//!   test-only because no real Telegram runs here; an outage is every call answering 502.
//!
//! Each case boots a whole `qunzhu serve` on port 0 over a temporary data dir (SQLite) and
//! checks what qunzhu stored (the `events` table: what the connector mapped) and what the
//! platform saw (the peer's log of calls). A case that does not apply to a peer (a bridge has
//! no connection to lose) says so and passes without asserting.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "../../../connectors/tests/support/onebot_peer.rs"]
mod onebot_peer;
#[path = "../../../connectors/tests/support/telegram_peer.rs"]
mod tg_peer;

mod cases;
mod harness;
#[cfg(feature = "matrix")]
mod matrix_peer;
mod peers;
mod telegram_api;

pub use harness::*;

/// Generates one module per peer with every case of [`cases`] as a `#[tokio::test]`.
macro_rules! conformance {
    ($($peer:ident => $ty:ty),* $(,)?) => {$(
        mod $peer {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn events_map_to_the_right_kinds_with_mentions_replies_and_kicks() {
                crate::cases::event_mapping::<$ty>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn claimed_actions_reach_the_platform_and_the_others_become_staff_tasks() {
                crate::cases::actions_and_capabilities::<$ty>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_restart_of_the_peer_loses_and_doubles_no_event() {
                crate::cases::reconnect::<$ty>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_burst_of_sends_is_paced_per_the_declared_limit() {
                crate::cases::throttling::<$ty>().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn an_unreachable_platform_is_reported_unhealthy_and_recovers() {
                crate::cases::unreachable::<$ty>().await;
            }
        }
    )*};
}

conformance! {
    onebot_reverse_ws => crate::peers::OnebotReverseWs,
    onebot_forward_ws => crate::peers::OnebotForwardWs,
    onebot_http => crate::peers::OnebotHttp,
    bridge => crate::peers::Bridge,
    telegram => crate::telegram_api::Telegram,
}

#[cfg(feature = "matrix")]
conformance! {
    matrix => crate::matrix_peer::Matrix,
}
