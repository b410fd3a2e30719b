//! Small pieces every dashboard page uses: times, numbers, badges, empty states, paging,
//! sparklines and API-driven buttons. Pages compose these; they do not repeat markup.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use qunzhu_engine::Locale;
use serde::Deserialize;

use super::auth::Viewer;

/// `?page=&per_page=` on list pages (1-based; 50 per page by default, at most 200).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(default)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Default for Paging {
    fn default() -> Self {
        Self { page: 1, per_page: 50 }
    }
}

impl Paging {
    pub fn per_page(self) -> u32 {
        self.per_page.clamp(1, 200)
    }

    pub fn offset(self) -> u32 {
        (self.page.max(1) - 1) * self.per_page()
    }

    /// The slice of `items` this page shows, and whether more follow.
    pub fn slice<T>(self, items: &[T]) -> (&[T], bool) {
        let start = (self.offset() as usize).min(items.len());
        let end = (start + self.per_page() as usize).min(items.len());
        (&items[start..end], end < items.len())
    }
}

/// Previous/next links keeping the other query parameters (`query` without `page=`).
pub fn pager(lang: Locale, paging: Paging, has_more: bool, path: &str, query: &str) -> Markup {
    let page = paging.page.max(1);
    let link = |p: u32| {
        if query.is_empty() { format!("{path}?page={p}") } else { format!("{path}?{query}&page={p}") }
    };
    html! {
        @if page > 1 || has_more {
            nav.pager aria-label=(lang.pick("分页", "Pages")) {
                @if page > 1 { a.button href=(link(page - 1)) rel="prev" { (lang.pick("上一页", "Previous")) } }
                span.muted { (lang.pick("第 ", "Page ")) (page) (lang.pick(" 页", "")) }
                @if has_more { a.button href=(link(page + 1)) rel="next" { (lang.pick("下一页", "Next")) } }
            }
        }
    }
}

/// A time in the operator's timezone, `YYYY-MM-DD HH:MM`.
pub fn time(at: DateTime<Utc>, tz: Tz) -> Markup {
    let local = at.with_timezone(&tz);
    html! { time datetime=(at.to_rfc3339()) title=(local.to_rfc3339()) { (local.format("%Y-%m-%d %H:%M")) } }
}

/// Ok / warning / danger / neutral label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Neutral,
    Ok,
    Warn,
    Danger,
}

pub fn badge(tone: Tone, text: &str) -> Markup {
    let class = match tone {
        Tone::Neutral => "badge",
        Tone::Ok => "badge ok",
        Tone::Warn => "badge warn",
        Tone::Danger => "badge danger",
    };
    html! { span class=(class) { (text) } }
}

/// "Nothing here yet" with a hint of what fills it.
pub fn empty(lang: Locale, zh: &str, en: &str) -> Markup {
    html! { div.empty { (lang.pick(zh, en)) } }
}

/// A headline figure.
pub fn stat(label: &str, value: impl std::fmt::Display, delta: Option<f64>) -> Markup {
    html! {
        div.stat {
            div.label { (label) }
            div.value { (value) }
            @if let Some(delta) = delta {
                @let class = if delta >= 0.0 { "delta up" } else { "delta down" };
                div class=(class) { (format!("{:+.0}%", delta * 100.0)) }
            }
        }
    }
}

/// An inline SVG sparkline of `values` (cheap enough for a thousand rows; no script).
pub fn sparkline(values: &[u64]) -> Markup {
    const W: f64 = 96.0;
    const H: f64 = 22.0;
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = if values.len() > 1 { W / (values.len() - 1) as f64 } else { W };
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, H - 1.0 - (*v as f64 / max) * (H - 2.0)))
        .collect();
    html! {
        svg.spark width=(W) height=(H) viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(values.iter().map(u64::to_string).collect::<Vec<_>>().join(",")) {
            polyline fill="none" stroke="currentColor" stroke-width="1.5" points=(points.join(" ")) {}
        }
    }
}

/// A button that calls the JSON API (`dash.js`), shown only to viewers who may edit.
/// `then`: `reload`, `none` or a path to go to (`{field}` filled from the answer).
pub fn api_button(viewer: &Viewer, method: &str, url: &str, body: Option<&serde_json::Value>, label: &str, then: &str) -> Markup {
    html! {
        @if viewer.can_edit() {
            button type="button" data-api=(url) data-method=(method) data-body=[body.map(|b| b.to_string())] data-then=(then) { (label) }
        }
    }
}

/// A labelled form field; `path` is the API's problem path shown next to it on error.
pub fn field(label: &str, path: &str, input: Markup) -> Markup {
    html! { div.field data-field=(path) { label { (label) } (input) } }
}
