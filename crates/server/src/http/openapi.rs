//! `GET /api/openapi.json`: the operator API as OpenAPI 3.1, built here with `serde_json`.
//!
//! Every `/api/v1` route of the router is listed in [`OPERATIONS`] (method, path, tag,
//! summary, query parameters, request and response shapes as JSON Schema with their main
//! fields); path parameters come from the `{name}` parts of the path. The test
//! `every_routed_operation_is_documented` reads the `.route("…", …)` calls in
//! `src/http/*.rs` and fails when one is missing here: **add a line to [`OPERATIONS`] with
//! every new route**. Error codes ([`ERROR_CODES`]) are checked against the codes the
//! handlers use the same way.

use axum::Json;
use serde_json::{Map, Value, json};

/// One documented operation.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    /// Query parameters: `name` (string) or `name:integer` / `name:boolean`.
    pub query: &'static [&'static str],
    /// The request body's fields (see [`fields`]); `None` without a body.
    pub body: Option<&'static str>,
    /// The success status and the response body's fields (see [`fields`]).
    pub status: u16,
    pub response: &'static str,
    /// Who may call it: `operator` (changes), `viewer` (reads), `public`, `bridge`.
    pub access: &'static str,
}

// One positional row per operation keeps the table readable at a glance.
#[allow(clippy::too_many_arguments)]
const fn op(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    query: &'static [&'static str],
    body: Option<&'static str>,
    status: u16,
    response: &'static str,
) -> Operation {
    let access = if matches!(method.as_bytes(), b"get") { "viewer" } else { "operator" };
    Operation { method, path, tag, summary, query, body, status, response, access }
}

const fn public(mut operation: Operation, access: &'static str) -> Operation {
    operation.access = access;
    operation
}

const LIMIT: &str = "limit:integer";

