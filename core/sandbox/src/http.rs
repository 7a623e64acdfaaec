//! `host.http-fetch`: the adapter's only way out, and everything that keeps
//! it narrow.
//!
//! - Only origins the manifest declares, compared exactly (scheme, host,
//!   port; default ports filled in).
//! - Names resolve through our resolver, which refuses private, loopback,
//!   link-local and other special addresses (IPv6 forms that embed an IPv4
//!   address are judged by that address) unless the user's policy lists
//!   them, and the connection goes to the address it checked (no DNS
//!   rebinding between check and connect).
//! - Redirects are not followed: a 3xx comes back to the adapter as is.
//! - The request is shaped by the host: header names and values are
//!   checked before anything is filled in, headers that frame or route the
//!   request (`Host`, `Content-Length`, `Transfer-Encoding`, `Connection`,
//!   hop-by-hop) are the host's alone, and their number and size are capped.
//! - Connect and read timeouts, never past the take's deadline; a response
//!   body cap, checked against Content-Length and while reading.
//! - Secret templates in header values are filled in here, after the
//!   request left the adapter's memory, and only for the origins the
//!   manifest binds each secret to. Whatever comes back (errors, response
//!   headers and bodies, log lines) has every secret, the tokens signed
//!   from them and their common encodings replaced by `[secret NAME]`
//!   ([`Redactor`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mattebox_core::{Error, Result};
use parking_lot::Mutex;

use crate::manifest::SecretGrant;

/// Longest a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest one read or write may stall.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest request body an adapter may send, in bytes.
const MAX_REQUEST_BODY: usize = 64 << 20;
/// Most headers one request may carry.
const MAX_HEADERS: usize = 64;
/// Most bytes of header names and values one request may carry.
const MAX_HEADER_BYTES: usize = 32 << 10;
/// Shortest secret the host fills in: shorter values could not be told
/// apart from ordinary text in what servers send back, so they could not
/// be redacted reliably.
pub const MIN_SECRET_LEN: usize = 8;
/// Headers only the host sets: they frame the request on the wire or route
/// it through proxies, so an adapter's value would let it smuggle a second
/// request or reach another site behind a shared front end.
const HOST_HEADERS: [&str; 11] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-authorization",
    "proxy-connection",
];

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

    pub(crate) fn of(url: &url::Url) -> Result<Origin> {
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

fn is_special_v4(v4: Ipv4Addr) -> bool {
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
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments 192.0.0/24
        || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 6to4 relay anycast
        || (o[0] == 198 && (o[1] & 0xFE) == 18) // benchmarking 198.18/15
        || o[0] >= 240
}

/// The IPv4 addresses an IPv6 address stands for, when it embeds any: the
/// packet may end up there (through a NAT64 gateway, a 6to4 or Teredo
/// relay, or a stack that treats the old forms as IPv4).
fn embedded_v4(v6: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = v6.segments();
    let o = v6.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    let mut out = Vec::new();
    if let Some(v4) = v6.to_ipv4_mapped() {
        out.push(v4); // ::ffff:a.b.c.d
    }
    if s[..6] == [0; 6] {
        out.push(last); // IPv4-compatible ::a.b.c.d (and ::1, ::, judged as v6 too)
    }
    if s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
        out.push(last); // IPv4-translated ::ffff:0:a.b.c.d
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        out.push(last); // NAT64 64:ff9b::/96 and local-use 64:ff9b:1::/48
    }
    if s[0] == 0x2002 {
        out.push(Ipv4Addr::new(o[2], o[3], o[4], o[5])); // 6to4 2002:AABB:CCDD::/48
    }
    if s[0] == 0x2001 && s[1] == 0 {
        // Teredo: the server at bits 32-63, the client obscured in the last 32.
        out.push(Ipv4Addr::new(o[4], o[5], o[6], o[7]));
        out.push(Ipv4Addr::new(!o[12], !o[13], !o[14], !o[15]));
    }
    out
}

/// Whether an address is one a vendor API never lives at.
fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_special_v4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xFE00) == 0xFC00 // unique local
                || (s[0] & 0xFFC0) == 0xFE80 // link local
                || (s[0] & 0xFFC0) == 0xFEC0 // site local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[..4] == [0x0100, 0, 0, 0]) // discard-only 100::/64
                || embedded_v4(v6).into_iter().any(is_special_v4)
        }
    }
}

