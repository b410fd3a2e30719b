//! The bridge's outgoing wire format: actions (and staff tasks) as the bridge receives them in
//! the events response and the action feed.

use chrono::{DateTime, Utc};
use qunzhu_core::store::OutboxEntry;
use qunzhu_core::{Action, ActionKind, Message, Segment, StaffTask};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::wire::WireSegment;

/// One thing qunzhu wants the bridge to do (or, for `staff_task`, to show staff).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WireAction {
    /// The action's id: report its outcome to `/api/v1/bridge/{id}/actions/{action_id}/result`.
    /// Perform each id once: the same action may reach the bridge in the events response and
    /// in the feed. For a staff task this is the task's id.
    pub id: String,
    /// The group to act in.
    pub group: WireGroupRef,
    /// What to do; the `type` tag is stable.
    #[serde(flatten)]
    pub kind: WireActionKind,
    /// The rule that decided it (`welcome`, …).
    pub rule: String,
    /// Why, in the operator's language.
    pub explanation: String,
    /// The event id that caused it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// `pending` (to do), `awaiting_peer`, `delivered` or `failed` for actions; `open`,
    /// `done` or `dismissed` for staff tasks.
    pub status: String,
    /// Failed attempts reported so far.
    #[serde(default)]
    pub attempts: u32,
    /// Do not perform before this time (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub not_before: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireGroupRef {
    /// The platform's group id, as the bridge sent it.
    pub id: String,
}

/// What to do, tagged by `type`. Messages come as `segments` (mentions as real @mentions)
/// and as `text`, the same message in plain text for bridges that only send text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireActionKind {
    /// Post a message in the group.
    Send {
        segments: Vec<WireSegment>,
        text: String,
    },
    /// Post a message replying to `reply_to`.
    Reply {
        reply_to: String,
        segments: Vec<WireSegment>,
        text: String,
    },
    /// Delete (recall) a message.
    Delete { message_id: String },
    /// Mute a member for `duration_secs` seconds.
    Mute { member: String, duration_secs: u64 },
    /// Lift a member's mute (an operator undid a penalty).
    Unmute { member: String },
    /// Remove a member.
    Kick { member: String },
    /// Remove a member and keep them out.
    Ban { member: String },
    /// Let a banned member back in (an operator undid a penalty).
    Unban { member: String },
    /// Accept a join request.
    ApproveJoin { request_id: String, member: String },
    /// Refuse a join request, telling them `reason`.
    RejectJoin {
        request_id: String,
        member: String,
        reason: String,
    },
    /// Set the group announcement.
    SetAnnouncement { text: String },
    /// Send a private message to a member.
    DirectMessage {
        member: String,
        segments: Vec<WireSegment>,
        text: String,
    },
    /// Tell the group's staff (e.g. the admins' chat).
    NotifyStaff { text: String },
    /// Something the platform cannot do through the bridge: a person must do `step` by hand.
    /// Report nothing for it; staff close it on the dashboard.
    StaffTask {
        /// One line for a task board.
        title: String,
        /// The exact manual step.
        step: String,
        /// The action type the engine wanted (`delete`, `mute`, …).
        wanted: String,
    },
}

fn plain(segments: &[Segment]) -> String {
    Message {
        id: "".into(),
        segments: segments.to_vec(),
    }
    .plain_text()
}

fn wire_segments(segments: &[Segment]) -> Vec<WireSegment> {
    segments.iter().map(WireSegment::from).collect()
}

