//! The rulebook pages (规则手册): templates and group bindings, a template's settings as a
//! form generated from the settings schema (plus a raw TOML editor), a group's binding and
//! overrides, the version history with line diffs and rollback, and the way to the sandbox.
//!
//! | page | what |
//! |---|---|
//! | `/rulebook` | templates, group bindings (paginated), bind a group, new template |
//! | `/rulebook/templates/{name}` | the template's settings as a form; advanced: its TOML |
//! | `/rulebook/groups/{connector}/{group}` | a group's template and overrides (TOML) |
//! | `/rulebook/versions` | version history: author, time, note, changed keys |
//! | `/rulebook/versions/{version}` | a version's line diff against the one in force, rollback |
//!
//! Reads go through the engine and the functions of [`crate::http::rulebook`]; every change
//! is an API call: the form sends the whole rulebook with `PUT /api/v1/rulebook`
//! (`base_version` guards against overwriting someone else's save), the TOML editors use
//! `PUT /api/v1/rulebook/templates/{name}` and `…/groups/{connector}/{group}`, rollback is
//! `POST /api/v1/rulebook/rollback/{version}`.

mod form;
mod labels;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, PreEscaped, html};
use qunzhu_core::GroupKey;
use qunzhu_engine::Locale;
use qunzhu_engine::rulebook::{DEFAULT_TEMPLATE, GroupBinding};
use serde::Deserialize;
use serde_json::Value;

use super::auth::Viewer;
use super::layout::{self, Page, urlencode};
use super::ui::{self, Paging};
use super::{DashError, here};
use crate::http::AppState;
use crate::http::rulebook::{RulebookDiff, rulebook_diff, settings_schema, version_detail};

const EDITOR_JS: &str = include_str!("../../assets/dash/rulebook.js");
const EDITOR_CSS: &str = include_str!("../../assets/dash/rulebook.css");

