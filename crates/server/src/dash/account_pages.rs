//! Sign-in, first run and the owner's settings pages:
//!
//! - `GET|POST /setup` — the first-run page: creates the owner, only while no account exists
//!   (every other page redirects here until then).
//! - `GET|POST /login` — sign in (rate-limited: 429 after five failures in five minutes per IP
//!   or login name); `POST /logout` ends the session.
//! - `GET|POST /settings/accounts`, `POST /settings/accounts/{id}` — accounts (owner only):
//!   create, change role, disable / enable.
//! - `GET|POST /settings/tokens`, `POST /settings/tokens/{id}/revoke` — API tokens (owner
//!   only); a new token is shown once.
//!
//! Forms post with the session's `_csrf` field (checked by `http::access`).

use std::net::{IpAddr, SocketAddr};

use axum::Form;
use axum::extract::{ConnectInfo, Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{Markup, html};
use qunzhu_core::accounts::{AccountChange, Role};
use qunzhu_engine::Locale;
use serde::Deserialize;

use super::auth::{StaffRole, Viewer};
use super::layout::{self, Page};
use super::{DashError, local_path};
use crate::accounts::{AuthError, Principal};
use crate::http::AppState;
use crate::http::access::session_cookie;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/setup", get(setup_page).post(setup))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/settings/accounts", get(accounts_page).post(create_account))
        .route("/settings/accounts/{id}", post(change_account))
        .route("/settings/tokens", get(tokens_page).post(create_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
}

fn lang_of(headers: &HeaderMap, query_lang: Option<&str>) -> Locale {
    let from_query = query_lang.and_then(|tag| match tag {
        "en" => Some(Locale::En),
        "zh-CN" | "zh" => Some(Locale::ZhCn),
        _ => None,
    });
    from_query
        .or_else(|| {
            crate::http::access::cookie(headers, super::LANG_COOKIE).and_then(|v| match v.as_str() {
                "en" => Some(Locale::En),
                _ => None,
            })
        })
        .unwrap_or_default()
}

fn error_text(lang: Locale, error: &AuthError) -> String {
    let text = error.to_string();
    // The messages are "中文 (English)": show the half in the page's language.
    match (lang, text.split_once(" (")) {
        (Locale::ZhCn, Some((zh, _))) => zh.to_owned(),
        (Locale::En, Some((_, en))) => en.trim_end_matches(')').to_owned(),
        _ => text,
    }
}

fn flash_error(message: Option<&str>) -> Markup {
    html! { @if let Some(message) = message { p.flash.error role="alert" { (message) } } }
}

fn role_label(role: Role, lang: Locale) -> &'static str {
    StaffRole::from(role).label(lang)
}

fn signed_in(state: &AppState, token: &str, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, session_cookie(state, Some(token)));
    response
}

// --- first run ---

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupForm {
    login: String,
    #[serde(default)]
    display_name: String,
    password: String,
    password_again: String,
}

