//! Detectors for what ads carry besides words: links, phone numbers, WeChat and QQ ids, an
//! invitation to private contact, emoji floods and long repeated characters.
//!
//! Each detector reads the folded form that defeats its evasions: links the original (case
//! matters in short links) and a "joined" form where 点/dot/。 between letters become `.` and
//! spaces vanish; numbers and ids the `compact` form, where ⑧⑧⑧, 壹贰叁 and separators are
//! already gone. Every detection carries its evidence: the form, the matched text, its offset.

use std::sync::OnceLock;

use linkify::{LinkFinder, LinkKind};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::normalize::{Folded, Form};

/// Where a detection was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The form of the message the text below is taken from.
    pub form: Form,
    /// The text that was matched, in that form.
    pub matched: String,
    /// Byte offset of `matched` in that form.
    pub start: usize,
}

/// A link, with or without scheme, possibly split by spaces or written with 点/dot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The link as reassembled (`abc.cn/x`, `https://t.cn/A6x`).
    pub url: String,
    /// Its host, lower case (`abc.cn`).
    pub host: String,
    /// Whether the host is a known URL shortener (t.cn, dwz.cn, bit.ly, …).
    pub short_link: bool,
    pub evidence: Evidence,
}

/// A phone number, WeChat id or QQ id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactId {
    /// The id itself (`13812345678`, `abc_123`, `12345678`).
    pub value: String,
    pub evidence: Evidence,
}

/// Everything the detectors found in one message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detections {
    pub links: Vec<Link>,
    /// Mainland mobile numbers (1[3-9] and nine digits), in any spelling.
    pub phones: Vec<ContactId>,
    /// WeChat ids after a WeChat marker (微信, vx, wx, v and their homoglyphs).
    pub wechat_ids: Vec<ContactId>,
    /// QQ numbers after a QQ marker (qq, 扣扣, 企鹅 …).
    pub qq_ids: Vec<ContactId>,
    /// The first phrase that invites private contact (加我, 私聊, 加微信 …).
    pub contact_hint: Option<Evidence>,
    /// Emoji and pictographs in the original text.
    pub emoji_count: usize,
    /// Length of the longest run of one repeated non-space character.
    pub longest_repeat: usize,
    /// The character of that run.
    pub repeated_char: Option<char>,
}

impl Detections {
    /// Whether any phone number, WeChat id or QQ id was found.
    pub fn has_contact(&self) -> bool {
        !self.phones.is_empty() || !self.wechat_ids.is_empty() || !self.qq_ids.is_empty()
    }
}

/// Runs every detector over a folded message.
pub fn detect(folded: &Folded) -> Detections {
    let (longest_repeat, repeated_char) = longest_repeat(&folded.original);
    Detections {
        links: links(folded),
        phones: phones(folded),
        wechat_ids: wechat_ids(folded),
        qq_ids: qq_ids(&folded.compact),
        contact_hint: contact_hint(&folded.compact),
        emoji_count: folded.original.chars().filter(|&c| is_emoji(c)).count(),
        longest_repeat,
        repeated_char,
    }
}

/// Hosts of URL shorteners seen in Chinese chat ads.
const SHORT_HOSTS: &[&str] = &[
    "t.cn",
    "dwz.cn",
    "url.cn",
    "suo.im",
    "suo.nz",
    "mrw.so",
    "t.me",
    "bit.ly",
    "tinyurl.com",
    "goo.gl",
    "is.gd",
    "ow.ly",
    "rb.gy",
    "cutt.ly",
    "t.co",
    "w.url.cn",
    "s.click.taobao.com",
    "m.tb.cn",
    "tb.cn",
    "v.douyin.com",
    "xhslink.com",
    "b23.tv",
    "u.jd.com",
    "3.cn",
    "dwz.date",
    "sohu.gg",
    "c.tb.cn",
    "e.tb.cn",
    "qr.alipay.com",
    "u.wechat.com",
    "j.mp",
    "reurl.cc",
];

