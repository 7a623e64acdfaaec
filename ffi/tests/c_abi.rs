//! The C ABI as C and C++ programs see it: the misuse test under
//! AddressSanitizer and UndefinedBehaviorSanitizer, and the examples in
//! `examples/c` and `examples/cpp` (the C++ one with and without exceptions),
//! all compiled against `include/mattebox.h` and linked with the real
//! `libmattebox.so` that cargo built for this test run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../core/sandbox/tests/common/guests.rs"]
mod guests;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// The directory holding the libmattebox.so built for this run: `deps/`,
/// beside this test binary. (Cargo copies it up to the profile directory only
/// on `cargo build`, so the copy there may be stale.)
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().to_owned();
    assert!(dir.join("libmattebox.so").exists(), "libmattebox.so is not in {}", dir.display());
    dir
}

#[path = "../../core/tests/support/process.rs"]
mod process;

fn run(cmd: &mut Command) -> Output {
    // Cargo's own LD_LIBRARY_PATH for tests lists the profile directory,
    // which may hold a stale libmattebox.so; it would win over the rpath.
    cmd.env("LD_LIBRARY_PATH", lib_dir());
    process::ok(cmd)
}

fn compile(compiler: &str, source: &Path, out: &Path, extra: &[&str]) {
    let lib = lib_dir();
    let mut cmd = Command::new(compiler);
    cmd.args(["-Wall", "-Wextra", "-Werror", "-g"])
        .args(extra)
        .arg("-I")
        .arg(repo_root().join("ffi/include"))
        .arg(source)
        .arg("-o")
        .arg(out)
        .arg(format!("-L{}", lib.display()))
        .arg("-lmattebox")
        .arg(format!("-Wl,-rpath,{}", lib.display()));
    run(&mut cmd);
}

/// A 48-frame 320x240 H.264 clip at 24000/1001, made by the ffmpeg program.
fn make_clip(dir: &Path) -> PathBuf {
    let clip = dir.join("clip.mp4");
    run(Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .args(["testsrc2=size=320x240:rate=24000/1001", "-frames:v", "48", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&clip));
    clip
}

#[test]
fn misuse_of_every_entry_point_gives_error_codes_under_sanitizers() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path());
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, vec![0x42u8; 10_000]).unwrap();
    let truncated = dir.path().join("truncated.mp4");
    let whole = std::fs::read(&clip).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let cache = dir.path().join("cache");
    let adapter = &guests::guests().example;
    // The example installed as `sweep`, laid out as `mattebox plugin install` does.
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(plugins.join("sweep")).unwrap();
    std::fs::copy(adapter.join("target/wasm32-wasip2/release/sweep.wasm"), plugins.join("sweep/sweep.wasm")).unwrap();
    let manifest = std::fs::read_to_string(adapter.join("adapter.toml"))
        .unwrap()
        .replace("target/wasm32-wasip2/release/sweep.wasm", "sweep.wasm");
    std::fs::write(plugins.join("sweep/adapter.toml"), manifest).unwrap();
    // The hostile test adapter, whose `mode=source` hands a request's sound back.
    std::fs::create_dir_all(plugins.join("hostile")).unwrap();
    std::fs::copy(&guests::guests().hostile, plugins.join("hostile/hostile.wasm")).unwrap();
    std::fs::copy(repo_root().join("plugins/tests/hostile/adapter.toml"), plugins.join("hostile/adapter.toml"))
        .unwrap();
    let line = dir.path().join("line.wav");
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=300:duration=1"])
        .arg(&line));
    let exe = dir.path().join("abi_misuse");
    let source = repo_root().join("ffi/tests/c/abi_misuse.c");
    compile("cc", &source, &exe, &["-std=c11", "-fsanitize=address,undefined", "-fno-omit-frame-pointer"]);
    let out = run(Command::new(&exe)
        .arg(&clip)
        .arg(&junk)
        .arg(&truncated)
        .arg(&cache)
        .arg(adapter)
        .arg(&line)
        .env("MATTEBOX_PLUGIN_DIR", &plugins)
        .env("MATTEBOX_STATE_DIR", dir.path().join("state"))
        // Leak checking covers the whole process, Rust side included.
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("all checks passed"));
}

