//! Embeds the adapters Mattebox ships: every `plugins/<name>/` with an
//! `adapter.toml` and its built component (`plugins/<name>/<name>.wasm`,
//! put there by `.ci/setup`). Each host that links the sandbox then has
//! them installed, and a new Mattebox brings their new versions.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let plugins = here.join("../../plugins");
    // A new adapter joins the guest workspace; its folder is not watched
    // itself (that would scan plugins/target, which changes all the time).
    println!("cargo:rerun-if-changed={}", plugins.join("Cargo.toml").display());
    let mut found: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    let mut missing = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&plugins) {
        for entry in entries.flatten() {
            let dir = entry.path();
            let manifest = dir.join("adapter.toml");
            let Some(name) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
            if !manifest.is_file() {
                continue;
            }
            let wasm = dir.join(format!("{name}.wasm"));
            println!("cargo:rerun-if-changed={}", manifest.display());
            println!("cargo:rerun-if-changed={}", wasm.display());
            if wasm.is_file() {
                found.push((name, manifest, wasm));
            } else {
                missing.push(name);
            }
        }
    }
    found.sort();
    missing.sort();
    for name in &missing {
        println!(
            "cargo:warning=the {name} adapter is not built (plugins/{name}/{name}.wasm is missing): this build will not \
             ship it; run `bash .ci/setup`, then build again"
        );
    }
    let abs = |p: &Path| p.canonicalize().expect("the file was just found").display().to_string();
    let mut code = String::from(
        "/// The adapters this build ships: folder name, manifest text, component.\n\
         pub(crate) const BUNDLED: &[(&str, &str, &[u8])] = &[\n",
    );
    for (name, manifest, wasm) in &found {
        let _ = writeln!(code, "    ({name:?}, include_str!({:?}), include_bytes!({:?})),", abs(manifest), abs(wasm));
    }
    code.push_str("];\n/// Shipped adapters this build could not include (not built when it was made).\n");
    let _ = writeln!(code, "pub(crate) const NOT_BUILT: &[&str] = &{missing:?};");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bundled.rs");
    std::fs::write(out, code).expect("write bundled.rs");
}
