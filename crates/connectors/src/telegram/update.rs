//! Bot API updates → [`Event`]s.
//!
//! - `message` in a group or supergroup → `message_posted`: text or caption with its
//!   entities (`text_mention` → a mention with the user's id; `url` / `text_link` → links;
//!   `@username` stays text, as its user id is unknown), `reply_to_message` → a reply
//!   segment, photos, documents, stickers, contacts and locations by kind. Service messages
//!   (`new_chat_members`, `left_chat_member`) are skipped: the `chat_member` update says the
//!   same with more (who, through which link), and taking both would count every join twice.
//! - `chat_member` → `member_joined` when the member was not in the chat and now is (the
//!   inviter: whoever added them, or the creator of the human invite link they used; the
//!   invite link's `name` is the channel code), `member_left` when they were and are not
//!   (`removed_by`: the admin who kicked or banned them). Promotions and restrictions are
//!   not membership changes and are skipped.
//! - `chat_join_request` → `join_requested`, answered by the user id; the comment is the
//!   user's bio, followed by the name of the invite link they came through, so a channel
//!   code attributes the join after approval.
//!
//! Event ids are `u<update_id>`, the same whether the update came by polling or webhook, so
//! the inbox drops a redelivered update.

use qunzhu_core::{ConnectorId, Event, EventKind, GroupId, JoinScene, Member, Message, Origin, Role, Segment};
use teloxide_core::types::{
    ChatInviteLink, ChatMemberUpdated, MessageEntityKind, MessageEntityRef, Update, UpdateKind, User,
};

/// A user as qunzhu's member: the numeric id, and first + last name.
pub fn member_of(user: &User) -> Member {
    Member { id: user.id.0.to_string().into(), name: Some(user.full_name()), role: Role::Member }
}

/// The platform event id of an update.
pub fn event_id(update: &Update) -> String {
    format!("u{}", update.id.0)
}

/// Decodes one update; `None` for updates qunzhu does not act on (private chats, channel
/// posts, promotions…).
pub fn decode(connector: &ConnectorId, update: &Update) -> Option<Event> {
    let (chat, time, kind) = match &update.kind {
        UpdateKind::Message(message) => {
            if message.new_chat_members().is_some() || message.left_chat_member().is_some() {
                return None;
            }
            let author = member_of(message.from.as_ref()?);
            let mut segments = Vec::new();
            if let Some(replied) = message.reply_to_message() {
                segments.push(Segment::Reply { message_id: replied.id.0.to_string().into() });
            }
            let text = message.text().or_else(|| message.caption()).unwrap_or_default();
            let entities = message.parse_entities().or_else(|| message.parse_caption_entities()).unwrap_or_default();
            segments.extend(text_segments(text, &entities));
            if message.photo().is_some() {
                segments.push(Segment::Image { url: None, data: None });
            }
            if let Some(document) = message.document() {
                segments.push(Segment::File { name: document.file_name.clone().unwrap_or_else(|| "file".into()) });
            }
            if message.sticker().is_some() {
                segments.push(Segment::Other { kind: "sticker".into() });
            }
            if message.video().is_some() {
                segments.push(Segment::Other { kind: "video".into() });
            }
            if let Some(contact) = message.contact() {
                let name = [contact.first_name.as_str(), contact.last_name.as_deref().unwrap_or_default()].join(" ");
                segments.push(Segment::Card { kind: "contact".into(), title: Some(name.trim().to_owned()), url: None });
            }
            if message.location().is_some() {
                segments.push(Segment::Card { kind: "location".into(), title: None, url: None });
            }
            let kind = EventKind::MessagePosted {
                author,
                message: Message { id: message.id.0.to_string().into(), segments },
            };
            (&message.chat, message.date, kind)
        }
        UpdateKind::ChatMember(change) => (&change.chat, change.date, membership(change)?),
        UpdateKind::ChatJoinRequest(request) => {
            let code = request.invite_link.as_ref().and_then(link_code);
            let comment = [request.bio.as_deref(), code.as_deref()]
                .into_iter()
                .flatten()
                .filter(|part| !part.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            let kind = EventKind::JoinRequested {
                member: member_of(&request.from),
                request_id: request.from.id.0.to_string(),
                comment: Some(comment).filter(|c| !c.is_empty()),
            };
            (&request.chat, request.date, kind)
        }
        _ => return None,
    };
    if !(chat.is_group() || chat.is_supergroup()) {
        return None;
    }
    Some(Event {
        origin: Origin {
            connector: connector.clone(),
            group: GroupId::new(chat.id.0.to_string()),
            event_id: event_id(update).into(),
        },
        group_name: chat.title().map(str::to_owned),
        time,
        kind,
    })
}

/// The channel code an invite link stands for: its name, when qunzhu (or an operator) gave it one.
fn link_code(link: &ChatInviteLink) -> Option<String> {
    link.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned)
}

fn membership(change: &ChatMemberUpdated) -> Option<EventKind> {
    let user = &change.new_chat_member.user;
    let (was, is) = (change.old_chat_member.kind.is_present(), change.new_chat_member.kind.is_present());
    let by_someone_else = change.from.id != user.id;
    match (was, is) {
        (false, true) => {
            let link = change.invite_link.as_ref();
            let inviter = if by_someone_else && !change.via_join_request {
                Some(member_of(&change.from))
            } else {
                link.map(|l| &l.creator).filter(|creator| !creator.is_bot && creator.id != user.id).map(member_of)
            };
            let join_scene = if change.via_join_request {
                Some(JoinScene::JoinRequest)
            } else if link.is_some() {
                Some(JoinScene::InviteLink)
            } else if by_someone_else {
                Some(JoinScene::Invited)
            } else {
                None
            };
            Some(EventKind::MemberJoined { member: member_of(user), inviter, invite_code: link.and_then(link_code), join_scene })
        }
        (true, false) => Some(EventKind::MemberLeft {
            member: member_of(user),
            removed_by: by_someone_else.then(|| member_of(&change.from)),
        }),
        _ => None,
    }
}

/// Text with its entities as segments: mentions of users without a username and links
/// become their own segments, the rest stays text.
fn text_segments(text: &str, entities: &[MessageEntityRef<'_>]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut at = 0;
    let push_text = |segments: &mut Vec<Segment>, piece: &str| {
        if piece.is_empty() {
            return;
        }
        if let Some(Segment::Text { text }) = segments.last_mut() {
            text.push_str(piece);
        } else {
            segments.push(Segment::text(piece));
        }
    };
    let mut sorted: Vec<&MessageEntityRef<'_>> = entities.iter().collect();
    sorted.sort_by_key(|e| e.start());
    for entity in sorted {
        let special = match entity.kind() {
            MessageEntityKind::TextMention { user } => {
                Some(vec![Segment::Mention { member: user.id.0.to_string().into(), name: Some(entity.text().to_owned()) }])
            }
            MessageEntityKind::Url => Some(vec![Segment::Link { url: entity.text().to_owned() }]),
            MessageEntityKind::TextLink { url } => {
                Some(vec![Segment::text(entity.text()), Segment::Link { url: url.to_string() }])
            }
            _ => None,
        };
        let Some(special) = special else { continue };
        if entity.start() < at {
            continue;
        }
        push_text(&mut segments, text.get(at..entity.start()).unwrap_or_default());
        for segment in special {
            match segment {
                Segment::Text { text } => push_text(&mut segments, &text),
                other => segments.push(other),
            }
        }
        at = entity.end();
    }
    push_text(&mut segments, text.get(at..).unwrap_or_default());
    segments
}