/// Whether `ip` is the address the user allowed: the same address, or an
/// IPv6 form that embeds it and nothing else special.
fn same_address(allowed: IpAddr, ip: IpAddr) -> bool {
    if allowed == ip {
        return true;
    }
    let (IpAddr::V4(ok), IpAddr::V6(v6)) = (allowed, ip) else {
        return false;
    };
    let embedded = embedded_v4(v6);
    embedded.contains(&ok) && embedded.iter().all(|a| *a == ok || !is_special_v4(*a))
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

/// Replaces secrets, the tokens signed from them and their common
/// encodings in text the host passes on (to the adapter, to the log).
///
/// Covered: the value as is; JSON-, percent- and slash-escaped; base64 and
/// base64url at any alignment inside a longer text (the part of the
/// encoding that does not depend on the neighbouring bytes). Anything else
/// a server does to a secret (hashing, hex, a cipher) is not recognised:
/// that is why each secret goes only to the origins its manifest names.
#[derive(Debug, Default)]
pub(crate) struct Redactor {
    needles: Vec<(Vec<u8>, String)>,
}

impl Redactor {
    fn add(&mut self, value: &[u8], label: &str) {
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        let mut push = |needle: Vec<u8>| {
            if needle.len() >= MIN_SECRET_LEN && !self.needles.iter().any(|(n, _)| *n == needle) {
                self.needles.push((needle, label.to_owned()));
            }
        };
        // Longest first, when replacing: a token that holds a secret is
        // replaced whole before the secret inside it could break it up.
        push(value.to_vec());
        let text = String::from_utf8_lossy(value);
        push(serde_json::to_string(&text).unwrap_or_default().trim_matches('"').as_bytes().to_vec());
        push(text.replace('/', "\\/").into_bytes());
        let mut percent = String::new();
        for b in value {
            if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
                percent.push(*b as char);
            } else {
                percent.push_str(&format!("%{b:02X}"));
            }
        }
        push(percent.into_bytes());
        for skip in 0..3 {
            // With `skip` bytes before it in its group of three, the value's
            // encoding is fixed from its first whole group to its last.
            let lead = (3 - skip) % 3;
            if value.len() <= lead + 3 {
                continue;
            }
            let whole = (value.len() - lead) / 3 * 3;
            let core = &value[lead..lead + whole];
            push(mattebox_core::base64::encode(core).into_bytes());
            push(mattebox_core::base64::encode_url(core).trim_end_matches('=').as_bytes().to_vec());
        }
        self.needles.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    }

    fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `bytes` with every needle replaced by `[secret NAME]`.
    pub(crate) fn bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        let mut out = bytes;
        for (needle, label) in &self.needles {
            let finder = memchr::memmem::Finder::new(needle);
            if finder.find(&out).is_none() {
                continue;
            }
            let mut replaced = Vec::with_capacity(out.len());
            let mut last = 0;
            for at in finder.find_iter(&out) {
                if at < last {
                    continue;
                }
                replaced.extend_from_slice(&out[last..at]);
                replaced.extend_from_slice(format!("[secret {label}]").as_bytes());
                last = at + needle.len();
            }
            replaced.extend_from_slice(&out[last..]);
            out = replaced;
        }
        out
    }

    /// `text` with every needle replaced.
    pub(crate) fn text(&self, text: String) -> String {
        if self.is_empty() {
            return text;
        }
        String::from_utf8(self.bytes(text.into_bytes()))
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }
}

/// A Kling token the host signed, reused while it has long to live.
struct Token {
    access: String,
    key: String,
    issued: Instant,
    value: String,
}

/// A Google access token, for a secret (the account) and a scope.
struct GoogleToken {
    secret: String,
    scope: String,
    until: Instant,
    value: String,
}

/// Longest the host waits for Google's token endpoint.
const TOKEN_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a signed token is reused (it is valid for 30 minutes).
const TOKEN_REUSE: Duration = Duration::from_secs(20 * 60);

/// The servers a user named for one adapter in its settings.
#[derive(Clone, Debug, Default)]
pub(crate) struct UserServers {
    /// The adapter, for messages.
    pub(crate) adapter: String,
    /// The extras that may name a server (the manifest's `server_extras`).
    pub(crate) keys: Vec<String>,
    /// The origins the user named for them.
    pub(crate) origins: Vec<Origin>,
}

impl UserServers {
    /// How the user would let the adapter reach `origin`.
    fn hint(&self, origin: &Origin) -> String {
        match self.keys.first() {
            Some(key) => format!(
                "to let {} reach it, name it in the adapter's settings: `mattebox plugin config {} {key}={origin}`",
                self.adapter, self.adapter
            ),
            None => format!("the {} adapter does not let users add servers", self.adapter),
        }
    }
}

/// `http-fetch` for one adapter.
pub(crate) struct Fetcher {
    origins: Vec<Origin>,
    grants: Vec<(String, Vec<Origin>)>,
    user: UserServers,
    policy: Arc<NetworkPolicy>,
    max_response: u64,
    /// Whether this fetcher serves `describe`, which gets no network.
    describing: bool,
    redactor: Mutex<Redactor>,
    tokens: Mutex<Vec<Token>>,
    google_tokens: Mutex<Vec<GoogleToken>>,
}

/// A checked request: where it goes, with its templates filled in.
pub(crate) struct Prepared {
    /// A Volcengine signature to make once the request is complete.
    pub(crate) sign: Option<PendingV4>,
    pub(crate) url: url::Url,
    pub(crate) origin: Origin,
    pub(crate) headers: Vec<(String, String)>,
    /// Time left before the take's deadline.
    pub(crate) left: Duration,
    pub(crate) resolve: Resolver,
}

/// A `{{volcengine-v4:ACCESS,SECRET,REGION,SERVICE}}` Authorization header,
/// its secrets looked up: the signature covers the method, URL, headers and
/// body, so it is made last, in [`Fetcher::fetch`].
pub(crate) struct PendingV4 {
    access: String,
    secret: String,
    region: String,
    service: String,
}

