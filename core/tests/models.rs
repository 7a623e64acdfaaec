//! The model backend on real photos (scikit-image's calibration set) with
//! the real ONNX Runtime (the PyPI wheel's library, from `.ci/setup`) and
//! the shared MediaPipe models: faces where faces are, people where people
//! are, and clear errors for files that are not the models they claim.

#![cfg(all(feature = "onnx", feature = "media"))]

use std::path::PathBuf;
use std::sync::Arc;

use mattebox_core::consistency::models::{ModelBackend, ModelFiles};
use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::{ErrorKind, Frame};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files() -> ModelFiles {
    let mut files = ModelFiles::in_dir(&root().join("../shared/models"));
    files.library = Some(root().join("target/tools/onnxruntime/libonnxruntime.so"));
    assert!(files.library.as_ref().unwrap().exists(), "run `bash .ci/setup` for libonnxruntime.so");
    files
}

fn photo(name: &str) -> Frame {
    let path = root().join("target/tools/calibration").join(name);
    MediaReader::open(&path, &OpenOptions::default()).unwrap().read_frame(0).unwrap()
}

#[test]
fn faces_and_people_are_found_where_they_are() {
    let models = ModelBackend::load(&files()).unwrap();
    // scikit-image's astronaut: Eileen Collins' face is around (235, 95) of
    // 512 x 512, about 100 px across.
    let astronaut = photo("astronaut.png");
    let face = models.find_face(&astronaut.view()).unwrap().expect("a face on the astronaut photo");
    assert!((face.x - 235.0).abs() < 40.0 && (face.y - 100.0).abs() < 40.0, "{face:?}");
    assert!(face.width > 50.0 && face.width < 200.0, "{face:?}");
    let (w, h, person) = models.person_probability(&astronaut.view()).unwrap();
    let at = |x: f32, y: f32| person[(y * h as f32) as usize * w as usize + (x * w as f32) as usize];
    assert!(at(0.46, 0.25) > 0.5, "her face is a person: {}", at(0.46, 0.25));
    assert!(at(0.95, 0.05) < 0.5, "the top-right corner is not: {}", at(0.95, 0.05));
    // A photo of coffee has no face.
    assert!(models.find_face(&photo("coffee.png").view()).unwrap().is_none());
}

#[test]
fn files_that_are_not_the_models_they_claim_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"this is not a protobuf").unwrap();
    let mut bad = files();
    bad.faces = junk.clone();
    let err = ModelBackend::load(&bad).unwrap_err();
    assert!(err.to_string().contains("junk.onnx") && err.to_string().contains("face detection"), "{err}");
    // The selfie model as an embedding model: NHWC where NCHW is wanted.
    let mut bad = files();
    bad.embedding = Some(bad.segmentation.clone());
    let err = ModelBackend::load(&bad).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("image embedding") && err.to_string().contains("[1, 3, -1, -1]"), "{err}");
    let mut bad = files();
    bad.segmentation = dir.path().join("missing.onnx");
    let err = ModelBackend::load(&bad).unwrap_err();
    assert!(err.to_string().contains("missing.onnx"), "{err}");
}

#[test]
fn a_shot_scored_through_the_models_sees_the_person() {
    let models = Arc::new(ModelBackend::load(&files()).unwrap());
    let astronaut = photo("astronaut.png");
    let mut scorer = mattebox_core::consistency::ShotScorer::with_models(models);
    for _ in 0..3 {
        scorer.push(&astronaut.view()).unwrap();
    }
    let scores = scorer.finish().unwrap();
    assert_eq!(scores.backend, "onnx");
    assert!(scores.looks.iter().all(|l| l.face.is_some()), "the face is described in every frame");
    assert!(scores.scores.subject > 0.95, "{:?}", scores.scores);
}

/// A tiny but real ONNX model written out by hand: input `x` float32
/// [1, 3, H, W] -> GlobalAveragePool -> Flatten -> `y` [1, 3], the mean
/// colour: an image embedding a hue change moves.
fn mean_colour_model(height: i64, width: i64) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
        varint(out, number << 3 | 2);
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }
    fn int(out: &mut Vec<u8>, number: u64, v: u64) {
        varint(out, number << 3);
        varint(out, v);
    }
    let value_info = |name: &str, dims: &[i64]| {
        let mut shape = Vec::new();
        for d in dims {
            let mut dim = Vec::new();
            int(&mut dim, 1, *d as u64);
            field(&mut shape, 1, &dim);
        }
        let mut tensor = Vec::new();
        int(&mut tensor, 1, 1); // FLOAT
        field(&mut tensor, 2, &shape);
        let mut ty = Vec::new();
        field(&mut ty, 1, &tensor);
        let mut info = Vec::new();
        field(&mut info, 1, name.as_bytes());
        field(&mut info, 2, &ty);
        info
    };
    let node = |input: &str, output: &str, op: &str| {
        let mut n = Vec::new();
        field(&mut n, 1, input.as_bytes());
        field(&mut n, 2, output.as_bytes());
        field(&mut n, 3, op.as_bytes());
        field(&mut n, 4, op.as_bytes());
        n
    };
    let mut graph = Vec::new();
    field(&mut graph, 1, &node("x", "pooled", "GlobalAveragePool"));
    field(&mut graph, 1, &node("pooled", "y", "Flatten"));
    field(&mut graph, 2, b"mean_colour");
    field(&mut graph, 11, &value_info("x", &[1, 3, height, width]));
    field(&mut graph, 12, &value_info("y", &[1, 3]));
    let mut opset = Vec::new();
    field(&mut opset, 1, b"");
    int(&mut opset, 2, 13);
    let mut model = Vec::new();
    int(&mut model, 1, 8); // IR version
    field(&mut model, 8, &opset);
    field(&mut model, 7, &graph);
    model
}

#[test]
fn a_user_embedding_model_gives_vbench_consistency_and_a_wrong_shape_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("mean_colour.onnx");
    std::fs::write(&good, mean_colour_model(224, 224)).unwrap();
    let mut with_embedding = files();
    with_embedding.embedding = Some(good);
    let models = Arc::new(ModelBackend::load(&with_embedding).unwrap());
    assert!(models.has_embedder());
    let (astronaut, camera) = (photo("astronaut.png"), photo("camera.png"));
    let score = |frames: &[&Frame]| {
        let mut scorer = mattebox_core::consistency::ShotScorer::with_models(models.clone());
        for f in frames {
            scorer.push(&f.view()).unwrap();
        }
        scorer.finish().unwrap()
    };
    let steady = score(&[&astronaut, &astronaut, &astronaut, &astronaut]);
    assert!(steady.looks.iter().all(|l| l.frame_embedding.as_ref().is_some_and(|e| e.len() == 3)));
    assert!(steady.scores.background > 0.99, "{:?}", steady.scores);
    let swapped = score(&[&astronaut, &astronaut, &camera, &camera]);
    assert!(swapped.scores.background < steady.scores.background - 0.01, "{:?}", swapped.scores);

    let oblong = dir.path().join("oblong.onnx");
    std::fs::write(&oblong, mean_colour_model(224, 200)).unwrap();
    let mut bad = files();
    bad.embedding = Some(oblong);
    let err = ModelBackend::load(&bad).unwrap_err();
    assert!(err.to_string().contains("wants 224x200"), "{err}");
}
