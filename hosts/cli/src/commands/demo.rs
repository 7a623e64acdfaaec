//! `mattebox demo`: the main job on built-in sample data, offline.
//!
//! It generates an AI-style background shot with the built-in generator (a
//! procedural landscape with a camera move), renders a green-screen plate of
//! an actor of its own, composites the actor over the generated shot, then
//! retimes the result to 60 fps and into 4x slow motion with optical flow.
//! It asks the generator for the same shot again, which the take cache
//! serves at once. Finally it runs the sample episode
//! (`examples/episode/episode.toml`: three chained shots), ranks the takes
//! and exports the edit as OTIO, FCPXML, EDL and MLT.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use clap::Args;
use mattebox_core::composite::{CompositeOptions, KeyOptions};
use mattebox_core::episode::Episode;
use mattebox_core::episode::run::{EpisodeReport, Exported};
use mattebox_core::generate::Generations;
use mattebox_core::media::{MediaReader, MediaWriter, OpenOptions, WriteOptions, write_image};
use mattebox_core::pipeline::composite::{CompositeJob, MatteSource, WhenShorter};
use mattebox_core::shot::{CameraMotion, ShotRequest, Take};
use mattebox_core::{Error, Frame, PixelFormat, Rational};
use rayon::prelude::*;
use serde_json::json;

use mattebox_core::interp::Mode;
use mattebox_core::interp::retime::RetimeSpec;
use mattebox_core::pipeline::retime::{RetimeJob, RetimeReport};

use crate::report::{CliError, Ctx, Report};

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Directory for everything the demo writes (replaced on each run).
    #[arg(long, default_value = "demo-out", value_name = "DIR")]
    out: PathBuf,
    /// Size of the shots.
    #[arg(long, default_value = "1280x720", value_name = "WxH", value_parser = super::parse_size)]
    size: (u32, u32),
    /// Length of the shots in seconds.
    #[arg(long, default_value_t = 2.0, value_name = "S")]
    seconds: f64,
}

