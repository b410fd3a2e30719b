//! The dashboard's static files, embedded in the binary: nothing loads from the internet.
//!
//! `GET /assets/{name}` serves them with a long cache lifetime; pages link them with
//! [`url`], which appends the build's version so an upgrade is never served stale.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset { name: "dash.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../../assets/dash/dash.css") },
    Asset { name: "dash.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../assets/dash/dash.js") },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", body: include_bytes!("../../assets/dash/favicon.svg") },
    // htmx 2 (0BSD) and Apache ECharts 5 (Apache-2.0), vendored by scripts/vendor-assets.sh.
    Asset { name: "htmx.min.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../assets/vendor/htmx.min.js") },
    Asset { name: "echarts.min.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../assets/vendor/echarts.min.js") },
];

/// The URL of an embedded asset, versioned for caching.
pub fn url(name: &str) -> String {
    format!("/assets/{name}?v={}", env!("CARGO_PKG_VERSION"))
}

/// `GET /assets/{name}`.
pub(super) async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=604800")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        asset.body,
    )
        .into_response()
}
