//! `/api/v1`: microcredential definitions and awards, for API clients.

use super::Endpoint;
use super::auth::Client;
use super::error::ApiError;
use super::input::{self, ACHIEVEMENT, AWARD};
use crate::app::App;
use crate::domain::award::{AwardRecordInput, LearnerInput};
use crate::domain::microcredential::{MicrocredentialDefinitionInput, ValidationErrors};
use crate::intake;
use crate::issuance::{
    self, AchievementInput, AchievementRef, AwardOutcome, AwardRequest, SCOPE_ADMIN, SCOPE_AWARDS_READ,
    SCOPE_AWARDS_WRITE,
};
use crate::storage::UpdateOutcome;
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![
        (Method::GET, "/api/v1/achievements", web::to(list_achievements)),
        (Method::POST, "/api/v1/achievements", web::to(create_achievement)),
        (Method::GET, "/api/v1/achievements/{id}", web::to(get_achievement)),
        (Method::PUT, "/api/v1/achievements/{id}", web::to(update_achievement)),
        (Method::POST, "/api/v1/awards", web::to(create_award)),
        (Method::GET, "/api/v1/awards", web::to(find_award)),
        // Before `/api/v1/awards/{id}`: the router takes the first pattern that matches.
        (Method::POST, "/api/v1/awards/batch", web::to(create_award_batch)),
        (Method::GET, "/api/v1/awards/{id}", web::to(get_award)),
        (Method::POST, "/api/v1/awards/{id}/push", web::to(retry_push)),
        (Method::GET, "/api/v1/push", web::to(list_push)),
    ]
}

fn limit(app: &App) -> usize {
    app.settings.max_body_bytes
}

/// Splits a checked achievement body into the definition and its settings.
fn achievement_input(object: &Map<String, Value>) -> AchievementInput {
    let mut problems = ValidationErrors::new();
    let mut clean = input::shape(object, ACHIEVEMENT, "", &mut problems);
    let texts = |v: Option<Value>| -> Option<Vec<String>> { v.and_then(|v| serde_json::from_value(v).ok()) };
    let course_codes = texts(clean.remove("course_codes"));
    let edubadges_badgeclass = clean.remove("edubadges_badgeclass").and_then(|v| v.as_str().map(str::to_owned));
    // The shape check made every member deserialisable.
    let definition: MicrocredentialDefinitionInput = serde_json::from_value(Value::Object(clean)).unwrap_or_default();
    AchievementInput { definition, course_codes, edubadges_badgeclass, shape_problems: problems }
}

async fn create_achievement(
    app: web::Data<App>,
    client: Client,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_ADMIN)?;
    let object = input::json_object(&req, body, limit(&app)).await?;
    let view = issuance::create_achievement(&app, achievement_input(&object), &client.actor()).await?;
    tracing::info!(achievement.id = %view.id, client.id = %client.0.client_id, "created achievement");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/achievements/{}", view.id)))
        .json(view))
}

async fn update_achievement(
    app: web::Data<App>,
    client: Client,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_ADMIN)?;
    let object = input::json_object(&req, body, limit(&app)).await?;
    let (view, outcome) = issuance::update_achievement(&app, &id, achievement_input(&object), &client.actor()).await?;
    let change = match outcome {
        UpdateOutcome::Unchanged { .. } => "unchanged",
        UpdateOutcome::Updated { .. } => "updated",
        UpdateOutcome::NewVersion { .. } => "new_version",
    };
    tracing::info!(achievement.id = %view.id, version = view.version, change, "updated achievement");
    let mut body = serde_json::to_value(&view).map_err(|e| ApiError::Internal(e.into()))?;
    body["change"] = change.into();
    Ok(HttpResponse::Ok().json(body))
}

async fn get_achievement(app: web::Data<App>, client: Client, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_READ)?;
    Ok(HttpResponse::Ok().json(issuance::achievement(&app, &id).await?))
}

async fn list_achievements(app: web::Data<App>, client: Client) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_READ)?;
    let achievements = issuance::achievements(&app).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "achievements": achievements })))
}