/// Every operation of the JSON API. Field lists: `name` (string), `name:integer`,
/// `name:boolean`, `name:number`, `name:object`, `name:array`, `name:time` (RFC 3339),
/// `name:Schema` (a component), `name:[Schema]` (an array of one), `name?` (optional);
/// `*` alone allows any other field (a JSON document such as the rulebook).
pub const OPERATIONS: &[Operation] = &[
    public(op("get", "/healthz", "system", "进程存活与连接器状态 (liveness and connector health)", &[], None, 200, "status version connectors:object"), "public"),
    public(op("get", "/api/openapi.json", "system", "本文档 (this document)", &[], None, 200, "openapi info:object paths:object"), "public"),
    // The bridge: its own token per connector (`Authorization: Bearer <bridge token>`).
    public(op("post", "/api/v1/bridge/{id}/events", "bridge", "桥接：提交事件 (bridge: submit events)", &[], Some("events:array"), 200, "results:array"), "bridge"),
    public(op("get", "/api/v1/bridge/{id}/actions", "bridge", "桥接：待执行动作 (bridge: the action feed)", &["after", "wait:integer"], None, 200, "actions:array cursor"), "bridge"),
    public(op("post", "/api/v1/bridge/{id}/actions/{action_id}/result", "bridge", "桥接：报告执行结果 (bridge: report an outcome)", &[], Some("status error?"), 200, "action:object"), "bridge"),
    // Staff tasks, audit, groups, rulebook.
    op("get", "/api/v1/tasks", "admin", "员工待办 (staff tasks), newest first", &["status", LIMIT], None, 200, "tasks:[StaffTask]"),
    op("post", "/api/v1/tasks/{id}/status", "admin", "改待办状态 (set a task's status)", &[], Some("status by?"), 200, "task:StaffTask"),
    op("get", "/api/v1/audit", "admin", "审计日志 (audit log), newest first", &["group", LIMIT], None, 200, "entries:[AuditEntry]"),
    op("get", "/api/v1/groups", "admin", "已知群 (groups seen)", &[], None, 200, "groups:array"),
    op("get", "/api/v1/rulebook", "rulebook", "当前规则手册 (the rulebook in force)", &[], None, 200, "version:integer rulebook:object"),
    op("put", "/api/v1/rulebook", "rulebook", "保存规则手册为新版本 (save the rulebook as a new version)", &["author", "note"], Some("*"), 200, "version:integer rulebook:object"),
    op("get", "/api/v1/rulebook/versions", "rulebook", "版本历史 (version history)", &[], None, 200, "versions:array"),
    op("post", "/api/v1/rulebook/rollback/{version}", "rulebook", "回滚到旧版本 (roll back, saved as a new version)", &["author"], None, 200, "version:integer rulebook:object"),
    op("get", "/api/v1/rulebook/schema", "rulebook", "模板设置的 JSON Schema (the template settings' JSON schema; the editor is generated from it)", &[], None, 200, "schema:object"),
    op("get", "/api/v1/rulebook/versions/{version}", "rulebook", "某个版本 (one version as TOML, with author and note)", &[], None, 200, "version:integer toml:string"),
    op("get", "/api/v1/rulebook/versions/{version}/diff", "rulebook", "版本差异 (a line diff between two versions)", &["to:integer"], None, 200, "lines:array"),
    op("put", "/api/v1/rulebook/templates/{name}", "rulebook", "以 TOML 保存一个模板 (save one template as TOML; problems with their line)", &["base_version:integer", "author"], Some("toml"), 200, "version:integer"),
    op("put", "/api/v1/rulebook/groups/{connector}/{group}", "rulebook", "绑定群与覆盖项 (bind a group to a template with overrides, as TOML)", &["base_version:integer", "author"], Some("toml"), 200, "version:integer"),
    op("delete", "/api/v1/rulebook/groups/{connector}/{group}", "rulebook", "解除群绑定 (unbind a group)", &["base_version:integer", "author"], None, 200, "version:integer"),
    op("post", "/api/v1/tasks/{id}/assign", "admin", "指派待办 (assign a task; assignee null unassigns)", &[], Some("assignee? by?"), 200, "task:object"),
    // Moderation.
    op("get", "/api/v1/violations", "moderation", "违规记录 (violations)", &["group", "status", LIMIT], None, 200, "violations:[Violation]"),
    op("get", "/api/v1/violations/{id}", "moderation", "一条违规及其依据 (a violation with its checks)", &[], None, 200, "violation:Violation"),
    op("post", "/api/v1/violations/{id}/undo", "moderation", "撤销处罚 (undo the penalty)", &[], Some("by"), 200, "actions:array tasks:array violation?:Violation"),
    op("post", "/api/v1/violations/{id}/false-positive", "moderation", "标记误判 (mark a false positive)", &[], Some("by"), 200, "actions:array tasks:array violation?:Violation"),
    op("get", "/api/v1/blacklist", "moderation", "黑名单 (blacklist)", &[LIMIT], None, 200, "blacklist:[BlacklistEntry]"),
    op("post", "/api/v1/blacklist", "moderation", "拉黑 (blacklist a member in every group)", &[], Some("connector member name? reason by"), 200, "entry:BlacklistEntry actions:array tasks:array"),
    op("delete", "/api/v1/blacklist/{connector}/{member}", "moderation", "移出黑名单 (lift)", &["by"], None, 200, "actions:array tasks:array"),
    op("post", "/api/v1/corrections", "moderation", "纠正分类器 (correct the spam model)", &[], Some("text spam:boolean by"), 200, "text spam:boolean by spam_score:number"),
    op("post", "/api/v1/moderate/check", "moderation", "试判一段文字 (check a text; nothing is done)", &[], Some("text group?"), 200, "flagged:boolean category? score:number checks:array spam_score:number template enabled:boolean"),
    // Schedules and announcements.
    op("get", "/api/v1/schedules", "schedules", "定时任务 (scheduled posts)", &[], None, 200, "schedules:[Schedule]"),
    op("post", "/api/v1/schedules", "schedules", "新建定时任务 (create)", &[], Some("by paused?:boolean * "), 201, "schedule:Schedule"),
    op("get", "/api/v1/schedules/{id}", "schedules", "一个定时任务 (one schedule)", &[], None, 200, "schedule:Schedule"),
    op("put", "/api/v1/schedules/{id}", "schedules", "修改定时任务 (replace its definition)", &[], Some("by *"), 200, "schedule:Schedule"),
    op("delete", "/api/v1/schedules/{id}", "schedules", "删除定时任务 (delete)", &["by"], None, 200, "deleted:Schedule"),
    op("post", "/api/v1/schedules/{id}/pause", "schedules", "暂停 (pause)", &[], Some("by"), 200, "schedule:Schedule"),
    op("post", "/api/v1/schedules/{id}/resume", "schedules", "恢复 (resume)", &[], Some("by"), 200, "schedule:Schedule"),
    op("get", "/api/v1/schedules/{id}/preview", "schedules", "接下来几次运行 (the next runs)", &["count:integer"], None, 200, "runs:array"),
    op("post", "/api/v1/groups/{connector}/{group}/announcement", "schedules", "发公告 (post an announcement now)", &[], Some("text by"), 200, "actions:array tasks:array"),
    // Points and the shop.
    op("get", "/api/v1/points/{connector}/leaderboard", "points", "积分榜 (points leaderboard)", &[LIMIT], None, 200, "members:array"),
    op("get", "/api/v1/points/{connector}/{member}", "points", "成员积分与流水 (a member's points)", &[], None, 200, "balance:integer earned:integer ledger:array"),
    op("post", "/api/v1/points/{connector}/{member}", "points", "手动加减积分 (grant or take points)", &[], Some("points:integer reason by"), 200, "balance:integer earned:integer"),
    op("get", "/api/v1/check-ins/{connector}/{group}", "points", "某天的签到 (check-ins of a day)", &["day"], None, 200, "group day check_ins:array"),
    op("get", "/api/v1/shop/items", "shop", "商品 (shop items)", &[], None, 200, "items:[ShopItem]"),
    op("put", "/api/v1/shop/items/{id}", "shop", "新建或修改商品 (create or replace an item)", &[], Some("name description? cost:integer stock?:integer kind enabled?:boolean by"), 200, "id name cost:integer stock?:integer kind enabled:boolean"),
    op("post", "/api/v1/shop/redeem", "shop", "代成员兑换 (redeem for a member)", &[], Some("connector member group item by"), 201, "id item status cost:integer"),
    op("get", "/api/v1/shop/redemptions", "shop", "兑换记录 (redemptions)", &["status", LIMIT], None, 200, "redemptions:[Redemption]"),
    op("post", "/api/v1/shop/redemptions/{id}/fulfil", "shop", "标记已发货 (fulfil)", &[], Some("by"), 200, "id item status"),
    op("post", "/api/v1/shop/redemptions/{id}/cancel", "shop", "取消并退积分 (cancel and refund)", &[], Some("by"), 200, "id item status"),
    // Content library and FAQ.
    op("get", "/api/v1/content", "content", "素材库 (content library)", &["tag", LIMIT], None, 200, "items:[ContentItem]"),
    op("post", "/api/v1/content", "content", "新建素材 (create an item)", &[], Some("title body:object tags?:array by"), 201, "item:ContentItem"),
    op("get", "/api/v1/content/{id}", "content", "一条素材 (one item)", &[], None, 200, "item:ContentItem"),
    op("put", "/api/v1/content/{id}", "content", "修改素材 (replace an item)", &[], Some("title body:object tags?:array by"), 200, "item:ContentItem"),
    op("delete", "/api/v1/content/{id}", "content", "删除素材 (delete an item)", &["by"], None, 200, "deleted:integer"),
    op("get", "/api/v1/faq/stats", "content", "自动回复命中统计 (FAQ hit counts)", &["group", "template", "entry", "from", "to"], None, 200, "stats:array totals:array"),
    op("post", "/api/v1/faq/test", "content", "试问自动回复 (which entry would answer; acts on nothing)", &[], Some("group? text"), 200, "matched?:object candidates:array answer?:object"),
    // Sign-up lists and lotteries.
    op("get", "/api/v1/signups", "giveaways", "接龙 (sign-up lists)", &["group", "status", LIMIT], None, 200, "signups:[Signup]"),
    op("post", "/api/v1/signups", "giveaways", "发起接龙 (start a list)", &[], Some("group title limit?:integer closes_at?:time by"), 201, "signup:Signup count:integer entries:array actions:array tasks:array"),
    op("get", "/api/v1/signups/{id}", "giveaways", "一个接龙及名单 (a list with its entries)", &[], None, 200, "signup:Signup count:integer entries:array"),
    op("post", "/api/v1/signups/{id}/close", "giveaways", "结束接龙 (close a list)", &[], Some("by"), 200, "signup:Signup count:integer entries:array actions:array tasks:array"),
    op("get", "/api/v1/signups/{id}/entries.csv", "giveaways", "名单 CSV (entries as CSV)", &[], None, 200, "*"),
    op("get", "/api/v1/lotteries", "giveaways", "抽奖 (lotteries)", &["status", LIMIT], None, 200, "lotteries:[Lottery]"),
    op("post", "/api/v1/lotteries", "giveaways", "新建抽奖 (create a lottery)", &[], Some("title prize winners:integer groups:array keyword? condition?:object draw_at:time by"), 201, "lottery:Lottery decided:object"),
    op("get", "/api/v1/lotteries/{id}", "giveaways", "一个抽奖及参与者 (a lottery with its entries)", &[], None, 200, "lottery:Lottery entrants:integer entries:array"),
    op("post", "/api/v1/lotteries/{id}/draw", "giveaways", "立即开奖 (draw now)", &[], Some("by"), 200, "lottery:Lottery entrants:integer entries:array decided:object"),
    op("get", "/api/v1/lotteries/{id}/verify", "giveaways", "复核开奖 (verify the draw)", &[], None, 200, "id winners:array record:object verification:object"),
    // Admission.
    op("get", "/api/v1/join-requests", "admission", "入群申请 (join requests)", &["status", LIMIT], None, 200, "join_requests:[JoinRequest]"),
    op("post", "/api/v1/join-requests/{id}/approve", "admission", "通过申请 (approve)", &[], Some("group by"), 200, "join_request:JoinRequest decided:object"),
    op("post", "/api/v1/join-requests/{id}/reject", "admission", "拒绝申请 (reject)", &[], Some("group by reason?"), 200, "join_request:JoinRequest decided:object"),
    op("get", "/api/v1/groups/{connector}/{group}/guard", "admission", "防护模式状态 (guarded mode after a join wave)", &[], None, 200, "guarded:boolean guard?:object"),
    op("delete", "/api/v1/groups/{connector}/{group}/guard", "admission", "结束防护模式 (end guarded mode)", &["by"], None, 200, "ended:boolean"),
    // Referrals, milestones, counters.
    op("get", "/api/v1/referrals", "growth", "邀请记录 (referrals)", &["group", "campaign", "inviter", "status", LIMIT], None, 200, "referrals:[Referral]"),
    op("get", "/api/v1/referrals/leaderboard", "growth", "邀请榜 (referral leaderboard)", &["group", "campaign"], None, 200, "leaderboard:array"),
    op("get", "/api/v1/referrals/flags", "growth", "可疑邀请 (fraud flags)", &["group", "campaign", "inviter"], None, 200, "flags:array"),
    op("post", "/api/v1/referrals/codes", "growth", "个人邀请码 (a member's invite code)", &[], Some("connector member name?"), 200, "code text"),
    op("get", "/api/v1/referrals/campaigns", "growth", "裂变活动 (campaigns)", &[], None, 200, "campaigns:[Campaign]"),
    op("post", "/api/v1/referrals/campaigns", "growth", "新建活动 (create a campaign)", &[], Some("id? name groups:array starts_at:time ends_at:time reward_points:integer stay_days?:integer early_leave_days?:integer by"), 201, "campaign:Campaign"),
    op("put", "/api/v1/referrals/campaigns/{id}", "growth", "修改活动 (replace a campaign)", &[], Some("name groups:array starts_at:time ends_at:time reward_points:integer stay_days?:integer early_leave_days?:integer by"), 200, "campaign:Campaign"),
    op("delete", "/api/v1/referrals/campaigns/{id}", "growth", "删除活动 (delete a campaign)", &["by"], None, 200, "deleted"),
    op("get", "/api/v1/milestones", "growth", "里程碑 (milestones reached)", &["group", LIMIT], None, 200, "milestones:[Milestone]"),
    op("get", "/api/v1/counters", "growth", "自定义计数器 (custom counters)", &["group"], None, 200, "counters:array"),
    op("post", "/api/v1/counters/{name}/increment", "growth", "计数器加一 (increment a counter)", &[], Some("group by:integer? key? by"), 200, "counter value:integer actions:array tasks:array"),
    // Channels, pools, members.
    op("get", "/api/v1/channels", "membership", "渠道活码 (channels)", &["archived:boolean"], None, 200, "channels:[Channel]"),
    op("post", "/api/v1/channels", "membership", "新建渠道 (create a channel)", &[], Some("id? name tier? tags?:array pool? code? by"), 201, "channel:Channel link"),
    op("get", "/api/v1/channels/{id}", "membership", "一个渠道及统计 (a channel with its counts)", &[], None, 200, "channel:Channel link"),
    op("put", "/api/v1/channels/{id}", "membership", "修改渠道 (replace a channel)", &[], Some("name tier? tags?:array pool? code? by"), 200, "channel:Channel link"),
    op("delete", "/api/v1/channels/{id}", "membership", "归档渠道 (archive a channel)", &["by"], None, 200, "channel:Channel"),
    op("get", "/api/v1/channels/{id}/{file}", "membership", "渠道二维码 qr.svg / qr.png (the channel's QR code)", &[], None, 200, "*"),
    op("get", "/api/v1/pools", "membership", "群池 (group pools)", &[], None, 200, "pools:[Pool]"),
    op("put", "/api/v1/pools/{id}", "membership", "新建或修改群池 (create or replace a pool)", &[], Some("name groups:array alert_at_percent?:integer by"), 200, "pool:Pool"),
    op("get", "/api/v1/pools/{id}", "membership", "一个群池及人数 (a pool with its member counts)", &[], None, 200, "pool:Pool groups:array"),
    op("get", "/api/v1/joins/counts", "membership", "按渠道/层级的入群数 (joins per channel and tier)", &["from", "to"], None, 200, "channels:array tiers:array"),
    public(op("get", "/i/{code}", "membership", "活码落地页 (the landing of an invite link: 302 or a page)", &[], None, 302, "*"), "public"),
    op("get", "/api/v1/members", "membership", "搜索成员 (search member profiles)", &["tag", "q", LIMIT], None, 200, "members:[MemberProfile]"),
    op("get", "/api/v1/members/{connector}/{member}", "membership", "成员画像 (a member's profile)", &[], None, 200, "profile:MemberProfile"),
    op("post", "/api/v1/members/{connector}/{member}/tags", "membership", "加减标签 (add and remove tags)", &[], Some("add?:array remove?:array by"), 200, "profile:MemberProfile"),
    op("get", "/api/v1/groups/{connector}/{group}/churn", "membership", "退群记录 (leaves)", &[LIMIT], None, 200, "leaves:array"),
    // Newcomer gate.
    op("get", "/api/v1/groups/{connector}/{group}/gate", "gate", "入群验证中的新人 (newcomers at the gate)", &[LIMIT], None, 200, "pending:array"),
    op("post", "/api/v1/groups/{connector}/{group}/gate/{member}/pass", "gate", "放行 (let a newcomer through)", &[], Some("by"), 200, "gate:object decided:object"),
    // Insight.
    op("get", "/api/v1/groups/{connector}/{group}/analytics/weekly", "insight", "周活跃表 (weekly table; CSV with format=csv)", &["weeks:integer", "format"], None, 200, "weeks:array"),
    op("get", "/api/v1/groups/{connector}/{group}/analytics/daily", "insight", "每日数据 (messages, active members, joins, leaves per day)", &["days:integer"], None, 200, "days:array"),
    op("get", "/api/v1/groups/{connector}/{group}/analytics/core-members", "insight", "核心成员 (core members)", &["days:integer", LIMIT], None, 200, "members:array"),
    op("get", "/api/v1/groups/{connector}/{group}/analytics/silent-members", "insight", "沉默成员 (silent members)", &["days:integer", LIMIT], None, 200, "members:array"),
    op("get", "/api/v1/groups/{connector}/{group}/analytics/peak-hours", "insight", "活跃时段 (peak hours heatmap)", &["days:integer"], None, 200, "hours:array"),
    op("get", "/api/v1/groups/{connector}/{group}/analytics/life-stage", "insight", "群生命周期阶段 (life stage)", &[], None, 200, "stage reasons:array"),
    op("get", "/api/v1/groups/{connector}/{group}/digests", "insight", "日报列表 (daily digests)", &[LIMIT], None, 200, "digests:array"),
    op("get", "/api/v1/groups/{connector}/{group}/digests/{date}", "insight", "某天日报 (the digest of a day)", &[], None, 200, "digest:object"),
    op("get", "/api/v1/conversions", "insight", "转化记录 (conversions)", &[], None, 200, "conversions:array"),
    op("post", "/api/v1/conversions", "insight", "记录转化 (record a conversion; idempotency key)", &[], Some("connector member kind value?:number key? at?:time"), 201, "conversion:object created:boolean"),
    op("get", "/api/v1/conversions/rates", "insight", "转化率 (conversion rates per group, channel, tier)", &["kind", "from", "to"], None, 200, "rates:array"),
    // Care: questions and tickets.
    op("get", "/api/v1/questions/{id}", "care", "一个成员提问 (a member's question)", &[], None, 200, "id group:object member name text status asked_at:time"),
    op("get", "/api/v1/groups/{connector}/{group}/questions", "care", "群内提问 (questions in a group)", &["status"], None, 200, "questions:[Question]"),
    op("get", "/api/v1/groups/{connector}/{group}/response-times", "care", "响应时长 (response times)", &["days:integer"], None, 200, "group:object staff:array"),
    op("get", "/api/v1/tickets", "care", "问题清单 (tickets)", &["group", "status"], None, 200, "tickets:[Ticket]"),
    op("post", "/api/v1/tickets", "care", "新建工单 (open a ticket)", &[], Some("group category title detail? owner? due_at?:time follow_up_at?:time"), 201, "id group:object category title status opened_at:time"),
    op("get", "/api/v1/tickets/{id}", "care", "一个工单 (a ticket)", &[], None, 200, "id group:object category title status notes:array opened_at:time"),
    op("patch", "/api/v1/tickets/{id}", "care", "更新工单：状态、负责人、期限、回访、备注 (update a ticket)", &[], Some("status? owner? due_at?:time follow_up_at?:time note? by?"), 200, "id group:object category title status notes:array opened_at:time"),
    op("get", "/api/v1/groups/{connector}/{group}/tickets/weekly", "care", "每周工单统计 (tickets per week)", &["weeks:integer"], None, 200, "weeks:array"),
    // Platform helpers.
    op("post", "/api/v1/telegram/{connector}/invite-links", "platforms", "为渠道建 Telegram 邀请链接 (a named Telegram invite link per channel)", &[], Some("channel group by?"), 200, "invite_link name channel"),
    op("post", "/api/v1/wecom/{connector}/channels/{channel}/join-way", "platforms", "为渠道建企业微信加群方式 (a WeCom join way with QR)", &[], Some("chat_ids?:array"), 200, "config_id qr_code state chat_ids:array"),
    // The sandbox: a test chat, public like its page.
    public(op("get", "/sandbox", "sandbox", "沙盒页面 (the sandbox page)", &[], None, 200, "*"), "public"),
    public(op("get", "/api/v1/sandbox/groups", "sandbox", "沙盒群 (sandbox groups)", &[], None, 200, "groups:array"), "public"),
    public(op("post", "/api/v1/sandbox/groups", "sandbox", "新建沙盒群 (create a sandbox group)", &[], Some("name"), 201, "id name"), "public"),
    public(op("post", "/api/v1/sandbox/groups/{id}/events", "sandbox", "在沙盒群里发事件 (post an event)", &[], Some("type member:object text?"), 200, "*"), "public"),
    public(op("get", "/api/v1/sandbox/groups/{id}/transcript", "sandbox", "沙盒群记录 (the transcript)", &["wait:integer"], None, 200, "entries:array"), "public"),
    public(op("get", "/api/v1/sandbox/groups/{id}/stream", "sandbox", "沙盒群事件流 (server-sent events)", &[], None, 200, "*"), "public"),
];

