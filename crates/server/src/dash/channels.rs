//! `/channels` (渠道活码): channels with their joins, stays and conversions per channel and
//! per tier, each QR code shown and downloadable, creating and archiving; group pools with
//! their groups' fill and where they route now. Reads through the store calls and shared
//! functions of `http/channels.rs` and `http/insight.rs`; changes through their routes.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::routing::get;
use maud::{Markup, html};
use qunzhu_core::membership::{Channel, ChannelPool, JoinCount};
use serde_json::json;

use super::auth::Viewer;
use super::layout::{self, Page};
use super::ops::{at, by_field, seg};
use super::ui::{self, Tone};
use super::{DashError, here};
use crate::http::AppState;
use crate::http::insight::RateRow;

pub fn routes() -> Router<AppState> {
    Router::new().route("/channels", get(page))
}

fn api(e: crate::http::ApiError) -> DashError {
    DashError::internal(e.message)
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn tier_label(lang: qunzhu_engine::Locale, tier: &str) -> String {
    match tier {
        "strong" => lang.pick("强关系", "strong").to_owned(),
        "medium" => lang.pick("中关系", "medium").to_owned(),
        "weak" => lang.pick("弱关系", "weak").to_owned(),
        other => other.to_owned(),
    }
}

async fn page(viewer: Viewer, State(state): State<AppState>, headers: HeaderMap, OriginalUri(uri): OriginalUri) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let store = state.engine.store();
    // Archived ones included (listed apart at the bottom).
    let channels = store.list_channels(true).await?;
    let counts = store.join_counts(None, None).await?;
    let by_channel: HashMap<String, &JoinCount> = counts.by_channel.iter().map(|c| (c.key.clone().unwrap_or_default(), c)).collect();
    let rates_channel: HashMap<String, RateRow> =
        crate::http::insight::conversion_rates(&state, "channel").await.map_err(api)?.into_iter().map(|r| (r.key.clone(), r)).collect();
    let rates_tier: HashMap<String, RateRow> =
        crate::http::insight::conversion_rates(&state, "tier").await.map_err(api)?.into_iter().map(|r| (r.key.clone(), r)).collect();
    let pools = store.list_pools().await?;
    let mut pool_counts = Vec::with_capacity(pools.len());
    for pool in &pools {
        pool_counts.push(crate::http::channels::counts(&state, pool).await.map_err(api)?);
    }
    let active: Vec<&Channel> = channels.iter().filter(|c| !c.archived).collect();
    let archived: Vec<&Channel> = channels.iter().filter(|c| c.archived).collect();

    let body = html! {
        div.card {
            h2 { (lang.pick("渠道", "Channels")) }
            @if active.is_empty() {
                (ui::empty(lang, "还没有渠道。新建一个，把它的二维码放到公众号菜单、海报或朋友圈。", "No channels yet. Create one and put its QR code on a menu, a poster or a post."))
            } @else {
                div.table-wrap { table #channels {
                    thead { tr {
                        th { (lang.pick("二维码", "QR")) } th { (lang.pick("渠道", "Channel")) } th { (lang.pick("层级", "Tier")) }
                        th { (lang.pick("邀请码 / 链接", "Code / link")) } th.num { (lang.pick("入群", "Joins")) } th.num { (lang.pick("留存", "Stays")) }
                        th.num { (lang.pick("转化", "Converted")) } th.num { (lang.pick("转化率", "Rate")) } th {}
                    } }
                    tbody { @for c in &active {
                        @let joins = by_channel.get(&c.id);
                        @let rate = rates_channel.get(&c.id);
                        @let id = seg(&c.id);
                        tr data-channel=(c.id) {
                            td { img.qr src={ "/api/v1/channels/" (id) "/qr.svg" } alt=(lang.pick("二维码", "QR code")) width="72" height="72" loading="lazy"; }
                            td { strong { (c.name) } br; span.muted { (c.id) }
                                 @if let Some(pool) = &c.pool { br; span.badge { (lang.pick("池：", "pool: ")) (pool) } }
                                 @for tag in &c.tags { " " span.badge { (tag) } } }
                            td { (tier_label(lang, &c.tier)) }
                            td { code { (c.code) } br; a.link href=(crate::http::channels::link(&state, &headers, c)) { (crate::http::channels::link(&state, &headers, c)) } }
                            td.num { (joins.map_or(0, |j| j.joins)) }
                            td.num { (joins.map_or(0, |j| j.stays)) }
                            td.num { (rate.map_or(0, |r| r.converted_members)) }
                            td.num { (percent(rate.and_then(|r| r.rate))) }
                            td { div.toolbar {
                                a.button.download href={ "/api/v1/channels/" (id) "/qr.png" } download={ "qunzhu-" (c.id) ".png" } { (lang.pick("下载二维码", "Download QR")) }
                                @if viewer.can_edit() {
                                    button type="button" data-api={ "/api/v1/channels/" (id) "?by=" (seg(&viewer.name)) } data-method="DELETE" data-then="reload"
                                        data-confirm=(lang.pick("归档后，这个渠道的链接不再邀请入群（邀请码仍可归因）。继续？", "Once archived its link no longer invites (its code still attributes joins). Continue?")) { (lang.pick("归档", "Archive")) }
                                }
                            } }
                        }
                    } }
                } }
            }
        }
        div.grid2 {
            div.card {
                h2 { (lang.pick("按层级", "By tier")) }
                @if counts.by_tier.is_empty() {
                    (ui::empty(lang, "还没有入群记录。", "No joins yet."))
                } @else {
                    div.table-wrap { table #tiers {
                        thead { tr { th { (lang.pick("层级", "Tier")) } th.num { (lang.pick("入群", "Joins")) } th.num { (lang.pick("留存", "Stays")) } th.num { (lang.pick("转化", "Converted")) } th.num { (lang.pick("转化率", "Rate")) } } }
                        tbody { @for t in &counts.by_tier {
                            @let key = t.key.clone().unwrap_or_default();
                            @let rate = rates_tier.get(&key);
                            tr data-tier=(key) {
                                td { @if key.is_empty() { span.muted { (lang.pick("未归因", "unattributed")) } } @else { (tier_label(lang, &key)) } }
                                td.num { (t.joins) } td.num { (t.stays) }
                                td.num { (rate.map_or(0, |r| r.converted_members)) } td.num { (percent(rate.and_then(|r| r.rate))) }
                            }
                        } }
                    } }
                }
            }
            @if viewer.can_edit() {
                div.card {
                    h2 { (lang.pick("新建渠道", "New channel")) }
                    form #channel-new data-api="/api/v1/channels" data-method="POST" data-done=(lang.pick("渠道已创建", "Channel created")) {
                        (by_field(&viewer))
                        div.form-row {
                            (ui::field(lang.pick("ID（英文）", "Id"), "id", html! { input type="text" name="id" required placeholder="gzh-menu" pattern="[a-z][a-z0-9_\\-]*"; }))
                            (ui::field(lang.pick("名称", "Name"), "name", html! { input type="text" name="name" required placeholder=(lang.pick("公众号菜单", "Menu of the official account")); }))
                        }
                        div.form-row {
                            (ui::field(lang.pick("层级", "Tier"), "tier", html! {
                                select name="tier" { @for t in ["strong", "medium", "weak"] { option value=(t) { (tier_label(lang, t)) } } }
                            }))
                            (ui::field(lang.pick("渠道池", "Pool"), "pool", html! {
                                select name="pool" data-optional { option value="" { "—" } @for p in &pools { option value=(p.id) { (p.name) } } }
                            }))
                            (ui::field(lang.pick("邀请码（留空自动生成）", "Code (empty: made for you)"), "code", html! { input type="text" name="code" data-optional; }))
                        }
                        (ui::field(lang.pick("标签（逗号分隔）", "Tags (comma separated)"), "tags", html! { input type="text" name="tags" data-type="list" data-optional; }))
                        button.primary type="submit" { (lang.pick("创建", "Create")) }
                    }
                }
            }
        }
        div.card {
            h2 { (lang.pick("渠道池", "Group pools")) }
            @if pools.is_empty() { (ui::empty(lang, "还没有渠道池。", "No pools yet.")) }
            @for (pool, n) in pools.iter().zip(&pool_counts) { (pool_card(&viewer, pool, n)) }
            @if viewer.can_edit() {
                details {
                    summary { (lang.pick("新建渠道池", "New pool")) }
                    (pool_form(&viewer, None))
                }
            }
        }
        @if !archived.is_empty() {
            div.card {
                h2 { (lang.pick("已归档", "Archived")) }
                div.table-wrap { table {
                    thead { tr { th { (lang.pick("渠道", "Channel")) } th { (lang.pick("邀请码", "Code")) } th { (lang.pick("归档", "Archived")) } } }
                    tbody { @for c in &archived { tr { td { (c.name) " " span.muted { (c.id) } } td { code { (c.code) } } td { (at(c.updated_at)) } } } }
                } }
            }
        }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("渠道活码", "Channels"), "/channels", body)))
}

