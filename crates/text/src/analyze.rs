//! One call that runs every text stage on a message: fold once, match once, detect once.

use serde::{Deserialize, Serialize};

use crate::detect::{Detections, detect};
use crate::lexicon::{LexiconHit, LexiconMatcher, has_contact_token};
use crate::normalize::{Folded, fold_with};

/// Everything the text stages found in one message; the moderation rules score it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextReport {
    pub folded: Folded,
    pub lexicon_hits: Vec<LexiconHit>,
    pub detections: Detections,
}

impl TextReport {
    /// Whether the message carries a lexicon word or a contact id (phone, WeChat, QQ).
    pub fn is_suspicious(&self) -> bool {
        !self.lexicon_hits.is_empty() || self.detections.has_contact()
    }
}

/// Folds `text`, matches `matcher` over every form and runs the detectors. The pinyin form
/// is only computed (and `folded.pinyin` only filled) when the text carries a contact-like
/// token, the one case where the matcher counts pinyin as evidence.
pub fn analyze(text: &str, matcher: &LexiconMatcher) -> TextReport {
    let folded = fold_with(text, has_contact_token);
    let lexicon_hits = matcher.find(&folded);
    let detections = detect(&folded);
    TextReport {
        folded,
        lexicon_hits,
        detections,
    }
}
