//! OneBot v11 frames → qunzhu events.
//!
//! A frame from the implementation is an event (`post_type`), or the answer to one of our
//! calls (`echo`). Group events become [`Event`]s; meta events feed the health report;
//! everything else is [`Frame::Skipped`] with the reason, logged by the caller, never fatal.

use chrono::{DateTime, TimeZone, Utc};
use qunzhu_core::{
    ConnectorId, Event, EventKind, GroupId, JoinScene, Member, MemberId, Message, MessageId, Origin,
    PlatformEventId, Role,
};
use serde_json::Value;

use super::message::{raw_from_value, to_segments};

/// What one frame is.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Event(Box<Event>),
    /// The answer to a call: `echo` as sent, and the whole answer.
    Response { echo: String, body: Value },
    /// `meta_event`: lifecycle (`enable`/`disable`/`connect`) or heartbeat.
    Meta {
        kind: String,
        /// From a heartbeat's `status.good` / `status.online`, when given.
        good: Option<bool>,
    },
    /// Not an event qunzhu uses (private messages, pokes…), or malformed: why.
    Skipped(String),
}

/// Reads one text frame.
pub fn decode(connector: &ConnectorId, text: &str) -> Frame {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => decode_value(connector, &value),
        Err(error) => Frame::Skipped(format!("not JSON: {error}")),
    }
}

