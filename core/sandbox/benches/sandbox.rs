//! What the sandbox costs: loading an adapter (compiling; from the compiled
//! cache on disk, checked, in a fresh process; again in the same process),
//! a take's fixed overhead (a fresh instance and a call), one guest-to-host
//! call, and moving 1080p frames out of the guest compared with a plain
//! memcpy of the same bytes.
//!
//! Run: `cargo bench -p mattebox-sandbox --bench sandbox`

use std::path::Path;
use std::time::Instant;

use mattebox_core::generate::dry_run;
use mattebox_core::shot::ShotRequest;
use mattebox_core::{Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};

#[path = "../tests/common/guests.rs"]
mod guests;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn install(dir: &Path, wasm: &Path) {
    std::fs::copy(wasm, dir.join("hostile.wasm")).unwrap();
    std::fs::write(
        dir.join("adapter.toml"),
        "id = \"hostile\"\nname = \"H\"\nversion = \"0.1.0\"\nwit = \"mattebox:generator@0.2.1\"\n\
         component = \"hostile.wasm\"\nsecrets = [{ name = \"TOKEN\", origins = [\"https://example.com\"] }]\n\
         [network]\norigins = [\"https://example.com\"]\n[limits]\nmemory_mib = 512\n",
    )
    .unwrap();
}

fn request(mode: &str, w: u32, h: u32, frames: i64, n: u32) -> ShotRequest {
    let mut r = ShotRequest::new("");
    (r.width, r.height, r.fps, r.duration) = (w, h, Rational::integer(frames), Rational::integer(1));
    r.extras.insert("mode".into(), mode.into());
    r.extras.insert("n".into(), n.to_string());
    r
}

/// In a child process: one load, timed, printed in seconds. The engine is
/// started first (by a component that does not compile), as in a host that
/// has loaded anything before: the figure is the adapter's own cost.
fn load_once(spec: &str) {
    let (dir, cache) = spec.split_once('\n').unwrap();
    let policy = SandboxPolicy::new(cache);
    let junk = tempfile::tempdir().unwrap();
    let empty = junk.path().join("empty.wasm");
    std::fs::write(&empty, b"").unwrap();
    install(junk.path(), &empty);
    assert!(WasmAdapter::load(junk.path(), &policy).is_err());
    let started = Instant::now();
    WasmAdapter::load(Path::new(dir), &policy).unwrap();
    println!("{}", started.elapsed().as_secs_f64());
}

fn main() {
    if let Ok(spec) = std::env::var("MATTEBOX_BENCH_LOAD_ONCE") {
        return load_once(&spec);
    }
    let wasm = &guests::guests().hostile;
    let runtime = Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), wasm);
    let size = std::fs::metadata(wasm).unwrap().len();
    println!("hostile.wasm: {} KB", size / 1024);

    let cache = tempfile::tempdir().unwrap();
    let policy = SandboxPolicy::new(cache.path());
    let in_fresh_process = |cache: &Path| -> f64 {
        let spec = format!("{}\n{}", dir.path().display(), cache.display());
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("MATTEBOX_BENCH_LOAD_ONCE", spec)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let cold: Vec<f64> = (0..3).map(|_| in_fresh_process(tempfile::tempdir().unwrap().path())).collect();
    in_fresh_process(cache.path());
    let fresh: Vec<f64> = (0..7).map(|_| in_fresh_process(cache.path())).collect();
    WasmAdapter::load(dir.path(), &policy).unwrap();
    let warm: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            WasmAdapter::load(dir.path(), &policy).unwrap();
            started.elapsed().as_secs_f64()
        })
        .collect();
    println!("load, compiling (Cranelift):      {:8.1} ms", median(cold) * 1e3);
    println!("load, from the disk cache, checked, first in a process: {:6.2} ms", median(fresh) * 1e3);
    println!("load again in the same process:   {:8.2} ms", median(warm) * 1e3);

    let adapter = WasmAdapter::load(dir.path(), &policy).unwrap();
    let take = |r: &ShotRequest| {
        let started = Instant::now();
        dry_run(&adapter, r, 0, &runtime).unwrap();
        started.elapsed().as_secs_f64()
    };
    let tiny = request("ok", 2, 2, 1, 0);
    let overhead = median((0..300).map(|_| take(&tiny)).collect());
    println!("take of one 2x2 frame (instance + call + emit): {:8.3} ms", overhead * 1e3);

    let n = 200_000;
    let with_calls = median((0..5).map(|_| take(&request("calls", 2, 2, 1, n))).collect());
    println!("guest-to-host call (has-secret):  {:8.1} ns", (with_calls - overhead) / n as f64 * 1e9);

    let frames = 48;
    let hd = request("ok", 1920, 1080, frames, 0);
    let per_take = median((0..3).map(|_| take(&hd)).collect());
    let per_frame = (per_take - overhead) / frames as f64;
    let bytes = 1920 * 1080 * 4;
    let (src, mut dst) = (vec![7u8; bytes], vec![0u8; bytes]);
    let copies: Vec<f64> = (0..20)
        .map(|_| {
            let started = Instant::now();
            dst.copy_from_slice(std::hint::black_box(&src));
            std::hint::black_box(&dst);
            started.elapsed().as_secs_f64()
        })
        .collect();
    let memcpy = median(copies);
    println!(
        "1080p RGBA8 frame out of the guest to the take: {:6.2} ms = {:4.1} memcpy ({:.2} ms each)",
        per_frame * 1e3,
        per_frame / memcpy,
        memcpy * 1e3
    );
}
