//! The HTTP transport: API calls are `POST {url}/{action}` to the implementation; events
//! arrive as HTTP POSTs on qunzhu's listener (an axum route), signed with the `secret`.
//!
//! There is no connection to hold, so health is about the last exchange: `connected` turns
//! true when an API call or an event POST succeeds, and false when an API call cannot reach
//! the implementation or is refused.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use qunzhu_core::DeliveryError;
use serde_json::Value;
use sha1::Sha1;
use tracing::{debug, warn};

use super::transport::presented_token;
use super::{Link, OnebotConfig, action, event};
use crate::secret::Secret;

type HmacSha1 = Hmac<Sha1>;

/// `sha1=<hex HMAC-SHA1(secret, body)>`, the `X-Signature` of an event POST.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = HmacSha1::new_from_slice(secret.as_bytes()) else {
        return String::new(); // HMAC takes keys of any length; never happens
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha1={hex}")
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks an `X-Signature` header value in constant time.
fn signature_matches(secret: &Secret, body: &[u8], header: &str) -> bool {
    let header = header.trim();
    let hex = header
        .strip_prefix("sha1=")
        .or_else(|| header.strip_prefix("SHA1="))
        .unwrap_or(header);
    let (Some(expected), Ok(mut mac)) = (from_hex(hex), HmacSha1::new_from_slice(secret.expose().as_bytes())) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[derive(Clone)]
struct Endpoint {
    link: Arc<Link>,
    token: Secret,
    secret: Option<Secret>,
}

pub(super) fn events_router(config: &OnebotConfig, link: Arc<Link>) -> Router {
    let endpoint = Endpoint {
        link,
        token: config.access_token.clone(),
        secret: config.event_secret().cloned(),
    };
    Router::new().route(&config.path, post(receive_event)).with_state(endpoint)
}

fn refuse(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

/// One event POST: signature (when a secret is set), then token, then the JSON; answered
/// 204 (qunzhu makes no quick operations: its actions go through the outbox).
async fn receive_event(
    State(endpoint): State<Endpoint>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let link = endpoint.link;
    let mut signed = false;
    if let Some(secret) = &endpoint.secret {
        match headers.get("x-signature").and_then(|v| v.to_str().ok()) {
            None => {
                warn!(connector = %link.id, "OneBot event POST without X-Signature refused");
                return refuse(StatusCode::UNAUTHORIZED, "X-Signature required (the secret is set on qunzhu)");
            }
            Some(signature) if !signature_matches(secret, &body, signature) => {
                warn!(connector = %link.id, "OneBot event POST with a wrong X-Signature refused");
                return refuse(StatusCode::UNAUTHORIZED, "wrong X-Signature (is the secret the same on both sides?)");
            }
            Some(_) => signed = true,
        }
    }
    if !endpoint.token.expose().is_empty() {
        match presented_token(&headers, &query) {
            // A signature made with the shared secret authenticates the sender as well; some
            // implementations (Lagrange's HttpPost) sign but send no token.
            None if signed => {}
            None => {
                warn!(connector = %link.id, "OneBot event POST without an access token refused");
                return refuse(StatusCode::UNAUTHORIZED, "access token required");
            }
            Some(token) if !endpoint.token.matches(token) => {
                warn!(connector = %link.id, "OneBot event POST with a wrong access token refused");
                return refuse(StatusCode::FORBIDDEN, "wrong access token");
            }
            Some(_) => {}
        }
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            debug!(connector = %link.id, %error, "OneBot event POST is not JSON");
            return (StatusCode::BAD_REQUEST, format!("the body is not JSON: {error}")).into_response();
        }
    };
    let self_id = headers
        .get("x-self-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    link.reached(self_id);
    link.handle(event::decode_value(&link.id, &value)).await;
    StatusCode::NO_CONTENT.into_response()
}

/// Makes one API call: `POST {base}/{action}` with the params as the JSON body.
///
/// # Errors
/// [`DeliveryError::Temporary`] when the implementation cannot be reached, does not answer
/// in time or answers 5xx — the outbox retries; [`DeliveryError::Permanent`] when it refuses
/// the access token (401/403) or has no such action (404).
pub(super) async fn call(
    client: &reqwest::Client,
    link: &Link,
    base: &str,
    token: &Secret,
    call: &action::Call,
    timeout: Duration,
) -> Result<Value, DeliveryError> {
    let temporary = |message: String| DeliveryError::Temporary {
        message,
        retry_after_secs: None,
    };
    let url = format!("{}/{}", base.trim_end_matches('/'), call.action);
    let mut request = client.post(&url).timeout(timeout).json(&call.params);
    if !token.expose().is_empty() {
        request = request.header(header::AUTHORIZATION, format!("Bearer {}", token.expose()));
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            let message = if error.is_timeout() {
                format!("no answer to {} within {}s", call.action, timeout.as_secs())
            } else {
                format!("could not reach the OneBot HTTP API at {base}: {error}")
            };
            link.unreachable(message.clone());
            return Err(temporary(message));
        }
    };
    let status = response.status();
    match status.as_u16() {
        401 | 403 => {
            let message = format!(
                "the OneBot HTTP API refused the access_token (HTTP {}); set the same access_token on qunzhu and the implementation",
                status.as_u16()
            );
            link.unreachable(message.clone());
            return Err(DeliveryError::Permanent(message));
        }
        404 => {
            link.reached(None);
            return Err(DeliveryError::Permanent(format!(
                "the OneBot HTTP API has no `{}` (HTTP 404)",
                call.action
            )));
        }
        _ if !status.is_success() => {
            let message = format!("the OneBot HTTP API answered HTTP {} to {}", status.as_u16(), call.action);
            link.unreachable(message.clone());
            return Err(temporary(message));
        }
        _ => {}
    }
    match response.json::<Value>().await {
        Ok(body) => {
            link.reached(None);
            Ok(body)
        }
        Err(error) => Err(temporary(format!("the answer to {} is not JSON: {error}", call.action))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha1_hex_and_checked_exactly() {
        let body = br#"{"post_type":"notice"}"#;
        // openssl dgst -sha1 -hmac k3y
        let expected = "sha1=b4bc34ef292e0c21c62fc1fe1af64f4c348cb126";
        assert_eq!(sign("k3y", body), expected);
        let secret = Secret::new("k3y");
        assert!(signature_matches(&secret, body, expected));
        assert!(signature_matches(&secret, body, &expected.to_uppercase().replace("SHA1=", "sha1=")));
        assert!(!signature_matches(&secret, body, "sha1=b4bc34ef292e0c21c62fc1fe1af64f4c348cb127"));
        assert!(!signature_matches(&secret, b"{}", expected));
        assert!(!signature_matches(&Secret::new("other"), body, expected));
        assert!(!signature_matches(&secret, body, "sha1=zz"));
        assert!(!signature_matches(&secret, body, ""));
    }
}
