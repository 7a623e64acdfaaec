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