/// The text of a JSON scalar id (`123` or `"123"`).
fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The echo as text: a string stays as it is, anything else is its JSON.
pub fn echo_key(echo: &Value) -> String {
    match echo {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn decode_value(connector: &ConnectorId, value: &Value) -> Frame {
    let Some(post_type) = value.get("post_type").and_then(Value::as_str) else {
        if let Some(echo) = value.get("echo").filter(|e| !e.is_null())
            && value.get("status").is_some()
        {
            return Frame::Response {
                echo: echo_key(echo),
                body: value.clone(),
            };
        }
        return Frame::Skipped("neither an event (post_type) nor an answer (echo)".into());
    };
    let field = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default();
    let time = value
        .get("time")
        .and_then(Value::as_i64)
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
        .unwrap_or_else(Utc::now);
    let Some(group) = id_of(value.get("group_id")) else {
        if post_type == "meta_event" {
            return Frame::Meta {
                kind: field("meta_event_type").to_owned(),
                good: value
                    .pointer("/status/good")
                    .or_else(|| value.pointer("/status/online"))
                    .and_then(Value::as_bool),
            };
        }
        return Frame::Skipped(format!("{post_type} without a group_id (not a group event)"));
    };
    let user = id_of(value.get("user_id"));
    let kind = match (post_type, user) {
        ("message", Some(user)) if field("message_type") == "group" => {
            message_posted(value, user)
        }
        ("notice", Some(user)) => match field("notice_type") {
            "group_increase" => Ok(EventKind::MemberJoined {
                member: bare(&user),
                inviter: (field("sub_type") == "invite")
                    .then(|| id_of(value.get("operator_id")))
                    .flatten()
                    .filter(|operator| operator != "0" && *operator != user)
                    .map(|operator| bare(&operator)),
                invite_code: None,
                // `approve`: an admin let them in (a request); `invite`: someone added them.
                join_scene: match field("sub_type") {
                    "approve" => Some(JoinScene::JoinRequest),
                    "invite" => Some(JoinScene::Invited),
                    _ => None,
                },
            }),
            "group_decrease" => Ok(EventKind::MemberLeft {
                member: bare(&user),
                removed_by: matches!(field("sub_type"), "kick" | "kick_me")
                    .then(|| id_of(value.get("operator_id")))
                    .flatten()
                    .filter(|operator| operator != "0")
                    .map(|operator| bare(&operator)),
            }),
            "group_recall" => match id_of(value.get("message_id")) {
                Some(message_id) => Ok(EventKind::MessageDeleted {
                    message_id: MessageId::new(message_id),
                    deleted_by: id_of(value.get("operator_id")).map(|o| bare(&o)),
                }),
                None => Err("group_recall without message_id".to_owned()),
            },
            other => Err(format!("notice `{other}` is not used")),
        },
        ("request", Some(user)) if field("request_type") == "group" => {
            match (field("sub_type"), field("flag")) {
                (_, "") => Err("group request without a flag".into()),
                (sub_type @ ("add" | "invite"), flag) => Ok(EventKind::JoinRequested {
                    member: bare(&user),
                    request_id: request_id(sub_type, flag),
                    comment: Some(field("comment").to_owned()).filter(|c| !c.is_empty()),
                }),
                (other, _) => Err(format!("group request `{other}` is not used")),
            }
        }
        (_, None) => Err(format!("{post_type} without a user_id")),
        _ => Err(format!("{post_type} `{}` is not used", field(&format!("{post_type}_type")))),
    };
    let kind = match kind {
        Ok(kind) => kind,
        Err(reason) => return Frame::Skipped(reason),
    };
    Frame::Event(Box::new(Event {
        origin: Origin {
            connector: connector.clone(),
            group: GroupId::new(group.clone()),
            event_id: PlatformEventId::new(event_id(&kind, &group, value, time)),
        },
        group_name: None,
        time,
        kind,
    }))
}

/// The request handle: the `flag`, prefixed with `invite:` for invitations of the bot
/// itself, because answering needs the sub type back.
fn request_id(sub_type: &str, flag: &str) -> String {
    if sub_type == "invite" {
        format!("invite:{flag}")
    } else {
        flag.to_owned()
    }
}

/// `(sub_type, flag)` of a request id made by [`request_id`].
pub fn split_request_id(request_id: &str) -> (&'static str, &str) {
    match request_id.strip_prefix("invite:") {
        Some(flag) => ("invite", flag),
        None => ("add", request_id),
    }
}

fn bare(id: &str) -> Member {
    Member {
        id: MemberId::new(id),
        name: None,
        role: Role::Member,
    }
}

fn message_posted(value: &Value, user: String) -> Result<EventKind, String> {
    let message_id = id_of(value.get("message_id")).ok_or("group message without message_id")?;
    let message = value
        .get("message")
        .or_else(|| value.get("raw_message"))
        .ok_or("group message without message")?;
    let sender = value.get("sender");
    let sender_field = |key: &str| {
        sender
            .and_then(|s| s.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let role = match sender_field("role") {
        Some("owner") => Role::Owner,
        Some("admin") => Role::Admin,
        _ => Role::Member,
    };
    Ok(EventKind::MessagePosted {
        author: Member {
            id: MemberId::new(user),
            name: sender_field("card")
                .or_else(|| sender_field("nickname"))
                .map(str::to_owned),
            role,
        },
        message: Message {
            id: MessageId::new(message_id),
            segments: to_segments(&raw_from_value(message)),
        },
    })
}

/// A platform event id stable across redelivery: messages by `message_id`, requests by
/// `flag`, notices by what they are about and their time.
fn event_id(kind: &EventKind, group: &str, value: &Value, time: DateTime<Utc>) -> String {
    let user = id_of(value.get("user_id")).unwrap_or_default();
    let secs = time.timestamp();
    match kind {
        EventKind::MessagePosted { message, .. } => format!("msg:{}", message.id),
        EventKind::JoinRequested { request_id, .. } => format!("request:{request_id}"),
        EventKind::MessageDeleted { message_id, .. } => format!("recall:{message_id}"),
        EventKind::MemberJoined { .. } => format!("increase:{group}:{user}:{secs}"),
        EventKind::MemberLeft { .. } => format!("decrease:{group}:{user}:{secs}"),
        other => format!("{}:{group}:{user}:{secs}", other.name()),
    }
}

#[cfg(test)]
mod tests {
    use qunzhu_core::Segment;
    use serde_json::json;

    use super::*;

    fn qq() -> ConnectorId {
        ConnectorId::new("qq")
    }

    fn event(frame: Frame) -> Event {
        match frame {
            Frame::Event(event) => *event,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn a_group_message_in_string_form_keeps_id_role_name_and_segments() {
        let frame = decode(
            &qq(),
            r#"{"time":1732330000,"self_id":10000,"post_type":"message","message_type":"group","sub_type":"normal",
               "message_id":-2147480001,"group_id":123456,"user_id":20001,"anonymous":null,
               "message":"[CQ:reply,id=77][CQ:at,qq=10000] 加薇信&#91;abc&#93;","raw_message":"…","font":0,
               "sender":{"user_id":20001,"nickname":"小王","card":"","role":"admin"}}"#,
        );
        let event = event(frame);
        assert_eq!(event.origin.group.as_str(), "123456");
        assert_eq!(event.origin.event_id.as_str(), "msg:-2147480001");
        assert_eq!(event.time.timestamp(), 1_732_330_000);
        let EventKind::MessagePosted { author, message } = event.kind else { panic!() };
        assert_eq!(author.id.as_str(), "20001");
        assert_eq!(author.name.as_deref(), Some("小王"));
        assert_eq!(author.role, Role::Admin);
        assert_eq!(message.id.as_str(), "-2147480001");
        assert_eq!(message.segments[0], Segment::Reply { message_id: "77".into() });
        assert_eq!(message.plain_text(), "@10000 加薇信[abc]");
    }

    #[test]
    fn an_invited_join_names_the_inviter_and_a_kick_names_who_kicked() {
        let join = event(decode_value(&qq(), &json!({"time": 1, "self_id": 1, "post_type": "notice",
            "notice_type": "group_increase", "sub_type": "invite", "group_id": 5, "operator_id": 7, "user_id": 8})));
        assert_eq!(join.origin.event_id.as_str(), "increase:5:8:1");
        let EventKind::MemberJoined { member, inviter, .. } = join.kind else { panic!() };
        assert_eq!((member.id.as_str(), inviter.map(|i| i.id.0)), ("8", Some("7".into())));

        let approved = event(decode_value(&qq(), &json!({"time": 1, "self_id": 1, "post_type": "notice",
            "notice_type": "group_increase", "sub_type": "approve", "group_id": 5, "operator_id": 7, "user_id": 8})));
        assert!(matches!(approved.kind, EventKind::MemberJoined { inviter: None, .. }));

        let kick = event(decode_value(&qq(), &json!({"time": 2, "self_id": 1, "post_type": "notice",
            "notice_type": "group_decrease", "sub_type": "kick", "group_id": 5, "operator_id": 7, "user_id": 8})));
        let EventKind::MemberLeft { removed_by, .. } = kick.kind else { panic!() };
        assert_eq!(removed_by.map(|m| m.id.0), Some("7".into()));
        let leave = event(decode_value(&qq(), &json!({"time": 2, "self_id": 1, "post_type": "notice",
            "notice_type": "group_decrease", "sub_type": "leave", "group_id": 5, "operator_id": 8, "user_id": 8})));
        assert!(matches!(leave.kind, EventKind::MemberLeft { removed_by: None, .. }));
    }

    #[test]
    fn join_requests_carry_flag_and_comment_and_recalls_become_deletions() {
        let request = event(decode_value(&qq(), &json!({"time": 3, "self_id": 1, "post_type": "request",
            "request_type": "group", "sub_type": "add", "group_id": 5, "user_id": 9,
            "comment": "问题：从哪里知道的\n答案：朋友", "flag": "1732330000000000"})));
        assert_eq!(request.origin.event_id.as_str(), "request:1732330000000000");
        let EventKind::JoinRequested { request_id, comment, .. } = request.kind else { panic!() };
        assert_eq!(request_id, "1732330000000000");
        assert!(comment.unwrap().contains("朋友"));
        assert_eq!(split_request_id("invite:abc"), ("invite", "abc"));
        assert_eq!(split_request_id("abc"), ("add", "abc"));

        let recall = event(decode_value(&qq(), &json!({"time": 4, "self_id": 1, "post_type": "notice",
            "notice_type": "group_recall", "group_id": 5, "user_id": 9, "operator_id": 2, "message_id": 123})));
        assert!(matches!(recall.kind, EventKind::MessageDeleted { ref message_id, .. } if message_id.as_str() == "123"));
    }

    #[test]
    fn meta_events_answers_and_noise_are_told_apart() {
        let heartbeat = decode(&qq(), r#"{"time":1,"self_id":1,"post_type":"meta_event","meta_event_type":"heartbeat","status":{"online":true,"good":true},"interval":5000}"#);
        assert_eq!(heartbeat, Frame::Meta { kind: "heartbeat".into(), good: Some(true) });
        let answer = decode(&qq(), r#"{"status":"ok","retcode":0,"data":{"message_id":1},"echo":{"n":1}}"#);
        assert!(matches!(answer, Frame::Response { ref echo, .. } if echo == r#"{"n":1}"#));
        for noise in [
            "not json",
            "[1,2]",
            r#"{"post_type":"message","message_type":"private","user_id":1,"message":"hi","message_id":1}"#,
            r#"{"post_type":"message","message_type":"group","group_id":1,"user_id":2}"#,
            r#"{"post_type":"notice","notice_type":"notify","sub_type":"poke","group_id":1,"user_id":2}"#,
            r#"{"post_type":"request","request_type":"group","sub_type":"add","group_id":1,"user_id":2}"#,
        ] {
            assert!(matches!(decode(&qq(), noise), Frame::Skipped(_)), "{noise}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = decode(&qq(), &text);
        }
    }
}
