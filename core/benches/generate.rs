//! The built-in generator at 1080p: frames per second for each of its
//! paths (a camera move over a still, a procedural plate, a morph), alone
//! and as a job that also stores the take in the cache.
//!
//! Run: `cargo bench -p mattebox-core --features media --bench generate`
//! (`MB_BENCH_THREADS` sets the worker threads, default 2).

use std::sync::Arc;
use std::time::Instant;

use mattebox_core::generate::{BuiltinGenerator, Generations, TakeCache, render_take};
use mattebox_core::shot::{CameraMotion, ImageInput, ShotRequest};
use mattebox_core::{Rational, Runtime, RuntimeConfig};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A 1920x1080 still to animate: the procedural plate's first frame.
fn still(runtime: &Runtime) -> ImageInput {
    let mut request = ShotRequest::new("dusk");
    (request.width, request.height, request.duration) = (1920, 1080, Rational::new(1, 24).unwrap());
    let (mut frames, _) = render_take(&BuiltinGenerator::default(), &request, 0, runtime).unwrap();
    ImageInput::new("plate.png", frames.remove(0))
}

fn main() {
    let threads = std::env::var("MB_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let runtime = Arc::new(Runtime::new(RuntimeConfig { threads, ..Default::default() }).unwrap());
    let generator = BuiltinGenerator::default();
    let first = still(&runtime);
    let mut last_frame = first.frame().clone();
    last_frame = {
        // The same plate seen from further right: a morph with real motion.
        let mut r = ShotRequest::new("dusk");
        (r.width, r.height, r.duration) = (1920, 1080, Rational::new(1, 24).unwrap());
        r.first_frame = Some(ImageInput::new("plate", last_frame));
        r.camera = CameraMotion { pan: 0.1, ..Default::default() };
        r.extras.insert("easing".into(), "linear".into());
        r.duration = Rational::new(2, 24).unwrap();
        render_take(&generator, &r, 0, &runtime).unwrap().0.pop().unwrap()
    };
    let base = {
        let mut r = ShotRequest::new("");
        (r.width, r.height, r.fps, r.duration) = (1920, 1080, Rational::integer(24), Rational::integer(2));
        r
    };
    let camera = CameraMotion { horizontal: 0.5, zoom: 0.3, ..Default::default() };
    let cases: Vec<(&str, ShotRequest)> = vec![
        ("still + truck + push", {
            let mut r = base.clone();
            (r.first_frame, r.camera) = (Some(first.clone()), camera);
            r
        }),
        ("still + pan only", {
            let mut r = base.clone();
            (r.first_frame, r.camera) = (Some(first.clone()), CameraMotion { pan: 0.5, ..Default::default() });
            r
        }),
        ("procedural + truck + push", {
            let mut r = base.clone();
            (r.prompt, r.camera) = ("dusk".into(), camera);
            r
        }),
        ("morph first -> last", {
            let mut r = base.clone();
            r.first_frame = Some(first.clone());
            r.last_frame = Some(ImageInput::new("last", last_frame.clone()));
            r
        }),
    ];
    println!("built-in generator, 1920x1080, 48 frames (2 s at 24 fps), {threads} threads, median of 3 runs");
    println!("{:<28} {:>10} {:>10}", "path", "fps", "ms/frame");
    for (name, request) in &cases {
        let runs: Vec<f64> = (0..3)
            .map(|_| {
                let started = Instant::now();
                let (frames, _) = render_take(&generator, request, 0, &runtime).unwrap();
                assert_eq!(frames.len(), 48);
                started.elapsed().as_secs_f64()
            })
            .collect();
        let s = median(runs);
        println!("{name:<28} {:>10.1} {:>10.1}", 48.0 / s, s * 1e3 / 48.0);
    }
    // As a job: generated, stored in the take cache (PNG), then served again.
    let dir = std::env::temp_dir().join(format!("mattebox-bench-generate-{}", std::process::id()));
    let generations = Generations::with_cache(runtime.clone(), TakeCache::new(&dir));
    let started = Instant::now();
    let take = generations.submit("builtin", cases[0].1.clone(), 1).unwrap().results().remove(0).unwrap();
    let job_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let again = generations.submit("builtin", cases[0].1.clone(), 1).unwrap().results().remove(0).unwrap();
    let cached_s = started.elapsed().as_secs_f64();
    assert!(again.from_cache);
    println!(
        "job, still + truck + push: {job_s:.2} s ({:.2} s generating, {:.2} s storing PNGs); served from the cache: {:.1} ms",
        take.timings.generate_seconds,
        take.timings.store_seconds,
        cached_s * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}
