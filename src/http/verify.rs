//! `/verify`: anyone may check any Open Badges 3.0 credential, pasted or
//! uploaded as JSON, a compact VC-JWT or a baked PNG or SVG badge. `GET`
//! is a form; `POST` answers the report as JSON, or as a page for browsers
//! and form posts. Public, so rate-limited per client address.
//!
//! Everything the verifier needs from outside is gathered first
//! (`verifying::verify_gathered`): zegel's own keys and status lists from
//! itself, other issuers' DID documents and lists only from the hosts the
//! settings allow.

use super::Endpoint;
use super::error::ApiError;
use super::page::{self, Lang};
use crate::app::App;
use crate::baking::{self, ImageKind};
use crate::domain::microcredential::ValidationErrors;
use crate::verification::{Report, Verifier, VerifyOptions};
use crate::verifying::{self, FetchPolicy};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![
        (Method::GET, "/verify", web::to(form)),
        (Method::POST, "/verify", web::to(verify)),
        (Method::OPTIONS, "/verify", web::to(preflight)),
    ]
}

/// The CORS preflight: a web page on any origin may post JSON (the
/// answer's `Access-Control-Allow-Origin: *` is added for every public path).
async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST")))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Content-Type, Accept, Accept-Language"),
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400")))
        .finish()
}

// ---------------------------------------------------------------------------
// Rate limit
// ---------------------------------------------------------------------------

/// A token bucket per client address: `per_min` requests at once, refilled
/// at `per_min` a minute. IPv6 clients count per /64, the block a single
/// subscriber usually has. In memory: each instance counts for itself.
#[derive(Debug)]
pub struct RateLimiter {
    per_min: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Buckets kept before full ones are dropped (a full bucket is a fresh one).
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    pub fn new(per_min: u32) -> Self {
        Self { per_min: per_min.max(1), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `client`, or says in how many seconds one is free.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let client = match client {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)),
            v4 => v4,
        };
        let capacity = f64::from(self.per_min);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * per_second < capacity);
        }
        let (tokens, at) = buckets.entry(client).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - *tokens) / per_second).ceil() as u64).max(1))
        }
    }
}

// ---------------------------------------------------------------------------
// Reading the input
// ---------------------------------------------------------------------------

/// The credential (JSON or JWT) in what was sent, told apart by its first
/// bytes (not by what the client claims it is): a baked PNG or SVG badge
/// gives the credential baked into it; anything else is taken as it is
/// (the verifier says what is wrong with it).
fn credential_bytes(bytes: Vec<u8>) -> Result<Vec<u8>, ApiError> {
    if ImageKind::sniff(&bytes).is_none() {
        return Ok(bytes);
    }
    match baking::extract(&bytes) {
        Ok(extracted) => Ok(extracted.credential.into_bytes()),
        Err(e) => Err(invalid("credential", &e.to_string())),
    }
}

/// The media type (lower case, without parameters) and its parameters.
fn media_type(req: &HttpRequest) -> (String, String) {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (mime, parameters) = content_type.split_once(';').unwrap_or((content_type, ""));
    (mime.trim().to_ascii_lowercase(), parameters.to_owned())
}

/// The submitted bytes: the uploaded file, else the pasted text, of a form;
/// the body itself otherwise.
fn submitted(mime: &str, parameters: &str, body: Vec<u8>) -> Result<Vec<u8>, ApiError> {
    match mime {
        "multipart/form-data" => {
            let boundary = parameters
                .split(';')
                .find_map(|p| p.trim().strip_prefix("boundary="))
                .map(|b| b.trim_matches('"'))
                .filter(|b| !b.is_empty())
                .ok_or_else(|| invalid("body", "a multipart/form-data body needs its boundary"))?;
            let parts = multipart(&body, boundary);
            let file = parts.iter().find(|(name, data)| name == "file" && !data.is_empty());
            let pasted = parts.iter().find(|(name, data)| name == "credential" && !data.trim_ascii().is_empty());
            file.or(pasted)
                .map(|(_, data)| data.clone())
                .ok_or_else(|| invalid("credential", "paste a credential or choose a file"))
        }
        "application/x-www-form-urlencoded" => {
            let text = std::str::from_utf8(&body).map_err(|_| invalid("credential", "the form is not UTF-8"))?;
            let fields = web::Query::<HashMap<String, String>>::from_query(text)
                .map_err(|e| invalid("credential", &format!("the form cannot be read: {e}")))?;
            match fields.get("credential") {
                Some(pasted) if !pasted.trim().is_empty() => Ok(pasted.as_bytes().to_vec()),
                // `curl -d @credential.json` sends the file as it is under
                // this type: a body that is no form at all is taken raw.
                _ if body.trim_ascii_start().starts_with(b"{") || !body.contains(&b'=') => Ok(body),
                _ => Err(invalid("credential", "paste a credential")),
            }
        }
        ""
        | "application/json"
        | "application/ld+json"
        | "application/vc+ld+json"
        | "application/vc+jwt"
        | "application/jwt"
        | "application/vc"
        | "text/plain"
        | "application/octet-stream"
        | "image/png"
        | "image/svg+xml" => Ok(body),
        _ => Err(ApiError::UnsupportedInput(format!(
            "send the credential as application/json, application/vc+jwt, text/plain, a baked image, or a form; not {mime}"
        ))),
    }
}

