//! The C ABI renders a shot exactly as the command line's pipeline does:
//! both drive the core's one shot operation. Compared byte for byte at 8
//! bits:
//! - a composite that tracks the camera over a background larger than the
//!   plate (the case where the C ABI once moved the background before
//!   fitting it, in the background's pixels rather than the plate's);
//! - a retime across a real clip's cuts, one of which the two frames around
//!   it alone do not show (the case where a host that decided cuts pairwise
//!   interpolated across it);
//! - the consistency scores of that clip, from `mattebox score` and from the
//!   C ABI's scorer fed the same frames.

use std::path::Path;

use mattebox::*;
use mattebox_core::composite::{CompositeOptions, Fit, KeyOptions};
use mattebox_core::media::{MediaReader, MediaWriter, OpenOptions, WriteOptions};
use mattebox_core::pipeline::composite::{CompositeJob, MatteSource, WhenShorter};
use mattebox_core::pipeline::retime::RetimeJob;
use mattebox_core::{Frame, PixelFormat, Rational, Runtime, RuntimeConfig};
use support::image;

mod support;

#[path = "../../core/tests/support/cut_clip.rs"]
mod cut_clip;

const W: u32 = 96;
const H: u32 = 64;
const FRAMES: u32 = 8;

/// A green screen with dark tracking marks that pan 2 px a frame, and a
/// grey actor that stays put.
fn plate(k: u32) -> Frame {
    let mut f = Frame::new(W, H, PixelFormat::Rgba8).unwrap();
    let px = f.as_bytes_mut();
    for y in 0..H {
        for x in 0..W {
            let i = ((y * W + x) * 4) as usize;
            let (sx, sy) = (x + 2 * k, y);
            let mark = (sx % 16 < 3) && (sy % 16 < 3);
            let actor = (36..60).contains(&x) && (20..56).contains(&y);
            let rgb = if actor {
                [150, 120, 110]
            } else if mark {
                [30, 90, 40]
            } else {
                [40, 200, 60]
            };
            px[i..i + 4].copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
        }
    }
    f
}

/// A textured background half again as large as the plate.
fn background() -> Frame {
    let (w, h) = (W * 3 / 2, H * 3 / 2);
    let mut f = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
    let px = f.as_bytes_mut();
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 4) as usize;
            px[i..i + 4].copy_from_slice(&[(x * 5 % 256) as u8, (y * 7 % 256) as u8, ((x + y) * 3 % 256) as u8, 255]);
        }
    }
    f
}

fn write(path: &Path, frames: &[Frame]) {
    let options = WriteOptions::new(Rational::integer(24));
    let (w, h) = (frames[0].width(), frames[0].height());
    let mut writer = MediaWriter::create(path, w, h, PixelFormat::Rgba8, &options).unwrap();
    for f in frames {
        writer.write_frame(&f.view()).unwrap();
    }
    writer.finish().unwrap();
}

