//! Who may call what: one middleware layer in front of every route.
//!
//! - It recognises the caller: `Authorization: Bearer <API token>`, else the `qunzhu_session`
//!   cookie, and puts the [`Principal`] into the request's extensions (the dashboard's
//!   `Viewer` extractor reads it from there).
//! - **The operator API** (`/api/v1/…` except the bridge endpoints, which have their own
//!   tokens, and the sandbox API): once any account exists, a caller without credentials gets
//!   401 `unauthenticated`, a bad token 401 `invalid_token`, and a viewer (session or token)
//!   may only read (403 `forbidden_role`). While no account exists the API stays open, as
//!   before accounts (`serve` warns when it listens beyond loopback like that).
//! - **CSRF**: a request authenticated by the session cookie that changes something (not
//!   GET/HEAD/OPTIONS) must carry the session's CSRF token in `X-CSRF-Token` or in a `_csrf`
//!   form field, else 403 `csrf_failed`. API tokens are no ambient credential and are exempt.
//!   `/login` and `/setup` (no session yet) instead refuse a foreign `Origin`.
//! - Public: `/healthz`, `/api/openapi.json`, `/i/{code}`, the sandbox, platform webhooks
//!   (they are outside `/api/v1`), the dashboard's assets and its login and setup pages.

use std::net::{IpAddr, SocketAddr};

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
pub use crate::accounts::Principal;
use crate::accounts::{SESSION_COOKIE, SESSION_DAYS};

/// The header htmx (and scripts) send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field pages send the CSRF token in.
pub const CSRF_FIELD: &str = "_csrf";
/// Largest form body read to find `_csrf` (rulebook text areas included).
const FORM_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    /// No credentials needed, none checked.
    Public,
    /// `/login`, `/setup`: no session needed; a foreign Origin is refused.
    Entry,
    /// The operator API.
    Api,
    /// Dashboard pages: the `Viewer` extractor decides; CSRF is checked here.
    Dashboard,
}

fn area(path: &str) -> Area {
    const PUBLIC_PREFIXES: [&str; 6] = ["/api/v1/bridge/", "/api/v1/sandbox/", "/i/", "/assets/", "/static/", "/sandbox"];
    if path == "/healthz" || path == "/api/openapi.json" || PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p)) {
        Area::Public
    } else if path == "/login" || path == "/setup" {
        Area::Entry
    } else if path.starts_with("/api/v1/") || path == "/api/v1" {
        Area::Api
    } else if path.starts_with("/api/") || path.starts_with("/telegram/") || path.starts_with("/wecom/") || path.starts_with("/onebot/") {
        Area::Public
    } else {
        Area::Dashboard
    }
}

fn safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The caller's IP (the socket's peer; no proxy header is trusted).
pub fn client_ip(request: &Request) -> Option<IpAddr> {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value for a session token (`None`: the deleting cookie).
pub fn session_cookie(state: &AppState, token: Option<&str>) -> HeaderValue {
    let secure = if state.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) { "; Secure" } else { "" };
    let text = match token {
        Some(token) => format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", SESSION_DAYS * 24 * 3600),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("qunzhu_session=; Path=/; Max-Age=0"))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
}

fn unauthenticated(code: &'static str, message: &str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, code, message).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

pub fn csrf_failed() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_failed",
        "请求缺少有效的 CSRF 令牌，请刷新页面后重试 (the request lacks a valid CSRF token; reload the page and retry)",
    )
}

