//! The library as shipped (`ffi/dist.sh`): stripped with its debug info
//! split off and linked, RUNPATH `$ORIGIN` (the ffmpeg libraries put beside
//! it are the ones loaded), no glibc symbol newer than the minimum the docs
//! state, and still a working library: the C example, compiled against the
//! packaged header and library alone, runs.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../core/tests/support/process.rs"]
mod process;

/// The newest glibc the library may need, as `ffi/dist.sh` and
/// `docs/FARM.md` state it for a build on Debian 12.
const MIN_GLIBC: (u32, u32) = (2, 35);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// The libmattebox.so built for this run (beside this test binary).
fn built_library() -> PathBuf {
    let lib = std::env::current_exe().unwrap().parent().unwrap().join("libmattebox.so");
    assert!(lib.exists(), "{} is missing", lib.display());
    lib
}

fn text(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&process::ok(cmd).stdout).into_owned()
}

#[test]
fn the_packaged_library_is_small_finds_its_ffmpeg_beside_it_and_works() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mattebox-dist");
    let built = built_library();
    text(
        Command::new("bash")
            .arg(repo_root().join("ffi/dist.sh"))
            .args(["--no-build", "--with-ffmpeg", "--lib"])
            .arg(&built)
            .arg(&out),
    );
    let lib = out.join("lib/libmattebox.so");
    // Stripped, its debug info kept apart and linked.
    let (shipped, original) = (std::fs::metadata(&lib).unwrap().len(), std::fs::metadata(&built).unwrap().len());
    assert!(shipped * 3 < original, "stripped: {shipped} bytes of {original}");
    let sections = text(Command::new("readelf").arg("-S").arg(&lib));
    assert!(sections.contains(".gnu_debuglink") && !sections.contains(".debug_line"), "{sections}");
    let debug = text(Command::new("readelf").arg("-S").arg(out.join("debug/libmattebox.so.debug")));
    assert!(debug.contains(".debug_line"), "the line tables are in the debug file");
    // RUNPATH $ORIGIN: the ffmpeg libraries beside it are the ones loaded.
    let dynamic = text(Command::new("readelf").arg("-d").arg(&lib));
    assert!(dynamic.contains("Library runpath: [$ORIGIN]"), "{dynamic}");
    let resolved = text(Command::new("ldd").arg(&lib).env_remove("LD_LIBRARY_PATH"));
    for name in ["libavcodec.so.59", "libavformat.so.59", "libavutil.so.57", "libswscale.so.6"] {
        let line = resolved.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_else(|| panic!("{resolved}"));
        assert!(line.contains(&out.join("lib").display().to_string()), "{name} comes from beside it: {line}");
    }
    // No symbol from a glibc newer than the stated minimum.
    let symbols = text(Command::new("objdump").arg("-T").arg(&lib));
    let newest = symbols
        .split("GLIBC_")
        .skip(1)
        .filter_map(|v| {
            let v: String = v.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
        .unwrap();
    assert!(newest <= MIN_GLIBC, "libmattebox.so needs glibc {newest:?}, newer than the stated {MIN_GLIBC:?}");
    assert!(std::fs::read_to_string(out.join("README")).unwrap().contains(&format!("GLIBC {}.{}", newest.0, newest.1)));
    // It still works: the C example against the packaged header and library.
    let exe = dir.path().join("example");
    text(
        Command::new("cc")
            .args(["-Wall", "-Werror", "-I"])
            .arg(out.join("include"))
            .arg(repo_root().join("examples/c/read_frame.c"))
            .arg("-o")
            .arg(&exe)
            .arg(format!("-L{}", out.join("lib").display()))
            .arg("-lmattebox")
            .arg(format!("-Wl,-rpath,{}", out.join("lib").display())),
    );
    let clip = dir.path().join("clip.mp4");
    text(
        Command::new("ffmpeg")
            .args(["-v", "error", "-f", "lavfi", "-i", "testsrc2=s=96x64:r=24", "-frames:v", "3"])
            .arg(&clip),
    );
    let read = text(Command::new(&exe).env_remove("LD_LIBRARY_PATH").arg(&clip).arg("2"));
    assert!(read.contains("96x64"), "{read}");
}
