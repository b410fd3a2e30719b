use qunzhu_core::{Capabilities, Capability, ConnectorId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// An HTTP bridge: a program that posts a platform's events to qunzhu and polls the actions
/// qunzhu decided (a wechaty bridge for personal WeChat, a shop's own app…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// Connector id, used in URLs (`/api/v1/bridge/{id}/events`) and group keys
    /// (`{id}/{group}`). Letters, digits, `-` and `_`.
    pub id: String,
    /// Bearer token the bridge must send in `Authorization: Bearer <token>`. A placeholder
    /// such as `change-me` is accepted only while qunzhu listens on a loopback address.
    pub token: Secret,
    /// What the bridge can do on its platform. Everything else becomes a staff task.
    /// Allowed: send, reply, mention, delete, mute, kick, ban (implies unban), unban,
    /// approve_join, set_announcement, direct_message, notify_staff. `mention` is always implied: sent
    /// messages carry mention segments next to their plain text, and the bridge renders
    /// them as its platform allows.
    #[serde(default = "default_capabilities")]
    pub capabilities: Vec<String>,
}

fn default_capabilities() -> Vec<String> {
    vec!["send".into(), "reply".into()]
}

impl BridgeConfig {
    pub fn connector_id(&self) -> ConnectorId {
        ConnectorId::new(self.id.clone())
    }

    /// The declared capabilities plus `mention`; unknown names are reported by the config
    /// validator and skipped here.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::new(
            self.capabilities
                .iter()
                .filter_map(|name| Capability::from_name(name))
                // A bridge that bans can lift a ban; `mention` is always implied.
                .flat_map(|c| if c == Capability::Ban { vec![c, Capability::Unban] } else { vec![c] })
                .chain([Capability::Mention]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridge_always_gets_real_mentions_and_only_the_declared_actions() {
        let config = BridgeConfig {
            id: "shop".into(),
            token: Secret::new("t"),
            capabilities: vec!["send".into(), "delete".into(), "teleport".into()],
        };
        let capabilities = config.capabilities();
        assert!(capabilities.can(Capability::Mention));
        assert!(capabilities.can(Capability::Delete));
        assert!(!capabilities.can(Capability::Mute));
        assert_eq!(capabilities.actions.len(), 3);
    }
}
