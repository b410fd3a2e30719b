#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What posters do to dodge filters must not work: the smoke-test cases of the evasion pipeline,
//! the ads corpus, and property tests that inserting separators, spaces, emoji, full-width or
//! traditional forms into any built-in lexicon word never hides it.

use proptest::prelude::*;
use qunzhu_text::{Category, Form, LexiconMatcher, analyze, fold};

const ADS: &str = include_str!("../data/corpus/ads.txt");

fn caught(text: &str) -> bool {
    let report = analyze(text, LexiconMatcher::builtin());
    report.is_suspicious() || !report.detections.links.is_empty()
}

#[test]
fn the_smoke_test_evasions_are_caught() {
    for text in [
        "加薇信：ｑｑ１２３４５",
        "＋V信 ⑧⑧⑧",
        "加 🌹 微 ✨ 信",
        "加威信，日賺三百",
        "wei信号 壹贰叁肆伍陆",
        "兼職刷單",
    ] {
        let report = analyze(text, LexiconMatcher::builtin());
        assert!(
            !report.lexicon_hits.is_empty(),
            "{text}: no lexicon hit ({:?})",
            report.folded
        );
    }
}

#[test]
fn the_smoke_test_innocents_are_left_alone() {
    for text in [
        "群主辛苦了👍",
        "维新变法",
        "今天微信支付好慢",
        "维新变法 1898",
    ] {
        let report = analyze(text, LexiconMatcher::builtin());
        assert!(
            report.lexicon_hits.is_empty(),
            "{text}: {:?}",
            report.lexicon_hits
        );
        assert!(
            !report.detections.has_contact(),
            "{text}: {:?}",
            report.detections
        );
    }
}

#[test]
fn evasive_wechat_with_a_contact_id_is_caught_with_its_evidence() {
    let report = analyze("加威信 abc12345", LexiconMatcher::builtin());
    let hit = report
        .lexicon_hits
        .iter()
        .find(|h| h.category == Category::Ad)
        .unwrap();
    assert_eq!(hit.form, Form::Compact);
    assert_eq!(hit.matched, "加微信");
    assert_eq!(report.detections.wechat_ids[0].value, "abc12345");
}

#[test]
fn pinyin_homophones_count_only_with_a_contact_id() {
    let matcher = LexiconMatcher::builtin();
    assert!(analyze("唯心号", matcher).lexicon_hits.is_empty());
    let hits = analyze("唯心号 abc12345", matcher).lexicon_hits;
    assert!(hits.iter().any(|h| h.form == Form::Pinyin), "{hits:?}");
}

#[test]
fn nearly_every_line_of_the_ads_corpus_is_caught() {
    let lines: Vec<&str> = ADS.lines().filter(|l| !l.trim().is_empty()).collect();
    let missed: Vec<&&str> = lines.iter().filter(|l| !caught(l)).collect();
    let rate = 1.0 - missed.len() as f64 / lines.len() as f64;
    println!(
        "ads caught: {}/{} = {:.1}%",
        lines.len() - missed.len(),
        lines.len(),
        rate * 100.0
    );
    for line in &missed {
        println!("  missed: {line}");
    }
    assert!(rate >= 0.95, "only {:.1}% of ads caught", rate * 100.0);
}

/// A sample of built-in words: every 7th, plus the hand-written contact phrases.
fn sampled_words() -> Vec<(&'static str, Category)> {
    qunzhu_text::lexicon::builtin_words().step_by(7).collect()
}

const SEPARATORS: &[&str] = &[
    " ", "  ", "-", "_", ".", "·", "/", "|", "*", "~", "，", "。", "、", "\u{200b}", "🌹", "✨",
    "❤️", "👉", "㊙️", "\t", "♥", "…", "!", "＿", "—",
];

/// Full-width form of an ASCII character (what NFKC undoes).
fn full_width(c: char) -> char {
    if c.is_ascii_graphic() {
        char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
    } else {
        c
    }
}

/// Traditional forms of common simplified characters in the lexicon (what fast2s undoes).
fn traditional(c: char) -> char {
    match c {
        '职' => '職',
        '单' => '單',
        '赚' => '賺',
        '钱' => '錢',
        '发' => '發',
        '网' => '網',
        '赌' => '賭',
        '彩' => '彩',
        '贷' => '貸',
        '款' => '款',
        '币' => '幣',
        '红' => '紅',
        '优' => '優',
        '惠' => '惠',
        '码' => '碼',
        '号' => '號',
        '联' => '聯',
        '系' => '係',
        '费' => '費',
        '购' => '購',
        '买' => '買',
        '卖' => '賣',
        '车' => '車',
        '乐' => '樂',
        '经' => '經',
        '动' => '動',
        '给' => '給',
        '务' => '務',
        '专' => '專',
        '业' => '業',
        '让' => '讓',
        '说' => '說',
        '门' => '門',
        '时' => '時',
        '进' => '進',
        '领' => '領',
        '现' => '現',
        '还' => '還',
        '开' => '開',
        '关' => '關',
        '导' => '導',
        '师' => '師',
        '资' => '資',
        '产' => '產',
        '党' => '黨',
        '国' => '國',
        '华' => '華',
        '传' => '傳',
        other => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn disguising_a_lexicon_word_never_hides_it(
        index in 0usize..100_000,
        seps in proptest::collection::vec(0usize..SEPARATORS.len(), 0..12),
        insert_at in proptest::collection::vec(any::<bool>(), 12),
        widen in any::<bool>(),
        trad in any::<bool>(),
        prefix in "[ 今天大家好，]{0,6}",
        suffix in "[ 谢谢。！]{0,4}",
    ) {
        let words = sampled_words();
        let (word, category) = words[index % words.len()];
        let mut disguised = prefix.clone();
        let mut sep_iter = seps.iter();
        for (i, c) in word.chars().enumerate() {
            let c = if trad { traditional(c) } else { c };
            disguised.push(if widen { full_width(c) } else { c });
            if insert_at.get(i).copied().unwrap_or(false) && i + 1 < word.chars().count() {
                if let Some(&s) = sep_iter.next() {
                    disguised.push_str(SEPARATORS[s]);
                }
            }
        }
        disguised.push_str(&suffix);
        let report = analyze(&disguised, LexiconMatcher::builtin());
        prop_assert!(
            report.lexicon_hits.iter().any(|h| h.category == category),
            "{word:?} ({category}) hidden in {disguised:?}: compact {:?}, hits {:?}",
            fold(&disguised).compact, report.lexicon_hits
        );
    }
}

#[test]
fn every_builtin_word_survives_spaces_emoji_and_full_width() {
    let matcher = LexiconMatcher::builtin();
    let mut hidden = Vec::new();
    for (word, category) in qunzhu_text::lexicon::builtin_words() {
        let chars: Vec<char> = word.chars().collect();
        let spaced: String = chars
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let emoji: String = chars
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join("🌹");
        let wide: String = chars.iter().map(|&c| full_width(c)).collect();
        for disguised in [spaced, emoji, wide] {
            let report = analyze(&disguised, matcher);
            if !report.lexicon_hits.iter().any(|h| h.category == category) {
                hidden.push(disguised);
            }
        }
    }
    assert!(
        hidden.is_empty(),
        "{} disguises hid their word: {:?}",
        hidden.len(),
        &hidden[..hidden.len().min(20)]
    );
}
