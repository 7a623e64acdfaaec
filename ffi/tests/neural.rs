//! The C ABI's neural mode: a host that sets nothing but the environment
//! (as a plugin host would) gets RIFE's frame, equal to the reference
//! implementation's (core/tests/fixtures/rife/), and a clear error when the
//! model is missing or cannot make the times a retime needs. One test: it
//! sets the process environment.

use std::ffi::CStr;
use std::path::PathBuf;

use mattebox::*;
use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::{Frame, PixelFormat};
use support::image;

mod support;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> Frame {
    let path = root().join("core/tests/fixtures/rife").join(name);
    MediaReader::open(&path, &OpenOptions::default()).unwrap().read_frame(0).unwrap()
}

fn last_error() -> String {
    // SAFETY: the library keeps the message alive until the next call on this thread.
    unsafe { CStr::from_ptr(mb_last_error_message()) }.to_string_lossy().into_owned()
}

fn request(to_fps: i64) -> mb_retime_request {
    // SAFETY: all-zero is a valid mb_retime_request (null curve, zero counts).
    let mut request = unsafe { std::mem::zeroed::<mb_retime_request>() };
    request.struct_size = std::mem::size_of::<mb_retime_request>() as u32;
    request.kind = MB_RETIME_FRAME_RATE;
    (request.source_rate_num, request.source_rate_den) = (24, 1);
    request.source_frames = 2;
    (request.value_num, request.value_den) = (to_fps, 1);
    request
}

#[test]
fn a_host_gets_rife_from_the_environment() {
    let tools = root().join("target/tools");
    let library = tools.join("onnxruntime/libonnxruntime.so");
    assert!(library.exists() && tools.join("rife/rife-4.onnx").exists(), "run `bash .ci/setup`");
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: this binary's only test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("MATTEBOX_ONNXRUNTIME", &library);
        std::env::set_var("MATTEBOX_RIFE_MODEL", dir.path().join("nowhere.onnx"));
    }
    let (a, b) = (fixture("a.png"), fixture("b.png"));
    let (w, h) = (a.width(), a.height());
    // SAFETY: every pointer below points at live, correctly sized memory.
    unsafe {
        let mut rt = std::ptr::null_mut();
        assert_eq!(mb_runtime_new(std::ptr::null(), &mut rt), mb_result::Ok);
        let mut retimer = std::ptr::null_mut();
        assert_ne!(mb_shot_retimer_new(&request(48), MB_INTERP_MODE_NEURAL, &mut retimer), mb_result::Ok);
        assert!(retimer.is_null());
        assert!(last_error().contains("nowhere.onnx"), "{}", last_error());

        std::env::set_var("MATTEBOX_RIFE_MODEL", tools.join("rife/rife-hdv3.onnx"));
        assert_eq!(mb_shot_retimer_new(&request(60), MB_INTERP_MODE_NEURAL, &mut retimer), mb_result::Unsupported);
        assert!(last_error().contains("halfway"), "{}", last_error());

        std::env::set_var("MATTEBOX_RIFE_MODEL", tools.join("rife/rife-4.onnx"));
        assert_eq!(mb_shot_retimer_new(&request(48), MB_INTERP_MODE_NEURAL, &mut retimer), mb_result::Ok);
        let (mut first, mut needed) = (0, 0);
        assert_eq!(mb_shot_retimer_frames_needed(retimer, 1, &mut first, &mut needed), mb_result::Ok);
        assert_eq!((first, needed), (0, 2));
        let sources = [image(&a), image(&b)];
        let out = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        let mut step = 0;
        let status = mb_shot_retimer_render(rt, retimer, 1, sources.as_ptr(), 2, &image(&out), &mut step);
        assert_eq!(status, mb_result::Ok, "{}", last_error());
        assert_eq!(step, MB_RETIME_STEP_BETWEEN);
        let expected = fixture("rife4-t50.png");
        let worst = out.as_bytes().iter().zip(expected.as_bytes()).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
        assert!(worst <= 1, "{worst} steps from the reference implementation's frame");
        mb_shot_retimer_free(retimer);
        mb_runtime_free(rt);
    }
}