/// Top-level domains accepted for links written without a scheme. A closed list keeps
/// `node.js`, `1.5` and file names out.
const TLDS: &[&str] = &[
    "com", "cn", "net", "org", "top", "xyz", "cc", "vip", "info", "me", "io", "co", "tk", "ml",
    "ga", "cf", "gq", "tv", "app", "site", "online", "club", "shop", "store", "link", "live",
    "pro", "biz", "asia", "ink", "wang", "ren", "red", "fun", "icu", "work", "tech", "cloud",
    "ltd", "hk", "tw", "mo", "jp", "kr", "us", "uk", "de", "ru", "ws", "su", "one", "best", "life",
    "space", "website", "edu", "gov", "ly", "gg", "im", "nz", "so", "date", "win", "bet", "cash",
    "money", "games", "game", "fit", "love", "today", "group", "team", "run", "bio", "kim", "mobi",
    "name", "plus", "press", "market", "finance",
];

fn link_finder() -> &'static LinkFinder {
    static FINDER: OnceLock<LinkFinder> = OnceLock::new();
    FINDER.get_or_init(|| {
        let mut finder = LinkFinder::new();
        finder.url_must_have_scheme(false);
        finder.kinds(&[LinkKind::Url]);
        finder
    })
}

/// Host of a URL (scheme, userinfo, port, path dropped), lower case.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = authority.split(':').next().unwrap_or(authority);
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn has_known_tld(host: &str) -> bool {
    host.rsplit('.')
        .next()
        .is_some_and(|tld| TLDS.contains(&tld))
}

fn is_short_host(host: &str) -> bool {
    let host = host.strip_prefix("www.").unwrap_or(host);
    SHORT_HOSTS.contains(&host)
}

/// Cuts what linkify included around a link in Chinese text: leading Han characters (no
/// space before the domain) and everything from the first non-ASCII character on.
fn trim_link(text: &str, start: usize) -> Option<(usize, &str)> {
    let lead = text.find(|c: char| c.is_ascii_alphanumeric())?;
    let rest = &text[lead..];
    let end = rest
        .find(|c: char| !c.is_ascii() || c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let url = rest[..end].trim_end_matches(['.', ',', ')', ']', '!', '?', ':', ';', '\'', '"']);
    (!url.is_empty()).then_some((start + lead, url))
}

fn push_link(out: &mut Vec<Link>, url: &str, evidence: Evidence) {
    let host = host_of(url);
    if host.is_empty() || !host.contains('.') {
        return;
    }
    let has_scheme = url.contains("://");
    if !has_scheme && !has_known_tld(&host) {
        return;
    }
    let key = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .to_ascii_lowercase();
    let key = key.trim_end_matches('/');
    if out.iter().any(|l| {
        let other = l
            .url
            .split_once("://")
            .map_or(l.url.as_str(), |(_, r)| r)
            .to_ascii_lowercase();
        other.trim_end_matches('/') == key
    }) {
        return;
    }
    out.push(Link {
        url: url.to_owned(),
        short_link: is_short_host(&host),
        host,
        evidence,
    });
}

fn linkify_into(out: &mut Vec<Link>, text: &str, form: Form) {
    for link in link_finder().links(text) {
        if let Some((start, url)) = trim_link(link.as_str(), link.start()) {
            let evidence = Evidence {
                form,
                matched: url.to_owned(),
                start,
            };
            push_link(out, url, evidence);
        }
    }
}

fn links(folded: &Folded) -> Vec<Link> {
    let mut out = Vec::new();
    linkify_into(&mut out, &folded.original, Form::Original);
    if !folded.original.is_ascii() {
        linkify_into(&mut out, &folded.han, Form::Han);
    }
    split_links(&mut out, &folded.han);
    out
}

/// Characters and words that stand for the dot of a domain in evasive links.
fn is_dot_word(token: &str) -> bool {
    matches!(
        token,
        "." | "dot" | "点" | "。" | "丶" | "、" | "·" | "﹒" | "(.)" | "[.]"
    )
}

fn url_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '-' | '_' | '/' | '?' | '=' | '&' | '%' | ':' | '#' | '~')
}

fn split_link_regex() -> &'static Option<Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        let tlds = TLDS.join("|");
        Regex::new(&format!(
            r"(?:https?://)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{tlds})(?:[/?#][a-z0-9/_\-?=&%.#~]*)?"
        ))
        .ok()
    })
}

