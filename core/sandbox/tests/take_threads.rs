//! A take stopped at its deadline releases its thread and its memory at
//! once, even while the adapter sleeps in WASI, where epoch interruption
//! cannot reach it (attack 8 of issue 22: a long-lived host such as an
//! OFX plugin kept such threads forever). Its own test binary, so the
//! adapter threads it counts are its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mattebox_core::generate::{Generations, TakeCache};
use mattebox_core::shot::ShotRequest;
use mattebox_core::{Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};

#[path = "common/guests.rs"]
mod guests;

/// Threads of this process whose name says they run an adapter.
fn adapter_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("mattebox-adapte"))
        .count()
}

#[test]
fn a_take_past_its_deadline_ends_its_thread_even_in_a_wasi_sleep() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&guests::guests().hostile, dir.path().join("hostile.wasm")).unwrap();
    std::fs::write(
        dir.path().join("adapter.toml"),
        "id = \"hostile\"\nname = \"H\"\nversion = \"0.1.0\"\nwit = \"mattebox:generator@0.1.0\"\n\
         component = \"hostile.wasm\"\n[limits]\ndeadline_seconds = 2\n",
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
    for mode in ["sleep", "spin"] {
        r.extras.insert("mode".into(), mode.into());
        let err = generations.submit("hostile", r.clone(), 1).unwrap().results().remove(0).unwrap_err();
        assert!(err.to_string().contains("deadline"), "{mode}: {err}");
        // The take has ended; its adapter thread ends with it (allow it the
        // moment it takes to unwind, not the hour it asked to sleep).
        let ended = Instant::now();
        while adapter_threads() > 0 {
            assert!(ended.elapsed() < Duration::from_secs(10), "{mode}: the adapter's thread outlived its take");
            std::thread::yield_now();
        }
    }
}
