//! Channels (渠道活码) and the join log, as the engine sees them: invite codes (made,
//! checked, found in text), the channel a join is attributed to, and the membership writes
//! committed with join, leave, join-request and message events.
//!
//! Attribution, in order: the platform's `invite_code` on the join (the bridge, the
//! sandbox, named invite links); else a known code the member wrote in their join request's
//! comment (remembered with the request); else a known code in a message they post within
//! [`LATE_CODE_WINDOW_MINS`] minutes of joining — that one is recorded after the welcome
//! (the welcome has already gone out without `{channel}`). Unknown codes are ignored
//! (logged at debug).

use chrono::Duration;
use qunzhu_core::membership::{ChannelRef, JoinRecord, LeaveReason, LeaveRecord, MembershipWrite};
use qunzhu_core::moderation::MemberRecord;
use qunzhu_core::{Event, EventKind, StateWrite, Store, StoreError};
use tracing::debug;

/// Characters of generated codes: no 0/O, 1/I/L, so a code read off a poster is typed right.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of generated codes.
pub const CODE_LEN: usize = 6;
/// Shortest and longest code an operator may give.
pub const CODE_MIN: usize = 4;
pub const CODE_MAX: usize = 16;
/// How long after joining a code in a member's message still attributes their join.
pub const LATE_CODE_WINDOW_MINS: i64 = 30;

/// A new random code of [`CODE_LEN`] characters from [`CODE_ALPHABET`].
pub fn new_code() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; CODE_LEN];
    getrandom::fill(&mut bytes)?;
    // 256 % 31 != 0: the slight bias toward the first characters is harmless for codes.
    Ok(bytes.iter().map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()])).collect())
}

/// A code as stored: trimmed, upper case; `None` unless it is [`CODE_MIN`]..=[`CODE_MAX`]
/// ASCII letters and digits.
pub fn normalize_code(code: &str) -> Option<String> {
    let code = code.trim();
    let ok = (CODE_MIN..=CODE_MAX).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then(|| code.to_ascii_uppercase())
}

/// Candidate codes in free text: each run of ASCII letters and digits of a code's length, upper-cased.
pub fn codes_in(text: &str) -> Vec<String> {
    let mut codes: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(normalize_code)
        .collect();
    codes.dedup();
    codes
}

