//! Consistency scoring speed: a 5-second 1080p shot (120 frames, a camera
//! move over a still made by the built-in generator) scored with the
//! default backend, and with the model backend when built with `onnx`
//! (models from `../shared/models`, ONNX Runtime from `.ci/setup`).
//!
//! Run: `cargo bench -p mattebox-core --features media,onnx --bench consistency`
//! (`MB_BENCH_THREADS` sets the worker threads, default 2).

use std::time::Instant;

use mattebox_core::consistency::ShotScorer;
use mattebox_core::generate::{BuiltinGenerator, render_take};
use mattebox_core::shot::{CameraMotion, ImageInput, ShotRequest};
use mattebox_core::{Rational, Runtime, RuntimeConfig};

fn main() {
    let threads = std::env::var("MB_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let runtime = Runtime::new(RuntimeConfig { threads, ..Default::default() }).unwrap();
    let generator = BuiltinGenerator::default();
    let mut still = ShotRequest::new("dusk");
    (still.width, still.height, still.duration) = (1920, 1080, Rational::new(1, 24).unwrap());
    let plate = render_take(&generator, &still, 0, &runtime).unwrap().0.remove(0);
    let mut request = ShotRequest::new("");
    (request.width, request.height, request.fps, request.duration) =
        (1920, 1080, Rational::integer(24), Rational::integer(5));
    request.first_frame = Some(ImageInput::new("plate", plate));
    request.camera = CameraMotion { horizontal: 0.5, zoom: 0.2, ..Default::default() };
    let (frames, _) = render_take(&generator, &request, 0, &runtime).unwrap();
    assert_eq!(frames.len(), 120);
    let measure = |backend: &str, make: &(dyn Fn() -> ShotScorer + Sync)| {
        let mut runs: Vec<f64> = (0..3)
            .map(|_| {
                let started = Instant::now();
                let scores = runtime
                    .install(|| {
                        let mut scorer = make();
                        for f in &frames {
                            scorer.push(&f.view())?;
                        }
                        scorer.finish()
                    })
                    .unwrap();
                let seconds = started.elapsed().as_secs_f64();
                println!("  run: {seconds:.2} s, scores {:?}", scores.scores);
                seconds
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        println!(
            "consistency, {backend} backend: 120 frames of 1920x1080 in {:.2} s (median of 3, {threads} threads), {:.1} ms/frame",
            runs[1],
            runs[1] * 1e3 / 120.0
        );
    };
    measure("default", &ShotScorer::new);
    #[cfg(feature = "onnx")]
    {
        use mattebox_core::consistency::models::{ModelBackend, ModelFiles};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = ModelFiles::in_dir(&root.join("../shared/models"));
        files.library = Some(root.join("target/tools/onnxruntime/libonnxruntime.so"));
        let models = std::sync::Arc::new(runtime.install(|| ModelBackend::load(&files)).unwrap());
        measure("onnx", &|| ShotScorer::with_models(models.clone()));
    }
}
