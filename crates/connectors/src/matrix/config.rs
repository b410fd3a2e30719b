use qunzhu_core::{Capabilities, Capability, ConnectorId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Matrix: qunzhu logs in as its own bot account on a homeserver (Synapse, Conduit, …) and
/// moderates the rooms it is invited to (it needs a power level that lets it redact, kick,
/// ban and change power levels; Moderator (50) is enough for most, Admin (100) for mutes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// Connector id, used in group keys (`{id}/{room id}`). Letters, digits, `-` and `_`.
    pub id: String,
    /// The homeserver's client-server API base URL, e.g. `https://matrix.example.org` or
    /// `http://127.0.0.1:8008`.
    pub homeserver: String,
    /// The bot account's full Matrix user id, e.g. `@qunzhu:example.org`.
    pub user: String,
    /// The bot account's password (qunzhu logs in at start). Set this or `access_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// An access token of the bot account, instead of the password (e.g. from Element's
    /// settings, or from `POST /_matrix/client/v3/login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    /// Join every room the bot is invited to.
    #[serde(default = "yes")]
    pub auto_join: bool,
    /// The longest pause between reconnection attempts (they start at 1 s and double).
    #[serde(default = "default_reconnect_max_secs")]
    pub reconnect_max_secs: u64,
}

fn yes() -> bool {
    true
}

fn default_reconnect_max_secs() -> u64 {
    30
}

impl MatrixConfig {
    /// A password login with the defaults.
    pub fn with_password(id: &str, homeserver: &str, user: &str, password: &str) -> Self {
        Self {
            id: id.into(),
            homeserver: homeserver.into(),
            user: user.into(),
            password: Some(Secret::new(password)),
            access_token: None,
            auto_join: true,
            reconnect_max_secs: default_reconnect_max_secs(),
        }
    }

    pub fn connector_id(&self) -> ConnectorId {
        ConnectorId::new(self.id.clone())
    }

    /// What a bot with enough power in a room can do. Mutes have no platform expiry: the
    /// connector lifts a timed mute itself when it runs out (see the module docs).
    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            // Synapse's event size limit is 64 KiB; stay well inside it with the HTML copy.
            max_message_chars: Some(16_000),
            sends_per_minute_per_group: Some(30),
            max_mute_secs: None,
            ..Capabilities::new([
                Capability::Send,
                Capability::Reply,
                Capability::Mention,
                Capability::Delete,
                Capability::Mute,
                Capability::Kick,
                Capability::Ban,
                Capability::Unban,
            ])
        }
    }
}
