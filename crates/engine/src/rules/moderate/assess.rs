//! The pure part of moderation: a message and its text analysis → the checks that fired,
//! each with its evidence and weight, a category and a score. A message is flagged when the
//! weights add up to 1.0: one strong signal (a lexicon word, @all, a flood) is enough;
//! weak signals (a phone number, a link, a pinyin spelling, a borderline classifier score)
//! only count together — so an honest member sharing a number is not surprised.

use chrono::Duration;
use qunzhu_core::moderation::MemberRecord;
use qunzhu_core::{Member, Message, Segment};
use qunzhu_text::analyze::TextReport;
use qunzhu_text::normalize::Form;
use serde::Serialize;

use super::settings::{ModerationSettings, Scope};
use crate::locale::Locale;
use crate::rules::RuleContext;

/// Weights. A sum of 1.0 flags the message.
const STRONG: f32 = 1.0;
const CONTACT: f32 = 0.6;
const CONTACT_INVITE: f32 = 0.5;
const LINK: f32 = 0.6;
const LINK_ONLY: f32 = 0.5;
const PINYIN: f32 = 0.4;
const SHAPE: f32 = 0.6;
/// A QR code is a hidden link: on its own it only stops newcomers.
const QR: f32 = 0.7;
/// This many mentions with no words is a mass ping.
const MENTION_ONLY_MIN: usize = 3;
/// Newcomers are checked strictly: every weight counts this much more.
const NEWCOMER_FACTOR: f32 = 1.5;
/// Texts shorter than this never make a wave ("收到", "谢谢老师" from thirty parents is not spam).
const WAVE_MIN_CHARS: usize = 10;

/// One check that fired.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// `lexicon`, `contact`, `contact_invite`, `link`, `link_only`, `qr`, `card`,
    /// `mention_all`, `mention_only`, `emoji`, `repeat`, `classifier`, `flood`, `wave`.
    pub check: String,
    pub category: String,
    pub weight: f32,
    /// The thing found: the lexicon word, the contact id, the URL, the count…
    pub subject: String,
    /// What was found and how, e.g. `「加微信」 as 「加薇信」 (compact form)`.
    pub evidence: String,
}

impl Check {
    /// A few words for explanations and warnings, in the operator's language.
    pub fn brief(&self, locale: Locale) -> String {
        let subject = &self.subject;
        match (self.check.as_str(), locale) {
            ("lexicon", Locale::ZhCn) => format!("词「{subject}」"),
            ("lexicon", Locale::En) => format!("the word “{subject}”"),
            ("contact", Locale::ZhCn) => format!("联系方式 {subject}"),
            ("contact", Locale::En) => format!("contact {subject}"),
            ("contact_invite", Locale::ZhCn) => format!("招揽私聊「{subject}」"),
            ("contact_invite", Locale::En) => format!("invites private contact (“{subject}”)"),
            ("link", Locale::ZhCn) => format!("链接 {subject}"),
            ("link", Locale::En) => format!("link {subject}"),
            ("qr", Locale::ZhCn) => format!("二维码 {subject}"),
            ("qr", Locale::En) => format!("QR code {subject}"),
            ("card", Locale::ZhCn) => format!("卡片（{subject}）"),
            ("card", Locale::En) => format!("{subject} card"),
            ("classifier", Locale::ZhCn) => format!("垃圾消息模型 {subject}"),
            ("classifier", Locale::En) => format!("spam model {subject}"),
            (check, Locale::ZhCn) => match check {
                "link_only" => "纯链接消息".into(),
                "mention_all" => "@全体成员".into(),
                "mention_only" => format!("只有 @ 的消息（{subject} 人）"),
                "emoji" => format!("表情过多（{subject} 个）"),
                "repeat" => format!("重复字符（{subject} 个）"),
                "flood" => format!("刷屏（{subject} 条）"),
                "wave" => format!("{subject} 人发送相同内容"),
                _ => self.evidence.clone(),
            },
            (_, Locale::En) => self.evidence.clone(),
        }
    }
}

/// The verdict on one message, before any penalty.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Assessment {
    pub flagged: bool,
    /// The category of the strongest check.
    pub category: Option<String>,
    pub score: f32,
    pub checks: Vec<Check>,
    /// Checked strictly as a newcomer.
    pub newcomer: bool,
}