fn pool_card(viewer: &Viewer, pool: &ChannelPool, counts: &[u32]) -> Markup {
    let lang = viewer.lang;
    let route = pool.route(counts);
    html! {
        section.item data-pool=(pool.id) {
            div.toolbar {
                strong.grow { (pool.name) " " span.muted { (pool.id) } }
                @if route.needs_new_group { (ui::badge(Tone::Warn, lang.pick("需要新群", "needs a new group"))) }
            }
            div.table-wrap { table {
                thead { tr { th { (lang.pick("群", "Group")) } th.num { (lang.pick("人数 / 上限", "Members / cap")) } th {} } }
                tbody { @for (i, g) in pool.groups.iter().enumerate() {
                    tr {
                        td { (g.group) }
                        td.num { (counts.get(i).copied().unwrap_or(0)) " / " (g.cap) }
                        td { @if route.group == Some(i) { (ui::badge(Tone::Ok, lang.pick("当前引导", "routing here"))) } }
                    }
                } }
            } }
            @if viewer.can_edit() {
                details { summary { (lang.pick("编辑", "Edit")) } (pool_form(viewer, Some(pool))) }
            }
        }
    }
}

/// The pool form: `PUT /api/v1/pools/{id}` (a new pool's id is a field used in the URL only).
fn pool_form(viewer: &Viewer, pool: Option<&ChannelPool>) -> Markup {
    let lang = viewer.lang;
    let groups = pool.map_or_else(
        || json!([{ "group": "qq/123456", "cap": 480 }]),
        |p| json!(p.groups.iter().map(|g| json!({ "group": g.group.to_string(), "cap": g.cap, "invite_url": g.invite_url })).collect::<Vec<_>>()),
    );
    let api = match pool {
        Some(p) => format!("/api/v1/pools/{}", seg(&p.id)),
        None => "/api/v1/pools/{id}".to_owned(),
    };
    html! {
        form.pool-form data-api=(api) data-method="PUT" data-done=(lang.pick("已保存", "Saved")) {
            (by_field(viewer))
            div.form-row {
                @if pool.is_none() {
                    (ui::field(lang.pick("ID（英文）", "Id"), "id", html! { input type="text" name="id" data-url required placeholder="fans"; }))
                }
                (ui::field(lang.pick("名称", "Name"), "name", html! { input type="text" name="name" required value=[pool.map(|p| p.name.as_str())]; }))
                (ui::field(lang.pick("提醒阈值 %", "Alert at %"), "alert_at_percent", html! { input type="number" name="alert_at_percent" data-type="number" min="1" max="100" value=(pool.map_or(90, |p| p.alert_at_percent)); }))
            }
            (ui::field(lang.pick("群（JSON：group、cap、invite_url）", "Groups (JSON: group, cap, invite_url)"), "groups", html! {
                textarea name="groups" data-type="json" { (serde_json::to_string_pretty(&groups).unwrap_or_default()) }
            }))
            button.primary type="submit" { (lang.pick("保存", "Save")) }
        }
    }
}
