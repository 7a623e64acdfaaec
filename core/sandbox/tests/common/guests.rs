//! Builds the guest adapters for wasm32-wasip2 with the cargo running the
//! tests, once per test process. Shared by the sandbox's and the command
//! line's tests.
// Shared by several test targets; not every one uses every item.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository's root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().find(|p| p.join("plugins/wit").is_dir()).unwrap().to_owned()
}

fn build(manifest: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "--locked", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(manifest)
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "building {} for wasm32-wasip2 failed (rustup target add wasm32-wasip2?)",
        manifest.display()
    );
}

/// Where the built guests are.
pub(crate) struct Guests {
    /// The hostile test component.
    pub(crate) hostile: PathBuf,
    /// The example adapter's directory (manifest and build).
    pub(crate) example: PathBuf,
    /// The ComfyUI adapter's component.
    pub(crate) comfyui: PathBuf,
    /// The Kling adapter's component.
    pub(crate) kling: PathBuf,
    /// The Runway adapter's component.
    pub(crate) runway: PathBuf,
    /// The Luma adapter's component.
    pub(crate) luma: PathBuf,
    /// The MiniMax adapter's component.
    pub(crate) minimax: PathBuf,
    /// The Veo adapter's component.
    pub(crate) veo: PathBuf,
    /// The Seedance adapter's component.
    pub(crate) seedance: PathBuf,
    /// The Jimeng adapter's component.
    pub(crate) jimeng: PathBuf,
    /// The fal adapter's component.
    pub(crate) fal: PathBuf,
    /// The Replicate adapter's component.
    pub(crate) replicate: PathBuf,
    /// Components whose `describe()` probes the network and secrets, sleeps
    /// for an hour, or answers with 32 MiB.
    pub(crate) describe_probe: PathBuf,
    pub(crate) describe_sleep: PathBuf,
    pub(crate) describe_huge: PathBuf,
    /// A component built against the frozen 0.1.0 contract.
    pub(crate) contract_0_1_0: PathBuf,
    /// A component built against contract 0.1.1 (`plugins/wit-0.1`).
    pub(crate) contract_0_1_1: PathBuf,
    /// A component built against the frozen 0.2.0 contract.
    pub(crate) contract_0_2_0: PathBuf,
}

/// Builds every guest once.
pub(crate) fn guests() -> &'static Guests {
    static BUILT: OnceLock<Guests> = OnceLock::new();
    BUILT.get_or_init(|| {
        build(&repo().join("plugins/Cargo.toml"));
        build(&repo().join("examples/adapter-rust/Cargo.toml"));
        let wasm = |name: &str| repo().join(format!("plugins/target/wasm32-wasip2/release/{name}.wasm"));
        Guests {
            hostile: wasm("hostile"),
            example: repo().join("examples/adapter-rust"),
            comfyui: wasm("comfyui"),
            kling: wasm("kling"),
            runway: wasm("runway"),
            luma: wasm("luma"),
            minimax: wasm("minimax"),
            veo: wasm("veo"),
            seedance: wasm("seedance"),
            jimeng: wasm("jimeng"),
            fal: wasm("fal"),
            replicate: wasm("replicate"),
            describe_probe: wasm("describe_probe"),
            describe_sleep: wasm("describe_sleep"),
            describe_huge: wasm("describe_huge"),
            contract_0_1_0: wasm("contract_0_1_0"),
            contract_0_1_1: wasm("contract_0_1_1"),
            contract_0_2_0: wasm("contract_0_2_0"),
        }
    })
}