pub(crate) fn run(ctx: &Ctx, args: DemoArgs) -> Result<Report, CliError> {
    if !(0.1..=60.0).contains(&args.seconds) {
        return Err(CliError::usage(format!("--seconds {} must be between 0.1 and 60", args.seconds)));
    }
    let started = Instant::now();
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "create the demo directory", e))?;
    let rate = Rational::new(24000, 1001).expect("valid rate");
    let (width, height) = args.size;
    let mut request = ShotRequest::new("a valley at dusk");
    request.camera = CameraMotion { horizontal: 0.6, zoom: 0.25, ..Default::default() };
    request.duration = Rational::new((args.seconds * 1000.0).round() as i64, 1000).map_err(CliError::usage_from)?;
    (request.fps, request.width, request.height, request.seed) = (rate, width, height, 7);
    let frames = request.frame_count();

    ctx.step(&format!(
        "1/7 generate a background: {width}x{height}, {frames} frames, \"{}\", truck right and push in (built-in generator, offline)",
        request.prompt
    ));
    let generations = Generations::new(ctx.runtime.clone())?;
    let generated = generate(ctx, &generations, &request)?;
    let background = out.join("background.mp4");
    super::generate::export_take(ctx, &generated, &background, None, true)?;

    ctx.step("2/7 render a green-screen plate of an actor (lossless FFV1)");
    let plate = out.join("plate.mkv");
    render_plate(ctx, &plate, width, height, frames, rate)?;

    ctx.step("3/7 key the actor and composite them over the generated background (colour match, light wrap)");
    let composite = out.join("composite.mp4");
    let job = CompositeJob {
        plate: plate.clone(),
        background: background.clone(),
        output: composite.clone(),
        matte: MatteSource::Key(KeyOptions::default()),
        options: CompositeOptions { match_colour: 0.5, light_wrap: 0.3, ..Default::default() },
        track_camera: false,
        matte_out: None,
        camera_out: None,
        when_shorter: WhenShorter::Hold,
        open: OpenOptions::default(),
        codec: None,
        overwrite: true,
        audio: Default::default(),
        audio_file: None,
        camera_track: None,
        frames: None,
    };
    let bar = ctx.progress(frames, "compositing");
    let comp = job.run(&ctx.runtime, &mut |(done, _)| bar.set_position(done))?;
    bar.finish_and_clear();

    ctx.step("4/7 retime the composite to 60 fps with optical flow (quality mode)");
    let sixty_fps = RetimeSpec::FrameRate(Rational::integer(60));
    let sixty = retime(ctx, &composite, &out.join("composite-60fps.mp4"), sixty_fps, Mode::Quality)?;

    ctx.step("5/7 make it 4x slow motion (fast mode)");
    let quarter = RetimeSpec::Speed(Rational::new(1, 4).expect("valid speed"));
    let slowmo = retime(ctx, &composite, &out.join("composite-slowmo.mp4"), quarter, Mode::Fast)?;

    ctx.step("6/7 ask the generator for the same shot again");
    let asked = Instant::now();
    let again = generate(ctx, &generations, &request)?;
    let again_ms = asked.elapsed().as_secs_f64() * 1e3;
    if !again.from_cache || again.key != generated.key {
        return Err(Error::internal("the same request was not served from the take cache").into());
    }

    ctx.step("7/7 an episode of three chained shots: make, score and rank the takes, export the edit");
    let (episode_report, exported) = episode(ctx, &generations, &out.join("episode"))?;
    let chosen: Vec<String> = episode_report
        .shots
        .iter()
        .map(|s| match s.chosen_take() {
            Some(t) => format!("{} take {} of {}", s.id, t.number, s.takes.len()),
            None => format!("{} (no take)", s.id),
        })
        .collect();

    let seconds = started.elapsed().as_secs_f64();
    let made = if generated.from_cache {
        "already in the take cache from an earlier run".to_owned()
    } else {
        format!("generated in {:.1} s", generated.timings.generate_seconds + generated.timings.store_seconds)
    };
    let screen: String =
        comp.screen.unwrap_or_default().iter().map(|v| format!("{:02X}", (v * 255.0).round() as u8)).collect();
    let text = format!(
        "\nMattebox demo finished in {seconds:.1} s. In {}:\n\
         \x20 background.mp4          generated shot: {}x{}, {} frames at {} fps ({made})\n\
         \x20 plate.mkv               green-screen plate of an actor, FFV1\n\
         \x20 composite.mp4           actor over the generated shot: screen #{screen} keyed, {} frames ({:.1} s)\n\
         \x20 composite-60fps.mp4     retimed to {} fps: {} frames, {} made by optical flow ({:.1} s)\n\
         \x20 composite-slowmo.mp4    4x slow motion: {} frames, {} made by optical flow ({:.1} s)\n\
         Asking again for the same shot: served from the take cache in {again_ms:.0} ms\n\
         \x20 ({})\n\
         \x20 episode/               \"{}\": takes ranked in ranking.json, chosen {}\n\
         \x20 episode/edit/          the edit for your NLE: {}\n\
         \x20 (see every take: mattebox episode show {})\n\n\
         Next: mattebox generate --first-frame YOUR_STILL.png --camera pan=0.4,zoom=0.2 -o takes/\n\
         \x20     mattebox composite --plate YOUR_PLATE.mov --background takes/take-1.mp4 -o comp.mp4\n",
        out.display(),
        generated.width,
        generated.height,
        generated.frames,
        generated.fps,
        comp.frames,
        comp.seconds,
        sixty.output_rate,
        sixty.output_frames,
        sixty.made,
        sixty.seconds,
        slowmo.output_frames,
        slowmo.made,
        slowmo.seconds,
        again.media.display(),
        episode_report.name,
        chosen.join(", "),
        exported
            .timelines
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(", "),
        out.join("episode").join("episode.toml").display(),
    );
    let json = json!({
        "out": out,
        "seconds": seconds,
        "generated": generated,
        "generated_from_cache": generated.from_cache,
        "composite": comp,
        "retime_60fps": sixty,
        "slow_motion": slowmo,
        "cached_again_ms": again_ms,
        "episode": episode_report,
        "episode_export": exported,
    });
    Ok(Report { text, json })
}

/// The sample episode, written into `dir` with a location reference the
/// generator makes (as the example's `valley.png` was made), run and exported.
fn episode(ctx: &Ctx, generations: &Generations, dir: &Path) -> Result<(EpisodeReport, Exported), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    let mut still = ShotRequest::new("a valley at dusk");
    (still.width, still.height, still.seed) = (640, 360, 11);
    let take = generate(ctx, generations, &still)?;
    let mut reader = MediaReader::open_on(&ctx.runtime, &take.media, &OpenOptions::default())?;
    let frame = reader.read_frame(23.min(take.frames.saturating_sub(1)))?;
    write_image(&dir.join("valley.png"), &frame.view(), true)?;
    let text = SAMPLE_EPISODE
        .lines()
        .map(|line| if line.starts_with("output =") { "output = \".\"" } else { line })
        .collect::<Vec<_>>()
        .join("\n");
    let file = dir.join("episode.toml");
    std::fs::write(&file, text).map_err(|e| Error::io(&file, "write", e))?;
    let episode = Episode::load(&file)?;
    let multi = ctx.agent_progress(1000 * episode.shots.len() as u64, "episode");
    let never = AtomicBool::new(false);
    let report = mattebox_core::episode::run::run(
        &episode,
        generations,
        &mut |shots| multi.set_position(shots.iter().map(|s| (s.fraction * 1000.0) as u64).sum()),
        &never,
    )?;
    multi.finish_and_clear();
    let exported = mattebox_core::episode::run::export(&episode, &report, &ctx.runtime, &dir.join("edit"))?;
    Ok((report, exported))
}

/// The episode `examples/episode/` ships.
const SAMPLE_EPISODE: &str = include_str!("../../../../examples/episode/episode.toml");

fn generate(ctx: &Ctx, generations: &Generations, request: &ShotRequest) -> Result<Take, CliError> {
    let job = generations.submit("builtin", request.clone(), 1)?;
    super::generate::follow(ctx, &job);
    Ok(job.results().remove(0)?)
}

