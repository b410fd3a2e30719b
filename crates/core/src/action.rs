//! Actions the engine decides, and the capabilities a connector declares.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::Segment;
use crate::ids::{ActionId, GroupKey, MemberId, MessageId, PlatformEventId};

/// One thing the engine wants done in one group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub id: ActionId,
    pub group: GroupKey,
    pub kind: ActionKind,
    /// The rule that decided it (`welcome`, `moderate`, …).
    pub rule: String,
    /// The event that caused it, if any (scheduled actions have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<PlatformEventId>,
    /// Why, in the operator's language.
    pub explanation: String,
    /// Do not deliver before this time (batched welcomes, scheduled posts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionKind {
    /// Post a message in the group.
    Send { segments: Vec<Segment> },
    /// Post a message that replies to another one.
    Reply { to: MessageId, segments: Vec<Segment> },
    Delete { message_id: MessageId },
    Mute { member: MemberId, duration_secs: u64 },
    /// Lift a mute early (undo).
    Unmute { member: MemberId },
    Kick { member: MemberId },
    /// Remove and keep out.
    Ban { member: MemberId },
    /// Let a banned member back in (undo).
    Unban { member: MemberId },
    ApproveJoin { request_id: String, member: MemberId },
    RejectJoin { request_id: String, member: MemberId, reason: String },
    SetAnnouncement { text: String },
    DirectMessage { member: MemberId, segments: Vec<Segment> },
    /// Tell the group's staff something (an alert, a report).
    NotifyStaff { text: String },
    /// POST a staff alert as JSON to a webhook (`staff_alerts`); delivered by the server's
    /// webhook connector, never by the engine.
    Webhook { url: String, text: String },
}

impl ActionKind {
    /// The capability a connector needs to perform this action.
    pub fn required_capability(&self) -> Capability {
        match self {
            Self::Send { .. } => Capability::Send,
            Self::Reply { .. } => Capability::Reply,
            Self::Delete { .. } => Capability::Delete,
            Self::Mute { .. } | Self::Unmute { .. } => Capability::Mute,
            Self::Kick { .. } => Capability::Kick,
            Self::Ban { .. } => Capability::Ban,
            Self::Unban { .. } => Capability::Unban,
            Self::ApproveJoin { .. } | Self::RejectJoin { .. } => Capability::ApproveJoin,
            Self::SetAnnouncement { .. } => Capability::SetAnnouncement,
            Self::DirectMessage { .. } => Capability::DirectMessage,
            Self::NotifyStaff { .. } | Self::Webhook { .. } => Capability::NotifyStaff,
        }
    }

    /// A stable snake_case name (the `type` tag).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Send { .. } => "send",
            Self::Reply { .. } => "reply",
            Self::Delete { .. } => "delete",
            Self::Mute { .. } => "mute",
            Self::Unmute { .. } => "unmute",
            Self::Kick { .. } => "kick",
            Self::Ban { .. } => "ban",
            Self::Unban { .. } => "unban",
            Self::ApproveJoin { .. } => "approve_join",
            Self::RejectJoin { .. } => "reject_join",
            Self::SetAnnouncement { .. } => "set_announcement",
            Self::DirectMessage { .. } => "direct_message",
            Self::NotifyStaff { .. } => "notify_staff",
            Self::Webhook { .. } => "webhook",
        }
    }
}

/// Something a connector can do on its platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Send,
    Reply,
    /// Mentions inside sent messages notify the member (otherwise they degrade to `@name` text).
    Mention,
    Delete,
    Mute,
    Kick,
    Ban,
    /// Lift a ban (some platforms, e.g. QQ through OneBot, have no such call).
    Unban,
    /// Approve and reject join requests.
    ApproveJoin,
    SetAnnouncement,
    DirectMessage,
    NotifyStaff,
}

impl Capability {
    pub const ALL: [Capability; 12] = [
        Self::Send,
        Self::Reply,
        Self::Mention,
        Self::Delete,
        Self::Mute,
        Self::Kick,
        Self::Ban,
        Self::Unban,
        Self::ApproveJoin,
        Self::SetAnnouncement,
        Self::DirectMessage,
        Self::NotifyStaff,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Reply => "reply",
            Self::Mention => "mention",
            Self::Delete => "delete",
            Self::Mute => "mute",
            Self::Kick => "kick",
            Self::Ban => "ban",
            Self::Unban => "unban",
            Self::ApproveJoin => "approve_join",
            Self::SetAnnouncement => "set_announcement",
            Self::DirectMessage => "direct_message",
            Self::NotifyStaff => "notify_staff",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a connector can do, and its limits. The planner reads this; nothing else guesses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub actions: BTreeSet<Capability>,
    /// Longest message the platform accepts, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_message_chars: Option<u32>,
    /// Sends per minute per group the platform tolerates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sends_per_minute_per_group: Option<u32>,
    /// Longest mute the platform allows, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_mute_secs: Option<u64>,
    /// The app staff do by hand what the connector cannot, when it is not the group's own
    /// chat client (e.g. `企业微信`): staff task steps then begin "在企业微信中…".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_in: Option<String>,
}

impl Capabilities {
    pub fn new(actions: impl IntoIterator<Item = Capability>) -> Self {
        Self { actions: actions.into_iter().collect(), ..Self::default() }
    }

    /// Everything (the sandbox).
    pub fn all() -> Self {
        Self::new(Capability::ALL)
    }

    pub fn can(&self, capability: Capability) -> bool {
        self.actions.contains(&capability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_round_trip_and_match_serde() {
        for capability in Capability::ALL {
            assert_eq!(Capability::from_name(capability.name()), Some(capability));
            let json = serde_json::to_value(capability).unwrap();
            assert_eq!(json, capability.name());
        }
        assert_eq!(Capability::from_name("teleport"), None);
    }

    #[test]
    fn reject_join_needs_the_approve_join_capability() {
        let kind = ActionKind::RejectJoin { request_id: "r".into(), member: "u".into(), reason: "x".into() };
        assert_eq!(kind.required_capability(), Capability::ApproveJoin);
        assert_eq!(kind.name(), "reject_join");
    }
}
