//! HTTP through the host: the only network an adapter has. Only origins in
//! `adapter.toml` are reachable; redirects come back unfollowed; header
//! values may carry `{{secret:NAME}}` templates the host fills in.

use crate::GenerateError;
use crate::bindings::mattebox::generator::host::{self, HttpRequest};

pub use crate::bindings::mattebox::generator::host::HttpResponse as Response;

/// Sends one request.
pub fn fetch(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Response, GenerateError> {
    let request = HttpRequest {
        method: method.into(),
        url: url.into(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.to_vec(),
    };
    host::http_fetch(&request).map_err(GenerateError::Network)
}

/// GET `url`.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Response, GenerateError> {
    fetch("GET", url, headers, &[])
}

/// POST `value` as JSON to `url`.
pub fn post_json(url: &str, headers: &[(&str, &str)], value: &serde_json::Value) -> Result<Response, GenerateError> {
    let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    fetch("POST", url, &all, value.to_string().as_bytes())
}

impl Response {
    /// The body parsed as JSON, after checking the status is 2xx.
    pub fn json(&self) -> Result<serde_json::Value, GenerateError> {
        if !(200..300).contains(&self.status) {
            let text = String::from_utf8_lossy(&self.body);
            return Err(GenerateError::Vendor(format!(
                "HTTP {}: {}",
                self.status,
                text.chars().take(500).collect::<String>()
            )));
        }
        serde_json::from_slice(&self.body).map_err(|e| GenerateError::Vendor(format!("the response is not JSON: {e}")))
    }

    /// The `detail` of an error answer from a service built the FastAPI
    /// way (Luma, fal): a string, or a list of `{loc, msg}` said as
    /// `body.field: msg`; else the start of the body as it came.
    pub fn detail(&self) -> String {
        let body: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        match &body["detail"] {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| {
                    let at: Vec<String> = item["loc"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| p.as_str().map(str::to_owned).unwrap_or_else(|| p.to_string()))
                        .collect();
                    format!("{}: {}", at.join("."), item["msg"].as_str().unwrap_or("?"))
                })
                .collect::<Vec<_>>()
                .join("; "),
            _ => String::from_utf8_lossy(&self.body).chars().take(300).collect(),
        }
    }

    /// A header's first value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// `text` with everything but unreserved characters percent-encoded, for
/// query values and path segments.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `multipart/form-data` body of text fields and one file, and its
/// content type, for upload endpoints.
pub fn multipart(fields: &[(&str, &str)], file: (&str, &str, &str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "mattebox-form-boundary-7d2f9c";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    let (field, filename, content_type, bytes) = file;
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// How many times [`send`] asks before it hands back a 429 or a 5xx.
pub const TRIES: u32 = 5;

/// Sends one request, and again when the vendor answers 429 (too many
/// requests) or a 5xx: after the answer's `Retry-After` seconds when it
/// gives them (at most a minute), else after 1, 2, 4, 8 s. Every other
/// answer, and the last of [`TRIES`], comes back as it is for the adapter
/// to read in its vendor's words. `vendor` names it in the log; a user's
/// cancel between tries ends the wait.
pub fn send(
    vendor: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, GenerateError> {
    send_when(is_busy, vendor, method, url, headers, body)
}

/// Whether an answer says "not now" rather than "no": 429 or a 5xx.
pub fn is_busy(response: &Response) -> bool {
    response.status == 429 || response.status >= 500
}

/// [`send`], for a vendor whose "not now" answers `busy` tells apart from
/// its refusals (one that answers 429 for an empty account, too).
pub fn send_when(
    busy: fn(&Response) -> bool,
    vendor: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, GenerateError> {
    let mut wait = std::time::Duration::from_secs(1);
    for attempt in 1..=TRIES {
        let response = fetch(method, url, headers, body)?;
        if !busy(&response) || attempt == TRIES {
            return Ok(response);
        }
        let told = response.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
        let pause = told.map(std::time::Duration::from_secs).unwrap_or(wait).min(std::time::Duration::from_secs(60));
        crate::log(
            crate::LogLevel::Info,
            &format!("{vendor} answered HTTP {}; trying again in {} s", response.status, pause.as_secs()),
        );
        if crate::cancelled() {
            return Err(GenerateError::Cancelled);
        }
        std::thread::sleep(pause);
        wait *= 2;
    }
    unreachable!("the last try returns")
}

/// [`send`] with `value` as a JSON body.
pub fn send_json(
    vendor: &str,
    url: &str,
    headers: &[(&str, &str)],
    value: &serde_json::Value,
) -> Result<Response, GenerateError> {
    let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    send(vendor, "POST", url, &all, value.to_string().as_bytes())
}

/// Downloads a finished output from where `vendor` serves it (no
/// credentials go there). Vendors keep outputs for a limited time and sign
/// their URLs: a 403, 404 or 410 says the URL expired, and that generating
/// again is the way on; busy answers are tried again as by [`send`].
pub fn download(vendor: &str, url: &str) -> Result<Vec<u8>, GenerateError> {
    let response = send(vendor, "GET", url, &[], &[])?;
    match response.status {
        200 => Ok(response.body),
        403 | 404 | 410 => Err(GenerateError::Vendor(format!(
            "the output's URL has expired (HTTP {}): {vendor} keeps outputs for a limited time; generate again",
            response.status
        ))),
        status => Err(GenerateError::Vendor(format!("downloading the output from {vendor} failed: HTTP {status}"))),
    }
}