/// Stable error codes with their HTTP status and meaning (`{"error": {"code", "message",
/// "field"?, "problems"?}}`).
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    ("unauthenticated", 401, "no session or API token while accounts exist"),
    ("invalid_token", 401, "the API token is unknown or revoked"),
    ("unauthorized", 401, "a bridge request without its connector's token"),
    ("forbidden_role", 403, "a viewer tried to change something"),
    ("csrf_failed", 403, "a session request without the session's CSRF token"),
    ("invalid_json", 400, "the body is not the JSON expected"),
    ("invalid_query", 400, "a query parameter is malformed"),
    ("invalid_request", 400, "a field is missing or wrong (see `field`)"),
    ("invalid_body", 400, "the body is malformed"),
    ("invalid_input", 400, "an input value is out of range"),
    ("invalid_event", 400, "a bridge event is malformed"),
    ("invalid_result", 400, "a bridge result report is malformed"),
    ("invalid_cursor", 400, "the feed cursor is malformed"),
    ("invalid_group", 400, "a group is not written `connector/group`"),
    ("invalid_status", 400, "an unknown status"),
    ("invalid_version", 400, "a rulebook version is malformed"),
    ("invalid_schedule", 400, "the schedule definition is invalid"),
    ("invalid_content", 400, "the content item is invalid"),
    ("no_groups", 400, "no target group was given"),
    ("not_found", 404, "no such endpoint or record"),
    ("unknown_connector", 404, "no connector with that id"),
    ("unknown_version", 404, "no rulebook version with that number"),
    ("unknown_task", 404, "no staff task with that id"),
    ("unknown_action", 404, "no action with that id"),
    ("unknown_channel", 404, "no channel with that id"),
    ("unknown_item", 404, "no shop item with that id"),
    ("question_not_found", 404, "no question with that id"),
    ("ticket_not_found", 404, "no ticket with that id"),
    ("conflict", 409, "someone changed it first; reload and retry"),
    ("unknown_binding", 404, "the group is not bound to a template"),
    ("channel_exists", 409, "a channel with that id exists"),
    ("code_taken", 409, "the invite code belongs to another channel"),
    ("content_in_use", 409, "the content item is used by the rulebook"),
    ("payload_too_large", 413, "the body is too large"),
    ("invalid_rulebook", 422, "the rulebook has problems (see `problems`, each with its key path)"),
    ("too_many_attempts", 429, "too many failed logins; wait five minutes"),
    ("internal", 500, "an internal error (details in the server log)"),
    ("internal_error", 500, "an internal error (details in the server log)"),
    ("telegram_refused", 502, "Telegram refused the call"),
    ("shutting_down", 503, "the server is stopping; retry later"),
    ("sandbox_not_connected", 503, "the sandbox is not attached to the engine"),
    ("telegram_unreachable", 503, "Telegram could not be reached"),
];

