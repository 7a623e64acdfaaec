//! A user's settings for a generator adapter: extras every request to it
//! gets unless the request says otherwise (the ComfyUI server, a workflow
//! file), written once with `mattebox plugin config ID KEY=VALUE`.
//!
//! One TOML file per adapter, `<settings dir>/<id>.toml`:
//!
//! ```toml
//! [extras]
//! server = "http://127.0.0.1:8188"
//! workflow = { file = "/home/me/graphs/portrait.json" }
//! ```
//!
//! A `file` setting is read when a request is made, so editing the file
//! takes effect at the next take (and, since the request carries its text,
//! changes the take-cache key). Every host applies the same settings the
//! same way ([`AdapterSettings::apply`]; [`super::Generations::submit`] does
//! it for every request), so a take made from the command line is found by
//! an OFX host and the other way round. The sandbox also reads them: an
//! address the user names for an adapter's server is the only way that
//! adapter reaches a private or loopback address.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::shot::ShotRequest;

/// Largest settings file read.
const MAX_SETTINGS_BYTES: u64 = 1 << 20;
/// Largest file a `file` setting may name.
const MAX_SETTING_FILE_BYTES: u64 = 16 << 20;

/// Where adapter settings live: `$MATTEBOX_CONFIG_DIR/adapters`, else
/// `$XDG_CONFIG_HOME/mattebox/adapters`, else `~/.config/mattebox/adapters`;
/// `None` without a home.
pub fn default_settings_dir() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("MATTEBOX_CONFIG_DIR")
        .or_else(|| env("XDG_CONFIG_HOME").map(|d| d.join("mattebox")))
        .or_else(|| env("HOME").map(|h| h.join(".config").join("mattebox")))
        .map(|d| d.join("adapters"))
}

/// One setting's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Setting {
    /// Text, used as it is.
    Text(String),
    /// The text of a file, read when a request is made.
    File {
        /// The file (absolute).
        file: PathBuf,
    },
}

impl Setting {
    /// The text this setting gives a request; `key` names it in messages.
    pub fn text(&self, key: &str) -> Result<String> {
        match self {
            Setting::Text(text) => Ok(text.clone()),
            Setting::File { file } => {
                // The user's own file, wherever it leads: only its kind and size are checked.
                let bytes = crate::files::read_inside(file, Path::new("/"), MAX_SETTING_FILE_BYTES, "setting's file")
                    .map_err(|e| e.context(format!("adapter setting {key}")))?;
                String::from_utf8(bytes).map_err(|_| {
                    Error::invalid_argument(format!("adapter setting {key}: {} is not UTF-8 text", file.display()))
                })
            }
        }
    }
}

/// The settings of one adapter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterSettings {
    /// Extras each request gets unless it has its own.
    #[serde(default)]
    pub extras: BTreeMap<String, Setting>,
}

fn settings_file(dir: &Path, id: &str) -> Result<PathBuf> {
    super::check_adapter_id(id)?;
    Ok(dir.join(format!("{id}.toml")))
}

impl AdapterSettings {
    /// The settings of adapter `id` in `dir` (empty when it has none).
    pub fn load(dir: &Path, id: &str) -> Result<AdapterSettings> {
        let path = settings_file(dir, id)?;
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(AdapterSettings::default());
        }
        let bytes = crate::files::read_inside(&path, dir, MAX_SETTINGS_BYTES, "adapter settings")?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::invalid_argument(format!("{}: not UTF-8 text", path.display())))?;
        toml::from_str(text).map_err(|e| {
            Error::invalid_argument(format!(
                "{}: not valid adapter settings ({e}); fix it, or set them again with `mattebox plugin config {id}`",
                path.display()
            ))
        })
    }

    /// The settings of adapter `id` in the default directory (empty when
    /// there is none).
    pub fn load_default(id: &str) -> Result<AdapterSettings> {
        match default_settings_dir() {
            Some(dir) => AdapterSettings::load(&dir, id),
            None => Ok(AdapterSettings::default()),
        }
    }

    /// Writes these settings for adapter `id` into `dir` (replacing the
    /// file whole, or removing it when empty).
    pub fn save(&self, dir: &Path, id: &str) -> Result<PathBuf> {
        let path = settings_file(dir, id)?;
        if self.extras.is_empty() {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(&path, "remove the adapter settings", e));
                }
                _ => return Ok(path),
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the settings directory", e))?;
        let text = format!(
            "# Settings for the {id} adapter, written by `mattebox plugin config {id}`.\n{}",
            toml::to_string(self).map_err(|e| Error::internal(format!("could not write adapter settings: {e}")))?
        );
        crate::staged::write_file(&path, text, true, "write")?;
        Ok(path)
    }

    /// Gives `request` every extra it does not have itself.
    pub fn apply(&self, request: &mut ShotRequest) -> Result<()> {
        for (key, setting) in &self.extras {
            if !request.extras.contains_key(key) {
                request.extras.insert(key.clone(), setting.text(key)?);
            }
        }
        Ok(())
    }
}

/// Gives `request` the settings of adapter `id` from the default directory.
/// The built-in generator and ids without settings change nothing.
pub fn apply_settings(id: &str, request: &mut ShotRequest) -> Result<()> {
    if id == "builtin" {
        return Ok(());
    }
    AdapterSettings::load_default(id)?.apply(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_fill_what_a_request_lacks_and_read_files_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let graph = dir.path().join("graph.json");
        std::fs::write(&graph, "{\"1\": {}}").unwrap();
        let mut settings = AdapterSettings::default();
        settings.extras.insert("server".into(), Setting::Text("http://127.0.0.1:8188".into()));
        settings.extras.insert("workflow".into(), Setting::File { file: graph.clone() });
        settings.save(&dir.path().join("adapters"), "comfyui").unwrap();
        let loaded = AdapterSettings::load(&dir.path().join("adapters"), "comfyui").unwrap();
        assert_eq!(loaded, settings);
        let mut r = ShotRequest::new("x");
        r.extras.insert("server".into(), "http://10.0.0.5:8188".into());
        loaded.apply(&mut r).unwrap();
        assert_eq!(r.extras["server"], "http://10.0.0.5:8188", "the request's own value wins");
        assert_eq!(r.extras["workflow"], "{\"1\": {}}");
        std::fs::write(&graph, "{\"2\": {}}").unwrap();
        let mut again = ShotRequest::new("x");
        loaded.apply(&mut again).unwrap();
        assert_eq!(again.extras["workflow"], "{\"2\": {}}", "read when the request is made");
        std::fs::remove_file(&graph).unwrap();
        let err = loaded.apply(&mut ShotRequest::new("x")).unwrap_err();
        assert!(err.to_string().contains("workflow") && err.to_string().contains("graph.json"), "{err}");
        // Nothing for other ids; no path ever.
        assert_eq!(AdapterSettings::load(&dir.path().join("adapters"), "kling").unwrap(), AdapterSettings::default());
        assert!(AdapterSettings::load(&dir.path().join("adapters"), "../x").is_err());
        // Emptied settings remove the file.
        AdapterSettings::default().save(&dir.path().join("adapters"), "comfyui").unwrap();
        assert!(!dir.path().join("adapters/comfyui.toml").exists());
    }
}