#[test]
fn a_tracked_composite_over_a_larger_background_matches_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let plates: Vec<Frame> = (0..FRAMES).map(plate).collect();
    let sky = background();
    // The command line's pipeline, file to file (FFV1: lossless RGB).
    let (plate_path, sky_path, out_path) =
        (dir.path().join("plate.mkv"), dir.path().join("sky.png"), dir.path().join("out.mkv"));
    write(&plate_path, &plates);
    mattebox_core::media::write_image(&sky_path, &sky.view(), true).unwrap();
    let options = CompositeOptions { fit: Fit::Cover, ..Default::default() };
    let job = CompositeJob {
        plate: plate_path,
        background: sky_path,
        output: out_path.clone(),
        matte: MatteSource::Key(KeyOptions::default()),
        options,
        track_camera: true,
        matte_out: None,
        camera_out: None,
        when_shorter: WhenShorter::Hold,
        open: OpenOptions::default(),
        codec: None,
        overwrite: false,
        audio: Default::default(),
        audio_file: None,
        camera_track: None,
        frames: None,
    };
    let runtime = Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap();
    let report = job.run(&runtime, &mut |_| {}).unwrap();
    let moved = report.camera.as_ref().unwrap().summary.horizontal;
    assert!(moved.abs() > 0.05, "the marks pan, so the camera moves ({moved})");
    let mut cli = MediaReader::open(&out_path, &OpenOptions::default()).unwrap();

    // The C ABI, frame by frame over host memory.
    // SAFETY: every pointer below points at live, correctly sized memory.
    unsafe {
        let mut rt = std::ptr::null_mut();
        assert_eq!(mb_runtime_new(std::ptr::null(), &mut rt), mb_result::Ok);
        let mut key = std::mem::zeroed::<mb_key_options>();
        assert_eq!(mb_key_options_init(&mut key), mb_result::Ok);
        let mut composite = std::mem::zeroed::<mb_composite_options>();
        assert_eq!(mb_composite_options_init(&mut composite), mb_result::Ok);
        composite.track_camera = 1;
        composite.fit = MB_FIT_COVER;
        let mut state = std::ptr::null_mut();
        assert_eq!(mb_compositor_new(&key, &composite, &mut state), mb_result::Ok);
        let bg = image(&sky);
        for (k, p) in plates.iter().enumerate() {
            let out = Frame::new(W, H, PixelFormat::Rgba8).unwrap();
            let (plate_image, out_image) = (image(p), image(&out));
            let status = mb_compositor_render(rt, state, &plate_image, std::ptr::null(), &bg, &out_image);
            assert_eq!(status, mb_result::Ok, "frame {k}");
            let expected = cli.read_frame(k as u64).unwrap();
            let differing = out.as_bytes().iter().zip(expected.as_bytes()).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "frame {k}: {differing} bytes differ from the command line's");
        }
        mb_compositor_free(state);
        mb_runtime_free(rt);
    }
}

#[test]
fn a_retime_across_real_cuts_matches_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let clip = cut_clip::cut_clip(dir.path());
    let out_path = dir.path().join("slow.mkv");
    let job = RetimeJob {
        input: clip.clone(),
        output: out_path.clone(),
        spec: mattebox_core::interp::retime::RetimeSpec::Speed(Rational::new(1, 2).unwrap()),
        output_rate: None,
        mode: mattebox_core::interp::Mode::Quality,
        neural: Default::default(),
        vectors: None,
        open: OpenOptions::default(),
        codec: None,
        overwrite: false,
        audio: Default::default(),
        audio_file: None,
        fill_repeats: false,
        frames: None,
    };
    let runtime = Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap();
    let report = job.run(&runtime, &mut |_| {}).unwrap();
    assert_eq!(report.cuts, cut_clip::CUTS, "the command line finds both cuts");
    let mut cli = MediaReader::open(&out_path, &OpenOptions::default()).unwrap();
    let mut source = MediaReader::open(&clip, &OpenOptions::default()).unwrap();
    let frames: Vec<Frame> = (0..cut_clip::FRAMES).map(|k| source.read_frame(k).unwrap()).collect();
    assert!(frames.iter().all(|f| f.format() == PixelFormat::Rgba8));
    let (w, h) = cut_clip::SIZE;

    // SAFETY: every pointer below points at live, correctly sized memory.
    unsafe {
        let mut rt = std::ptr::null_mut();
        assert_eq!(mb_runtime_new(std::ptr::null(), &mut rt), mb_result::Ok);
        // Judged from its two frames alone, the mild cut is no cut.
        let mild = cut_clip::CUTS[1] as usize;
        let mut pairwise = 7;
        let (a, b) = (image(&frames[mild]), image(&frames[mild + 1]));
        assert_eq!(mb_frames_are_cut(rt, &a, &b, &mut pairwise), mb_result::Ok);
        assert_eq!(pairwise, 0, "the mild cut is only a cut in context");

        let mut request = std::mem::zeroed::<mb_retime_request>();
        request.struct_size = std::mem::size_of::<mb_retime_request>() as u32;
        request.kind = MB_RETIME_SPEED;
        (request.source_rate_num, request.source_rate_den) = (cut_clip::RATE, 1);
        request.source_frames = cut_clip::FRAMES;
        (request.value_num, request.value_den) = (1, 2);
        let mut retimer = std::ptr::null_mut();
        assert_eq!(mb_shot_retimer_new(&request, MB_INTERP_MODE_QUALITY, &mut retimer), mb_result::Ok);
        let (mut count, mut num, mut den) = (0, 0, 0);
        assert_eq!(mb_shot_retimer_info(retimer, &mut count, &mut num, &mut den), mb_result::Ok);
        assert_eq!(count, report.output_frames);
        let mut held = 0;
        // Last to first: a host may render in any order.
        for j in (0..count).rev() {
            let (mut first, mut needed) = (0, 0);
            assert_eq!(mb_shot_retimer_frames_needed(retimer, j, &mut first, &mut needed), mb_result::Ok);
            let sources: Vec<mb_image> = frames[first as usize..(first + needed) as usize].iter().map(image).collect();
            let out = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
            let mut step = 0;
            let status =
                mb_shot_retimer_render(rt, retimer, j, sources.as_ptr(), sources.len(), &image(&out), &mut step);
            assert_eq!(status, mb_result::Ok, "frame {j}");
            held += (step == MB_RETIME_STEP_HOLD_AT_CUT) as u64;
            let expected = cli.read_frame(j).unwrap();
            let differing = out.as_bytes().iter().zip(expected.as_bytes()).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "frame {j}: {differing} bytes differ from the command line's");
        }
        assert_eq!(held, report.held_at_cuts);
        assert_eq!(held, 2, "one output frame held at each cut");
        mb_shot_retimer_free(retimer);
        mb_runtime_free(rt);
    }
}

