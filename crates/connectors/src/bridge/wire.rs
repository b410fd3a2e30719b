//! The bridge's incoming wire format (`POST /api/v1/bridge/{id}/events`) and its decoder.
//!
//! Decoding is two-staged on purpose: the body is parsed into a JSON value, the `type` tag is
//! read by hand, and only then is the variant's own struct deserialized (with
//! `serde_path_to_error`). Serde's internally tagged enums buffer their content and lose the
//! path of a bad field; a bridge author needs `[2].message.id`, not "data did not match".

use chrono::{DateTime, FixedOffset, Utc};
use qunzhu_core::{
    ConnectorId, Event, EventKind, GroupId, Member, MemberId, Message, MessageId, Origin,
    PlatformEventId, Role, Segment,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// The body of `POST /api/v1/bridge/{id}/events`: one event, or an array of events (a batch,
/// processed in array order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EventsBody {
    One(BridgeEvent),
    Batch(Vec<BridgeEvent>),
}

/// One platform event, chosen by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BridgeEvent {
    /// Someone posted a message.
    Message(MessageEvent),
    /// Someone joined the group.
    MemberJoined(MemberJoinedEvent),
    /// Someone left the group, or was removed (`removed_by`).
    MemberLeft(MemberLeftEvent),
    /// Someone asked to join; answer with `approve_join` / `reject_join` actions.
    JoinRequest(JoinRequestEvent),
    /// A message was deleted (recalled).
    MessageDeleted(MessageDeletedEvent),
}

/// The event types the decoder accepts, in the order the docs list them.
pub const EVENT_TYPES: &[&str] = &[
    "message",
    "member_joined",
    "member_left",
    "join_request",
    "message_deleted",
];

/// `type: "message"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageEvent {
    /// The platform's id of this event; a second event with the same id is ignored.
    pub id: String,
    /// When it happened, RFC 3339 with an offset (`2026-11-22T10:00:00+08:00`).
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub time: DateTime<FixedOffset>,
    pub group: WireGroup,
    /// Who posted it.
    pub actor: WireMember,
    pub message: WireMessage,
}

/// `type: "member_joined"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemberJoinedEvent {
    /// The platform's id of this event; a second event with the same id is ignored.
    pub id: String,
    /// When it happened, RFC 3339 with an offset.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub time: DateTime<FixedOffset>,
    pub group: WireGroup,
    /// Who joined.
    pub actor: WireMember,
    /// Who invited them, when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter: Option<WirePerson>,
    /// The invite code or channel the join came through, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_code: Option<String>,
}

/// `type: "member_left"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemberLeftEvent {
    /// The platform's id of this event; a second event with the same id is ignored.
    pub id: String,
    /// When it happened, RFC 3339 with an offset.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub time: DateTime<FixedOffset>,
    pub group: WireGroup,
    /// Who left.
    pub actor: WireMember,
    /// Set when someone else removed them (a kick).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<WirePerson>,
}

/// `type: "join_request"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JoinRequestEvent {
    /// The platform's id of this event; a second event with the same id is ignored.
    pub id: String,
    /// When it happened, RFC 3339 with an offset.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub time: DateTime<FixedOffset>,
    pub group: WireGroup,
    /// Who asks to join.
    pub actor: WireMember,
    /// The platform's handle for answering; echoed in `approve_join` / `reject_join` actions.
    pub request_id: String,
    /// What the applicant wrote, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `type: "message_deleted"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageDeletedEvent {
    /// The platform's id of this event; a second event with the same id is ignored.
    pub id: String,
    /// When it happened, RFC 3339 with an offset.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub time: DateTime<FixedOffset>,
    pub group: WireGroup,
    /// Who deleted it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<WireMember>,
    /// The deleted message (only its `id` is read).
    pub message: WireMessageRef,
}

/// The group an event happened in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireGroup {
    /// The platform's group id.
    pub id: String,
    /// The group's display name; used in welcome texts and on the dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A member, with their standing in the group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireMember {
    /// The platform's member id.
    pub id: String,
    /// Display name (group nickname if the platform has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `owner`, `admin` or `member` (the default).
    #[serde(default)]
    pub role: WireRole,
}

/// Another member mentioned by an event (an inviter, who removed someone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WirePerson {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireRole {
    Owner,
    Admin,
    #[default]
    Member,
}

