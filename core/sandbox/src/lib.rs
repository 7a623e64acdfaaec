//! The sandbox for generator adapters: vendors ship a WebAssembly
//! component built against `plugins/wit/generator.wit` and an
//! `adapter.toml` manifest; Mattebox runs it on wasmtime able to do exactly
//! what the manifest declares and nothing else.
//!
//! - One engine per process ([`engine`]), compiled components cached by
//!   content, engine configuration and wasmtime version.
//! - Per take: a fresh store and instance from an `InstancePre`; a memory
//!   cap that traps on growth failure; a wall-clock deadline and
//!   cancellation through epoch interruption (10 ms ticks), and the guest's
//!   future dropped (with its store) when it waits where epochs cannot
//!   reach; a cap on bytes per host call; a log quota; the take's frame
//!   quota. Every limit a manifest asks for is capped by the user's
//!   [`SandboxPolicy`].
//! - `describe` is sandboxed like a take: on an adapter thread, a short
//!   deadline, no network, no secrets.
//! - WASI with an empty context: no files, sockets, environment or
//!   arguments. The only way out is `host.http-fetch` (see [`http`]), and
//!   what comes back has the user's secrets redacted.
//! - Files an adapter hands over are decoded from memory, never staged on
//!   disk; compiled components are cached with a tag only the user's key
//!   makes, and checked before they run.
//!
//! The threat model and each guarantee with the test that proves it are in
//! `plugins/README.md` ("Security").
//!
//! A loaded [`WasmAdapter`] is a [`mattebox_core::generate::Generator`]:
//! register it with [`mattebox_core::generate::Generations`].

mod adapter;
mod bindings;
mod engine;
mod host;
pub mod http;
pub mod install;
pub mod manifest;
mod signers;
mod workers;
mod ws;

pub use adapter::{MAX_COMPONENT_BYTES, SandboxPolicy, WasmAdapter};
pub use http::NetworkPolicy;
pub use install::{
    Installed, Location, default_compiled_dir, default_plugin_dir, default_state_dir, install, installed,
    installed_version, load_installed, not_bundled, policy_from_env,
};
pub use manifest::{MANIFEST_NAME, Manifest, SecretGrant, WIT_PACKAGE};
