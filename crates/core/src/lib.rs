//! The platform-free heart of qunzhu: the vocabulary every other crate speaks.
//!
//! - [`ids`] — newtype ids (connector, group, member, message, action, task).
//! - [`event`] — normalised [`Event`]s that connectors produce and rules read.
//! - [`action`] — [`Action`]s the engine decides, and [`Capabilities`] a connector declares.
//! - [`task`] — staff tasks (待办): what the planner makes of actions a platform cannot do.
//! - [`audit`] — audit log entries written with every decision and change.
//! - [`store`] — the storage traits (inbox, outbox, rulebook, tasks, audit) and their records.
//! - [`connector`] — the trait a platform connector implements to execute actions.
//! - [`clock`] — time as a dependency, so schedules and streaks are tested without sleeping.
//! - [`moderation`] — violations, the blacklist, classifier corrections, member records.
//! - [`points`] — the points ledger, balances and check-ins.
//! - [`shop`] — the points shop: items, redemptions.
//! - [`schedule`] — scheduled posts: definitions, targets, runs.
//! - [`writes`] — [`StateWrite`]: records rules decide, committed with their event.
//! - [`content`] — the content library (素材库): texts, images, links with tags.
//! - [`faq`] — auto-reply cooldowns and hit statistics.
//! - [`signup`], [`lottery`] — sign-up lists (接龙) and lotteries (抽奖), with their writes.
//! - [`growth`] — referrals (裂变), invite codes, campaigns, milestones and custom counters.
//! - [`gate`] — the newcomer gate (入群验证) where platforms have no join requests.
//! - [`accounts`] — dashboard accounts, sessions and API tokens (hashes only).
//! - [`memory`] — an in-memory [`Store`] for unit tests and benchmarks.
//!
//! This crate does no I/O and depends only on serde, chrono and thiserror.

pub mod accounts;
pub mod action;
pub mod admission;
pub mod audit;
pub mod care;
pub mod clock;
pub mod connector;
pub mod content;
pub mod event;
pub mod faq;
pub mod gate;
pub mod growth;
pub mod insight;
pub mod life_stage;
pub mod ids;
pub mod lottery;
pub mod memory;
pub mod membership;
pub mod moderation;
pub mod platform;
pub mod points;
pub mod shop;
pub mod schedule;
pub mod signup;
pub mod store;
pub mod task;
pub mod writes;

pub use action::{Action, ActionKind, Capabilities, Capability};
pub use audit::{AuditEntry, NewAuditEntry};
pub use clock::{Clock, ManualClock, SystemClock};
pub use connector::{Connector, Delivery, DeliveryError};
pub use event::{Event, EventKind, JoinScene, Member, Message, Origin, Role, Segment};
pub use ids::{ActionId, ConnectorId, GroupId, GroupKey, MemberId, MessageId, PlatformEventId, TaskId};
pub use store::{BoxFuture, Store, StoreError, StoreResult};
pub use task::{StaffTask, TaskAssignment, TaskStatus};
pub use writes::StateWrite;
