//! The C ABI's person matte (`MB_SCREEN_PERSON`): a host that sets nothing
//! but the environment (as a plugin host would) gets the same composite as
//! the core's shot compositor, a person matte from `mb_key`, and clear
//! errors when the model is missing or the options ask for a screen; and a
//! screen key keeping the person solid (`mb_compositor_keep_person`) as the
//! core's does. One test: it sets the process environment.

use std::ffi::CStr;
use std::path::PathBuf;

use mattebox::*;
use mattebox_core::composite::{CompositeOptions, KeyOptions, MatteFrom, PersonKey, ShotCompositor, ShotOutput};
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

        // Keeping the person inside a screen key: she stands on blue in a
        // suit with a patch of darker screen blue no key can call her.
        let on_blue: Vec<Frame> = frames
            .iter()
            .map(|astronaut| {
                let mut plate = astronaut.clone();
                let pixels = plate.as_bytes_mut().chunks_exact_mut(4).zip(matte.as_bytes().chunks_exact(4));
                for (i, (px, m)) in pixels.enumerate() {
                    let (x, y) = (i as u32 % w, i as u32 / w);
                    let patch = (215..295).contains(&x) && (360..430).contains(&y);
                    let (alpha, under) =
                        if patch { (1.0, [0x10, 0x28, 0x7A]) } else { (m[0] as f32 / 255.0, [0x1A, 0x40, 0xCC]) };
                    let over = if patch { under } else { [px[0], px[1], px[2]] };
                    for c in 0..3 {
                        px[c] = (alpha * over[c] as f32 + (1.0 - alpha) * under[c] as f32).round() as u8;
                    }
                }
                plate
            })
            .collect();
        let mut red = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        red.view_mut().fill([0.9, 0.1, 0.05, 1.0]);
        let (red_image, mut keyed) = (image(&red), std::mem::zeroed::<mb_key_options>());
        assert_eq!(mb_key_options_init(&mut keyed), mb_result::Ok);
        // Renders the shot through a new keyed compositor, keeping the
        // person or not; the patch's red (the background's) on each frame.
        let patch_red = |keep: bool| -> (Vec<Frame>, Vec<u8>) {
            let mut state = std::ptr::null_mut();
            assert_eq!(mb_compositor_new(&keyed, &composite, &mut state), mb_result::Ok);
            if keep {
                assert_eq!(mb_compositor_keep_person(state), mb_result::Ok, "{}", last_error());
            }
            let mut outs = Vec::new();
            for (k, plate) in on_blue.iter().enumerate() {
                let out = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
                let status = mb_compositor_render(rt, state, &image(plate), std::ptr::null(), &red_image, &image(&out));
                assert_eq!(status, mb_result::Ok, "frame {k}: {}", last_error());
                outs.push(out);
            }
            if keep {
                // Too late once a frame is rendered: the shot would change midway.
                assert_eq!(mb_compositor_keep_person(state), mb_result::InvalidArgument);
                assert!(last_error().contains("before the first"), "{}", last_error());
            }
            mb_compositor_free(state);
            let reds = outs.iter().map(|o| o.as_bytes()[((395 * w + 255) * 4) as usize]).collect();
            (outs, reds)
        };
        let (_, alone) = patch_red(false);
        let (kept, held) = patch_red(true);
        assert!(alone.iter().all(|&r| r > 100), "the key alone holds the patch: red {alone:?}");
        assert!(held.iter().all(|&r| r < 40), "the kept person lets the background through: red {held:?}");
        // The same bytes as the core's compositor keeping the same model's person.
        let mut core =
            ShotCompositor::new(MatteFrom::Key(KeyOptions::default()), CompositeOptions::default(), false).unwrap();
        core.keep_person(PersonSegmenter::shared(&models.join("selfie.onnx"), Some(&library)).unwrap());
        for (k, (plate, out)) in on_blue.iter().zip(&kept).enumerate() {
            let mut expected = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
            core.render(k as u64, &plate.view(), None, &red.view(), ShotOutput::Composite, &mut expected.view_mut())
                .unwrap();
            let differing = out.as_bytes().iter().zip(expected.as_bytes()).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "kept, frame {k}: {differing} bytes differ from the core's");
        }
        // Only for a screen key, and only with a model to find.
        let mut state = std::ptr::null_mut();
        assert_eq!(mb_compositor_new(&key, &composite, &mut state), mb_result::Ok);
        assert_eq!(mb_compositor_keep_person(state), mb_result::InvalidArgument);
        assert!(last_error().contains("finds a person"), "{}", last_error());
        mb_compositor_free(state);
        assert_eq!(mb_compositor_new(std::ptr::null(), &composite, &mut state), mb_result::Ok);
        assert_eq!(mb_compositor_keep_person(state), mb_result::InvalidArgument);
        assert!(last_error().contains("host's matte"), "{}", last_error());
        mb_compositor_free(state);
        std::env::set_var("MATTEBOX_MODELS", dir.path().join("nowhere"));
        assert_eq!(mb_compositor_new(&keyed, &composite, &mut state), mb_result::Ok);
        assert_ne!(mb_compositor_keep_person(state), mb_result::Ok);
        assert!(last_error().contains("nowhere/selfie.onnx"), "{}", last_error());
        mb_compositor_free(state);
        assert_eq!(mb_compositor_keep_person(std::ptr::null_mut()), mb_result::NullPointer);
        mb_runtime_free(rt);
    }
}
