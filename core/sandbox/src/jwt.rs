//! The API token Kling asks for: a JWT (HS256) the host signs from the
//! user's access key and secret key, so neither enters the adapter.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use mattebox_core::base64::encode_url as base64url;
use sha2::Sha256;

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
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    kling_token_at(access_key, secret_key, now)
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
}
