//! The 微商 heuristics preset: what practitioners commonly list as signs of a 微商 / ad
//! account in a join request. Each finding carries its explanation; none is proof.

use qunzhu_text::detect;
use qunzhu_text::normalize::fold;

use crate::locale::Locale;

/// Words in a name or request comment that announce a seller.
pub const SELLER_WORDS: &[&str] = &["代理", "招商", "微商", "兼职", "代购", "货源", "批发", "招代理", "刷单", "日结", "宝妈创业"];

/// The findings on a name and comment, each explained in `locale`.
pub fn findings(name: &str, comment: &str, locale: Locale) -> Vec<String> {
    let mut found = Vec::new();
    let folded = fold(name);
    let han = folded.han.trim();
    let compact = folded.compact.as_str();
    let mut explain = |zh: String, en: String| found.push(if locale == Locale::ZhCn { zh } else { en });

    // "A" / "AAA" first: sorts to the top of contact lists. "Alice" is a name, "A小美" is not.
    let a_run = han.chars().take_while(|c| *c == 'a').count();
    if a_run > 0 && han.chars().nth(a_run).is_none_or(|c| !c.is_ascii_alphabetic()) {
        let prefix = "A".repeat(a_run);
        explain(
            format!("名字以「{prefix}」开头（微商常用来排在通讯录最前）"),
            format!("the name starts with \"{prefix}\" (sellers use it to sort first in contact lists)"),
        );
    }
    let chars: Vec<char> = compact.chars().filter(|c| !c.is_ascii_digit()).collect();
    let is_han = |c: &char| ('\u{4e00}'..='\u{9fff}').contains(c);
    if chars.len() >= 2 && chars.len() <= 4 && chars.last() == Some(&'姐') && chars.iter().rev().nth(1).is_some_and(is_han) {
        explain("名字是「某某姐」式称呼（微商常用）".into(), "the name is an \"XX姐\" (big sister) form sellers like".into());
    }
    let han_chars: Vec<char> = chars.iter().copied().filter(is_han).collect();
    if han_chars.len() == 2 || han_chars.len() == 3 {
        let n = han_chars.len();
        if han_chars[n - 1] == han_chars[n - 2] {
            explain(
                format!("名字是叠字（{}，微商常用的亲昵名）", han_chars[n - 2..].iter().collect::<String>()),
                format!("the name is reduplicated ({}), a pet-name form sellers like", han_chars[n - 2..].iter().collect::<String>()),
            );
        }
    }
    let detections = detect::detect(&folded);
    if !detections.phones.is_empty() {
        explain("名字里有手机号".into(), "the name contains a phone number".into());
    }
    if !detections.wechat_ids.is_empty() || !detections.qq_ids.is_empty() || detections.contact_hint.is_some() {
        explain("名字里有微信号/QQ号或加好友提示".into(), "the name contains a WeChat/QQ id or an invitation to add them".into());
    }
    let comment = fold(comment);
    for word in SELLER_WORDS {
        if compact.contains(word) {
            explain(format!("名字含「{word}」"), format!("the name contains \"{word}\""));
        } else if comment.compact.contains(word) {
            explain(format!("申请留言含「{word}」"), format!("the request comment contains \"{word}\""));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged(name: &str) -> bool {
        !findings(name, "", Locale::ZhCn).is_empty()
    }

    #[test]
    fn the_well_known_seller_names_are_found_and_explained() {
        for name in ["A小美", "AAA张姐", "Ａ 护肤", "美丽姐", "乐乐", "丽丽", "小雨姐", "招代理-小王", "王 13812345678", "兼职宝妈"] {
            assert!(flagged(name), "{name} should be flagged");
        }
        let why = findings("AAA乐乐", "", Locale::ZhCn);
        assert!(why.iter().any(|w| w.contains("「AAA」开头")), "{why:?}");
        assert!(why.iter().any(|w| w.contains("叠字（乐乐")), "{why:?}");
        assert!(findings("小王", "我是做代理的", Locale::ZhCn).iter().any(|w| w.contains("申请留言含「代理」")));
    }

    #[test]
    fn ordinary_names_pass() {
        for name in ["Alice", "张伟", "王小明", "Anna Li", "李姐夫啊", "bob"] {
            assert!(!flagged(name), "{name} should pass: {:?}", findings(name, "", Locale::ZhCn));
        }
    }
}