impl From<&ActionKind> for WireActionKind {
    fn from(kind: &ActionKind) -> Self {
        match kind {
            ActionKind::Send { segments } => Self::Send {
                segments: wire_segments(segments),
                text: plain(segments),
            },
            ActionKind::Reply { to, segments } => Self::Reply {
                reply_to: to.0.clone(),
                segments: wire_segments(segments),
                text: plain(segments),
            },
            ActionKind::Delete { message_id } => Self::Delete {
                message_id: message_id.0.clone(),
            },
            ActionKind::Mute {
                member,
                duration_secs,
            } => Self::Mute {
                member: member.0.clone(),
                duration_secs: *duration_secs,
            },
            ActionKind::Unmute { member } => Self::Unmute {
                member: member.0.clone(),
            },
            ActionKind::Kick { member } => Self::Kick {
                member: member.0.clone(),
            },
            ActionKind::Unban { member } => Self::Unban {
                member: member.0.clone(),
            },
            ActionKind::Ban { member } => Self::Ban {
                member: member.0.clone(),
            },
            ActionKind::ApproveJoin { request_id, member } => Self::ApproveJoin {
                request_id: request_id.clone(),
                member: member.0.clone(),
            },
            ActionKind::RejectJoin {
                request_id,
                member,
                reason,
            } => Self::RejectJoin {
                request_id: request_id.clone(),
                member: member.0.clone(),
                reason: reason.clone(),
            },
            ActionKind::SetAnnouncement { text } => Self::SetAnnouncement { text: text.clone() },
            ActionKind::DirectMessage { member, segments } => Self::DirectMessage {
                member: member.0.clone(),
                segments: wire_segments(segments),
                text: plain(segments),
            },
            ActionKind::NotifyStaff { text } | ActionKind::Webhook { text, .. } => Self::NotifyStaff { text: text.clone() },
        }
    }
}

impl WireAction {
    /// A freshly decided action (as in the events response): `pending`, no attempts.
    pub fn from_action(action: &Action) -> Self {
        Self {
            id: action.id.0.clone(),
            group: WireGroupRef {
                id: action.group.group.0.clone(),
            },
            kind: (&action.kind).into(),
            rule: action.rule.clone(),
            explanation: action.explanation.clone(),
            cause: action.cause.as_ref().map(|c| c.0.clone()),
            status: "pending".into(),
            attempts: 0,
            not_before: action.not_before,
        }
    }

    /// An action as the outbox holds it (the feed), with its status.
    pub fn from_entry(entry: &OutboxEntry) -> Self {
        Self {
            status: entry.status.name().into(),
            attempts: entry.attempts,
            ..Self::from_action(&entry.action)
        }
    }

    /// A staff task: what a person must do because the bridge cannot.
    pub fn from_task(task: &StaffTask) -> Self {
        Self {
            id: task.id.0.clone(),
            group: WireGroupRef {
                id: task.group.group.0.clone(),
            },
            kind: WireActionKind::StaffTask {
                title: task.title.clone(),
                step: task.step.clone(),
                wanted: task.action.kind.name().into(),
            },
            rule: task.action.rule.clone(),
            explanation: task.action.explanation.clone(),
            cause: task.action.cause.as_ref().map(|c| c.0.clone()),
            status: task.status.name().into(),
            attempts: 0,
            not_before: None,
        }
    }

    /// The stable `type` tag.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            WireActionKind::Send { .. } => "send",
            WireActionKind::Reply { .. } => "reply",
            WireActionKind::Delete { .. } => "delete",
            WireActionKind::Mute { .. } => "mute",
            WireActionKind::Unmute { .. } => "unmute",
            WireActionKind::Unban { .. } => "unban",
            WireActionKind::Kick { .. } => "kick",
            WireActionKind::Ban { .. } => "ban",
            WireActionKind::ApproveJoin { .. } => "approve_join",
            WireActionKind::RejectJoin { .. } => "reject_join",
            WireActionKind::SetAnnouncement { .. } => "set_announcement",
            WireActionKind::DirectMessage { .. } => "direct_message",
            WireActionKind::NotifyStaff { .. } => "notify_staff",
            WireActionKind::StaffTask { .. } => "staff_task",
        }
    }
}

/// The body of `GET /api/v1/bridge/{id}/actions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ActionFeed {
    pub actions: Vec<WireAction>,
    /// Pass as `after` in the next poll. Opaque; compare for equality only.
    pub cursor: String,
}

