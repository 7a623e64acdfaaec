//! Running a program from a test (ffmpeg, a compiler, a host application):
//! its output, or a panic that names the command and shows what it
//! printed. Shared by the test crates through `#[path]`.
#![allow(dead_code)] // each test binary uses its own part

use std::process::{Command, Output};

/// Runs `cmd` and returns its output, whether it succeeded or not.
pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (`bash .ci/setup` installs what the tests need)"))
}

/// `out`, if its process succeeded; else a panic with what it printed.
pub(crate) fn succeeded(out: Output) -> Output {
    assert!(
        out.status.success(),
        "the process failed with {}:\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd`; its output, or a panic naming it when it fails.
pub(crate) fn ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    if !out.status.success() {
        eprintln!("{cmd:?} failed");
    }
    succeeded(out)
}
