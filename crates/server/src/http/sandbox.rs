//! The sandbox: the `/sandbox` page and its JSON API under `/api/v1/sandbox`.
//!
//! Members played on the page become events of the [`SandboxConnector`] and go through
//! [`Engine::submit`], the same pipeline as real platforms; the bot's answers reach the
//! transcript when the outbox delivers them to the connector.
//!
//! | route | what |
//! |---|---|
//! | `GET /sandbox` | the page (zh-CN; `?lang=en` for English) |
//! | `GET /api/v1/sandbox/groups` | groups |
//! | `POST /api/v1/sandbox/groups` `{"name"}` | create a group |
//! | `POST /api/v1/sandbox/groups/{id}/events` | a member joins (optionally through a channel's `invite_code`), leaves, posts or asks to join |
//! | `GET /api/v1/sandbox/groups/{id}/transcript?after=&wait=` | the transcript (long poll with `wait`) |
//! | `GET /api/v1/sandbox/groups/{id}/stream` | new transcript entries as server-sent events |
//!
//! The stream answers as soon as there is something new (or after `wait` seconds, 25 by
//! default) and ends the response with a `retry:` hint; `EventSource` reconnects at once with
//! `Last-Event-ID`, so no entry is missed. Each answer is a complete SSE document, which keeps
//! the endpoint free of streaming-body machinery.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use qunzhu_connectors::sandbox::{
    self as sb, Entry, MemberState, SandboxConnector, SandboxError, SandboxGroup,
};
use qunzhu_core::{Action, Event, GroupId, Member, MemberId, Role, StaffTask};
use qunzhu_engine::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use tracing::warn;

const PAGE_CSS: &str = include_str!("../../assets/sandbox/sandbox.css");
const PAGE_JS: &str = include_str!("../../assets/sandbox/sandbox.js");

/// Longest long poll / stream wait a client may ask for.
const MAX_WAIT_SECS: u64 = 60;
/// The stream's wait when the client names none.
const STREAM_WAIT_SECS: u64 = 25;

/// What the sandbox routes need.
#[derive(Clone)]
pub struct SandboxState {
    pub engine: Engine,
    pub sandbox: Arc<SandboxConnector>,
}

/// The sandbox routes over any state the [`SandboxState`] can be taken from.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    SandboxState: FromRef<S>,
{
    Router::new()
        .route("/sandbox", get(page))
        .route(
            "/api/v1/sandbox/groups",
            get(list_groups).post(create_group),
        )
        .route(
            "/api/v1/sandbox/groups/{id}/events",
            axum::routing::post(post_event),
        )
        .route("/api/v1/sandbox/groups/{id}/transcript", get(transcript))
        .route("/api/v1/sandbox/groups/{id}/stream", get(stream))
}

/// Lets the sandbox report what the bot's actions cause (an approved request becomes a
/// join, a kick a leave) by submitting those events to `engine`. Idempotent; every sandbox
/// route calls it, so wiring it at startup is optional (but lets follow-ups flow before the
/// page is first opened).
pub fn attach(engine: &Engine, sandbox: &Arc<SandboxConnector>) {
    let engine = engine.clone();
    let weak: Weak<SandboxConnector> = Arc::downgrade(sandbox);
    sandbox.set_event_sink(Arc::new(move |event: Event| {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            warn!(event = %event.origin.event_id, "no runtime to submit a sandbox follow-up event; dropped");
            return;
        };
        let engine = engine.clone();
        let weak = weak.clone();
        runtime.spawn(async move {
            match engine.submit(event).await {
                Ok(processed) => {
                    if let Some(sandbox) = weak.upgrade() {
                        record_tasks(&sandbox, &processed.tasks);
                    }
                }
                Err(error) => warn!(connector = sb::CONNECTOR_ID, error = %error, "sandbox follow-up event failed"),
            }
        });
    }));
}

fn record_tasks(sandbox: &SandboxConnector, tasks: &[StaffTask]) {
    for task in tasks {
        if let Err(error) = sandbox.record_task(task) {
            warn!(connector = sb::CONNECTOR_ID, task = %task.id, error = %error, "staff task not shown in the sandbox");
        }
    }
}

