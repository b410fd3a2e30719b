//! Connectors: translate between a platform and qunzhu's model, and execute actions. No
//! feature logic lives here (no welcome text, no moderation).
//!
//! - [`bridge`] — the HTTP bridge: any platform posts events in and polls actions out.
//! - [`onebot`] — QQ through OneBot v11 (NapCat, Lagrange.OneBot): reverse and forward WebSocket.
//! - [`sandbox`] — the built-in test chat behind the `/sandbox` page.
//! - [`outbox`] — the delivery loop: due actions to their connector, retried with backoff.
//! - [`telegram`] — Telegram through the Bot API (teloxide-core): polling or webhook.
//! - [`wecom`] — WeCom (企业微信) customer groups: encrypted callbacks, API client, reconciliation.
//! - [`secret`] — secrets that never show in logs or `Debug`.

pub mod bridge;
#[cfg(feature = "matrix")]
pub mod matrix;
pub mod onebot;
pub mod outbox;
pub mod sandbox;
pub mod secret;
pub mod telegram;
pub mod wecom;
pub mod webhook;

/// A connector that keeps a live connection reports its state for `/healthz`.
pub trait HealthReport: Send + Sync {
    /// A JSON object with at least `connected: bool`.
    fn health(&self) -> serde_json::Value;
}
