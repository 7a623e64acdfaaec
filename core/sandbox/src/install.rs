//! Installed adapters and the user's sandbox settings.
//!
//! An installed adapter is a directory `<plugins>/<id>/` holding its
//! `adapter.toml` and `<id>.wasm`. `<plugins>` is `$MATTEBOX_PLUGIN_DIR`,
//! else `$XDG_DATA_HOME/mattebox/plugins`, else
//! `~/.local/share/mattebox/plugins`.
//!
//! Settings come from the environment, so nothing secret is written by
//! Mattebox: `MATTEBOX_SECRET_<NAME>` holds the secret `<NAME>`,
//! `MATTEBOX_ALLOW_ADDRESSES` lists private or loopback addresses adapters
//! may reach (comma-separated, e.g. a studio's ComfyUI at 10.0.0.5), and
//! `MATTEBOX_SANDBOX_<LIMIT>` sets the ceiling of a limit (see
//! [`policy_from_env`]).

use std::path::{Path, PathBuf};

use mattebox_core::staged::StagedDir;
use mattebox_core::{Error, ErrorKind, Result};

use crate::adapter::{SandboxPolicy, WasmAdapter, read_adapter};
use crate::manifest::{MANIFEST_NAME, Manifest};

/// Where installed adapters live (shared with every host).
pub use mattebox_core::generate::default_plugin_dir;

/// Where the key that vouches for compiled components lives:
/// `$MATTEBOX_STATE_DIR`, else `$XDG_STATE_HOME/mattebox`, else
/// `~/.local/state/mattebox`; `None` without a home (nothing compiled is
/// cached then).
pub fn default_state_dir() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("MATTEBOX_STATE_DIR")
        .or_else(|| env("XDG_STATE_HOME").map(|d| d.join("mattebox")))
        .or_else(|| env("HOME").map(|h| h.join(".local").join("state").join("mattebox")))
}

/// Where compiled adapters are kept: `$MATTEBOX_COMPILED_DIR`, else
/// `<user cache>/compiled/<host name>` (`$XDG_CACHE_HOME/mattebox`, else
/// `~/.cache/mattebox`). Never under `$MATTEBOX_CACHE_DIR` or a host's
/// cache directory, which a farm may share: loading a compiled component
/// runs it as machine code, so it comes only from a directory of this
/// user's on this machine (a home directory shared across a farm still
/// gets one directory per node), and its tag is checked too. `None`
/// without a home.
pub fn default_compiled_dir() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = env("MATTEBOX_COMPILED_DIR") {
        return Some(dir);
    }
    let user_cache = env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))?;
    Some(user_cache.join("mattebox").join("compiled").join(mattebox_core::staged::host_name()))
}

/// The ceilings `policy_from_env` reads: variable suffix, and a setter.
type Ceiling = (&'static str, fn(&mut SandboxPolicy, u64));

const CEILINGS: [Ceiling; 6] = [
    ("MEMORY_MIB", |p, v| p.max_memory_mib = v),
    ("DEADLINE_SECONDS", |p, v| p.max_deadline_seconds = v),
    ("RESPONSE_MIB", |p, v| p.max_response_mib = v),
    ("LOG_KIB", |p, v| p.max_log_kib = v),
    ("CONCURRENT", |p, v| p.max_concurrent = v.min(1024) as usize),
    ("FRAMES", |p, v| p.max_frames = v),
];

/// The sandbox policy from the environment:
///
/// - `MATTEBOX_SECRET_<NAME>`: the value of secret `<NAME>`;
/// - `MATTEBOX_ALLOW_ADDRESSES`: private or loopback addresses adapters may reach;
/// - `MATTEBOX_SANDBOX_MEMORY_MIB`, `_DEADLINE_SECONDS`, `_RESPONSE_MIB`,
///   `_LOG_KIB`, `_CONCURRENT`, `_FRAMES`: the most any adapter gets,
///   whatever its manifest asks (defaults in [`SandboxPolicy::new`]);
/// - `MATTEBOX_COMPILED_DIR`: where compiled components are kept
///   ([`default_compiled_dir`]);
/// - `MATTEBOX_STATE_DIR`: where the compiled-component key lives.
pub fn policy_from_env() -> Result<SandboxPolicy> {
    let mut policy = SandboxPolicy { compiled_dir: default_compiled_dir(), ..SandboxPolicy::new("") };
    for (suffix, set) in CEILINGS {
        let name = format!("MATTEBOX_SANDBOX_{suffix}");
        if let Ok(text) = std::env::var(&name) {
            let value: u64 =
                text.trim().parse().ok().filter(|&v| v > 0).ok_or_else(|| {
                    Error::invalid_argument(format!("{name}={text:?}: give a whole number above zero"))
                })?;
            set(&mut policy, value);
        }
    }
    for (key, value) in std::env::vars() {
        if let Some(name) = key.strip_prefix("MATTEBOX_SECRET_")
            && !name.is_empty()
        {
            policy.network.secrets.insert(name.to_owned(), value);
        }
    }
    if let Ok(list) = std::env::var("MATTEBOX_ALLOW_ADDRESSES") {
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let ip = item.parse().map_err(|_| {
                Error::invalid_argument(format!("MATTEBOX_ALLOW_ADDRESSES: {item:?} is not an IP address"))
            })?;
            policy.network.allow_addresses.push(ip);
        }
    }
    Ok(policy)
}

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// Where an installed adapter lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// Shipped inside this build of Mattebox.
    Bundled,
    /// A folder under the plugin directory (`mattebox plugin install`).
    Folder(PathBuf),
}

