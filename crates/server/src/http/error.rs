//! API errors: a stable snake_case `code` the UI and bridges act on, a message for people,
//! and — for bad input — the field or every problem. Internal details are logged here and
//! never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use qunzhu_core::StoreError;
use qunzhu_engine::problems::Problem;
use qunzhu_engine::{EngineError, RulebookError};
use serde::Serialize;
use serde_json::json;
use tracing::error;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub problems: Vec<ProblemBody>,
}

/// One rulebook problem as the API reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProblemBody {
    /// Dotted key path, e.g. `templates.default.welcome.text`.
    pub path: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            problems: Vec::new(),
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// Logs `detail` and answers a bare 500: the client learns nothing internal.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        error!(error = %detail, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "内部错误，详情见服务器日志 (internal error; see the server log)",
        )
    }

    pub fn invalid_rulebook(problems: &[Problem]) -> Self {
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_rulebook",
            format!(
                "规则手册有 {} 处问题，未保存 (the rulebook has {} problem(s); nothing was saved)",
                problems.len(),
                problems.len()
            ),
        );
        error.problems = problems
            .iter()
            .map(|p| ProblemBody {
                path: if p.path.is_empty() {
                    String::new()
                } else {
                    p.dotted_path()
                },
                message: p.message.clone(),
            })
            .collect();
        error
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        if !self.problems.is_empty() {
            body["problems"] = json!(self.problems);
        }
        (self.status, Json(json!({ "error": body }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "别人刚刚改过，请刷新后重试 (someone changed it first; reload and retry)",
            ),
            other => Self::internal(other),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::UnknownConnector(id) => {
                Self::not_found("unknown_connector", format!("no connector named `{id}`"))
            }
            EngineError::ShuttingDown => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "服务正在关闭，请稍后重发 (the server is shutting down; send again later)",
            ),
            EngineError::Store(e) => e.into(),
            EngineError::Rulebook(e) => e.into(),
        }
    }
}

impl From<RulebookError> for ApiError {
    fn from(error: RulebookError) -> Self {
        match error {
            RulebookError::Invalid(problems) => Self::invalid_rulebook(&problems),
            RulebookError::UnknownVersion(v) => {
                Self::not_found("unknown_version", format!("no rulebook version {v}"))
            }
            RulebookError::Store(e) => e.into(),
        }
    }
}
