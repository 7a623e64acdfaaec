//! Credentials the host makes from the user's secrets, so that no secret
//! enters an adapter:
//!
//! - Kling's API token: a JWT (HS256) from the access key and secret key;
//! - Volcengine's signature V4 (Jimeng and Seedance on Volcengine's visual
//!   API): an HMAC-SHA256 chain over the canonical request, the scheme AWS
//!   published as Signature V4 with Volcengine's names, so it is checked
//!   against AWS's published test suite with AWS's names.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use mattebox_core::base64::encode_url as base64url;
use sha2::{Digest, Sha256};

/// Seconds a token stays valid (Kling's examples use 30 minutes).
const LIFETIME: u64 = 1800;

/// A token for `access_key`, signed with `secret_key`, valid from `now - 5`
/// to `now + 1800` (Unix seconds).
pub(crate) fn kling_token_at(access_key: &str, secret_key: &str, now: u64) -> String {
    let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({ "iss": access_key, "exp": now + LIFETIME, "nbf": now.saturating_sub(5) });
    let payload = base64url(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", base64url(&mac.finalize().into_bytes()))
}

/// A token valid from now.
pub(crate) fn kling_token(access_key: &str, secret_key: &str) -> String {
    kling_token_at(access_key, secret_key, unix_now())
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The names one vendor gives the parts of a V4 signature.
#[derive(Clone, Copy, Debug)]
pub(crate) struct V4Names {
    /// First word of the Authorization header and of the string to sign.
    algorithm: &'static str,
    /// Put before the secret to make the first key.
    key_prefix: &'static str,
    /// Last part of the credential scope.
    terminator: &'static str,
    /// The header that carries the time (lower case).
    date_header: &'static str,
    /// The header that carries the body's SHA-256, when the vendor signs one.
    content_header: Option<&'static str>,
}

/// Volcengine's OpenAPI signature.
pub(crate) const VOLCENGINE: V4Names = V4Names {
    algorithm: "HMAC-SHA256",
    key_prefix: "",
    terminator: "request",
    date_header: "x-date",
    content_header: Some("x-content-sha256"),
};

/// One signing: who, where and when.
pub(crate) struct V4Key<'a> {
    pub(crate) access_key: &'a str,
    pub(crate) secret_key: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decoding (a `+` stays a `+`: the query is not a form here).
fn uri_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_at = |j: usize| bytes.get(j).and_then(|&c| (c as char).to_digit(16));
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (hex_at(i + 1), hex_at(i + 2))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The canonical query: every name and value decoded, encoded again the
/// one way, sorted by name then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let enc = |t: &str| uri_encode(&String::from_utf8_lossy(&uri_decode(t)), false);
            (enc(k), enc(v))
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// UTC `YYYYMMDDTHHMMSSZ` for Unix seconds `now` (days to civil date after
/// Howard Hinnant's algorithm).
fn iso_basic(now: u64) -> String {
    let (days, secs) = ((now / 86_400) as i64, now % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Signs a request at `stamp` (UTC, `YYYYMMDDTHHMMSSZ`). `headers` are the request's (the
/// host's own `host` among them); the ones to sign are `host`,
/// `content-type` and the vendor's date and content headers. Returns the
/// headers to add: the date, the content hash when the vendor signs one,
/// and `authorization`.
pub(crate) fn sign_v4_at(
    names: &V4Names,
    key: &V4Key<'_>,
    method: &str,
    url: &url::Url,
    headers: &[(String, String)],
    body: &[u8],
    stamp: &str,
) -> Vec<(String, String)> {
    let stamp = stamp.to_owned();
    let date = &stamp[..8.min(stamp.len())];
    let payload = hex(&Sha256::digest(body));
    let mut added = vec![(names.date_header.to_owned(), stamp.clone())];
    if let Some(content) = names.content_header {
        added.push((content.to_owned(), payload.clone()));
    }
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .chain(&added)
        .map(|(n, v)| (n.to_ascii_lowercase(), v.split_whitespace().collect::<Vec<_>>().join(" ")))
        .filter(|(n, _)| {
            n == "host" || n == "content-type" || n == names.date_header || Some(n.as_str()) == names.content_header
        })
        .collect();
    signed.sort();
    let canonical_headers: String = signed.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed_names = signed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    let path = if url.path().is_empty() {
        "/".to_owned()
    } else {
        uri_encode(&String::from_utf8_lossy(&uri_decode(url.path())), true)
    };
    let canonical_request = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{signed_names}\n{payload}",
        canonical_query(url.query().unwrap_or(""))
    );
    let scope = format!("{date}/{}/{}/{}", key.region, key.service, names.terminator);
    let to_sign =
        format!("{}\n{stamp}\n{scope}\n{}", names.algorithm, hex(&Sha256::digest(canonical_request.as_bytes())));
    let mut k = hmac(format!("{}{}", names.key_prefix, key.secret_key).as_bytes(), date.as_bytes());
    for part in [key.region, key.service, names.terminator] {
        k = hmac(&k, part.as_bytes());
    }
    let signature = hex(&hmac(&k, to_sign.as_bytes()));
    added.push((
        "authorization".to_owned(),
        format!(
            "{} Credential={}/{scope}, SignedHeaders={signed_names}, Signature={signature}",
            names.algorithm, key.access_key
        ),
    ));
    added
}

/// [`sign_v4_at`] now.
pub(crate) fn sign_v4(
    names: &V4Names,
    key: &V4Key<'_>,
    method: &str,
    url: &url::Url,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<(String, String)> {
    sign_v4_at(names, key, method, url, headers, body, &iso_basic(unix_now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_matches_an_independent_signer() {
        // Made with Python's hmac, base64 and json (sort_keys) modules for the same inputs.
        let token = kling_token_at("AK", "SK", 1_700_000_000);
        assert_eq!(
            token,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDE4MDAsImlzcyI6IkFLIiwibmJmIjoxNjk5OTk5OTk1fQ.\
             U7T-REDerYjObRglA6IqM4tcqGmGmR9u3Ge9jpgZFWA"
        );
    }

    /// AWS's names, to run AWS's published Signature V4 test suite.
    const AWS: V4Names = V4Names {
        algorithm: "AWS4-HMAC-SHA256",
        key_prefix: "AWS4",
        terminator: "aws4_request",
        date_header: "x-amz-date",
        content_header: None,
    };

    fn aws(method: &str, url: &str, body: &[u8]) -> String {
        let key = V4Key {
            access_key: "AKIDEXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "service",
        };
        let url = url::Url::parse(url).unwrap();
        let host = vec![("Host".to_owned(), url.host_str().unwrap().to_owned())];
        // 2015-08-30T12:36:00Z, the suite's time.
        let added = sign_v4_at(&AWS, &key, method, &url, &host, body, &iso_basic(1_440_938_160));
        assert_eq!(added[0], ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()));
        added.last().unwrap().1.clone()
    }

    #[test]
    fn v4_matches_the_aws_test_suite() {
        let prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                      SignedHeaders=host;x-amz-date, Signature=";
        // get-vanilla
        assert_eq!(
            aws("GET", "https://example.amazonaws.com/", b""),
            format!("{prefix}5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        );
        // get-vanilla-query-order-key-case: the query is sorted before signing.
        assert_eq!(
            aws("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", b""),
            format!("{prefix}b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
        );
    }

    #[test]
    fn dates_and_encodings_are_canonical() {
        assert_eq!(iso_basic(0), "19700101T000000Z");
        assert_eq!(iso_basic(951_782_400), "20000229T000000Z", "a leap day");
        assert_eq!(iso_basic(1_585_729_085), "20200401T081805Z");
        assert_eq!(canonical_query("b=2&a=%7e x&A=+"), "A=%2B&a=~%20x&b=2");
        assert_eq!(uri_encode("/a b/ü", true), "/a%20b/%C3%BC");
    }
}