// ----- errors -------------------------------------------------------------------------------

/// A sandbox API error: `{"error":{"code","message"}}` with a stable snake_case code.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

impl From<SandboxError> for ApiError {
    fn from(error: SandboxError) -> Self {
        let status = match &error {
            SandboxError::UnknownGroup(_) => StatusCode::NOT_FOUND,
            SandboxError::Invalid { .. } => StatusCode::BAD_REQUEST,
            SandboxError::Muted(..)
            | SandboxError::NotInGroup(_)
            | SandboxError::AlreadyMember(_)
            | SandboxError::Banned(_)
            | SandboxError::Full(_) => StatusCode::CONFLICT,
        };
        Self::new(status, error.code(), error.to_string())
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::ShuttingDown => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the server is shutting down",
            ),
            EngineError::UnknownConnector(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "sandbox_not_connected",
                "the engine was started without the sandbox connector",
            ),
            other => {
                warn!(connector = sb::CONNECTOR_ID, error = %other, "sandbox event failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "the event could not be processed; see the server log",
                )
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            rejection.body_text(),
        )
    }
}

// ----- JSON API -----------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateGroup {
    name: String,
}

#[derive(Debug, Serialize)]
struct GroupList {
    instance: String,
    groups: Vec<SandboxGroup>,
}

async fn list_groups(State(state): State<SandboxState>) -> Json<GroupList> {
    attach(&state.engine, &state.sandbox);
    restore_groups(&state).await;
    Json(GroupList {
        instance: state.sandbox.instance().to_owned(),
        groups: state.sandbox.groups(),
    })
}

/// Brings back groups an earlier run created (their names live in the engine's store; their
/// transcripts were in memory and are gone).
async fn restore_groups(state: &SandboxState) {
    match state.engine.store().list_groups().await {
        Ok(groups) => {
            for group in groups
                .into_iter()
                .filter(|g| g.key.connector.as_str() == sb::CONNECTOR_ID)
            {
                state
                    .sandbox
                    .restore_group(&group.key.group, group.name.as_deref().unwrap_or_default());
            }
        }
        Err(error) => {
            warn!(connector = sb::CONNECTOR_ID, error = %error, "could not list earlier sandbox groups")
        }
    }
}