/// The layer's function: see the module docs.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let area = area(&path);
    if area == Area::Public {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let auth = state.auth.clone();

    let mut principal = None;
    if let Some(token) = bearer(request.headers()).filter(|_| area == Area::Api).map(str::to_owned) {
        match auth.token_principal(&token).await {
            Ok(Some(found)) => principal = Some(found),
            // While no account exists the API is open, so a token that is no API token (a
            // bridge's, sent to every route by a simple client) is no reason to refuse.
            Ok(None) => match auth.accounts_exist().await {
                Ok(false) => {}
                Ok(true) => return unauthenticated("invalid_token", "API 令牌无效或已撤销 (the API token is unknown or revoked)"),
                Err(error) => return ApiError::from(error).into_response(),
            },
            Err(error) => return ApiError::from(error).into_response(),
        }
    } else if let Some(token) = cookie(request.headers(), SESSION_COOKIE).filter(|t| !t.is_empty()) {
        match auth.session_principal(&token).await {
            Ok(found) => principal = found,
            Err(error) => return ApiError::from(error).into_response(),
        }
    }

    match area {
        Area::Api => {
            let open = match auth.accounts_exist().await {
                Ok(exists) => !exists,
                Err(error) => return ApiError::from(error).into_response(),
            };
            match &principal {
                None if !open => {
                    return unauthenticated(
                        "unauthenticated",
                        "需要登录或 API 令牌 (log in, or send `Authorization: Bearer <token>`)",
                    );
                }
                Some(p) if !safe(&method) && !p.role.allows(qunzhu_core::accounts::Role::Operator) => {
                    return forbidden_role().into_response();
                }
                _ => {}
            }
        }
        Area::Entry => {
            if !safe(&method) && foreign_origin(request.headers()) {
                return csrf_failed().into_response();
            }
        }
        Area::Dashboard | Area::Public => {}
    }

    if area != Area::Entry
        && !safe(&method)
        && let Some(expected) = principal.as_ref().and_then(|p| p.csrf.clone())
    {
        let (ok, rebuilt) = csrf_matches(request, &expected).await;
        request = match rebuilt {
            Some(rebuilt) if ok => rebuilt,
            _ => return csrf_failed().into_response(),
        };
    }

    let refreshed = principal.as_ref().and_then(|p| p.refreshed_token.clone());
    if let Some(principal) = principal {
        request.extensions_mut().insert(principal);
    }
    let mut response = next.run(request).await;
    if let Some(token) = refreshed
        && !response.headers().contains_key(header::SET_COOKIE)
    {
        response.headers_mut().append(header::SET_COOKIE, session_cookie(&state, Some(&token)));
    }
    response
}

pub fn forbidden_role() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden_role",
        "只读账号不能修改，请找所有者调整角色 (a viewer cannot change anything; ask an owner for another role)",
    )
}

/// Whether an `Origin` header names another host than `Host`.
fn foreign_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest).trim_end_matches('/');
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

/// Whether the request carries `expected` in the header or the form field; the request is
/// given back (rebuilt when its body was read), `None` when its body could not be read.
async fn csrf_matches(request: Request, expected: &str) -> (bool, Option<Request>) {
    if let Some(given) = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return (constant_time_eq(given.as_bytes(), expected.as_bytes()), Some(request));
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (false, Some(request));
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_BODY_BYTES).await else {
        return (false, None);
    };
    let ok = form_field(&bytes, CSRF_FIELD).is_some_and(|given| constant_time_eq(given.as_bytes(), expected.as_bytes()));
    (ok, Some(Request::from_parts(parts, Body::from(bytes))))
}

/// One field of a urlencoded form.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_into_the_right_areas() {
        assert_eq!(area("/api/v1/tasks"), Area::Api);
        assert_eq!(area("/api/v1/bridge/qq/events"), Area::Public);
        assert_eq!(area("/api/v1/sandbox/groups"), Area::Public);
        assert_eq!(area("/api/openapi.json"), Area::Public);
        assert_eq!(area("/healthz"), Area::Public);
        assert_eq!(area("/i/ABC123"), Area::Public);
        assert_eq!(area("/telegram/tg/webhook"), Area::Public);
        assert_eq!(area("/login"), Area::Entry);
        assert_eq!(area("/"), Area::Dashboard);
        assert_eq!(area("/settings/accounts"), Area::Dashboard);
    }

    #[test]
    fn form_fields_are_decoded() {
        assert_eq!(form_field(b"a=1&_csrf=x%2By+z&b=", "_csrf").as_deref(), Some("x+y z"));
        assert_eq!(form_field(b"name=%E5%B0%8F%E7%8E%8B", "name").as_deref(), Some("小王"));
        assert_eq!(form_field(b"a=1", "_csrf"), None);
    }

    #[test]
    fn an_origin_from_elsewhere_is_foreign() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("qunzhu.example.com"));
        assert!(!foreign_origin(&headers), "no Origin: a form from an old browser or curl");
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://qunzhu.example.com"));
        assert!(!foreign_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(foreign_origin(&headers));
    }
}