#[test]
fn misuse_test_covers_every_exported_function() {
    let out = run(Command::new("nm").args(["-D", "--defined-only"]).arg(lib_dir().join("libmattebox.so")));
    let exported: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|s| s.starts_with("mb_"))
        .map(str::to_owned)
        .collect();
    assert!(exported.len() >= 10, "expected the mb_ functions to be exported, found {exported:?}");
    let test = std::fs::read_to_string(repo_root().join("ffi/tests/c/abi_misuse.c")).unwrap();
    let header = std::fs::read_to_string(repo_root().join("ffi/include/mattebox.h")).unwrap();
    for name in &exported {
        assert!(test.contains(&format!("{name}(")), "abi_misuse.c never calls {name}; add its misuse cases");
        let declared = header.lines().any(|l| !l.trim_start().starts_with("//") && l.contains(&format!("{name}(")));
        assert!(declared, "{name} is exported but not declared in mattebox.h");
    }
}

#[test]
fn c_and_cpp_examples_build_and_read_a_frame() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path());
    let root = repo_root();
    let c_exe = dir.path().join("read_frame");
    compile("cc", &root.join("examples/c/read_frame.c"), &c_exe, &["-std=c11"]);
    let cpp_exe = dir.path().join("read_frame_cpp");
    compile("c++", &root.join("examples/cpp/read_frame.cpp"), &cpp_exe, &["-std=c++17"]);
    let cpp_noexc = dir.path().join("read_frame_cpp_noexc");
    compile(
        "c++",
        &root.join("examples/cpp/read_frame.cpp"),
        &cpp_noexc,
        &["-std=c++17", "-fno-exceptions", "-fno-rtti"],
    );

    let c_out = String::from_utf8(run(Command::new(&c_exe).arg(&clip).arg("47")).stdout).unwrap();
    assert!(c_out.contains("320x240, 48 frames at 24000/1001 fps, codec h264"), "{c_out}");
    assert!(c_out.contains("frame 47: 320x240"), "{c_out}");
    let c_pixel = c_out.lines().last().unwrap().split("centre pixel").nth(1).unwrap().to_owned();
    for exe in [&cpp_exe, &cpp_noexc] {
        let out = String::from_utf8(run(Command::new(exe).arg(&clip).arg("47")).stdout).unwrap();
        assert!(out.contains("320x240, 48 frames at 23.976 fps, codec h264"), "{out}");
        assert!(
            out.ends_with(&format!("centre pixel{c_pixel}\n")),
            "C and C++ read the same pixel: {out} vs {c_pixel}"
        );
    }
    // A missing file is an error message and exit code 1, not a crash.
    for exe in [&c_exe, &cpp_noexc] {
        let out =
            Command::new(exe).env("LD_LIBRARY_PATH", lib_dir()).arg(dir.path().join("nope.mov")).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("nope.mov"));
    }
}

#[test]
fn cpp_wrapper_classes_work_with_and_without_exceptions() {
    let dir = tempfile::tempdir().unwrap();
    let source = repo_root().join("ffi/tests/cpp/wrapper_test.cpp");
    for (name, flags) in
        [("with", &["-std=c++17"][..]), ("without", &["-std=c++17", "-fno-exceptions", "-fno-rtti"][..])]
    {
        let exe = dir.path().join(format!("wrapper_{name}"));
        compile("c++", &source, &exe, flags);
        let out = run(Command::new(&exe).env("MATTEBOX_CACHE_DIR", dir.path().join("cache")));
        assert!(String::from_utf8_lossy(&out.stdout).contains("all checks passed"), "{name} exceptions");
    }
}
