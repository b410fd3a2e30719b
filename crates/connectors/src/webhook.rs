//! Staff alerts to webhooks (`staff_alerts` destinations `{ webhook = "https://…" }`): a
//! connector with the id [`ID`] whose only action is [`ActionKind::Webhook`]. The engine
//! never sends: it commits the action to the outbox (group `webhook/<source group>`), and the
//! server runs the ordinary outbox loop for this connector, so a webhook gets the outbox's
//! retries with backoff and audit rows. The body is JSON
//! `{"group","text","rule","at"}`; a 2xx answer is done, 408/429/5xx and network
//! errors are temporary (retried), other statuses permanent.

use std::time::Duration;

use qunzhu_core::{Action, ActionKind, BoxFuture, Capabilities, Capability, Connector, ConnectorId, Delivery, DeliveryError};
use reqwest_tls as reqwest;
use serde_json::json;

/// The connector id webhook alerts are queued under.
pub const ID: &str = "webhook";

pub struct WebhookConnector {
    id: ConnectorId,
    capabilities: Capabilities,
    http: reqwest::Client,
}

impl Default for WebhookConnector {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookConnector {
    pub fn new() -> Self {
        Self {
            id: ConnectorId::new(ID),
            capabilities: Capabilities::new([Capability::NotifyStaff]),
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_else(|_| reqwest::Client::new()),
        }
    }

    async fn post(&self, action: &Action) -> Result<Delivery, DeliveryError> {
        let ActionKind::Webhook { url, text } = &action.kind else {
            return Err(DeliveryError::Permanent(format!("the webhook connector only posts webhooks, not `{}`", action.kind.name())));
        };
        let body = json!({
            "group": action.group.group.to_string(),
            "text": text,
            "rule": action.rule,
            "at": action.created_at,
        });
        let response = self.http.post(url).json(&body).send().await.map_err(|e| DeliveryError::Temporary {
            message: format!("webhook {url}: {e}"),
            retry_after_secs: None,
        })?;
        let status = response.status();
        if status.is_success() {
            Ok(Delivery::Done)
        } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(DeliveryError::Temporary { message: format!("webhook {url} answered {status}"), retry_after_secs: None })
        } else {
            Err(DeliveryError::Permanent(format!("webhook {url} answered {status}")))
        }
    }
}

impl Connector for WebhookConnector {
    fn id(&self) -> &ConnectorId {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn deliver<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<Delivery, DeliveryError>> {
        Box::pin(self.post(action))
    }
}
