//! Rust types and traits for `plugins/wit/generator.wit`, generated. The
//! exports are called asynchronously, so that a take stopped while its
//! adapter waits in WASI (a sleep) can be dropped, store and all; the host
//! functions themselves are ordinary, bounded calls.

wasmtime::component::bindgen!({
    path: "../../plugins/wit",
    world: "generator",
    imports: { default: trappable },
    exports: { default: async },
});
