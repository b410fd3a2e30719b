//! One call that runs every text stage on a message: fold once, match once, detect once.

use serde::{Deserialize, Serialize};

use crate::detect::{Detections, detect};
use crate::lexicon::{LexiconHit, LexiconMatcher};
use crate::normalize::{Folded, fold};

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

/// Folds `text`, matches `matcher` over every form and runs the detectors.
pub fn analyze(text: &str, matcher: &LexiconMatcher) -> TextReport {
    let folded = fold(text);
    let lexicon_hits = matcher.find(&folded);
    let detections = detect(&folded);
    TextReport {
        folded,
        lexicon_hits,
        detections,
    }
}