async fn create_group(
    State(state): State<SandboxState>,
    body: Result<Json<CreateGroup>, JsonRejection>,
) -> Result<(StatusCode, Json<SandboxGroup>), ApiError> {
    attach(&state.engine, &state.sandbox);
    let Json(body) = body?;
    Ok((
        StatusCode::CREATED,
        Json(state.sandbox.create_group(&body.name)?),
    ))
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum EventType {
    Join,
    Leave,
    Message,
    JoinRequest,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberInput {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    role: Role,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventRequest {
    #[serde(rename = "type")]
    kind: EventType,
    member: MemberInput,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    /// For a join: the invite code of the channel (渠道活码) the member came through.
    #[serde(default)]
    invite_code: Option<String>,
}

#[derive(Debug, Serialize)]
struct EventResponse {
    event_id: String,
    /// The member as the sandbox knows them (with the id it made up when none was sent).
    member: Member,
    /// What the engine decided; sends arrive in the transcript once the outbox delivered them.
    actions: Vec<Action>,
    /// Actions the platform cannot do, as staff tasks (待办) with their manual step.
    tasks: Vec<StaffTask>,
}

async fn post_event(
    State(state): State<SandboxState>,
    Path(id): Path<String>,
    body: Result<Json<EventRequest>, JsonRejection>,
) -> Result<Json<EventResponse>, ApiError> {
    attach(&state.engine, &state.sandbox);
    let Json(request) = body?;
    let group = GroupId::new(id);
    let member_id = match request.member.id {
        Some(id) => MemberId::new(id),
        None => MemberId::new(state.sandbox.new_member_id()),
    };
    let member = Member {
        id: member_id,
        name: Some(request.member.name),
        role: request.member.role,
    };
    let sandbox = &state.sandbox;
    let event = match request.kind {
        EventType::Join => sandbox.join_through(&group, member, request.invite_code)?,
        EventType::Leave => sandbox.leave(&group, member)?,
        EventType::JoinRequest => {
            sandbox.request_join(&group, member, request.comment.as_deref())?
        }
        EventType::Message => {
            let Some(text) = request.text else {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_input",
                    "`text`: a message needs a text",
                ));
            };
            sandbox.post_text(&group, member, &text)?
        }
    };
    let event_id = event.origin.event_id.to_string();
    let member = event
        .actor()
        .cloned()
        .unwrap_or_else(|| Member::new("?", "?"));
    let processed = state.engine.submit(event).await?;
    record_tasks(sandbox, &processed.tasks);
    Ok(Json(EventResponse {
        event_id,
        member,
        actions: processed.actions,
        tasks: processed.tasks,
    }))
}

#[derive(Debug, Default, Deserialize)]
struct TranscriptQuery {
    /// Only entries with a larger seq.
    #[serde(default)]
    after: Option<u64>,
    /// Wait up to this many seconds for something new.
    #[serde(default)]
    wait: Option<u64>,
}

#[derive(Debug, Serialize)]
struct TranscriptResponse {
    /// Changes on restart, when every transcript starts over.
    instance: String,
    group: SandboxGroup,
    members: Vec<MemberState>,
    entries: Vec<Entry>,
}

async fn transcript(
    State(state): State<SandboxState>,
    Path(id): Path<String>,
    query: Result<Query<TranscriptQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TranscriptResponse>, ApiError> {
    attach(&state.engine, &state.sandbox);
    let Query(query) = query
        .map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()))?;
    let group = GroupId::new(id);
    let after = query.after.unwrap_or(0);
    let entries = wait_for_entries(&state.sandbox, &group, after, query.wait.unwrap_or(0)).await?;
    Ok(Json(TranscriptResponse {
        instance: state.sandbox.instance().to_owned(),
        group: state.sandbox.group(&group)?,
        members: state.sandbox.members(&group)?,
        entries,
    }))
}

/// Entries after `after`, waiting up to `wait_secs` for the first one.
async fn wait_for_entries(
    sandbox: &SandboxConnector,
    group: &GroupId,
    after: u64,
    wait_secs: u64,
) -> Result<Vec<Entry>, SandboxError> {
    // Subscribe before looking, so an entry appended in between is not missed.
    let mut updates = sandbox.subscribe();
    let entries = sandbox.transcript(group, after)?;
    if !entries.is_empty() || wait_secs == 0 {
        return Ok(entries);
    }
    let mut stopping = sandbox.stopping();
    if *stopping.borrow_and_update() {
        return Ok(entries);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_secs.min(MAX_WAIT_SECS));
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, updates.recv()) => next,
            // The server is stopping: answer now rather than hold up the graceful stop.
            _ = stopping.changed() => return Ok(Vec::new()),
        };
        match next {
            Err(_elapsed) => return Ok(Vec::new()),
            Ok(Ok(entry)) if &entry.group != group => continue,
            // Something new (or we fell behind): read it from the transcript.
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                return sandbox.transcript(group, after);
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return Ok(Vec::new()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct StreamQuery {
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    wait: Option<u64>,
}

/// Server-sent events: `id: <instance>:<seq>`, `event: entry`, `data: <entry JSON>`.
async fn stream(
    State(state): State<SandboxState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    attach(&state.engine, &state.sandbox);
    let Query(query) = query
        .map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()))?;
    let group = GroupId::new(id);
    let instance = state.sandbox.instance().to_owned();
    // A reconnecting EventSource says where it was; an id from an earlier run means "all".
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|last| {
            last.split_once(':')
                .filter(|(run, _)| *run == instance)
                .and_then(|(_, seq)| seq.parse::<u64>().ok())
                .unwrap_or(0)
        });
    let after = resume.or(query.after).unwrap_or(0);
    let entries = wait_for_entries(
        &state.sandbox,
        &group,
        after,
        query.wait.unwrap_or(STREAM_WAIT_SECS),
    )
    .await?;
    let mut body = String::from("retry: 250\n\n");
    if entries.is_empty() {
        // A comment keeps proxies from treating the answer as broken.
        body.push_str(": nothing new\n\n");
    }
    for entry in &entries {
        let data = serde_json::to_string(entry).map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                e.to_string(),
            )
        })?;
        body.push_str(&format!(
            "id: {instance}:{}\nevent: entry\ndata: {data}\n\n",
            entry.seq
        ));
    }
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

