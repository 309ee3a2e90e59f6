//! Bearer-token authentication of API clients and scope checks.

use super::error::ApiError;
use crate::app::App;
use crate::issuance::{self, SCOPE_ADMIN};
use crate::storage::ClientRecord;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

/// The API client that sent the request (its token was valid and not revoked).
#[derive(Debug, Clone)]
pub struct Client(pub ClientRecord);

impl Client {
    /// Passes when the client holds `scope`; `admin` holds every scope.
    pub fn require(&self, scope: &'static str) -> Result<(), ApiError> {
        if self.0.scopes.iter().any(|s| s == scope || s == SCOPE_ADMIN) {
            Ok(())
        } else {
            tracing::info!(client.id = %self.0.client_id, scope, "refused: missing scope");
            Err(ApiError::Forbidden(scope))
        }
    }

    /// Who did it, for the audit trail.
    pub fn actor(&self) -> String {
        format!("client:{}", self.0.client_id)
    }
}

impl FromRequest for Client {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            // The scheme is case-insensitive (RFC 9110, section 11.1).
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned());
        let app = req.app_data::<web::Data<App>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(app)) = (token, app) else { return Err(ApiError::Unauthorized) };
            match issuance::authenticate(&app.store, &token).await? {
                Some(client) => Ok(Client(client)),
                None => {
                    // Never log the token itself.
                    tracing::info!("refused: unknown or revoked token");
                    Err(ApiError::Unauthorized)
                }
            }
        })
    }
}