/// Component schemas: the records the API returns, with their main fields.
const COMPONENTS: &[(&str, &str)] = &[
    ("Group", "connector group"),
    ("StaffTask", "id group:Group title step action:object status created_at:time updated_at:time updated_by?"),
    ("AuditEntry", "id:integer time:time actor kind group?:Group event_id? action_id? rule? summary detail?"),
    ("Violation", "id group:Group member member_name? message_id? event_id category text checks:array penalty actions:array dry_run:boolean status time:time"),
    ("BlacklistEntry", "connector member member_name? reason added_by added_at:time violation?"),
    ("Schedule", "id:integer def:object paused:boolean next_run?:time last_run?:time created_at:time updated_at:time updated_by"),
    ("ContentItem", "id:integer title body:object tags:array author created_at:time updated_at:time updated_by"),
    ("Signup", "id group:Group title limit?:integer closes_at?:time started_by created_at:time status close_reason? closed_at?:time"),
    ("Lottery", "id title prize winners:integer groups:[Group] keyword? condition?:object draw_at:time created_by created_at:time status draw?:object"),
    ("ShopItem", "id name description cost:integer stock?:integer kind enabled:boolean updated_at:time"),
    ("Redemption", "id item connector member group:Group cost:integer status task? created_at:time updated_at:time"),
    ("JoinRequest", "group:Group request_id member name? comment? status reason checks:array requested_at:time updated_at:time decided_by"),
    ("Referral", "id group:Group inviter inviter_name? invitee invitee_name? source code? campaign? reward_points:integer joined_at:time due_at:time status spoke_at?:time validated_at?:time left_at?:time"),
    ("Campaign", "id name groups:[Group] starts_at:time ends_at:time reward_points:integer stay_days:integer early_leave_days:integer created_by created_at:time"),
    ("Milestone", "group:Group kind name threshold:integer count:integer member? reached_at:time"),
    ("Channel", "id name tier tags:array pool? code archived:boolean created_at:time updated_at:time updated_by"),
    ("Pool", "id name groups:array alert_at_percent:integer alerted_at?:time updated_at:time updated_by"),
    ("MemberProfile", "connector member name? first_seen:time channel? tier? inviter? tags:array groups:array"),
    ("Question", "id group:Group message_id member name text cue asked_at:time status answered_by? answered_at?:time alerted:boolean apologised:boolean"),
    ("Ticket", "id group:Group category title detail status owner? due_at?:time follow_up_at?:time notes:array source? opened_at:time updated_at:time resolved_at?:time"),
    ("Error", "error:object"),
];