/// A posted message. Give `text`, `segments`, or both: when `segments` is present it is the
/// message, and `text` is ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WireMessage {
    /// The platform's message id; actions that reply to or delete it echo it.
    pub id: String,
    /// The message as plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The message as segments, when the bridge knows more than the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<WireSegment>>")]
    pub segments: Option<Vec<Value>>,
}

/// A message named by its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireMessageRef {
    pub id: String,
}

/// One piece of a message, in both directions (incoming messages, outgoing sends).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireSegment {
    Text {
        text: String,
    },
    /// A real @mention of one member.
    Mention {
        /// The member's platform id.
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// @all (@全体成员).
    MentionAll,
    Image {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// The image bytes, base64 (optional): qunzhu reads QR codes in them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<String>,
    },
    Link {
        url: String,
    },
    /// A card: mini-program, business card, shared article, red packet, location…
    Card {
        /// What kind of card (`mini_program`, `article`, `red_packet`…).
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// This message replies to another one.
    Reply {
        message_id: String,
    },
    File {
        name: String,
    },
    /// Anything else (a sticker, a poke…), kept by kind.
    Other {
        kind: String,
    },
}

/// The segment types the decoder accepts.
pub const SEGMENT_TYPES: &[&str] = &[
    "text",
    "mention",
    "mention_all",
    "image",
    "link",
    "card",
    "reply",
    "file",
    "other",
];

impl From<WireSegment> for Segment {
    fn from(segment: WireSegment) -> Self {
        match segment {
            WireSegment::Text { text } => Segment::Text { text },
            WireSegment::Mention { id, name } => Segment::Mention {
                member: MemberId(id),
                name,
            },
            WireSegment::MentionAll => Segment::MentionAll,
            WireSegment::Image { url, data } => Segment::Image { url, data },
            WireSegment::Link { url } => Segment::Link { url },
            WireSegment::Card { kind, title, url } => Segment::Card { kind, title, url },
            WireSegment::Reply { message_id } => Segment::Reply {
                message_id: MessageId(message_id),
            },
            WireSegment::File { name } => Segment::File { name },
            WireSegment::Other { kind } => Segment::Other { kind },
        }
    }
}

impl From<&Segment> for WireSegment {
    fn from(segment: &Segment) -> Self {
        match segment.clone() {
            Segment::Text { text } => Self::Text { text },
            Segment::Mention { member, name } => Self::Mention { id: member.0, name },
            Segment::MentionAll => Self::MentionAll,
            Segment::Image { url, data } => Self::Image { url, data: data.clone() },
            Segment::Link { url } => Self::Link { url },
            Segment::Card { kind, title, url } => Self::Card { kind, title, url },
            Segment::Reply { message_id } => Self::Reply {
                message_id: message_id.0,
            },
            Segment::File { name } => Self::File { name },
            Segment::Other { kind } => Self::Other { kind },
        }
    }
}

/// Why a body could not be decoded: the field at fault and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{}: {message}", if .field.is_empty() { "(body)" } else { .field.as_str() })]
pub struct DecodeError {
    /// Path of the bad field: `group.id`, `[2].message.id`, `message.segments[0].type`;
    /// empty when the body as a whole is at fault (not JSON at all).
    pub field: String,
    /// What is wrong, in words a bridge author understands.
    pub message: String,
}

impl DecodeError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Decodes a request body (one event or an array of them) into normalised events.
///
/// # Errors
/// The first problem found, naming its field. Never panics, whatever the bytes.
pub fn decode_event(connector: &ConnectorId, body: &[u8]) -> Result<Vec<Event>, DecodeError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        let message = if e.is_eof() && body.iter().all(u8::is_ascii_whitespace) {
            "the body is empty; send one event object or an array of them".to_owned()
        } else {
            format!("not valid JSON: {e}")
        };
        DecodeError::new("", message)
    })?;
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(DecodeError::new(
                    "",
                    "the batch is empty; send at least one event",
                ));
            }
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| decode_one(connector, item, &format!("[{i}]")))
                .collect()
        }
        other => Ok(vec![decode_one(connector, other, "")?]),
    }
}

/// Joins path parts the way the error reports them: `a.b`, `[2].a`, `a[0].b`.
fn join(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (_, true) => prefix.to_owned(),
        (true, false) => field.to_owned(),
        (false, false) if field.starts_with('[') => format!("{prefix}{field}"),
        (false, false) => format!("{prefix}.{field}"),
    }
}

