//! `m.room.message` content ⇄ qunzhu segments.
//!
//! In: the HTML `formatted_body` when there is one (pills — `<a href="https://matrix.to/#/@u:s">`
//! — become mentions, the `<mx-reply>` fallback is dropped), else the plain `body` (its `> `
//! reply fallback dropped); users in `m.mentions.user_ids` that no pill named are added as
//! mentions; `m.relates_to.m.in_reply_to` becomes a leading [`Segment::Reply`].
//! Out: a plain `body` and an HTML `formatted_body` with a pill per mention, and
//! `m.mentions.user_ids` listing them, so clients notify the member.

use qunzhu_core::{MemberId, MessageId, Segment};
use serde_json::{Map, Value, json};

const PILL_PREFIX: &str = "https://matrix.to/#/";

/// Segments of one message's content.
pub fn segments_of(content: &Value) -> Vec<Segment> {
    let mut segments = Vec::new();
    let reply_to = content
        .pointer("/m.relates_to/m.in_reply_to/event_id")
        .and_then(Value::as_str);
    if let Some(event_id) = reply_to {
        segments.push(Segment::Reply { message_id: MessageId::from(event_id) });
    }
    let text = |key: &str| content.get(key).and_then(Value::as_str).unwrap_or_default();
    match text("msgtype") {
        "m.text" | "m.notice" | "m.emote" | "" => {
            let html = (text("format") == "org.matrix.custom.html")
                .then(|| content.get("formatted_body").and_then(Value::as_str))
                .flatten();
            match html {
                Some(html) => segments.extend(from_html(html)),
                None => {
                    let body = text("body");
                    let body = if reply_to.is_some() { strip_reply_fallback(body) } else { body };
                    if !body.is_empty() {
                        segments.push(Segment::text(body));
                    }
                }
            }
        }
        "m.image" => segments.push(Segment::Image {
            url: content.get("url").and_then(Value::as_str).map(str::to_owned),
            data: None,
        }),
        "m.file" | "m.audio" | "m.video" => segments.push(Segment::File { name: text("body").to_owned() }),
        "m.location" => segments.push(Segment::Card {
            kind: "location".into(),
            title: Some(text("body").to_owned()),
            url: content.get("geo_uri").and_then(Value::as_str).map(str::to_owned),
        }),
        other => segments.push(Segment::Other { kind: other.to_owned() }),
    }
    let named: Vec<MemberId> = segments
        .iter()
        .filter_map(|s| match s {
            Segment::Mention { member, .. } => Some(member.clone()),
            _ => None,
        })
        .collect();
    if let Some(users) = content.pointer("/m.mentions/user_ids").and_then(Value::as_array) {
        for user in users.iter().filter_map(Value::as_str) {
            if !named.iter().any(|m| m.as_str() == user) {
                segments.push(Segment::Mention { member: MemberId::from(user), name: None });
            }
        }
    }
    if content.pointer("/m.mentions/room") == Some(&Value::Bool(true)) {
        segments.push(Segment::MentionAll);
    }
    segments
}

/// The body without the `> <@user:server> quoted` lines a reply starts with.
fn strip_reply_fallback(body: &str) -> &str {
    if !body.starts_with("> ") {
        return body;
    }
    let mut rest = body;
    while rest.starts_with('>') {
        rest = rest.split_once('\n').map_or("", |(_, after)| after);
    }
    rest.trim_start_matches('\n')
}

/// Text and pills of an HTML body; other markup is dropped, `<br>` and block ends become
/// line breaks, entities are decoded.
fn from_html(html: &str) -> Vec<Segment> {
    let html = drop_reply_fallback(html);
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut rest = html.as_str();
    while let Some(start) = rest.find('<') {
        text.push_str(&decode_entities(&rest[..start]));
        let Some(end) = rest[start..].find('>') else {
            text.push_str(&decode_entities(&rest[start..]));
            rest = "";
            break;
        };
        let tag = &rest[start + 1..start + end];
        rest = &rest[start + end + 1..];
        let name = tag.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
        match name.as_str() {
            "a" => {
                let href = attribute(tag, "href").unwrap_or_default();
                let (inner, after) = rest.split_once("</a>").unwrap_or((rest, ""));
                let target = href.strip_prefix(PILL_PREFIX).map(percent_decode);
                match target.filter(|t| t.starts_with('@')) {
                    Some(user) => {
                        if !text.is_empty() {
                            segments.push(Segment::text(std::mem::take(&mut text)));
                        }
                        let name = strip_tags(inner);
                        let name = name.trim_start_matches('@').to_owned();
                        segments.push(Segment::Mention {
                            member: MemberId::from(user.as_str()),
                            name: (!name.is_empty() && name != user.trim_start_matches('@')).then_some(name),
                        });
                    }
                    None => {
                        let shown = strip_tags(inner);
                        // A link whose text is not its address: keep the address, rules read it.
                        if href.is_empty() || shown.contains(&href) {
                            text.push_str(&shown);
                        } else {
                            text.push_str(&format!("{shown} ({href})"));
                        }
                    }
                }
                rest = after;
            }
            "br" | "br/" => text.push('\n'),
            "/p" | "/div" | "/li" | "/blockquote" | "/h1" | "/h2" | "/h3" | "/pre" if !text.ends_with('\n') => {
                text.push('\n');
            }
            _ => {}
        }
    }
    text.push_str(&decode_entities(rest));
    let trimmed = text.trim_end_matches('\n');
    if !trimmed.is_empty() {
        segments.push(Segment::text(trimmed));
    }
    segments
}