impl Assessment {
    /// The checks in a few words, for explanations. A word inside a longer word that also
    /// matched (刷单 in 兼职刷单) is not repeated.
    pub fn summary(&self, locale: Locale) -> String {
        let words: Vec<&str> = self.checks.iter().filter(|c| c.check == "lexicon").map(|c| c.subject.as_str()).collect();
        let mut parts: Vec<String> = Vec::new();
        for check in &self.checks {
            let covered = check.check == "lexicon"
                && words.iter().any(|w| *w != check.subject && w.contains(check.subject.as_str()));
            let brief = check.brief(locale);
            if !covered && !parts.contains(&brief) {
                parts.push(brief);
            }
        }
        parts.truncate(4);
        parts.join(locale.pick("，", "; "))
    }
}

/// What the message's context adds (from the store and the behaviour windows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Circumstances {
    pub newcomer: bool,
    /// Posts by this member in this group within the flood window (including this one).
    pub recent_posts: usize,
    /// Distinct members who posted the same text within the wave window.
    pub same_text_members: usize,
}

/// Assesses one message. Pure: the CLI (`qunzhu moderate`) and the rule share it.
pub fn assess(
    report: &TextReport,
    message: &Message,
    settings: &ModerationSettings,
    spam_score: f32,
    circumstances: Circumstances,
) -> Assessment {
    let mut checks = Vec::new();
    let applies = |scope: Scope| match scope {
        Scope::Off => false,
        Scope::Newcomers => circumstances.newcomer,
        Scope::Everyone => true,
    };
    let mut push = |check: &str, category: &str, weight: f32, subject: String, evidence: String| {
        checks.push(Check { check: check.into(), category: category.into(), weight, subject, evidence });
    };

    // Several lexicon spellings can fold onto the same text (加v信, 加vx, 加微信…): one
    // check per place in the message.
    let mut places = std::collections::HashSet::new();
    for hit in &report.lexicon_hits {
        let category = hit.category.name();
        if !settings.categories.iter().any(|c| c == category) || !places.insert((hit.form, hit.start, hit.matched.as_str())) {
            continue;
        }
        let weight = if hit.form == Form::Pinyin { PINYIN } else { STRONG };
        // Show what the message said in its matching form (加微信), not the lexicon's spelling (+v信).
        let subject = if hit.form == Form::Han { hit.word.clone() } else { hit.matched.clone() };
        push("lexicon", category, weight, subject, format!("「{}」 as 「{}」 ({} form)", hit.word, hit.matched, hit.form.name()));
    }

    let detections = &report.detections;
    if applies(settings.contacts) {
        let kinds = [("phone", &detections.phones), ("WeChat id", &detections.wechat_ids), ("QQ id", &detections.qq_ids)];
        for (kind, found) in kinds {
            for contact in found {
                push("contact", "contact", CONTACT, contact.value.clone(), format!("{kind} {} (as 「{}」)", contact.value, contact.evidence.matched));
            }
        }
        if detections.has_contact()
            && let Some(invite) = &detections.contact_hint
        {
            push("contact_invite", "contact", CONTACT_INVITE, invite.matched.clone(), format!("invites private contact: 「{}」", invite.matched));
        }
    }
    if applies(settings.links) {
        let links: Vec<_> = detections
            .links
            .iter()
            .filter(|link| !settings.allowed_domains.iter().any(|d| link.host.eq_ignore_ascii_case(d) || link.host.ends_with(&format!(".{d}"))))
            .collect();
        for link in &links {
            let short = if link.short_link { " (short link)" } else { "" };
            push("link", "link", LINK, link.url.clone(), format!("link {}{short}", link.url));
        }
        let remainder: usize = links
            .iter()
            .fold(report.folded.compact.chars().count(), |left, link| left.saturating_sub(link.evidence.matched.chars().count()));
        if !links.is_empty() && remainder <= 4 {
            push("link_only", "link", LINK_ONLY, String::new(), "a message that is only a link".into());
        }
    }
    for segment in &message.segments {
        if let Segment::Image { data: Some(data), .. } = segment {
            for payload in qunzhu_text::qr::decode_qr_base64(data) {
                let contact = is_contact_qr(&payload);
                if contact && applies(settings.contacts) {
                    push("qr", "contact", STRONG, payload.clone(), format!("QR code of a chat contact or group: {payload}"));
                } else if applies(settings.links) {
                    push("qr", "link", QR, payload.clone(), format!("QR code: {payload}"));
                }
            }
        }
    }
    let mentions = message.segments.iter().filter(|s| matches!(s, Segment::Mention { .. })).count();
    let words: usize = message
        .segments
        .iter()
        .map(|s| match s {
            Segment::Text { text } => text.chars().filter(|c| c.is_alphanumeric()).count(),
            _ => 0,
        })
        .sum();
    if mentions >= MENTION_ONLY_MIN && words == 0 {
        push("mention_only", "spam", SHAPE, mentions.to_string(), format!("a message of {mentions} mentions and nothing else"));
    }
    for segment in &message.segments {
        match segment {
            Segment::Card { kind, title, .. } if applies(settings.cards) => {
                push("card", "card", STRONG, kind.clone(), format!("{kind} card {}", title.as_deref().unwrap_or("")).trim().to_owned());
            }
            Segment::MentionAll if settings.mention_all => push("mention_all", "mention_all", STRONG, String::new(), "@all by a member".into()),
            _ => {}
        }
    }
    if settings.max_emoji > 0 && detections.emoji_count > settings.max_emoji as usize {
        push("emoji", "spam", SHAPE, detections.emoji_count.to_string(), format!("{} emoji (limit {})", detections.emoji_count, settings.max_emoji));
    }
    if settings.max_repeat > 0 && detections.longest_repeat > settings.max_repeat as usize {
        push("repeat", "spam", SHAPE, detections.longest_repeat.to_string(), format!("a character repeated {} times (limit {})", detections.longest_repeat, settings.max_repeat));
    }
    // Exactly 0.5 is "no evidence either way" (e.g. an empty text).
    if settings.spam_threshold < 1.0 && spam_score > 0.5 {
        let weight = if spam_score >= settings.spam_threshold {
            STRONG
        } else {
            0.5 * (spam_score - 0.5) / (settings.spam_threshold - 0.5)
        };
        push("classifier", "spam", weight, format!("{spam_score:.2}"), format!("spam classifier {spam_score:.2} (threshold {:.2})", settings.spam_threshold));
    }
    if settings.flood_messages > 0 && circumstances.recent_posts > settings.flood_messages as usize {
        push("flood", "flood", STRONG, circumstances.recent_posts.to_string(), format!("{} messages in {} s", circumstances.recent_posts, settings.flood_window_secs));
    }
    if settings.wave_members >= 2 && circumstances.same_text_members >= settings.wave_members as usize {
        push("wave", "wave", STRONG, circumstances.same_text_members.to_string(), format!("the same text from {} members", circumstances.same_text_members));
    }

    if circumstances.newcomer {
        for check in &mut checks {
            check.weight *= NEWCOMER_FACTOR;
        }
    }
    // (`+ 0.0` turns the empty sum's -0.0 into 0.0.)
    let score: f32 = checks.iter().map(|c| c.weight).sum::<f32>() + 0.0;
    // The strongest check names the category; on a tie the earlier (more specific) one wins.
    let category = checks
        .iter()
        .reduce(|best, check| if check.weight > best.weight { check } else { best })
        .map(|c| c.category.clone());
    Assessment { flagged: score >= 1.0 - f32::EPSILON, category, score, checks, newcomer: circumstances.newcomer }
}