/// Reads the `type` tag of an object, checking it against `allowed`.
fn tag(value: &Value, prefix: &str, allowed: &[&str], what: &str) -> Result<String, DecodeError> {
    let field = join(prefix, "type");
    let Value::Object(map) = value else {
        return Err(DecodeError::new(
            prefix,
            format!("expected {what} object, found {}", kind_of(value)),
        ));
    };
    match map.get("type") {
        None => Err(DecodeError::new(
            field,
            format!("missing; one of: {}", allowed.join(", ")),
        )),
        Some(Value::String(name)) if allowed.contains(&name.as_str()) => Ok(name.clone()),
        Some(Value::String(name)) => Err(DecodeError::new(
            field,
            format!("unknown type `{name}`; one of: {}", allowed.join(", ")),
        )),
        Some(other) => Err(DecodeError::new(
            field,
            format!("expected a string, found {}", kind_of(other)),
        )),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Deserializes one struct, turning serde's error into a [`DecodeError`] with a full path.
fn fields<T: DeserializeOwned>(value: Value, prefix: &str) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let mut path = error.path().to_string();
        if path == "." {
            path.clear();
        }
        let message = error.inner().to_string();
        // Serde reports a missing field at its parent; name the field itself.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            return DecodeError::new(join(prefix, &join(&path, name)), "missing");
        }
        DecodeError::new(join(prefix, &path), message)
    })
}

fn non_empty(value: String, field: &str) -> Result<String, DecodeError> {
    if value.trim().is_empty() {
        Err(DecodeError::new(field, "must not be empty"))
    } else if value.chars().any(char::is_control) {
        // Ids end up as keys in the database and in URLs; control characters (NUL above all,
        // which PostgreSQL text refuses) would make them unusable.
        Err(DecodeError::new(field, "must not contain control characters"))
    } else {
        Ok(value)
    }
}

fn decode_one(connector: &ConnectorId, value: Value, prefix: &str) -> Result<Event, DecodeError> {
    let kind = tag(&value, prefix, EVENT_TYPES, "an event")?;
    let at = |field: &str| join(prefix, field);
    let (id, time, group, kind) = match kind.as_str() {
        "message" => {
            let e: MessageEvent = fields(value, prefix)?;
            let message = decode_message(e.message, &at("message"))?;
            (
                e.id,
                e.time,
                e.group,
                EventKind::MessagePosted {
                    author: member(e.actor, &at("actor"))?,
                    message,
                },
            )
        }
        "member_joined" => {
            let e: MemberJoinedEvent = fields(value, prefix)?;
            let inviter = e.inviter.map(|p| person(p, &at("inviter"))).transpose()?;
            (
                e.id,
                e.time,
                e.group,
                EventKind::MemberJoined {
                    member: member(e.actor, &at("actor"))?,
                    inviter,
                    invite_code: e.invite_code,
                    join_scene: None,
                },
            )
        }
        "member_left" => {
            let e: MemberLeftEvent = fields(value, prefix)?;
            let removed_by = e
                .removed_by
                .map(|p| person(p, &at("removed_by")))
                .transpose()?;
            (
                e.id,
                e.time,
                e.group,
                EventKind::MemberLeft {
                    member: member(e.actor, &at("actor"))?,
                    removed_by,
                },
            )
        }
        "join_request" => {
            let e: JoinRequestEvent = fields(value, prefix)?;
            let request_id = non_empty(e.request_id, &at("request_id"))?;
            (
                e.id,
                e.time,
                e.group,
                EventKind::JoinRequested {
                    member: member(e.actor, &at("actor"))?,
                    request_id,
                    comment: e.comment,
                },
            )
        }
        _ => {
            let e: MessageDeletedEvent = fields(value, prefix)?;
            let message_id = MessageId(non_empty(e.message.id, &at("message.id"))?);
            let deleted_by = e.actor.map(|a| member(a, &at("actor"))).transpose()?;
            (
                e.id,
                e.time,
                e.group,
                EventKind::MessageDeleted {
                    message_id,
                    deleted_by,
                },
            )
        }
    };
    let id = non_empty(id, &at("id"))?;
    let group_id = non_empty(group.id, &at("group.id"))?;
    Ok(Event {
        origin: Origin {
            connector: connector.clone(),
            group: GroupId(group_id),
            event_id: PlatformEventId(id),
        },
        group_name: group.name.filter(|n| !n.trim().is_empty()),
        time: time.with_timezone(&Utc),
        kind,
    })
}

