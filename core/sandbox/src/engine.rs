//! The one wasmtime engine of the process, its epoch clock, and the cache
//! of compiled components.

use std::hash::Hasher;
use std::path::Path;
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

/// Compiles `bytes` (a component), or loads the compiled form from
/// `cache_dir/components` when this engine compiled it before.
pub(crate) fn load_component(engine: &Engine, bytes: &[u8], cache_dir: &Path, label: &str) -> Result<Component> {
    let dir = cache_dir.join("components");
    let path = dir.join(format!("{}.cwasm", cache_key(engine, bytes)));
    if path.is_file() {
        // SAFETY: the file is one this process family wrote into its own
        // cache, under a name that covers the component's bytes, the engine
        // configuration and the wasmtime version, renamed into place only
        // when complete; nothing else writes there.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "dropping a compiled component that no longer loads");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    let component = Component::new(engine, bytes)
        .map_err(|e| Error::invalid_argument(format!("{label} is not a valid WebAssembly component: {e:#}")))?;
    // The cache is an optimisation: failing to write it is logged, not fatal.
    let stored = (|| -> Result<()> {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "create the component cache", e))?;
        let compiled = component.serialize().map_err(|e| sandbox_error("could not serialise a component", e))?;
        let staged = StagedFile::new(&path, true)?;
        std::fs::write(staged.temp_path(), compiled).map_err(|e| Error::io(&path, "write", e))?;
        staged.commit()
    })();
    if let Err(e) = stored {
        tracing::warn!(error = %e, "could not cache a compiled component");
    }
    Ok(component)
}