/// An installed adapter, as its manifest describes it (not loaded).
#[derive(Clone, Debug)]
pub struct Installed {
    /// Where it lives.
    pub location: Location,
    /// Its manifest.
    pub manifest: Manifest,
    /// Whether it is the one its id loads: a folder shadows the bundled
    /// adapter of the same id only with a newer version.
    pub in_use: bool,
}

/// Whether version `a` is newer than `b` (dot-separated numbers compared
/// as numbers, anything else as text).
fn newer(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<(u64, String)> {
        v.split(['.', '-', '+']).map(|p| (p.parse::<u64>().unwrap_or(u64::MAX), p.to_owned())).collect()
    };
    parts(a) > parts(b)
}

/// The adapters this build ships, as installed adapters.
fn bundled() -> (Vec<(Manifest, &'static [u8])>, Vec<Error>) {
    let mut found = Vec::new();
    let mut broken = Vec::new();
    for (folder, text, wasm) in BUNDLED {
        match Manifest::parse(text) {
            Ok(manifest) => found.push((manifest, *wasm)),
            Err(e) => broken.push(e.context(format!("the bundled {folder} adapter"))),
        }
    }
    (found, broken)
}

/// Shipped adapters this build does not include (they were not built when
/// it was made: `bash .ci/setup` builds them).
pub fn not_bundled() -> &'static [&'static str] {
    NOT_BUILT
}

/// Every adapter installed: those this build ships and those in
/// `plugins`, by id (each marked whether its id loads it). Folders whose
/// manifest cannot be read are reported as errors in the second list.
pub fn installed(plugins: &Path) -> (Vec<Installed>, Vec<Error>) {
    let (shipped, mut broken) = bundled();
    let mut found: Vec<Installed> = shipped
        .into_iter()
        .map(|(manifest, _)| Installed { location: Location::Bundled, manifest, in_use: true })
        .collect();
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(plugins) {
        Ok(entries) => entries.flatten().map(|e| e.path()).filter(|p| p.join(MANIFEST_NAME).is_file()).collect(),
        Err(_) => Vec::new(),
    };
    dirs.sort();
    for dir in dirs {
        match Manifest::load(&dir) {
            Ok((manifest, _)) => {
                let shadowed =
                    found.iter_mut().find(|i| i.location == Location::Bundled && i.manifest.id == manifest.id);
                let in_use = match shadowed {
                    Some(ship) if newer(&manifest.version, &ship.manifest.version) => {
                        ship.in_use = false;
                        true
                    }
                    Some(_) => false,
                    None => true,
                };
                found.push(Installed { location: Location::Folder(dir), manifest, in_use });
            }
            Err(e) => broken.push(e),
        }
    }
    found.sort_by(|a, b| a.manifest.id.cmp(&b.manifest.id));
    (found, broken)
}

