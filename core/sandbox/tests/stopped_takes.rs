//! A take stopped at its deadline lets go of its memory at once, even
//! while the adapter sleeps in WASI, where epoch interruption cannot reach
//! it (attack 8 of issue 22: a long-lived host such as an OFX plugin kept
//! such takes, and their memory, for as long as the adapter slept). Its own
//! test binary, so the memory it watches is this take's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mattebox_core::generate::{Generations, TakeCache};
use mattebox_core::shot::ShotRequest;
use mattebox_core::{Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};

#[path = "common/guests.rs"]
mod guests;

/// This process's resident memory, bytes.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn a_take_past_its_deadline_releases_its_memory_even_in_a_wasi_sleep() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&guests::guests().hostile, dir.path().join("hostile.wasm")).unwrap();
    std::fs::write(
        dir.path().join("adapter.toml"),
        "id = \"hostile\"\nname = \"H\"\nversion = \"0.1.0\"\nwit = \"mattebox:generator@0.2.1\"\n\
         component = \"hostile.wasm\"\n[limits]\nmemory_mib = 256\ndeadline_seconds = 2\n",
    )
    .unwrap();
    let mut policy = SandboxPolicy::new(dir.path().join("cache"));
    policy.state_dir = Some(dir.path().join("state"));
    let adapter = WasmAdapter::load(dir.path(), &policy).unwrap();
    let runtime = Arc::new(Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap());
    let generations = Generations::with_cache(runtime, TakeCache::new(dir.path().join("takes")));
    generations.register(Arc::new(adapter));
    let mut r = ShotRequest::new("");
    (r.width, r.height, r.fps, r.duration) = (8, 8, Rational::integer(10), Rational::integer(1));
    for mode in ["spin", "hoard-sleep"] {
        r.extras.insert("mode".into(), mode.into());
        let before = resident();
        let err = generations.submit("hostile", r.clone(), 1).unwrap().results().remove(0).unwrap_err();
        assert!(err.to_string().contains("deadline"), "{mode}: {err}");
        // The take has ended; the 96 MiB its adapter holds go with it (allow
        // the moment dropping takes, not the hour the adapter asked to sleep).
        let ended = Instant::now();
        while resident() > before + (32 << 20) {
            let held = (resident() - before) >> 20;
            assert!(ended.elapsed() < Duration::from_secs(10), "{mode}: {held} MiB outlived the take");
            std::thread::yield_now();
        }
    }
}
