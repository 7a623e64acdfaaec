//! The sandbox for generator adapters: vendors ship a WebAssembly
//! component built against `plugins/wit/generator.wit` and an
//! `adapter.toml` manifest; Mattebox runs it on wasmtime able to do exactly
//! what the manifest declares and nothing else.
//!
//! - One engine per process ([`engine`]), compiled components cached by
//!   content, engine configuration and wasmtime version.
//! - Per take: a fresh store and instance from an `InstancePre`; a memory
//!   cap that traps on growth failure; a wall-clock deadline and
//!   cancellation through epoch interruption (10 ms ticks); a cap on bytes
//!   per host call; a log quota; the take's frame quota.
//! - WASI with an empty context: no files, sockets, environment or
//!   arguments. The only way out is `host.http-fetch` (see [`http`]).
//!
//! A loaded [`WasmAdapter`] is a [`mattebox_core::generate::Generator`]:
//! register it with [`mattebox_core::generate::Generations`].

mod adapter;
mod bindings;
mod engine;
mod host;
pub mod http;
pub mod install;
mod jwt;
pub mod manifest;

pub use adapter::{SandboxPolicy, WasmAdapter};
pub use http::NetworkPolicy;
pub use install::{default_plugin_dir, install, installed, load_installed, policy_from_env};
pub use manifest::{MANIFEST_NAME, Manifest, WIT_PACKAGE};
