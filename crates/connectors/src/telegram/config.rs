use qunzhu_core::{Capabilities, Capability, ConnectorId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The public Bot API server.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// Telegram: a bot made with @BotFather, admin in its groups (delete messages, ban users,
/// invite users via link), privacy mode off so it sees every message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Connector id, used in group keys (`{id}/{chat id}`). Letters, digits, `-` and `_`.
    pub id: String,
    /// The bot token @BotFather gave, e.g. `123456:ABC-DEF…`.
    pub token: Secret,
    /// How updates arrive: `polling` (qunzhu long-polls `getUpdates`; works behind NAT) or
    /// `webhook` (Telegram POSTs to `<public_url>/telegram/<id>/webhook`; needs `public_url`
    /// reachable over HTTPS and `webhook_secret`).
    #[serde(default)]
    pub mode: TelegramMode,
    /// The secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token` with every webhook POST
    /// (1–256 of `A-Z a-z 0-9 _ -`). Required in webhook mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<Secret>,
    /// The Bot API server, for a self-hosted `telegram-bot-api` or tests.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// A chat (group or private chat with an operator) where staff notifications go; without
    /// it, notifications become staff tasks in the dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_chat_id: Option<i64>,
    /// How long one `getUpdates` long poll waits on the server (polling mode).
    #[serde(default = "default_poll_timeout_secs")]
    pub poll_timeout_secs: u32,
    /// The longest pause between retries when the Bot API is unreachable (they start at 1 s
    /// and double).
    #[serde(default = "default_reconnect_max_secs")]
    pub reconnect_max_secs: u64,
}

/// How a Telegram bot receives updates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TelegramMode {
    #[default]
    Polling,
    Webhook,
}

fn default_api_url() -> String {
    DEFAULT_API_URL.into()
}

fn default_poll_timeout_secs() -> u32 {
    25
}

fn default_reconnect_max_secs() -> u64 {
    30
}

impl TelegramConfig {
    /// A polling bot with the defaults.
    pub fn polling(id: &str, token: &str) -> Self {
        Self {
            id: id.into(),
            token: Secret::new(token),
            mode: TelegramMode::Polling,
            webhook_secret: None,
            api_url: default_api_url(),
            staff_chat_id: None,
            poll_timeout_secs: default_poll_timeout_secs(),
            reconnect_max_secs: default_reconnect_max_secs(),
        }
    }

    pub fn connector_id(&self) -> ConnectorId {
        ConnectorId::new(self.id.clone())
    }

    /// What an admin bot can do in a supergroup. Direct messages reach only members who
    /// started the bot (others fail, see the module docs); staff notifications need
    /// `staff_chat_id`. Announcements (pins) are not claimed.
    pub fn capabilities(&self) -> Capabilities {
        let mut actions = vec![
            Capability::Send,
            Capability::Reply,
            Capability::Mention,
            Capability::Delete,
            Capability::Mute,
            Capability::Kick,
            Capability::Ban,
            Capability::Unban,
            Capability::ApproveJoin,
            Capability::DirectMessage,
        ];
        if self.staff_chat_id.is_some() {
            actions.push(Capability::NotifyStaff);
        }
        Capabilities {
            max_message_chars: Some(4096),
            sends_per_minute_per_group: Some(20),
            // Telegram takes a restriction longer than 366 days as forever.
            max_mute_secs: Some(366 * 24 * 3600),
            ..Capabilities::new(actions)
        }
    }

    /// Problems with the values, each with its key (relative to this entry) and what to do.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let token = self.token.expose().trim();
        if token.is_empty() {
            problems.push(("token", "must not be empty: paste the token @BotFather gave (`/newbot`), like \"123456:ABC-DEF…\"".to_owned()));
        } else if !token.split_once(':').is_some_and(|(bot, rest)| !bot.is_empty() && bot.chars().all(|c| c.is_ascii_digit()) && !rest.is_empty()) {
            problems.push(("token", "does not look like a bot token; paste the whole token @BotFather gave, like \"123456:ABC-DEF…\"".to_owned()));
        }
        let url = self.api_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || reqwest::Url::parse(url).is_err() {
            problems.push(("api_url", format!("`{url}` is not a URL; leave it out for {DEFAULT_API_URL}, or write a self-hosted Bot API server like \"http://127.0.0.1:8081\"")));
        }
        let secret = self.webhook_secret.as_ref().map(|s| s.expose().trim()).filter(|s| !s.is_empty());
        match (self.mode, secret) {
            (TelegramMode::Webhook, None) => problems.push((
                "webhook_secret",
                "is required in webhook mode: set a random string of letters, digits, `_` and `-` (e.g. the output of `openssl rand -hex 32`)".to_owned(),
            )),
            (_, Some(secret)) if secret.len() > 256 || !secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') => problems.push((
                "webhook_secret",
                "Telegram accepts 1–256 letters, digits, `_` and `-` only; use e.g. the output of `openssl rand -hex 32`".to_owned(),
            )),
            _ => {}
        }
        if self.poll_timeout_secs > 50 {
            problems.push(("poll_timeout_secs", format!("{} is longer than Telegram holds a long poll; use 1–50 (25 is usual)", self.poll_timeout_secs)));
        }
        if self.reconnect_max_secs == 0 {
            problems.push(("reconnect_max_secs", "must be at least 1".to_owned()));
        }
        problems
    }

    /// The webhook path on qunzhu's listener.
    pub fn webhook_path(&self) -> String {
        format!("/telegram/{}/webhook", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_without_secret_and_a_bad_token_are_both_reported() {
        let mut config = TelegramConfig::polling("tg", "not-a-token");
        config.mode = TelegramMode::Webhook;
        config.api_url = "localhost".into();
        let keys: Vec<&str> = config.problems().iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["token", "api_url", "webhook_secret"]);
        config = TelegramConfig::polling("tg", "123456:ABC-DEF");
        assert!(config.problems().is_empty());
    }

    #[test]
    fn staff_notifications_are_claimed_only_with_a_staff_chat() {
        let mut config = TelegramConfig::polling("tg", "1:x");
        assert!(!config.capabilities().can(Capability::NotifyStaff));
        config.staff_chat_id = Some(-100_123);
        assert!(config.capabilities().can(Capability::NotifyStaff));
        assert!(!config.capabilities().can(Capability::SetAnnouncement));
    }
}
