//! WeCom channel codes: `POST /api/v1/wecom/{connector}/channels/{channel}/join-way` makes a
//! customer-group join way (渠道活码, `groupchat/add_join_way`) whose joins carry the
//! channel's invite code as `state`, so they are attributed to the channel. The groups are
//! the channel pool's groups on this connector, or `chat_ids` in the body.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use qunzhu_connectors::wecom::WecomConnector;
use qunzhu_connectors::wecom::api::ApiError as WecomError;
use qunzhu_core::Store;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;

#[derive(Clone)]
struct WecomState {
    store: Arc<dyn Store>,
    connectors: Arc<Vec<Arc<WecomConnector>>>,
}

/// The WeCom routes (empty when no WeCom connector is configured).
pub fn routes(store: Arc<dyn Store>, connectors: Vec<Arc<WecomConnector>>) -> Router {
    Router::new()
        .route("/api/v1/wecom/{connector}/channels/{channel}/join-way", post(join_way))
        .with_state(WecomState { store, connectors: Arc::new(connectors) })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct JoinWayBody {
    /// Customer groups (chat ids); default: the channel pool's groups on this connector.
    chat_ids: Vec<String>,
}

async fn join_way(
    State(state): State<WecomState>,
    Path((connector, channel)): Path<(String, String)>,
    body: Option<Json<JoinWayBody>>,
) -> Result<Json<Value>, ApiError> {
    let Some(wecom) = state.connectors.iter().find(|c| c.config().id == connector) else {
        return Err(ApiError::not_found("unknown_connector", format!("no WeCom connector `{connector}` is configured")));
    };
    let Some(found) = state.store.get_channel(&channel).await.map_err(ApiError::internal)? else {
        return Err(ApiError::not_found("unknown_channel", format!("no channel `{channel}`; create it first (POST /api/v1/channels)")));
    };
    let mut chat_ids = body.map(|Json(b)| b.chat_ids).unwrap_or_default();
    if chat_ids.is_empty()
        && let Some(pool) = &found.pool
        && let Some(pool) = state.store.get_pool(pool).await.map_err(ApiError::internal)?
    {
        chat_ids = pool
            .groups
            .iter()
            .filter(|g| g.group.connector.as_str() == connector)
            .map(|g| g.group.group.to_string())
            .collect();
    }
    if chat_ids.is_empty() {
        return Err(ApiError::bad_request(
            "no_groups",
            format!("channel `{channel}` has no pool with groups on `{connector}`; give `chat_ids` or add WeCom groups to its pool"),
        ));
    }
    match wecom.join_way(&chat_ids, &found.code).await {
        Ok(way) => Ok(Json(json!({"config_id": way.config_id, "qr_code": way.qr_code, "state": found.code, "chat_ids": chat_ids}))),
        Err(error @ WecomError::Refused { .. }) => Err(ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "wecom_refused",
            format!("{error}; check the app's 客户联系 permission and that the groups belong to its staff"),
        )),
        Err(error) => Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "wecom_unreachable",
            format!("{error}; try again in a minute"),
        )),
    }
}