/// The rulebook pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rulebook", get(index))
        .route("/rulebook/bind", get(bind))
        .route("/rulebook/new-template", get(new_template))
        .route("/rulebook/templates/{name}", get(template_page))
        .route("/rulebook/groups/{connector}/{group}", get(group_page))
        .route("/rulebook/versions", get(versions_page))
        .route("/rulebook/versions/{version}", get(version_page))
        .route("/rulebook/editor.js", get(|| async { asset("text/javascript; charset=utf-8", EDITOR_JS) }))
        .route("/rulebook/editor.css", get(|| async { asset("text/css; charset=utf-8", EDITOR_CSS) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        body,
    )
        .into_response()
}

/// The page's own script and styles.
fn editor_assets() -> Markup {
    html! {
        link rel="stylesheet" href="/rulebook/editor.css";
        script src="/rulebook/editor.js" defer {}
    }
}

fn sandbox_link(lang: Locale) -> Markup {
    html! { a.button.primary href="/sandbox" target="_blank" rel="noopener" { (lang.pick("在沙盒里试试", "Try it in the sandbox")) } }
}

fn template_href(name: &str) -> String {
    format!("/rulebook/templates/{}", urlencode(name))
}

fn group_href(key: &GroupKey) -> String {
    format!("/rulebook/groups/{}/{}", urlencode(key.connector.as_str()), urlencode(key.group.as_str()))
}

/// Who saves: the signed-in user's name goes with every change into the history.
fn author_query(viewer: &Viewer) -> String {
    format!("author={}", urlencode(&viewer.name))
}

/// `GET /rulebook`
async fn index(viewer: Viewer, State(state): State<AppState>, uri: axum::http::Uri, Query(paging): Query<Paging>) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let compiled = state.engine.rulebook();
    let book = &compiled.rulebook;
    let bindings: Vec<(&String, &GroupBinding)> = book.groups.iter().collect();
    let (page_items, has_more) = paging.slice(&bindings);
    let bound = |template: &str| book.groups.values().filter(|b| b.template == template).count();
    let latest = state.engine.rulebook_versions(1).await?;
    let known = state.engine.store().list_groups().await?;
    let tz = chrono_tz::Asia::Shanghai;
    let body = html! {
        (editor_assets())
        div.card {
            h2 { (lang.pick("当前版本", "Version in force")) }
            p {
                "v" (compiled.version)
                @if let Some(v) = latest.first() {
                    " · " (ui::time(v.time, tz)) " · " (v.author)
                    @if !v.note.is_empty() { " · " (v.note) }
                }
                " · " a href="/rulebook/versions" { (lang.pick("版本历史", "Version history")) }
            }
            p.muted { (lang.pick("改了欢迎语或群规？打开沙盒，让一个成员加入，马上就能看到效果。", "Changed a welcome or the rules? Open the sandbox and let a member join to see it at once.")) }
        }
        div.card #templates {
            h2 { (lang.pick("模板", "Templates")) }
            div.table-wrap { table {
                thead { tr { th { (lang.pick("模板", "Template")) } th { (lang.pick("说明", "Description")) } th.num { (lang.pick("绑定的群", "Bound groups")) } } }
                tbody {
                    @for (name, settings) in &book.templates {
                        tr {
                            td { a href=(template_href(name)) { (name) } @if name == DEFAULT_TEMPLATE { " " (ui::badge(ui::Tone::Ok, lang.pick("默认", "default"))) } }
                            td { (settings.description) }
                            td.num { (bound(name)) @if name == DEFAULT_TEMPLATE { span.muted { (lang.pick(" + 所有未绑定的群", " + every unbound group")) } } }
                        }
                    }
                }
            } }
            @if viewer.can_edit() {
                form.form-row method="get" action="/rulebook/new-template" {
                    input type="text" name="name" required placeholder=(lang.pick("新模板名称，如 vip", "new template name, e.g. vip")) aria-label=(lang.pick("新模板名称", "New template name"));
                    button type="submit" { (lang.pick("新建模板", "New template")) }
                }
            }
        }
        div.card #bindings {
            h2 { (lang.pick("群绑定与单群覆盖", "Group bindings and overrides")) }
            @if bindings.is_empty() {
                (ui::empty(lang, "还没有单独绑定的群：所有群都使用 default 模板。", "No group is bound: every group uses the default template."))
            } @else {
                div.table-wrap { table {
                    thead { tr { th { (lang.pick("群", "Group")) } th { (lang.pick("模板", "Template")) } th { (lang.pick("覆盖的设置", "Overridden settings")) } } }
                    tbody {
                        @for (key, binding) in page_items {
                            tr {
                                td { @match GroupKey::parse(key) { Some(k) => { a href=(group_href(&k)) { (key) } } None => { (key) } } }
                                td { a href=(template_href(&binding.template)) { (binding.template) } }
                                td { @for k in binding.overrides.keys() { code { (k) } " " } }
                            }
                        }
                    }
                } }
                (ui::pager(lang, paging, has_more, "/rulebook", ""))
            }
            @if viewer.can_edit() {
                form.form-row method="get" action="/rulebook/bind" {
                    input type="text" name="group" required list="known-groups" placeholder="connector/group" aria-label=(lang.pick("要绑定的群", "Group to bind"));
                    datalist #known-groups { @for g in &known { option value=(g.key.to_string()) { (g.name.as_deref().unwrap_or("")) } } }
                    button type="submit" { (lang.pick("绑定或编辑覆盖", "Bind or edit overrides")) }
                }
            }
        }
    };
    let actions = html! { (sandbox_link(lang)) a.button href="/rulebook/versions" { (lang.pick("版本历史", "History")) } };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("规则手册", "Rulebook"), "/rulebook", body).with_actions(actions)))
}

#[derive(Deserialize)]
struct BindQuery {
    group: String,
}

/// `GET /rulebook/bind?group=connector/group` → the group's binding page.
async fn bind(viewer: Viewer, Query(q): Query<BindQuery>) -> Result<Redirect, DashError> {
    let key = GroupKey::parse(q.group.trim())
        .ok_or_else(|| DashError::bad_request(viewer.lang, viewer.lang.pick("群写作「平台/群号」，例如 qq/123456", "a group is written `connector/group`, e.g. qq/123456")))?;
    Ok(Redirect::to(&group_href(&key)))
}

#[derive(Deserialize)]
struct NewTemplateQuery {
    name: String,
}

/// `GET /rulebook/new-template?name=` → the (new) template's page.
async fn new_template(Query(q): Query<NewTemplateQuery>) -> Redirect {
    Redirect::to(&template_href(q.name.trim()))
}

