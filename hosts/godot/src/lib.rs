//! Mattebox for Godot 4: a GDExtension that gives games and tools
//! Mattebox's shot generation (the built-in generator, in the background,
//! with signals), takes as images and textures, compositing a plate over a
//! generated background, and consistency scores.
//!
//! The classes translate between Godot's types and the core's; the core
//! decides everything. Godot calls into them on its main thread only; the
//! generation runs on the core's threads and is polled from `_process`, so
//! every signal is emitted on the main thread.
//!
//! | class | what it is |
//! |---|---|
//! | [`MatteboxShot`] (Node) | a shot's request, `generate()` / `cancel()`, signals `progress`, `take_ready`, `failed`, `finished`; its takes as `Image` and `ImageTexture` |
//! | [`MatteboxCompositor`] (RefCounted) | a green- or blue-screen plate keyed over a background, as `mattebox composite` does |
//! | [`MatteboxScorer`] (RefCounted) | the consistency scores of frames, as `mattebox score` gives them |

use std::sync::{Arc, OnceLock};

use godot::prelude::*;
use mattebox_core::{Runtime, RuntimeConfig};

mod composite;
mod images;
mod score;
mod shot;

pub use composite::MatteboxCompositor;
pub use score::MatteboxScorer;
pub use shot::MatteboxShot;

struct MatteboxExtension;

// SAFETY: gdext's entry point; the library registers only the classes above.
#[gdextension]
unsafe impl ExtensionLibrary for MatteboxExtension {}

/// The one runtime of the process (its pool and its cache directory:
/// `$MATTEBOX_CACHE_DIR`, else the user's cache), made on first use.
fn runtime() -> Result<Arc<Runtime>, String> {
    static RUNTIME: OnceLock<Result<Arc<Runtime>, String>> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(RuntimeConfig::default()).map(Arc::new).map_err(|e| e.to_string())).clone()
}