/// The `mattebox` command of the same build (the workspace builds it
/// before any test runs).
fn cli() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("mattebox");
    assert!(exe.exists(), "{} is missing: build it with `cargo build --release -p mattebox-cli`", exe.display());
    exe
}

#[test]
fn the_scores_of_a_shot_match_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let clip = cut_clip::cut_clip(dir.path());
    let out = std::process::Command::new(cli()).arg("score").arg(&clip).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cli_scores = &doc["shots"][0]["report"]["scores"];
    let names = ["subject", "background", "flicker", "boiling", "grade", "smoothness"];
    let mut source = MediaReader::open(&clip, &OpenOptions::default()).unwrap();
    // SAFETY: every pointer below points at live, correctly sized memory.
    unsafe {
        let mut rt = std::ptr::null_mut();
        assert_eq!(mb_runtime_new(std::ptr::null(), &mut rt), mb_result::Ok);
        let mut scorer = std::ptr::null_mut();
        assert_eq!(mb_shot_scorer_new(&mut scorer), mb_result::Ok);
        for k in 0..cut_clip::FRAMES {
            let frame = source.read_frame(k).unwrap();
            assert_eq!(mb_shot_scorer_push(rt, scorer, &image(&frame)), mb_result::Ok, "frame {k}");
        }
        let mut scores = std::ptr::null_mut();
        assert_eq!(mb_shot_scorer_finish(scorer, &mut scores), mb_result::Ok);
        for (metric, name) in names.iter().enumerate() {
            let mut value = -2.0f32;
            assert_eq!(mb_shot_scores_value(scores, metric as mb_score, &mut value), mb_result::Ok);
            let cli = cli_scores[name].as_f64().unwrap_or_else(|| panic!("no {name} in {cli_scores}")) as f32;
            assert_eq!(value, cli, "{name}");
        }
        let (mut grade, mut flicker) = (0.0, 0.0);
        mb_shot_scores_value(scores, MB_SCORE_GRADE, &mut grade);
        mb_shot_scores_value(scores, MB_SCORE_FLICKER, &mut flicker);
        assert!(grade < 1.0 && flicker < 1.0, "a clip with cuts is not a perfect shot ({grade}, {flicker})");
        mb_shot_scores_free(scores);
        mb_shot_scorer_free(scorer);
        mb_runtime_free(rt);
    }
}