/// `GET /rulebook/templates/{name}`: a template's settings (the default template's values
/// for a new one).
async fn template_page(viewer: Viewer, State(state): State<AppState>, uri: axum::http::Uri, Path(name): Path<String>) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let compiled = state.engine.rulebook();
    let book = &compiled.rulebook;
    let exists = book.templates.contains_key(&name);
    let settings = book.templates.get(&name).or_else(|| book.templates.get(DEFAULT_TEMPLATE)).cloned().unwrap_or_default();
    let value = serde_json::to_value(&settings).map_err(DashError::internal)?;
    let toml_text = toml::to_string_pretty(&settings).map_err(DashError::internal)?;
    let schema = settings_schema();
    let cx = form::FormCx { root: &schema, lang, editable: viewer.can_edit() };
    let key = vec!["templates".to_owned(), name.clone()];
    let base = serde_json::json!({ "version": compiled.version, "rulebook": book.to_json() });
    let put = format!("/api/v1/rulebook?base_version={}&{}", compiled.version, author_query(&viewer));
    let toml_put = format!("/api/v1/rulebook/templates/{}?base_version={}&{}", urlencode(&name), compiled.version, author_query(&viewer));
    let groups: Vec<&String> = book.groups.iter().filter(|(_, b)| b.template == name).map(|(k, _)| k).collect();
    let body = html! {
        (editor_assets())
        script type="application/json" #rulebook-base { (PreEscaped(json_for_script(&base))) }
        @if !exists {
            div.flash { (lang.pick("这是一个新模板：下面是 default 模板的设置，保存后才会创建。", "A new template: the fields hold the default template's settings; saving creates it.")) }
        }
        div.card {
            p.muted {
                (lang.pick("版本 ", "Version ")) "v" (compiled.version) " · "
                @if name == DEFAULT_TEMPLATE { (lang.pick("所有未单独绑定的群都使用此模板", "every group not bound to another template uses this one")) }
                @else { (lang.pick("绑定的群：", "Bound groups: ")) (groups.len()) }
                " · " a href="/rulebook" { (lang.pick("返回规则手册", "Back to the rulebook")) }
            }
        }
        form #template-form data-rulebook-form data-api=(put) data-api-base=(put) data-method="PUT" data-then="reload" data-done=(lang.pick("已保存，立即生效", "Saved; in force now")) {
            (form::template_form(&cx, &value, &key))
            @if viewer.can_edit() {
                div.card.save-bar {
                    div.form-row {
                        input type="text" name="note" data-note placeholder=(lang.pick("修改说明（可选，显示在版本历史里）", "what changed (optional; shown in the history)")) aria-label=(lang.pick("修改说明", "Change note"));
                        button.primary type="submit" { (lang.pick("保存", "Save")) }
                        (sandbox_link(lang))
                    }
                }
            }
        }
        details.card #advanced {
            summary { (lang.pick("高级：直接编辑整个模板的 TOML", "Advanced: edit the whole template as TOML")) }
            p.muted { (lang.pick("这里能改表单里没有的一切。字段说明见 docs/rulebook.md。", "Everything the form does not show can be changed here. Every key is described in docs/rulebook.md.")) }
            form data-toml-api=(toml_put) data-done=(lang.pick("已保存，立即生效", "Saved; in force now")) {
                textarea name="toml" rows="24" spellcheck="false" data-path={ (qunzhu_engine::problems::dotted(&key)) } readonly[!viewer.can_edit()] { (toml_text) }
                ul.problems {}
                @if viewer.can_edit() { div.form-row { button type="submit" { (lang.pick("保存 TOML", "Save TOML")) } } }
            }
        }
    };
    let title = format!("{}{name}", lang.pick("模板：", "Template: "));
    let actions = html! { (sandbox_link(lang)) a.button href="/rulebook/versions" { (lang.pick("版本历史", "History")) } };
    Ok(layout::render(&viewer, &here(&uri), Page::new(title, "/rulebook", body).with_actions(actions)))
}

