//! One error envelope for every API response that is not a success:
//!
//! ```json
//! {"error": "validation_failed", "message": "2 problems: …",
//!  "problems": [{"field": "ects", "message": "must be between 1 and 30 EC"}]}
//! ```
//!
//! Internal errors are logged with their cause and answered with a fixed text.

use crate::domain::microcredential::ValidationErrors;
use crate::issuance::ServiceError;
use crate::storage::StorageError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required: send Authorization: Bearer <token>")]
    Unauthorized,
    #[error("this client lacks the {0} scope")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The path exists; the method does not. Carries the `Allow` list.
    #[error("this resource answers only {0}")]
    MethodNotAllowed(String),
    #[error("{message}")]
    Conflict { message: String, problems: ValidationErrors },
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// A body of a kind this resource cannot read (says which it can).
    #[error("{0}")]
    UnsupportedInput(String),
    /// Too many requests from this client: try again in this many seconds.
    #[error("too many requests; try again in {0} s")]
    TooManyRequests(u64),
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("the database is unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<&'a [crate::domain::microcredential::FieldError]>,
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Conflict { .. } => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType | Self::UnsupportedInput(_) => "unsupported_media_type",
            Self::TooManyRequests(_) => "rate_limited",
            Self::MalformedJson(_) => "malformed_json",
            Self::Invalid(_) => "validation_failed",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType | Self::UnsupportedInput(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            // The cause goes to the log, never to the client.
            tracing::error!(error = %format!("{cause:#}"), "internal error");
        }
        let problems = match self {
            Self::Invalid(problems) | Self::Conflict { problems, .. } => Some(problems.errors()),
            _ => None,
        };
        let body = Body { error: self.code(), message: self.to_string(), problems };
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Self::TooManyRequests(seconds) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Self::MethodNotAllowed(allow) = self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.insert_header((header::ALLOW, value));
        }
        response.json(body)
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(problems) => Self::Invalid(problems),
            ServiceError::NotFound(what) => Self::NotFound(what),
            ServiceError::Forbidden(scope) => Self::Forbidden(scope),
            ServiceError::Conflict { message, problems } => Self::Conflict { message, problems },
            ServiceError::Storage(e) => e.into(),
            ServiceError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound(what) => Self::NotFound(what),
            // Edited again and again while being issued: nothing was written.
            StorageError::Stale(what) => {
                let mut problems = ValidationErrors::new();
                problems.push(
                    "achievement_id",
                    format!("the {what} kept changing while the award was issued; post it again"),
                );
                Self::Conflict { message: format!("the {what} changed while the award was issued"), problems }
            }
            StorageError::Database { source: sqlx::Error::PoolTimedOut | sqlx::Error::Io(_), .. } => {
                tracing::error!(error = %error, "database unavailable");
                Self::Unavailable
            }
            other => Self::Internal(other.into()),
        }
    }
}
