//! Normalised events. Rules read these and never a platform's wire format.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectorId, GroupId, GroupKey, MemberId, MessageId, PlatformEventId};

/// Where an event came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub connector: ConnectorId,
    pub group: GroupId,
    /// The platform's id for this event; the inbox deduplicates on (connector, event_id).
    pub event_id: PlatformEventId,
}

/// One thing that happened in one group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub origin: Origin,
    /// The group's display name, when the platform sent one with the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    pub time: DateTime<Utc>,
    pub kind: EventKind,
}

impl Event {
    pub fn group_key(&self) -> GroupKey {
        GroupKey { connector: self.origin.connector.clone(), group: self.origin.group.clone() }
    }

    /// The member who caused the event, when there is one.
    pub fn actor(&self) -> Option<&Member> {
        match &self.kind {
            EventKind::MessagePosted { author, .. } => Some(author),
            EventKind::MemberJoined { member, .. }
            | EventKind::MemberLeft { member, .. }
            | EventKind::JoinRequested { member, .. }
            | EventKind::ReactionAdded { member, .. } => Some(member),
            EventKind::MessageDeleted { deleted_by, .. } => deleted_by.as_ref(),
            EventKind::GroupUpdated { .. } | EventKind::Tick { .. } | EventKind::OperatorCommand { .. } => None,
        }
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    MessagePosted {
        author: Member,
        message: Message,
    },
    MemberJoined {
        member: Member,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inviter: Option<Member>,
        /// The invite code / channel state the platform attributed the join to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invite_code: Option<String>,
        /// How the member came in, when the platform says (events stored before this field
        /// existed have none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        join_scene: Option<JoinScene>,
    },
    MemberLeft {
        member: Member,
        /// Set when the member was removed by someone else (kicked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        removed_by: Option<Member>,
    },
    JoinRequested {
        member: Member,
        /// The platform's handle for answering the request.
        request_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    MessageDeleted {
        message_id: MessageId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deleted_by: Option<Member>,
    },
    ReactionAdded {
        member: Member,
        message_id: MessageId,
        reaction: String,
    },
    GroupUpdated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A scheduled job firing for this group.
    Tick { job: String },
    /// An operator acting through the dashboard or API.
    OperatorCommand { operator: String, command: String },
}

impl EventKind {
    /// A stable snake_case name, for logs, audit rows and the API.
    pub fn name(&self) -> &'static str {
        match self {
            Self::MessagePosted { .. } => "message_posted",
            Self::MemberJoined { .. } => "member_joined",
            Self::MemberLeft { .. } => "member_left",
            Self::JoinRequested { .. } => "join_requested",
            Self::MessageDeleted { .. } => "message_deleted",
            Self::ReactionAdded { .. } => "reaction_added",
            Self::GroupUpdated { .. } => "group_updated",
            Self::Tick { .. } => "tick",
            Self::OperatorCommand { .. } => "operator_command",
        }
    }
}

/// How a member came into a group (WeCom's `join_scene`, Telegram's join facts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinScene {
    /// Added directly by a member or an admin (WeCom 直接邀请; Telegram: added by someone).
    Invited,
    /// Through an invitation link (WeCom 邀请链接; Telegram: an invite link).
    InviteLink,
    /// Scanned the group's QR code or a join way (WeCom 扫描群二维码 / 渠道活码).
    QrCode,
    /// Asked to join and was approved (Telegram join requests).
    JoinRequest,
}

impl JoinScene {
    pub const ALL: [Self; 4] = [Self::Invited, Self::InviteLink, Self::QrCode, Self::JoinRequest];

    /// The stable snake_case name (as serialised and stored).
    pub fn name(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::InviteLink => "invite_link",
            Self::QrCode => "qr_code",
            Self::JoinRequest => "join_request",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A member as seen in one event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Role,
}

impl Member {
    pub fn new(id: impl Into<MemberId>, name: impl Into<String>) -> Self {
        Self { id: id.into(), name: Some(name.into()), role: Role::Member }
    }

