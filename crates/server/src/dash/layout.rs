//! The page shell: navigation, top bar, language switch, assets. Every dashboard page is a
//! [`Page`] rendered by [`render`]; sign-in and error pages use [`bare`].

use maud::{DOCTYPE, Markup, html};
use qunzhu_engine::Locale;

use super::assets;
use super::auth::{StaffRole, Viewer};

/// One navigation entry: path, zh-CN and English labels, the least role that sees it.
struct NavItem {
    path: &'static str,
    zh: &'static str,
    en: &'static str,
    role: StaffRole,
}

const fn item(path: &'static str, zh: &'static str, en: &'static str) -> NavItem {
    NavItem { path, zh, en, role: StaffRole::Viewer }
}

/// The navigation, by section (zh-CN, English, entries).
const NAV: &[(&str, &str, &[NavItem])] = &[
    ("运营", "Operations", &[
        item("/", "总览", "Overview"),
        item("/members", "成员", "Members"),
        item("/moderation", "内容安全", "Moderation"),
        item("/tasks", "待办", "Staff tasks"),
        item("/tickets", "问题清单", "Tickets"),
    ]),
    ("增长与互动", "Growth", &[
        item("/channels", "渠道活码", "Channels"),
        item("/schedules", "定时发布", "Schedules"),
        item("/content", "内容库", "Content"),
        item("/lotteries", "抽奖与接龙", "Lotteries & sign-ups"),
        item("/redemptions", "积分兑换", "Redemptions"),
    ]),
    ("配置", "Setup", &[
        item("/rulebook", "规则手册", "Rulebook"),
        item("/connectors", "平台连接", "Connectors"),
        item("/sandbox", "沙盒", "Sandbox"),
        NavItem { path: "/settings/accounts", zh: "账号", en: "Accounts", role: StaffRole::Owner },
        NavItem { path: "/settings/tokens", zh: "API 令牌", en: "API tokens", role: StaffRole::Owner },
    ]),
];

/// A dashboard page before the shell is put around it.
pub struct Page {
    /// The `<h1>` and `<title>`.
    pub title: String,
    /// The navigation entry to highlight (its path, e.g. `/members`).
    pub nav: &'static str,
    /// Buttons shown next to the title.
    pub actions: Option<Markup>,
    pub body: Markup,
    /// Loads ECharts (only the pages with charts pay for it).
    pub charts: bool,
}

impl Page {
    pub fn new(title: impl Into<String>, nav: &'static str, body: Markup) -> Self {
        Self { title: title.into(), nav, actions: None, body, charts: false }
    }

    pub fn with_actions(mut self, actions: Markup) -> Self {
        self.actions = Some(actions);
        self
    }

    pub fn with_charts(mut self) -> Self {
        self.charts = true;
        self
    }
}

fn head(lang: Locale, title: &str, charts: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · " (lang.pick("群主运营后台", "qunzhu dashboard")) }
            link rel="icon" type="image/svg+xml" href=(assets::url("favicon.svg"));
            link rel="stylesheet" href=(assets::url("dash.css"));
            script src=(assets::url("htmx.min.js")) defer {}
            @if charts { script src=(assets::url("echarts.min.js")) defer {} }
            script src=(assets::url("dash.js")) defer {}
        }
    }
}

/// The link that switches the page language and comes back to `here`.
pub fn lang_switch(lang: Locale, here: &str) -> Markup {
    let (target, label) = match lang {
        Locale::ZhCn => ("en", "English"),
        Locale::En => ("zh-CN", "中文"),
    };
    html! { a.lang href={ "/lang/" (target) "?next=" (urlencode(here)) } { (label) } }
}

/// A whole dashboard page for `viewer`. `here` is the request path (for the language switch).
pub fn render(viewer: &Viewer, here: &str, page: Page) -> Markup {
    let lang = viewer.lang;
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            (head(lang, &page.title, page.charts))
            body data-csrf=(viewer.csrf) hx-headers={ "{\"X-CSRF-Token\": \"" (viewer.csrf) "\"}" } {
                div.shell {
                    nav.nav aria-label=(lang.pick("导航", "Navigation")) {
                        a.brand href="/" { "群主" small { "qunzhu" } }
                        @for (zh, en, items) in NAV {
                            div.section { (lang.pick(zh, en)) }
                            ul {
                                @for entry in items.iter().filter(|e| viewer.role >= e.role) {
                                    li { a href=(entry.path) class=[(entry.path == page.nav).then_some("active")] { (lang.pick(entry.zh, entry.en)) } }
                                }
                            }
                        }
                    }
                    div.main {
                        header.topbar {
                            button.menu-toggle type="button" aria-label=(lang.pick("菜单", "Menu")) { "☰" }
                            h1 { (page.title) }
                            @if let Some(actions) = &page.actions { div.toolbar { (actions) } }
                            div.who {
                                span { (viewer.name) " · " (viewer.role.label(lang)) }
                                (lang_switch(lang, here))
                                form method="post" action="/logout" {
                                    input type="hidden" name="_csrf" value=(viewer.csrf);
                                    button type="submit" { (lang.pick("退出", "Sign out")) }
                                }
                            }
                        }
                        main.content { (page.body) }
                    }
                }
                div #toast {}
            }
        }
    }
}

/// A page without navigation (sign-in, first run, errors).
pub fn bare(lang: Locale, here: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            (head(lang, title, false))
            body {
                main.login {
                    div.toolbar { h1.grow { "群主 " span.muted { "qunzhu" } } (lang_switch(lang, here)) }
                    (body)
                }
                div #toast {}
            }
        }
    }
}

/// Percent-encodes a path-and-query for use inside a query value.
pub fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
