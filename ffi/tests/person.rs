//! The C ABI's person matte (`MB_SCREEN_PERSON`): a host that sets nothing
//! but the environment (as a plugin host would) gets the same composite as
//! the core's shot compositor, a person matte from `mb_key`, and clear
//! errors when the model is missing or the options ask for a screen. One
//! test: it sets the process environment.

use std::ffi::CStr;
use std::path::PathBuf;

use mattebox::*;
use mattebox_core::composite::{CompositeOptions, MatteFrom, PersonKey, ShotCompositor, ShotOutput};
use mattebox_core::consistency::models::PersonSegmenter;
use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::{Frame, PixelFormat};
use support::image;

mod support;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn last_error() -> String {
    // SAFETY: the library keeps the message alive until the next call on this thread.
    unsafe { CStr::from_ptr(mb_last_error_message()) }.to_string_lossy().into_owned()
}

/// scikit-image's astronaut (a real person in a room), as RGBA8, with its
/// pixels nudged by `seed` so that each frame differs as a camera's do.
fn astronaut(seed: u8) -> Frame {
    let path = root().join("target/tools/calibration/astronaut.png");
    assert!(path.exists(), "{} is missing: run `bash .ci/setup`", path.display());
    let mut frame = MediaReader::open(&path, &OpenOptions::default()).unwrap().read_frame(0).unwrap();
    if frame.format() != PixelFormat::Rgba8 {
        frame = frame.to_format(PixelFormat::Rgba8).unwrap();
    }
    for (i, v) in frame.as_bytes_mut().iter_mut().enumerate() {
        if i % 4 != 3 && (i / 4 + seed as usize).is_multiple_of(7) {
            *v = v.saturating_add(2);
        }
    }
    frame
}

#[test]
fn a_host_gets_the_person_matte_from_the_environment() {
    let library = root().join("target/tools/onnxruntime/libonnxruntime.so");
    let models = root().join("../shared/models");
    assert!(library.exists(), "run `bash .ci/setup`");
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: this binary's only test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("MATTEBOX_ONNXRUNTIME", &library);
        std::env::set_var("MATTEBOX_MODELS", dir.path().join("nowhere"));
    }
    let frames: Vec<Frame> = (0..3).map(astronaut).collect();
    let (w, h) = (frames[0].width(), frames[0].height());
    let mut sky = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
    sky.view_mut().fill([0.3, 0.5, 0.9, 1.0]);
    // SAFETY: every pointer below points at live, correctly sized memory.
    unsafe {
        let mut rt = std::ptr::null_mut();
        assert_eq!(mb_runtime_new(std::ptr::null(), &mut rt), mb_result::Ok);
        let mut key = std::mem::zeroed::<mb_key_options>();
        assert_eq!(mb_key_options_init(&mut key), mb_result::Ok);
        key.screen = MB_SCREEN_PERSON;
        let mut composite = std::mem::zeroed::<mb_composite_options>();
        assert_eq!(mb_composite_options_init(&mut composite), mb_result::Ok);
        let mut state = std::ptr::null_mut();
        // The model's folder holds no model: said, with where to put one.
        assert_ne!(mb_compositor_new(&key, &composite, &mut state), mb_result::Ok);
        assert!(state.is_null());
        let said = last_error();
        assert!(said.contains("nowhere/selfie.onnx") && said.contains("person segmentation"), "{said}");

        std::env::set_var("MATTEBOX_MODELS", &models);
        key.clip_black = 0.2;
        assert_eq!(mb_compositor_new(&key, &composite, &mut state), mb_result::InvalidArgument);
        assert!(last_error().contains("MB_CLIP_AUTO"), "{}", last_error());
        key.clip_black = MB_CLIP_AUTO;
        assert_eq!(mb_compositor_new(&key, &composite, &mut state), mb_result::Ok);

        // The core's compositor with the same model renders the same bytes.
        let model = PersonSegmenter::shared(&models.join("selfie.onnx"), Some(&library)).unwrap();
        let person = PersonKey { model, cleanup: Default::default() };
        let mut core = ShotCompositor::new(MatteFrom::Person(person), CompositeOptions::default(), false).unwrap();
        let bg = image(&sky);
        for (k, plate) in frames.iter().enumerate() {
            let out = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
            let (plate_image, out_image) = (image(plate), image(&out));
            let status = mb_compositor_render(rt, state, &plate_image, std::ptr::null(), &bg, &out_image);
            assert_eq!(status, mb_result::Ok, "frame {k}: {}", last_error());
            let mut expected = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
            core.render(k as u64, &plate.view(), None, &sky.view(), ShotOutput::Composite, &mut expected.view_mut())
                .unwrap();
            let differing = out.as_bytes().iter().zip(expected.as_bytes()).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "frame {k}: {differing} bytes differ from the core's");
            // Her face is kept; the room's top-right corner is the sky.
            let at = |x: u32, y: u32| &out.as_bytes()[((y * w + x) * 4) as usize..][..3];
            assert_eq!(at(235, 128), &plate.as_bytes()[((128 * w + 235) * 4) as usize..][..3], "frame {k}");
            assert!(at(490, 20)[2] > 200 && at(490, 20)[0] < 180, "frame {k}: {:?}", at(490, 20));
        }
        let mut screen = std::mem::zeroed::<mb_screen_info>();
        assert_eq!(mb_compositor_screen(state, &mut screen), mb_result::InvalidArgument);
        assert!(last_error().contains("finds a person"), "{}", last_error());
        mb_compositor_free(state);

        // One frame's matte, and no screen to report.
        let matte = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        let (plate_image, matte_image) = (image(&frames[0]), image(&matte));
        assert_eq!(mb_key(rt, &plate_image, &key, &matte_image, &mut screen), mb_result::InvalidArgument);
        assert!(last_error().contains("screen_out"), "{}", last_error());
        assert_eq!(mb_key(rt, &plate_image, &key, &matte_image, std::ptr::null_mut()), mb_result::Ok);
        let grey = |x: u32, y: u32| matte.as_bytes()[((y * w + x) * 4) as usize];
        assert!(grey(235, 128) == 255 && grey(490, 20) == 0, "{} {}", grey(235, 128), grey(490, 20));
        mb_runtime_free(rt);
    }
}
