//! Credentials the host makes from the user's secrets, so that no secret
//! enters an adapter:
//!
//! - Kling's API token: a JWT (HS256) from the access key and secret key;
//! - Volcengine's signature V4 (Jimeng and Seedance on Volcengine's visual
//!   API): an HMAC-SHA256 chain over the canonical request, the scheme AWS
//!   published as Signature V4 with Volcengine's names, so it is checked
//!   against AWS's published test suite with AWS's names;
//! - Google's OAuth access token for a service account (Vertex AI): an
//!   RS256 assertion signed with the account's private key, exchanged at
//!   the account's token endpoint (the exchange itself is `http.rs`'s).

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
    format!("{signing_input}.{}", base64url(&hmac(secret_key.as_bytes(), signing_input.as_bytes())))
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

pub(crate) fn hex(bytes: &[u8]) -> String {
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
pub(crate) fn sign_v4(
    names: &V4Names,
    key: &V4Key<'_>,
    method: &str,
    url: &url::Url,
    headers: &[(String, String)],
    body: &[u8],
    stamp: &str,
) -> Vec<(String, String)> {
    let date = &stamp[..8.min(stamp.len())];
    let payload = hex(&Sha256::digest(body));
    let mut added = vec![(names.date_header.to_owned(), stamp.to_owned())];
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

/// Now, as [`sign_v4`] takes it.
pub(crate) fn stamp_now() -> String {
    iso_basic(unix_now())
}

/// A Google service account, from the JSON key file Google hands out.
pub(crate) struct ServiceAccount {
    pub(crate) client_email: String,
    pub(crate) token_uri: String,
    key_id: String,
    key: ring::signature::RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("ServiceAccount").field("client_email", &self.client_email).finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads a key file's JSON. Messages never quote the key.
    pub(crate) fn parse(json: &str) -> std::result::Result<ServiceAccount, String> {
        #[derive(serde::Deserialize)]
        struct KeyFile {
            #[serde(rename = "type")]
            kind: String,
            client_email: String,
            private_key: String,
            #[serde(default)]
            private_key_id: String,
            #[serde(default = "default_token_uri")]
            token_uri: String,
        }
        fn default_token_uri() -> String {
            "https://oauth2.googleapis.com/token".into()
        }
        let file: KeyFile = serde_json::from_str(json).map_err(|e| {
            format!(
                "it is not a service-account key file (JSON with type, client_email, private_key): line {}",
                e.line()
            )
        })?;
        if file.kind != "service_account" {
            return Err(format!(
                "its type is {:?}, not \"service_account\"",
                file.kind.chars().take(32).collect::<String>()
            ));
        }
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(file.private_key.as_bytes())
            .map_err(|_| "its private_key is not a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----)".to_owned())?;
        let key = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| format!("its private_key is not an RSA key ring accepts ({e})"))?;
        Ok(ServiceAccount {
            client_email: file.client_email,
            token_uri: file.token_uri,
            key_id: file.private_key_id,
            key,
        })
    }

    /// The signed assertion asking for `scope`, issued at Unix time `now`,
    /// valid for an hour (Google's longest).
    pub(crate) fn assertion_at(&self, scope: &str, now: u64) -> std::result::Result<String, String> {
        let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": self.key_id });
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": scope,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let signing_input =
            format!("{}.{}", base64url(header.to_string().as_bytes()), base64url(claims.to_string().as_bytes()));
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the assertion failed".to_owned())?;
        Ok(format!("{signing_input}.{}", base64url(&signature)))
    }

    /// [`ServiceAccount::assertion_at`] now.
    pub(crate) fn assertion(&self, scope: &str) -> std::result::Result<String, String> {
        self.assertion_at(scope, unix_now())
    }
}

/// The form body that trades an assertion for an access token (RFC 7523).
pub(crate) fn token_request_body(assertion: &str) -> String {
    format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}")
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
        let added = sign_v4(&AWS, &key, method, &url, &host, body, &iso_basic(1_440_938_160));
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

    /// A fresh RSA key from the `openssl` program, as a service-account key
    /// file, with the key's public half in PEM.
    fn service_account(dir: &std::path::Path) -> (String, std::path::PathBuf) {
        let key = dir.join("key.pem");
        let public = dir.join("public.pem");
        let run = |args: &[&str]| {
            let status = std::process::Command::new("openssl").args(args).status().expect("openssl runs");
            assert!(status.success(), "openssl {args:?}");
        };
        run(&[
            "genpkey",
            "-quiet",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            key.to_str().unwrap(),
        ]);
        run(&["pkey", "-in", key.to_str().unwrap(), "-pubout", "-out", public.to_str().unwrap()]);
        let json = serde_json::json!({
            "type": "service_account",
            "client_email": "render@studio.iam.gserviceaccount.com",
            "private_key_id": "k1",
            "private_key": std::fs::read_to_string(&key).unwrap(),
            "token_uri": "https://oauth2.googleapis.com/token",
        });
        (json.to_string(), public)
    }

    #[test]
    fn a_service_account_assertion_verifies_with_openssl() {
        let dir = tempfile::tempdir().unwrap();
        let (json, public) = service_account(dir.path());
        let account = ServiceAccount::parse(&json).unwrap();
        let jwt = account.assertion_at("https://www.googleapis.com/auth/cloud-platform", 1_700_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |t: &str| {
            // base64url without padding, decoded by openssl's base64 after translating the alphabet.
            let std: String = t
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .collect();
            let padded = format!("{std}{}", "=".repeat((4 - std.len() % 4) % 4));
            let file = dir.path().join("b64");
            std::fs::write(&file, padded).unwrap();
            let out =
                std::process::Command::new("openssl").args(["base64", "-d", "-A", "-in"]).arg(&file).output().unwrap();
            out.stdout
        };
        let claims: serde_json::Value = serde_json::from_slice(&decode(parts[1])).unwrap();
        assert_eq!(claims["iss"], "render@studio.iam.gserviceaccount.com");
        assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
        assert_eq!((claims["iat"].as_u64(), claims["exp"].as_u64()), (Some(1_700_000_000), Some(1_700_003_600)));
        // An independent verifier: openssl, over the signing input, with the public key.
        std::fs::write(dir.path().join("input"), format!("{}.{}", parts[0], parts[1])).unwrap();
        std::fs::write(dir.path().join("sig"), decode(parts[2])).unwrap();
        let verify = |input: &str| {
            std::process::Command::new("openssl")
                .args(["dgst", "-sha256", "-verify"])
                .arg(&public)
                .arg("-signature")
                .arg(dir.path().join("sig"))
                .arg(dir.path().join(input))
                .output()
                .unwrap()
                .status
                .success()
        };
        assert!(verify("input"), "openssl verifies the signature");
        std::fs::write(dir.path().join("forged"), format!("{}.{}x", parts[0], parts[1])).unwrap();
        assert!(!verify("forged"), "and refuses it over other bytes");
    }

    #[test]
    fn bad_key_files_are_refused_without_quoting_the_key() {
        assert!(ServiceAccount::parse("not json").unwrap_err().contains("not a service-account key file"));
        let user = r#"{"type":"authorized_user","client_email":"a","private_key":"x"}"#;
        assert!(ServiceAccount::parse(user).unwrap_err().contains("authorized_user"));
        let bad = r#"{"type":"service_account","client_email":"a","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#;
        let err = ServiceAccount::parse(bad).unwrap_err();
        assert!(err.contains("private_key") && !err.contains("AAAA"), "{err}");
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