fn drop_reply_fallback(html: &str) -> String {
    match (html.find("<mx-reply>"), html.find("</mx-reply>")) {
        (Some(start), Some(end)) if end > start => {
            format!("{}{}", &html[..start], &html[end + "</mx-reply>".len()..])
        }
        _ => html.to_owned(),
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!("{name}="))? + name.len() + 1;
    let value = &tag[at..];
    let (quote, value) = match value.chars().next()? {
        q @ ('"' | '\'') => (q, &value[1..]),
        _ => (' ', value),
    };
    let end = value.find(quote).unwrap_or(value.len());
    Some(decode_entities(&value[..end]))
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    decode_entities(&out)
}

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "<br>")
}

/// The `m.room.message` content for outgoing segments. `name_of` gives a mentioned member's
/// display name when the segment carries none. A [`Segment::Reply`] (or `reply_to`) makes it
/// a reply.
pub fn content_of(segments: &[Segment], reply_to: Option<&str>, name_of: &dyn Fn(&str) -> Option<String>) -> Value {
    let mut body = String::new();
    let mut html = String::new();
    let mut users: Vec<String> = Vec::new();
    let mut room = false;
    let mut reply = reply_to.map(str::to_owned);
    for segment in segments {
        match segment {
            Segment::Text { text } => {
                body.push_str(text);
                html.push_str(&escape_html(text));
            }
            Segment::Mention { member, name } => {
                let id = member.as_str();
                let name = name.clone().or_else(|| name_of(id)).unwrap_or_else(|| id.to_owned());
                body.push_str(&name);
                html.push_str(&format!("<a href=\"{PILL_PREFIX}{}\">{}</a>", escape_html(id), escape_html(&name)));
                if !users.iter().any(|u| u == id) {
                    users.push(id.to_owned());
                }
            }
            Segment::MentionAll => {
                body.push_str("@room");
                html.push_str("@room");
                room = true;
            }
            Segment::Link { url } => {
                body.push_str(url);
                html.push_str(&format!("<a href=\"{0}\">{0}</a>", escape_html(url)));
            }
            Segment::Image { url: Some(url), .. } => {
                body.push_str(url);
                html.push_str(&escape_html(url));
            }
            Segment::Card { title, url, .. } => {
                let shown = [title.as_deref(), url.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
                body.push_str(&shown);
                html.push_str(&escape_html(&shown));
            }
            Segment::Reply { message_id } => {
                reply.get_or_insert_with(|| message_id.as_str().to_owned());
            }
            Segment::File { name } => {
                body.push_str(name);
                html.push_str(&escape_html(name));
            }
            Segment::Image { url: None, .. } | Segment::Other { .. } => {}
        }
    }
    let mut mentions = Map::new();
    mentions.insert("user_ids".into(), json!(users));
    if room {
        mentions.insert("room".into(), Value::Bool(true));
    }
    let mut content = json!({
        "msgtype": "m.text",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.mentions": mentions,
    });
    if let (Some(event_id), Some(object)) = (reply, content.as_object_mut()) {
        object.insert("m.relates_to".into(), json!({"m.in_reply_to": {"event_id": event_id}}));
    }
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pills_become_mentions_and_the_reply_fallback_is_dropped() {
        let content = json!({
            "msgtype": "m.text",
            "body": "> <@a:s> old\n\nhi Bob & co",
            "format": "org.matrix.custom.html",
            "formatted_body": "<mx-reply><blockquote>old</blockquote></mx-reply>hi <a href=\"https://matrix.to/#/%40bob%3As\">Bob</a> &amp; co",
            "m.mentions": {"user_ids": ["@bob:s", "@carol:s"]},
            "m.relates_to": {"m.in_reply_to": {"event_id": "$e1"}},
        });
        assert_eq!(
            segments_of(&content),
            vec![
                Segment::Reply { message_id: "$e1".into() },
                Segment::text("hi "),
                Segment::Mention { member: "@bob:s".into(), name: Some("Bob".into()) },
                Segment::text(" & co"),
                Segment::Mention { member: "@carol:s".into(), name: None },
            ]
        );
    }

    #[test]
    fn a_plain_reply_loses_its_quote_and_links_keep_their_address() {
        let content = json!({"msgtype": "m.text", "body": "> <@a:s> old\n> more\n\nnew text",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$e1"}}});
        assert_eq!(segments_of(&content)[1], Segment::text("new text"));
        let content = json!({"msgtype": "m.text", "body": "x", "format": "org.matrix.custom.html",
            "formatted_body": "see <a href=\"https://ad.example/x\">here</a><br>now"});
        assert_eq!(segments_of(&content), vec![Segment::text("see here (https://ad.example/x)\nnow")]);
    }

    #[test]
    fn outgoing_mentions_are_pills_listed_in_m_mentions() {
        let segments = vec![
            Segment::text("欢迎 "),
            Segment::Mention { member: "@new:localhost".into(), name: None },
            Segment::text(" <3"),
        ];
        let content = content_of(&segments, Some("$q"), &|id| (id == "@new:localhost").then(|| "小新".to_owned()));
        assert_eq!(content["body"], "欢迎 小新 <3");
        assert_eq!(content["formatted_body"], "欢迎 <a href=\"https://matrix.to/#/@new:localhost\">小新</a> &lt;3");
        assert_eq!(content["m.mentions"]["user_ids"], json!(["@new:localhost"]));
        assert_eq!(content["m.relates_to"]["m.in_reply_to"]["event_id"], "$q");
        // What goes out comes back in as the same mention.
        assert_eq!(
            segments_of(&content)[2],
            Segment::Mention { member: "@new:localhost".into(), name: Some("小新".into()) }
        );
    }
}