/// Links split by spaces or written with 点/dot/。: `w w w . abc . com`, `abc点cn`.
fn split_links(out: &mut Vec<Link>, han: &str) {
    if !han.contains(['.', '点', '。', '丶', '·']) && !han.contains("dot") {
        return;
    }
    // Build the joined form and remember, per byte, where in `han` it came from.
    let mut joined = String::with_capacity(han.len());
    let mut origin: Vec<usize> = Vec::with_capacity(han.len());
    let push = |joined: &mut String, origin: &mut Vec<usize>, c: char, at: usize| {
        joined.push(c);
        origin.extend(std::iter::repeat_n(at, c.len_utf8()));
    };
    let mut chars = han.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c.is_ascii_alphabetic() {
            // Read the whole word to recognise "dot".
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !url_char(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            let word = &han[i..end];
            if word == "dot" && joined.ends_with(|p: char| p.is_ascii_alphanumeric()) {
                push(&mut joined, &mut origin, '.', i);
            } else {
                for (k, w) in word.char_indices() {
                    push(&mut joined, &mut origin, w, i + k);
                }
            }
            continue;
        }
        let mut buf = [0u8; 4];
        if is_dot_word(c.encode_utf8(&mut buf)) {
            let after_alnum = joined.ends_with(|p: char| p.is_ascii_alphanumeric());
            push(
                &mut joined,
                &mut origin,
                if after_alnum { '.' } else { '\n' },
                i,
            );
        } else if url_char(c) {
            push(&mut joined, &mut origin, c, i);
        } else {
            push(&mut joined, &mut origin, '\n', i);
        }
    }
    let Some(re) = split_link_regex() else { return };
    for m in re.find_iter(&joined) {
        // The match must not continue a longer word on the left (`xabc.com` inside `日xabc`
        // is fine, `1.5.com`-like version strings are rejected by the TLD list).
        let url = m.as_str().trim_end_matches(['.', '/']);
        let Some(&from) = origin.get(m.start()) else {
            continue;
        };
        let to = origin
            .get(m.end().saturating_sub(1))
            .copied()
            .unwrap_or(from);
        let to = han[to..].chars().next().map_or(to, |c| to + c.len_utf8());
        let matched = han.get(from..to).unwrap_or(url).to_owned();
        push_link(
            out,
            url,
            Evidence {
                form: Form::Han,
                matched,
                start: from,
            },
        );
    }
}

/// Maximal runs of ASCII digits in `text`: (start, run).
fn digit_runs(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && !bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        Some((start, &text[start..i]))
    })
}

/// A mainland mobile number inside a digit run: exactly 11 digits 1[3-9]…, or +86 before it.
fn mobile_in(run: &str) -> Option<&str> {
    let number = match run.len() {
        11 => run,
        13 if run.starts_with("86") => &run[2..],
        _ => return None,
    };
    let b = number.as_bytes();
    (b[0] == b'1' && (b'3'..=b'9').contains(&b[1])).then_some(number)
}

fn phones(folded: &Folded) -> Vec<ContactId> {
    let mut out: Vec<ContactId> = Vec::new();
    // `han` first: there digits written apart from other numbers stay apart.
    for (form, text) in [(Form::Han, &folded.han), (Form::Compact, &folded.compact)] {
        for (start, run) in digit_runs(text) {
            if let Some(number) = mobile_in(run) {
                if out.iter().all(|p| p.value != number) {
                    let evidence = Evidence {
                        form,
                        matched: run.to_owned(),
                        start,
                    };
                    out.push(ContactId {
                        value: number.to_owned(),
                        evidence,
                    });
                }
            }
        }
    }
    out
}

fn qq_regex() -> &'static Option<Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"qq(?:号码|号是|号|群号|群|是|id|账号)?([1-9][0-9]{4,10})").ok())
}

