//! The extension in a real Godot 4, headless: Debian's unstable `godot`
//! package in a root filesystem `.ci/setup` makes with debootstrap (cached
//! outside the clone, `$MATTEBOX_GODOT_ROOT`, by default
//! /var/cache/mattebox/godot-sid). The project (`hosts/godot/project`)
//! is imported, then its scene generates a built-in take, shows a frame as
//! a texture, composites a green-screen plate over it, scores the take and
//! checks the pixels; it quits with 0 only when every check passes.
//!
//! Godot runs chrooted, with a /proc of its own (`unshare`), so this test
//! needs root, as CI has.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn godot_root() -> PathBuf {
    let root = std::env::var_os("MATTEBOX_GODOT_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/mattebox/godot-sid"));
    assert!(
        root.join("usr/bin/godot").exists(),
        "no Godot 4 root filesystem at {}: run `bash .ci/setup` (it makes one with debootstrap), or set \
         MATTEBOX_GODOT_ROOT",
        root.display()
    );
    root
}

#[path = "../../../core/tests/support/built.rs"]
mod built;

/// The extension this test was built with.
fn extension() -> PathBuf {
    built::built_library("libmattebox_godot.so", "cargo build --release in hosts/godot")
}

/// Godot with `args`, chrooted into `root`, with `/tmp/<dir>` as home and
/// cache, killed after two minutes if the scene never quits.
fn godot(root: &Path, dir: &str, args: &[&str]) -> Output {
    let inside = format!("/tmp/{dir}");
    Command::new("timeout")
        .args(["120", "unshare", "--mount", "--pid", "--fork"])
        .arg(format!("--mount-proc={}", root.join("proc").display()))
        .arg("chroot")
        .arg(root)
        .args([
            "env",
            "-i",
            "PATH=/usr/bin:/bin",
            &format!("HOME={inside}"),
            &format!("MATTEBOX_CACHE_DIR={inside}/cache"),
        ])
        .args(["/usr/bin/godot", "--headless", "--path", &inside])
        .args(args)
        .output()
        .expect("cannot run timeout/unshare/chroot")
}

#[test]
fn a_real_godot_generates_shows_composites_and_scores_a_take() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc_geteuid() }, 0, "Godot runs chrooted: run this test as root");
    let root = godot_root();
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("project");
    let work = tempfile::Builder::new().prefix("mattebox-godot-").tempdir_in(root.join("tmp")).unwrap();
    for entry in std::fs::read_dir(&project).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, work.path().join(path.file_name().unwrap())).unwrap();
    }
    std::fs::copy(extension(), work.path().join("libmattebox_godot.so")).unwrap();
    let dir = work.path().file_name().unwrap().to_str().unwrap().to_owned();
    // Godot 4.5 and 4.6 crash in a headless import of a project with an
    // extension, while generating its documentation, unless frames are far
    // apart (godotengine/godot#111048, open); the delay only spaces the
    // import's frames.
    let imported = godot(&root, &dir, &["--frame-delay", "800", "--import"]);
    assert!(imported.status.success(), "import: {}", String::from_utf8_lossy(&imported.stderr));
    let ran = godot(&root, &dir, &[]);
    let (out, err) = (String::from_utf8_lossy(&ran.stdout), String::from_utf8_lossy(&ran.stderr));
    assert!(out.contains("Initialize godot-rust"), "the extension did not load:\n{out}\n{err}");
    assert!(!err.contains("FAIL:"), "{out}\n{err}");
    assert!(out.contains("done: 0 failure(s)"), "the scene did not finish:\n{out}\n{err}");
    assert_eq!(ran.status.code(), Some(0), "{out}\n{err}");
    // Every check of the scene ran (and printed ok).
    assert!(out.matches("ok: ").count() >= 20, "{out}");
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
