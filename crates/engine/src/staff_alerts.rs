//! Staff-alert routing (`staff_alerts` settings): where a NotifyStaff alert goes besides the
//! group's own connector. The alert itself stays as it was (delivered to the connector's staff
//! chat, or a staff task where the platform has none, and listed in the bridge's response);
//! each destination adds one action, committed with the same event:
//! - `{ connector = "qq", group = "123" }` → a `Send` of the alert text in that group (planned
//!   against that connector's capabilities: a staff task where it cannot send);
//! - `{ connector = "telegram", user = "42" }` → a `DirectMessage` to that member on that
//!   connector (its group is the alert's group id; platforms send direct messages by user);
//! - `{ webhook = "https://…" }` → an [`ActionKind::Webhook`] queued for the server's webhook
//!   connector (`webhook`), which POSTs `{group, text, rule, at}` through the
//!   outbox with its retries. The engine never sends.
//!
//! Settings are per template and can be overridden per group like any other.

use qunzhu_core::{Action, ActionId, ActionKind, Capabilities, ConnectorId, GroupKey, MemberId, Segment};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::problems::Problem;

/// The connector id webhook alerts are queued under (the server's webhook connector).
pub const WEBHOOK_CONNECTOR: &str = "webhook";

/// The `staff_alerts` settings of a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StaffAlertSettings {
    /// Where staff alerts also go, besides the group's own connector (which always gets them):
    /// `{ connector = "qq", group = "123" }` (a staff group or room on any connector),
    /// `{ connector = "telegram", user = "42" }` (a direct message) or
    /// `{ webhook = "https://hooks.example.com/qunzhu" }` (a JSON POST
    /// `{group, text, rule, at}`, retried by the outbox). Empty: only as before.
    pub destinations: Vec<StaffDestination>,
}

/// One destination: `connector` with `group` or `user`, or `webhook` alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StaffDestination {
    /// The connector of a staff group or a member (`qq`, `telegram`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    /// A staff group or room on that connector: the alert is posted there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// A member on that connector: the alert is sent to them directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// An http(s) URL the alert is POSTed to as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
}

fn filled(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub fn validate(settings: &StaffAlertSettings, path: &[&str]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, d) in settings.destinations.iter().enumerate() {
        let index = i.to_string();
        let mut at: Vec<&str> = path.to_vec();
        at.extend(["destinations", index.as_str()]);
        match (filled(&d.connector), filled(&d.group), filled(&d.user), filled(&d.webhook)) {
            (None, None, None, Some(url)) => {
                let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
                let ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace));
                if !ok {
                    let mut at = at.clone();
                    at.push("webhook");
                    problems.push(Problem::at(&at, "write the webhook as an http(s) URL, e.g. \"https://hooks.example.com/qunzhu\""));
                }
            }
            (Some(connector), Some(_), None, None) | (Some(connector), None, Some(_), None) => {
                if connector == WEBHOOK_CONNECTOR {
                    let mut at = at.clone();
                    at.push("connector");
                    problems.push(Problem::at(&at, "`webhook` is not a chat connector: write `{ webhook = \"https://…\" }`"));
                }
            }
            _ => problems.push(Problem::at(
                &at,
                "write one destination as `{ connector = \"qq\", group = \"123\" }`, `{ connector = \"qq\", user = \"10001\" }` or `{ webhook = \"https://…\" }`",
            )),
        }
    }
    problems
}

/// The actions routing one staff alert to its destinations (ids `<alert id>.to<n>`), and for
/// each whether it must be planned against `capabilities_of` its connector (chat
/// destinations) or goes to the webhook connector as it is. A destination on a connector
/// that is not configured is skipped (returned in the second list, for the audit).
pub fn route<'a>(
    alert: &Action,
    text: &str,
    settings: &'a StaffAlertSettings,
    capabilities_of: impl Fn(&ConnectorId) -> Option<&'a Capabilities>,
) -> (Vec<Action>, Vec<String>) {
    let mut actions = Vec::new();
    let mut skipped = Vec::new();
    for (n, d) in settings.destinations.iter().enumerate() {
        let (group, kind) = match (filled(&d.connector), filled(&d.group), filled(&d.user), filled(&d.webhook)) {
            (None, None, None, Some(url)) => (
                GroupKey::new(WEBHOOK_CONNECTOR, alert.group.to_string().as_str()),
                ActionKind::Webhook { url: url.to_owned(), text: text.to_owned() },
            ),
            (Some(connector), Some(group), None, None) => {
                (GroupKey::new(connector, group), ActionKind::Send { segments: vec![Segment::text(text)] })
            }
            (Some(connector), None, Some(user), None) => (
                GroupKey::new(connector, alert.group.group.as_str()),
                ActionKind::DirectMessage { member: MemberId::new(user), segments: vec![Segment::text(text)] },
            ),
            _ => continue,
        };
        if group.connector.as_str() != WEBHOOK_CONNECTOR && capabilities_of(&group.connector).is_none() {
            skipped.push(group.connector.to_string());
            continue;
        }
        actions.push(Action { id: ActionId::new(format!("{}.to{n}", alert.id)), group, kind, ..alert.clone() });
    }
    (actions, skipped)
}
