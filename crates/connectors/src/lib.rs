//! Connectors: translate between a platform and qunzhu's model, and execute actions. No
//! feature logic lives here (no welcome text, no moderation).
//!
//! - [`bridge`] — the HTTP bridge: any platform posts events in and polls actions out.
//! - [`sandbox`] — the built-in test chat behind the `/sandbox` page.
//! - [`outbox`] — the delivery loop: due actions to their connector, retried with backoff.
//! - [`secret`] — secrets that never show in logs or `Debug`.

pub mod bridge;
pub mod outbox;
pub mod sandbox;
pub mod secret;