/// `POST /api/v1/awards` body → an award request (problems collected, not raised).
fn award_request(object: &Map<String, Value>) -> AwardRequest {
    let mut problems = ValidationErrors::new();
    let clean = input::shape(object, AWARD, "", &mut problems);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let achievement = match (text(clean.get("achievement_id")), text(clean.get("course_code"))) {
        (Some(id), None) => Some(AchievementRef::Id(id)),
        (None, Some(code)) => Some(AchievementRef::CourseCode(code)),
        (Some(_), Some(_)) => {
            problems.push("course_code", "give achievement_id or course_code, not both");
            None
        }
        (None, None) => None,
    };
    let learner: Option<LearnerInput> = clean.get("learner").cloned().and_then(|v| serde_json::from_value(v).ok());
    let result = clean.get("result");
    let record = AwardRecordInput {
        record_id: text(clean.get("source_record_id")),
        learner,
        grade: text(result.and_then(|r| r.get("grade"))),
        completed_on: text(result.and_then(|r| r.get("completed_on"))),
        evidence_url: text(clean.get("evidence_url")),
        narrative: text(clean.get("narrative")),
    };
    if result.is_none() {
        problems.push("result", "is required (completed_on, and grade when there is one)");
    }
    AwardRequest { achievement, record, shape_problems: problems }
}

async fn create_award(
    app: web::Data<App>,
    client: Client,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_WRITE)?;
    let object = input::json_object(&req, body, limit(&app)).await?;
    let (mut response, view) = match issuance::issue_award(&app, &client.0, award_request(&object)).await? {
        AwardOutcome::Created(view) => (HttpResponse::Created(), view),
        AwardOutcome::Existing(view) => (HttpResponse::Ok(), view),
    };
    Ok(response.insert_header((header::LOCATION, format!("/api/v1/awards/{}", view.id))).json(view))
}

/// `POST /api/v1/awards/batch`: `{"awards": [award, …]}`, 1 to 1,000 of them.
async fn create_award_batch(
    app: web::Data<App>,
    client: Client,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_WRITE)?;
    let object = input::json_object(&req, body, app.settings.max_batch_bytes).await?;
    let mut problems = ValidationErrors::new();
    for name in object.keys().filter(|name| *name != "awards") {
        problems.push(name.clone(), "is not a known field (the body is {\"awards\": [...]})");
    }
    let awards = match object.get("awards") {
        Some(Value::Array(awards)) if awards.is_empty() => {
            problems.push("awards", "must hold at least one award");
            None
        }
        Some(Value::Array(awards)) if awards.len() > intake::MAX_BATCH => {
            problems.push("awards", format!("holds {} awards; at most {} per batch", awards.len(), intake::MAX_BATCH));
            None
        }
        Some(Value::Array(awards)) => Some(awards),
        Some(_) => {
            problems.push("awards", "must be an array of awards");
            None
        }
        None => {
            problems.push("awards", "is required: an array of 1 to 1000 awards");
            None
        }
    };
    let mut requests = Vec::new();
    for (i, award) in awards.into_iter().flatten().enumerate() {
        match award {
            Value::Object(award) => requests.push(award_request(award)),
            other => {
                problems.push(format!("awards[{i}]"), format!("must be an award object, not {}", input::kind(other)))
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let view = intake::issue_batch(app.into_inner(), &client.0, requests).await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn get_award(app: web::Data<App>, client: Client, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_READ)?;
    Ok(HttpResponse::Ok().json(issuance::award(&app, &id).await?))
}

async fn retry_push(app: web::Data<App>, client: Client, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_ADMIN)?;
    let (outcome, view) = issuance::retry_push(&app, &id, &client.actor()).await?;
    let (result, mut response) = match outcome {
        crate::storage::RetryOutcome::Queued => ("queued", HttpResponse::Accepted()),
        crate::storage::RetryOutcome::Running => ("running", HttpResponse::Ok()),
        crate::storage::RetryOutcome::Delivered => ("delivered", HttpResponse::Ok()),
    };
    tracing::info!(award.id = %view.id, client.id = %client.0.client_id, result, "push retry");
    Ok(response.json(serde_json::json!({"result": result, "award": view})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListPush {
    state: Option<String>,
    after: Option<String>,
    limit: Option<i64>,
}

async fn list_push(app: web::Data<App>, client: Client, query: web::Query<ListPush>) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_READ)?;
    let list = issuance::push_list(&app, query.state.as_deref(), query.after.as_deref(), query.limit).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize)]
struct FindAward {
    source_record_id: Option<String>,
}

async fn find_award(
    app: web::Data<App>,
    client: Client,
    query: web::Query<FindAward>,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_READ)?;
    let Some(source_record_id) = query.source_record_id.as_deref().filter(|s| !s.is_empty()) else {
        let mut problems = ValidationErrors::new();
        problems.push("source_record_id", "is required: the SIS record id of the award to find");
        return Err(ApiError::Invalid(problems));
    };
    Ok(HttpResponse::Ok().json(issuance::award_by_source_record_id(&app, source_record_id).await?))
}
