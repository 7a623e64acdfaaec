//! `host.http-fetch`: the adapter's only way out, and everything that keeps
//! it narrow.
//!
//! - Only origins the manifest declares, compared exactly (scheme, host,
//!   port; default ports filled in).
//! - Names resolve through our resolver, which refuses private, loopback,
//!   link-local and other special addresses unless the user's policy lists
//!   them, and the connection goes to the address it checked (no DNS
//!   rebinding between check and connect).
//! - Redirects are not followed: a 3xx comes back to the adapter as is.
//! - Connect and read timeouts, never past the take's deadline; a response
//!   body cap, checked against Content-Length and while reading.
//! - Secret templates in header values are filled in here, after the
//!   request left the adapter's memory.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mattebox_core::{Error, Result};

/// Longest a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest one read or write may stall.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest request body an adapter may send, in bytes.
const MAX_REQUEST_BODY: usize = 64 << 20;

/// `scheme://host:port`, as compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses an origin as a manifest writes it (`https://api.example.com`,
    /// `http://127.0.0.1:8188`): no path, query or credentials.
    pub fn parse(text: &str) -> Result<Origin> {
        let url = url::Url::parse(text).map_err(|e| Error::invalid_argument(format!("not a URL: {e}")))?;
        if !(url.path() == "/" || url.path().is_empty()) || url.query().is_some() || url.fragment().is_some() {
            return Err(Error::invalid_argument("an origin has no path, query or fragment"));
        }
        Origin::of(&url)
    }

    fn of(url: &url::Url) -> Result<Origin> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(Error::invalid_argument(format!("scheme {scheme:?}: only http or https")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid_argument("credentials in a URL are not allowed; use a secret header"));
        }
        let host = url.host_str().ok_or_else(|| Error::invalid_argument("the URL has no host"))?;
        let port = url.port_or_known_default().ok_or_else(|| Error::invalid_argument("the URL has no port"))?;
        Ok(Origin { scheme: scheme.to_owned(), host: host.to_ascii_lowercase(), port })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Whether an address is one a vendor API never lives at.
fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xC0) == 64) // carrier-grade NAT 100.64/10
                || (o[0] == 198 && (o[1] & 0xFE) == 18) // benchmarking 198.18/15
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_special(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xFE00) == 0xFC00 // unique local
                || (s[0] & 0xFFC0) == 0xFE80 // link local
        }
    }
}

/// What the user allows beyond the manifest.
#[derive(Clone, Debug, Default)]
pub struct NetworkPolicy {
    /// Special addresses (loopback, private) that adapters may still reach;
    /// tests allow 127.0.0.1 for their local vendor servers.
    pub allow_addresses: Vec<IpAddr>,
    /// Secret values by name.
    pub secrets: BTreeMap<String, String>,
}

/// `http-fetch` for one adapter.
pub(crate) struct Fetcher {
    origins: Vec<Origin>,
    declared_secrets: Vec<String>,
    policy: Arc<NetworkPolicy>,
    max_response: u64,
}