fn qq_ids(compact: &str) -> Vec<ContactId> {
    let Some(re) = qq_regex() else {
        return Vec::new();
    };
    let mut out: Vec<ContactId> = Vec::new();
    for caps in re.captures_iter(compact) {
        let (Some(all), Some(id)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        // Longer than 11 digits is not a QQ number (probably a phone or an order number).
        if compact[id.end()..].starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        if out.iter().all(|q| q.value != id.as_str()) {
            let evidence = Evidence {
                form: Form::Compact,
                matched: all.as_str().to_owned(),
                start: all.start(),
            };
            out.push(ContactId {
                value: id.as_str().to_owned(),
                evidence,
            });
        }
    }
    out
}

fn wechat_regexes() -> &'static Option<(Regex, Regex)> {
    static RE: OnceLock<Option<(Regex, Regex)>> = OnceLock::new();
    RE.get_or_init(|| {
        // `han` keeps the _ and - of real ids; `compact` sees through 薇信/v信/威信.
        let han = Regex::new(
            r"(?:微信|vx|wx|\bv)\s*(?:号码|号是|号|id|同号)?\s*[:：]?\s*([a-z][a-z0-9_-]{5,19})",
        )
        .ok()?;
        let compact = Regex::new(r"(?:微信|加微)(?:号码|号是|号|id)?([a-z][a-z0-9]{5,19})").ok()?;
        Some((han, compact))
    })
}

fn wechat_ids(folded: &Folded) -> Vec<ContactId> {
    let Some((han_re, compact_re)) = wechat_regexes() else {
        return Vec::new();
    };
    let mut out: Vec<ContactId> = Vec::new();
    for (form, text, re) in [
        (Form::Han, &folded.han, han_re),
        (Form::Compact, &folded.compact, compact_re),
    ] {
        for caps in re.captures_iter(text) {
            let (Some(all), Some(id)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            let plain: String = id
                .as_str()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            // The compact form glues following ASCII words on; an id already found in `han`
            // that starts this one is the same id.
            let known = out.iter().any(|w| {
                let known: String = w
                    .value
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect();
                plain.starts_with(&known)
            });
            if !known {
                let evidence = Evidence {
                    form,
                    matched: all.as_str().to_owned(),
                    start: all.start(),
                };
                out.push(ContactId {
                    value: id.as_str().to_owned(),
                    evidence,
                });
            }
        }
    }
    out
}

/// Phrases (in compact form) that invite private contact.
const CONTACT_HINTS: &[&str] = &[
    "加我",
    "私聊",
    "私信我",
    "私我",
    "加微信",
    "加qq",
    "加好友",
    "滴滴我",
    "联系我",
    "详聊",
    "戳我",
    "扫码加",
    "扫码进群",
    "扫码领",
    "加群主",
    "私戳",
    "来撩",
    "有意者",
    "感兴趣的私",
    "微信联系",
    "qq联系",
    "微信咨询",
    "加一下微信",
    "加个微信",
    "微信同号",
    "联系微信",
];

fn contact_hint(compact: &str) -> Option<Evidence> {
    CONTACT_HINTS
        .iter()
        .filter_map(|h| compact.find(h).map(|start| (start, *h)))
        .min()
        .map(|(start, h)| Evidence {
            form: Form::Compact,
            matched: h.to_owned(),
            start,
        })
}

/// Emoji and pictographs (not CJK punctuation, not letters).
pub(crate) fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF   // pictographs, emoticons, transport, supplemental symbols, flags
        | 0x2600..=0x27BF   // miscellaneous symbols and dingbats (☀ ✨ ❤)
        | 0x2B00..=0x2BFF   // ⭐ ⬆
        | 0x2300..=0x23FF   // ⌚ ⏰
        | 0x3030 | 0x303D | 0x3297 | 0x3299)
}

