//! The one wasmtime engine of the process, its epoch clock, and the cache
//! of compiled components.
//!
//! Loading a compiled component runs its bytes as machine code, so the
//! cache is not trusted by name: every file carries an HMAC-SHA256 tag made
//! with a key private to the user and kept apart from the cache (see
//! [`cache_key_for`]), over the file's cache name and its bytes. A file
//! whose tag does not verify (damaged, or another component's renamed into
//! place, or written by someone without the key) is deleted and compiled
//! again, never loaded.

use std::hash::Hasher;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use mattebox_core::staged::StagedFile;
use mattebox_core::{Error, ErrorKind, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// How often the epoch advances: the granularity of deadlines and cancels.
pub(crate) const TICK: Duration = Duration::from_millis(10);

static ENGINE: OnceLock<std::result::Result<Engine, String>> = OnceLock::new();

/// Components this process compiled or verified, by cache name: loading
/// the same adapter again (every press of an OFX host's Generate button,
/// every `mb_generations` of a C ABI host) neither reads nor checks the
/// disk again. Bounded by the adapters a process loads.
static LOADED: OnceLock<parking_lot::Mutex<std::collections::HashMap<String, Component>>> = OnceLock::new();

fn sandbox_error(what: &str, err: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Internal, format!("{what}: {err:#}"))
}

/// The engine: Cranelift, the component model, epoch interruption, no
/// component-model concurrency (which adapters do not use and which
/// triples the cost of every call). Its clock thread starts with it.
pub(crate) fn engine() -> Result<&'static Engine> {
    let made = ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.concurrency_support(false);
        let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("mattebox-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| format!("could not start the sandbox clock: {e}"))?;
        Ok(engine)
    });
    made.as_ref().map_err(|e| sandbox_error("could not start the WebAssembly engine", e))
}

/// Feeds `Hash` output into SHA-256.
struct DigestHasher(Sha256);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        0 // unused: the digest is read from the inner state
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The cache key of `bytes` compiled by `engine`: the component's content,
/// the engine's configuration and wasmtime's version all change it.
fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    let mut hasher = DigestHasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hasher.0.update(b"wasmtime 48.0.8\0");
    hasher.0.update(bytes);
    hasher.0.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The key that vouches for compiled components, 32 bytes.
pub(crate) type CacheKey = [u8; 32];

/// Name of the key file in the state directory.
const KEY_FILE: &str = "component-cache.key";

/// The key in `state_dir`, made on first use: a regular file of 32 random
/// bytes, owned by this user and readable by nobody else. `None` (with a
/// warning) when it cannot be made or trusted: then nothing compiled is
/// read from the cache or written to it.
pub(crate) fn cache_key_for(state_dir: &Path) -> Option<CacheKey> {
    match read_or_make_key(state_dir) {
        Ok(key) => Some(key),
        Err(why) => {
            tracing::warn!(dir = %state_dir.display(), "compiled components are not cached: {why}");
            None
        }
    }
}

fn read_or_make_key(state_dir: &Path) -> std::result::Result<CacheKey, String> {
    use std::os::unix::fs::MetadataExt;
    let path = state_dir.join(KEY_FILE);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state_dir)
        .map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
    if std::fs::symlink_metadata(&path).is_err() {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(|e| format!("no random bytes for a key: {e}"))?;
        // Written under a private name, then linked into place: another
        // process making the key at the same moment wins or loses whole.
        let temp = state_dir.join(format!(".{KEY_FILE}.{}", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        let written = std::fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &key).and_then(|_| f.sync_all()));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(format!("cannot write {}: {e}", temp.display()));
        }
        let linked = std::fs::hard_link(&temp, &path);
        let _ = std::fs::remove_file(&temp);
        if let Err(e) = linked
            && e.kind() != std::io::ErrorKind::AlreadyExists
        {
            return Err(format!("cannot create {}: {e}", path.display()));
        }
    }
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
        .map_err(|e| format!("cannot open {} (it must be a regular file, not a link): {e}", path.display()))?;
    let meta = file.metadata().map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if !meta.is_file() || meta.uid() != uid || meta.mode() & 0o077 != 0 || meta.len() != 32 {
        return Err(format!(
            "{} must be a 32-byte regular file owned by this user with mode 600 (it has mode {:o}, owner {}); \
             remove it and Mattebox makes a new one",
            path.display(),
            meta.mode() & 0o7777,
            meta.uid()
        ));
    }
    let mut key = [0u8; 32];
    std::io::Read::read_exact(&mut &file, &mut key).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(key)
}

/// The tag that vouches for `compiled` under `name`: HMAC-SHA256 keyed by
/// the user's key, over the name and the bytes, so a file is good only
/// under the name it was written for.
fn tag(key: &CacheKey, name: &str, compiled: &[u8]) -> hmac::Hmac<Sha256> {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(name.as_bytes());
    mac.update(&[0]);
    mac.update(compiled);
    mac
}