fn setup_form(lang: Locale, error: Option<&str>, login: &str, display_name: &str) -> Markup {
    html! {
        div.card {
            h2 { (lang.pick("首次设置：创建所有者账号", "First run: create the owner account")) }
            p.muted { (lang.pick("所有者可以管理账号和 API 令牌。这个页面只在还没有任何账号时可用。", "The owner manages accounts and API tokens. This page works only while no account exists.")) }
            (flash_error(error))
            form method="post" action="/setup" {
                div.field { label for="login" { (lang.pick("登录名", "Login name")) } input #login type="text" name="login" required autocomplete="username" value=(login); }
                div.field { label for="display_name" { (lang.pick("显示名称", "Display name")) } input #display_name type="text" name="display_name" value=(display_name); }
                div.field { label for="password" { (lang.pick("密码（至少 8 个字符）", "Password (8 characters or more)")) } input #password type="password" name="password" required autocomplete="new-password"; }
                div.field { label for="password_again" { (lang.pick("再输一次密码", "Password again")) } input #password_again type="password" name="password_again" required autocomplete="new-password"; }
                button.primary type="submit" { (lang.pick("创建并登录", "Create and sign in")) }
            }
        }
    }
}

async fn setup_page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<LangQuery>) -> Result<Response, DashError> {
    if state.auth.accounts_exist().await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let lang = lang_of(&headers, query.lang.as_deref());
    let title = lang.pick("首次设置", "First run");
    Ok(layout::bare(lang, "/setup", title, setup_form(lang, None, "", "")).into_response())
}

async fn setup(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<SetupForm>) -> Result<Response, DashError> {
    let lang = lang_of(&headers, None);
    let title = lang.pick("首次设置", "First run");
    if form.password != form.password_again {
        let message = lang.pick("两次输入的密码不一样。", "The two passwords differ.");
        let body = setup_form(lang, Some(message), &form.login, &form.display_name);
        return Ok((StatusCode::BAD_REQUEST, layout::bare(lang, "/setup", title, body)).into_response());
    }
    match state.auth.create_account(&form.login, &form.display_name, &form.password, Role::Owner, true, "setup").await {
        Ok(_) => {}
        Err(AuthError::AlreadySetUp) => return Ok(Redirect::to("/login").into_response()),
        Err(AuthError::Store(error)) => return Err(error.into()),
        Err(error) => {
            let body = setup_form(lang, Some(&error_text(lang, &error)), &form.login, &form.display_name);
            return Ok((StatusCode::BAD_REQUEST, layout::bare(lang, "/setup", title, body)).into_response());
        }
    }
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    match state.auth.login(&form.login, &form.password, None, user_agent).await {
        Ok(session) => Ok(signed_in(&state, &session.token, "/")),
        Err(_) => Ok(Redirect::to("/login").into_response()),
    }
}

// --- sign in and out ---

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    next: String,
}

fn login_form(lang: Locale, error: Option<&str>, login: &str, next: &str) -> Markup {
    html! {
        div.card {
            h2 { (lang.pick("登录", "Sign in")) }
            (flash_error(error))
            form method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                div.field { label for="login" { (lang.pick("登录名", "Login name")) } input #login type="text" name="login" required autocomplete="username" value=(login); }
                div.field { label for="password" { (lang.pick("密码", "Password")) } input #password type="password" name="password" required autocomplete="current-password"; }
                button.primary type="submit" { (lang.pick("登录", "Sign in")) }
            }
            p.muted { (lang.pick("忘记密码？请在服务器上运行 qunzhu admin passwd 登录名", "Forgot the password? Run `qunzhu admin passwd NAME` on the server.")) }
        }
    }
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<LangQuery>) -> Result<Response, DashError> {
    if !state.auth.accounts_exist().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let lang = lang_of(&headers, query.lang.as_deref());
    let next = local_path(query.next.as_deref());
    Ok(layout::bare(lang, "/login", lang.pick("登录", "Sign in"), login_form(lang, None, "", next)).into_response())
}

async fn login(
    State(state): State<AppState>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, DashError> {
    let lang = lang_of(&headers, None);
    let ip: Option<IpAddr> = connection.map(|Extension(ConnectInfo(address))| address.ip());
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let next = local_path(Some(form.next.as_str())).to_owned();
    match state.auth.login(&form.login, &form.password, ip, user_agent).await {
        Ok(session) => Ok(signed_in(&state, &session.token, &next)),
        Err(AuthError::Store(error)) => Err(error.into()),
        Err(error) => {
            let status = match error {
                AuthError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            let body = login_form(lang, Some(&error_text(lang, &error)), &form.login, &next);
            Ok((status, layout::bare(lang, "/login", lang.pick("登录", "Sign in"), body)).into_response())
        }
    }
}

async fn logout(State(state): State<AppState>, principal: Option<Extension<Principal>>) -> Result<Response, DashError> {
    if let Some(Extension(principal)) = principal {
        state.auth.logout(&principal).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, session_cookie(&state, None));
    Ok(response)
}

// --- accounts (owner) ---

#[derive(Deserialize)]
pub struct NewAccountForm {
    login: String,
    #[serde(default)]
    display_name: String,
    password: String,
    role: String,
}

#[derive(Deserialize)]
pub struct ChangeAccountForm {
    role: Option<String>,
    disabled: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    error: Option<String>,
    done: Option<String>,
}

fn role_select(lang: Locale, name: &str, selected: Role) -> Markup {
    html! {
        select name=(name) {
            @for role in Role::ALL {
                option value=(role.name()) selected[role == selected] { (role_label(role, lang)) }
            }
        }
    }
}

fn notices(query: &NoticeQuery) -> Markup {
    html! {
        @if let Some(done) = &query.done { p.flash role="status" { (done) } }
        (flash_error(query.error.as_deref()))
    }
}

async fn accounts_page(viewer: Viewer, State(state): State<AppState>, Query(query): Query<NoticeQuery>) -> Result<Response, DashError> {
    viewer.require(StaffRole::Owner)?;
    let lang = viewer.lang;
    let accounts = state.auth.store().list_accounts().await?;
    let body = html! {
        (notices(&query))
        div.card {
            h2 { (lang.pick("账号", "Accounts")) }
            div.table-wrap { table #accounts {
                thead { tr {
                    th { (lang.pick("登录名", "Login")) } th { (lang.pick("名称", "Name")) } th { (lang.pick("角色", "Role")) }
                    th { (lang.pick("状态", "State")) } th {}
                } }
                tbody { @for account in &accounts {
                    tr data-login=(account.login) {
                        td { (account.login) } td { (account.display_name) }
                        td {
                            form.form-row method="post" action={ "/settings/accounts/" (account.id) } {
                                input type="hidden" name="_csrf" value=(viewer.csrf);
                                (role_select(lang, "role", account.role))
                                button type="submit" { (lang.pick("改角色", "Set role")) }
                            }
                        }
                        td { @if account.disabled { (lang.pick("已停用", "disabled")) } @else { (lang.pick("启用中", "enabled")) } }
                        td {
                            form method="post" action={ "/settings/accounts/" (account.id) } {
                                input type="hidden" name="_csrf" value=(viewer.csrf);
                                input type="hidden" name="disabled" value=(if account.disabled { "false" } else { "true" });
                                button.danger[!account.disabled] type="submit" {
                                    @if account.disabled { (lang.pick("启用", "Enable")) } @else { (lang.pick("停用", "Disable")) }
                                }
                            }
                        }
                    }
                } }
            } }
        }
        div.card {
            h2 { (lang.pick("新建账号", "New account")) }
            form method="post" action="/settings/accounts" {
                input type="hidden" name="_csrf" value=(viewer.csrf);
                div.form-row {
                    div.field { label for="login" { (lang.pick("登录名", "Login name")) } input #login type="text" name="login" required; }
                    div.field { label for="display_name" { (lang.pick("显示名称", "Display name")) } input #display_name type="text" name="display_name"; }
                    div.field { label for="password" { (lang.pick("初始密码", "Initial password")) } input #password type="password" name="password" required autocomplete="new-password"; }
                    div.field { label for="role" { (lang.pick("角色", "Role")) } (role_select(lang, "role", Role::Operator)) }
                    button.primary type="submit" { (lang.pick("创建", "Create")) }
                }
            }
        }
    };
    Ok(layout::render(&viewer, "/settings/accounts", Page::new(lang.pick("账号", "Accounts"), "/settings/accounts", body)).into_response())
}

fn back_to(path: &str, key: &str, message: &str) -> Response {
    Redirect::to(&format!("{path}?{key}={}", layout::urlencode(message))).into_response()
}

async fn create_account(
    viewer: Viewer,
    Extension(principal): Extension<Principal>,
    State(state): State<AppState>,
    Form(form): Form<NewAccountForm>,
) -> Result<Response, DashError> {
    viewer.require(StaffRole::Owner)?;
    let lang = viewer.lang;
    let role = Role::from_name(&form.role).ok_or_else(|| DashError::bad_request(lang, "role"))?;
    match state.auth.create_account(&form.login, &form.display_name, &form.password, role, false, &principal.actor).await {
        Ok(account) => Ok(back_to("/settings/accounts", "done", &format!("{}{}", lang.pick("已创建 ", "Created "), account.login))),
        Err(AuthError::Store(error)) => Err(error.into()),
        Err(error) => Ok(back_to("/settings/accounts", "error", &error_text(lang, &error))),
    }
}

async fn change_account(
    viewer: Viewer,
    Extension(principal): Extension<Principal>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<ChangeAccountForm>,
) -> Result<Response, DashError> {
    viewer.require(StaffRole::Owner)?;
    let lang = viewer.lang;
    let Some(account) = state.auth.store().account(id).await? else {
        return Err(DashError::not_found(lang, &id.to_string()));
    };
    let change = AccountChange {
        role: form.role.as_deref().map(|r| Role::from_name(r).ok_or_else(|| DashError::bad_request(lang, "role"))).transpose()?,
        disabled: form.disabled.as_deref().map(|d| d == "true"),
        ..AccountChange::default()
    };
    match state.auth.update_account(&account.login, change, &principal.actor).await {
        Ok(changed) => Ok(back_to("/settings/accounts", "done", &format!("{}{}", lang.pick("已更新 ", "Updated "), changed.login))),
        Err(AuthError::Store(error)) => Err(error.into()),
        Err(error) => Ok(back_to("/settings/accounts", "error", &error_text(lang, &error))),
    }
}

// --- API tokens (owner) ---

#[derive(Deserialize)]
pub struct NewTokenForm {
    name: String,
    role: String,
}

fn tokens_body(viewer: &Viewer, tokens: &[qunzhu_core::accounts::ApiToken], made: Option<&str>, query: &NoticeQuery) -> Markup {
    let lang = viewer.lang;
    html! {
        (notices(query))
        @if let Some(token) = made {
            div.card #new-token {
                h2 { (lang.pick("新令牌（只显示这一次，请立即保存）", "New token (shown this once: keep it now)")) }
                pre { code { (token) } }
                p.muted { "Authorization: Bearer …" }
            }
        }
        div.card {
            h2 { (lang.pick("API 令牌", "API tokens")) }
            div.table-wrap { table #tokens {
                thead { tr {
                    th { (lang.pick("名称", "Name")) } th { (lang.pick("角色", "Role")) } th { (lang.pick("创建者", "Created by")) }
                    th { (lang.pick("最近使用", "Last used")) } th {}
                } }
                tbody { @for token in tokens {
                    tr {
                        td { (token.name) } td { (role_label(token.role, lang)) } td { (token.created_by) }
                        td { @match token.last_used_at { Some(at) => (at.format("%Y-%m-%d %H:%M UTC")), None => (lang.pick("未使用", "never")) } }
                        td {
                            @if token.revoked_at.is_some() { (lang.pick("已撤销", "revoked")) } @else {
                                form method="post" action={ "/settings/tokens/" (token.id) "/revoke" } {
                                    input type="hidden" name="_csrf" value=(viewer.csrf);
                                    button.danger type="submit" { (lang.pick("撤销", "Revoke")) }
                                }
                            }
                        }
                    }
                } }
            } }
        }
        div.card {
            h2 { (lang.pick("新建令牌", "New token")) }
            form.form-row method="post" action="/settings/tokens" {
                input type="hidden" name="_csrf" value=(viewer.csrf);
                div.field { label for="name" { (lang.pick("用途", "What uses it")) } input #name type="text" name="name" required; }
                div.field { label for="role" { (lang.pick("角色", "Role")) } (role_select(lang, "role", Role::Viewer)) }
                button.primary type="submit" { (lang.pick("创建", "Create")) }
            }
        }
    }
}

async fn tokens_page(viewer: Viewer, State(state): State<AppState>, Query(query): Query<NoticeQuery>) -> Result<Response, DashError> {
    viewer.require(StaffRole::Owner)?;
    let tokens = state.auth.store().list_api_tokens().await?;
    let lang = viewer.lang;
    let body = tokens_body(&viewer, &tokens, None, &query);
    Ok(layout::render(&viewer, "/settings/tokens", Page::new(lang.pick("API 令牌", "API tokens"), "/settings/tokens", body)).into_response())
}

async fn create_token(
    viewer: Viewer,
    Extension(principal): Extension<Principal>,
    State(state): State<AppState>,
    Form(form): Form<NewTokenForm>,
) -> Result<Response, DashError> {
    viewer.require(StaffRole::Owner)?;
    let lang = viewer.lang;
    let role = Role::from_name(&form.role).ok_or_else(|| DashError::bad_request(lang, "role"))?;
    let made = match state.auth.create_token(&form.name, role, &principal.actor).await {
        Ok((token, _)) => token,
        Err(AuthError::Store(error)) => return Err(error.into()),
        Err(error) => return Ok(back_to("/settings/tokens", "error", &error_text(lang, &error))),
    };
    let tokens = state.auth.store().list_api_tokens().await?;
    let body = tokens_body(&viewer, &tokens, Some(&made), &NoticeQuery::default());
    let mut response = layout::render(&viewer, "/settings/tokens", Page::new(lang.pick("API 令牌", "API tokens"), "/settings/tokens", body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn revoke_token(
    viewer: Viewer,
    Extension(principal): Extension<Principal>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, DashError> {
    viewer.require(StaffRole::Owner)?;
    let lang = viewer.lang;
    if state.auth.revoke_token(&id.to_string(), &principal.actor).await? {
        Ok(back_to("/settings/tokens", "done", lang.pick("已撤销", "Revoked")))
    } else {
        Err(DashError::not_found(lang, &id.to_string()))
    }
}
