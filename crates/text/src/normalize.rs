//! Folding a message into the forms that matchers compare against.
//!
//! Posters dodge filters by writing 加薇信 for 加微信, ＋V信 ⑧⑧⑧ for 加微信 888, by putting
//! emoji between characters, by switching to traditional characters or financial numerals.
//! [`fold`] undoes those tricks once per message, producing:
//!
//! - `han`: NFKC (full-width → ASCII, ⑧ → 8), traditional → simplified, lower case, whitespace
//!   collapsed — still readable, used for evidence and for patterns that need punctuation.
//! - `compact`: `han` with everything that is not a letter or digit removed, numerals turned into
//!   digits and the common homoglyphs and homophones of contact words mapped (薇信 → 微信,
//!   扣扣 → qq, ＋ → 加).
//! - `pinyin`: toneless pinyin of `compact`, one syllable per space-separated token. 维新 and
//!   微信 share it, so it only ever counts together with other evidence.

use std::borrow::Cow;

use pinyin::ToPinyin;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A message in every form the matchers use. Built by [`fold`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folded {
    /// The text as received.
    pub original: String,
    /// NFKC + traditional → simplified + lower case, whitespace runs collapsed to one space.
    pub han: String,
    /// `han` without separators, spaces, emoji or punctuation; numerals as digits; homoglyphs
    /// and homophones of contact words mapped (薇信 → 微信, 扣扣 → qq, ＋ → 加).
    pub compact: String,
    /// Toneless pinyin of `compact`: one token per Han character, runs of ASCII letters or
    /// digits kept as one token, tokens separated by one space. Evidence only.
    pub pinyin: String,
}

/// Which form of a message a match or a detection was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// The text as received.
    Original,
    /// [`Folded::han`].
    Han,
    /// [`Folded::compact`].
    Compact,
    /// [`Folded::pinyin`].
    Pinyin,
}

impl Form {
    /// The stable snake_case name used in audit logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Han => "han",
            Self::Compact => "compact",
            Self::Pinyin => "pinyin",
        }
    }
}

impl Folded {
    /// The text of `form`.
    pub fn form(&self, form: Form) -> &str {
        match form {
            Form::Original => &self.original,
            Form::Han => &self.han,
            Form::Compact => &self.compact,
            Form::Pinyin => &self.pinyin,
        }
    }
}

/// Folds `text` into all matching forms. Pure and allocation-light; call it once per message.
pub fn fold(text: &str) -> Folded {
    fold_with(text, |_| true)
}

/// [`fold`], computing `pinyin` only when `want_pinyin(compact)` says so (it is left empty
/// otherwise): pinyin is the costliest form and only evidence in some texts.
pub fn fold_with(text: &str, want_pinyin: impl FnOnce(&str) -> bool) -> Folded {
    let han = han_form(text);
    let compact = compact_form(&han);
    let pinyin = if want_pinyin(&compact) { pinyin_form(&compact) } else { String::new() };
    Folded {
        original: text.to_owned(),
        han,
        compact,
        pinyin,
    }
}

/// NFKC, traditional → simplified, lower case, whitespace runs collapsed to one space, trimmed.
pub(crate) fn han_form(text: &str) -> String {
    let mut nfkc = String::with_capacity(text.len());
    let mut pending_space = false;
    // Enclosed ideographs (㊙ 🈲) are decoration; NFKC would turn them into letters (秘 禁)
    // that then sit between the characters of a word.
    let decomposed = text
        .split_inclusive(is_enclosed_ideograph)
        .flat_map(|piece| {
            let (body, symbol) = match piece.char_indices().last() {
                Some((i, c)) if is_enclosed_ideograph(c) => (&piece[..i], Some(c)),
                _ => (piece, None),
            };
            body.nfkc().chain(symbol)
        });
    for c in decomposed.flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            pending_space = !nfkc.is_empty();
            continue;
        }
        if pending_space {
            nfkc.push(' ');
            pending_space = false;
        }
        nfkc.push(c);
    }
    if nfkc.is_ascii() {
        nfkc
    } else {
        fast2s::convert(&nfkc)
    }
}

/// Circled and squared ideographs used as emoji (㊗ ㊙ 🈶 🈲), not the circled numerals ㊀–㊉.
fn is_enclosed_ideograph(c: char) -> bool {
    matches!(c as u32, 0x328A..=0x32B0 | 0x32C0..=0x33FF | 0x1F200..=0x1F2FF)
}