/// A read-only view of a file, mapped.
struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapped {
    fn of(file: &std::fs::File, len: usize) -> Option<Mapped> {
        use std::os::fd::AsRawFd;
        if len == 0 {
            return None;
        }
        // SAFETY: a read-only private mapping of an open file, of its size;
        // checked for failure; unmapped on drop.
        let ptr =
            unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
        (ptr != libc::MAP_FAILED).then_some(Mapped { ptr, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `len` readable bytes, mapped for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `of`, unmapped once.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// The compiled component cached as `path`, if its tag (`path.tag`)
/// verifies; a file that fails is removed (it is never loaded).
///
/// The file is opened once and must be a regular file of this user's that
/// nobody else may write: then its contents cannot change between the
/// check and the load, which maps the same open file (through
/// `/proc/self/fd`), so no one can swap another file in between.
fn read_verified(engine: &Engine, path: &Path, name: &str, key: &CacheKey) -> Option<Component> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |why: &str| {
        tracing::warn!(path = %path.display(), "a compiled component {why}; compiling again");
        let _ = std::fs::remove_file(path);
        None
    };
    let file = std::fs::File::options().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path).ok()?;
    let meta = file.metadata().ok()?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if !meta.is_file() || meta.uid() != uid || meta.mode() & 0o022 != 0 {
        return refuse("is not a file of this user's that only this user may write");
    }
    let Ok(stored) = std::fs::read(tag_path(path)) else {
        return refuse("has no tag");
    };
    let Some(mapped) = Mapped::of(&file, meta.len() as usize) else {
        return refuse("could not be read");
    };
    if hmac::Mac::verify_slice(tag(key, name, mapped.bytes()), &stored).is_err() {
        return refuse("failed its check");
    }
    drop(mapped);
    use std::os::fd::AsRawFd;
    let same_file = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    let loaded = if same_file.exists() {
        // SAFETY: deserialising runs the file as machine code. Its bytes
        // carry a tag only this user's key makes, over this very cache name
        // (which covers the component, the engine configuration and
        // wasmtime's version), checked above on the open file, which only
        // this user may write (and the cache only ever replaces, never
        // rewrites in place); `same_file` is that open file, not the name.
        unsafe { Component::deserialize_file(engine, &same_file) }
    } else {
        // No /proc: load the bytes just checked (the same open file, read again).
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        std::io::Read::read_to_end(&mut &file, &mut bytes).ok()?;
        if hmac::Mac::verify_slice(tag(key, name, &bytes), &stored).is_err() {
            return refuse("changed while it was read");
        }
        // SAFETY: as above, for bytes checked in memory.
        unsafe { Component::deserialize(engine, &bytes) }
    };
    match loaded {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "dropping a compiled component that no longer loads");
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

/// Where the tag of the compiled component at `path` is kept.
fn tag_path(path: &Path) -> PathBuf {
    path.with_extension("cwasm.tag")
}

/// Compiles `bytes` (a component), or loads the compiled form from the
/// directory of `kept` when this engine compiled it before and the key of
/// `kept` vouches for it. Without `kept` nothing is read or written.
pub(crate) fn load_component(
    engine: &Engine,
    bytes: &[u8],
    kept: Option<(&Path, &CacheKey)>,
    label: &str,
) -> Result<Component> {
    let name = format!("{}.cwasm", cache_key(engine, bytes));
    let loaded = LOADED.get_or_init(Default::default);
    if let Some(component) = loaded.lock().get(&name) {
        return Ok(component.clone());
    }
    if let Some((dir, key)) = kept
        && let Some(component) = read_verified(engine, &dir.join(&name), &name, key)
    {
        loaded.lock().insert(name, component.clone());
        return Ok(component);
    }
    let component = Component::new(engine, bytes)
        .map_err(|e| Error::invalid_argument(format!("{label} is not a valid WebAssembly component: {e:#}")))?;
    loaded.lock().insert(name.clone(), component.clone());
    let Some((dir, key)) = kept else {
        return Ok(component);
    };
    let path = dir.join(&name);
    // The cache is an optimisation: failing to write it is logged, not fatal.
    let stored = (|| -> Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(dir, "create the directory of compiled components", e))?;
        mattebox_core::staged::remove_stale(dir, mattebox_core::staged::STALE_AFTER);
        let compiled = component.serialize().map_err(|e| sandbox_error("could not serialise a component", e))?;
        let signed = hmac::Mac::finalize(tag(key, &name, &compiled)).into_bytes();
        // The tag first: a reader that finds the component finds its tag.
        for (to, bytes) in [(tag_path(&path), &signed[..]), (path.clone(), &compiled[..])] {
            let staged = StagedFile::new(&to, true)?;
            // A new file, never one (or a link) someone placed under the
            // staging name, writable by this user alone.
            std::fs::File::options()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(staged.temp_path())
                .and_then(|mut f| std::io::Write::write_all(&mut f, bytes))
                .map_err(|e| Error::io(staged.temp_path(), "write", e))?;
            staged.commit()?;
        }
        Ok(())
    })();
    if let Err(e) = stored {
        tracing::warn!(error = %e, "could not cache a compiled component");
    }
    Ok(component)
}
