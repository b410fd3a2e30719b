//! Keeps the welcome rule's text as WeCom group welcome templates, for WeCom connectors with
//! `keep_welcome_template = true`: one template per rulebook template used by the
//! connector's groups (`qunzhu_engine::platform_welcome` renders it), checked at start, when
//! the rulebook or the set of groups changes, and again after a failure.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use qunzhu_connectors::wecom::WecomConnector;
use qunzhu_core::{Connector, GroupKey};
use qunzhu_engine::Engine;
use tokio::sync::watch;
use tracing::warn;

/// WeCom's nickname token in welcome templates.
const NICKNAME: &str = "%NICKNAME%";

/// Runs until `stopped`.
pub async fn keep_welcome_templates(engine: Engine, wecom: Arc<WecomConnector>, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // (rulebook version, groups) last kept without a failure.
    let mut kept: Option<(i64, Vec<String>)> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped.changed() => return,
        }
        if *stopped.borrow() {
            return;
        }
        let rulebook = engine.rulebook();
        let groups = wecom.chat_ids();
        if groups.is_empty() || kept.as_ref().is_some_and(|(version, known)| *version == rulebook.version && *known == groups) {
            continue;
        }
        // Rulebook template → (its text for the platform, its groups).
        let mut wanted: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        for chat in &groups {
            let settings = rulebook.settings_for(&GroupKey::new(wecom.id().as_str(), chat.as_str()));
            if let Some(text) = qunzhu_engine::platform_welcome::template_text(&settings, NICKNAME) {
                wanted.entry(settings.template.clone()).or_insert_with(|| (text, Vec::new())).1.push(chat.clone());
            }
        }
        let mut failed = false;
        for (template, (text, chats)) in &wanted {
            if let Err(error) = wecom.keep_welcome_template(template, text, chats).await {
                warn!(connector = %wecom.id(), template, %error, "could not keep the WeCom group welcome template; trying again");
                failed = true;
            }
        }
        if !failed {
            kept = Some((rulebook.version, groups));
        }
    }
}
