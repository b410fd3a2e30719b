//! The connector trait: translate and execute, never decide.

use thiserror::Error;

use crate::action::{Action, Capabilities};
use crate::ids::ConnectorId;
use crate::store::BoxFuture;

/// What happened when the outbox handed an action to a connector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The platform did it.
    Done,
    /// Handed to a peer that reports the outcome later (the HTTP bridge).
    AwaitingPeer,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DeliveryError {
    /// Worth another try later (network, rate limit, platform hiccup).
    #[error("temporary failure: {message}")]
    Temporary { message: String, retry_after_secs: Option<u64> },
    /// Will never work (no permission, message gone, bad request).
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The platform will not let the bot do it, but a person can: the outbox turns the action
    /// into a staff task with this title and exact manual step (in the operator's language),
    /// once, and marks the action failed with `reason`.
    #[error("needs a person: {reason}")]
    NeedsStaff { reason: String, title: String, step: String },
}

/// A platform connection. Implementations translate actions into platform calls; they hold
/// no feature logic.
pub trait Connector: Send + Sync + 'static {
    fn id(&self) -> &ConnectorId;

    /// What this connector can do; the planner turns everything else into staff tasks.
    fn capabilities(&self) -> &Capabilities;

    /// Executes one action.
    ///
    /// # Errors
    /// [`DeliveryError::Temporary`] makes the outbox retry with backoff;
    /// [`DeliveryError::Permanent`] marks the action failed;
    /// [`DeliveryError::NeedsStaff`] marks it failed and hands it to staff as a task.
    fn deliver<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<Delivery, DeliveryError>>;
}
