//! The per-event analysis every rule reads, computed once per event.

use qunzhu_core::{Event, EventKind};
use qunzhu_text::analyze::{analyze, TextReport};
use qunzhu_text::lexicon::LexiconMatcher;

#[derive(Clone, Debug, Default)]
pub struct Analysis {
    /// The message as plain text (or a join request's comment; empty otherwise).
    pub text: String,
    /// The matching form of the text (see [`qunzhu_text::normalize`]).
    pub normalized: String,
    /// Folded forms, lexicon hits and detections of the text, when there is one.
    pub report: Option<TextReport>,
}

impl Analysis {
    /// Analyses the event's text with the group's lexicon.
    pub fn of(event: &Event, matcher: &LexiconMatcher) -> Self {
        let text = match &event.kind {
            EventKind::MessagePosted { message, .. } => message.plain_text(),
            EventKind::JoinRequested { comment: Some(comment), .. } => comment.clone(),
            _ => return Self::default(),
        };
        let report = analyze(&text, matcher);
        Self { normalized: qunzhu_text::normalize(&text), text, report: Some(report) }
    }
}
