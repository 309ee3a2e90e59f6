//! Operations: /health, /ready, /metrics, request ids and what the logs may hold.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::spawn_app;

async fn health_answers_ok(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let body = app.health().await.expect(200);
    assert_eq!(body["status"], "ok");
}

crate::backend_tests!(health_answers_ok);