/// JSON inside `<script type="application/json">`: `<` escaped so no `</script>` can end it.
fn json_for_script(value: &Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// `GET /rulebook/groups/{connector}/{group}`: the group's binding and overrides.
async fn group_page(viewer: Viewer, State(state): State<AppState>, uri: axum::http::Uri, Path((connector, group)): Path<(String, String)>) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let key = GroupKey::parse(&format!("{connector}/{group}")).ok_or_else(|| DashError::not_found(lang, &format!("{connector}/{group}")))?;
    let key_text = key.to_string();
    let compiled = state.engine.rulebook();
    let book = &compiled.rulebook;
    let binding = book.groups.get(&key_text);
    let record = state.engine.store().list_groups().await?.into_iter().find(|g| g.key == key);
    let toml_text = match binding {
        Some(binding) => toml::to_string_pretty(binding).map_err(DashError::internal)?,
        None => format!("template = \"{DEFAULT_TEMPLATE}\"\n\n# [overrides]\n# rules_text = \"…\"\n#\n# [overrides.welcome]\n# text = \"…\"\n"),
    };
    let api = format!("/api/v1/rulebook/groups/{}/{}", urlencode(key.connector.as_str()), urlencode(key.group.as_str()));
    let put = format!("{api}?base_version={}&{}", compiled.version, author_query(&viewer));
    let path = qunzhu_engine::problems::dotted(&["groups".to_owned(), key_text.clone()]);
    let body = html! {
        (editor_assets())
        div.card {
            h2 { (lang.pick("绑定", "Binding")) }
            p {
                @if let Some(name) = record.as_ref().and_then(|r| r.name.as_deref()) { strong { (name) } " · " }
                code { (key_text) } " · "
                @match binding {
                    Some(b) => { (lang.pick("使用模板 ", "uses template ")) a href=(template_href(&b.template)) { (b.template) } }
                    None => { (lang.pick("未绑定：使用 default 模板", "not bound: uses the default template")) }
                }
            }
            p.muted {
                (lang.pick("模板：", "Templates: "))
                @for name in book.templates.keys() { a href=(template_href(name)) { code { (name) } } " " }
            }
        }
        form.card data-toml-api=(put) data-done=(lang.pick("已保存，立即生效", "Saved; in force now")) {
            h2 { (lang.pick("模板与覆盖（TOML）", "Template and overrides (TOML)")) }
            p.muted { (lang.pick("template 选模板；[overrides] 下写只对这个群生效的设置，键与模板里的相同（见 docs/rulebook.md）。", "`template` picks the template; settings under [overrides] apply to this group only, with the same keys as a template (see docs/rulebook.md).")) }
            textarea name="toml" rows="14" spellcheck="false" data-path=(path) readonly[!viewer.can_edit()] { (toml_text) }
            ul.problems {}
            @if viewer.can_edit() {
                div.form-row {
                    button.primary type="submit" { (lang.pick("保存", "Save")) }
                    @if binding.is_some() {
                        button.danger type="button" data-api={ (api) "?" (author_query(&viewer)) } data-method="DELETE" data-then="/rulebook"
                            data-confirm=(lang.pick("解除绑定后此群使用 default 模板，确定？", "Unbind? The group will use the default template.")) { (lang.pick("解除绑定", "Unbind")) }
                    }
                }
            }
        }
    };
    let title = format!("{}{key_text}", lang.pick("群的规则：", "Group rules: "));
    Ok(layout::render(&viewer, &here(&uri), Page::new(title, "/rulebook", body).with_actions(sandbox_link(lang))))
}

