//! `adapter.toml`: what an adapter is and what it may do.
//!
//! ```toml
//! id = "kling"
//! name = "Kling"
//! version = "0.1.0"
//! wit = "mattebox:generator@0.1.0"
//! component = "kling.wasm"          # beside this file
//!
//! [network]
//! origins = ["https://api.klingai.com"]
//!
//! [secrets]
//! names = ["KLING_ACCESS_KEY", "KLING_SECRET_KEY"]
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

/// The WIT package this host implements.
pub const WIT_PACKAGE: &str = "mattebox:generator@0.1.0";
/// The manifest's file name.
pub const MANIFEST_NAME: &str = "adapter.toml";

/// Network access an adapter asks for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Origins (`https://host[:port]`) `http-fetch` may reach, exactly.
    #[serde(default)]
    pub origins: Vec<String>,
}

/// Secrets an adapter's requests may carry (by template, never by value).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// Names of the secrets (`KLING_ACCESS_KEY`).
    #[serde(default)]
    pub names: Vec<String>,
}

/// Limits an adapter asks for (the host caps each).
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory_mib: 256, deadline_seconds: 600, concurrent: 2, response_mib: 256, log_kib: 256 }
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
    /// Secrets.
    #[serde(default)]
    pub secrets: Secrets,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("{}: {why}", path.display()))
}

impl Manifest {
    /// Reads and checks the manifest at `path` (an `adapter.toml`, or the
    /// directory holding one).
    pub fn load(path: &Path) -> Result<(Manifest, PathBuf)> {
        let file = if path.is_dir() { path.join(MANIFEST_NAME) } else { path.to_owned() };
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, "read the adapter manifest", e))?;
        let manifest = Manifest::parse(&text).map_err(|e| e.context(file.display()))?;
        let dir = file.parent().map(Path::to_owned).unwrap_or_default();
        Ok((manifest, dir))
    }

    /// Parses and checks manifest text.
    pub fn parse(text: &str) -> Result<Manifest> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| Error::invalid_argument(format!("not a valid adapter manifest: {e}")))?;
        manifest.check()?;
        Ok(manifest)
    }

    fn check(&self) -> Result<()> {
        let here = Path::new("adapter.toml");
        if self.id.is_empty()
            || self.id.len() > 64
            || !self.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(here, format!("id {:?} must be 1-64 lowercase letters, digits or '-'", self.id)));
        }
        if self.id == "builtin" {
            return Err(bad(here, "the id \"builtin\" belongs to Mattebox's own generator"));
        }
        if self.wit != WIT_PACKAGE {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("adapter {} was built for {}; this Mattebox runs {WIT_PACKAGE}", self.id, self.wit),
            ));
        }
        if self.component.is_absolute() || self.component.components().any(|c| c.as_os_str() == "..") {
            return Err(bad(here, format!("component {:?} must be a file beside the manifest", self.component)));
        }
        for origin in &self.network.origins {
            crate::http::Origin::parse(origin).map_err(|e| e.context(format!("network origin {origin:?}")))?;
        }
        for name in &self.secrets.names {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
                return Err(bad(here, format!("secret name {name:?} must be UPPER_CASE letters, digits or '_'")));
            }
        }
        let l = &self.limits;
        if l.memory_mib == 0 || l.deadline_seconds == 0 || l.concurrent == 0 || l.response_mib == 0 {
            return Err(bad(here, "limits must be above zero"));
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
        [network]
        origins = ["https://api.klingai.com", "http://127.0.0.1:8080"]
        [secrets]
        names = ["KLING_ACCESS_KEY"]
        [limits]
        memory_mib = 128
    "#;

    #[test]
    fn a_good_manifest_parses_with_defaults() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.limits.memory_mib, 128);
        assert_eq!(m.limits.deadline_seconds, Limits::default().deadline_seconds);
        assert_eq!(m.network.origins.len(), 2);
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
            (GOOD.replace("memory_mib = 128", "memory_mib = 0"), "above zero"),
            (GOOD.replace("[limits]", "[limits]\nsurprise = 1"), "unknown field"),
        ];
        for (text, says) in cases {
            let err = Manifest::parse(&text).unwrap_err();
            assert!(err.to_string().contains(says), "{says}: {err}");
        }
    }
}