/// One letter-or-digit unit of `han` on the way to `compact`.
enum Unit<'a> {
    /// A run of ASCII letters and digits, separators between runs already dropped.
    Ascii(Cow<'a, str>),
    /// Any other character kept for matching (Han, other scripts' letters, mapped symbols).
    Char(char),
}

/// Adds an ASCII run; single letters written apart (`w x`, `q q`, `a v`) join the single
/// letters before them, so spacing out a short ASCII word changes nothing.
fn push_ascii<'a>(out: &mut Vec<Unit<'a>>, run: &'a str) {
    let single_letter = |r: &str| r.len() == 1 && r.as_bytes()[0].is_ascii_alphabetic();
    if single_letter(run) {
        if let Some(Unit::Ascii(prev)) = out.last_mut() {
            if prev.bytes().all(|b| b.is_ascii_alphabetic()) && prev.len() <= 2 {
                prev.to_mut().push_str(run);
                return;
            }
        }
    }
    out.push(Unit::Ascii(Cow::Borrowed(run)));
}

/// Symbols that stand for 加 (add me) in ads: ＋ folds to + under NFKC.
fn is_plus(c: char) -> bool {
    matches!(c, '+' | '➕' | '﹢')
}

fn units(han: &str) -> Vec<Unit<'_>> {
    let mut out = Vec::with_capacity(han.len() / 2 + 1);
    let mut ascii_start: Option<usize> = None;
    for (i, c) in han.char_indices() {
        if c.is_ascii_alphanumeric() {
            if ascii_start.is_none() {
                ascii_start = Some(i);
            }
            continue;
        }
        if let Some(start) = ascii_start.take() {
            push_ascii(&mut out, &han[start..i]);
        }
        if is_plus(c) {
            out.push(Unit::Char('加'));
        } else if let Some(d) = dingbat_digit(c) {
            out.push(Unit::Char(d));
        } else if c.is_alphanumeric() {
            out.push(Unit::Char(c));
        }
    }
    if let Some(start) = ascii_start {
        push_ascii(&mut out, &han[start..]);
    }
    out
}

/// Circled digits that NFKC leaves alone (dingbats): ❶ ➀ ➊ → 1.
fn dingbat_digit(c: char) -> Option<char> {
    let n = match c {
        '❶'..='❾' => c as u32 - '❶' as u32 + 1,
        '➀'..='➈' => c as u32 - '➀' as u32 + 1,
        '➊'..='➒' => c as u32 - '➊' as u32 + 1,
        '⓿' => 0,
        _ => return None,
    };
    char::from_digit(n, 10)
}

/// Single characters mapped in `compact`: numerals to digits, homoglyphs of 微/信/加.
fn map_char(c: char) -> char {
    match c {
        '零' | '〇' | '洞' => '0',
        '一' | '壹' | '幺' | '弌' => '1',
        '二' | '贰' | '两' | '弍' => '2',
        '三' | '叁' | '弎' => '3',
        '四' | '肆' => '4',
        '五' | '伍' => '5',
        '六' | '陆' => '6',
        '七' | '柒' => '7',
        '八' | '捌' => '8',
        '九' | '玖' => '9',
        '薇' | '威' | '危' | '徽' | '嶶' | '溦' | '徾' => '微',
        '芯' | '伩' => '信',
        '伽' | '珈' => '加',
        other => other,
    }
}