fn member(wire: WireMember, field: &str) -> Result<Member, DecodeError> {
    let role = match wire.role {
        WireRole::Owner => Role::Owner,
        WireRole::Admin => Role::Admin,
        WireRole::Member => Role::Member,
    };
    Ok(Member {
        id: MemberId(non_empty(wire.id, &join(field, "id"))?),
        name: wire.name,
        role,
    })
}

fn person(wire: WirePerson, field: &str) -> Result<Member, DecodeError> {
    Ok(Member {
        id: MemberId(non_empty(wire.id, &join(field, "id"))?),
        name: wire.name,
        role: Role::Member,
    })
}

fn decode_message(wire: WireMessage, field: &str) -> Result<Message, DecodeError> {
    let id = MessageId(non_empty(wire.id, &join(field, "id"))?);
    let segments = match (wire.segments, wire.text) {
        (Some(values), _) => {
            let mut segments = Vec::with_capacity(values.len());
            for (i, value) in values.into_iter().enumerate() {
                let at = join(field, &format!("segments[{i}]"));
                tag(&value, &at, SEGMENT_TYPES, "a segment")?;
                let segment: WireSegment = fields(value, &at)?;
                segments.push(segment.into());
            }
            segments
        }
        (None, Some(text)) => vec![Segment::Text { text }],
        (None, None) => {
            return Err(DecodeError::new(
                join(field, "text"),
                "missing; give `text` or `segments`",
            ));
        }
    };
    Ok(Message { id, segments })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(value: Value) -> Result<Vec<Event>, DecodeError> {
        decode_event(&ConnectorId::new("shop"), value.to_string().as_bytes())
    }

    fn field_of(value: Value) -> String {
        decode(value).unwrap_err().field
    }

    fn issue_example() -> Value {
        json!({"id":"e1","time":"2026-11-22T10:00:00+08:00","type":"message",
               "group":{"id":"g1","name":"粉丝1群"},
               "actor":{"id":"u1","name":"小王","role":"member"},
               "message":{"id":"m1","text":"大家好"}})
    }

    #[test]
    fn the_issue_example_decodes_into_a_message_posted_event() {
        let events = decode(issue_example()).unwrap();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.origin.connector.as_str(), "shop");
        assert_eq!(event.origin.group.as_str(), "g1");
        assert_eq!(event.origin.event_id.as_str(), "e1");
        assert_eq!(event.group_name.as_deref(), Some("粉丝1群"));
        assert_eq!(event.time.to_rfc3339(), "2026-11-22T02:00:00+00:00");
        let EventKind::MessagePosted { author, message } = &event.kind else {
            panic!("{:?}", event.kind)
        };
        assert_eq!(author, &Member::new("u1", "小王"));
        assert_eq!(message, &Message::text("m1", "大家好"));
    }

    #[test]
    fn every_event_type_decodes_with_its_optional_fields() {
        let base = |kind: &str, extra: Value| {
            let mut v = json!({"id":"e","time":"2026-11-22T10:00:00Z","type":kind,"group":{"id":"g"},"actor":{"id":"u","role":"admin"}});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            decode(v).unwrap().remove(0).kind
        };
        assert_eq!(
            base(
                "member_joined",
                json!({"inviter":{"id":"u0","name":"老李"},"invite_code":"c9"})
            ),
            EventKind::MemberJoined {
                member: Member {
                    id: "u".into(),
                    name: None,
                    role: Role::Admin
                },
                inviter: Some(Member::new("u0", "老李")),
                invite_code: Some("c9".into()),
                join_scene: None,
            }
        );
        assert!(matches!(
            base("member_left", json!({"removed_by":{"id":"boss"}})),
            EventKind::MemberLeft { removed_by: Some(Member { ref id, .. }), .. } if id.as_str() == "boss"
        ));
        assert!(matches!(
            base("join_request", json!({"request_id":"r1","comment":"朋友推荐"})),
            EventKind::JoinRequested { ref request_id, comment: Some(_), .. } if request_id == "r1"
        ));
        let deleted = decode(json!({"id":"e","time":"2026-11-22T10:00:00Z","type":"message_deleted","group":{"id":"g"},"message":{"id":"m7"}}))
            .unwrap()
            .remove(0)
            .kind;
        assert_eq!(
            deleted,
            EventKind::MessageDeleted {
                message_id: "m7".into(),
                deleted_by: None
            }
        );
    }

    #[test]
    fn segments_win_over_text_and_keep_mentions() {
        let mut v = issue_example();
        v["message"]["segments"] = json!([
            {"type":"text","text":"hi "},
            {"type":"mention","id":"u2","name":"小李"},
            {"type":"mention_all"},
            {"type":"card","kind":"mini_program","title":"商城"},
            {"type":"reply","message_id":"m0"}
        ]);
        let EventKind::MessagePosted { message, .. } = decode(v).unwrap().remove(0).kind else {
            panic!()
        };
        assert_eq!(message.segments.len(), 5);
        assert_eq!(
            message.segments[1],
            Segment::Mention {
                member: "u2".into(),
                name: Some("小李".into())
            }
        );
        assert_eq!(message.plain_text(), "hi @小李@全体成员");
    }

    #[test]
    fn a_batch_decodes_in_order_and_errors_name_the_element() {
        let mut second = issue_example();
        second["id"] = json!("e2");
        let events = decode(json!([issue_example(), second])).unwrap();
        assert_eq!(
            events
                .iter()
                .map(|e| e.origin.event_id.as_str())
                .collect::<Vec<_>>(),
            ["e1", "e2"]
        );

        let mut bad = issue_example();
        bad["message"].as_object_mut().unwrap().remove("id");
        assert_eq!(
            field_of(json!([issue_example(), issue_example(), bad])),
            "[2].message.id"
        );
    }

    #[test]
    fn errors_name_the_field_that_is_wrong() {
        let mut v = issue_example();
        v["group"].as_object_mut().unwrap().remove("id");
        assert_eq!(field_of(v), "group.id");

        let mut v = issue_example();
        v["group"]["id"] = json!(42);
        let error = decode(v).unwrap_err();
        assert_eq!(error.field, "group.id");
        assert!(
            error.message.contains("expected a string"),
            "{}",
            error.message
        );

        let mut v = issue_example();
        v["time"] = json!("2026-11-22 10:00");
        assert_eq!(field_of(v), "time");

        let mut v = issue_example();
        v["actor"]["role"] = json!("king");
        assert_eq!(field_of(v), "actor.role");

        let mut v = issue_example();
        v["type"] = json!("teleport");
        let error = decode(v).unwrap_err();
        assert_eq!(error.field, "type");
        assert!(error.message.contains("member_joined"), "{}", error.message);

        let mut v = issue_example();
        v["message"] = json!({"id":"m1"});
        assert_eq!(field_of(v), "message.text");

        let mut v = issue_example();
        v["message"]["segments"] = json!([{"type":"text","text":"x"},{"type":"link"}]);
        assert_eq!(field_of(v), "message.segments[1].url");

        let mut v = issue_example();
        v["message"]["segments"] = json!([{"type":"hologram"}]);
        assert_eq!(field_of(v), "message.segments[0].type");

        let mut v = issue_example();
        v["actor"]["id"] = json!("  ");
        assert_eq!(field_of(v), "actor.id");

        let mut v = issue_example();
        v.as_object_mut().unwrap().remove("type");
        assert_eq!(field_of(v), "type");
    }

    #[test]
    fn bodies_that_are_not_events_say_so() {
        let connector = ConnectorId::new("shop");
        assert_eq!(
            decode_event(&connector, b"").unwrap_err().message,
            "the body is empty; send one event object or an array of them"
        );
        assert!(
            decode_event(&connector, b"{\"id\":")
                .unwrap_err()
                .message
                .starts_with("not valid JSON")
        );
        assert_eq!(decode_event(&connector, b"[]").unwrap_err().field, "");
        assert_eq!(
            decode_event(&connector, b"7").unwrap_err().message,
            "expected an event object, found a number"
        );
        assert_eq!(decode_event(&connector, b"[1]").unwrap_err().field, "[0]");
    }

    #[test]
    fn wire_segments_round_trip_through_core_segments() {
        for wire in [
            WireSegment::Text { text: "a".into() },
            WireSegment::Mention {
                id: "u".into(),
                name: None,
            },
            WireSegment::MentionAll,
            WireSegment::Image {
                url: Some("http://x".into()),
                data: None,
            },
            WireSegment::Link { url: "l".into() },
            WireSegment::Card {
                kind: "k".into(),
                title: None,
                url: None,
            },
            WireSegment::Reply {
                message_id: "m".into(),
            },
            WireSegment::File { name: "f".into() },
            WireSegment::Other {
                kind: "poke".into(),
            },
        ] {
            let core: Segment = wire.clone().into();
            assert_eq!(WireSegment::from(&core), wire);
        }
    }
}
