//! A small HTTP/1.1 server over tokio and httparse.
//!
//! The double needs one thing a framework does not give: closing a
//! connection after a request was processed, without answering (a response
//! lost after commit). It also delays answers without holding a thread.
//! Supported: keep-alive, pipelining, `Content-Length` and chunked request
//! bodies, `Expect: 100-continue`, HEAD. Not supported: HTTP/2, TLS, upgrades.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// Largest request head (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body: Edubadges' `DATA_UPLOAD_MAX_MEMORY_SIZE` (5 MB).
const MAX_BODY: usize = 5 * 1024 * 1024;
/// An idle keep-alive connection is closed after this long.
const IDLE: Duration = Duration::from_secs(75);
const MAX_HEADERS: usize = 96;

/// A request, read completely.
#[derive(Debug, Clone)]
pub(super) struct Request {
    pub method: String,
    /// The path, percent-decoded.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The media type without parameters, lower case; empty when absent.
    pub fn media_type(&self) -> String {
        self.header("content-type").unwrap_or_default().split(';').next().unwrap_or_default().trim().to_lowercase()
    }

    /// Query parameters, decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_decode(&self.query)
    }
}

/// A response to send.
#[derive(Debug, Clone)]
pub(super) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Self {
        let mut headers = Vec::new();
        if let Some(content_type) = content_type {
            headers.push(("Content-Type".to_owned(), content_type.to_owned()));
        }
        Response { status, headers, body: body.into() }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// What to do with a processed request.
#[derive(Debug)]
pub(super) enum Reply {
    Send(Response),
    /// Close the connection without a response.
    Drop,
}

impl Reply {
    pub fn status(&self) -> Option<u16> {
        match self {
            Reply::Send(response) => Some(response.status),
            Reply::Drop => None,
        }
    }
}

/// A reply and how long to wait before giving it.
#[derive(Debug)]
pub(super) struct Answer {
    pub reply: Reply,
    pub delay: Duration,
    /// Held until the answer is written: the request counts as in flight.
    pub guard: Option<super::service::InFlightGuard>,
}

/// Turns requests into answers. Synchronous: the delay is the server's job.
pub(super) trait Handler: Send + Sync + 'static {
    fn handle(&self, request: Request) -> Answer;
}

/// Accepts connections until `stop` fires (or is dropped), then ends every
/// connection task.
pub(super) async fn serve<H: Handler>(listener: TcpListener, handler: Arc<H>, mut stop: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    while connections.try_join_next().is_some() {}
                    connections.spawn(connection(stream, peer, Arc::clone(&handler)));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "edubadges-mock: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    connections.shutdown().await;
}

/// Why a request could not be read.
enum ReadError {
    /// The peer went away (or idled out): nothing to answer.
    Gone,
    /// Answer with this status and close.
    Refuse(u16),
}

async fn connection<H: Handler>(mut stream: TcpStream, _peer: SocketAddr, handler: Arc<H>) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        let request = match read_request(&mut stream, &mut buf).await {
            Ok(Some(request)) => request,
            Ok(None) | Err(ReadError::Gone) => return,
            Err(ReadError::Refuse(status)) => {
                let response = Response::new(status, Some("text/plain; charset=utf-8"), reason(status));
                let _ = write_response(&mut stream, &response, false, true).await;
                return;
            }
        };
        let head_only = request.0.method == "HEAD";
        let keep_alive = request.1;
        // `_in_flight` lives until the answer is written.
        let Answer { reply, delay, guard: _in_flight } = handler.handle(request.0);
        if !delay.is_zero() {
            let sleep = tokio::time::sleep(delay);
            tokio::pin!(sleep);
            let mut probe = [0u8; 1];
            tokio::select! {
                () = &mut sleep => {}
                peeked = stream.peek(&mut probe) => match peeked {
                    // The client gave up waiting (its timeout): the request
                    // is no longer in flight, though its effect stays.
                    Ok(0) | Err(_) => return,
                    // A pipelined request waits its turn.
                    Ok(_) => sleep.await,
                },
            }
        }
        match reply {
            Reply::Drop => return,
            Reply::Send(response) => {
                if write_response(&mut stream, &response, head_only, !keep_alive).await.is_err() || !keep_alive {
                    return;
                }
            }
        }
    }
}

