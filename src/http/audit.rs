//! `GET /api/v1/audit`: the audit trail, for administrators.

use super::Endpoint;
use super::auth::Client;
use super::error::ApiError;
use crate::app::App;
use crate::audit::{self, AuditQuery};
use crate::issuance::SCOPE_ADMIN;
use actix_web::http::Method;
use actix_web::{HttpResponse, web};

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![(Method::GET, "/api/v1/audit", web::to(list_audit))]
}

async fn list_audit(
    app: web::Data<App>,
    client: Client,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_ADMIN)?;
    let filter = query.parse().map_err(ApiError::Invalid)?;
    Ok(HttpResponse::Ok().json(audit::page(&app.store, filter).await?))
}