/// The body of the events response: everything decided because of the posted event(s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventsResponse {
    pub actions: Vec<WireAction>,
}

/// The body of `POST /api/v1/bridge/{id}/actions/{action_id}/result`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ActionResult {
    /// Did the platform do it?
    pub ok: bool,
    /// What went wrong, when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When `ok` is false: `true` if trying again later may work (a rate limit, a timeout);
    /// the action is offered again after a backoff. `false` (the default) marks it failed.
    #[serde(default)]
    pub retry: bool,
    /// With `retry`: wait at least this many seconds before the next try.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use qunzhu_core::{GroupKey, TaskStatus};
    use serde_json::json;

    use super::*;

    fn action(kind: ActionKind) -> Action {
        Action {
            id: "a1".into(),
            group: GroupKey::new("shop", "g1"),
            kind,
            rule: "welcome".into(),
            cause: Some("e1".into()),
            explanation: "新成员入群".into(),
            not_before: None,
            created_at: Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_send_carries_segments_with_mentions_and_the_same_text() {
        let wire = WireAction::from_action(&action(ActionKind::Send {
            segments: vec![
                Segment::text("欢迎 "),
                Segment::Mention {
                    member: "u1".into(),
                    name: Some("小王".into()),
                },
            ],
        }));
        assert_eq!(
            serde_json::to_value(&wire).unwrap(),
            json!({
                "id":"a1","type":"send","group":{"id":"g1"},
                "segments":[{"type":"text","text":"欢迎 "},{"type":"mention","id":"u1","name":"小王"}],
                "text":"欢迎 @小王","rule":"welcome","explanation":"新成员入群","cause":"e1",
                "status":"pending","attempts":0
            })
        );
    }

    #[test]
    fn every_action_kind_serialises_with_its_stable_type() {
        let kinds = [
            ActionKind::Send { segments: vec![] },
            ActionKind::Reply {
                to: "m".into(),
                segments: vec![],
            },
            ActionKind::Delete {
                message_id: "m".into(),
            },
            ActionKind::Mute {
                member: "u".into(),
                duration_secs: 60,
            },
            ActionKind::Kick { member: "u".into() },
            ActionKind::Ban { member: "u".into() },
            ActionKind::ApproveJoin {
                request_id: "r".into(),
                member: "u".into(),
            },
            ActionKind::RejectJoin {
                request_id: "r".into(),
                member: "u".into(),
                reason: "x".into(),
            },
            ActionKind::SetAnnouncement { text: "t".into() },
            ActionKind::DirectMessage {
                member: "u".into(),
                segments: vec![],
            },
            ActionKind::NotifyStaff { text: "t".into() },
        ];
        for kind in kinds {
            let wire = WireAction::from_action(&action(kind.clone()));
            assert_eq!(wire.type_name(), kind.name());
            let json = serde_json::to_value(&wire).unwrap();
            assert_eq!(json["type"], kind.name());
            let back: WireAction = serde_json::from_value(json).unwrap();
            assert_eq!(back, wire);
        }
    }

    #[test]
    fn a_staff_task_says_what_was_wanted_and_the_manual_step() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        let task = StaffTask {
            id: "t1".into(),
            group: GroupKey::new("shop", "g1"),
            title: "代删消息".into(),
            step: "在群「g1」中删除消息 m9".into(),
            action: action(ActionKind::Delete {
                message_id: "m9".into(),
            }),
            status: TaskStatus::Open,
            created_at: now,
            updated_at: now,
            updated_by: None,
        };
        let json = serde_json::to_value(WireAction::from_task(&task)).unwrap();
        assert_eq!(json["type"], "staff_task");
        assert_eq!(json["id"], "t1");
        assert_eq!(json["wanted"], "delete");
        assert_eq!(json["step"], "在群「g1」中删除消息 m9");
        assert_eq!(json["status"], "open");
    }
}
