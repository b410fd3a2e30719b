//! Lottery settings, as a template holds them: the texts and who may enter. Each lottery's
//! own terms (prize, winners, keyword, condition, draw time) come with it through the API.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;
use crate::rules::template_text;

/// Placeholders of the announcement at creation.
pub const ANNOUNCE_PLACEHOLDERS: &[&str] = &["title", "prize", "winners", "how", "draw_at"];
/// Placeholders of the reply to an entrant.
pub const ENTERED_PLACEHOLDERS: &[&str] = &["name", "title", "draw_at"];
/// Placeholders of the reply to a member who does not meet the condition yet.
pub const NOT_ELIGIBLE_PLACEHOLDERS: &[&str] = &["name", "title", "condition", "progress"];
/// Placeholders of the winners' announcement.
pub const WINNERS_PLACEHOLDERS: &[&str] = &["title", "prize", "winners", "entrants", "seed", "hash", "id"];
/// Placeholders of the announcement when nobody entered.
pub const NO_ENTRANTS_PLACEHOLDERS: &[&str] = &["title"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LotterySettings {
    /// Run lotteries in these groups (entries, counts, draws). Lotteries themselves are
    /// created through the API (`POST /api/v1/lotteries`).
    pub enabled: bool,
    /// Owners and admins may enter (off: their keyword and messages do not count).
    pub staff_may_enter: bool,
    /// Reply once to a member who entered (`entered_text`); off: enter silently.
    pub reply_on_entry: bool,
    /// Posted in each of the lottery's groups when it is created. Placeholders: `{title}`,
    /// `{prize}`, `{winners}` (how many), `{how}` (how to enter: the keyword and/or the
    /// condition), `{draw_at}` (in the group's timezone).
    pub announce_text: String,
    /// The reply to a member who entered. Placeholders: `{name}` (an @mention), `{title}`,
    /// `{draw_at}`.
    pub entered_text: String,
    /// The reply to a member who sent the keyword but does not meet the condition yet.
    /// Placeholders: `{name}` (an @mention), `{title}`, `{condition}`, `{progress}` (e.g. `2/5`).
    pub not_eligible_text: String,
    /// The draw's announcement. Placeholders: `{title}`, `{prize}`, `{winners}` (real
    /// @mentions), `{entrants}` (how many entered), `{seed}` and `{hash}` (the first 16 hex
    /// digits of the seed and of the entrants' hash, for checking), `{id}` (the lottery id,
    /// for `GET /api/v1/lotteries/{id}/verify`).
    pub winners_text: String,
    /// The announcement at the draw when nobody entered. Placeholder: `{title}`.
    pub no_entrants_text: String,
}

impl Default for LotterySettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl LotterySettings {
    pub fn builtin(locale: Locale) -> Self {
        Self {
            enabled: true,
            staff_may_enter: false,
            reply_on_entry: true,
            announce_text: locale
                .pick(
                    "🎁 抽奖：{title}\n奖品：{prize}（{winners} 名）\n参与方式：{how}\n开奖时间：{draw_at}",
                    "🎁 Lottery: {title}\nPrize: {prize} ({winners} winner(s))\nHow to enter: {how}\nDraw: {draw_at}",
                )
                .into(),
            entered_text: locale
                .pick("{name} 已参与抽奖「{title}」，{draw_at} 开奖，祝你好运！", "{name}, you're in the “{title}” lottery; the draw is at {draw_at}. Good luck!")
                .into(),
            not_eligible_text: locale
                .pick("{name} 还不能参与抽奖「{title}」：需要{condition}（当前 {progress}）", "{name}, you can't enter “{title}” yet: it takes {condition} (so far {progress})")
                .into(),
            winners_text: locale
                .pick(
                    "🎉 抽奖「{title}」开奖啦！\n奖品：{prize}\n中奖：{winners}\n共 {entrants} 人参与。公开核验：种子 {seed}…，名单哈希 {hash}…（编号 {id}）",
                    "🎉 The “{title}” draw!\nPrize: {prize}\nWinners: {winners}\n{entrants} entered. Check it: seed {seed}…, entrants hash {hash}… (id {id})",
                )
                .into(),
            no_entrants_text: locale.pick("抽奖「{title}」无人参与，本次不开奖。", "Nobody entered the “{title}” lottery; there is no draw.").into(),
        }
    }
}

/// Checks the texts; `path` is where the settings live.
pub fn validate(settings: &LotterySettings, path: &[&str]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let texts: [(&str, &str, &[&str]); 5] = [
        ("announce_text", &settings.announce_text, ANNOUNCE_PLACEHOLDERS),
        ("entered_text", &settings.entered_text, ENTERED_PLACEHOLDERS),
        ("not_eligible_text", &settings.not_eligible_text, NOT_ELIGIBLE_PLACEHOLDERS),
        ("winners_text", &settings.winners_text, WINNERS_PLACEHOLDERS),
        ("no_entrants_text", &settings.no_entrants_text, NO_ENTRANTS_PLACEHOLDERS),
    ];
    for (key, text, allowed) in texts {
        let at: Vec<&str> = path.iter().copied().chain([key]).collect();
        if settings.enabled && text.trim().is_empty() {
            problems.push(Problem::at(&at, "lotteries are enabled but this text is empty"));
        }
        if let Err(message) = template_text::check(text, allowed) {
            problems.push(Problem::at(&at, message));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_texts_validate_in_both_languages() {
        for locale in [Locale::ZhCn, Locale::En] {
            assert!(validate(&LotterySettings::builtin(locale), &["lottery"]).is_empty());
        }
    }

    #[test]
    fn a_bad_placeholder_is_reported_at_its_key() {
        let settings = LotterySettings { winners_text: "{winner}".into(), entered_text: " ".into(), ..LotterySettings::default() };
        let problems = validate(&settings, &["templates", "default", "lottery"]);
        let paths: Vec<String> = problems.iter().map(Problem::dotted_path).collect();
        assert_eq!(paths, ["templates.default.lottery.entered_text", "templates.default.lottery.winners_text"]);
        assert!(problems[1].message.contains("{winners}"), "{}", problems[1].message);
    }
}