    /// The name to show: the display name, or the id when there is none.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or(self.id.as_str())
    }
}

/// A member's standing in the group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    #[default]
    Member,
}

impl Role {
    /// Owners and admins: exempt from moderation unless configured otherwise.
    pub fn is_staff(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

/// A chat message: a list of segments, so no rule ever parses CQ codes or HTML.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub segments: Vec<Segment>,
}

impl Message {
    pub fn text(id: impl Into<MessageId>, text: impl Into<String>) -> Self {
        Self { id: id.into(), segments: vec![Segment::Text { text: text.into() }] }
    }

    /// The message as plain text: text segments verbatim, mentions as `@name`, links as URLs.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text { text } => out.push_str(text),
                Segment::Mention { member, name } => {
                    out.push('@');
                    out.push_str(name.as_deref().unwrap_or(member.as_str()));
                }
                Segment::MentionAll => out.push_str("@全体成员"),
                Segment::Link { url } => out.push_str(url),
                _ => {}
            }
        }
        out
    }
}

/// One piece of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Segment {
    Text {
        text: String,
    },
    /// A real mention (@) of one member.
    Mention {
        member: MemberId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// @all / @全体成员.
    MentionAll,
    Image {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// The image itself (base64), when the platform gives it: QR codes are read from it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<String>,
    },
    Link {
        url: String,
    },
    /// A card: mini-program, business card, red packet, shared article, location…
    Card {
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// The message replies to another message.
    Reply {
        message_id: MessageId,
    },
    File {
        name: String,
    },
    /// Anything else the platform sent (a sticker, a poke…), kept by kind.
    Other {
        kind: String,
    },
}

impl Segment {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_renders_mentions_by_name_and_skips_images() {
        let message = Message {
            id: "m1".into(),
            segments: vec![
                Segment::text("你好 "),
                Segment::Mention { member: "u2".into(), name: Some("小李".into()) },
                Segment::Image { url: None, data: None },
                Segment::Link { url: "abc.cn/x".into() },
            ],
        };
        assert_eq!(message.plain_text(), "你好 @小李abc.cn/x");
    }

    #[test]
    fn events_serialise_with_a_snake_case_type_tag() {
        let kind = EventKind::MemberLeft { member: Member::new("u1", "小王"), removed_by: None };
        let json = serde_json::to_value(&kind).unwrap();
        assert_eq!(json["type"], "member_left");
        assert_eq!(kind.name(), "member_left");
        let back: EventKind = serde_json::from_value(json).unwrap();
        assert_eq!(back, kind);
    }

    #[test]
    fn a_join_stored_before_join_scenes_existed_still_loads_and_new_ones_round_trip() {
        let old = r#"{"type":"member_joined","member":{"id":"u1","name":"小王"},"invite_code":"QZ7K2M"}"#;
        let EventKind::MemberJoined { join_scene, invite_code, .. } = serde_json::from_str::<EventKind>(old).unwrap() else { panic!() };
        assert_eq!((join_scene, invite_code.as_deref()), (None, Some("QZ7K2M")));
        let kind = EventKind::MemberJoined { member: Member::new("u1", "小王"), inviter: None, invite_code: None, join_scene: Some(JoinScene::QrCode) };
        let json = serde_json::to_value(&kind).unwrap();
        assert_eq!(json["join_scene"], "qr_code");
        assert_eq!(serde_json::from_value::<EventKind>(json).unwrap(), kind);
        assert!(JoinScene::ALL.iter().all(|s| JoinScene::from_name(s.name()) == Some(*s)));
    }

    #[test]
    fn display_name_falls_back_to_the_id_when_the_name_is_blank() {
        let mut member = Member::new("u9", "  ");
        assert_eq!(member.display_name(), "u9");
        member.name = Some("阿明".into());
        assert_eq!(member.display_name(), "阿明");
    }
}
