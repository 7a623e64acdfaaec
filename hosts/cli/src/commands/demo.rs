//! `mattebox demo`: the main job on built-in sample data, offline.
//!
//! It renders a sample shot of its own (a procedural landscape with a
//! panning camera and parallax), then runs it through what Mattebox can do
//! so far, printing each step: inspect it, retime it from 23.976 to 60 fps
//! and into 4x slow motion with optical flow, convert it to a PNG sequence
//! and back to a lossless FFV1 file that is checked frame by frame.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use mattebox_core::media::{MediaWriter, OpenOptions, WriteOptions};
use mattebox_core::{Error, Frame, PixelFormat, Rational};
use rayon::prelude::*;
use serde_json::json;

use mattebox_core::interp::Mode;
use mattebox_core::interp::retime::RetimeSpec;
use mattebox_core::pipeline::retime::{RetimeJob, RetimeReport};

use super::convert::copy_frames;
use crate::report::{CliError, Ctx, Report};

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Directory for everything the demo writes (replaced on each run).
    #[arg(long, default_value = "demo-out", value_name = "DIR")]
    out: PathBuf,
    /// Size of the sample shot.
    #[arg(long, default_value = "1280x720", value_name = "WxH", value_parser = parse_size)]
    size: (u32, u32),
    /// Length of the sample shot in seconds.
    #[arg(long, default_value_t = 2.0, value_name = "S")]
    seconds: f64,
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(|| format!("{text:?} is not a size like 1280x720"))?;
    let parse = |v: &str| v.trim().parse::<u32>().map_err(|_| format!("{text:?} is not a size like 1280x720"));
    let (w, h) = (parse(w)?, parse(h)?);
    mattebox_core::frame::check_dimensions(w, h).map_err(|e| e.to_string())?;
    if w % 2 != 0 || h % 2 != 0 {
        return Err(format!("{text}: the sample shot is H.264 4:2:0, so width and height must be even"));
    }
    Ok((w, h))
}

pub(crate) fn run(ctx: &Ctx, args: DemoArgs) -> Result<Report, CliError> {
    if !(0.1..=60.0).contains(&args.seconds) {
        return Err(CliError::usage(format!("--seconds {} must be between 0.1 and 60", args.seconds)));
    }
    let started = Instant::now();
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "create the demo directory", e))?;
    let rate = Rational::new(24000, 1001).expect("valid rate");
    let frames = (args.seconds * rate.to_f64()).round().max(1.0) as u64;
    let (width, height) = args.size;
    let replace = |frame_rate| WriteOptions { frame_rate, codec: None, overwrite: true };

    ctx.step(&format!(
        "1/6 render a {width}x{height} sample shot, {frames} frames at 23.976 fps (procedural, offline)"
    ));
    let shot = out.join("sample.mp4");
    render_sample(ctx, &shot, width, height, frames, rate)?;

    ctx.step("2/6 inspect it");
    let info = ctx.runtime.open_media(&shot, &OpenOptions::default())?.info().clone();

    ctx.step("3/6 retime it to 60 fps with optical flow (quality mode)");
    let sixty_fps = RetimeSpec::FrameRate(Rational::integer(60));
    let sixty = retime(ctx, &shot, &out.join("sample-60fps.mp4"), sixty_fps, Mode::Quality)?;

    ctx.step("4/6 make it 4x slow motion (fast mode)");
    let quarter = RetimeSpec::Speed(Rational::new(1, 4).expect("valid speed"));
    let slowmo = retime(ctx, &shot, &out.join("sample-slowmo.mp4"), quarter, Mode::Fast)?;

    ctx.step("5/6 convert it to a PNG sequence (the frame rate goes into a sidecar)");
    let pngs = out.join("frames");
    let reader = ctx.runtime.open_media(&shot, &OpenOptions::default())?;
    let pngs = copy_frames(ctx, reader, &pngs, info.decoded_format, &replace(info.frame_rate), "to PNG")?;

    ctx.step("6/6 convert the PNGs to lossless FFV1 and check every pixel");
    let lossless = out.join("sample-lossless.mkv");
    let reader = ctx.runtime.open_media(&pngs, &OpenOptions::default())?;
    let seq_info = reader.info().clone();
    copy_frames(ctx, reader, &lossless, seq_info.decoded_format, &replace(seq_info.frame_rate), "to FFV1")?;
    let identical = compare_all(ctx, &pngs, &lossless)?;
    let mkv_info = ctx.runtime.open_media(&lossless, &OpenOptions::default())?.info().clone();
    if identical != frames || mkv_info.frame_rate != rate {
        return Err(Error::internal(format!(
            "the lossless round trip kept {identical} of {frames} frames at {} fps",
            mkv_info.frame_rate
        ))
        .into());
    }

    let seconds = started.elapsed().as_secs_f64();
    let text = format!(
        "\nMattebox demo finished in {seconds:.1} s. In {}:\n\
         \x20 sample.mp4            the sample shot: {}x{} {}, {} frames at {} fps\n\
         \x20 sample-60fps.mp4      retimed to {} fps: {} frames, {} made by optical flow ({:.1} s)\n\
         \x20 sample-slowmo.mp4     4x slow motion: {} frames, {} made by optical flow ({:.1} s)\n\
         \x20 frames/               the shot as a PNG sequence ({} files + mattebox-sequence.json)\n\
         \x20 sample-lossless.mkv   FFV1: all {identical} frames identical to the PNGs, still at {} fps\n\n\
         Next: mattebox retime {} -o out.mp4 --fps 30 --vectors vectors/\n",
        out.display(),
        info.width,
        info.height,
        info.codec,
        info.frame_count,
        info.frame_rate,
        sixty.output_rate,
        sixty.output_frames,
        sixty.made,
        sixty.seconds,
        slowmo.output_frames,
        slowmo.made,
        slowmo.seconds,
        seq_info.frame_count,
        mkv_info.frame_rate,
        shot.display(),
    );
    let json = json!({
        "out": out,
        "seconds": seconds,
        "sample": info,
        "png_sequence": seq_info,
        "lossless": mkv_info,
        "lossless_identical_frames": identical,
        "retime_60fps": sixty,
        "slow_motion": slowmo,
    });
    Ok(Report { text, json })
}

