//! What the sandbox costs: loading an adapter (compiling, or from the
//! compiled cache), a take's fixed overhead (a fresh instance and a call),
//! one guest-to-host call, and moving 1080p frames out of the guest
//! compared with a plain memcpy of the same bytes.
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
        "id = \"hostile\"\nname = \"H\"\nversion = \"0.1.0\"\nwit = \"mattebox:generator@0.1.0\"\n\
         component = \"hostile.wasm\"\n[secrets]\nnames = [\"TOKEN\"]\n[limits]\nmemory_mib = 512\n",
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

fn main() {
    let wasm = &guests::guests().hostile;
    let runtime = Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), wasm);
    let size = std::fs::metadata(wasm).unwrap().len();
    println!("hostile.wasm: {} KB", size / 1024);

    let cold: Vec<f64> = (0..3)
        .map(|_| {
            let cache = tempfile::tempdir().unwrap();
            let started = Instant::now();
            WasmAdapter::load(dir.path(), &SandboxPolicy::new(cache.path())).unwrap();
            started.elapsed().as_secs_f64()
        })
        .collect();
    let cache = tempfile::tempdir().unwrap();
    let policy = SandboxPolicy::new(cache.path());
    WasmAdapter::load(dir.path(), &policy).unwrap();
    let warm: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            WasmAdapter::load(dir.path(), &policy).unwrap();
            started.elapsed().as_secs_f64()
        })
        .collect();
    println!("load, compiling (Cranelift):      {:8.1} ms", median(cold) * 1e3);
    println!("load, from the compiled cache:    {:8.1} ms", median(warm) * 1e3);

    let adapter = WasmAdapter::load(dir.path(), &policy).unwrap();
    let take = |r: &ShotRequest| {
        let started = Instant::now();
        dry_run(&adapter, r, 0, &runtime).unwrap();
        started.elapsed().as_secs_f64()
    };
    let tiny = request("ok", 2, 2, 1, 0);
    let overhead = median((0..20).map(|_| take(&tiny)).collect());
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
