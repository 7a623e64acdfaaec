//! Links the GCC unwinder into the bundle statically, so the binary needs
//! nothing beyond the C library: the panic boundary around every OFX action
//! unwinds, and rustc asks for the unwinder as `-lgcc_s` (a shared library
//! some hosts' environments lack). A linker script of that name, found
//! first, answers with the static unwinder (libgcc_eh.a); the cdylib's
//! version script keeps its symbols local.
fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("libgcc_s.so"), "INPUT(-lgcc_eh)\n").expect("write the linker script");
    println!("cargo:rustc-link-search=native={}", out.display());
}
