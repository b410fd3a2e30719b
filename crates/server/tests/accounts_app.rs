//! Dashboard accounts through the whole router (in process, over the memory store and a
//! `ManualClock`): the first-run page, logins, the operator API's guard, API tokens, CSRF,
//! session expiry, the login limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use qunzhu::accounts::Auth;
use qunzhu::http::{AppState, router};
use qunzhu_connectors::sandbox::SandboxConnector;
use qunzhu_core::accounts::Role;
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{Capabilities, Clock, ConnectorId, ManualClock, Store};
use qunzhu_engine::{Engine, EngineConfig};
use serde_json::Value;
use tower::ServiceExt;

struct App {
    router: axum::Router,
    state: AppState,
    clock: Arc<ManualClock>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }

    /// The session token a `Set-Cookie` header gives, if any.
    fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("qunzhu_session="))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
    }
}

fn start_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap()
}

impl App {
    async fn new() -> Self {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(start_time()));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let sandbox = Arc::new(SandboxConnector::with_clock(dyn_clock.clone()));
        let mut capabilities: HashMap<ConnectorId, Capabilities> = HashMap::new();
        capabilities.insert("sandbox".into(), Capabilities::all());
        let engine = Engine::start(store, dyn_clock, capabilities, EngineConfig::default()).await.unwrap();
        let state = AppState::new(engine, [], sandbox);
        Self { router: router(state.clone()), state, clock }
    }

    fn auth(&self) -> &Arc<Auth> {
        &self.state.auth
    }

    async fn call(&self, method: Method, uri: &str, headers: &[(&str, &str)], body: Option<(&str, String)>) -> Reply {
        let mut request = Request::builder().method(method).uri(uri).header(header::HOST, "qunzhu.test");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some((content_type, body)) => request.header(header::CONTENT_TYPE, content_type).body(Body::from(body)),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> Reply {
        self.call(Method::GET, uri, headers, None).await
    }

    /// An account and a logged-in session: (cookie header value, csrf token).
    async fn logged_in(&self, login: &str, role: Role) -> (String, String) {
        let first = !self.auth().accounts_exist().await.unwrap();
        self.auth().create_account(login, "", "correct horse", role, first, "test").await.unwrap();
        let session = self.auth().login(login, "correct horse", None, Some("test")).await.unwrap();
        (format!("qunzhu_session={}", session.token), session.session.csrf)
    }
}

/// A changing API call that passes the guard answers 404 (there is no task 999).
const CHANGE: &str = "/api/v1/tasks/999/status";

