//! The Python example adapter (`examples/adapter-python`), built into a
//! component by componentize-py (installed by `.ci/setup` under
//! `target/tools`), run in the sandbox: a second guest language through
//! the same contract.

use std::process::Command;
use std::sync::Arc;

use mattebox_core::generate::{Generations, TakeCache};
use mattebox_core::media::MediaReader;
use mattebox_core::shot::{CameraMotion, Field, ShotRequest};
use mattebox_core::{Rational, Runtime, RuntimeConfig};
use mattebox_sandbox::{SandboxPolicy, WasmAdapter};

#[path = "common/guests.rs"]
mod guests;

/// Builds the adapter into `dir`, its manifest beside it.
fn build(dir: &std::path::Path) {
    let example = guests::repo().join("examples/adapter-python");
    let tool = guests::repo().join("target/tools/venv/bin/componentize-py");
    assert!(tool.exists(), "{} is missing: run `bash .ci/setup` (it installs componentize-py)", tool.display());
    let wasm = dir.join("checker.wasm");
    let status = Command::new(&tool)
        .arg("-d")
        .arg(guests::repo().join("plugins/wit"))
        .args(["-w", "generator", "componentize", "app", "-o"])
        .arg(&wasm)
        .current_dir(&example)
        .status()
        .unwrap();
    assert!(status.success(), "componentize-py failed");
    std::fs::copy(example.join("adapter.toml"), dir.join("adapter.toml")).unwrap();
}

#[test]
fn a_python_adapter_makes_takes_in_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let adapter_dir = dir.path().join("adapter");
    std::fs::create_dir_all(&adapter_dir).unwrap();
    build(&adapter_dir);
    let mut policy = SandboxPolicy::new(dir.path());
    policy.state_dir = Some(dir.path().join("state"));
    let adapter = WasmAdapter::load(&adapter_dir, &policy).unwrap();
    let runtime = Arc::new(Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap());
    let generations = Generations::with_cache(runtime, TakeCache::new(dir.path().join("takes")));
    generations.register(Arc::new(adapter));
    let mut r = ShotRequest::new("ignored");
    (r.width, r.height, r.fps, r.duration, r.seed) = (48, 32, Rational::integer(4), Rational::integer(1), 5);
    r.camera = CameraMotion { roll: 1.0, pan: 0.2, ..Default::default() };
    let takes: Vec<_> =
        generations.submit("checker", r, 2).unwrap().results().into_iter().map(|t| t.unwrap()).collect();
    assert_eq!(takes[0].frames, 4);
    let fields: Vec<Field> = takes[0].deviations.iter().map(|d| d.field).collect();
    assert_eq!(fields, [Field::Prompt, Field::Camera]);
    let frame = |take: usize, n: u64| {
        MediaReader::open(&takes[take].media, &Default::default()).unwrap().read_frame(n).unwrap()
    };
    // Each take's colours come from its seed; the roll turns the board.
    assert_ne!(frame(0, 0).pixel_f32(0, 0), frame(1, 0).pixel_f32(0, 0));
    assert_ne!(frame(0, 0), frame(0, 3));
}