/// The fields of a multipart/form-data body (RFC 7578) as (name, content).
fn multipart(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let find = |from: usize| {
        body.get(from..).and_then(|rest| rest.windows(delimiter.len()).position(|w| w == delimiter)).map(|i| i + from)
    };
    let mut fields = Vec::new();
    let Some(mut at) = find(0) else { return fields };
    loop {
        let start = at + delimiter.len();
        // "--" after a delimiter closes the body.
        if body.get(start..start + 2) == Some(b"--") {
            break;
        }
        let Some(next) = find(start) else { break };
        let part = &body[start..next];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        if let Some(split) = part.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&part[..split]);
            let name =
                headers.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition:")).and_then(|l| {
                    l.split(';').find_map(|p| p.trim().strip_prefix("name=").map(|n| n.trim_matches('"').to_owned()))
                });
            if let Some(name) = name {
                fields.push((name, part[split + 4..].to_vec()));
            }
        }
        at = next;
    }
    fields
}

fn invalid(field: &str, message: &str) -> ApiError {
    let mut problems = ValidationErrors::new();
    problems.push(field, message);
    ApiError::Invalid(problems)
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/// Whether to answer with a page: the client prefers HTML to JSON, or sent
/// a form without saying what it accepts.
fn wants_html(req: &HttpRequest, form: bool) -> bool {
    let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else { return form };
    let quality = |wanted: &str| {
        accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let range = parts.next()?.trim().to_ascii_lowercase();
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                    .unwrap_or(1.0);
                let (main, _) = wanted.split_once('/')?;
                let specificity = if range == wanted {
                    2
                } else if range.strip_suffix("/*") == Some(main) {
                    1
                } else if range == "*/*" {
                    0
                } else {
                    return None;
                };
                Some((specificity, q))
            })
            .max_by_key(|(specificity, _)| *specificity)
            .map_or(0.0, |(_, q)| q)
    };
    // `*/*` alone (curl, scripts) is JSON: browsers name text/html.
    quality("text/html") > quality("application/json")
}

fn lang(req: &HttpRequest) -> Lang {
    Lang::negotiate(
        page::lang_query(req.query_string()),
        req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
    )
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, page::content_security_policy()))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::VARY, HeaderValue::from_static("Accept, Accept-Language")))
        .body(body)
}

async fn form(app: web::Data<App>, req: HttpRequest) -> HttpResponse {
    html(StatusCode::OK, page::verify_page(lang(&req), &verify_path(&app)))
}

async fn verify(
    app: web::Data<App>,
    limiter: web::Data<RateLimiter>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Without a peer address (not over TCP) every such client shares one bucket.
    let client = req.peer_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    limiter.take(client, Instant::now()).map_err(ApiError::TooManyRequests)?;
    let (mime, parameters) = media_type(&req);
    let form = matches!(mime.as_str(), "multipart/form-data" | "application/x-www-form-urlencoded");
    let as_html = wants_html(&req, form);
    let body = super::input::body(&req, payload, app.settings.verify.max_bytes).await?;
    let input = submitted(&mime, &parameters, body).and_then(credential_bytes);
    let input = match input {
        Ok(input) => input,
        Err(e) if as_html && matches!(e, ApiError::Invalid(_) | ApiError::UnsupportedInput(_)) => {
            let report = malformed_report(&e.to_string());
            let status = if matches!(e, ApiError::Invalid(_)) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            };
            return Ok(html(status, page::verify_report_page(&report, lang(&req), &verify_path(&app))));
        }
        Err(e) => return Err(e),
    };
    let report = verify_input(&app, &input).await;
    // Not a credential at all (no format recognised): the request was wrong.
    let unreadable = report.format.is_none();
    if as_html {
        let status = if unreadable { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        return Ok(html(status, page::verify_report_page(&report, lang(&req), &verify_path(&app))));
    }
    if unreadable {
        let reason = report.checks.first().map_or_else(|| report.verdict.to_string(), |c| c.message.clone());
        return Err(invalid("credential", &reason));
    }
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store"))).json(&report))
}

/// A report for input that never reached the verifier, for the page.
fn malformed_report(reason: &str) -> Report {
    Report::unreadable(reason)
}

