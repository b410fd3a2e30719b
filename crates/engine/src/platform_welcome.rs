//! Welcomes a platform sends itself. WeCom lets no app post in customer groups, but a group
//! owner can attach a group welcome template (入群欢迎语素材) that WeCom sends to every
//! newcomer; qunzhu keeps the welcome rule's text there (the WeCom connector's
//! `keep_welcome_template`). Such a template is written once for all joins, so it cannot
//! carry facts of one join.
//!
//! [`template_text`] renders a rulebook template's `welcome.text` for that use: `{name}`
//! becomes the platform's nickname token (WeCom: `%NICKNAME%`), `{group}` 本群, `{rules}` the
//! template's rules; a clause (up to `！。？!?` or a line end) holding a fact of one join
//! (`{member_no}`, `{channel}`, `{tier}`, `{inviter}`) is left out.

use crate::rulebook::ResolvedSettings;
use crate::rules::template_text::{self, Part};
use crate::rules::welcome::PLACEHOLDERS;

/// Placeholders that need one join's facts.
const PER_JOIN: &[&str] = &["member_no", "channel", "tier", "inviter"];

/// The welcome text of `settings` as a platform template, `None` when the welcome is off or
/// nothing is left to say.
pub fn template_text(settings: &ResolvedSettings, nickname: &str) -> Option<String> {
    let welcome = &settings.settings.welcome;
    if !welcome.enabled {
        return None;
    }
    let parts = template_text::parse(&welcome.text, PLACEHOLDERS).ok()?;
    let mut out = String::new();
    let mut clause = String::new();
    let mut per_join = false;
    let flush = |clause: &mut String, per_join: &mut bool, out: &mut String| {
        if *per_join {
            // Keep the line break the left-out clause ended with.
            if clause.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(clause);
        }
        clause.clear();
        *per_join = false;
    };
    for part in parts {
        match part {
            Part::Literal(text) => {
                for c in text.chars() {
                    clause.push(c);
                    if matches!(c, '！' | '。' | '？' | '!' | '?' | '\n') {
                        flush(&mut clause, &mut per_join, &mut out);
                    }
                }
            }
            Part::Placeholder(name) if PER_JOIN.contains(&name) => per_join = true,
            Part::Placeholder("name") => clause.push_str(nickname),
            Part::Placeholder("group") => clause.push_str("本群"),
            Part::Placeholder("rules") => clause.push_str(settings.settings.rules_text.trim()),
            Part::Placeholder(_) => {}
        }
    }
    flush(&mut clause, &mut per_join, &mut out);
    let text = out.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rulebook::TemplateSettings;

    fn settings(text: &str) -> ResolvedSettings {
        let mut settings = TemplateSettings::default();
        settings.welcome.text = text.into();
        settings.rules_text = "1. 友善交流".into();
        ResolvedSettings::new("default", settings)
    }

    #[test]
    fn the_builtin_welcome_keeps_its_greeting_and_rules_and_leaves_out_the_member_number() {
        let text = template_text(&ResolvedSettings::new("default", TemplateSettings::default()), "%NICKNAME%").unwrap();
        assert!(text.starts_with("欢迎 %NICKNAME% 加入「本群」！"), "{text}");
        assert!(!text.contains("成员") && !text.contains('{'), "a clause with {{member_no}} is left out: {text}");
        assert!(text.contains("请先看看群规") && text.ends_with("欢迎做个简单的自我介绍～"), "{text}");
    }

    #[test]
    fn clauses_with_facts_of_one_join_are_left_out_and_braces_stay_literal() {
        let text = template_text(&settings("欢迎{name}！你来自{channel}。由{inviter}邀请\n{rules}\n{{问}}答"), "%NICKNAME%").unwrap();
        assert_eq!(text, "欢迎%NICKNAME%！\n1. 友善交流\n{问}答");
    }

    #[test]
    fn a_disabled_welcome_has_no_template() {
        let mut off = settings("欢迎{name}");
        Arc::make_mut(&mut off.settings).welcome.enabled = false;
        assert_eq!(template_text(&off, "%NICKNAME%"), None);
    }

    use std::sync::Arc;
}
