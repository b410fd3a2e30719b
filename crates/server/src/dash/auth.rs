//! Who is looking at the dashboard: the [`Viewer`] extractor and staff roles.
//!
//! PLACEHOLDER (skeleton): every request is treated as the owner. The accounts work replaces
//! the body of the extractor with sessions (cookie `qunzhu_session`), CSRF tokens and the
//! first-run setup, keeping this signature so pages keep compiling.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use qunzhu_engine::Locale;

use super::{DashError, request_lang};
use crate::http::AppState;

/// A dashboard user's role. Ordered: each role can do what the ones before it can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaffRole {
    /// Reads everything, changes nothing.
    Viewer,
    /// Runs the groups: moderation, tasks, tickets, channels, rulebook, schedules.
    Operator,
    /// Also manages accounts and API tokens.
    Owner,
}

impl StaffRole {
    pub fn label(self, lang: Locale) -> &'static str {
        match self {
            Self::Viewer => lang.pick("只读", "viewer"),
            Self::Operator => lang.pick("运营", "operator"),
            Self::Owner => lang.pick("所有者", "owner"),
        }
    }
}

/// The signed-in user of a dashboard request.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// Display name.
    pub name: String,
    pub role: StaffRole,
    /// The session's CSRF token: the layout puts it on `<body data-csrf>`, `dash.js` sends it
    /// as `X-CSRF-Token` with every API call.
    pub csrf: String,
    /// The page language (cookie `qunzhu_lang`, `?lang=`; zh-CN by default).
    pub lang: Locale,
}

impl Viewer {
    /// Whether the viewer may change things (operators and owners): pages hide edit
    /// controls otherwise; the API refuses them anyway.
    pub fn can_edit(&self) -> bool {
        self.role >= StaffRole::Operator
    }

    /// A 403 page unless the viewer has at least `role`.
    pub fn require(&self, role: StaffRole) -> Result<(), DashError> {
        if self.role >= role { Ok(()) } else { Err(DashError::forbidden(self.lang)) }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = DashError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Viewer { name: "owner".into(), role: StaffRole::Owner, csrf: String::new(), lang: request_lang(parts) })
    }
}