// ----- the page -----------------------------------------------------------------------------

/// The page's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    Zh,
    En,
}

impl Lang {
    fn tag(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    fn strings(self) -> &'static Strings {
        match self {
            Self::Zh => &ZH,
            Self::En => &EN,
        }
    }
}

/// Every word the page shows, in one place per language. The script reads the same table.
#[derive(Debug, Serialize)]
struct Strings {
    title: &'static str,
    subtitle: &'static str,
    other_lang_label: &'static str,
    other_lang_href: &'static str,
    hint: &'static str,
    group: &'static str,
    new_group: &'static str,
    new_group_prompt: &'static str,
    new_group_default: &'static str,
    players: &'static str,
    add_player: &'static str,
    player_name_placeholder: &'static str,
    default_players: [&'static str; 3],
    speaking_as: &'static str,
    join: &'static str,
    leave: &'static str,
    request_join: &'static str,
    request_comment_placeholder: &'static str,
    message_placeholder: &'static str,
    send: &'static str,
    bot_name: &'static str,
    why: &'static str,
    rule: &'static str,
    staff_task: &'static str,
    manual_step: &'static str,
    joined: &'static str,
    left: &'static str,
    removed: &'static str,
    requested: &'static str,
    deleted: &'static str,
    bot_delete: &'static str,
    bot_mute: &'static str,
    bot_unmute: &'static str,
    bot_kick: &'static str,
    bot_ban: &'static str,
    bot_unban: &'static str,
    bot_approve: &'static str,
    bot_reject: &'static str,
    bot_announcement: &'static str,
    bot_direct: &'static str,
    bot_notify_staff: &'static str,
    reply_to: &'static str,
    status_joined: &'static str,
    status_requested: &'static str,
    status_out: &'static str,
    status_banned: &'static str,
    status_muted: &'static str,
    decided: &'static str,
    decided_nothing: &'static str,
    waiting: &'static str,
    empty: &'static str,
    restarted: &'static str,
    offline: &'static str,
    minutes: &'static str,
    seconds: &'static str,
    hours: &'static str,
    days: &'static str,
    errors: ErrorStrings,
}

/// Messages for API error codes (the API's own message is the fallback).
#[derive(Debug, Serialize)]
struct ErrorStrings {
    member_muted: &'static str,
    not_in_group: &'static str,
    already_member: &'static str,
    member_banned: &'static str,
    invalid_input: &'static str,
    unknown_group: &'static str,
    sandbox_full: &'static str,
    other: &'static str,
}

const ZH: Strings = Strings {
    title: "qunzhu 沙盒",
    subtitle: "扮演群成员，看机器人如何应对（与真实平台同一套流程）",
    other_lang_label: "English",
    other_lang_href: "?lang=en",
    hint: "点击「加入」看看欢迎语",
    group: "当前群",
    new_group: "＋新建群",
    new_group_prompt: "新群的名字",
    new_group_default: "测试群",
    players: "成员",
    add_player: "添加",
    player_name_placeholder: "新成员昵称",
    default_players: ["小王", "小李", "阿明"],
    speaking_as: "当前身份",
    join: "加入",
    leave: "退出",
    request_join: "申请入群",
    request_comment_placeholder: "申请备注（可选）",
    message_placeholder: "说点什么…",
    send: "发送",
    bot_name: "群助手 qunzhu",
    why: "原因",
    rule: "规则",
    staff_task: "待办",
    manual_step: "人工操作",
    joined: "{name} 加入了群聊",
    left: "{name} 退出了群聊",
    removed: "{name} 被移出了群聊",
    requested: "{name} 申请加入本群",
    deleted: "已撤回",
    bot_delete: "撤回了一条消息",
    bot_mute: "将 {name} 禁言 {duration}",
    bot_unmute: "解除了 {name} 的禁言",
    bot_kick: "将 {name} 移出了群聊",
    bot_ban: "将 {name} 移出群聊并拉黑",
    bot_unban: "将 {name} 移出黑名单，可以重新加入",
    bot_approve: "通过了 {name} 的入群申请",
    bot_reject: "拒绝了 {name} 的入群申请：{reason}",
    bot_announcement: "发布群公告：{text}",
    bot_direct: "私信 {name}：{text}",
    bot_notify_staff: "通知管理员：{text}",
    reply_to: "回复",
    status_joined: "在群",
    status_requested: "申请中",
    status_out: "不在群",
    status_banned: "已拉黑",
    status_muted: "禁言中",
    decided: "机器人决定：{list}",
    decided_nothing: "机器人没有动作",
    waiting: "等待送达…",
    empty: "群里还没有消息。选一位成员，点「加入」开始。",
    restarted: "服务器已重启，沙盒记录已清空。",
    offline: "连接中断，正在重连…",
    minutes: "{n} 分钟",
    seconds: "{n} 秒",
    hours: "{n} 小时",
    days: "{n} 天",
    errors: ErrorStrings {
        member_muted: "该成员正在禁言中，暂时不能发言",
        not_in_group: "该成员不在群里，请先「加入」",
        already_member: "该成员已经在群里了",
        member_banned: "该成员已被拉黑",
        invalid_input: "输入有误",
        unknown_group: "这个群不存在（服务器可能已重启）",
        sandbox_full: "沙盒已满，请重启服务器",
        other: "出错了",
    },
};

const EN: Strings = Strings {
    title: "qunzhu sandbox",
    subtitle: "Play group members and watch the bot respond (the same pipeline as real platforms)",
    other_lang_label: "中文",
    other_lang_href: "?lang=zh-CN",
    hint: "Press “Join” to see the welcome",
    group: "Group",
    new_group: "+ New group",
    new_group_prompt: "Name of the new group",
    new_group_default: "Test group",
    players: "Members",
    add_player: "Add",
    player_name_placeholder: "New member's name",
    default_players: ["Alice", "Bob", "Chen"],
    speaking_as: "Acting as",
    join: "Join",
    leave: "Leave",
    request_join: "Request to join",
    request_comment_placeholder: "Request comment (optional)",
    message_placeholder: "Say something…",
    send: "Send",
    bot_name: "qunzhu bot",
    why: "Why",
    rule: "Rule",
    staff_task: "Staff task",
    manual_step: "Manual step",
    joined: "{name} joined the group",
    left: "{name} left the group",
    removed: "{name} was removed from the group",
    requested: "{name} asked to join",
    deleted: "deleted",
    bot_delete: "deleted a message",
    bot_mute: "muted {name} for {duration}",
    bot_unmute: "unmuted {name}",
    bot_kick: "removed {name} from the group",
    bot_ban: "removed and banned {name}",
    bot_unban: "lifted the ban on {name}; they may rejoin",
    bot_approve: "approved {name}'s request to join",
    bot_reject: "rejected {name}'s request to join: {reason}",
    bot_announcement: "set the announcement: {text}",
    bot_direct: "messaged {name} privately: {text}",
    bot_notify_staff: "notified staff: {text}",
    reply_to: "reply to",
    status_joined: "in group",
    status_requested: "requested",
    status_out: "not in group",
    status_banned: "banned",
    status_muted: "muted",
    decided: "The bot decided: {list}",
    decided_nothing: "The bot did nothing",
    waiting: "waiting for delivery…",
    empty: "No messages yet. Pick a member and press “Join”.",
    restarted: "The server restarted; the sandbox was cleared.",
    offline: "Connection lost, reconnecting…",
    minutes: "{n} min",
    seconds: "{n} s",
    hours: "{n} h",
    days: "{n} days",
    errors: ErrorStrings {
        member_muted: "This member is muted and cannot speak yet",
        not_in_group: "This member is not in the group; press “Join” first",
        already_member: "This member is already in the group",
        member_banned: "This member is banned",
        invalid_input: "Invalid input",
        unknown_group: "This group does not exist (the server may have restarted)",
        sandbox_full: "The sandbox is full; restart the server",
        other: "Something went wrong",
    },
};

struct PageQuery {
    lang: Option<String>,
    group: Option<String>,
}

async fn page(
    State(state): State<SandboxState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    attach(&state.engine, &state.sandbox);
    restore_groups(&state).await;
    let query = PageQuery {
        lang: query.get("lang").cloned(),
        group: query.get("group").cloned(),
    };
    let lang = match query.lang.as_deref() {
        Some(tag)
            if tag.eq_ignore_ascii_case("en") || tag.to_ascii_lowercase().starts_with("en-") =>
        {
            Lang::En
        }
        _ => Lang::Zh,
    };
    let groups = state.sandbox.groups();
    let selected = query
        .group
        .filter(|id| groups.iter().any(|g| g.id.as_str() == id))
        .unwrap_or_else(|| sb::DEFAULT_GROUP_ID.to_owned());
    let markup = render_page(lang, &groups, &selected, state.sandbox.instance());
    let mut response = markup.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// JSON for an inline `<script>`: `<` escaped so no text can close the element.
fn script_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
}

fn render_page(lang: Lang, groups: &[SandboxGroup], selected: &str, instance: &str) -> Markup {
    let t = lang.strings();
    let boot = serde_json::json!({
        "lang": lang.tag(),
        "instance": instance,
        "group": selected,
        "groups": groups,
    });
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover";
                meta name="color-scheme" content="light dark";
                title { (t.title) }
                style { (PreEscaped(PAGE_CSS)) }
            }
            body {
                header.top {
                    div.brand {
                        h1 { (t.title) }
                        p.subtitle { (t.subtitle) }
                    }
                    a.lang href=(t.other_lang_href) { (t.other_lang_label) }
                }
                nav.groups {
                    label for="group" { (t.group) }
                    select #group {
                        @for g in groups {
                            option value=(g.id.as_str()) selected[g.id.as_str() == selected] { (g.name) }
                        }
                    }
                    button #new-group type="button" { (t.new_group) }
                }
                p #hint.hint { "👉 " (t.hint) }
                main #transcript aria-live="polite" {
                    p.empty { (t.empty) }
                }
                p #status.status hidden {}
                section.controls {
                    div.players {
                        span.label { (t.speaking_as) }
                        div #players.chips {}
                        form #add-player.add {
                            input #player-name type="text" maxlength="64" placeholder=(t.player_name_placeholder) autocomplete="off";
                            button type="submit" { (t.add_player) }
                        }
                    }
                    div.acts {
                        button #act-join.primary type="button" { (t.join) }
                        button #act-leave type="button" { (t.leave) }
                        button #act-request type="button" { (t.request_join) }
                        input #request-comment type="text" maxlength="500" placeholder=(t.request_comment_placeholder) autocomplete="off";
                    }
                    form #say.say {
                        input #message type="text" maxlength="4000" placeholder=(t.message_placeholder) autocomplete="off";
                        button.primary type="submit" { (t.send) }
                    }
                }
                script #i18n type="application/json" { (PreEscaped(script_json(t))) }
                script #boot type="application/json" { (PreEscaped(script_json(&boot))) }
                script { (PreEscaped(PAGE_JS)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_fill_every_string() {
        for lang in [Lang::Zh, Lang::En] {
            let json = serde_json::to_value(lang.strings()).unwrap();
            fn walk(value: &serde_json::Value, path: &str) {
                match value {
                    serde_json::Value::String(s) => {
                        assert!(!s.trim().is_empty(), "{path} is empty")
                    }
                    serde_json::Value::Object(map) => map
                        .iter()
                        .for_each(|(k, v)| walk(v, &format!("{path}.{k}"))),
                    serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, path)),
                    _ => {}
                }
            }
            walk(&json, lang.tag());
        }
    }

    #[test]
    fn inline_json_cannot_close_the_script_element() {
        assert_eq!(script_json(&"</script><b>"), "\"\\u003c/script>\\u003cb>\"");
    }
}