/// A slug: lower-case ASCII letters, digits, `-` and `_`, starting with a letter, at most `max` long.
pub fn is_slug(text: &str, max: usize) -> bool {
    let mut bytes = text.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && text.len() <= max
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The built-in tiers; any other slug of up to 24 characters is a custom tier.
pub const TIERS: [&str; 3] = ["strong", "medium", "weak"];

pub fn is_tier(tier: &str) -> bool {
    TIERS.contains(&tier) || is_slug(tier, 24)
}

/// The first of `codes` that is a channel's, with that code.
async fn known_channel(store: &dyn Store, codes: &[String]) -> Result<Option<(String, ChannelRef)>, StoreError> {
    for code in codes {
        match store.channel_by_code(code).await? {
            Some(channel) => return Ok(Some((code.clone(), channel.to_ref()))),
            None => debug!(code, "an invite code no channel has; ignored"),
        }
    }
    Ok(None)
}

/// The channel of a join: its invite code, else the code remembered from the member's join request.
pub(crate) async fn join_channel(store: &dyn Store, event: &Event) -> Result<Option<ChannelRef>, StoreError> {
    let EventKind::MemberJoined { member, invite_code, .. } = &event.kind else {
        return Ok(None);
    };
    if let Some(code) = invite_code.as_deref() {
        match normalize_code(code) {
            Some(code) => {
                if let Some((_, channel)) = known_channel(store, &[code]).await? {
                    return Ok(Some(channel));
                }
            }
            None => debug!(code, "a malformed invite code; ignored"),
        }
    }
    match store.remembered_code(&event.group_key(), &member.id).await? {
        Some(code) => Ok(known_channel(store, &[code]).await?.map(|(_, channel)| channel)),
        None => Ok(None),
    }
}

/// The membership writes for an event: a join's log row, a leave's row with its tenure, a
/// code in a join request's comment, a late code in an early message.
pub(crate) async fn writes(
    store: &dyn Store,
    event: &Event,
    record: Option<&MemberRecord>,
    channel: Option<&ChannelRef>,
) -> Result<Vec<StateWrite>, StoreError> {
    let group = event.group_key();
    let id = format!("{}/{}", event.origin.connector, event.origin.event_id);
    let write = match &event.kind {
        EventKind::MemberJoined { member, inviter, join_scene, .. } => Some(MembershipWrite::Joined(JoinRecord {
            id,
            group,
            member: member.id.clone(),
            name: member.name.clone(),
            channel: channel.cloned(),
            inviter: inviter.as_ref().map(|i| i.id.clone()),
            at: event.time,
            join_scene: *join_scene,
        })),
        EventKind::MemberLeft { member, removed_by } => {
            let join = store.latest_join(&group, &member.id).await?;
            let joined_at = join.as_ref().map(|j| j.at).or(record.and_then(|r| r.joined_at)).filter(|at| *at <= event.time);
            let removed_by = removed_by.as_ref().filter(|by| by.id != member.id).map(|by| by.id.clone());
            let channel = join.and_then(|j| j.channel);
            Some(MembershipWrite::Left(LeaveRecord {
                id,
                group,
                member: member.id.clone(),
                name: member.name.clone(),
                reason: if removed_by.is_some() { LeaveReason::Removed } else { LeaveReason::Left },
                removed_by,
                joined_at,
                at: event.time,
                tenure_secs: joined_at.map(|at| (event.time - at).num_seconds()),
                channel: channel.as_ref().map(|c| c.id.clone()),
                tier: channel.map(|c| c.tier),
            }))
        }
        EventKind::JoinRequested { member, comment: Some(comment), .. } => known_channel(store, &codes_in(comment))
            .await?
            .map(|(code, _)| MembershipWrite::CodeSeen { group, member: member.id.clone(), code, at: event.time }),
        EventKind::MessagePosted { author, message } => {
            let recent = record.is_some_and(|r| {
                r.left_at.is_none()
                    && r.joined_at.is_some_and(|at| at <= event.time && event.time - at <= Duration::minutes(LATE_CODE_WINDOW_MINS))
            });
            let codes = if recent { codes_in(&message.plain_text()) } else { Vec::new() };
            if codes.is_empty() {
                None
            } else {
                let unattributed = store.latest_join(&group, &author.id).await?.is_some_and(|j| j.channel.is_none());
                match unattributed {
                    true => known_channel(store, &codes)
                        .await?
                        .map(|(_, channel)| MembershipWrite::Attributed { group, member: author.id.clone(), channel, at: event.time }),
                    false => None,
                }
            }
        }
        _ => None,
    };
    Ok(write.map(StateWrite::Membership).into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_use_only_unambiguous_characters() {
        for _ in 0..50 {
            let code = new_code().unwrap();
            assert_eq!(code.len(), CODE_LEN);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']));
        }
    }

    #[test]
    fn codes_are_found_in_chinese_text_in_any_case() {
        assert_eq!(codes_in("你好，我的渠道码是k7x2qp，谢谢"), vec!["K7X2QP".to_owned()]);
        assert_eq!(codes_in("abc 12 K7X2QP!"), vec!["K7X2QP".to_owned()], "runs shorter than a code are not codes");
        assert!(codes_in("我想入群").is_empty());
    }

    #[test]
    fn tiers_are_the_three_built_in_ones_or_a_short_slug() {
        assert!(is_tier("strong") && is_tier("vip-fans") && is_tier("old_customers"));
        assert!(!is_tier("Strong") && !is_tier("粉丝") && !is_tier("9x") && !is_tier(&"a".repeat(25)));
    }
}
