//! Content library items (素材库) as messages: the one place that turns an item into message
//! segments, and the checks an item must pass before it is stored.
//!
//! For rules that send library items (auto-replies now; welcomes and schedules later):
//! fetch the item with `cx.store.content_get(id)` and call [`render`] with what you know
//! about the moment in a [`Fill`] — the member being answered or greeted (`{name}` becomes a
//! real mention of them, or nothing when there is none, e.g. a scheduled post), the group's
//! name and its rules. A text item is an operator template ([`template_text`]) with
//! [`PLACEHOLDERS`]; an image becomes an image segment (its caption, a template too, follows
//! it); a link becomes its title and the URL. Decide what to do about a missing item (it
//! may have been deleted after the rulebook named it) in the rule: the auto-reply tells the
//! group's staff.

use base64::Engine as _;
use qunzhu_core::content::{ContentBody, ContentDraft};
use qunzhu_core::{Member, Segment};

use crate::problems::Problem;
use crate::rules::template_text;

/// Placeholders a text item (or an image caption) may use.
pub const PLACEHOLDERS: &[&str] = &["name", "group", "rules"];

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest text (or caption), in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Largest inline image, in bytes (decoded).
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;
/// Most tags on one item, and longest tag in characters.
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 32;

/// What the placeholders of an item become at this moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fill<'a> {
    /// `{name}`: a real mention of this member (empty when there is none).
    pub member: Option<&'a Member>,
    /// `{group}`: the group's name.
    pub group: &'a str,
    /// `{rules}`: the template's `rules_text`.
    pub rules: &'a str,
}

impl Fill<'_> {
    /// Segments for one placeholder.
    pub fn placeholder(&self, name: &str) -> Vec<Segment> {
        match name {
            "name" => self
                .member
                .map(|m| vec![Segment::Mention { member: m.id.clone(), name: Some(m.display_name().to_owned()) }])
                .unwrap_or_default(),
            "group" => vec![Segment::text(self.group)],
            "rules" => vec![Segment::text(self.rules)],
            _ => Vec::new(),
        }
    }
}

/// An item as message segments.
pub fn render(body: &ContentBody, fill: &Fill<'_>) -> Vec<Segment> {
    let text = |t: &str| template_text::render(t, PLACEHOLDERS, |name| fill.placeholder(name));
    match body {
        ContentBody::Text { text: t } => text(t),
        ContentBody::Image { url, data, caption } => {
            let mut segments = vec![Segment::Image { url: url.clone(), data: data.clone() }];
            if let Some(caption) = caption.as_deref().filter(|c| !c.trim().is_empty()) {
                segments.extend(text(&format!("\n{caption}")));
            }
            segments
        }
        ContentBody::Link { url, title } => vec![Segment::text(format!("{title}\n")), Segment::Link { url: url.clone() }],
    }
}

/// Every problem with an item to store, each at its key path in the API's JSON
/// (`title`, `body.text`, `body.url`, `tags[2]`…), in English for operators.
pub fn validate(draft: &ContentDraft) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_line(&mut problems, &["title"], &draft.title, MAX_TITLE_CHARS, "title");
    match &draft.body {
        ContentBody::Text { text } => check_text(&mut problems, &["body", "text"], text, true),
        ContentBody::Image { url, data, caption } => {
            match (url, data) {
                (Some(_), Some(_)) => problems.push(Problem::at(&["body"], "an image has either `url` or `data` (base64), not both")),
                (None, None) => problems.push(Problem::at(&["body"], "an image needs `url` (https://…) or `data` (the image as base64)")),
                (Some(url), None) => check_url(&mut problems, &["body", "url"], url),
                (None, Some(data)) => check_image_data(&mut problems, data),
            }
            if let Some(caption) = caption {
                check_text(&mut problems, &["body", "caption"], caption, false);
            }
        }
        ContentBody::Link { url, title } => {
            check_url(&mut problems, &["body", "url"], url);
            check_line(&mut problems, &["body", "title"], title, MAX_TITLE_CHARS, "link title");
        }
    }
    if draft.tags.len() > MAX_TAGS {
        problems.push(Problem::at(&["tags"], format!("at most {MAX_TAGS} tags; this item has {}", draft.tags.len())));
    }
    for (i, tag) in draft.tags.iter().enumerate() {
        let index = format!("[{i}]");
        let path = ["tags", index.as_str()];
        if tag.trim().is_empty() {
            problems.push(Problem::at(&path, "a tag cannot be empty"));
        } else {
            check_line(&mut problems, &path, tag, MAX_TAG_CHARS, "tag");
        }
    }
    problems
}

fn check_line(problems: &mut Vec<Problem>, path: &[&str], value: &str, max: usize, what: &str) {
    if value.trim().is_empty() {
        problems.push(Problem::at(path, format!("the {what} cannot be empty")));
    } else if value.chars().count() > max {
        problems.push(Problem::at(path, format!("the {what} is longer than {max} characters")));
    } else if value.chars().any(char::is_control) {
        problems.push(Problem::at(path, format!("the {what} cannot contain control characters (line breaks, tabs, NUL)")));
    }
}

