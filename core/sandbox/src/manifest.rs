//! `adapter.toml`: what an adapter is and what it may do.
//!
//! ```toml
//! id = "kling"
//! name = "Kling"
//! version = "0.1.0"
//! wit = "mattebox:generator@0.1.0"
//! component = "kling.wasm"          # beside this file
//!
//! # Each secret goes only to the origins named with it.
//! secrets = [
//!   { name = "KLING_ACCESS_KEY", origins = ["https://api.klingai.com"] },
//!   { name = "KLING_SECRET_KEY", origins = ["https://api.klingai.com"] },
//! ]
//!
//! [network]
//! origins = ["https://api.klingai.com", "https://cdn.klingai.com"]
//!
//! [limits]
//! memory_mib = 256
//! deadline_seconds = 900
//! concurrent = 2
//! ```
//!
//! Everything the sandbox allows comes from here, capped by the host's
//! policy; nothing else is reachable.

use std::path::{Path, PathBuf};

use mattebox_core::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// Largest manifest read, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 10;

/// The WIT package this host implements; adapters built for 0.1.x run
/// unchanged (the host implements that world too).
pub const WIT_PACKAGE: &str = "mattebox:generator@0.2.1";
/// [`WIT_PACKAGE`]'s version.
pub(crate) const WIT_VERSION: &str = "0.2.1";
/// The WIT packages an adapter's manifest may name.
const WIT_ACCEPTED: [&str; 4] =
    ["mattebox:generator@0.1.0", "mattebox:generator@0.1.1", "mattebox:generator@0.2.0", "mattebox:generator@0.2.1"];
/// The manifest's file name.
pub const MANIFEST_NAME: &str = "adapter.toml";

/// Network access an adapter asks for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Origins (`https://host[:port]`) `http-fetch` may reach, exactly.
    #[serde(default)]
    pub origins: Vec<String>,
    /// Extras that name a server of the user's (ComfyUI's `server`): an
    /// address the user sets for one of them in the adapter's settings
    /// (`mattebox plugin config ID KEY=URL`) becomes reachable too, private
    /// and loopback addresses included. A request's own extras grant
    /// nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_extras: Vec<String>,
}

/// A secret an adapter's requests may carry (by template, never by value),
/// and the only origins it may go to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretGrant {
    /// The secret's name (`KLING_ACCESS_KEY`); the user sets its value as
    /// `MATTEBOX_SECRET_<NAME>`.
    pub name: String,
    /// Origins (each also in `network.origins`) the secret may be sent to.
    #[serde(default)]
    pub origins: Vec<String>,
    /// Whether it may also go to the servers the user names in the
    /// adapter's settings (see [`Network::server_extras`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub to_user_servers: bool,
}

/// Limits an adapter asks for (the user's [`crate::SandboxPolicy`] caps each).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory, MiB.
    pub memory_mib: u64,
    /// Wall-clock time per take, seconds.
    pub deadline_seconds: u64,
    /// Takes at once, across jobs.
    pub concurrent: usize,
    /// Largest HTTP response body, MiB.
    pub response_mib: u64,
    /// Log bytes per take.
    pub log_kib: u64,
    /// Takes one `generate` call may make (a vendor's samples of one
    /// request, handed over with `next-take`; contract 0.2.1), at most
    /// [`mattebox_core::generate::MAX_TAKES`]. The deadline and memory are
    /// the call's.
    pub takes_per_call: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 256,
            deadline_seconds: 600,
            concurrent: 2,
            response_mib: 256,
            log_kib: 256,
            takes_per_call: 1,
        }
    }
}

/// A parsed, checked `adapter.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Stable identifier (lowercase letters, digits, `-`).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// The adapter's version.
    pub version: String,
    /// The WIT package it was built against.
    pub wit: String,
    /// The component file, relative to the manifest.
    pub component: PathBuf,
    /// Network access.
    #[serde(default)]
    pub network: Network,
    /// Secrets, each bound to its origins.
    #[serde(default)]
    pub secrets: Vec<SecretGrant>,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
}