/// Names to addresses, refusing special ones the user did not allow.
pub(crate) struct Resolver {
    allowed: Vec<IpAddr>,
    named_by_user: bool,
    hint: String,
}

impl Resolver {
    pub(crate) fn resolve(&self, netloc: &str) -> std::io::Result<Vec<SocketAddr>> {
        let addrs: Vec<SocketAddr> = netloc.to_socket_addrs()?.collect();
        let usable: Vec<SocketAddr> = addrs
            .iter()
            .copied()
            .filter(|a| {
                self.named_by_user || !is_special(a.ip()) || self.allowed.iter().any(|&ok| same_address(ok, a.ip()))
            })
            .collect();
        if usable.is_empty() {
            let ips: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{netloc} resolves only to private or special addresses ({}), which are refused; {} \
                     (or list the address in MATTEBOX_ALLOW_ADDRESSES)",
                    ips.join(", "),
                    self.hint
                ),
            ));
        }
        Ok(usable)
    }
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

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks a header as the adapter wrote it (templates not filled in).
fn check_header(name: &str, value: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > 256 || !name.bytes().all(is_tchar) {
        return Err(format!(
            "header name {:?} is not a valid HTTP token (letters, digits and !#$%&'*+-.^_`|~)",
            name.chars().take(64).collect::<String>()
        ));
    }
    if HOST_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) || name.to_ascii_lowercase().starts_with("proxy-") {
        return Err(format!("header {name:?} is set by the host, never by an adapter"));
    }
    if let Some(b) = value.bytes().find(|&b| !(b == b'\t' || (0x20..0x7f).contains(&b))) {
        return Err(format!(
            "header {name:?}: its value holds a control character or non-ASCII byte (0x{b:02x}); \
             header values are visible ASCII, spaces and tabs"
        ));
    }
    Ok(())
}

impl Fetcher {
    /// A fetcher for a take: `origins` reachable, each secret only where
    /// its grant says.
    pub(crate) fn new(
        origins: &[String],
        grants: &[SecretGrant],
        user: UserServers,
        policy: Arc<NetworkPolicy>,
        max_response: u64,
    ) -> Result<Fetcher> {
        let origins: Vec<Origin> = origins.iter().map(|o| Origin::parse(o)).collect::<Result<_>>()?;
        let grants = grants
            .iter()
            .map(|g| {
                let mut to: Vec<Origin> = g.origins.iter().map(|o| Origin::parse(o)).collect::<Result<_>>()?;
                if g.to_user_servers {
                    to.extend(user.origins.iter().cloned());
                }
                Ok((g.name.clone(), to))
            })
            .collect::<Result<_>>()?;
        let mut redactor = Redactor::default();
        for (name, value) in &policy.secrets {
            redactor.add(value.as_bytes(), name);
        }
        Ok(Fetcher {
            origins,
            grants,
            user,
            policy,
            max_response,
            describing: false,
            redactor: Mutex::new(redactor),
            tokens: Mutex::new(Vec::new()),
            google_tokens: Mutex::new(Vec::new()),
        })
    }

    /// A fetcher for `describe`: no origins, no secrets.
    pub(crate) fn for_describe() -> Fetcher {
        let mut fetcher =
            Fetcher::new(&[], &[], UserServers::default(), Arc::default(), 0).expect("an empty fetcher is valid");
        fetcher.describing = true;
        fetcher
    }

    /// Whether the user configured a secret the manifest declares.
    pub(crate) fn has_secret(&self, name: &str) -> bool {
        self.grants.iter().any(|(g, _)| g == name) && self.policy.secrets.contains_key(name)
    }

    /// `text` with secrets and signed tokens replaced.
    pub(crate) fn redact(&self, text: String) -> String {
        self.redactor.lock().text(text)
    }

