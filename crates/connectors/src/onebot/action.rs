//! qunzhu actions → OneBot v11 calls, and OneBot answers → delivery outcomes.

use qunzhu_core::{ActionKind, DeliveryError, GroupId, MemberId, Segment};
use serde_json::{Value, json};

use super::event::split_request_id;
use super::message::{from_segments, to_array};

/// QQ's longest mute: 30 days.
pub const MAX_MUTE_SECS: u64 = 30 * 24 * 3600;
/// QQ's shortest mute: one minute.
const MIN_MUTE_SECS: u64 = 60;

/// One API call: `{"action": …, "params": …}` (the transport adds `echo`).
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub action: &'static str,
    pub params: Value,
}

/// QQ numbers are JSON numbers in the API; a non-numeric id cannot be a QQ id.
fn number(kind: &str, id: &str) -> Result<i64, DeliveryError> {
    id.trim().parse().map_err(|_| {
        DeliveryError::Permanent(format!("`{id}` is not a QQ {kind} number"))
    })
}

fn user(member: &MemberId) -> Result<i64, DeliveryError> {
    number("member", member.as_str())
}

/// Message ids are int32 in the spec, but some implementations use strings: pass numbers as
/// numbers and anything else unchanged.
fn message_id(id: &str) -> Value {
    id.parse::<i64>().map_or_else(|_| Value::String(id.to_owned()), Value::from)
}

/// The call for an action in `group`.
///
/// # Errors
/// [`DeliveryError::Permanent`] for actions OneBot v11 cannot express (the planner turns
/// those into staff tasks first; this is the backstop) and ids that are not QQ numbers.
pub fn to_call(group: &GroupId, kind: &ActionKind) -> Result<Call, DeliveryError> {
    let group_id = number("group", group.as_str())?;
    let send = |segments: Vec<Segment>| Call {
        action: "send_group_msg",
        params: json!({"group_id": group_id, "message": to_array(&from_segments(&segments)), "auto_escape": false}),
    };
    Ok(match kind {
        ActionKind::Send { segments } => send(segments.clone()),
        ActionKind::Reply { to, segments } => {
            let mut all = vec![Segment::Reply { message_id: to.clone() }];
            all.extend(segments.iter().cloned());
            send(all)
        }
        ActionKind::Delete { message_id: id } => Call {
            action: "delete_msg",
            params: json!({"message_id": message_id(id.as_str())}),
        },
        ActionKind::Mute { member, duration_secs } => Call {
            action: "set_group_ban",
            params: json!({"group_id": group_id, "user_id": user(member)?,
                           "duration": (*duration_secs).clamp(MIN_MUTE_SECS, MAX_MUTE_SECS)}),
        },
        ActionKind::Unmute { member } => Call {
            action: "set_group_ban",
            params: json!({"group_id": group_id, "user_id": user(member)?, "duration": 0}),
        },
        ActionKind::Kick { member } => Call {
            action: "set_group_kick",
            params: json!({"group_id": group_id, "user_id": user(member)?, "reject_add_request": false}),
        },
        ActionKind::Ban { member } => Call {
            action: "set_group_kick",
            params: json!({"group_id": group_id, "user_id": user(member)?, "reject_add_request": true}),
        },
        ActionKind::ApproveJoin { request_id, .. } => {
            let (sub_type, flag) = split_request_id(request_id);
            Call {
                action: "set_group_add_request",
                params: json!({"flag": flag, "sub_type": sub_type, "type": sub_type, "approve": true}),
            }
        }
        ActionKind::RejectJoin { request_id, reason, .. } => {
            let (sub_type, flag) = split_request_id(request_id);
            Call {
                action: "set_group_add_request",
                params: json!({"flag": flag, "sub_type": sub_type, "type": sub_type, "approve": false, "reason": reason}),
            }
        }
        other => {
            return Err(DeliveryError::Permanent(format!(
                "OneBot v11 has no call for `{}`",
                other.name()
            )));
        }
    })
}

