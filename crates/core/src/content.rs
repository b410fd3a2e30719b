//! The content library (素材库): texts, images and links with tags, kept once and used by
//! auto-replies (and later welcomes and schedules). The engine renders an item into message
//! segments (`qunzhu_engine::rules::content`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::NewAuditEntry;

/// What an item holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ContentBody {
    /// A message text; may use the placeholders `{name}` (a real mention of the member it
    /// answers or greets) and `{group}`.
    Text { text: String },
    /// An image by URL or inline (base64 `data`), with an optional caption sent with it.
    Image {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    /// A link with its title.
    Link { url: String, title: String },
}

impl ContentBody {
    /// `text`, `image` or `link`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Image { .. } => "image",
            Self::Link { .. } => "link",
        }
    }
}

/// A stored item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentItem {
    /// 1, 2, 3… in creation order; never reused.
    pub id: i64,
    /// A short name for operators (`退货说明`).
    pub title: String,
    pub body: ContentBody,
    /// Tags, sorted and without duplicates.
    pub tags: Vec<String>,
    /// Who created it.
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who changed it last.
    pub updated_by: String,
}

/// An item to create, or the new state of an item to update (the whole item is replaced).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentDraft {
    pub title: String,
    pub body: ContentBody,
    pub tags: Vec<String>,
    /// Who does it (`operator:<name>`, `api`…).
    pub by: String,
    pub at: DateTime<Utc>,
}

impl ContentDraft {
    /// The tags as stored: trimmed, empty ones dropped, sorted, deduplicated.
    pub fn clean_tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self.tags.iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
        tags.sort();
        tags.dedup();
        tags
    }

    /// The item this draft creates with the id the store assigned.
    pub fn created(&self, id: i64) -> ContentItem {
        ContentItem {
            id,
            title: self.title.clone(),
            body: self.body.clone(),
            tags: self.clean_tags(),
            author: self.by.clone(),
            created_at: self.at,
            updated_at: self.at,
            updated_by: self.by.clone(),
        }
    }

    /// `existing` with this draft applied (author and creation time stay).
    pub fn applied_to(&self, existing: &ContentItem) -> ContentItem {
        ContentItem { created_at: existing.created_at, author: existing.author.clone(), ..self.created(existing.id) }
    }
}

/// What happened to an item, for its audit row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentChange {
    Created,
    Updated,
    Deleted,
}

/// The audit row every backend writes with a change (kind `content.create` / `.update` /
/// `.delete`, actor = who, summary `素材 #<id>「<title>」（<kind>）：新建|修改|删除`).
pub fn content_audit(change: ContentChange, item: &ContentItem, by: &str, at: DateTime<Utc>) -> NewAuditEntry {
    let (kind, verb) = match change {
        ContentChange::Created => ("content.create", "新建"),
        ContentChange::Updated => ("content.update", "修改"),
        ContentChange::Deleted => ("content.delete", "删除"),
    };
    NewAuditEntry {
        time: at,
        actor: by.to_owned(),
        kind: kind.into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: None,
        summary: format!("素材 #{}「{}」（{}）：{verb}", item.id, item.title, item.body.kind()),
        detail: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_serialise_with_a_type_tag_and_refuse_unknown_fields() {
        let body = ContentBody::Link { url: "https://shop.example/returns".into(), title: "退货说明".into() };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["type"], "link");
        assert_eq!(serde_json::from_value::<ContentBody>(json).unwrap(), body);
        assert!(serde_json::from_str::<ContentBody>(r#"{"type":"text","text":"x","colour":1}"#).is_err());
    }

    #[test]
    fn tags_are_trimmed_sorted_and_deduplicated() {
        let draft = ContentDraft {
            title: "t".into(),
            body: ContentBody::Text { text: "x".into() },
            tags: vec![" 售后".into(), "faq".into(), "售后".into(), " ".into()],
            by: "api".into(),
            at: Utc::now(),
        };
        assert_eq!(draft.clean_tags(), vec!["faq", "售后"]);
    }
}