/// Longest adapter name, in bytes.
pub(crate) const MAX_NAME_BYTES: usize = 200;

fn bad(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("{}: {why}", path.display()))
}

impl Manifest {
    /// Reads and checks the manifest at `path` (an `adapter.toml`, or the
    /// directory holding one).
    /// The file must be a regular file (not a device, FIFO or a link out of
    /// its folder) of at most [`MAX_MANIFEST_BYTES`].
    pub fn load(path: &Path) -> Result<(Manifest, PathBuf)> {
        let file = if path.is_dir() { path.join(MANIFEST_NAME) } else { path.to_owned() };
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let bytes = mattebox_core::files::read_inside(&file, &dir, MAX_MANIFEST_BYTES, "adapter manifest")?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::invalid_argument(format!("{}: the manifest is not UTF-8 text", file.display())))?;
        let manifest = Manifest::parse(&text).map_err(|e| e.context(file.display()))?;
        Ok((manifest, dir))
    }

    /// Parses and checks manifest text.
    pub fn parse(text: &str) -> Result<Manifest> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            if text.contains("[secrets]") {
                return Error::invalid_argument(
                    "not a valid adapter manifest: `[secrets] names = [...]` was the first form; bind each \
                     secret to the origins it may go to: secrets = [{ name = \"API_KEY\", origins = \
                     [\"https://api.example.com\"] }]",
                );
            }
            Error::invalid_argument(format!("not a valid adapter manifest: {e}"))
        })?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Checks a user's setting for this adapter: one for an extra that names
    /// a server must be a server's address (its origin becomes reachable).
    /// Returns that origin, if it is one.
    pub fn check_setting(
        &self,
        key: &str,
        setting: &mattebox_core::generate::Setting,
    ) -> Result<Option<crate::http::Origin>> {
        if !self.network.server_extras.iter().any(|k| k == key) {
            return Ok(None);
        }
        let id = &self.id;
        let mattebox_core::generate::Setting::Text(text) = setting else {
            return Err(Error::invalid_argument(format!(
                "adapter {id}: setting {key} names a server and takes its address, not a file"
            )));
        };
        url::Url::parse(text)
            .map_err(|e| e.to_string())
            .and_then(|u| crate::http::Origin::of(&u).map_err(|e| e.to_string()))
            .map(Some)
            .map_err(|why| {
                Error::invalid_argument(format!(
                    "adapter {id}: {key}={text:?} is not a server's address ({why}); give it as http://HOST:PORT \
                     (or https://)"
                ))
            })
    }

    /// The origins (as written) the secret `name` may go to.
    pub fn secret_origins(&self, name: &str) -> Option<&[String]> {
        self.secrets.iter().find(|g| g.name == name).map(|g| g.origins.as_slice())
    }

    fn check(&self) -> Result<()> {
        let here = Path::new("adapter.toml");
        mattebox_core::generate::check_adapter_id(&self.id).map_err(|e| bad(here, e.message()))?;
        if self.name.len() > MAX_NAME_BYTES || self.version.is_empty() || self.version.len() > 64 {
            return Err(bad(here, format!("name (at most {MAX_NAME_BYTES} bytes) and version (1-64) must be short")));
        }
        if !WIT_ACCEPTED.contains(&self.wit.as_str()) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("adapter {} was built for {}; this Mattebox runs {WIT_PACKAGE} and 0.1.x", self.id, self.wit),
            ));
        }
        if self.component.is_absolute() || self.component.components().any(|c| c.as_os_str() == "..") {
            return Err(bad(here, format!("component {:?} must be a file beside the manifest", self.component)));
        }
        for key in &self.network.server_extras {
            if key.is_empty() || key.len() > 64 {
                return Err(bad(here, format!("server extra {key:?} must be 1-64 characters")));
            }
        }
        let mut declared = Vec::new();
        for origin in &self.network.origins {
            declared
                .push(crate::http::Origin::parse(origin).map_err(|e| e.context(format!("network origin {origin:?}")))?);
        }
        for (i, grant) in self.secrets.iter().enumerate() {
            let name = &grant.name;
            if name.is_empty()
                || name.len() > 64
                || !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(bad(here, format!("secret name {name:?} must be UPPER_CASE letters, digits or '_'")));
            }
            if self.secrets[..i].iter().any(|g| g.name == *name) {
                return Err(bad(here, format!("secret {name} is listed twice")));
            }
            let reaches_user_servers = grant.to_user_servers && !self.network.server_extras.is_empty();
            if grant.origins.is_empty() && !reaches_user_servers {
                return Err(bad(here, format!("secret {name} names no origins it may be sent to")));
            }
            for origin in &grant.origins {
                let parsed = crate::http::Origin::parse(origin)
                    .map_err(|e| e.context(format!("secret {name}'s origin {origin:?}")))?;
                if !declared.contains(&parsed) {
                    return Err(bad(here, format!("secret {name}'s origin {origin} is not among network.origins")));
                }
            }
        }
        let l = &self.limits;
        if l.memory_mib == 0 || l.deadline_seconds == 0 || l.concurrent == 0 || l.response_mib == 0 {
            return Err(bad(here, "limits must be above zero"));
        }
        let most = mattebox_core::generate::MAX_TAKES;
        if l.takes_per_call == 0 || l.takes_per_call > most {
            return Err(bad(here, format!("limits.takes_per_call must be 1 to {most}")));
        }
        if l.takes_per_call > 1
            && matches!(
                self.wit.as_str(),
                "mattebox:generator@0.1.0" | "mattebox:generator@0.1.1" | "mattebox:generator@0.2.0"
            )
        {
            return Err(bad(
                here,
                format!(
                    "limits.takes_per_call needs contract 0.2.1 (next-take); {} has no way to hand over a second take",
                    self.wit
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        id = "kling"
        name = "Kling"
        version = "0.1.0"
        wit = "mattebox:generator@0.1.0"
        component = "kling.wasm"
        secrets = [{ name = "KLING_ACCESS_KEY", origins = ["https://api.klingai.com"] }]
        [network]
        origins = ["https://api.klingai.com", "http://127.0.0.1:8080"]
        [limits]
        memory_mib = 128
    "#;

    #[test]
    fn a_good_manifest_parses_with_defaults() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.limits.memory_mib, 128);
        assert_eq!(m.limits.deadline_seconds, Limits::default().deadline_seconds);
        assert_eq!(m.network.origins.len(), 2);
        assert_eq!(m.secret_origins("KLING_ACCESS_KEY").unwrap(), ["https://api.klingai.com"]);
    }

    #[test]
    fn bad_manifests_say_what_is_wrong() {
        let cases = [
            (GOOD.replace("id = \"kling\"", "id = \"Kling!\""), "lowercase"),
            (GOOD.replace("@0.1.0\"", "@9.0.0\""), "this Mattebox runs"),
            (GOOD.replace("\"kling.wasm\"", "\"../evil.wasm\""), "beside the manifest"),
            (GOOD.replace("https://api.klingai.com", "ftp://x"), "http or https"),
            (GOOD.replace("https://api.klingai.com", "https://a.com/path"), "no path"),
            (GOOD.replace("KLING_ACCESS_KEY", "bad name"), "UPPER_CASE"),
            (GOOD.replace("origins = [\"https://api.klingai.com\"] }", "origins = [] }"), "names no origins"),
            (GOOD.replace("origins = [\"https://api.klingai.com\"] }", "origins = [\"https://x.com\"] }"), "not among"),
            (
                GOOD.replace(
                    "secrets = [{ name = \"KLING_ACCESS_KEY\", origins = [\"https://api.klingai.com\"] }]",
                    "",
                )
                .replace("[limits]", "[secrets]\nnames = [\"A\"]\n[limits]"),
                "bind each secret",
            ),
            (GOOD.replace("memory_mib = 128", "memory_mib = 0"), "above zero"),
            (GOOD.replace("[limits]", "[limits]\nsurprise = 1"), "unknown field"),
        ];
        for (text, says) in cases {
            let err = Manifest::parse(&text).unwrap_err();
            assert!(err.to_string().contains(says), "{says}: {err}");
        }
    }
}
