//! `POST /api/v1/telegram/{connector}/invite-links`: a named invite link for a channel in a
//! Telegram group (`createChatInviteLink` with `name` = the channel's code), so joins through
//! it are attributed to the channel. Put the link in the channel's pool group as its
//! `invite_url`, or hand it out directly.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use qunzhu_connectors::telegram::TelegramConnector;
use qunzhu_core::{Connector, ConnectorId, DeliveryError};
use qunzhu_engine::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiError;

#[derive(Clone)]
struct TelegramState {
    engine: Engine,
    connectors: Arc<HashMap<ConnectorId, Arc<TelegramConnector>>>,
}

/// The routes, over the configured Telegram connectors.
pub fn router(engine: Engine, connectors: &[Arc<TelegramConnector>]) -> Router {
    let connectors = connectors.iter().map(|c| (c.id().clone(), c.clone())).collect();
    Router::new()
        .route("/api/v1/telegram/{connector}/invite-links", post(create_invite_link))
        .with_state(TelegramState { engine, connectors: Arc::new(connectors) })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteLinkRequest {
    /// The Telegram chat id, e.g. `-1001234567890`.
    group: String,
    /// The channel (by id) whose code names the link.
    channel: String,
    /// Joining through the link asks first (a join request), so admission screens it.
    #[serde(default)]
    creates_join_request: bool,
}

async fn create_invite_link(
    State(state): State<TelegramState>,
    Path(connector): Path<String>,
    Json(request): Json<InviteLinkRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let telegram = state.connectors.get(&ConnectorId::new(connector.clone())).ok_or_else(|| {
        ApiError::not_found("unknown_connector", format!("no Telegram connector `{connector}`; check the id in qunzhu.toml"))
    })?;
    let channel = state.engine.store().get_channel(&request.channel).await?.ok_or_else(|| {
        ApiError::not_found("unknown_channel", format!("no channel `{}`; create it first (POST /api/v1/channels)", request.channel))
    })?;
    let link = telegram
        .create_invite_link(request.group.trim(), &channel.code, request.creates_join_request)
        .await
        .map_err(|error| match error {
            DeliveryError::Permanent(reason) | DeliveryError::NeedsStaff { reason, .. } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "telegram_refused",
                format!("Telegram refused the invite link ({reason}); the bot must be an admin of the group with the right to invite users"),
            ),
            DeliveryError::Temporary { message, .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "telegram_unreachable",
                format!("Telegram could not be reached ({message}); try again shortly"),
            ),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "invite_link": link,
            "name": channel.code,
            "group": request.group.trim(),
            "channel": channel.id,
            "creates_join_request": request.creates_join_request,
        })),
    ))
}
