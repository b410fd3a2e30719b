//! Members (`/members`, 成员): search across groups by name or id, filter by tag (manual
//! and automatic ones alike: whatever the profile carries) and by group, paginated; and a
//! member's profile (`/members/{connector}/{member}`, 画像): groups, channel, tier,
//! inviter, tags (added and removed through `POST /api/v1/members/…/tags` when the viewer
//! may edit), points and level, violations, referrals, conversions and activity.
//!
//! Profiles are read with the same store calls as `GET /api/v1/members…`.

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::routing::get;
use chrono::Duration;
use maud::{Markup, html};
use qunzhu_core::growth::ReferralFilter;
use qunzhu_core::insight::{bucket_day, day_bucket};
use qunzhu_core::membership::MemberProfile;
use qunzhu_core::{ConnectorId, GroupKey, MemberId};
use serde::Deserialize;
use serde_json::json;

use super::auth::Viewer;
use super::group::member_href;
use super::layout::{self, Page, urlencode};
use super::overview::group_href;
use super::ui::{self, Paging, Tone};
use super::{DashError, here};
use crate::http::AppState;
use crate::http::points::level_title;

/// Days of activity on a profile.
const ACTIVITY_DAYS: i64 = 30;
/// The most profiles a search with a group filter reads before filtering.
const GROUP_SEARCH_LIMIT: u32 = 5000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/members", get(list)).route("/members/{connector}/{member}", get(profile))
}

/// `?q=&tag=&group=`
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct Filter {
    q: String,
    tag: String,
    /// `connector/group`.
    group: String,
}

impl Filter {
    fn query(&self) -> String {
        [("q", &self.q), ("tag", &self.tag), ("group", &self.group)]
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn opt(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// Automatic tags offered as quick filters (the profiles' own vocabulary).
const AUTO_TAGS: [(&str, &str); 4] = [("核心", "core"), ("沉默", "silent"), ("新人", "newcomer"), ("违规", "violations")];

/// `GET /members`
async fn list(
    viewer: Viewer,
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<Filter>,
    Query(paging): Query<Paging>,
) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let group = match opt(&filter.group) {
        Some(text) => Some(GroupKey::parse(text).ok_or_else(|| {
            DashError::bad_request(lang, lang.pick("群写作 平台/群号，例如 qq/g1。", "Write a group as connector/group, e.g. qq/g1."))
        })?),
        None => None,
    };
    let wanted = paging.offset() + paging.per_page() + 1;
    let limit = if group.is_some() { GROUP_SEARCH_LIMIT.max(wanted) } else { wanted };
    let mut found = state.engine.store().search_profiles(opt(&filter.tag), opt(&filter.q), limit).await?;
    if let Some(group) = &group {
        found.retain(|p| p.groups.iter().any(|g| &g.group == group));
    }
    let (shown, has_more) = paging.slice(&found);
    let groups = state.engine.store().list_groups().await?;
    let tz = chrono_tz::Asia::Shanghai;
    let body = html! {
        div.card {
            form.toolbar method="get" action="/members" role="search" {
                input.grow type="search" name="q" value=(filter.q) placeholder=(lang.pick("按昵称或成员 ID 搜索", "Search by name or member id")) aria-label=(lang.pick("搜索", "Search"));
                input type="text" name="tag" value=(filter.tag) placeholder=(lang.pick("标签", "Tag")) aria-label=(lang.pick("标签", "Tag"));
                input type="text" name="group" value=(filter.group) list="group-options" placeholder=(lang.pick("群（平台/群号）", "Group (connector/group)")) aria-label=(lang.pick("群", "Group"));
                datalist #group-options { @for g in &groups { option value=(g.key.to_string()) { (g.name.as_deref().unwrap_or_default()) } } }
                button.primary type="submit" { (lang.pick("搜索", "Search")) }
            }
            p.muted {
                (lang.pick("自动标签：", "Automatic tags: "))
                @for (zh, en) in AUTO_TAGS { a href={ "/members?tag=" (urlencode(zh)) } title=(en) { (zh) } " " }
            }
            @if found.is_empty() {
                (ui::empty(lang, "没有符合条件的成员。成员在入群后出现在这里。", "No member matches. Members appear here once they join a group."))
            } @else {
                div.table-wrap { table #members {
                    thead { tr {
                        th { (lang.pick("成员", "Member")) }
                        th { (lang.pick("平台", "Connector")) }
                        th { (lang.pick("所在群", "Groups")) }
                        th { (lang.pick("渠道 / 层级", "Channel / tier")) }
                        th { (lang.pick("标签", "Tags")) }
                        th { (lang.pick("首次出现", "First seen")) }
                    } }
                    tbody { @for p in shown {
                        tr data-member=(p.member.as_str()) {
                            td { a href=(member_href(p.connector.as_str(), p.member.as_str())) { (p.name.as_deref().unwrap_or(p.member.as_str())) } br; small.muted { (p.member.as_str()) } }
                            td { (p.connector.as_str()) }
                            td { (p.groups.iter().filter(|g| g.left_at.is_none()).count()) }
                            td { (p.channel.as_deref().unwrap_or("—")) " / " (p.tier.as_deref().unwrap_or("—")) }
                            td { @for t in &p.tags { (ui::badge(Tone::Neutral, t)) " " } }
                            td { (ui::time(p.first_seen, tz)) }
                        }
                    } }
                } }
                (ui::pager(lang, paging, has_more, "/members", &filter.query()))
            }
        }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("成员", "Members"), "/members", body)))
}