/// Reads one request; `None` when the connection closed cleanly between
/// requests. The flag says whether the connection may be kept open.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Option<(Request, bool)>, ReadError> {
    // The head.
    let (head_len, method, target, version, headers) = loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut slots);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let headers: Vec<(String, String)> = parsed
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                    .collect();
                break (
                    len,
                    parsed.method.unwrap_or_default().to_owned(),
                    parsed.path.unwrap_or_default().to_owned(),
                    parsed.version.unwrap_or(1),
                    headers,
                );
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD {
                    return Err(ReadError::Refuse(431));
                }
            }
            Err(httparse::Error::TooManyHeaders) => return Err(ReadError::Refuse(431)),
            Err(_) => return Err(ReadError::Refuse(400)),
        }
        match tokio::time::timeout(IDLE, stream.read_buf(buf)).await {
            Ok(Ok(0)) if buf.is_empty() => return Ok(None),
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return Err(ReadError::Gone),
            Ok(Ok(_)) => {}
        }
    };
    buf.drain(..head_len);

    let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    let connection = header("connection").unwrap_or_default().to_ascii_lowercase();
    let keep_alive = if version == 0 { connection.contains("keep-alive") } else { !connection.contains("close") };
    let chunked = match header("transfer-encoding") {
        None => false,
        Some(te) if te.to_ascii_lowercase().trim_end().ends_with("chunked") => true,
        Some(_) => return Err(ReadError::Refuse(501)),
    };
    let length = if chunked {
        None
    } else {
        let mut lengths =
            headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim());
        match lengths.next() {
            None => Some(0),
            Some(first) => {
                let length = first.parse::<usize>().map_err(|_| ReadError::Refuse(400))?;
                if lengths.any(|other| other != first) {
                    return Err(ReadError::Refuse(400));
                }
                Some(length)
            }
        }
    };
    if length.is_some_and(|n| n > MAX_BODY) {
        return Err(ReadError::Refuse(413));
    }
    let expects_body = chunked || length.is_some_and(|n| n > buf.len());
    if expects_body && header("expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.map_err(|_| ReadError::Gone)?;
    }
    let body = match length {
        Some(n) => {
            fill(stream, buf, n).await?;
            buf.drain(..n).collect()
        }
        None => read_chunked(stream, buf).await?,
    };

    let (raw_path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (target, String::new()),
    };
    // An absolute-form target (`http://host/path`) names the same path.
    let raw_path = match raw_path.find("://") {
        Some(i) => raw_path[i + 3..].find('/').map(|j| raw_path[i + 3 + j..].to_owned()).unwrap_or_else(|| "/".into()),
        None => raw_path,
    };
    let path = percent_decode(&raw_path, false);
    Ok(Some((Request { method, path, query, headers, body }, keep_alive)))
}

/// Reads until `buf` holds at least `n` bytes.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, n: usize) -> Result<(), ReadError> {
    while buf.len() < n {
        match tokio::time::timeout(IDLE, stream.read_buf(buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return Err(ReadError::Gone),
            Ok(Ok(_)) => {}
        }
    }
    Ok(())
}

/// Reads a line ending in CRLF (without it) from the front of `buf`.
async fn read_line(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<String, ReadError> {
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 2);
            return Ok(line);
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Refuse(400));
        }
        let wanted = buf.len() + 1;
        fill(stream, buf, wanted).await?;
    }
}

async fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buf).await?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| ReadError::Refuse(400))?;
        if size == 0 {
            // Trailers, up to an empty line.
            while !read_line(stream, buf).await?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(ReadError::Refuse(413));
        }
        fill(stream, buf, size + 2).await?;
        body.extend(buf.drain(..size));
        if buf.drain(..2).as_slice() != b"\r\n" {
            return Err(ReadError::Refuse(400));
        }
    }
}

async fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    head_only: bool,
    close: bool,
) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(256 + response.body.len());
    out.extend_from_slice(format!("HTTP/1.1 {} {}\r\n", response.status, reason(response.status)).as_bytes());
    out.extend_from_slice(format!("Date: {}\r\n", chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT")).as_bytes());
    for (name, value) in &response.headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n", response.body.len()).as_bytes());
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(&response.body);
    }
    stream.write_all(&out).await?;
    stream.flush().await
}

/// The reason phrase of the statuses the double uses.
pub(super) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// Decodes `%XX` escapes (and `+` as a space in forms). Invalid escapes and
/// invalid UTF-8 are kept as they are, like Django does.
pub(super) fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `application/x-www-form-urlencoded` pairs, decoded, in order.
pub(super) fn form_decode(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%20b%2", false), "a b%2");
        assert_eq!(percent_decode("%zz+x", true), "%zz x");
        assert_eq!(percent_decode("%41", false), "A");
        assert_eq!(
            form_decode("grant_type=client_credentials&scope=edubadges.nl%2Fsis&x"),
            vec![
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("scope".to_owned(), "edubadges.nl/sis".to_owned()),
                ("x".to_owned(), String::new())
            ]
        );
    }
}