fn check_text(problems: &mut Vec<Problem>, path: &[&str], text: &str, required: bool) {
    if required && text.trim().is_empty() {
        problems.push(Problem::at(path, "the text cannot be empty"));
        return;
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        problems.push(Problem::at(path, format!("the text is longer than {MAX_TEXT_CHARS} characters")));
    }
    if let Err(message) = template_text::check(text, PLACEHOLDERS) {
        problems.push(Problem::at(path, message));
    }
}

fn check_url(problems: &mut Vec<Problem>, path: &[&str], url: &str) {
    let lower = url.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        None => problems.push(Problem::at(path, format!("`{url}` is not a web address; write it with https:// (or http://)"))),
        Some("") => problems.push(Problem::at(path, format!("`{url}` has no host name"))),
        Some(_) if url.chars().any(char::is_whitespace) => {
            problems.push(Problem::at(path, "a web address cannot contain spaces; encode them as %20"));
        }
        Some(_) => {}
    }
}

fn check_image_data(problems: &mut Vec<Problem>, data: &str) {
    let path = ["body", "data"];
    match base64::engine::general_purpose::STANDARD.decode(data.trim()) {
        Err(error) => problems.push(Problem::at(&path, format!("not valid base64 ({error}); send the image file's bytes base64-encoded"))),
        Ok(bytes) if bytes.is_empty() => problems.push(Problem::at(&path, "the image is empty")),
        Ok(bytes) if bytes.len() > MAX_IMAGE_BYTES => problems.push(Problem::at(
            &path,
            format!("the image is {} KiB; inline images are at most {} KiB — host it and use `url`", bytes.len() / 1024, MAX_IMAGE_BYTES / 1024),
        )),
        Ok(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn draft(body: ContentBody) -> ContentDraft {
        ContentDraft { title: "退货说明".into(), body, tags: vec!["faq".into()], by: "api".into(), at: Utc::now() }
    }

    #[test]
    fn a_text_item_renders_its_placeholders_with_a_real_mention() {
        let member = Member::new("u1", "小王");
        let body = ContentBody::Text { text: "{name} 请看「{group}」群规：{rules}".into() };
        let segments = render(&body, &Fill { member: Some(&member), group: "粉丝群", rules: "友善" });
        assert_eq!(
            segments,
            vec![
                Segment::Mention { member: "u1".into(), name: Some("小王".into()) },
                Segment::text(" 请看「粉丝群」群规：友善"),
            ]
        );
        let without_member = render(&body, &Fill { member: None, group: "g", rules: "r" });
        assert_eq!(without_member, vec![Segment::text(" 请看「g」群规：r")]);
    }

    #[test]
    fn images_keep_their_source_and_links_show_their_title() {
        let image = ContentBody::Image { url: Some("https://cdn.example/a.png".into()), data: None, caption: Some("扫码加入".into()) };
        assert_eq!(
            render(&image, &Fill::default()),
            vec![Segment::Image { url: Some("https://cdn.example/a.png".into()), data: None }, Segment::text("\n扫码加入")]
        );
        let link = ContentBody::Link { url: "https://shop.example/r".into(), title: "退货流程".into() };
        assert_eq!(render(&link, &Fill::default()), vec![Segment::text("退货流程\n"), Segment::Link { url: "https://shop.example/r".into() }]);
    }

    #[test]
    fn bad_items_are_refused_with_every_problem_at_its_path() {
        assert!(validate(&draft(ContentBody::Text { text: "{name} 您好".into() })).is_empty());
        let mut bad = draft(ContentBody::Text { text: "{nmae}".into() });
        bad.title = " ".into();
        bad.tags = vec!["ok".into(), String::new()];
        let problems: Vec<String> = validate(&bad).iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("title: the title cannot be empty"), "{problems:#?}");
        assert!(problems[1].starts_with("body.text: unknown placeholder `{nmae}`"), "{problems:#?}");
        assert!(problems[2].starts_with("tags[1]: a tag cannot be empty"), "{problems:#?}");

        let both = draft(ContentBody::Image { url: Some("https://a.cn/x.png".into()), data: Some("aGk=".into()), caption: None });
        assert_eq!(validate(&both)[0].dotted_path(), "body");
        let not_base64 = draft(ContentBody::Image { url: None, data: Some("***".into()), caption: None });
        assert!(validate(&not_base64)[0].message.contains("not valid base64"));
        let ftp = draft(ContentBody::Link { url: "ftp://x".into(), title: "t".into() });
        assert_eq!(validate(&ftp)[0].dotted_path(), "body.url");
        let nul_title = ContentDraft { title: "a\0b".into(), ..draft(ContentBody::Text { text: "x".into() }) };
        assert!(validate(&nul_title)[0].message.contains("control characters"));
    }
}
