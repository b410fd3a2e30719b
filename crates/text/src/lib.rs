//! Chinese-first text analysis, free of any platform or I/O.
//!
//! - [`normalize`] — the matching form of a text: NFKC (full-width → ASCII, ⑧ → 8) and
//!   lower case. Later stages (traditional → simplified, homoglyphs, numerals) grow here.
//! - [`classifier`] — the spam classifier (being written).

pub mod classifier;

use unicode_normalization::UnicodeNormalization;

/// The form of `text` that matchers compare against: NFKC-folded, lower-cased, with runs of
/// whitespace collapsed to one space and trimmed.
pub fn normalize(text: &str) -> String {
    let folded: String = text.nfkc().flat_map(char::to_lowercase).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_circled_digits_fold_to_ascii() {
        assert_eq!(normalize("加ＶＸ：①②③"), "加vx:123");
    }

    #[test]
    fn whitespace_runs_collapse() {
        assert_eq!(normalize("  大家\t\n好  "), "大家 好");
    }
}