/// A JSON Schema object from a field list (see [`OPERATIONS`]).
pub fn fields(spec: &str) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut open = false;
    for field in spec.split_whitespace() {
        if field == "*" {
            open = true;
            continue;
        }
        let (name, kind) = field.split_once(':').unwrap_or((field, "string"));
        let (name, optional) = match name.strip_suffix('?') {
            Some(name) => (name, true),
            None => (name, false),
        };
        let kind = kind.trim_end_matches('?');
        let optional = optional || field.ends_with('?');
        let schema = match kind {
            "string" | "integer" | "boolean" | "number" | "object" | "array" => json!({"type": kind}),
            "time" => json!({"type": "string", "format": "date-time"}),
            list if list.starts_with('[') => {
                json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{}", list.trim_matches(['[', ']']))}})
            }
            component => json!({"$ref": format!("#/components/schemas/{component}")}),
        };
        properties.insert(name.to_owned(), schema);
        if !optional {
            required.push(name.to_owned());
        }
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    if open || properties_empty(&schema) {
        schema["additionalProperties"] = json!(true);
    }
    schema
}

fn properties_empty(schema: &Value) -> bool {
    schema["properties"].as_object().is_none_or(Map::is_empty)
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for operation in OPERATIONS {
        let mut parameters: Vec<Value> = operation
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        for query in operation.query {
            let (name, kind) = query.split_once(':').unwrap_or((query, "string"));
            parameters.push(json!({"name": name, "in": "query", "required": false, "schema": {"type": kind}}));
        }
        let mut responses = Map::new();
        responses.insert(
            operation.status.to_string(),
            json!({"description": "OK", "content": {"application/json": {"schema": fields(operation.response)}}}),
        );
        responses.insert("4XX".into(), error_response("an error with its stable code (see `x-error-codes`)"));
        responses.insert("5XX".into(), error_response("internal or unavailable"));
        let security = match operation.access {
            "public" => json!([]),
            "bridge" => json!([{"bridgeToken": []}]),
            _ => json!([{"apiToken": []}, {"session": []}]),
        };
        let mut entry = json!({
            "tags": [operation.tag],
            "summary": operation.summary,
            "operationId": format!("{}_{}", operation.method, operation.path.trim_matches('/').replace(['/', '-', '.'], "_").replace(['{', '}'], "")),
            "parameters": parameters,
            "responses": responses,
            "security": security,
            "x-min-role": match operation.access { "viewer" | "operator" => json!(operation.access), _ => Value::Null },
        });
        if let Some(body) = operation.body {
            entry["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": fields(body)}}});
        }
        let item = paths.entry(operation.path.to_owned()).or_insert_with(|| json!({}));
        item[operation.method] = entry;
    }
    let schemas: Map<String, Value> = COMPONENTS.iter().map(|(name, spec)| ((*name).to_owned(), fields(spec))).collect();
    let codes: Vec<Value> = ERROR_CODES.iter().map(|(code, status, meaning)| json!({"code": code, "status": status, "meaning": meaning})).collect();
    let mut schemas = schemas;
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": ERROR_CODES.iter().map(|(c, _, _)| *c).collect::<Vec<_>>()},
                    "message": {"type": "string", "description": "zh-CN and English, for people"},
                    "field": {"type": "string"},
                    "problems": {"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}}
                }
            }}
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "qunzhu operator API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The JSON API the dashboard uses. Once a dashboard account exists, every /api/v1 route except the bridge's and the sandbox's needs a session cookie (with its CSRF token in X-CSRF-Token for changes) or `Authorization: Bearer <API token>`; viewers may only read. Errors are `{\"error\": {\"code\", \"message\"}}` with the stable codes listed in `x-error-codes`."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer", "description": "an API token from /settings/tokens or `qunzhu admin token create`"},
                "session": {"type": "apiKey", "in": "cookie", "name": "qunzhu_session", "description": "the dashboard session; changes also need X-CSRF-Token"},
                "bridgeToken": {"type": "http", "scheme": "bearer", "description": "the bridge connector's own token from qunzhu.toml"}
            }
        },
        "x-error-codes": codes,
    })
}

