//! `/api/v1/imports`: files of award records (CSV, OOAPI v5) imported as
//! jobs in the background (`intake::jobs`), with per-row results.

use super::Endpoint;
use super::auth::Client;
use super::error::ApiError;
use crate::app::App;
use crate::domain::microcredential::ValidationErrors;
use crate::intake::jobs::{self, ImportOptions, ImportView, RowView, SubmitError};
use crate::issuance::{SCOPE_AWARDS_READ, SCOPE_AWARDS_WRITE};
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![
        (Method::POST, "/api/v1/imports", web::to(create_import)),
        (Method::GET, "/api/v1/imports", web::to(list_imports)),
        (Method::GET, "/api/v1/imports/{id}", web::to(get_import)),
        (Method::GET, "/api/v1/imports/{id}/results.csv", web::to(import_results)),
    ]
}

/// Content types a file may be sent as; the bytes decide between CSV and OOAPI JSON.
const FILE_TYPES: &[&str] = &[
    "text/csv",
    "application/csv",
    "text/plain",
    "application/vnd.ms-excel",
    "application/json",
    "application/octet-stream",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateQuery {
    achievement: Option<String>,
    dry_run: Option<bool>,
    eppn_rule: Option<String>,
    filename: Option<String>,
}

/// `POST /api/v1/imports`: the file is the body. 202 with the queued job.
async fn create_import(
    app: web::Data<App>,
    client: Client,
    req: HttpRequest,
    query: web::Query<CreateQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_WRITE)?;
    let bytes = file_body(&req, body, app.settings.max_import_bytes).await?;
    let query = query.into_inner();
    let options = ImportOptions {
        filename: query.filename,
        achievement: query.achievement,
        eppn_rule: query.eppn_rule.or_else(|| app.settings.ooapi_eppn_rule.clone()),
        dry_run: query.dry_run.unwrap_or(false),
    };
    let record = jobs::submit(&app, &client.0, bytes, options, &client.actor()).await.map_err(|e| match e {
        SubmitError::File(problems) => {
            let mut errors = ValidationErrors::new();
            for (place, problem) in problems {
                errors.push(place, problem);
            }
            ApiError::Invalid(errors)
        }
        SubmitError::Service(e) => e.into(),
    })?;
    let view = ImportView::new(record);
    Ok(HttpResponse::Accepted().insert_header((header::LOCATION, format!("/api/v1/imports/{}", view.id))).json(view))
}

/// The file: of a type a file may be sent as, at most `limit` bytes.
async fn file_body(req: &HttpRequest, payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if !FILE_TYPES.contains(&mime.as_str()) {
        return Err(ApiError::UnsupportedInput(format!(
            "send the file as the body, as text/csv (a CSV file) or application/json (an OOAPI document), not {}",
            if mime.is_empty() { "without a Content-Type" } else { &mime }
        )));
    }
    super::input::body(req, payload, limit).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    before: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/imports`: newest first; `before` (an import id) pages on.
async fn list_imports(
    app: web::Data<App>,
    client: Client,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_READ)?;
    let mut problems = ValidationErrors::new();
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        problems.push("limit", "must be between 1 and 500");
    }
    let before = match query.before.as_deref() {
        Some(id) => match app.store.import(id).await? {
            Some(job) => Some(job.seq),
            None => {
                problems.push("before", "is not the id of an import");
                None
            }
        },
        None => None,
    };
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let imports: Vec<ImportView> =
        app.store.list_imports(before, limit).await?.into_iter().map(ImportView::new).collect();
    let next = (imports.len() as i64 == limit).then(|| imports.last().map(|v| v.id.clone())).flatten();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "imports": imports, "next_before": next })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RowsQuery {
    result: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
}

const RESULTS: &[&str] = &["created", "existing", "refused", "skipped", "would_create"];

/// `GET /api/v1/imports/{id}`: the job, its counts and a page of its row
/// results (`?result=refused` for the rows that need fixing).
async fn get_import(
    app: web::Data<App>,
    client: Client,
    id: web::Path<String>,
    query: web::Query<RowsQuery>,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_READ)?;
    let mut problems = ValidationErrors::new();
    if let Some(result) = query.result.as_deref().filter(|r| !RESULTS.contains(r)) {
        problems.push("result", format!("{result} is not a result; one of {}", RESULTS.join(", ")));
    }
    let limit = query.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        problems.push("limit", "must be between 1 and 10000");
    }
    if query.after.is_some_and(|after| after < 0) {
        problems.push("after", "must be a row index (0 or more)");
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let record = app.store.import(&id).await?.ok_or(ApiError::NotFound("import"))?;
    let rows = app.store.import_rows(&record.import_id, query.result.as_deref(), query.after, limit).await?;
    let next = (rows.len() as i64 == limit).then(|| rows.last().map(|r| r.row_index)).flatten();
    let rows = rows.into_iter().map(RowView::new).collect::<Result<Vec<_>, _>>()?;
    let mut body = serde_json::to_value(ImportView::new(record)).map_err(|e| ApiError::Internal(e.into()))?;
    body["results"] = serde_json::json!({ "rows": rows, "next_after": next });
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/imports/{id}/results.csv`: the file with the results added.
async fn import_results(app: web::Data<App>, client: Client, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_AWARDS_READ)?;
    let record = app.store.import(&id).await?.ok_or(ApiError::NotFound("import"))?;
    let csv = jobs::results_csv(&app, &record).await?;
    let name = format!("import-{}-results.csv", record.import_id);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(csv))
}
