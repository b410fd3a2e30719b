//! The WebSocket transports. Both end in [`drive`]: frames in go to [`Link::receive`],
//! calls out come from the session's channel.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message as AxumMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WireMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tracing::{debug, warn};

use super::{Link, OnebotConfig};
use crate::secret::Secret;

/// What came in on a socket.
enum Incoming {
    Text(String),
    Nothing,
    Closed(String),
}

/// `Authorization: Bearer <token>` (or `Token <token>`, as some implementations write it),
/// else `?access_token=`.
pub(super) fn presented_token<'a>(headers: &'a HeaderMap, query: &'a HashMap<String, String>) -> Option<&'a str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            let value = value.trim();
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("Token "))
                .unwrap_or(value)
                .trim()
        })
        .or_else(|| query.get("access_token").map(String::as_str))
}

#[derive(Clone)]
struct Endpoint {
    link: Arc<Link>,
    token: Secret,
}

pub(super) fn reverse_router(config: &OnebotConfig, link: Arc<Link>) -> Router {
    let endpoint = Endpoint {
        link,
        token: config.access_token.clone(),
    };
    Router::new().route(&config.path, get(upgrade)).with_state(endpoint)
}

/// The reverse-WebSocket handshake: token checked as the spec's HTTP rules say (401 when
/// none is given, 403 when it is wrong), `X-Self-ID` required, `X-Client-Role` honoured.
async fn upgrade(
    State(endpoint): State<Endpoint>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let link = endpoint.link;
    let expected = endpoint.token.expose();
    if !expected.is_empty() {
        match presented_token(&headers, &query) {
            None => {
                warn!(connector = %link.id, "OneBot connection without an access token refused");
                return (StatusCode::UNAUTHORIZED, "access token required").into_response();
            }
            Some(token) if !endpoint.token.matches(token) => {
                warn!(connector = %link.id, "OneBot connection with a wrong access token refused");
                return (StatusCode::FORBIDDEN, "wrong access token").into_response();
            }
            Some(_) => {}
        }
    }
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let Some(self_id) = header_text("x-self-id") else {
        return (StatusCode::BAD_REQUEST, "X-Self-ID header required").into_response();
    };
    let role = header_text("x-client-role").unwrap_or_else(|| "Universal".into());
    let can_call = !role.eq_ignore_ascii_case("event");
    ws.on_upgrade(move |socket| serve_reverse(link, socket, self_id, can_call))
}

async fn serve_reverse(link: Arc<Link>, socket: WebSocket, self_id: String, can_call: bool) {
    let (sink, stream) = socket.split();
    let sink = sink.with(|text: String| {
        std::future::ready(Ok::<_, axum::Error>(AxumMessage::Text(text.into())))
    });
    let stream = stream.map(|message| match message {
        Ok(AxumMessage::Text(text)) => Incoming::Text(text.to_string()),
        Ok(AxumMessage::Binary(bytes)) => match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Incoming::Text(text),
            Err(_) => Incoming::Nothing,
        },
        Ok(AxumMessage::Close(_)) => Incoming::Closed("the implementation closed the connection".into()),
        Ok(_) => Incoming::Nothing,
        Err(error) => Incoming::Closed(format!("connection error: {error}")),
    });
    drive(&link, Some(self_id), can_call, stream, sink).await;
}

/// Runs one connection until it ends, the session is replaced, or qunzhu shuts down.
async fn drive<S, K>(link: &Link, self_id: Option<String>, can_call: bool, stream: S, sink: K)
where
    S: Stream<Item = Incoming> + Unpin,
    K: Sink<String> + Unpin + Send + 'static,
{
    let (generation, outgoing) = link.attach(self_id, can_call);
    let mut writer = tokio::spawn(write_frames(outgoing, sink));
    let mut closing = link.closing.subscribe();
    let mut stream = stream;
    let reason = loop {
        if *closing.borrow_and_update() {
            break "qunzhu is shutting down".to_owned();
        }
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Incoming::Text(text)) => link.receive(&text).await,
                Some(Incoming::Nothing) => {}
                Some(Incoming::Closed(reason)) => break reason,
                None => break "the connection ended".to_owned(),
            },
            _ = &mut writer => break "a newer connection replaced this one, or writing failed".to_owned(),
            _ = closing.changed() => {}
        }
    };
    link.detach(generation, &reason);
    writer.abort();
}

async fn write_frames<K>(mut outgoing: mpsc::UnboundedReceiver<String>, mut sink: K)
where
    K: Sink<String> + Unpin,
{
    while let Some(frame) = outgoing.recv().await {
        if sink.send(frame).await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

/// The forward-WebSocket client: connect, serve, and on any failure wait (1 s, doubling up
/// to `reconnect_max_secs`) and connect again, until qunzhu shuts down.
pub(super) async fn run_forward(config: &OnebotConfig, link: Arc<Link>) {
    let Some(url) = config.url.clone() else {
        link.failed_to_connect("forward_ws needs `url`".into());
        return;
    };
    let max = Duration::from_secs(config.reconnect_max_secs.max(1));
    let mut delay = Duration::from_secs(1);
    let mut closing = link.closing.subscribe();
    loop {
        if *closing.borrow_and_update() {
            return;
        }
        match connect(&url, &config.access_token).await {
            Ok(socket) => {
                delay = Duration::from_secs(1);
                let (sink, stream) = socket.split();
                let sink = sink.with(|text: String| {
                    std::future::ready(Ok::<_, tokio_tungstenite::tungstenite::Error>(WireMessage::Text(text.into())))
                });
                let stream = stream.map(|message| match message {
                    Ok(WireMessage::Text(text)) => Incoming::Text(text.to_string()),
                    Ok(WireMessage::Binary(bytes)) => match String::from_utf8(bytes.to_vec()) {
                        Ok(text) => Incoming::Text(text),
                        Err(_) => Incoming::Nothing,
                    },
                    Ok(WireMessage::Close(_)) => Incoming::Closed("the implementation closed the connection".into()),
                    Ok(_) => Incoming::Nothing,
                    Err(error) => Incoming::Closed(format!("connection error: {error}")),
                });
                drive(&link, None, true, stream, sink).await;
            }
            Err(error) => {
                debug!(connector = %link.id, %error, "OneBot connection failed");
                link.failed_to_connect(error);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = closing.changed() => {}
        }
        delay = (delay * 2).min(max);
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, token: &Secret) -> Result<Socket, String> {
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("bad url `{url}`: {e}"))?;
    if !token.expose().is_empty() {
        let value = format!("Bearer {}", token.expose())
            .parse()
            .map_err(|_| "the access token is not a valid header value".to_owned())?;
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| format!("could not connect to {url}: {e}"))?;
    Ok(socket)
}
