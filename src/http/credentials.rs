//! `/api/v1/credentials/{id}` and the bulk status changes of an achievement
//! version: an administrator's revoke, suspend, unsuspend and reissue.
//! Thin: the use cases are in `lifecycle`.

use super::Endpoint;
use super::auth::Client;
use super::error::ApiError;
use super::input::{self, Expect};
use crate::app::App;
use crate::domain::microcredential::ValidationErrors;
use crate::issuance::{SCOPE_ADMIN, SCOPE_AWARDS_READ};
use crate::lifecycle::{self, ReissueRequest};
use crate::storage::StatusChange;
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

pub(super) fn endpoints() -> Vec<Endpoint> {
    use StatusChange::{Revoke, Suspend, Unsuspend};
    vec![
        (Method::GET, "/api/v1/credentials/{id}", web::to(get_credential)),
        (Method::POST, "/api/v1/credentials/{id}/revoke", one(Revoke)),
        (Method::POST, "/api/v1/credentials/{id}/suspend", one(Suspend)),
        (Method::POST, "/api/v1/credentials/{id}/unsuspend", one(Unsuspend)),
        (Method::POST, "/api/v1/credentials/{id}/reissue", web::to(reissue)),
        (Method::POST, "/api/v1/achievements/{id}/versions/{version}/revoke", version(Revoke)),
        (Method::POST, "/api/v1/achievements/{id}/versions/{version}/suspend", version(Suspend)),
        (Method::POST, "/api/v1/achievements/{id}/versions/{version}/unsuspend", version(Unsuspend)),
    ]
}

/// The route of a status change of one credential.
fn one(change: StatusChange) -> actix_web::Route {
    web::to(move |app: web::Data<App>, client: Client, id: web::Path<String>, req: HttpRequest, body: web::Payload| {
        change_one(app, client, id, req, body, change)
    })
}

/// The route of a status change of an achievement version.
fn version(change: StatusChange) -> actix_web::Route {
    web::to(
        move |app: web::Data<App>,
              client: Client,
              path: web::Path<(String, String)>,
              req: HttpRequest,
              body: web::Payload| { change_version(app, client, path, req, body, change) },
    )
}

/// The body of a status change: `{"reason": "…"}`.
const STATUS_CHANGE: &[(&str, Expect)] = &[("reason", Expect::Text)];

/// The body of a reissue: corrections take the award's own members.
const REISSUE: &[(&str, Expect)] = &[
    ("reason", Expect::Text),
    ("newest_version", Expect::Bool),
    (
        "record",
        Expect::Object(&[
            ("learner", Expect::Object(input::LEARNER)),
            ("result", Expect::Object(input::RESULT)),
            ("evidence_url", Expect::Text),
            ("narrative", Expect::Text),
        ]),
    ),
];

async fn get_credential(app: web::Data<App>, client: Client, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_READ)?;
    Ok(HttpResponse::Ok().json(lifecycle::credential(&app, &id).await?))
}

/// The checked reason of a status change body (every problem listed).
async fn reason(app: &App, req: &HttpRequest, body: web::Payload) -> Result<Option<String>, ApiError> {
    let object = input::json_object(req, body, app.settings.max_body_bytes).await?;
    let mut problems = ValidationErrors::new();
    let clean = input::shape(&object, STATUS_CHANGE, "", &mut problems);
    let reason = clean.get("reason").and_then(Value::as_str).map(str::to_owned);
    if !problems.is_empty() {
        lifecycle::parse_reason(reason.as_deref(), &mut problems);
        return Err(ApiError::Invalid(problems));
    }
    Ok(reason)
}

async fn change_one(
    app: web::Data<App>,
    client: Client,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
    change: StatusChange,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_ADMIN)?;
    let reason = reason(&app, &req, body).await?;
    let view = lifecycle::change_one(&app, &id, change, reason.as_deref(), &client.actor()).await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn change_version(
    app: web::Data<App>,
    client: Client,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Payload,
    change: StatusChange,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_ADMIN)?;
    let (achievement_id, version) = path.into_inner();
    // A version that is not a number names no version.
    let version: i64 = version.parse().map_err(|_| ApiError::NotFound("achievement version"))?;
    let reason = reason(&app, &req, body).await?;
    let view =
        lifecycle::change_version(&app, &achievement_id, version, change, reason.as_deref(), &client.actor()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/credentials/{id}/reissue` body → a reissue request.
fn reissue_request(object: &Map<String, Value>) -> ReissueRequest {
    let mut problems = ValidationErrors::new();
    let clean = input::shape(object, REISSUE, "", &mut problems);
    let mut corrections = match clean.get("record") {
        Some(Value::Object(record)) => record.clone(),
        _ => Map::new(),
    };
    // `shape` drops nulls; in a correction, null clears an optional field.
    if let Some(Value::Object(raw)) = object.get("record") {
        restore_nulls(raw, &mut corrections);
    }
    ReissueRequest {
        reason: clean.get("reason").and_then(Value::as_str).map(str::to_owned),
        corrections,
        newest_version: clean.get("newest_version").and_then(Value::as_bool).unwrap_or(false),
        shape_problems: problems,
    }
}

fn restore_nulls(raw: &Map<String, Value>, clean: &mut Map<String, Value>) {
    for (name, value) in raw {
        match value {
            Value::Null => {
                clean.insert(name.clone(), Value::Null);
            }
            Value::Object(members) => {
                if let Some(Value::Object(inner)) = clean.get_mut(name) {
                    restore_nulls(members, inner);
                }
            }
            _ => {}
        }
    }
}

async fn reissue(
    app: web::Data<App>,
    client: Client,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_ADMIN)?;
    let object = input::json_object(&req, body, app.settings.max_body_bytes).await?;
    let view = lifecycle::reissue(&app, &id, reissue_request(&object), &client.actor()).await?;
    let mut response = if view.changed { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(response.insert_header((header::LOCATION, format!("/api/v1/awards/{}", view.award.id))).json(view))
}
