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