/// QR codes that add a chat contact or join a chat group (the usual 引流).
fn is_contact_qr(payload: &str) -> bool {
    let lower = payload.to_ascii_lowercase();
    ["weixin.qq.com", "u.wechat.com", "wxp://", "qm.qq.com", "jq.qq.com", "work.weixin.qq.com", "t.me/"]
        .iter()
        .any(|marker| lower.contains(marker))
}

/// Whether a member is still a newcomer (checked strictly). Members the engine never saw
/// join (they were there before qunzhu) are not newcomers.
pub fn is_newcomer(record: Option<&MemberRecord>, settings: &ModerationSettings, now: chrono::DateTime<chrono::Utc>) -> bool {
    let Some(record) = record else { return false };
    let Some(joined_at) = record.joined_at else { return false };
    record.messages < u64::from(settings.newcomer_messages) || now - joined_at < Duration::days(i64::from(settings.newcomer_days))
}

/// [`assess`] with the member's record and the behaviour windows of a live group. In guarded
/// mode (a join wave, `guard`), members who joined since it began are newcomers whatever
/// their messages and days, and links, contacts and cards count for newcomers even where
/// the settings turned them off.
pub fn assess_in_context(
    cx: &RuleContext<'_>,
    author: &Member,
    message: &Message,
    guard: Option<&qunzhu_core::admission::GuardRecord>,
) -> Assessment {
    let joined_in_wave = guard.is_some_and(|g| cx.member.and_then(|m| m.joined_at).is_some_and(|at| at >= g.started_at));
    let strict;
    let settings = if joined_in_wave {
        let mut stricter = cx.settings.moderation.clone();
        for scope in [&mut stricter.links, &mut stricter.contacts, &mut stricter.cards] {
            if *scope == Scope::Off {
                *scope = Scope::Newcomers;
            }
        }
        strict = stricter;
        &strict
    } else {
        &cx.settings.moderation
    };
    let Some(report) = cx.analysis.report.as_ref() else { return Assessment::default() };
    let behaviour = &cx.tools.behaviour;
    let key = &cx.group.key;
    let recent_posts = if settings.flood_messages > 0 {
        let window = Duration::seconds(i64::try_from(settings.flood_window_secs).unwrap_or(i64::MAX / 1_000_000));
        behaviour.record_post(key, &author.id, cx.event.time, window)
    } else {
        0
    };
    let spam_score = if settings.spam_threshold < 1.0 { cx.tools.spam_score(&cx.analysis.text) } else { 0.0 };
    let newcomer = joined_in_wave || is_newcomer(cx.member, settings, cx.now);
    let circumstances = Circumstances { newcomer, recent_posts, same_text_members: 0 };
    let first = assess(report, message, settings, spam_score, circumstances);
    let suspicious = first.score > 0.0;
    if settings.wave_members < 2 || !suspicious || report.folded.compact.chars().count() < WAVE_MIN_CHARS {
        return first;
    }
    let window = Duration::seconds(i64::try_from(settings.wave_window_secs).unwrap_or(i64::MAX / 1_000_000));
    let (members, _groups) = behaviour.record_text(&report.folded.compact, key, &author.id, cx.event.time, window);
    if members < settings.wave_members as usize {
        return first;
    }
    assess(report, message, settings, spam_score, Circumstances { same_text_members: members, ..circumstances })
}