fn retime(ctx: &Ctx, input: &Path, output: &Path, spec: RetimeSpec, mode: Mode) -> Result<RetimeReport, CliError> {
    let job = RetimeJob {
        input: input.to_owned(),
        output: output.to_owned(),
        spec,
        output_rate: None,
        mode,
        neural: Default::default(),
        vectors: None,
        open: OpenOptions::default(),
        codec: None,
        overwrite: true,
        audio: Default::default(),
        audio_file: None,
        fill_repeats: false,
        frames: None,
    };
    super::retime::run_job(ctx, &job)
}

/// Renders a green-screen plate: an actor (head, hair, torso) swaying in
/// front of an unevenly lit green screen, with green spill on their edges
/// and sensor noise, as a real plate has.
fn render_plate(ctx: &Ctx, path: &Path, width: u32, height: u32, frames: u64, rate: Rational) -> Result<(), Error> {
    let options = WriteOptions { overwrite: true, ..WriteOptions::new(rate) };
    let mut writer = MediaWriter::create(path, width, height, PixelFormat::Rgba8, &options)?;
    let mut frame = Frame::new(width, height, PixelFormat::Rgba8)?;
    let bar = ctx.progress(frames, "rendering");
    for n in 0..frames {
        let t = n as f32 / rate.to_f64() as f32;
        ctx.runtime.install(|| paint_actor(&mut frame, t, n));
        writer.write_frame(&frame.view())?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    writer.finish()?;
    Ok(())
}

fn paint_actor(frame: &mut Frame, t: f32, n: u64) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.stride();
    let px = 1.0 / h as f32; // one pixel in frame heights
    let sway = 0.04 * (t * std::f32::consts::PI).sin();
    let cx = 0.5 * w as f32 / h as f32 + sway;
    frame.as_bytes_mut().par_chunks_mut(stride).enumerate().for_each(|(y, row)| {
        let v = (y as f32 + 0.5) * px;
        for (x, out) in row.chunks_exact_mut(4).enumerate() {
            let u = (x as f32 + 0.5) * px;
            // The screen: brighter in the middle, falling off to the corners.
            let (du, dv) = (u - cx + sway, v - 0.45);
            let light = 0.78 + 0.22 * (-(du * du + dv * dv) * 2.5).exp();
            let screen = [0.12 * light, 0.66 * light, 0.22 * light];
            // The actor as signed distances (negative inside), in frame heights.
            let head = ((u - cx).powi(2) / 0.0064 + (v - 0.36).powi(2) / 0.0121).sqrt() * 0.09 - 0.09;
            let strands = 0.006 * ((u * 900.0).sin() * 0.5 + 0.5);
            let hair = ((u - cx).powi(2) / 0.0081 + (v - 0.33).powi(2) / 0.0100).sqrt() * 0.1 - 0.1 - strands;
            let hair = hair.max(v - 0.34); // only the top of the head
            let shoulders = ((u - cx) / 0.2).powi(2) + ((v - 0.62) / 0.12).powi(2) - 1.0;
            let torso = shoulders.min(if v > 0.62 && (u - cx).abs() < 0.19 + 0.1 * (v - 0.62) { -1.0 } else { 1.0 });
            let neck = if (u - cx).abs() < 0.035 && v > 0.42 && v < 0.56 { -1.0 } else { 1.0 };
            let (cover_head, cover_hair) = (coverage(head, px), coverage(hair, px));
            let cover_body = coverage(torso * 0.1, px).max(coverage(neck, px));
            let skin = [0.86, 0.64, 0.50];
            let jacket = [0.52, 0.22, 0.16];
            let hair_colour = [0.22, 0.13, 0.08];
            let mut rgb = screen;
            for (cover, colour) in [(cover_body, jacket), (cover_head, skin), (cover_hair, hair_colour)] {
                for c in 0..3 {
                    rgb[c] += (colour[c] - rgb[c]) * cover;
                }
            }
            // Spill: green light on the actor near their outline.
            let edge = head.min(torso * 0.1).min(hair);
            if edge < 0.0 {
                let spill = 0.18 * (1.0 + edge / 0.02).clamp(0.0, 1.0);
                rgb[1] += spill * (screen[1] - rgb[1]).max(0.0);
            }
            let noise = grain(x as u64, y as u64, n);
            for c in 0..3 {
                out[c] = ((rgb[c] + noise).clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
            }
            out[3] = 255;
        }
    });
}

/// How much of a pixel a shape covers, from its signed distance.
fn coverage(distance: f32, pixel: f32) -> f32 {
    (0.5 - distance / pixel).clamp(0.0, 1.0)
}

/// Sensor noise, about 1/255 either way.
fn grain(x: u64, y: u64, n: u64) -> f32 {
    let mut h =
        x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ y.wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ n.wrapping_mul(0x1656_67B1);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    ((h & 0xFFFF) as f32 / 65535.0 - 0.5) * (2.0 / 255.0)
}
