//! OneBot v11 messages ⇄ qunzhu segments.
//!
//! A OneBot message is either a string with CQ codes (`你好[CQ:at,qq=123]`) or an array of
//! segments (`[{"type":"text","data":{"text":"你好"}}, …]`). Both decode to [`RawSegment`]s
//! and from there to [`Segment`]s. Escaping follows the spec exactly: in text `&`→`&amp;`,
//! `[`→`&#91;`, `]`→`&#93;`; inside CQ-code parameters also `,`→`&#44;`.

use std::collections::BTreeMap;

use qunzhu_core::{MemberId, MessageId, Segment};
use serde_json::{Map, Value, json};

/// One OneBot segment: its `type` and its `data`, every value as a string (the string form
/// cannot tell `123` from `"123"`, so neither do we).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSegment {
    pub kind: String,
    pub data: BTreeMap<String, String>,
}

impl RawSegment {
    pub fn new<'a>(kind: &str, data: impl IntoIterator<Item = (&'a str, String)>) -> Self {
        Self {
            kind: kind.to_owned(),
            data: data.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }

    pub fn text(text: impl Into<String>) -> Self {
        Self::new("text", [("text", text.into())])
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The array form: `{"type": …, "data": {…}}`.
    pub fn to_json(&self) -> Value {
        let data: Map<String, Value> = self
            .data
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        json!({"type": self.kind, "data": data})
    }
}

/// Escapes plain text for a CQ-code string.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a CQ-code parameter value (text escaping plus `,`).
pub fn escape_param(value: &str) -> String {
    escape_text(value).replace(',', "&#44;")
}

/// Undoes [`escape_text`] and [`escape_param`]; unknown entities stay as they are.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let mut matched = false;
        for (entity, c) in [("&amp;", '&'), ("&#91;", '['), ("&#93;", ']'), ("&#44;", ',')] {
            if let Some(after) = rest.strip_prefix(entity) {
                out.push(c);
                rest = after;
                matched = true;
                break;
            }
        }
        if !matched {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Parses a CQ-code string. Never fails: a `[` that does not open a well-formed CQ code is
/// kept as text, the way implementations treat it.
pub fn parse_cq(source: &str) -> Vec<RawSegment> {
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut rest = source;
    while let Some(start) = rest.find("[CQ:") {
        let Some(len) = rest[start..].find(']') else {
            break;
        };
        text.push_str(&rest[..start]);
        let body = &rest[start + 4..start + len];
        rest = &rest[start + len + 1..];
        let mut parts = body.split(',');
        let kind = parts.next().unwrap_or_default().trim();
        if kind.is_empty() {
            text.push_str(&format!("[CQ:{body}]"));
            continue;
        }
        if !text.is_empty() {
            segments.push(RawSegment::text(unescape(&std::mem::take(&mut text))));
        }
        let data = parts
            .filter_map(|part| {
                let (key, value) = part.split_once('=')?;
                Some((key.trim().to_owned(), unescape(value)))
            })
            .collect();
        segments.push(RawSegment {
            kind: kind.to_owned(),
            data,
        });
    }
    text.push_str(rest);
    if !text.is_empty() {
        segments.push(RawSegment::text(unescape(&text)));
    }
    segments
}

/// Writes segments as a CQ-code string.
pub fn to_cq(segments: &[RawSegment]) -> String {
    let mut out = String::new();
    for segment in segments {
        if segment.kind == "text" {
            out.push_str(&escape_text(segment.get("text").unwrap_or_default()));
            continue;
        }
        out.push_str("[CQ:");
        out.push_str(&segment.kind);
        for (key, value) in &segment.data {
            out.push(',');
            out.push_str(key);
            out.push('=');
            out.push_str(&escape_param(value));
        }
        out.push(']');
    }
    out
}

/// A OneBot `message` field (string or array) as raw segments; anything else is empty.
pub fn raw_from_value(value: &Value) -> Vec<RawSegment> {
    match value {
        Value::String(text) => parse_cq(text),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let kind = item.get("type")?.as_str()?.to_owned();
                let data = item
                    .get("data")
                    .and_then(Value::as_object)
                    .map(|data| {
                        data.iter()
                            .map(|(k, v)| {
                                let v = match v {
                                    Value::String(s) => s.clone(),
                                    Value::Null => String::new(),
                                    other => other.to_string(),
                                };
                                (k.clone(), v)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Some(RawSegment { kind, data })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Raw segments as qunzhu segments. Cards keep a title and the first link found in them
/// (moderation reads those); kinds qunzhu has no use for are kept as `Other`.
pub fn to_segments(raw: &[RawSegment]) -> Vec<Segment> {
    raw.iter()
        .filter_map(|segment| {
            Some(match segment.kind.as_str() {
                "text" => Segment::text(segment.get("text")?),
                "at" => match segment.get("qq")? {
                    "all" => Segment::MentionAll,
                    qq => Segment::Mention {
                        member: MemberId::new(qq),
                        name: segment.get("name").map(str::to_owned),
                    },
                },
                "reply" => Segment::Reply {
                    message_id: MessageId::new(segment.get("id")?),
                },
                "image" => Segment::Image {
                    url: segment
                        .get("url")
                        .or_else(|| segment.get("file").filter(|f| f.contains("://")))
                        .filter(|u| !u.starts_with("base64://"))
                        .map(str::to_owned),
                    data: segment
                        .get("file")
                        .and_then(|f| f.strip_prefix("base64://"))
                        .map(str::to_owned),
                },
                "share" => Segment::Card {
                    kind: "share".into(),
                    title: segment.get("title").map(str::to_owned),
                    url: segment.get("url").map(str::to_owned),
                },
                "json" | "xml" => {
                    let body = segment.get("data").unwrap_or_default();
                    Segment::Card {
                        kind: segment.kind.clone(),
                        title: card_title(body),
                        url: first_url(body),
                    }
                }
                "contact" | "location" | "music" | "redbag" => Segment::Card {
                    kind: segment.kind.clone(),
                    title: segment.get("title").map(str::to_owned),
                    url: segment.get("url").map(str::to_owned),
                },
                "file" => Segment::File {
                    name: segment
                        .get("name")
                        .or_else(|| segment.get("file"))
                        .unwrap_or("file")
                        .to_owned(),
                },
                other => Segment::Other {
                    kind: other.to_owned(),
                },
            })
        })
        .collect()
}

/// The `prompt` of a JSON card (what QQ shows in the chat list), else its `title`.
fn card_title(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    value
        .get("prompt")
        .or_else(|| value.pointer("/meta/detail_1/desc"))
        .or_else(|| value.get("title"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The first link in a card: a JSON string value that is a URL, else one in the text (XML).
fn first_url(body: &str) -> Option<String> {
    fn in_value(value: &Value) -> Option<String> {
        match value {
            Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => Some(s.clone()),
            Value::Array(items) => items.iter().find_map(in_value),
            Value::Object(map) => map.values().find_map(in_value),
            _ => None,
        }
    }
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        return in_value(&value);
    }
    let start = body.find("http://").or_else(|| body.find("https://"))?;
    Some(
        body[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '<' | '>' | ','))
            .collect(),
    )
}

/// qunzhu segments as raw OneBot segments for sending. Links and cards go out as text (a
/// bot cannot forge cards); `Other` has nothing to send.
pub fn from_segments(segments: &[Segment]) -> Vec<RawSegment> {
    let mut out: Vec<RawSegment> = Vec::new();
    let push_text = |out: &mut Vec<RawSegment>, text: &str| {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.kind == "text" => {
                last.data.entry("text".into()).or_default().push_str(text)
            }
            _ => out.push(RawSegment::text(text)),
        }
    };
    for segment in segments {
        match segment {
            Segment::Text { text } => push_text(&mut out, text),
            Segment::Mention { member, .. } => {
                out.push(RawSegment::new("at", [("qq", member.to_string())]))
            }
            Segment::MentionAll => out.push(RawSegment::new("at", [("qq", "all".to_owned())])),
            Segment::Image { url, data } => {
                let file = match (data, url) {
                    (Some(data), _) => format!("base64://{data}"),
                    (None, Some(url)) => url.clone(),
                    (None, None) => continue,
                };
                out.push(RawSegment::new("image", [("file", file)]));
            }
            Segment::Link { url } => push_text(&mut out, url),
            Segment::Card { title, url, .. } => {
                let text = [title.as_deref(), url.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                push_text(&mut out, &text);
            }
            Segment::Reply { message_id } => {
                out.insert(0, RawSegment::new("reply", [("id", message_id.to_string())]))
            }
            Segment::File { name } => push_text(&mut out, name),
            Segment::Other { .. } => {}
        }
    }
    out
}

/// The array form of a message, ready for `send_group_msg`.
pub fn to_array(segments: &[RawSegment]) -> Value {
    Value::Array(segments.iter().map(RawSegment::to_json).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_escaping_is_exactly_the_spec_and_params_also_escape_commas() {
        assert_eq!(escape_text("a&b[c]d,e"), "a&amp;b&#91;c&#93;d,e");
        assert_eq!(escape_param("a&b[c]d,e"), "a&amp;b&#91;c&#93;d&#44;e");
        assert_eq!(unescape("a&amp;b&#91;c&#93;d&#44;e&lt;"), "a&b[c]d,e&lt;");
        // Unescaping once only: `&amp;#91;` is the text `&#91;`.
        assert_eq!(unescape("&amp;#91;"), "&#91;");
    }

    #[test]
    fn a_cq_string_with_at_reply_and_face_parses_into_segments() {
        let raw = parse_cq("[CQ:reply,id=-123][CQ:at,qq=10001] 你好&#91;1&#93; [CQ:face,id=14]");
        assert_eq!(
            raw,
            vec![
                RawSegment::new("reply", [("id", "-123".to_owned())]),
                RawSegment::new("at", [("qq", "10001".to_owned())]),
                RawSegment::text(" 你好[1] "),
                RawSegment::new("face", [("id", "14".to_owned())]),
            ]
        );
        let segments = to_segments(&raw);
        assert_eq!(segments[0], Segment::Reply { message_id: "-123".into() });
        assert_eq!(segments[1], Segment::Mention { member: "10001".into(), name: None });
        assert_eq!(segments[3], Segment::Other { kind: "face".into() });
    }

    #[test]
    fn params_with_commas_and_brackets_round_trip_through_the_string_form() {
        let raw = vec![
            RawSegment::text("a[b]&c,"),
            RawSegment::new(
                "share",
                [
                    ("url", "https://x.cn/?a=1,b=[2]&c".to_owned()),
                    ("title", "标题,含逗号".to_owned()),
                ],
            ),
        ];
        let text = to_cq(&raw);
        assert_eq!(
            text,
            "a&#91;b&#93;&amp;c,[CQ:share,title=标题&#44;含逗号,url=https://x.cn/?a=1&#44;b=&#91;2&#93;&amp;c]"
        );
        assert_eq!(parse_cq(&text), raw);
    }

    #[test]
    fn array_messages_accept_numbers_and_at_all() {
        let value = json!([
            {"type": "at", "data": {"qq": 12345}},
            {"type": "at", "data": {"qq": "all"}},
            {"type": "text", "data": {"text": " hi"}},
            {"type": "image", "data": {"file": "abc.image", "url": "https://gchat.qpic.cn/x"}}
        ]);
        let segments = to_segments(&raw_from_value(&value));
        assert_eq!(
            segments,
            vec![
                Segment::Mention { member: "12345".into(), name: None },
                Segment::MentionAll,
                Segment::text(" hi"),
                Segment::Image { url: Some("https://gchat.qpic.cn/x".into()), data: None },
            ]
        );
    }

    #[test]
    fn json_cards_keep_their_prompt_and_first_link() {
        let card = r#"{"app":"com.tencent.miniapp","prompt":"[QQ小程序]兼职","meta":{"detail_1":{"qqdocurl":"https:\/\/m.q.qq.com\/a\/s\/x"}}}"#;
        let raw = parse_cq(&format!("[CQ:json,data={}]", escape_param(card)));
        assert_eq!(
            to_segments(&raw),
            vec![Segment::Card {
                kind: "json".into(),
                title: Some("[QQ小程序]兼职".into()),
                url: Some("https://m.q.qq.com/a/s/x".into()),
            }]
        );
    }

    #[test]
    fn outgoing_segments_put_the_reply_first_and_merge_text() {
        let raw = from_segments(&[
            Segment::Mention { member: "42".into(), name: Some("小王".into()) },
            Segment::text(" 欢迎"),
            Segment::Link { url: "https://a.cn".into() },
            Segment::Reply { message_id: "7".into() },
        ]);
        assert_eq!(
            to_array(&raw),
            json!([
                {"type": "reply", "data": {"id": "7"}},
                {"type": "at", "data": {"qq": "42"}},
                {"type": "text", "data": {"text": " 欢迎https://a.cn"}},
            ])
        );
    }

    #[test]
    fn an_unclosed_or_empty_cq_code_stays_text() {
        assert_eq!(parse_cq("a[CQ:at,qq=1"), vec![RawSegment::text("a[CQ:at,qq=1")]);
        assert_eq!(parse_cq("[CQ:]x"), vec![RawSegment::text("[CQ:]x")]);
    }

    fn raw_segment() -> impl Strategy<Value = RawSegment> {
        prop_oneof![
            "\\PC{1,12}".prop_map(RawSegment::text),
            ("[a-z]{1,6}", proptest::collection::btree_map("[a-z]{1,4}", "\\PC{0,10}", 0..3))
                .prop_filter("not text", |(k, _)| k != "text")
                .prop_map(|(kind, data)| RawSegment { kind, data }),
        ]
    }

    /// Adjacent text segments merge when written as a string; compare after merging.
    fn merged(raw: Vec<RawSegment>) -> Vec<RawSegment> {
        let mut out: Vec<RawSegment> = Vec::new();
        for segment in raw {
            match (out.last_mut(), segment.kind.as_str()) {
                (Some(last), "text") if last.kind == "text" => {
                    let add = segment.data.get("text").cloned().unwrap_or_default();
                    last.data.entry("text".into()).or_default().push_str(&add);
                }
                _ => out.push(segment),
            }
        }
        out
    }

    proptest! {
        #[test]
        fn decoding_never_panics(source in "\\PC{0,80}") {
            let raw = parse_cq(&source);
            let _ = to_segments(&raw);
            let _ = raw_from_value(&Value::String(source));
        }

        #[test]
        fn escape_then_unescape_is_the_identity(text in "\\PC{0,40}") {
            prop_assert_eq!(unescape(&escape_text(&text)), text.clone());
            prop_assert_eq!(unescape(&escape_param(&text)), text);
        }

        #[test]
        fn string_form_round_trips(raw in proptest::collection::vec(raw_segment(), 0..6)) {
            let expected = merged(raw.clone());
            prop_assert_eq!(parse_cq(&to_cq(&raw)), expected);
        }
    }
}
