//! Pieces shared by the operations pages (moderation, tasks, tickets, channels, schedules,
//! content, lotteries, redemptions): who acts in API bodies, cross-group times, statuses.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::auth::Viewer;
use super::ui::{self, Tone};

/// Cross-group lists show times in China's timezone (the groups' own may differ).
pub const LIST_TZ: Tz = chrono_tz::Asia::Shanghai;

/// A time in a cross-group list.
pub fn at(time: DateTime<Utc>) -> Markup {
    ui::time(time, LIST_TZ)
}

/// An optional time, or a dash.
pub fn at_opt(time: Option<DateTime<Utc>>) -> Markup {
    html! { @match time { Some(t) => (at(t)), None => span.muted { "—" } } }
}

/// `{"by": "<viewer>"}`: the API records who acted (a bare name becomes `operator:<name>`).
pub fn by(viewer: &Viewer) -> Value {
    json!({ "by": viewer.name })
}

/// `by` merged into a body.
pub fn with_by(viewer: &Viewer, mut body: Value) -> Value {
    body["by"] = json!(viewer.name);
    body
}

/// The hidden `by` field of an API form.
pub fn by_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="by" value=(viewer.name); }
}

/// What a path segment or query value keeps unencoded: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A path segment (or query value), percent-encoded.
pub fn seg(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// A status word as a badge of the given tone.
pub fn status(tone: Tone, text: &str) -> Markup {
    ui::badge(tone, text)
}

/// The query string of a filter form without `page=` (for [`ui::pager`]).
pub fn query_without_page(pairs: &[(&str, Option<&str>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={}", seg(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// A `datetime-local` input whose value `dash.js` sends as an RFC 3339 instant.
pub fn datetime_input(name: &str, value: Option<DateTime<Utc>>, optional: bool) -> Markup {
    let local = value.map(|v| v.with_timezone(&LIST_TZ).format("%Y-%m-%dT%H:%M").to_string());
    html! {
        input type="datetime-local" name=(name) data-type="datetime" data-offset="+08:00" data-optional[optional] value=[local];
    }
}

/// [`ui::Paging`] from a page's own query (flattening it into a filter struct does not
/// survive the query-string decoder's numbers).
pub fn paging(page: Option<u32>, per_page: Option<u32>) -> ui::Paging {
    let default = ui::Paging::default();
    ui::Paging { page: page.unwrap_or(default.page), per_page: per_page.unwrap_or(default.per_page) }
}
