//! qunzhu segments → a Bot API message: text plus entities (offsets in UTF-16 code units).
//!
//! A mention of a numeric user id is a `text_mention` entity over the member's name (it
//! notifies them even without a username); a mention of `@username` is plain text, which
//! Telegram links itself. `@all` does not exist on Telegram and is left out. Images and
//! cards are sent as their URL (Telegram previews it).

use qunzhu_core::{MemberId, Segment};
use teloxide_core::types::{MessageEntity, MessageEntityKind, User, UserId};

/// A message ready for `sendMessage`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outgoing {
    pub text: String,
    pub entities: Vec<MessageEntity>,
    /// The message replied to (a reply segment, or the action's target).
    pub reply_to: Option<i32>,
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// A user with just an id: all `text_mention` needs.
fn user_with_id(id: u64, name: &str) -> User {
    User {
        id: UserId(id),
        is_bot: false,
        first_name: name.to_owned(),
        last_name: None,
        username: None,
        language_code: None,
        is_premium: false,
        added_to_attachment_menu: false,
    }
}

/// Builds the message; `name_of` supplies names for mentions that carry none.
pub fn outgoing(segments: &[Segment], name_of: &dyn Fn(&MemberId) -> Option<String>) -> Outgoing {
    let mut out = Outgoing::default();
    for segment in segments {
        match segment {
            Segment::Text { text } => out.text.push_str(text),
            Segment::Mention { member, name } => {
                let name = name.clone().or_else(|| name_of(member)).unwrap_or_else(|| member.to_string());
                match member.as_str().parse::<u64>() {
                    Ok(id) => {
                        let offset = utf16_len(&out.text);
                        out.text.push_str(&name);
                        out.entities.push(MessageEntity {
                            kind: MessageEntityKind::TextMention { user: user_with_id(id, &name) },
                            offset,
                            length: utf16_len(&name),
                        });
                    }
                    Err(_) => {
                        let handle = member.as_str().trim_start_matches('@');
                        out.text.push('@');
                        out.text.push_str(handle);
                    }
                }
            }
            Segment::MentionAll => {}
            Segment::Link { url } => out.text.push_str(url),
            Segment::Image { url: Some(url), .. } => {
                if !out.text.is_empty() && !out.text.ends_with('\n') {
                    out.text.push('\n');
                }
                out.text.push_str(url);
            }
            Segment::Card { title, url, .. } => {
                let parts: Vec<&str> = [title.as_deref(), url.as_deref()].into_iter().flatten().collect();
                out.text.push_str(&parts.join(" "));
            }
            Segment::Reply { message_id } => out.reply_to = message_id.as_str().parse().ok().or(out.reply_to),
            Segment::File { name } => out.text.push_str(name),
            Segment::Image { url: None, .. } | Segment::Other { .. } => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_is_a_text_mention_entity_measured_in_utf16_units() {
        let segments = vec![
            Segment::text("欢迎 😀 "),
            Segment::Mention { member: "42".into(), name: Some("小王".into()) },
            Segment::text("，"),
            Segment::Mention { member: "@bob".into(), name: None },
        ];
        let out = outgoing(&segments, &|_| None);
        assert_eq!(out.text, "欢迎 😀 小王，@bob");
        assert_eq!(out.entities.len(), 1);
        // 欢 迎 space 😀(2 units) space = 6
        assert_eq!((out.entities[0].offset, out.entities[0].length), (6, 2));
        let MessageEntityKind::TextMention { user } = &out.entities[0].kind else { panic!("not a text mention") };
        assert_eq!(user.id, UserId(42));
    }

    #[test]
    fn a_mention_without_a_name_takes_the_known_name() {
        let segments = vec![Segment::Mention { member: "7".into(), name: None }, Segment::Reply { message_id: "99".into() }];
        let out = outgoing(&segments, &|m| (m.as_str() == "7").then(|| "阿明".to_owned()));
        assert_eq!((out.text.as_str(), out.reply_to), ("阿明", Some(99)));
    }
}
