//! Rust types and traits for the two contracts the host implements,
//! generated: `plugins/wit/generator.wit` (0.2, current) and
//! `plugins/wit-0.1/generator.wit` (0.1.1, which also runs 0.1.0
//! adapters). The exports are called asynchronously, so that a take
//! stopped while its adapter waits in WASI (a sleep) can be dropped, store
//! and all; the host functions themselves are ordinary, bounded calls.

/// Contract 0.2.
pub(crate) mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../../plugins/wit",
        world: "generator",
        imports: { default: trappable },
        exports: { default: async },
    });
}

/// Contract 0.1.1.
pub(crate) mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../../plugins/wit-0.1",
        world: "generator",
        imports: { default: trappable },
        exports: { default: async },
    });
}