/// A request as the adapter sent it.
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// A response for the adapter.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Fetcher {
    pub(crate) fn new(
        origins: &[String],
        declared_secrets: &[String],
        policy: Arc<NetworkPolicy>,
        max_response: u64,
    ) -> Result<Fetcher> {
        let origins = origins.iter().map(|o| Origin::parse(o)).collect::<Result<_>>()?;
        Ok(Fetcher { origins, declared_secrets: declared_secrets.to_vec(), policy, max_response })
    }

    /// Whether the user configured a secret the manifest declares.
    pub(crate) fn has_secret(&self, name: &str) -> bool {
        self.declared_secrets.iter().any(|d| d == name) && self.policy.secrets.contains_key(name)
    }

    /// Fills `{{secret:NAME}}` and `{{kling-jwt:ACCESS,SECRET}}` templates.
    fn fill(&self, value: &str) -> std::result::Result<String, String> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").ok_or("an unclosed {{ in a header value")? + start;
            let inner = &rest[start + 2..end];
            let secret = |name: &str| -> std::result::Result<&str, String> {
                if !self.declared_secrets.iter().any(|d| d == name) {
                    return Err(format!("secret {name} is not declared in the adapter's manifest"));
                }
                self.policy
                    .secrets
                    .get(name)
                    .map(String::as_str)
                    .ok_or_else(|| format!("secret {name} is not configured"))
            };
            if let Some(name) = inner.strip_prefix("secret:") {
                out.push_str(secret(name.trim())?);
            } else if let Some(pair) = inner.strip_prefix("kling-jwt:") {
                let (access, key) = pair.split_once(',').ok_or("kling-jwt takes ACCESS,SECRET")?;
                out.push_str(&crate::jwt::kling_token(secret(access.trim())?, secret(key.trim())?));
            } else {
                return Err(format!("unknown template {{{{{inner}}}}}"));
            }
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Performs one exchange, or says why not. `deadline` is the take's.
    pub(crate) fn fetch(&self, request: Request, deadline: Instant) -> std::result::Result<Response, String> {
        let url = url::Url::parse(&request.url).map_err(|e| format!("{:?} is not a URL: {e}", request.url))?;
        let origin = Origin::of(&url).map_err(|e| e.to_string())?;
        if !self.origins.contains(&origin) {
            return Err(format!("{origin} is not among the origins the adapter's manifest declares"));
        }
        let method = request.method.to_ascii_uppercase();
        if !["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"].contains(&method.as_str()) {
            return Err(format!("method {method:?} is not allowed"));
        }
        if request.body.len() > MAX_REQUEST_BODY {
            return Err(format!("the request body is larger than {} MiB", MAX_REQUEST_BODY >> 20));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("the take's deadline has passed".into());
        }
        let allowed = self.policy.allow_addresses.clone();
        let resolver = move |netloc: &str| -> std::io::Result<Vec<SocketAddr>> {
            let addrs: Vec<SocketAddr> = netloc.to_socket_addrs()?.collect();
            let usable: Vec<SocketAddr> =
                addrs.iter().copied().filter(|a| !is_special(a.ip()) || allowed.contains(&a.ip())).collect();
            if usable.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{netloc} resolves only to private or special addresses ({addrs:?}), which are refused"),
                ));
            }
            Ok(usable)
        };
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout_connect(CONNECT_TIMEOUT.min(left))
            .timeout_read(IO_TIMEOUT.min(left))
            .timeout_write(IO_TIMEOUT.min(left))
            .timeout(left)
            .resolver(resolver)
            .build();
        let mut call = agent.request(&method, url.as_str());
        for (name, value) in &request.headers {
            call = call.set(name, &self.fill(value)?);
        }
        let response = match call.send_bytes(&request.body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            // The message may name the URL, never the filled-in headers.
            Err(ureq::Error::Transport(t)) => return Err(format!("{method} {origin}: {t}")),
        };
        let status = response.status();
        let headers: Vec<(String, String)> = response
            .headers_names()
            .into_iter()
            .flat_map(|name| {
                let values: Vec<String> = response.all(&name).into_iter().map(str::to_owned).collect();
                values.into_iter().map(move |v| (name.clone(), v))
            })
            .collect();
        let cap = self.max_response;
        if let Some(len) = response.header("content-length").and_then(|v| v.trim().parse::<u64>().ok())
            && len > cap
        {
            return Err(format!("the response would be {len} bytes; the limit is {cap}"));
        }
        let mut body = Vec::new();
        response
            .into_reader()
            .take(cap + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("{method} {origin}: reading the response failed: {e}"))?;
        if body.len() as u64 > cap {
            return Err(format!("the response is larger than the limit of {cap} bytes"));
        }
        Ok(Response { status, headers, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_exactly() {
        let a = Origin::parse("https://API.example.com").unwrap();
        assert_eq!(a.to_string(), "https://api.example.com:443");
        assert_eq!(a, Origin::parse("https://api.example.com:443").unwrap());
        assert_ne!(a, Origin::parse("http://api.example.com").unwrap());
        assert_ne!(a, Origin::parse("https://api.example.com:8443").unwrap());
        assert!(Origin::parse("https://user:pw@example.com").is_err());
    }

    #[test]
    fn special_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(is_special(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "151.101.1.69", "2606:4700::1111"] {
            assert!(!is_special(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn templates_fill_only_declared_secrets() {
        let mut policy = NetworkPolicy::default();
        policy.secrets.insert("TOKEN".into(), "s3cret".into());
        policy.secrets.insert("OTHER".into(), "nope".into());
        let f = Fetcher::new(&[], &["TOKEN".into()], Arc::new(policy), 1).unwrap();
        assert_eq!(f.fill("Bearer {{secret:TOKEN}}").unwrap(), "Bearer s3cret");
        assert!(f.fill("{{secret:OTHER}}").unwrap_err().contains("not declared"));
        assert!(f.fill("{{secret:TOKEN").is_err());
        assert!(f.fill("{{env:HOME}}").unwrap_err().contains("unknown template"));
        assert!(f.has_secret("TOKEN") && !f.has_secret("OTHER"));
    }
}