fn retime(ctx: &Ctx, input: &Path, output: &Path, spec: RetimeSpec, mode: Mode) -> Result<RetimeReport, CliError> {
    let job = RetimeJob {
        input: input.to_owned(),
        output: output.to_owned(),
        spec,
        output_rate: None,
        mode,
        vectors: None,
        open: OpenOptions::default(),
        codec: None,
        overwrite: true,
    };
    super::retime::run_job(ctx, &job)
}

fn compare_all(ctx: &Ctx, a: &Path, b: &Path) -> Result<u64, Error> {
    let mut ra = ctx.runtime.open_media(a, &OpenOptions::default())?;
    let mut rb = ctx.runtime.open_media(b, &OpenOptions::default())?;
    let count = ra.info().frame_count.min(rb.info().frame_count);
    let bar = ctx.progress(count, "checking");
    let mut same = 0;
    for n in 0..count {
        if ra.read_frame(n)? == rb.read_frame(n)? {
            same += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(same)
}

fn render_sample(ctx: &Ctx, path: &Path, width: u32, height: u32, frames: u64, rate: Rational) -> Result<(), Error> {
    let options = WriteOptions { frame_rate: rate, codec: None, overwrite: true };
    let mut writer = MediaWriter::create(path, width, height, PixelFormat::Rgba8, &options)?;
    let mut frame = Frame::new(width, height, PixelFormat::Rgba8)?;
    let bar = ctx.progress(frames, "rendering");
    for n in 0..frames {
        let t = n as f32 / rate.to_f64() as f32;
        ctx.runtime.install(|| paint_landscape(&mut frame, t));
        writer.write_frame(&frame.view())?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    writer.finish()?;
    Ok(())
}

/// A dusk landscape seen from a camera panning right: sky, a sun, far hills
/// and near hills that move at different speeds (parallax), so that later
/// steps (retiming, scoring) have real motion to work on.
fn paint_landscape(frame: &mut Frame, t: f32) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let aspect = w as f32 / h as f32;
    let stride = frame.stride();
    let pan = 0.06 * t; // camera pan, in frame heights per second
    frame.as_bytes_mut().par_chunks_mut(stride).enumerate().for_each(|(y, row)| {
        let v = (y as f32 + 0.5) / h as f32;
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let u = (x as f32 + 0.5) / h as f32; // square units, 0..aspect across
            let sky_mix = (v / 0.62).clamp(0.0, 1.0);
            let mut rgb = lerp3([0.10, 0.16, 0.42], [0.98, 0.58, 0.36], sky_mix * sky_mix);
            // The sun sits far away: it drifts slowly against the pan.
            let (sx, sy) = (0.42 * aspect - 0.2 * pan, 0.40);
            let d = ((u - sx).powi(2) + (v - sy).powi(2)).sqrt();
            let sun = (1.0 - smoothstep(0.085, 0.095, d)).max(0.0);
            rgb = lerp3(rgb, [1.0, 0.88, 0.62], sun);
            let far_u = u + 0.5 * pan;
            let far = 0.60 + 0.05 * (far_u * 5.0).sin() + 0.02 * (far_u * 13.0 + 1.0).sin();
            if v > far {
                rgb = lerp3([0.36, 0.22, 0.40], [0.20, 0.12, 0.26], ((v - far) * 4.0).min(1.0));
            }
            let near_u = u + 1.6 * pan;
            let near = 0.74 + 0.07 * (near_u * 2.7).sin() + 0.025 * (near_u * 9.0 + 2.0).sin();
            if v > near {
                // Stripes of field, so horizontal motion is visible in the foreground.
                let stripe = 0.5 + 0.5 * ((near_u * 40.0).sin() * 0.5 + (v * 90.0).sin() * 0.5);
                rgb = lerp3([0.08, 0.20, 0.10], [0.16, 0.30, 0.12], stripe);
            }
            for c in 0..3 {
                px[c] = (rgb[c].clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
            }
            px[3] = 255;
        }
    });
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}
