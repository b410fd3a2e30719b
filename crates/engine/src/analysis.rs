//! The per-event analysis every rule reads, computed once per event.

use qunzhu_core::{Event, EventKind};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    /// The message as plain text (empty for events without a message).
    pub text: String,
    /// The matching form of the text (see [`qunzhu_text::normalize`]).
    pub normalized: String,
}

impl Analysis {
    pub fn of(event: &Event) -> Self {
        match &event.kind {
            EventKind::MessagePosted { message, .. } => {
                let text = message.plain_text();
                let normalized = qunzhu_text::normalize(&text);
                Self { text, normalized }
            }
            EventKind::JoinRequested { comment: Some(comment), .. } => {
                Self { normalized: qunzhu_text::normalize(comment), text: comment.clone() }
            }
            _ => Self::default(),
        }
    }
}