/// `GET /api/openapi.json` (public).
pub async fn openapi() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use super::*;

    /// (method, path) of every `.route("…", …)` call in `src/http/*.rs`.
    fn routed() -> BTreeSet<(String, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
        let mut found = BTreeSet::new();
        for file in std::fs::read_dir(dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("openapi.rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let mut rest = source.as_str();
            while let Some(at) = rest.find(".route(") {
                let call = &rest[at + ".route(".len()..];
                let mut depth = 1;
                let end = call
                    .char_indices()
                    .find(|(_, c)| {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .map_or(call.len(), |(i, _)| i);
                let args = &call[..end];
                rest = &call[end..];
                let Some(route) = args.trim_start().strip_prefix('"').and_then(|a| a.split_once('"')).map(|(p, _)| p) else {
                    continue; // a computed path (connectors' webhooks): not part of the API
                };
                for method in ["get", "post", "put", "patch", "delete"] {
                    let needle = format!("{method}(");
                    let mut tail = args;
                    while let Some(i) = tail.find(&needle) {
                        let before = tail[..i].chars().last();
                        if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                            found.insert((method.to_owned(), route.to_owned()));
                        }
                        tail = &tail[i + needle.len()..];
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_routed_operation_is_documented() {
        let documented: BTreeSet<(String, String)> = OPERATIONS.iter().map(|o| (o.method.to_owned(), o.path.to_owned())).collect();
        let routed = routed();
        assert!(routed.len() > 100, "the route scan found only {}", routed.len());
        let missing: Vec<_> = routed.difference(&documented).collect();
        assert!(missing.is_empty(), "routes without an entry in http/openapi.rs OPERATIONS: {missing:?}");
        let stale: Vec<_> = documented.difference(&routed).filter(|(_, p)| p != "/api/openapi.json").collect();
        assert!(stale.is_empty(), "documented but not routed: {stale:?}");
    }

    #[test]
    fn the_document_is_openapi_3_1_json_with_every_error_code_the_handlers_use() {
        let document = document();
        let text = serde_json::to_string(&document).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["openapi"], "3.1.0");
        assert!(parsed["paths"]["/api/v1/tasks"]["get"]["responses"]["200"].is_object());
        assert_eq!(parsed["paths"]["/api/v1/violations/{id}"]["get"]["parameters"][0]["name"], "id");

        let documented: BTreeSet<&str> = ERROR_CODES.iter().map(|(c, _, _)| *c).collect();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
        let code = regex::Regex::new(r#"(?:ApiError|Self)::(?:new|bad_request|not_found)\(\s*(?:StatusCode::\w+,\s*)?"([a-z_]+)""#).unwrap();
        for file in std::fs::read_dir(dir).unwrap() {
            let source = std::fs::read_to_string(file.unwrap().path()).unwrap();
            for found in code.captures_iter(&source) {
                assert!(documented.contains(&found[1]), "error code `{}` is not in ERROR_CODES", &found[1]);
            }
        }
        let listed = parsed["x-error-codes"].as_array().unwrap();
        assert!(listed.iter().any(|c| c["code"] == "csrf_failed" && c["status"] == 403));
        assert!(listed.iter().any(|c| c["code"] == "invalid_rulebook" && c["status"] == 422));
    }

    #[test]
    fn every_schema_reference_resolves() {
        let document = document();
        let text = serde_json::to_string(&document).unwrap();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(document["components"]["schemas"][name].is_object(), "no schema {name}");
        }
    }
}
