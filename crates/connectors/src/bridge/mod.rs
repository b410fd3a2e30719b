//! The HTTP bridge connector: any platform without a native connector posts its events to
//! qunzhu and pulls the actions qunzhu decided (see `docs/bridge.md`).
//!
//! - `config` — [`BridgeConfig`], the `[[connectors]] type = "bridge"` entry.
//! - [`wire`] — the incoming event format and [`decode_event`].
//! - [`action`] — the outgoing format: [`WireAction`] (actions and staff tasks), the feed.
//! - [`BridgeConnector`] — the [`Connector`]: it never pushes; the bridge pulls and reports.
//!
//! No HTTP server code lives here; the server crate routes requests to these types.

pub mod action;
mod config;
pub mod wire;

use qunzhu_core::{
    Action, BoxFuture, Capabilities, Connector, ConnectorId, Delivery, DeliveryError,
};

pub use action::{ActionFeed, ActionResult, EventsResponse, WireAction, WireActionKind};
pub use config::BridgeConfig;
pub use wire::{BridgeEvent, DecodeError, EventsBody, WireSegment, decode_event};

/// A configured bridge. Delivery is pull-based: the bridge fetches actions from the feed
/// and reports each outcome, so [`Connector::deliver`] only says "awaiting the peer".
#[derive(Clone, Debug)]
pub struct BridgeConnector {
    id: ConnectorId,
    capabilities: Capabilities,
}

impl BridgeConnector {
    pub fn new(config: &BridgeConfig) -> Self {
        Self {
            id: config.connector_id(),
            capabilities: config.capabilities(),
        }
    }
}

impl Connector for BridgeConnector {
    fn id(&self) -> &ConnectorId {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn deliver<'a>(
        &'a self,
        _action: &'a Action,
    ) -> BoxFuture<'a, Result<Delivery, DeliveryError>> {
        Box::pin(std::future::ready(Ok(Delivery::AwaitingPeer)))
    }
}

/// The JSON Schema of the bridge wire format: the root is the events body; `$defs` also
/// holds the events response, the action feed and the result report.
pub fn json_schema() -> serde_json::Value {
    let mut generator = schemars::SchemaGenerator::default();
    generator.subschema_for::<EventsResponse>();
    generator.subschema_for::<ActionFeed>();
    generator.subschema_for::<ActionResult>();
    let mut schema = generator.into_root_schema_for::<EventsBody>();
    schema.insert("title".into(), "qunzhu HTTP bridge".into());
    schema.insert(
        "description".into(),
        "Body of POST /api/v1/bridge/{id}/events: one event or an array of events. $defs also describe \
         the responses (EventsResponse, ActionFeed) and the result report (ActionResult). See docs/bridge.md."
            .into(),
    );
    schema.to_value()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use qunzhu_core::{ActionKind, Capability, GroupKey};

    use super::*;
    use crate::secret::Secret;

    #[tokio::test]
    async fn a_bridge_declares_its_configured_capabilities_and_waits_for_its_peer() {
        let config = BridgeConfig {
            id: "shop".into(),
            token: Secret::new("t"),
            capabilities: vec!["send".into(), "delete".into(), "teleport".into()],
        };
        let connector = BridgeConnector::new(&config);
        assert_eq!(connector.id().as_str(), "shop");
        assert!(connector.capabilities().can(Capability::Delete));
        assert!(!connector.capabilities().can(Capability::Mute));
        let action = Action {
            id: "a".into(),
            group: GroupKey::new("shop", "g"),
            kind: ActionKind::Kick { member: "u".into() },
            rule: "r".into(),
            cause: None,
            explanation: String::new(),
            not_before: None,
            created_at: Utc::now(),
        };
        assert_eq!(connector.deliver(&action).await, Ok(Delivery::AwaitingPeer));
    }

    /// `UPDATE_SCHEMA=1 cargo test -p qunzhu-connectors committed_schema` rewrites the file.
    #[test]
    fn committed_schema_matches_the_wire_types() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/bridge.schema.json");
        let generated = format!(
            "{}\n",
            serde_json::to_string_pretty(&json_schema()).unwrap()
        );
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/bridge.schema.json is stale; regenerate with `UPDATE_SCHEMA=1 cargo test -p qunzhu-connectors committed_schema`"
        );
    }

    #[test]
    fn the_schema_describes_every_event_type() {
        let text = json_schema().to_string();
        for kind in wire::EVENT_TYPES {
            assert!(
                text.contains(&format!("\"{kind}\"")),
                "{kind} missing from the schema"
            );
        }
        assert!(text.contains("staff_task"));
    }
}