/// `GET /rulebook/versions`
async fn versions_page(viewer: Viewer, State(state): State<AppState>, uri: axum::http::Uri, Query(paging): Query<Paging>) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let current = state.engine.rulebook().version;
    let wanted = paging.offset().saturating_add(paging.per_page()).saturating_add(1);
    let versions = state.engine.rulebook_versions(wanted).await?;
    let (shown, has_more) = paging.slice(&versions);
    let tz = chrono_tz::Asia::Shanghai;
    let body = html! {
        div.card {
            div.table-wrap { table #versions {
                thead { tr {
                    th { (lang.pick("版本", "Version")) } th { (lang.pick("时间", "Time")) } th { (lang.pick("作者", "Author")) }
                    th { (lang.pick("说明", "Note")) } th { (lang.pick("改动的设置", "Changed settings")) } th {}
                } }
                tbody {
                    @for v in shown {
                        tr data-version=(v.version) {
                            td { a href={ "/rulebook/versions/" (v.version) } { "v" (v.version) } @if v.version == current { " " (ui::badge(ui::Tone::Ok, lang.pick("当前", "in force"))) } }
                            td { (ui::time(v.time, tz)) }
                            td { (v.author) }
                            td { (v.note) }
                            td { @for c in v.changes.iter().take(5) { code { (c) } " " } @if v.changes.len() > 5 { span.muted { "+" (v.changes.len() - 5) } } }
                            td {
                                @if v.version != current {
                                    a href={ "/rulebook/versions/" (v.version) } { (lang.pick("与当前比较", "Diff with current")) } " "
                                    (rollback_button(&viewer, v.version))
                                }
                            }
                        }
                    }
                }
            } }
            (ui::pager(lang, paging, has_more, "/rulebook/versions", ""))
        }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("规则手册版本历史", "Rulebook history"), "/rulebook", body).with_actions(sandbox_link(lang))))
}

fn rollback_button(viewer: &Viewer, version: i64) -> Markup {
    let lang = viewer.lang;
    html! {
        @if viewer.can_edit() {
            button.rollback type="button" data-api={ "/api/v1/rulebook/rollback/" (version) "?" (author_query(viewer)) } data-method="POST" data-then="reload"
                data-done=(lang.pick("已回滚，立即生效", "Rolled back; in force now"))
                data-confirm={ (lang.pick("回滚到 v", "Roll back to v")) (version) (lang.pick("？会保存为一个新版本。", "? It is saved as a new version.")) } {
                (lang.pick("回滚到此版本", "Roll back to this version"))
            }
        }
    }
}

/// `GET /rulebook/versions/{version}`: the diff from this version to the one in force.
async fn version_page(viewer: Viewer, State(state): State<AppState>, uri: axum::http::Uri, Path(version): Path<String>) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let version: i64 = version.parse().map_err(|_| DashError::not_found(lang, &version))?;
    let detail = version_detail(&state, version).await.map_err(|e| match e.code {
        "unknown_version" => DashError::not_found(lang, &format!("v{version}")),
        _ => DashError::internal(e.message),
    })?;
    let diff = rulebook_diff(&state, version, None).await.map_err(|e| DashError::internal(e.message))?;
    let tz = chrono_tz::Asia::Shanghai;
    let m = &detail.meta;
    let body = html! {
        (editor_assets())
        div.card {
            p {
                "v" (m.version) " · " (ui::time(m.time, tz)) " · " (m.author)
                @if !m.note.is_empty() { " · " (m.note) }
            }
            @if version != diff.to { (rollback_button(&viewer, version)) }
            " " a href="/rulebook/versions" { (lang.pick("返回版本历史", "Back to the history")) }
        }
        (diff_card(lang, &diff))
    };
    let title = format!("{}v{version}", lang.pick("规则手册 ", "Rulebook "));
    Ok(layout::render(&viewer, &here(&uri), Page::new(title, "/rulebook", body).with_actions(sandbox_link(lang))))
}

fn diff_card(lang: Locale, diff: &RulebookDiff) -> Markup {
    html! {
        div.card {
            h2 { "v" (diff.from) " → v" (diff.to) (lang.pick("（当前）", " (in force)")) }
            @if diff.hunks.is_empty() {
                (ui::empty(lang, "与当前版本相同。", "The same as the version in force."))
            } @else {
                p { (lang.pick("改动的设置：", "Changed settings: ")) @for c in &diff.changes { code { (c) } " " } }
                div.table-wrap { table.diff #diff {
                    @for (i, hunk) in diff.hunks.iter().enumerate() {
                        @if i > 0 { tr.gap { td colspan="3" { "⋯" } } }
                        @for line in hunk {
                            tr class=(line.tag) {
                                td.num.muted { (line.old.map(|n| n.to_string()).unwrap_or_default()) }
                                td.num.muted { (line.new.map(|n| n.to_string()).unwrap_or_default()) }
                                td { code { (match line.tag { "add" => "+ ", "del" => "- ", _ => "  " }) (line.text) } }
                            }
                        }
                    }
                } }
            }
        }
    }
}
