//! Operations: liveness, readiness and Prometheus metrics.

use super::Endpoint;
use crate::app::App;
use actix_web::http::Method;
use actix_web::{HttpResponse, web};

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![
        (Method::GET, "/health", web::to(health)),
        (Method::GET, "/ready", web::to(ready)),
        (Method::GET, "/metrics", web::to(metrics)),
    ]
}

/// The process is up.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The service can do its work: the database answers and keys are loaded.
async fn ready(app: web::Data<App>) -> HttpResponse {
    // A load balancer polls this: answer within its timeout even when the
    // database hangs or cannot be reached.
    let database = match tokio::time::timeout(READY_TIMEOUT, app.store.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            "unavailable".to_owned()
        }
        Err(_) => {
            tracing::warn!(timeout_ms = READY_TIMEOUT.as_millis(), "readiness: the database did not answer in time");
            "unavailable".to_owned()
        }
    };
    let keys = app.issuer.keys().len();
    let ready = database == "ok" && keys > 0;
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not_ready" },
        "database": database,
        "backend": format!("{:?}", app.store.backend()).to_lowercase(),
        "keys": keys,
        "issuer": app.issuer.id(),
        "edubadges": edubadges_readiness(&app),
    });
    if ready { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}

/// Edubadges is not needed to be ready (awards wait in the outbox), but an
/// operator should see at a glance whether and where awards are pushed.
fn edubadges_readiness(app: &App) -> serde_json::Value {
    match &app.settings.edubadges {
        None => serde_json::json!("not configured: awards are issued and wait with push state pending"),
        Some(edubadges) => serde_json::json!({
            "url": edubadges.url,
            "worker": if app.settings.push.worker { "running in this instance" } else { "off here (ZEGEL_PUSH_WORKER=false): run `zegel push run`" },
        }),
    }
}

async fn metrics(app: web::Data<App>) -> HttpResponse {
    // The push gauges come from the database (the truth across instances);
    // without it the rest is still worth serving.
    let states = match tokio::time::timeout(READY_TIMEOUT, app.store.push_counts()).await {
        Ok(Ok(states)) => states,
        _ => Vec::new(),
    };
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(app.metrics.render_with(&states))
}