/// What an answer means for delivery. `ok` and `async` are done; parameter, permission and
/// not-found failures are permanent; everything else is worth a retry.
///
/// # Errors
/// The failure, classified.
pub fn outcome(body: &Value) -> Result<(), DeliveryError> {
    let status = body.get("status").and_then(Value::as_str).unwrap_or_default();
    let retcode = body.get("retcode").and_then(Value::as_i64).unwrap_or(-1);
    if matches!(status, "ok" | "async") || retcode == 0 || retcode == 1 {
        return Ok(());
    }
    let detail = ["wording", "message", "msg"]
        .iter()
        .find_map(|key| body.get(*key).and_then(Value::as_str))
        .unwrap_or_default();
    let message = format!("OneBot answered {status} (retcode {retcode}) {detail}").trim().to_owned();
    match retcode {
        100 | 102 | 1400 | 1401 | 1403 | 1404 => Err(DeliveryError::Permanent(message)),
        _ => Err(DeliveryError::Temporary {
            message,
            retry_after_secs: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> GroupId {
        GroupId::new("123456")
    }

    #[test]
    fn a_reply_with_a_mention_becomes_send_group_msg_with_reply_then_at() {
        let call = to_call(
            &group(),
            &ActionKind::Reply {
                to: "-5".into(),
                segments: vec![
                    Segment::Mention { member: "20001".into(), name: Some("小王".into()) },
                    Segment::text(" 请勿发广告"),
                ],
            },
        )
        .unwrap();
        assert_eq!(call.action, "send_group_msg");
        assert_eq!(
            call.params,
            json!({"group_id": 123456, "auto_escape": false, "message": [
                {"type": "reply", "data": {"id": "-5"}},
                {"type": "at", "data": {"qq": "20001"}},
                {"type": "text", "data": {"text": " 请勿发广告"}},
            ]})
        );
    }

    #[test]
    fn mutes_are_clamped_to_what_qq_allows_and_unmute_is_zero() {
        let mute = |secs| to_call(&group(), &ActionKind::Mute { member: "9".into(), duration_secs: secs }).unwrap();
        assert_eq!(mute(600).params["duration"], 600);
        assert_eq!(mute(90 * 24 * 3600).params["duration"], MAX_MUTE_SECS);
        assert_eq!(mute(5).params["duration"], 60);
        let unmute = to_call(&group(), &ActionKind::Unmute { member: "9".into() }).unwrap();
        assert_eq!((unmute.action, unmute.params["duration"].clone()), ("set_group_ban", json!(0)));
    }

    #[test]
    fn a_ban_is_a_kick_that_rejects_future_requests() {
        let kick = to_call(&group(), &ActionKind::Kick { member: "9".into() }).unwrap();
        let ban = to_call(&group(), &ActionKind::Ban { member: "9".into() }).unwrap();
        assert_eq!(kick.params["reject_add_request"], false);
        assert_eq!(ban.action, "set_group_kick");
        assert_eq!(ban.params, json!({"group_id": 123456, "user_id": 9, "reject_add_request": true}));
    }

    #[test]
    fn join_answers_use_the_flag_and_sub_type_and_deletes_the_message_id() {
        let reject = to_call(
            &group(),
            &ActionKind::RejectJoin { request_id: "f1".into(), member: "9".into(), reason: "黑名单".into() },
        )
        .unwrap();
        assert_eq!(reject.action, "set_group_add_request");
        assert_eq!(reject.params["flag"], "f1");
        assert_eq!(reject.params["sub_type"], "add");
        assert_eq!(reject.params["approve"], false);
        assert_eq!(reject.params["reason"], "黑名单");
        let approve = to_call(
            &group(),
            &ActionKind::ApproveJoin { request_id: "invite:f2".into(), member: "9".into() },
        )
        .unwrap();
        assert_eq!((approve.params["flag"].clone(), approve.params["sub_type"].clone()), (json!("f2"), json!("invite")));
        let delete = to_call(&group(), &ActionKind::Delete { message_id: "-2147480001".into() }).unwrap();
        assert_eq!(delete.params, json!({"message_id": -2147480001_i64}));
    }

    #[test]
    fn what_onebot_cannot_do_and_ids_that_are_not_numbers_fail_for_good() {
        assert!(matches!(
            to_call(&group(), &ActionKind::SetAnnouncement { text: "x".into() }),
            Err(DeliveryError::Permanent(_))
        ));
        assert!(matches!(
            to_call(&GroupId::new("!room:x"), &ActionKind::Send { segments: vec![] }),
            Err(DeliveryError::Permanent(_))
        ));
        assert!(matches!(
            to_call(&group(), &ActionKind::Kick { member: "@u:x".into() }),
            Err(DeliveryError::Permanent(_))
        ));
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(outcome(&json!({"status": "ok", "retcode": 0, "data": null})), Ok(()));
        assert_eq!(outcome(&json!({"status": "async", "retcode": 1})), Ok(()));
        assert!(matches!(outcome(&json!({"status": "failed", "retcode": 102})), Err(DeliveryError::Permanent(_))));
        assert!(matches!(outcome(&json!({"status": "failed", "retcode": 103})), Err(DeliveryError::Temporary { .. })));
    }
}