fn longest_repeat(text: &str) -> (usize, Option<char>) {
    let (mut best, mut best_char) = (0, None);
    let (mut run, mut prev) = (0, None);
    for c in text.chars() {
        if c.is_whitespace() {
            prev = None;
            run = 0;
            continue;
        }
        if Some(c) == prev {
            run += 1;
        } else {
            run = 1;
            prev = Some(c);
        }
        if run > best {
            best = run;
            best_char = Some(c);
        }
    }
    (best, best_char)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::fold;

    fn d(text: &str) -> Detections {
        detect(&fold(text))
    }

    fn urls(text: &str) -> Vec<String> {
        d(text).links.into_iter().map(|l| l.url).collect()
    }

    #[test]
    fn links_with_scheme_are_found_and_cut_at_chinese_text() {
        assert_eq!(
            urls("看这里https://example.com/a?b=1，谢谢"),
            ["https://example.com/a?b=1"]
        );
    }

    #[test]
    fn bare_domains_and_www_are_links() {
        assert_eq!(urls("打开abc.cn/x看看"), ["abc.cn/x"]);
        assert_eq!(urls("官网 www.x.com 了解"), ["www.x.com"]);
    }

    #[test]
    fn short_link_hosts_are_marked() {
        let links = d("戳 t.cn/A6xYz 领取").links;
        assert_eq!(links.len(), 1);
        assert!(links[0].short_link);
        assert_eq!(links[0].url, "t.cn/A6xYz");
        assert!(!d("学校官网 www.school.edu.cn").links[0].short_link);
    }

    #[test]
    fn links_split_by_spaces_or_written_with_dot_words_are_found() {
        assert_eq!(urls("w w w . a b c . c o m"), ["www.abc.com"]);
        assert_eq!(urls("打开 abc点cn 领取"), ["abc.cn"]);
        assert_eq!(urls("abc dot com"), ["abc.com"]);
        assert_eq!(urls("abc。com/x"), ["abc.com/x"]);
        assert_eq!(urls("ｗｗｗ．ｘｙｚ．ｃｏｍ"), ["www.xyz.com"]);
    }

    #[test]
    fn file_names_versions_and_prices_are_not_links() {
        assert!(urls("用node.js写的").is_empty());
        assert!(urls("版本1.2.3，价格12.5元").is_empty());
        assert!(urls("今天3点开会。明天见").is_empty());
    }

    #[test]
    fn mobile_numbers_are_found_in_any_spelling() {
        for text in [
            "电话13812345678",
            "138-1234-5678",
            "1 3 8 1 2 3 4 5 6 7 8",
            "幺三八一二三四五六七八",
            "+86 138 1234 5678",
            "壹叁捌壹贰叁肆伍陆柒捌",
        ] {
            let phones = d(text).phones;
            assert_eq!(phones.len(), 1, "{text}");
            assert_eq!(phones[0].value, "13812345678", "{text}");
        }
    }

    #[test]
    fn a_mobile_next_to_other_numbers_is_found_in_han_form() {
        assert_eq!(d("2024 13812345678").phones[0].value, "13812345678");
    }

    #[test]
    fn other_numbers_are_not_phones() {
        assert!(d("订单号 20240512123456789").phones.is_empty());
        assert!(d("12345678901").phones.is_empty());
        assert!(d("下午3点，18:30集合").phones.is_empty());
    }

    #[test]
    fn qq_ids_follow_qq_markers_in_evasive_forms() {
        for text in [
            "加薇信：ｑｑ１２３４５",
            "扣扣 12345678",
            "q q号：1 2 3 4 5 6",
            "企鹅 壹贰叁肆伍陆柒",
        ] {
            assert_eq!(d(text).qq_ids.len(), 1, "{text}");
        }
        assert!(d("qq音乐很好听").qq_ids.is_empty());
    }

    #[test]
    fn wechat_ids_follow_wechat_markers() {
        assert_eq!(d("vx: abc_123 谢谢").wechat_ids[0].value, "abc_123");
        assert_eq!(d("加薇信 hello2024").wechat_ids[0].value, "hello2024");
        assert!(d("微信支付好慢").wechat_ids.is_empty());
    }

    #[test]
    fn contact_hints_are_found_in_compact_form() {
        assert_eq!(d("有意 私 聊").contact_hint.unwrap().matched, "私聊");
        assert_eq!(d("+V信 888").contact_hint.unwrap().matched, "加微信");
        assert!(d("群主辛苦了👍").contact_hint.is_none());
    }

    #[test]
    fn emoji_and_repeats_are_counted() {
        let r = d("好👍👍👍 哈哈哈哈哈");
        assert_eq!(r.emoji_count, 3);
        assert_eq!(r.longest_repeat, 5);
        assert_eq!(r.repeated_char, Some('哈'));
    }
}