    /// `bytes` with secrets and signed tokens replaced.
    pub(crate) fn redact_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        self.redactor.lock().bytes(bytes)
    }

    /// The largest response (or WebSocket message) an adapter may read.
    pub(crate) fn max_response(&self) -> u64 {
        self.max_response
    }

    /// The secret `name`'s value, if it may go to `origin`, and a header can carry it.
    fn secret(&self, name: &str, origin: &Origin) -> std::result::Result<&str, String> {
        let value = self.granted_secret(name, origin)?;
        if value.bytes().any(|b| !(b == b'\t' || (0x20..0x7f).contains(&b))) {
            return Err(format!(
                "secret {name} holds characters a header cannot carry (control characters, line breaks or non-ASCII); \
                 check MATTEBOX_SECRET_{name}"
            ));
        }
        Ok(value)
    }

    /// The secret `name`'s value, if it may be used for `origin` (as it is:
    /// a key file the host reads, never sends).
    fn granted_secret(&self, name: &str, origin: &Origin) -> std::result::Result<&str, String> {
        let Some((_, allowed)) = self.grants.iter().find(|(g, _)| g == name) else {
            return Err(format!("secret {name} is not declared in the adapter's manifest"));
        };
        if !allowed.contains(origin) {
            let list: Vec<String> = allowed.iter().map(Origin::to_string).collect();
            return Err(format!(
                "secret {name} may be sent only to {} (its manifest's grant), not to {origin}",
                list.join(", ")
            ));
        }
        let value = self
            .policy
            .secrets
            .get(name)
            .ok_or_else(|| format!("secret {name} is not configured (MATTEBOX_SECRET_{name})"))?;
        if value.len() < MIN_SECRET_LEN {
            return Err(format!(
                "secret {name} is shorter than {MIN_SECRET_LEN} characters; the host cannot keep so short a value \
                 out of what servers send back, so it does not send it"
            ));
        }
        Ok(value)
    }

    /// A Google access token for the service account in secret `name`, for
    /// `scope`: made from a signed assertion at the account's token
    /// endpoint, reused until five minutes before it expires, redacted from
    /// everything that returns.
    fn google_token(&self, name: &str, scope: &str, origin: &Origin) -> std::result::Result<String, String> {
        let json = self.granted_secret(name, origin)?;
        let mut tokens = self.google_tokens.lock();
        tokens.retain(|t| t.until > Instant::now());
        if let Some(t) = tokens.iter().find(|t| t.secret == name && t.scope == scope) {
            return Ok(t.value.clone());
        }
        let context = |why: String| format!("Google OAuth for secret {name}: {why}");
        let account = crate::signers::ServiceAccount::parse(json).map_err(context)?;
        let endpoint = url::Url::parse(&account.token_uri).map_err(|_| context("its token_uri is not a URL".into()))?;
        let endpoint_origin = Origin::of(&endpoint).map_err(|e| context(e.to_string()))?;
        if endpoint.scheme() != "https"
            && !self.policy.allow_addresses.iter().any(|a| endpoint.host_str() == Some(&a.to_string()))
        {
            return Err(context(format!("its token_uri {endpoint_origin} is not https")));
        }
        let resolve = Resolver {
            allowed: self.policy.allow_addresses.clone(),
            named_by_user: false,
            hint: "the token endpoint comes from the key file".into(),
        };
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout(TOKEN_EXCHANGE_TIMEOUT)
            .resolver(move |netloc: &str| resolve.resolve(netloc))
            .build();
        let body = crate::signers::token_request_body(&account.assertion(scope).map_err(context)?);
        let response = match agent
            .post(endpoint.as_str())
            .set("content-type", "application/x-www-form-urlencoded")
            .send_string(&body)
        {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(context(format!("{endpoint_origin}: {t}"))),
        };
        let status = response.status();
        let mut text = String::new();
        response.into_reader().take(1 << 20).read_to_string(&mut text).map_err(|e| context(e.to_string()))?;
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let token = answer["access_token"].as_str().filter(|t| status == 200 && !t.is_empty());
        let Some(token) = token.filter(|t| t.bytes().all(|b| (0x21..0x7f).contains(&b))) else {
            let say = |key: &str| answer[key].as_str().unwrap_or("").chars().take(200).collect::<String>();
            return Err(context(format!(
                "the token endpoint answered HTTP {status}: {} {}",
                say("error"),
                say("error_description")
            )));
        };
        let lifetime = answer["expires_in"].as_u64().unwrap_or(3600).clamp(60, 3600);
        self.redactor.lock().add(token.as_bytes(), name);
        tokens.push(GoogleToken {
            secret: name.to_owned(),
            scope: scope.to_owned(),
            until: Instant::now() + Duration::from_secs(lifetime.saturating_sub(300).max(30)),
            value: token.to_owned(),
        });
        Ok(token.to_owned())
    }

    /// A Kling API token for the two secrets, reused while fresh; every
    /// token issued joins the redactor.
    fn kling_token(&self, access: &str, key: &str) -> String {
        let mut tokens = self.tokens.lock();
        if let Some(t) = tokens.iter().find(|t| t.access == access && t.key == key && t.issued.elapsed() < TOKEN_REUSE)
        {
            return t.value.clone();
        }
        let value = crate::signers::kling_token(access, key);
        let mut redactor = self.redactor.lock();
        redactor.add(value.as_bytes(), "kling-jwt");
        for segment in value.split('.').skip(1) {
            redactor.add(segment.as_bytes(), "kling-jwt");
        }
        tokens.push(Token {
            access: access.to_owned(),
            key: key.to_owned(),
            issued: Instant::now(),
            value: value.clone(),
        });
        value
    }

    /// Fills `{{secret:NAME}}` and `{{kling-jwt:ACCESS,SECRET}}` templates
    /// for a request to `origin`. Errors never hold a filled-in value.
    fn fill(&self, value: &str, origin: &Origin) -> std::result::Result<String, String> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").ok_or("an unclosed {{ in a header value")? + start;
            let inner = &rest[start + 2..end];
            if let Some(name) = inner.strip_prefix("secret:") {
                out.push_str(self.secret(name.trim(), origin)?);
            } else if let Some(args) = inner.strip_prefix("google-oauth:") {
                let (name, scope) = args.split_once(',').ok_or("google-oauth takes SECRET,SCOPE")?;
                out.push_str(&self.google_token(name.trim(), scope.trim(), origin)?);
            } else if let Some(pair) = inner.strip_prefix("kling-jwt:") {
                let (access, key) = pair.split_once(',').ok_or("kling-jwt takes ACCESS,SECRET")?;
                let (access, key) = (self.secret(access.trim(), origin)?, self.secret(key.trim(), origin)?);
                out.push_str(&self.kling_token(access, key));
            } else {
                return Err(format!("unknown template {{{{{}}}}}", inner.chars().take(64).collect::<String>()));
            }
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Reads `ACCESS,SECRET,REGION,SERVICE` of a Volcengine signature: the
    /// first two name secrets (bound to `origin`), the others are plain words.
    fn pending_v4(&self, args: &str, origin: &Origin) -> std::result::Result<PendingV4, String> {
        let parts: Vec<&str> = args.split(',').map(str::trim).collect();
        let [access, secret, region, service] = parts[..] else {
            return Err(
                "volcengine-v4 takes ACCESS,SECRET,REGION,SERVICE (two secret names, then e.g. cn-north-1,cv)".into()
            );
        };
        let word = |w: &str| {
            !w.is_empty() && w.len() <= 64 && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !word(region) || !word(service) {
            return Err(format!("volcengine-v4: region {region:?} and service {service:?} must be plain words"));
        }
        Ok(PendingV4 {
            access: self.secret(access, origin)?.to_owned(),
            secret: self.secret(secret, origin)?.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        })
    }

    /// Performs one exchange, or says why not. `deadline` is the take's.
    /// Everything returned has passed the redactor.
    pub(crate) fn fetch(&self, request: Request, deadline: Instant) -> std::result::Result<Response, String> {
        match self.exchange(request, deadline) {
            Ok(mut r) => {
                let redactor = self.redactor.lock();
                if !redactor.is_empty() {
                    r.body = redactor.bytes(std::mem::take(&mut r.body));
                    for (name, value) in &mut r.headers {
                        *name = redactor.text(std::mem::take(name));
                        *value = redactor.text(std::mem::take(value));
                    }
                }
                Ok(r)
            }
            Err(why) => Err(self.redact(why)),
        }
    }

    /// Checks a request to `url` with `headers` (the network is open, the
    /// origin reachable, the headers well-formed and few) and fills in the
    /// templates. Shared by `http-fetch` and `websocket-connect`.
    pub(crate) fn prepare(
        &self,
        url: &str,
        headers: &[(String, String)],
        deadline: Instant,
    ) -> std::result::Result<Prepared, String> {
        if self.describing {
            return Err("describe may not use the network: the host calls it to check and list adapters, \
                        before any take; fetch in generate"
                .into());
        }
        let url = url::Url::parse(url)
            .map_err(|e| format!("{:?} is not a URL: {e}", url.chars().take(200).collect::<String>()))?;
        // A WebSocket's origin is its HTTP one.
        let mut as_http = url.clone();
        match url.scheme() {
            "ws" => as_http.set_scheme("http").map_err(|_| "bad ws URL")?,
            "wss" => as_http.set_scheme("https").map_err(|_| "bad wss URL")?,
            _ => {}
        }
        let origin = Origin::of(&as_http).map_err(|e| e.to_string())?;
        // A server the user named: reachable, private addresses included.
        let named_by_user = self.user.origins.contains(&origin);
        if !self.origins.contains(&origin) && !named_by_user {
            return Err(format!(
                "{origin} is not among the origins the adapter's manifest declares; {}",
                self.user.hint(&origin)
            ));
        }
        if headers.len() > MAX_HEADERS {
            return Err(format!("the request has {} headers; at most {MAX_HEADERS} headers", headers.len()));
        }
        let header_bytes: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        if header_bytes > MAX_HEADER_BYTES {
            return Err(format!("the request's headers hold {header_bytes} bytes; at most {MAX_HEADER_BYTES}"));
        }
        // Everything about the headers is checked before any secret is in them.
        for (name, value) in headers {
            check_header(name, value)?;
        }
        let mut filled = Vec::with_capacity(headers.len());
        let mut sign = None;
        for (name, value) in headers {
            if let Some(args) = value.trim().strip_prefix("{{volcengine-v4:").and_then(|v| v.strip_suffix("}}")) {
                if !name.eq_ignore_ascii_case("authorization") || sign.is_some() {
                    return Err("{{volcengine-v4:...}} is the whole value of one Authorization header".into());
                }
                sign = Some(self.pending_v4(args, &origin)?);
                continue;
            }
            filled.push((name.clone(), self.fill(value, &origin)?));
        }
        if sign.is_some() {
            // The signer's own headers are the host's: what the adapter set would not match.
            filled.retain(|(n, _)| !["x-date", "x-content-sha256"].iter().any(|h| n.eq_ignore_ascii_case(h)));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("the take's deadline has passed".into());
        }
        let allowed = self.policy.allow_addresses.clone();
        let hint = self.user.hint(&origin);
        let resolve = Resolver { allowed, named_by_user, hint };
        Ok(Prepared { sign, url, origin, headers: filled, left, resolve })
    }

    fn exchange(&self, request: Request, deadline: Instant) -> std::result::Result<Response, String> {
        let method = request.method.to_ascii_uppercase();
        if !["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"].contains(&method.as_str()) {
            return Err(format!("method {:?} is not allowed", method.chars().take(32).collect::<String>()));
        }
        if request.body.len() > MAX_REQUEST_BODY {
            return Err(format!("the request body is larger than {} MiB", MAX_REQUEST_BODY >> 20));
        }
        let Prepared { sign, url, origin, mut headers, left, resolve } =
            self.prepare(&request.url, &request.headers, deadline)?;
        if let Some(pending) = sign {
            // The Host header as the HTTP client will send it: the port only when not the default.
            let host = match url.port() {
                Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                None => url.host_str().unwrap_or_default().to_owned(),
            };
            let mut seen = headers.clone();
            seen.push(("host".into(), host));
            let key = crate::signers::V4Key {
                access_key: &pending.access,
                secret_key: &pending.secret,
                region: &pending.region,
                service: &pending.service,
            };
            let stamp = crate::signers::stamp_now();
            let signed =
                crate::signers::sign_v4(&crate::signers::VOLCENGINE, &key, &method, &url, &seen, &request.body, &stamp);
            headers.extend(signed);
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("http-fetch takes http and https URLs, not {}", url.scheme()));
        }
        let resolver = move |netloc: &str| resolve.resolve(netloc);
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout_connect(CONNECT_TIMEOUT.min(left))
            .timeout_read(IO_TIMEOUT.min(left))
            .timeout_write(IO_TIMEOUT.min(left))
            .timeout(left)
            .resolver(resolver)
            .build();
        let mut call = agent.request(&method, url.as_str());
        for (name, value) in &headers {
            call = call.set(name, value);
        }
        let response = match call.send_bytes(&request.body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            // The message may name the URL, never the filled-in headers
            // (which were checked above; the redactor is the second line).
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
    use sha2::{Digest, Sha256};

    fn grant(name: &str, origins: &[&str]) -> SecretGrant {
        SecretGrant {
            name: name.into(),
            origins: origins.iter().map(|o| o.to_string()).collect(),
            to_user_servers: false,
        }
    }

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
            "192.0.0.8",
            "::1",
            "fd00::1",
            "fe80::1",
            "fec0::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            // IPv6 forms that embed a special IPv4 address.
            "::127.0.0.1",
            "::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::c0a8:101",
            "2002:7f00:1::1",
            "2002:a00:1::",
            "2001:0:7f00:1::",
            "2001:0:808:808:0:0:80ff:fffe", // Teredo, client 127.0.0.1 obscured
        ] {
            assert!(is_special(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "151.101.1.69", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1"] {
            assert!(!is_special(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn an_allowed_address_covers_its_ipv6_spellings_and_nothing_else() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(same_address(loopback, "127.0.0.1".parse().unwrap()));
        assert!(same_address(loopback, "::ffff:127.0.0.1".parse().unwrap()));
        assert!(!same_address(loopback, "::ffff:10.0.0.1".parse().unwrap()));
        assert!(!same_address(loopback, "2002:a00:1::".parse().unwrap()));
    }

    fn fetcher(grants: &[SecretGrant]) -> Fetcher {
        let mut policy = NetworkPolicy::default();
        policy.secrets.insert("TOKEN".into(), "s3cret-value".into());
        policy.secrets.insert("OTHER".into(), "nope-nope-nope".into());
        policy.secrets.insert("SHORT".into(), "abc".into());
        policy.secrets.insert("BROKEN".into(), "crlf-\r\n-value".into());
        let user = UserServers::default();
        Fetcher::new(&["https://a.example".into(), "https://b.example".into()], grants, user, Arc::new(policy), 1)
            .unwrap()
    }

    #[test]
    fn templates_fill_only_declared_secrets_for_their_origins() {
        let f = fetcher(&[
            grant("TOKEN", &["https://a.example"]),
            grant("SHORT", &["https://a.example"]),
            grant("BROKEN", &["https://a.example"]),
        ]);
        let a = Origin::parse("https://a.example").unwrap();
        let b = Origin::parse("https://b.example").unwrap();
        assert_eq!(f.fill("Bearer {{secret:TOKEN}}", &a).unwrap(), "Bearer s3cret-value");
        assert!(f.fill("{{secret:TOKEN}}", &b).unwrap_err().contains("may be sent only to https://a.example:443"));
        assert!(f.fill("{{secret:OTHER}}", &a).unwrap_err().contains("not declared"));
        assert!(f.fill("{{secret:SHORT}}", &a).unwrap_err().contains("shorter than 8"));
        let broken = f.fill("{{secret:BROKEN}}", &a).unwrap_err();
        assert!(broken.contains("cannot carry") && !broken.contains("crlf-"), "{broken}");
        assert!(f.fill("{{secret:TOKEN", &a).is_err());
        assert!(f.fill("{{env:HOME}}", &a).unwrap_err().contains("unknown template"));
        assert!(f.has_secret("TOKEN") && !f.has_secret("OTHER"));
    }

    #[test]
    fn signed_tokens_are_reused_and_redacted() {
        let f = fetcher(&[grant("TOKEN", &["https://a.example"]), grant("OTHER", &["https://a.example"])]);
        let a = Origin::parse("https://a.example").unwrap();
        let first = f.fill("{{kling-jwt:TOKEN,OTHER}}", &a).unwrap();
        assert_eq!(f.fill("{{kling-jwt:TOKEN,OTHER}}", &a).unwrap(), first);
        let payload = first.split('.').nth(1).unwrap();
        let echoed = f.redact(format!("token {first} payload {payload} key s3cret-value"));
        assert!(!echoed.contains(payload) && !echoed.contains("s3cret-value"), "{echoed}");
    }

    /// A server on 127.0.0.1 for `n` requests, each answered by `answer`
    /// from the request's head and body.
    fn serve(
        n: usize,
        answer: impl Fn(&str, &[u8]) -> (u16, Vec<u8>) + Send + 'static,
    ) -> (String, std::thread::JoinHandle<()>) {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let handle = std::thread::spawn(move || {
            for _ in 0..n {
                let (mut stream, _) = listener.accept().unwrap();
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                let end = loop {
                    let got = stream.read(&mut buf).unwrap();
                    seen.extend_from_slice(&buf[..got]);
                    let text = String::from_utf8_lossy(&seen).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                            })
                            .map_or(0, |v| v.parse::<usize>().unwrap());
                        if seen.len() >= end + 4 + length || got == 0 {
                            break end;
                        }
                    }
                };
                let head = String::from_utf8_lossy(&seen[..end]).to_string();
                let (status, body) = answer(&head, &seen[end + 4..]);
                let reply =
                    format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                stream.write_all(reply.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
            }
        });
        (origin, handle)
    }

    /// A server that answers one request with the request as it arrived.
    fn echo_server() -> (String, std::thread::JoinHandle<()>) {
        serve(1, |head, body| (200, [head.as_bytes(), b"\r\n\r\n", body].concat()))
    }

    /// The values of header `name` in a request's head.
    fn header_in(head: &str, name: &str) -> Vec<String> {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    #[test]
    fn a_google_service_account_is_traded_for_a_token_once() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let status = std::process::Command::new("openssl")
            .args(["genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(status.success());
        // Google's token endpoint as its docs describe it: a form with the
        // jwt-bearer grant; a token and its lifetime back, or an error object.
        let (token_origin, token_server) = serve(2, |head, body| {
            let form = String::from_utf8_lossy(body).to_string();
            assert!(head.starts_with("POST /token "), "{head}");
            assert_eq!(header_in(head, "content-type"), ["application/x-www-form-urlencoded"]);
            if !form.starts_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=") {
                return (
                    400,
                    br#"{"error":"unsupported_grant_type","error_description":"Invalid grant_type"}"#.to_vec(),
                );
            }
            if form.matches('.').count() != 2 {
                return (400, br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#.to_vec());
            }
            (200, br#"{"access_token":"ya29.local-test-token","expires_in":3599,"token_type":"Bearer"}"#.to_vec())
        });
        let (api, api_server) = serve(2, |head, _| (200, header_in(head, "authorization").join("|").into_bytes()));
        // A fetcher reaching `api` (on 127.0.0.1) with the key file as secret GOOGLE_SA.
        let fetcher = || {
            let account = serde_json::json!({
                "type": "service_account",
                "client_email": "render@studio.iam.gserviceaccount.com",
                "private_key": std::fs::read_to_string(&key).unwrap(),
                "token_uri": format!("{token_origin}/token"),
            });
            let mut policy = NetworkPolicy::default();
            policy.allow_addresses.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
            policy.secrets.insert("GOOGLE_SA".into(), account.to_string());
            let grants = [grant("GOOGLE_SA", &[&api])];
            Fetcher::new(std::slice::from_ref(&api), &grants, UserServers::default(), Arc::new(policy), 1 << 20)
                .unwrap()
        };
        let f = fetcher();
        let call = || Request {
            method: "POST".into(),
            url: format!("{api}/v1/projects/p/locations/us-central1/publishers/google/models/veo:predictLongRunning"),
            headers: vec![(
                "Authorization".into(),
                "Bearer {{google-oauth:GOOGLE_SA,https://www.googleapis.com/auth/cloud-platform}}".into(),
            )],
            body: b"{}".to_vec(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let first = f.fetch(call(), deadline).unwrap();
        // The token reached the API, and what came back has it redacted.
        assert_eq!(String::from_utf8(first.body).unwrap(), "Bearer [secret GOOGLE_SA]");
        let second = f.fetch(call(), deadline).unwrap();
        assert_eq!(second.status, 200);
        api_server.join().unwrap();
        // Two calls made one exchange: the endpoint's second answer is still
        // there for a new fetcher (a new process), which trades again.
        let f = fetcher();
        let origin = Origin::parse(&api).unwrap();
        assert_eq!(f.fill("{{google-oauth:GOOGLE_SA,scope}}", &origin).unwrap(), "ya29.local-test-token");
        token_server.join().unwrap();
        // Not granted to this origin: refused before any exchange.
        let elsewhere = Origin::parse("https://a.example").unwrap();
        assert!(f.fill("{{google-oauth:GOOGLE_SA,scope}}", &elsewhere).unwrap_err().contains("may be sent only to"));
    }

    #[test]
    fn a_volcengine_signature_covers_the_request_as_sent() {
        let (origin, server) = echo_server();
        let mut policy = NetworkPolicy::default();
        policy.allow_addresses.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
        policy.secrets.insert("VOLC_AK".into(), "AKLTexample-access".into());
        policy.secrets.insert("VOLC_SK".into(), "example-secret-key".into());
        let grants = [grant("VOLC_AK", &[&origin]), grant("VOLC_SK", &[&origin])];
        let f = Fetcher::new(std::slice::from_ref(&origin), &grants, UserServers::default(), Arc::new(policy), 1 << 20)
            .unwrap();
        let body = br#"{"req_key":"jimeng_vgfm_i2v_l20"}"#.to_vec();
        let request = Request {
            method: "POST".into(),
            url: format!("{origin}/?Action=CVSync2AsyncSubmitTask&Version=2022-08-31"),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Date".into(), "19990101T000000Z".into()),
                ("Authorization".into(), "{{volcengine-v4:VOLC_AK,VOLC_SK,cn-north-1,cv}}".into()),
            ],
            body: body.clone(),
        };
        let response = f.fetch(request, Instant::now() + Duration::from_secs(10)).unwrap();
        server.join().unwrap();
        let seen = String::from_utf8(response.body).unwrap();
        let (head, sent_body) = seen.split_once("\r\n\r\n").unwrap();
        assert_eq!(sent_body.as_bytes(), body);
        let header = |name: &str| header_in(head, name);
        let date = header("x-date");
        assert_eq!(date.len(), 1, "the adapter's X-Date gave way to the host's: {head}");
        assert_ne!(date[0], "19990101T000000Z");
        assert_eq!(header("x-content-sha256"), [crate::signers::hex(&Sha256::digest(&body))]);
        let auth = header("authorization");
        assert_eq!(auth.len(), 1, "{head}");
        assert!(
            // The echo came back through the redactor, which hides the access key.
            auth[0].starts_with(&format!(
                "HMAC-SHA256 Credential=[secret VOLC_AK]/{}/cn-north-1/cv/request, ",
                &date[0][..8]
            )),
            "{}",
            auth[0]
        );
        assert!(auth[0].contains("SignedHeaders=content-type;host;x-content-sha256;x-date, "), "{}", auth[0]);
        // Signed again over what the server received, the signature is the same.
        let url = url::Url::parse(&format!("{origin}/?Action=CVSync2AsyncSubmitTask&Version=2022-08-31")).unwrap();
        let received: Vec<(String, String)> =
            ["host", "content-type"].iter().map(|n| (n.to_string(), header(n)[0].clone())).collect();
        let key = crate::signers::V4Key {
            access_key: "AKLTexample-access",
            secret_key: "example-secret-key",
            region: "cn-north-1",
            service: "cv",
        };
        let again =
            crate::signers::sign_v4(&crate::signers::VOLCENGINE, &key, "POST", &url, &received, &body, &date[0]);
        assert_eq!(again.last().unwrap().1.replace("AKLTexample-access", "[secret VOLC_AK]"), auth[0]);
        // Only in an Authorization header, and never over a WebSocket.
        let misplaced = f.prepare(
            &origin,
            &[("X-Auth".into(), "{{volcengine-v4:VOLC_AK,VOLC_SK,cn-north-1,cv}}".into())],
            Instant::now() + Duration::from_secs(5),
        );
        assert!(misplaced.err().unwrap().contains("Authorization"));
    }

    #[test]
    fn headers_are_checked_before_anything_is_filled_in() {
        assert!(check_header("bad name", "x").unwrap_err().contains("not a valid HTTP token"));
        assert!(check_header("x-a", "a\r\nb").unwrap_err().contains("control character"));
        assert!(check_header("x-a", "a\u{7f}").unwrap_err().contains("control character"));
        for name in ["Host", "content-length", "Transfer-Encoding", "proxy-foo", "Connection"] {
            assert!(check_header(name, "x").unwrap_err().contains("set by the host"), "{name}");
        }
        assert!(check_header("authorization", "Bearer {{secret:TOKEN}}").is_ok());
    }

    #[test]
    fn the_redactor_finds_every_encoding_at_every_alignment() {
        let mut r = Redactor::default();
        let secret = "sk-Ab+/cd=EFgh1234";
        r.add(secret.as_bytes(), "KEY");
        for prefix in ["", "a", "ab", "abc"] {
            let text = format!("{prefix}{secret}tail");
            for enc in
                [mattebox_core::base64::encode(text.as_bytes()), mattebox_core::base64::encode_url(text.as_bytes())]
            {
                let out = r.text(enc.clone());
                assert!(out.contains("[secret KEY]"), "{prefix:?}: {enc} -> {out}");
            }
        }
        for spelled in [secret.to_owned(), secret.replace('/', "\\/"), "sk-Ab%2B%2Fcd%3DEFgh1234".into()] {
            assert_eq!(r.text(format!("<{spelled}>")), "<[secret KEY]>", "{spelled}");
        }
        assert_eq!(r.text("nothing here".into()), "nothing here");
    }
}