fn no_profile(lang: qunzhu_engine::Locale, connector: &str, member: &str) -> DashError {
    DashError::not_found(lang, &format!("{connector}/{member}"))
}

/// `GET /members/{connector}/{member}`
async fn profile(
    viewer: Viewer,
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path((connector, member)): Path<(String, String)>,
) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let store = state.engine.store();
    let (connector_id, member_id) = (ConnectorId::new(connector.as_str()), MemberId::new(member.as_str()));
    let profile: MemberProfile =
        store.member_profile(&connector_id, &member_id).await?.ok_or_else(|| no_profile(lang, &connector, &member))?;
    let balance = store.points_balance(&connector_id, &member_id).await?;
    let level = level_title(&state, balance.earned);
    let mut violations = Vec::new();
    for g in &profile.groups {
        violations.extend(store.list_violations(Some(&g.group), None, 1000).await?.into_iter().filter(|v| v.member == member_id));
    }
    violations.sort_by_key(|v| std::cmp::Reverse(v.time));
    let filter = ReferralFilter { inviter: Some(member_id.clone()), ..ReferralFilter::default() };
    let referrals: Vec<_> =
        store.list_referrals(&filter, 1000).await?.into_iter().filter(|r| r.group.connector == connector_id).collect();
    let conversions: Vec<_> =
        store.list_conversions().await?.into_iter().filter(|c| c.connector == connector_id && c.member == member_id).collect();
    let days = store.insight_member_days(&connector_id, &member_id).await?;
    let tz = chrono_tz::Asia::Shanghai;
    let today = state.engine.clock().now().with_timezone(&tz).date_naive();
    let first = day_bucket(today - Duration::days(ACTIVITY_DAYS - 1));
    let mut activity = vec![0u64; ACTIVITY_DAYS as usize];
    for row in &days {
        if let Some(slot) = usize::try_from(row.bucket - first).ok().and_then(|i| activity.get_mut(i)) {
            *slot += u64::try_from(row.counts.messages).unwrap_or(0);
        }
    }
    let messages_total: i64 = days.iter().map(|r| r.counts.messages).sum();
    let last_active = days.iter().filter(|r| r.counts.messages > 0).map(|r| r.bucket).max().map(bucket_day);
    let days_active = days.iter().filter(|r| r.counts.messages > 0).count();
    let api = format!("/api/v1/members/{}/{}/tags", urlencode(&connector), urlencode(&member));
    let name = profile.name.clone().unwrap_or_else(|| member.clone());
    let body = html! {
        div.cards {
            (ui::stat(lang.pick("积分", "Points"), balance.balance, None))
            div.stat { div.label { (lang.pick("等级", "Level")) } div.value #level { (level.as_deref().unwrap_or("—")) } }
            (ui::stat(lang.pick("违规", "Violations"), violations.len(), None))
            (ui::stat(lang.pick("邀请", "Referrals"), referrals.len(), None))
            (ui::stat(lang.pick("转化", "Conversions"), conversions.len(), None))
            (ui::stat(lang.pick("总消息", "Messages"), messages_total, None))
        }
        div.grid2 {
            div.card #facts {
                h2 { (lang.pick("画像", "Profile")) }
                div.table-wrap { table { tbody {
                    tr { th { (lang.pick("成员 ID", "Member id")) } td { (connector) "/" (member) } }
                    tr { th { (lang.pick("首次出现", "First seen")) } td { (ui::time(profile.first_seen, tz)) } }
                    tr { th { (lang.pick("渠道", "Channel")) } td { (profile.channel.as_deref().unwrap_or("—")) } }
                    tr { th { (lang.pick("层级", "Tier")) } td { (profile.tier.as_deref().unwrap_or("—")) } }
                    tr { th { (lang.pick("邀请人", "Inviter")) } td {
                        @if let Some(inviter) = &profile.inviter { a href=(member_href(&connector, inviter.as_str())) { (inviter.as_str()) } } @else { "—" }
                    } }
                    tr { th { (lang.pick("积分（累计获得）", "Points (earned)")) } td { (balance.balance) " (" (balance.earned) ")" } }
                    tr { th { (lang.pick("活跃天数 / 最后发言", "Days active / last active")) } td {
                        (days_active) " / " @if let Some(day) = last_active { (day) } @else { "—" }
                    } }
                } } }
            }
            div.card #tags {
                h2 { (lang.pick("标签", "Tags")) }
                p {
                    @if profile.tags.is_empty() { span.muted { (lang.pick("还没有标签。", "No tags yet.")) } }
                    @for t in &profile.tags {
                        span.badge data-tag=(t) { (t) }
                        (ui::api_button(&viewer, "POST", &api, Some(&json!({ "remove": [t], "by": viewer.name })), "×", "reload"))
                        " "
                    }
                }
                @if viewer.can_edit() {
                    form.toolbar #add-tag data-api=(api) data-method="POST" data-then="reload" {
                        input type="hidden" name="by" value=(viewer.name);
                        (ui::field(lang.pick("添加标签（逗号分隔）", "Add tags (comma-separated)"), "add", html! {
                            input type="text" name="add" data-type="list" required placeholder=(lang.pick("例如 VIP, 家长", "e.g. VIP, parent"));
                        }))
                        button.primary type="submit" { (lang.pick("添加", "Add")) }
                    }
                }
                h2 { (lang.pick("近 30 天发言", "Messages, last 30 days")) }
                (ui::sparkline(&activity))
            }
        }
        div.card #groups {
            h2 { (lang.pick("所在群", "Groups")) }
            div.table-wrap { table {
                thead { tr { th { (lang.pick("群", "Group")) } th { (lang.pick("入群", "Joined")) } th { (lang.pick("退群", "Left")) } } }
                tbody { @for g in &profile.groups { tr {
                    td { a href=(group_href(&g.group)) { (g.group.to_string()) } }
                    td { @if let Some(at) = g.joined_at { (ui::time(at, tz)) } @else { "—" } }
                    td { @if let Some(at) = g.left_at { (ui::time(at, tz)) } @else { "—" } }
                } } }
            } }
        }
        div.card #violations {
            h2 { (lang.pick("违规记录", "Violations")) }
            @if violations.is_empty() { (ui::empty(lang, "没有违规。", "No violations.")) } @else {
                div.table-wrap { table {
                    thead { tr { th { (lang.pick("时间", "When")) } th { (lang.pick("群", "Group")) } th { (lang.pick("类别", "Category")) } th { (lang.pick("处罚", "Penalty")) } th { (lang.pick("状态", "Status")) } th { (lang.pick("内容", "Text")) } } }
                    tbody { @for v in violations.iter().take(50) { tr {
                        td { (ui::time(v.time, tz)) } td { (v.group.to_string()) } td { (v.category) } td { (v.penalty) }
                        td { (ui::badge(Tone::Neutral, v.status.name())) } td { (v.text.chars().take(80).collect::<String>()) }
                    } } }
                } }
            }
        }
        div.grid2 {
            div.card #referrals {
                h2 { (lang.pick("邀请的成员", "Referrals")) }
                @if referrals.is_empty() { (ui::empty(lang, "还没有邀请。", "No referrals yet.")) } @else {
                    div.table-wrap { table {
                        thead { tr { th { (lang.pick("被邀请人", "Invitee")) } th { (lang.pick("群", "Group")) } th { (lang.pick("状态", "Status")) } th { (lang.pick("入群", "Joined")) } } }
                        tbody { @for r in referrals.iter().take(50) { tr {
                            td { a href=(member_href(&connector, r.invitee.as_str())) { (r.invitee_name.as_deref().unwrap_or(r.invitee.as_str())) } }
                            td { (r.group.to_string()) } td { (ui::badge(Tone::Neutral, r.status.name())) } td { (ui::time(r.joined_at, tz)) }
                        } } }
                    } }
                }
            }
            div.card #conversions {
                h2 { (lang.pick("转化", "Conversions")) }
                @if conversions.is_empty() { (ui::empty(lang, "还没有转化。", "No conversions yet.")) } @else {
                    div.table-wrap { table {
                        thead { tr { th { (lang.pick("产品", "Product")) } th.num { (lang.pick("金额（元）", "Amount")) } th { (lang.pick("渠道", "Channel")) } th { (lang.pick("时间", "When")) } } }
                        tbody { @for c in &conversions { tr {
                            td { (c.product) } td.num { (format!("{:.2}", c.amount_cents as f64 / 100.0)) }
                            td { (c.channel.as_deref().unwrap_or("—")) } td { (ui::time(c.at, tz)) }
                        } } }
                    } }
                }
            }
        }
    };
    let title = format!("{name} · {}", lang.pick("画像", "profile"));
    Ok(layout::render(&viewer, &here(&uri), Page::new(title, "/members", body)))
}