fn status_body() -> Option<(&'static str, String)> {
    Some(("application/json", r#"{"status":"done"}"#.to_owned()))
}

#[tokio::test]
async fn the_api_is_open_until_an_account_exists_then_it_needs_a_session_or_a_token() {
    let app = App::new().await;
    assert_eq!(app.get("/api/v1/tasks", &[]).await.status, StatusCode::OK, "no account: open as before");
    app.auth().create_account("boss", "", "correct horse", Role::Owner, true, "test").await.unwrap();

    let refused = app.get("/api/v1/tasks", &[]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.code(), "unauthenticated");
    assert_eq!(refused.headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
    let bad = app.get("/api/v1/tasks", &[("authorization", "Bearer qz_nonsense")]).await;
    assert_eq!((bad.status, bad.code().as_str()), (StatusCode::UNAUTHORIZED, "invalid_token"));

    for public in ["/healthz", "/api/openapi.json", "/api/v1/sandbox/groups/none/transcript"] {
        assert_ne!(app.get(public, &[]).await.status, StatusCode::UNAUTHORIZED, "{public} stays public");
    }
    let bridge = app.call(Method::POST, "/api/v1/bridge/none/events", &[], Some(("application/json", "[]".into()))).await;
    assert_ne!(bridge.code(), "unauthenticated", "the bridge has its own tokens: {}", bridge.body);
}

#[tokio::test]
async fn an_api_token_authenticates_without_csrf_until_it_is_revoked() {
    let app = App::new().await;
    app.logged_in("boss", Role::Owner).await;
    let (token, _) = app.auth().create_token("自动化", Role::Operator, "operator:boss").await.unwrap();
    let bearer = format!("Bearer {token}");
    let headers = [("authorization", bearer.as_str())];
    assert_eq!(app.get("/api/v1/tasks", &headers).await.status, StatusCode::OK);
    let changed = app.call(Method::POST, CHANGE, &headers, status_body()).await;
    assert_eq!(changed.status, StatusCode::NOT_FOUND, "passed the guard without a CSRF token: {}", changed.body);
    let listed = app.state.engine.store().list_api_tokens().await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(start_time()), "its use is recorded");

    assert!(app.auth().revoke_token("自动化", "operator:boss").await.unwrap());
    let revoked = app.get("/api/v1/tasks", &headers).await;
    assert_eq!((revoked.status, revoked.code().as_str()), (StatusCode::UNAUTHORIZED, "invalid_token"));
}

#[tokio::test]
async fn a_viewer_reads_the_api_but_cannot_change_anything_by_session_or_token() {
    let app = App::new().await;
    app.logged_in("boss", Role::Owner).await;
    let (cookie, csrf) = app.logged_in("guest", Role::Viewer).await;
    let session = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    assert_eq!(app.get("/api/v1/tasks", &session).await.status, StatusCode::OK);
    let refused = app.call(Method::POST, CHANGE, &session, status_body()).await;
    assert_eq!((refused.status, refused.code().as_str()), (StatusCode::FORBIDDEN, "forbidden_role"));

    let (token, _) = app.auth().create_token("看板", Role::Viewer, "operator:boss").await.unwrap();
    let bearer = format!("Bearer {token}");
    assert_eq!(app.get("/api/v1/tasks", &[("authorization", bearer.as_str())]).await.status, StatusCode::OK);
    let refused = app.call(Method::PUT, "/api/v1/rulebook", &[("authorization", bearer.as_str())], Some(("application/json", "{}".into()))).await;
    assert_eq!((refused.status, refused.code().as_str()), (StatusCode::FORBIDDEN, "forbidden_role"));
}

#[tokio::test]
async fn a_change_through_a_session_needs_its_csrf_token_in_the_header_or_the_form() {
    let app = App::new().await;
    let (cookie, csrf) = app.logged_in("boss", Role::Owner).await;
    let missing = app.call(Method::POST, CHANGE, &[("cookie", cookie.as_str())], status_body()).await;
    assert_eq!((missing.status, missing.code().as_str()), (StatusCode::FORBIDDEN, "csrf_failed"));
    let wrong = app.call(Method::POST, CHANGE, &[("cookie", cookie.as_str()), ("x-csrf-token", "guess")], status_body()).await;
    assert_eq!(wrong.code(), "csrf_failed");
    let right = app.call(Method::POST, CHANGE, &[("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())], status_body()).await;
    assert_eq!(right.status, StatusCode::NOT_FOUND, "{}", right.body);

    let form = |token: &str| Some(("application/x-www-form-urlencoded", format!("status=done&_csrf={token}")));
    let wrong_form = app.call(Method::POST, CHANGE, &[("cookie", cookie.as_str())], form("guess")).await;
    assert_eq!(wrong_form.code(), "csrf_failed");
    let right_form = app.call(Method::POST, CHANGE, &[("cookie", cookie.as_str())], form(&csrf)).await;
    assert_ne!(right_form.code(), "csrf_failed", "the form field is read and the body handed on: {}", right_form.body);
}

#[tokio::test]
async fn a_session_expires_after_fourteen_idle_days_and_use_slides_it() {
    let app = App::new().await;
    let (cookie, _) = app.logged_in("boss", Role::Owner).await;
    let headers = [("cookie", cookie.as_str())];
    app.clock.advance(Duration::days(13));
    let used = app.get("/api/v1/tasks", &headers).await;
    assert_eq!(used.status, StatusCode::OK);
    let renewed = used.session_cookie().expect("a used session's cookie is sent again with a fresh max-age");
    assert_eq!(format!("qunzhu_session={renewed}"), cookie);
    app.clock.advance(Duration::days(13));
    assert_eq!(app.get("/api/v1/tasks", &headers).await.status, StatusCode::OK, "13 + 13 days, used in between");
    app.clock.advance(Duration::days(14));
    assert_eq!(app.get("/api/v1/tasks", &headers).await.status, StatusCode::UNAUTHORIZED, "14 idle days later");
}

#[tokio::test]
async fn logins_are_audited_and_five_failures_lock_the_name_for_five_minutes() {
    let app = App::new().await;
    app.auth().create_account("boss", "", "correct horse", Role::Owner, true, "test").await.unwrap();
    assert!(app.auth().login("boss", "wrong", None, None).await.is_err());
    for _ in 0..4 {
        assert!(matches!(app.auth().login("BOSS", "wrong", None, None).await, Err(qunzhu::accounts::AuthError::WrongCredentials)));
    }
    assert!(
        matches!(app.auth().login("boss", "correct horse", None, None).await, Err(qunzhu::accounts::AuthError::RateLimited)),
        "even the right password waits"
    );
    app.clock.advance(Duration::minutes(5) + Duration::seconds(1));
    assert!(app.auth().login("boss", "correct horse", None, None).await.is_ok());
    let kinds: Vec<String> = app.state.engine.store().list_audit(None, 20).await.unwrap().into_iter().map(|a| a.entry.kind).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "account.login_failed").count(), 5, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "account.login_limited").count(), 1, "{kinds:?}");
    assert_eq!(kinds.first().map(String::as_str), Some("account.login"), "{kinds:?}");
}

// --- the pages ---

fn form(fields: &[(&str, &str)]) -> Option<(&'static str, String)> {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&");
    Some(("application/x-www-form-urlencoded", body))
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn location(reply: &Reply) -> String {
    reply.headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn every_page_leads_to_the_first_run_until_the_owner_exists_and_the_first_run_happens_once() {
    let app = App::new().await;
    for page in ["/", "/login", "/settings/accounts"] {
        let reply = app.get(page, &[]).await;
        assert!(reply.status.is_redirection(), "{page}: {}", reply.status);
        assert_eq!(location(&reply), "/setup", "{page}");
    }
    let setup = app.get("/setup", &[]).await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(setup.body.contains("创建所有者账号"), "zh-CN by default");
    assert!(app.get("/setup?lang=en", &[]).await.body.contains("create the owner account"));

    let differ = app.call(Method::POST, "/setup", &[], form(&[("login", "boss"), ("password", "correct horse"), ("password_again", "correct hose")])).await;
    assert_eq!(differ.status, StatusCode::BAD_REQUEST);
    assert!(differ.body.contains("两次输入的密码不一样"));

    let created = app
        .call(Method::POST, "/setup", &[], form(&[("login", "Boss"), ("display_name", "老板"), ("password", "correct horse"), ("password_again", "correct horse")]))
        .await;
    assert!(created.status.is_redirection(), "{}: {}", created.status, created.body);
    assert_eq!(location(&created), "/");
    let token = created.session_cookie().expect("signed in at once");
    let set_cookie = created.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "not https: {set_cookie}");
    let cookie = format!("qunzhu_session={token}");
    let home = app.get("/", &[("cookie", cookie.as_str())]).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("老板"), "the owner's name in the top bar");

    let again = app.call(Method::POST, "/setup", &[], form(&[("login", "intruder"), ("password", "correct horse"), ("password_again", "correct horse")])).await;
    assert_eq!(location(&again), "/login", "the first run happens once");
    assert_eq!(location(&app.get("/setup", &[]).await), "/login");
    assert_eq!(app.state.engine.store().count_accounts().await.unwrap(), 1);
}

#[tokio::test]
async fn signing_in_goes_back_where_the_user_was_and_signing_out_ends_the_session() {
    let app = App::new().await;
    app.auth().create_account("boss", "", "correct horse", Role::Owner, true, "test").await.unwrap();
    let away = app.get("/settings/tokens", &[]).await;
    assert_eq!(location(&away), "/login?next=%2Fsettings%2Ftokens");
    let page = app.get("/login?next=%2Fsettings%2Ftokens", &[]).await;
    assert!(page.body.contains(r#"value="/settings/tokens""#), "{}", page.body);

    let wrong = app.call(Method::POST, "/login", &[], form(&[("login", "boss"), ("password", "wrong horse"), ("next", "/settings/tokens")])).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("登录名或密码不对"));
    assert!(wrong.session_cookie().is_none());

    let right = app.call(Method::POST, "/login", &[], form(&[("login", "boss"), ("password", "correct horse"), ("next", "/settings/tokens")])).await;
    assert_eq!(location(&right), "/settings/tokens");
    let cookie = format!("qunzhu_session={}", right.session_cookie().unwrap());
    assert_eq!(app.get("/settings/tokens", &[("cookie", cookie.as_str())]).await.status, StatusCode::OK);
    let offsite = app.call(Method::POST, "/login", &[], form(&[("login", "boss"), ("password", "correct horse"), ("next", "//evil.example/")])).await;
    assert_eq!(location(&offsite), "/", "no open redirect");

    let forged = app.call(Method::POST, "/logout", &[("cookie", cookie.as_str())], form(&[])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "logging out needs the CSRF token too");
    let page = app.get("/", &[("cookie", cookie.as_str())]).await;
    let csrf = page.body.split("data-csrf=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let out = app.call(Method::POST, "/logout", &[("cookie", cookie.as_str())], form(&[("_csrf", &csrf)])).await;
    assert_eq!(location(&out), "/login");
    assert!(out.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().contains("Max-Age=0"));
    assert!(app.get("/", &[("cookie", cookie.as_str())]).await.status.is_redirection(), "the session is gone");
    let kinds: Vec<String> = app.state.engine.store().list_audit(None, 10).await.unwrap().into_iter().map(|a| a.entry.kind).collect();
    assert!(kinds.contains(&"account.logout".to_owned()) && kinds.contains(&"account.login_failed".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn the_sixth_failed_sign_in_gets_a_429_page_and_a_foreign_origin_is_refused() {
    let app = App::new().await;
    app.auth().create_account("boss", "", "correct horse", Role::Owner, true, "test").await.unwrap();
    for _ in 0..5 {
        let reply = app.call(Method::POST, "/login", &[], form(&[("login", "boss"), ("password", "guess")])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let limited = app.call(Method::POST, "/login", &[], form(&[("login", "boss"), ("password", "correct horse")])).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("5 分钟后再试"), "{}", limited.body);

    let foreign = app
        .call(Method::POST, "/login", &[("origin", "https://evil.example")], form(&[("login", "other"), ("password", "correct horse")]))
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_owner_manages_accounts_and_tokens_and_a_viewer_gets_a_403_page() {
    let app = App::new().await;
    let (cookie, csrf) = app.logged_in("boss", Role::Owner).await;
    let owner = [("cookie", cookie.as_str())];
    let page = app.get("/settings/accounts", &owner).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"data-login="boss""#));

    let made = app
        .call(Method::POST, "/settings/accounts", &owner, form(&[("_csrf", &csrf), ("login", "xiaowang"), ("display_name", "小王"), ("password", "viewer password"), ("role", "viewer")]))
        .await;
    assert!(location(&made).starts_with("/settings/accounts?done="), "{}", made.body);
    let guest = app.state.engine.store().account_by_login("xiaowang").await.unwrap().unwrap();
    assert_eq!(guest.role, Role::Viewer);
    let last_owner = app
        .call(Method::POST, &format!("/settings/accounts/{}", app.state.engine.store().account_by_login("boss").await.unwrap().unwrap().id), &owner, form(&[("_csrf", &csrf), ("disabled", "true")]))
        .await;
    assert!(location(&last_owner).starts_with("/settings/accounts?error="), "the last owner stays");

    let viewer_session = app.auth().login("xiaowang", "viewer password", None, None).await.unwrap();
    let viewer_cookie = format!("qunzhu_session={}", viewer_session.token);
    let refused = app.get("/settings/accounts", &[("cookie", viewer_cookie.as_str())]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("只能查看"));
    let home = app.get("/", &[("cookie", viewer_cookie.as_str())]).await;
    assert!(!home.body.contains("/settings/accounts"), "a viewer's navigation has no settings");

    let disabled = app
        .call(Method::POST, &format!("/settings/accounts/{}", guest.id), &owner, form(&[("_csrf", &csrf), ("disabled", "true")]))
        .await;
    assert!(location(&disabled).contains("done="));
    assert!(app.get("/", &[("cookie", viewer_cookie.as_str())]).await.status.is_redirection(), "disabling ends the session");

    let token_page = app.call(Method::POST, "/settings/tokens", &owner, form(&[("_csrf", &csrf), ("name", "报表"), ("role", "viewer")])).await;
    assert_eq!(token_page.status, StatusCode::OK);
    let token = token_page.body.split("<code>").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(token.starts_with("qz_"), "{token}");
    let bearer = format!("Bearer {token}");
    assert_eq!(app.get("/api/v1/tasks", &[("authorization", bearer.as_str())]).await.status, StatusCode::OK);
    let listed = app.get("/settings/tokens", &owner).await;
    assert!(listed.body.contains("报表") && !listed.body.contains(&token), "the token is shown once");
    let id = app.state.engine.store().list_api_tokens().await.unwrap()[0].id;
    let revoked = app.call(Method::POST, &format!("/settings/tokens/{id}/revoke"), &owner, form(&[("_csrf", &csrf)])).await;
    assert!(location(&revoked).contains("done="));
    assert_eq!(app.get("/api/v1/tasks", &[("authorization", bearer.as_str())]).await.status, StatusCode::UNAUTHORIZED);
}
