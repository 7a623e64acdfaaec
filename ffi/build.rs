//! `mb_result` is written once, as the enum in `src/boundary.rs` that
//! cbindgen turns into the header's `MB_RESULT_*` constants. This script
//! reads that enum and generates the rest (every code, and each code's
//! name as cbindgen spells it), so adding a result is one line.

use std::fmt::Write as _;

fn main() {
    // libmattebox.so finds the libraries shipped beside it (ffmpeg's, in a
    // host's plugin folder or a farm's install) before the system's:
    // RUNPATH $ORIGIN. The loader's search path still applies after it.
    println!("cargo::rustc-cdylib-link-arg=-Wl,--enable-new-dtags");
    println!("cargo::rustc-cdylib-link-arg=-Wl,-rpath,$ORIGIN");
    let path = "src/boundary.rs";
    println!("cargo::rerun-if-changed={path}");
    let source = std::fs::read_to_string(path).expect("src/boundary.rs is readable");
    let start = source.find("pub enum mb_result {").expect("src/boundary.rs defines `pub enum mb_result`");
    let body = &source[start..source[start..].find("\n}").map(|end| start + end).expect("the enum ends")];
    let variants: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("//") && line.contains(" = "))
        .map(|line| line.split(" = ").next().expect("a variant"))
        .collect();
    assert!(variants.first() == Some(&"Ok"), "mb_result must start with Ok = 0: {variants:?}");
    let mut out = String::new();
    writeln!(out, "impl mb_result {{").unwrap();
    writeln!(out, "    /// Every code, in order.").unwrap();
    writeln!(out, "    pub(crate) const ALL: [mb_result; {}] = [", variants.len()).unwrap();
    for v in &variants {
        writeln!(out, "        mb_result::{v},").unwrap();
    }
    writeln!(out, "    ];\n").unwrap();
    writeln!(out, "    /// The code's name in `mattebox.h`.").unwrap();
    writeln!(out, "    pub(crate) fn name(self) -> &'static std::ffi::CStr {{\n        match self {{").unwrap();
    for v in &variants {
        writeln!(out, "            mb_result::{v} => c\"MB_RESULT_{}\",", screaming_snake(v)).unwrap();
    }
    writeln!(out, "        }}\n    }}\n}}").unwrap();
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("results.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}

/// `NullPointer` -> `NULL_POINTER`, as cbindgen's ScreamingSnakeCase.
fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}
