//! Rust types and traits for `plugins/wit/generator.wit`, generated.

wasmtime::component::bindgen!({
    path: "../../plugins/wit",
    world: "generator",
    imports: { default: trappable },
});