/// The path of `/verify` under the public URL, for links and the form: a
/// relative reference stays on the origin that served the page (which the
/// Content-Security-Policy's `form-action 'self'` requires).
fn verify_path(app: &App) -> String {
    let url = app.url("/verify");
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    after_scheme.find('/').map_or_else(|| "/verify".to_owned(), |i| after_scheme[i..].to_owned())
}

/// Verifies with zegel's own keys and lists, and others' as the settings allow.
async fn verify_input(app: &App, input: &[u8]) -> Report {
    let settings = &app.settings.verify;
    let policy = FetchPolicy {
        allowed_hosts: settings.fetch_hosts.clone(),
        denied_hosts: settings.deny_hosts.clone(),
        allow_local: settings.allow_local,
        timeout: settings.fetch_timeout,
        ..FetchPolicy::default()
    };
    let verifier = Verifier::new(app.canonicalizer.clone(), app.schemas.clone());
    // An unchecked status is a warning in the report, not "could not
    // check": as `zegel verify` does, and the 1EdTech validator.
    let options = || VerifyOptions::at(chrono::Utc::now());
    verifying::verify_gathered(Some(app), verifier, input, options, &policy).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bucket_refills_at_the_rate() {
        let limiter = RateLimiter::new(2);
        let start = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(limiter.take(a, start), Ok(()));
        assert_eq!(limiter.take(a, start), Ok(()));
        assert_eq!(limiter.take(a, start), Err(30));
        // Another client has its own bucket; an IPv6 /64 is one client.
        assert_eq!(limiter.take("192.0.2.2".parse().unwrap(), start), Ok(()));
        assert_eq!(limiter.take("2001:db8::1".parse().unwrap(), start), Ok(()));
        assert_eq!(limiter.take("2001:db8::2".parse().unwrap(), start), Ok(()));
        assert!(limiter.take("2001:db8::3".parse().unwrap(), start).is_err());
        assert_eq!(limiter.take(a, start + Duration::from_secs(30)), Ok(()));
        assert!(limiter.take(a, start + Duration::from_secs(30)).is_err());
    }

    #[test]
    fn baked_images_give_their_credential_and_the_rest_is_taken_as_it_is() {
        let jws = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0.c2ln";
        let svg = baking::bake_svg("<svg/>", baking::Embedded::Jwt(jws)).unwrap();
        assert_eq!(credential_bytes(svg.into_bytes()).unwrap(), jws.as_bytes());
        let png = baking::bake_png(crate::badge_image::default_png(), baking::Embedded::Json("{\"a\": 1}")).unwrap();
        assert_eq!(credential_bytes(png).unwrap(), b"{\"a\": 1}");
        for raw in [&b"{\"a\":1}"[..], b"eyJ.eyJ.sig", b"hello"] {
            assert_eq!(credential_bytes(raw.to_vec()).unwrap(), raw);
        }
        // An image without a credential: the request is wrong, and says why.
        for image in [&b"  <?xml version=\"1.0\"?><svg/>"[..], crate::badge_image::default_png(), b"<html></html>"] {
            let refused = credential_bytes(image.to_vec()).unwrap_err();
            assert!(matches!(refused, ApiError::Invalid(_)), "{refused}");
        }
    }

    #[test]
    fn forms_give_the_file_or_else_the_pasted_text() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"credential\"\r\n\r\npasted\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.json\"\r\nContent-Type: application/json\r\n\r\n{\"x\":\r\n1}\r\n--XyZ--\r\n";
        assert_eq!(submitted("multipart/form-data", " boundary=XyZ", body.to_vec()).unwrap(), b"{\"x\":\r\n1}");
        let no_file = b"--XyZ\r\nContent-Disposition: form-data; name=\"credential\"\r\n\r\npasted\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n\r\n--XyZ--\r\n";
        assert_eq!(submitted("multipart/form-data", "boundary=\"XyZ\"", no_file.to_vec()).unwrap(), b"pasted");
        assert!(submitted("multipart/form-data", "", body.to_vec()).is_err());
        let urlencoded = b"credential=%7B%22a%22%3A+1%7D&x=y".to_vec();
        assert_eq!(submitted("application/x-www-form-urlencoded", "", urlencoded).unwrap(), b"{\"a\": 1}");
        assert!(submitted("application/x-www-form-urlencoded", "", b"x=y".to_vec()).is_err());
        // Not a form at all (curl -d @file): the body itself.
        for raw in [&b"{\"a\": \"b=c\"}"[..], b"eyJh.eyJi.c2ln"] {
            assert_eq!(submitted("application/x-www-form-urlencoded", "", raw.to_vec()).unwrap(), raw);
        }
        assert!(matches!(submitted("application/xml", "", Vec::new()), Err(ApiError::UnsupportedInput(_))));
    }
}