/// Whether the next unit after `i` starts with 信 (so `v`/`wei` before it means 微).
fn next_is_xin(units: &[Unit<'_>], i: usize) -> bool {
    matches!(units.get(i + 1), Some(Unit::Char('信' | '芯' | '伩')))
}

/// Whether a lone `v` stands for WeChat: not when a short letters-only run follows
/// (`v ip` is a spaced-out `vip`), since ids carry digits or are longer.
fn lone_v_is_wechat(units: &[Unit<'_>], i: usize) -> bool {
    match units.get(i + 1) {
        Some(Unit::Ascii(next)) => next.len() > 3 || next.bytes().any(|b| b.is_ascii_digit()),
        _ => true,
    }
}

/// ASCII runs that stand for WeChat on their own.
fn map_ascii<'a>(run: &'a str, units: &[Unit<'_>], i: usize) -> &'a str {
    match run {
        "v" | "w" | "wei" | "vi" | "wei1" if next_is_xin(units, i) => "微",
        "v" if lone_v_is_wechat(units, i) => "微信",
        "vx" | "wx" | "vxin" | "wxin" | "weixin" | "wechat" | "vchat" => "微信",
        _ => run,
    }
}

/// Doubled characters that spell QQ (扣扣, 寇寇, 口口) and 企鹅 (the QQ penguin).
const QQ_SPELLINGS: [&str; 7] = ["扣扣", "寇寇", "蔻蔻", "口口", "抠抠", "叩叩", "企鹅"];

pub(crate) fn compact_form(han: &str) -> String {
    let units = units(han);
    let mut out = String::with_capacity(han.len());
    for (i, unit) in units.iter().enumerate() {
        match unit {
            Unit::Ascii(run) => out.push_str(map_ascii(run.as_ref(), &units, i)),
            Unit::Char(c) => out.push(map_char(*c)),
        }
    }
    if QQ_SPELLINGS.iter().any(|s| out.contains(s)) {
        for s in QQ_SPELLINGS {
            out = out.replace(s, "qq");
        }
    }
    out
}

fn pinyin_form(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut in_ascii = false;
    for c in compact.chars() {
        if c.is_ascii_alphanumeric() {
            if !in_ascii && !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            in_ascii = true;
            continue;
        }
        in_ascii = false;
        if !out.is_empty() {
            out.push(' ');
        }
        match c.to_pinyin() {
            Some(p) => out.push_str(p.plain()),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn han_form_folds_width_script_and_case() {
        let f = fold("兼職刷單 ＡＢＣ  ⑧");
        assert_eq!(f.han, "兼职刷单 abc 8");
    }

    #[test]
    fn compact_drops_separators_emoji_and_punctuation() {
        assert_eq!(fold("加 🌹 微 ✨ 信").compact, "加微信");
        assert_eq!(fold("加-微.信!!").compact, "加微信");
        assert_eq!(fold("加\u{200b}微\u{200b}信").compact, "加微信");
        assert_eq!(fold("加㊙️威🈲信").compact, "加微信");
    }

    #[test]
    fn homoglyphs_of_wechat_map_to_wechat() {
        assert_eq!(fold("加薇信：ｑｑ１２３４５").compact, "加微信qq12345");
        assert_eq!(fold("＋V信 ⑧⑧⑧").compact, "加微信888");
        assert_eq!(fold("加威信，日賺三百").compact, "加微信日赚3百");
        assert_eq!(fold("wei信号 壹贰叁肆伍陆").compact, "微信号123456");
        assert_eq!(fold("加vx abc123").compact, "加微信abc123");
        assert_eq!(fold("加v").compact, "加微信");
        assert_eq!(fold("加 v x 8 8 6").compact, "加微信886");
        assert_eq!(fold("加 v 8 8 6").compact, "加微信886");
    }

    #[test]
    fn ascii_words_that_merely_contain_v_are_kept() {
        assert_eq!(fold("vip会员").compact, "vip会员");
        assert_eq!(fold("dev server").compact, "devserver");
        assert_eq!(fold("看a v群").compact, "看av群");
        assert_eq!(fold("v ip会员").compact, "vip会员");
    }

    #[test]
    fn doubled_kou_spells_qq() {
        assert_eq!(fold("扣扣：12345678").compact, "qq12345678");
        assert_eq!(fold("寇 寇 群").compact, "qq群");
        assert_eq!(fold("q q 号").compact, "qq号");
    }

    #[test]
    fn chinese_and_financial_numerals_become_digits() {
        assert_eq!(fold("幺三八 零〇 壹贰叁 两").compact, "138001232");
    }

    #[test]
    fn dingbat_digits_become_digits() {
        assert_eq!(fold("❶➁➌").compact, "123");
    }

    #[test]
    fn pinyin_is_spaced_per_syllable_with_ascii_runs_kept() {
        assert_eq!(fold("维新").pinyin, "wei xin");
        assert_eq!(fold("加微信abc123").pinyin, "jia wei xin abc123");
    }

    #[test]
    fn folding_is_stable_on_plain_ascii() {
        let f = fold("Hello, World");
        assert_eq!(f.han, "hello, world");
        assert_eq!(f.compact, "helloworld");
    }
}
