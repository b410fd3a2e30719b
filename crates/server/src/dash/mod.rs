//! The operator's dashboard (运营后台): server-rendered pages (maud) with light progressive
//! enhancement (htmx, `dash.js`) and charts (ECharts), every asset served by the binary.
//!
//! Pages read through the same store and engine calls as the JSON API and change things
//! only through the documented `/api/v1` routes (`dash.js` sends the session's CSRF token),
//! so the dashboard has no private shortcuts.
//!
//! - [`layout`] — the shell: navigation, top bar, language switch; [`layout::Page`].
//! - [`auth`] — [`auth::Viewer`] (who is looking, their role, CSRF token, language).
//! - [`ui`] — shared pieces: times, badges, paging, sparklines, API buttons.
//! - [`account_pages`] — `/setup` (first run), `/login`, `/logout`, `/settings/accounts`,
//!   `/settings/tokens`.
//! - [`assets`] — `/assets/…` (dash.css, dash.js, htmx, ECharts).
//!
//! Each page family lives in its own module with a `routes()` merged below.

pub mod account_pages;
pub mod assets;
pub mod auth;
pub mod layout;
pub mod rulebook;
pub mod ui;
pub mod overview;
pub mod group;
pub mod members;
pub mod connectors;

pub mod moderation;
pub mod ops;
pub mod tasks;
pub mod channels;
pub mod engagement;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::html;
use qunzhu_core::StoreError;
use qunzhu_engine::{EngineError, Locale};
use serde::Deserialize;
use tracing::error;

use crate::http::AppState;

/// Cookie holding the chosen page language.
pub const LANG_COOKIE: &str = "qunzhu_lang";

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/{name}", get(assets::serve))
        .route("/lang/{tag}", get(switch_lang))
        .merge(moderation::routes().merge(tasks::routes()).merge(channels::routes()).merge(engagement::routes()))
        .merge(overview::routes())
        .merge(group::routes())
        .merge(members::routes())
        .merge(connectors::routes())
        .merge(account_pages::routes())
        .merge(rulebook::routes())
}

/// The page language: `?lang=` wins, then the `qunzhu_lang` cookie, then zh-CN.
pub fn request_lang(parts: &Parts) -> Locale {
    let from_query = parts.uri.query().and_then(|q| {
        q.split('&').find_map(|pair| pair.strip_prefix("lang=")).and_then(parse_lang)
    });
    from_query.or_else(|| cookie(parts, LANG_COOKIE).and_then(|v| parse_lang(&v))).unwrap_or_default()
}

fn parse_lang(tag: &str) -> Option<Locale> {
    match tag {
        "en" => Some(Locale::En),
        "zh-CN" | "zh" => Some(Locale::ZhCn),
        _ => None,
    }
}

/// A request cookie's value.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// `GET /lang/{zh-CN|en}?next=/path`: remembers the language for a year and goes back.
async fn switch_lang(Path(tag): Path<String>, Query(query): Query<NextQuery>) -> Response {
    let lang = parse_lang(&tag).unwrap_or_default();
    let next = local_path(query.next.as_deref());
    let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.tag());
    let mut response = Redirect::to(next).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `next` if it is a path on this site (no open redirects), else `/`.
pub fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path,
        _ => "/",
    }
}

/// The request's path and query, for links that come back here.
pub fn here(parts_uri: &axum::http::Uri) -> String {
    parts_uri.path_and_query().map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned())
}

/// A dashboard failure: a redirect (to sign in) or an error page.
#[derive(Debug)]
pub enum DashError {
    Redirect(String),
    Page { status: StatusCode, lang: Locale, message: String },
}

impl DashError {
    pub fn forbidden(lang: Locale) -> Self {
        Self::Page { status: StatusCode::FORBIDDEN, lang, message: lang.pick("你的角色只能查看，不能修改。", "Your role can view but not change this.").to_owned() }
    }

    pub fn not_found(lang: Locale, what: &str) -> Self {
        Self::Page { status: StatusCode::NOT_FOUND, lang, message: format!("{}{what}", lang.pick("找不到：", "Not found: ")) }
    }

    pub fn bad_request(lang: Locale, message: impl Into<String>) -> Self {
        Self::Page { status: StatusCode::BAD_REQUEST, lang, message: message.into() }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        error!(error = %detail, "dashboard page failed");
        Self::Page { status: StatusCode::INTERNAL_SERVER_ERROR, lang: Locale::ZhCn, message: "内部错误，详情见服务器日志 (internal error; see the server log)".to_owned() }
    }
}

impl From<StoreError> for DashError {
    fn from(error: StoreError) -> Self {
        Self::internal(error)
    }
}

impl From<EngineError> for DashError {
    fn from(error: EngineError) -> Self {
        Self::internal(error)
    }
}

impl IntoResponse for DashError {
    fn into_response(self) -> Response {
        match self {
            Self::Redirect(to) => Redirect::to(&to).into_response(),
            Self::Page { status, lang, message } => {
                let title = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
                let body = html! {
                    div.card {
                        h2 { (title) }
                        p { (message) }
                        p { a href="/" { (lang.pick("回到总览", "Back to the overview")) } }
                    }
                };
                (status, layout::bare(lang, "/", &title, body)).into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use axum::http::Request;

    #[test]
    fn only_local_paths_are_followed_after_a_language_switch() {
        assert_eq!(local_path(Some("/members?tag=核心")), "/members?tag=核心");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn the_query_language_wins_over_the_cookie_and_chinese_is_the_default() {
        let parts = |uri: &str, cookie: Option<&str>| {
            let mut request = Request::builder().uri(uri);
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            request.body(()).unwrap().into_parts().0
        };
        assert_eq!(request_lang(&parts("/", None)), Locale::ZhCn);
        assert_eq!(request_lang(&parts("/", Some("a=b; qunzhu_lang=en"))), Locale::En);
        assert_eq!(request_lang(&parts("/?x=1&lang=zh-CN", Some("qunzhu_lang=en"))), Locale::ZhCn);
        assert_eq!(request_lang(&parts("/?lang=fr", Some("qunzhu_lang=en"))), Locale::En);
    }
}
