//! Who is looking at the dashboard: the [`Viewer`] extractor and staff roles.
//!
//! The `http::access` layer recognises the session cookie (`qunzhu_session`) and puts the
//! [`Principal`] into the request; the extractor turns it into a [`Viewer`]. Without a
//! session a page redirects to `/login?next=…`, or to `/setup` while no account exists (the
//! first run). CSRF is checked by the layer, before any handler runs. The sign-in, first-run
//! and settings pages are in `dash::account_pages`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use qunzhu_core::accounts::Role;
use qunzhu_engine::Locale;

use super::layout::urlencode;
use super::{DashError, here, request_lang};
use crate::accounts::{Principal, SESSION_COOKIE};
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

impl From<Role> for StaffRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Viewer => Self::Viewer,
            Role::Operator => Self::Operator,
            Role::Owner => Self::Owner,
        }
    }
}

impl From<StaffRole> for Role {
    fn from(role: StaffRole) -> Self {
        match role {
            StaffRole::Viewer => Self::Viewer,
            StaffRole::Operator => Self::Operator,
            StaffRole::Owner => Self::Owner,
        }
    }
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

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = request_lang(parts);
        let mut principal = parts.extensions.get::<Principal>().cloned();
        if principal.is_none()
            && let Some(token) = super::cookie(parts, SESSION_COOKIE).filter(|t| !t.is_empty())
        {
            // Routers without the access layer (unit tests of pages) still see sessions.
            principal = state.auth.session_principal(&token).await?;
        }
        match principal {
            Some(Principal { account: Some(account), role, csrf, .. }) => {
                Ok(Viewer { name: account.display_name, role: role.into(), csrf: csrf.unwrap_or_default(), lang })
            }
            _ if !state.auth.accounts_exist().await? => Err(DashError::Redirect("/setup".to_owned())),
            _ => Err(DashError::Redirect(format!("/login?next={}", urlencode(&here(&parts.uri))))),
        }
    }
}
