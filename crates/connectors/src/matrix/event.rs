//! Matrix timeline events (client-server JSON) → qunzhu [`Event`]s.
//!
//! The event id is the Matrix event id; the group is the room id, taken whole (room v12 ids
//! have no `:server` part, so no server is ever parsed out of one).

use chrono::{DateTime, Utc};
use qunzhu_core::{ConnectorId, Event, EventKind, GroupId, Member, MemberId, Message, MessageId, Origin, PlatformEventId, Role};
use serde_json::Value;

use super::message::segments_of;

/// Who someone is in the room, as the connector looked it up (display name, role).
pub type Lookup<'a> = &'a dyn Fn(&str) -> (Option<String>, Role);

/// One timeline event as a qunzhu event; `None` for what qunzhu does not model (state
/// changes other than membership, reactions, display-name changes…) and for the bot's own
/// events.
pub fn decode(connector: &ConnectorId, room_id: &str, raw: &Value, own_user: &str, lookup: Lookup<'_>) -> Option<Event> {
    let text = |key: &str| raw.get(key).and_then(Value::as_str);
    let event_id = text("event_id")?;
    let sender = text("sender")?;
    if sender == own_user {
        return None;
    }
    let member = |id: &str, content_name: Option<&str>| {
        let (name, role) = lookup(id);
        Member {
            id: MemberId::from(id),
            name: content_name.map(str::to_owned).or(name),
            role,
        }
    };
    let content = raw.get("content").cloned().unwrap_or(Value::Null);
    let kind = match text("type")? {
        "m.room.message" => {
            // Edits (`m.replace`) are new versions of a message, not new messages.
            if content.pointer("/m.relates_to/rel_type").and_then(Value::as_str) == Some("m.replace") {
                return None;
            }
            EventKind::MessagePosted {
                author: member(sender, None),
                message: Message { id: MessageId::from(event_id), segments: segments_of(&content) },
            }
        }
        "m.room.redaction" => {
            let redacts = content
                .get("redacts")
                .and_then(Value::as_str)
                .or_else(|| text("redacts"))?;
            EventKind::MessageDeleted {
                message_id: MessageId::from(redacts),
                deleted_by: Some(member(sender, None)),
            }
        }
        "m.room.member" => {
            let target = text("state_key")?;
            if target == own_user {
                return None;
            }
            let membership = content.get("membership").and_then(Value::as_str)?;
            let previous = raw
                .pointer("/unsigned/prev_content/membership")
                .and_then(Value::as_str)
                .unwrap_or("leave");
            let display = content.get("displayname").and_then(Value::as_str);
            match (previous, membership) {
                (before, "join") if before != "join" => EventKind::MemberJoined {
                    member: member(target, display),
                    inviter: None,
                    invite_code: None,
                    join_scene: None,
                },
                ("join", "leave" | "ban") => {
                    let previous_name = raw.pointer("/unsigned/prev_content/displayname").and_then(Value::as_str);
                    EventKind::MemberLeft {
                        member: member(target, previous_name),
                        // A self-leave has sender == state_key; anything else was done to them.
                        removed_by: (sender != target).then(|| member(sender, None)),
                    }
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    let time = raw
        .get("origin_server_ts")
        .and_then(Value::as_i64)
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .unwrap_or_else(Utc::now);
    Some(Event {
        origin: Origin {
            connector: connector.clone(),
            group: GroupId::from(room_id),
            event_id: PlatformEventId::from(event_id),
        },
        group_name: None,
        time,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lookup(id: &str) -> (Option<String>, Role) {
        match id {
            "@creator:localhost" => (Some("Creator".into()), Role::Owner),
            _ => (None, Role::Member),
        }
    }

    fn decoded(raw: Value) -> Option<EventKind> {
        decode(&ConnectorId::new("mx"), "!abcdef", &raw, "@bot:localhost", &lookup).map(|e| {
            assert_eq!(e.origin.group.as_str(), "!abcdef");
            e.kind
        })
    }

    fn member_event(sender: &str, target: &str, before: Option<&str>, after: &str) -> Value {
        let mut raw = json!({"type": "m.room.member", "event_id": "$m", "sender": sender, "state_key": target,
            "origin_server_ts": 1_700_000_000_000i64, "content": {"membership": after, "displayname": "Neo"}});
        if let Some(before) = before {
            raw["unsigned"] = json!({"prev_content": {"membership": before, "displayname": "Old"}});
        }
        raw
    }

    #[test]
    fn membership_changes_map_to_join_leave_kick_and_ban() {
        let joined = decoded(member_event("@u:localhost", "@u:localhost", None, "join")).unwrap();
        assert!(matches!(joined, EventKind::MemberJoined { ref member, .. } if member.id.as_str() == "@u:localhost" && member.name.as_deref() == Some("Neo")));
        assert!(decoded(member_event("@u:localhost", "@u:localhost", Some("invite"), "join")).is_some());
        // A display-name change is join → join: nothing happened to the membership.
        assert_eq!(decoded(member_event("@u:localhost", "@u:localhost", Some("join"), "join")), None);
        let left = decoded(member_event("@u:localhost", "@u:localhost", Some("join"), "leave")).unwrap();
        assert!(matches!(left, EventKind::MemberLeft { removed_by: None, .. }));
        let kicked = decoded(member_event("@creator:localhost", "@u:localhost", Some("join"), "leave")).unwrap();
        assert!(matches!(kicked, EventKind::MemberLeft { removed_by: Some(ref by), .. } if by.role == Role::Owner));
        let banned = decoded(member_event("@creator:localhost", "@u:localhost", Some("join"), "ban")).unwrap();
        assert!(matches!(banned, EventKind::MemberLeft { removed_by: Some(_), .. }));
        // A rejected invite is not a member leaving; the bot's own membership is not an event.
        assert_eq!(decoded(member_event("@u:localhost", "@u:localhost", Some("invite"), "leave")), None);
        assert_eq!(decoded(member_event("@bot:localhost", "@bot:localhost", None, "join")), None);
    }

    #[test]
    fn messages_and_redactions_keep_matrix_ids() {
        let raw = json!({"type": "m.room.message", "event_id": "$e1", "sender": "@creator:localhost",
            "origin_server_ts": 1_700_000_000_000i64, "content": {"msgtype": "m.text", "body": "hi"}});
        let Some(EventKind::MessagePosted { author, message }) = decoded(raw) else { panic!() };
        assert_eq!((author.role, message.id.as_str(), message.plain_text().as_str()), (Role::Owner, "$e1", "hi"));
        let raw = json!({"type": "m.room.redaction", "event_id": "$r", "sender": "@u:localhost", "redacts": "$e1", "content": {}});
        assert!(matches!(decoded(raw), Some(EventKind::MessageDeleted { ref message_id, .. }) if message_id.as_str() == "$e1"));
        let raw = json!({"type": "m.room.redaction", "event_id": "$r", "sender": "@u:localhost", "content": {"redacts": "$e2"}});
        assert!(matches!(decoded(raw), Some(EventKind::MessageDeleted { ref message_id, .. }) if message_id.as_str() == "$e2"));
        let own = json!({"type": "m.room.message", "event_id": "$e3", "sender": "@bot:localhost", "content": {"body": "x"}});
        assert_eq!(decoded(own), None);
    }
}