/// Loads the installed adapter `id`: the folder `plugins/<id>` or the one
/// this build ships, whichever [`installed`] marks in use. Only ids are
/// taken (never a path): an adapter runs only once `install` has checked
/// and copied it, or Mattebox shipped it.
pub fn load_installed(plugins: &Path, id: &str, policy: &SandboxPolicy) -> Result<WasmAdapter> {
    mattebox_core::generate::check_adapter_id(id)?;
    let dir = plugins.join(id);
    let (shipped, _) = bundled();
    let shipped = shipped.into_iter().find(|(m, _)| m.id == id);
    let folder = dir.join(MANIFEST_NAME).is_file();
    if let Some((manifest, wasm)) = shipped {
        let folder_is_newer = folder && Manifest::load(&dir).is_ok_and(|(m, _)| newer(&m.version, &manifest.version));
        if !folder_is_newer {
            let label = PathBuf::from(format!("<{id} {}, shipped with Mattebox>", manifest.version));
            return WasmAdapter::from_parts(manifest, wasm, &label, policy);
        }
    } else if !folder {
        let (found, _) = installed(plugins);
        let ids: Vec<&str> = std::iter::once("builtin").chain(found.iter().map(|i| i.manifest.id.as_str())).collect();
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "no adapter {id:?} is installed in {} (installed: {}); install one with `mattebox plugin install DIR`",
                plugins.display(),
                ids.join(", ")
            ),
        ));
    }
    let (manifest, bytes, file) = read_adapter(&dir)?;
    if manifest.id != id {
        return Err(Error::invalid_argument(format!(
            "{}: the adapter installed as {id:?} says its id is {:?}; install it again",
            dir.display(),
            manifest.id
        )));
    }
    WasmAdapter::from_parts(manifest, &bytes, &file, policy)
}

/// The version of the adapter `id` loads: the folder's or the shipped one's,
/// as [`load_installed`] chooses.
pub fn installed_version(plugins: &Path, id: &str) -> Result<String> {
    mattebox_core::generate::check_adapter_id(id)?;
    let (found, _) = installed(plugins);
    found.into_iter().find(|i| i.in_use && i.manifest.id == id).map(|i| i.manifest.version).ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!(
                "adapter {id:?} is not installed in {}; install it with `mattebox plugin install DIR`",
                plugins.display()
            ),
        )
    })
}

/// Checks the adapter at `source` (a directory with `adapter.toml`, or the
/// manifest) by loading it, then copies it into `plugins/<id>/`, replacing
/// an installed one only when `replace`. Returns the loaded adapter.
/// What is copied is exactly what was checked: the files are read once,
/// as regular files inside the source folder.
pub fn install(source: &Path, plugins: &Path, policy: &SandboxPolicy, replace: bool) -> Result<WasmAdapter> {
    let (manifest, bytes, file) = read_adapter(source)?;
    let adapter = WasmAdapter::from_parts(manifest.clone(), &bytes, &file, policy)?;
    let target = plugins.join(&manifest.id);
    if target.exists() && !replace {
        return Err(Error::invalid_argument(format!(
            "adapter {} is already installed in {}; pass --overwrite (-y) to replace it",
            manifest.id,
            target.display()
        )));
    }
    std::fs::create_dir_all(plugins).map_err(|e| Error::io(plugins, "create the plugin directory", e))?;
    let staging_name = plugins.join(format!("{}.new", manifest.id));
    let _ = std::fs::remove_dir_all(&staging_name);
    let staged = StagedDir::new(&staging_name)?;
    let component = format!("{}.wasm", manifest.id);
    let to = staged.temp_dir().join(&component);
    std::fs::write(&to, &bytes).map_err(|e| Error::io(&to, "write the component", e))?;
    let mut copy = manifest.clone();
    copy.component = PathBuf::from(&component);
    let text = toml::to_string(&copy).map_err(|e| Error::internal(format!("could not write the manifest: {e}")))?;
    let written = staged.temp_dir().join(MANIFEST_NAME);
    std::fs::write(&written, text).map_err(|e| Error::io(&written, "write", e))?;
    staged.commit()?;
    // Swap the finished copy in; the old one is removed only after.
    let old = plugins.join(format!("{}.old", manifest.id));
    let _ = std::fs::remove_dir_all(&old);
    if target.exists() {
        std::fs::rename(&target, &old).map_err(|e| Error::io(&target, "move the old version aside", e))?;
    }
    std::fs::rename(&staging_name, &target).map_err(|e| Error::io(&target, "move the adapter into place", e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(adapter)
}