#[cfg(test)]
mod tests {
    use qunzhu_text::lexicon::LexiconMatcher;

    use super::*;

    fn judge(message: &Message, newcomer: bool) -> Assessment {
        let report = qunzhu_text::analyze::analyze(&message.plain_text(), LexiconMatcher::builtin());
        let settings = ModerationSettings::builtin(Locale::ZhCn);
        assess(&report, message, &settings, 0.0, Circumstances { newcomer, ..Circumstances::default() })
    }

    fn qr_png(payload: &str) -> String {
        use base64::Engine as _;
        let code = qrcode::QrCode::new(payload.as_bytes()).unwrap();
        let image = code.render::<image::Luma<u8>>().min_dimensions(200, 200).build();
        let mut bytes = Vec::new();
        image::DynamicImage::ImageLuma8(image).write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn a_wechat_group_qr_code_in_an_image_is_caught_even_without_text() {
        let message = Message { id: "m".into(), segments: vec![Segment::Image { url: None, data: Some(qr_png("https://weixin.qq.com/g/AbCdEf123")) }] };
        let verdict = judge(&message, false);
        assert!(verdict.flagged, "{verdict:?}");
        assert_eq!(verdict.category.as_deref(), Some("contact"));
        assert!(verdict.checks[0].evidence.contains("weixin.qq.com/g/AbCdEf123"));
    }

    #[test]
    fn an_ordinary_qr_code_only_stops_newcomers() {
        let message = Message { id: "m".into(), segments: vec![Segment::Image { url: None, data: Some(qr_png("https://school.example.edu.cn/form")) }] };
        assert!(!judge(&message, false).flagged);
        assert!(judge(&message, true).flagged);
    }

    #[test]
    fn explanations_speak_the_operators_language_and_do_not_repeat_contained_words() {
        let verdict = judge(&Message::text("m", "兼职刷单，日赚三百"), false);
        let summary = verdict.summary(Locale::ZhCn);
        assert!(summary.contains("词「兼职刷单」"), "{summary}");
        assert!(!summary.contains("词「刷单」"), "刷单 is inside 兼职刷单: {summary}");
        assert!(!summary.contains(" as "), "no English evidence in a zh-CN summary: {summary}");
        assert!(verdict.score > 0.0);
        assert_eq!(judge(&Message::text("m", "好的"), false).score.to_string(), "0", "no checks, no negative zero");
    }

    #[test]
    fn a_message_of_only_mentions_is_a_mass_ping() {
        let mention = |id: &str| Segment::Mention { member: id.into(), name: Some(id.into()) };
        let ping = Message { id: "m".into(), segments: vec![mention("a"), Segment::text(" "), mention("b"), mention("c")] };
        let verdict = judge(&ping, true);
        assert!(verdict.checks.iter().any(|c| c.check == "mention_only"), "{verdict:?}");
        let question = Message { id: "m".into(), segments: vec![mention("a"), mention("b"), mention("c"), Segment::text(" 明天几点集合？")] };
        assert!(judge(&question, true).checks.iter().all(|c| c.check != "mention_only"));
    }
}
