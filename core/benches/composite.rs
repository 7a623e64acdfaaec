//! Compositing benchmark: key quality against ffmpeg's chromakey + despill
//! on green- and blue-screen plates built from real photos of people, and
//! the speed of key + composite at 1080p.
//!
//!     cargo bench -p mattebox-core --features media --bench composite
//!
//! The plates are made by `keying_plates.py` (see its header: photos from
//! the scikit-image wheel and Debian's opencv-doc, ground-truth mattes by
//! closed-form matting, spill, uneven light and motion blur added in linear
//! light) into `target/bench-data/keying`, never committed: three photos, on
//! green and on blue, with and without motion blur, each filmed as a short
//! still shot at four sensor-noise levels and through three codecs
//! (lossless, H.264 4:2:0 CRF 23, ProRes 422).
//!
//! Mattebox keys each shot as every host does, through a `ShotCompositor`
//! with the default options (automatic screen), decoding the file with its
//! own reader. ffmpeg's chain gets the screen colour Mattebox found and, per
//! shot, the best of a grid of similarity and blend settings by SAD on the
//! first frame: an oracle setting no user has, so the comparison favours
//! ffmpeg.
//!
//! Metrics as on alphamatting.com, over the whole frame, averaged over the
//! shot's frames: SAD (sum of absolute alpha errors / 1000), MSE (x 1000),
//! gradient error (squared difference of Gaussian-derivative gradient
//! magnitudes, sigma 1.4, / 1000); the PSNR of the composite over a
//! background photo against the clean ground-truth composite (both keyers'
//! foregrounds laid over in linear light); and flicker: the mean
//! frame-to-frame change of alpha (x 1000) on the static edge (every pixel
//! within 3 px of a true alpha strictly between 0.02 and 0.98), where a
//! still scene's matte should not change at all.
//! `MB_BENCH_ONLY=quality|speed` runs one part; `MB_BENCH_PLATES=text` keys
//! only the shots whose name contains `text`; `MB_BENCH_DUMP=DIR` writes
//! each shot's first-frame mattes (the truth, Mattebox's, ffmpeg's, side by
//! side) into DIR as PNG, to see where a keyer goes wrong. For profiling
//! the speed part, `MB_BENCH_CASE=text` times only the cases whose name
//! starts with `text` and `MB_BENCH_THREADS=1,2` says with how many threads.
//! `MB_BENCH_PAN=1` keys the lossless shots as a camera panning a pixel a
//! frame along each (cut by ffmpeg's crop), scored in the scene's
//! coordinates.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mattebox_core::composite::{CompositeOptions, Defocus, KeyOptions, MatteFrom};
use mattebox_core::composite::{ShotCompositor, ShotOutput};
use mattebox_core::media::{MediaReader, OpenOptions, read_image, write_image};
use mattebox_core::pixels::color::{linear_to_srgb, srgb_to_linear};
use mattebox_core::{Frame, PixelFormat, Runtime, RuntimeConfig};

#[path = "support/keying.rs"]
mod keying;
use keying::keying_plates;

fn main() {
    let only = std::env::var("MB_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "quality" {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        quality(&runtime, &plates());
    }
    if only.is_empty() || only == "speed" {
        println!("## Speed: key + composite at 1920x1080, RGBA8\n");
        println!("| threads | plate, options | fps | ms per frame |");
        println!("|---|---|---|---|");
        let threads: Vec<usize> = match std::env::var("MB_BENCH_THREADS") {
            Ok(t) => t.split(',').map(|n| n.trim().parse().expect("MB_BENCH_THREADS: numbers")).collect(),
            Err(_) => vec![1, 2],
        };
        for threads in threads {
            let runtime = Runtime::new(RuntimeConfig { threads, ..Default::default() }).unwrap();
            speed(&runtime);
        }
        println!();
    }
}

#[derive(serde::Deserialize)]
struct PlateInfo {
    name: String,
    base: String,
    file: String,
    width: u32,
    height: u32,
    screen: String,
    motion_blur: u32,
    noise: f32,
    codec: String,
}

/// Builds the plates once (Python, see keying_plates.py) and lists them.
fn plates() -> (PathBuf, Vec<PlateInfo>) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = keying_plates(repo);
    let list: Vec<PlateInfo> = serde_json::from_slice(&std::fs::read(dir.join("grid.json")).unwrap()).unwrap();
    let only = std::env::var("MB_BENCH_PLATES").unwrap_or_default();
    (dir, list.into_iter().filter(|p| p.name.contains(&only)).collect())
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path).unwrap().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// Alpha errors as alphamatting.com reports them.
struct MatteError {
    sad: f64,
    mse: f64,
    gradient: f64,
}

fn matte_error(alpha: &[f32], truth: &[f32], w: usize, h: usize) -> MatteError {
    let sad = matte_error_sad(alpha, truth);
    let mse = alpha.iter().zip(truth).map(|(a, t)| ((a - t) as f64).powi(2)).sum::<f64>() / alpha.len() as f64;
    let (ga, gt) = (gradient_magnitude(alpha, w, h), gradient_magnitude(truth, w, h));
    let gradient = ga.iter().zip(&gt).map(|(a, t)| (a - t).powi(2)).sum::<f64>() / 1000.0;
    MatteError { sad, mse: mse * 1000.0, gradient }
}

/// |grad| of `v` by first derivatives of a Gaussian (sigma 1.4), separably.
fn gradient_magnitude(v: &[f32], w: usize, h: usize) -> Vec<f64> {
    let sigma = 1.4f64;
    let r = (3.0 * sigma).ceil() as i64;
    let g: Vec<f64> = (-r..=r).map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp()).collect();
    let norm: f64 = g.iter().sum();
    let g: Vec<f64> = g.iter().map(|x| x / norm).collect();
    let dg: Vec<f64> = (-r..=r).zip(&g).map(|(i, gi)| -(i as f64) / (sigma * sigma) * gi).collect();
    let at =
        |src: &[f64], x: i64, y: i64| src[(y.clamp(0, h as i64 - 1) as usize) * w + x.clamp(0, w as i64 - 1) as usize];
    let conv = |src: &[f64], k: &[f64], horizontal: bool| -> Vec<f64> {
        let mut out = vec![0.0; w * h];
        for y in 0..h as i64 {
            for x in 0..w as i64 {
                out[y as usize * w + x as usize] = (-r..=r)
                    .zip(k)
                    .map(|(i, ki)| ki * if horizontal { at(src, x + i, y) } else { at(src, x, y + i) })
                    .sum();
            }
        }
        out
    };
    let src: Vec<f64> = v.iter().map(|&x| x as f64).collect();
    let gx = conv(&conv(&src, &dg, true), &g, false);
    let gy = conv(&conv(&src, &g, true), &dg, false);
    gx.iter().zip(&gy).map(|(a, b)| (a * a + b * b).sqrt()).collect()
}

fn psnr(a: &[f32], b: &[f32]) -> f64 {
    let mse = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (1.0 / mse.max(1e-12)).log10()
}

/// `fg` (sRGB, unpremultiplied) with `alpha` over `bg` (sRGB), in linear light; sRGB RGB out.
fn over(fg: &[f32], alpha: &[f32], bg: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(alpha.len() * 3);
    for (i, &a) in alpha.iter().enumerate() {
        for c in 0..3 {
            let v = a * srgb_to_linear(fg[i * 3 + c]) + (1.0 - a) * srgb_to_linear(bg[i * 3 + c]);
            out.push(linear_to_srgb(v));
        }
    }
    out
}

fn rgb_of(frame: &Frame) -> Vec<f32> {
    let f = frame.to_format(PixelFormat::Rgba8).unwrap();
    f.as_bytes().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).map(|v| v as f32 / 255.0).collect()
}

fn chromakey(colour: &str, similarity: f32, blend: f32) -> String {
    format!("chromakey=color={colour}:similarity={similarity}:blend={blend}")
}

/// The alpha of frame 0 of `plate` keyed by ffmpeg's chromakey at every
/// (similarity, blend) of `settings`, in one ffmpeg run.
fn ffmpeg_alphas(plate: &Path, colour: &str, settings: &[(f32, f32)], scratch: &Path) -> Vec<Vec<f32>> {
    let mut graph = format!("[0:v]format=yuva444p,split={}", settings.len());
    for i in 0..settings.len() {
        graph += &format!("[s{i}]");
    }
    for (i, &(s, b)) in settings.iter().enumerate() {
        graph += &format!(";[s{i}]{},extractplanes=a[o{i}]", chromakey(colour, s, b));
    }
    let mut command = Command::new("ffmpeg");
    command.args(["-hide_banner", "-v", "error", "-y", "-i"]).arg(plate).args(["-filter_complex", &graph]);
    for i in 0..settings.len() {
        command.args(["-map", &format!("[o{i}]"), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray"]);
        command.arg(scratch.join(format!("alpha{i}.raw")));
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    (0..settings.len())
        .map(|i| {
            let bytes = std::fs::read(scratch.join(format!("alpha{i}.raw"))).unwrap();
            bytes.iter().map(|&v| v as f32 / 255.0).collect()
        })
        .collect()
}

/// ffmpeg's chromakey + despill on every frame of `plate` (frames of
/// `pixels` pixels): (alpha, RGB) as floats.
fn ffmpeg_key(
    plate: &Path,
    pixels: usize,
    colour: &str,
    (similarity, blend): (f32, f32),
    screen: &str,
) -> Vec<(Vec<f32>, Vec<f32>)> {
    let filter = format!(
        "format=yuva444p,{},format=gbrap,despill=type={screen},format=rgba",
        chromakey(colour, similarity, blend)
    );
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(plate)
        .args(["-vf", &filter, "-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
        .chunks_exact(pixels * 4)
        .map(|frame| {
            let alpha = frame.chunks_exact(4).map(|p| p[3] as f32 / 255.0).collect();
            let rgb = frame.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).map(|v| v as f32 / 255.0).collect();
            (alpha, rgb)
        })
        .collect()
}

/// Pixels within 3 px of a true alpha strictly between 0.02 and 0.98.
fn edge_band(truth: &[f32], w: usize, h: usize) -> Vec<bool> {
    let r = 3i64;
    let mut band = vec![false; w * h];
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let t = truth[y as usize * w + x as usize];
            if t > 0.02 && t < 0.98 {
                for dy in -r..=r {
                    for dx in -r..=r {
                        let (u, v) = (x + dx, y + dy);
                        if u >= 0 && v >= 0 && u < w as i64 && v < h as i64 {
                            band[v as usize * w + u as usize] = true;
                        }
                    }
                }
            }
        }
    }
    band
}

/// Mean |alpha(t) - alpha(t-1)| on `band`, over the shot, x 1000.
fn flicker(alphas: &[Vec<f32>], band: &[bool]) -> f64 {
    let n = band.iter().filter(|&&b| b).count().max(1) as f64;
    let steps: Vec<f64> = alphas
        .windows(2)
        .map(|pair| {
            pair[0]
                .iter()
                .zip(&pair[1])
                .zip(band)
                .filter(|(_, b)| **b)
                .map(|((a, b), _)| (a - b).abs() as f64)
                .sum::<f64>()
                / n
        })
        .collect();
    1000.0 * steps.iter().sum::<f64>() / steps.len().max(1) as f64
}

/// A keyer's scores on one shot, averaged over its frames.
#[derive(Default)]
struct Scores {
    sad: f64,
    mse: f64,
    gradient: f64,
    psnr: f64,
    flicker: f64,
}

fn scores(
    alphas: &[Vec<f32>],
    composites: &[Vec<f32>],
    truth: &[f32],
    truth_composite: &[f32],
    w: usize,
    h: usize,
) -> Scores {
    let n = alphas.len() as f64;
    let mut s = Scores::default();
    for (alpha, composite) in alphas.iter().zip(composites) {
        let e = matte_error(alpha, truth, w, h);
        s.sad += e.sad / n;
        s.mse += e.mse / n;
        s.gradient += e.gradient / n;
        s.psnr += psnr(composite, truth_composite) / n;
    }
    s.flicker = flicker(alphas, &edge_band(truth, w, h));
    s
}

fn quality(runtime: &Runtime, (dir, plates): &(PathBuf, Vec<PlateInfo>)) {
    println!("## Key quality against ffmpeg's chromakey + despill\n");
    println!("Each cell: Mattebox (defaults) / ffmpeg (its best setting for the shot); the better in bold.\n");
    println!(
        "| plate | noise /255 | codec | SAD | MSE x1e3 | gradient | composite PSNR dB | flicker x1e3 | ffmpeg similarity, blend |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let similarities = [0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4];
    let blends = [0.0, 0.02, 0.05, 0.08, 0.12, 0.16, 0.2, 0.3];
    let settings: Vec<(f32, f32)> = similarities.iter().flat_map(|&s| blends.iter().map(move |&b| (s, b))).collect();
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    // Per shot: [SAD, MSE, gradient, PSNR, flicker] met (lower error, higher PSNR, flicker at most half).
    let (mut met, mut scored) = ([0usize; 5], 0);
    let mut failures = Vec::new();
    // MB_BENCH_KEEP_PERSON=1: keyed keeping the person solid
    // (`--keep-person`), with the shared selfie.onnx, loaded once.
    let keep_person = std::env::var_os("MB_BENCH_KEEP_PERSON").map(|_| person_model());
    // MB_BENCH_PAN=1: each lossless shot as a camera panning along it, the
    // window on the scene moving a pixel a frame (cut from the still shot
    // by ffmpeg's crop; the background moves with it), scored in the
    // scene's coordinates on the columns every frame shows.
    let pan = std::env::var_os("MB_BENCH_PAN").is_some();
    for info in plates.iter().filter(|info| !pan || info.codec == "lossless") {
        let (w, h) = (info.width as usize, info.height as usize);
        let still_path = dir.join(&info.file);
        let background = read_image(&dir.join(format!("{}.background.png", info.base))).unwrap();
        let truth = read_f32(&dir.join(format!("{}.alpha.f32", info.base)));
        let truth_composite = read_f32(&dir.join(format!("{}.composite.f32", info.base)));
        assert_eq!(truth.len(), w * h);
        let count = MediaReader::open(&still_path, &OpenOptions::default()).unwrap().info().frame_count;
        // How far the window travels; frame n's plate column x is the
        // scene's column x + travel - n, and columns travel..w - travel
        // are on every frame.
        let travel = if pan { count as usize - 1 } else { 0 };
        let plate_path = if pan { panned_plate(&still_path, travel, &scratch) } else { still_path };
        let (pw, sw) = (w - travel, w - 2 * travel);
        let offset = |n: u64| if pan { n as usize } else { 0 };
        let scene =
            |data: &[f32], width: usize, channels: usize, x0: usize| columns(data, (width, h, channels), x0, sw);
        let (truth_scene, truth_composite_scene) = (scene(&truth, w, 1, travel), scene(&truth_composite, w, 3, travel));

        // Mattebox, defaults, as hosts run it.
        let mut reader = MediaReader::open(&plate_path, &OpenOptions::default()).unwrap();
        let mut shot =
            ShotCompositor::new(MatteFrom::Key(KeyOptions::default()), CompositeOptions::default(), false).unwrap();
        if let Some(model) = &keep_person {
            shot.keep_person(model.clone());
        }
        let (mut alphas, mut composites) = (Vec::new(), Vec::new());
        let panned_background = pan.then(|| background.to_format(PixelFormat::Rgba8).unwrap());
        for i in 0..count {
            let plate = reader.read_frame(i).unwrap();
            let window = panned_background.as_ref().map(|rgba| frame_columns(rgba, travel - offset(i), pw));
            let bg = window.as_ref().unwrap_or(&background);
            let mut out = Frame::new(pw as u32, info.height, plate.format()).unwrap();
            let matte = runtime
                .install(|| shot.render(i, &plate.view(), None, &bg.view(), ShotOutput::Composite, &mut out.view_mut()))
                .unwrap();
            alphas.push(scene(matte.values(), pw, 1, offset(i)));
            composites.push(scene(&rgb_of(&out), pw, 3, offset(i)));
        }
        let screen = *shot.screen().unwrap();
        let ours = scores(&alphas, &composites, &truth_scene, &truth_composite_scene, sw, h);

        // ffmpeg, the best grid setting by SAD on the first frame, given our screen colour.
        let srgb = screen.linear.map(|v| (linear_to_srgb(v) * 255.0).round() as u8);
        let colour = format!("0x{:02X}{:02X}{:02X}", srgb[0], srgb[1], srgb[2]);
        let screen_name = if screen.channel == 2 { "blue" } else { "green" };
        assert_eq!(screen_name, info.screen, "{}: found the wrong screen", info.name);
        let first = ffmpeg_alphas(&plate_path, &colour, &settings, &scratch);
        let first_truth = columns(&truth, (w, h, 1), travel, pw);
        let best = (0..settings.len())
            .min_by(|&a, &b| {
                matte_error_sad(&first[a], &first_truth).total_cmp(&matte_error_sad(&first[b], &first_truth))
            })
            .unwrap();
        let (s, b) = settings[best];
        let keyed = ffmpeg_key(&plate_path, pw * h, &colour, (s, b), screen_name);
        let bg_rgb = scene(&rgb_of(&background), w, 3, travel);
        let ff_alphas: Vec<Vec<f32>> =
            keyed.iter().enumerate().map(|(n, (a, _))| scene(a, pw, 1, offset(n as u64))).collect();
        let ff_composites: Vec<Vec<f32>> = keyed
            .iter()
            .zip(&ff_alphas)
            .enumerate()
            .map(|(n, ((_, rgb), a))| over(&scene(rgb, pw, 3, offset(n as u64)), a, &bg_rgb))
            .collect();
        let theirs = scores(&ff_alphas, &ff_composites, &truth_scene, &truth_composite_scene, sw, h);
        if let Some(out) = std::env::var_os("MB_BENCH_DUMP") {
            dump_mattes(Path::new(&out), &info.name, [&truth_scene, &alphas[0], &ff_alphas[0]], sw, h);
        }

        let cell = |a: f64, b: f64, lower: bool| {
            let ours_better = if lower { a < b } else { a > b };
            if ours_better { format!("**{a:.2}** / {b:.2}") } else { format!("{a:.2} / **{b:.2}**") }
        };
        let label = format!(
            "{} ({}{}{})",
            info.base.split('_').next().unwrap(),
            info.screen,
            if info.motion_blur > 0 { format!(", {} px blur", info.motion_blur) } else { String::new() },
            if pan { ", panning 1 px a frame" } else { "" }
        );
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {s}, {b} |",
            info.noise,
            info.codec,
            cell(ours.sad, theirs.sad, true),
            cell(ours.mse, theirs.mse, true),
            cell(ours.gradient, theirs.gradient, true),
            cell(ours.psnr, theirs.psnr, false),
            cell(ours.flicker, theirs.flicker, true),
        );
        let checks = [
            ours.sad < theirs.sad,
            ours.mse < theirs.mse,
            ours.gradient <= theirs.gradient,
            ours.psnr > theirs.psnr,
            ours.flicker <= 0.5 * theirs.flicker,
        ];
        scored += 1;
        for (m, ok) in met.iter_mut().zip(checks) {
            *m += ok as usize;
        }
        if !checks.iter().all(|&c| c) {
            failures.push(info.name.clone());
        }
    }
    let n = scored;
    println!(
        "\nOf {n} shots, Mattebox has the lower SAD on {}, the lower MSE on {}, a gradient error no higher on {}, \
         the better composite on {}, and at most half ffmpeg's flicker on {}.",
        met[0], met[1], met[2], met[3], met[4]
    );
    if !failures.is_empty() {
        println!("Short of a target: {}.", failures.join(", "));
    }
    println!();
}

/// Columns `x0..x0 + width` of `data` (`size`: width, height, channels).
fn columns(data: &[f32], (w, h, channels): (usize, usize, usize), x0: usize, width: usize) -> Vec<f32> {
    (0..h).flat_map(|y| &data[(y * w + x0) * channels..(y * w + x0 + width) * channels]).copied().collect()
}

/// Columns `x0..x0 + width` of `rgba`, an RGBA8 frame.
fn frame_columns(rgba: &Frame, x0: usize, width: usize) -> Frame {
    assert_eq!(rgba.format(), PixelFormat::Rgba8);
    let mut out = Frame::new(width as u32, rgba.height(), PixelFormat::Rgba8).unwrap();
    let (from, to) = (rgba.width() as usize * 4, width * 4);
    for (dst, src) in out.as_bytes_mut().chunks_exact_mut(to).zip(rgba.as_bytes().chunks_exact(from)) {
        dst.copy_from_slice(&src[x0 * 4..x0 * 4 + to]);
    }
    out
}

/// `plate` as a camera panning along it: frame n is its columns
/// `travel - n ..` (`travel` fewer than it has), the scene moving a pixel
/// right each frame; written losslessly into `scratch`.
fn panned_plate(plate: &Path, travel: usize, scratch: &Path) -> PathBuf {
    let out = scratch.join("panned.mkv");
    let crop = format!("crop=iw-{travel}:ih:{travel}-n:0");
    let run = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(plate)
        .args(["-vf", &crop, "-c:v", "ffv1", "-pix_fmt", "bgr0"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&run.stderr));
    out
}

/// `mattes` side by side as one grey PNG, `DIR/NAME.png`.
fn dump_mattes(dir: &Path, name: &str, mattes: [&[f32]; 3], w: usize, h: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut frame = Frame::new(3 * w as u32, h as u32, PixelFormat::Rgba8).unwrap();
    let bytes = frame.as_bytes_mut();
    for y in 0..h {
        for (i, matte) in mattes.iter().enumerate() {
            for x in 0..w {
                let v = (matte[y * w + x].clamp(0.0, 1.0) * 255.0).round() as u8;
                let at = (y * 3 * w + i * w + x) * 4;
                bytes[at..at + 4].copy_from_slice(&[v, v, v, 255]);
            }
        }
    }
    write_image(&dir.join(format!("{name}.png")), &frame.view(), true).unwrap();
}

fn matte_error_sad(alpha: &[f32], truth: &[f32]) -> f64 {
    alpha.iter().zip(truth).map(|(a, t)| (a - t).abs() as f64).sum::<f64>() / 1000.0
}

/// A 1080p plate: a lit green screen with a textured, soft-edged figure.
fn synthetic_plate(w: u32, h: u32) -> (Frame, Frame) {
    let mut plate = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
    let mut bg = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
    let (wf, hf) = (w as f32, h as f32);
    let stride = w as usize * 4;
    for (y, row) in plate.as_bytes_mut().chunks_exact_mut(stride).enumerate() {
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let (u, v) = (x as f32 / wf, y as f32 / hf);
            let d = (((u - 0.5) / 0.18).powi(2) + ((v - 0.6) / 0.45).powi(2)).sqrt();
            let a = ((1.0 - d) * 40.0).clamp(0.0, 1.0);
            let light = 0.8 + 0.2 * (u * 3.0).sin();
            let screen = [30.0 * light, 175.0 * light, 60.0 * light];
            let skin = [170.0 + 40.0 * (x as f32 * 0.05).sin(), 120.0 + 30.0 * (y as f32 * 0.07).cos(), 100.0];
            for c in 0..3 {
                px[c] = (a * skin[c] + (1.0 - a) * screen[c]) as u8;
            }
            px[3] = 255;
        }
    }
    for (y, row) in bg.as_bytes_mut().chunks_exact_mut(stride).enumerate() {
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&[(x * 255 / w as usize) as u8, (y * 255 / h as usize) as u8, 120, 255]);
        }
    }
    (plate, bg)
}

/// A sharp, colourful background (small checks under a gradient), its
/// checks moved `k` pixels right.
fn sharp_background(w: u32, h: u32, k: usize) -> Frame {
    let mut bg = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
    for (y, row) in bg.as_bytes_mut().chunks_exact_mut(w as usize * 4).enumerate() {
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let check = ((x + k) / 6 + y / 6).is_multiple_of(2);
            let v = if check { 200 } else { 40 };
            px.copy_from_slice(&[v, (x * 255 / w as usize) as u8, (255 - v as usize * y / h as usize) as u8, 255]);
        }
    }
    bg
}

/// `plate` moved `dx` pixels right (the left edge repeated), as a pan.
fn panned(plate: &Frame, dx: usize) -> Frame {
    let mut moved = plate.clone();
    let row_bytes = plate.width() as usize * 4;
    let dx = dx.min(plate.width() as usize - 1) * 4;
    for (dst, src) in moved.as_bytes_mut().chunks_exact_mut(row_bytes).zip(plate.as_bytes().chunks_exact(row_bytes)) {
        dst[dx..].copy_from_slice(&src[..row_bytes - dx]);
        for px in dst[..dx].chunks_exact_mut(4) {
            px.copy_from_slice(&src[..4]);
        }
    }
    moved
}

/// The plate with sensor noise of `sigma` code values per channel (a
/// cheap hash, different for every `seed`).
fn with_noise(plate: &Frame, sigma: f32, seed: u64) -> Frame {
    let mut noisy = plate.clone();
    for (i, v) in noisy.as_bytes_mut().iter_mut().enumerate() {
        if i % 4 != 3 {
            let mut h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
            let mut sum = 0.0f32;
            for _ in 0..4 {
                h ^= h >> 33;
                h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
                sum += (h >> 40) as f32 / (1u64 << 24) as f32;
            }
            *v = (*v as f32 + sigma * (sum - 2.0) * 3.0f32.sqrt()).round().clamp(0.0, 255.0) as u8;
        }
    }
    noisy
}

/// The shared selfie.onnx, for `MB_BENCH_KEEP_PERSON`.
#[cfg(feature = "onnx")]
fn person_model() -> std::sync::Arc<dyn mattebox_core::composite::PersonModel> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let model = mattebox_core::consistency::models::PersonSegmenter::load(
        Some(&repo.join("target/tools/onnxruntime/libonnxruntime.so")),
        &repo.join("../shared/models/selfie.onnx"),
    )
    .unwrap();
    std::sync::Arc::new(model)
}

#[cfg(not(feature = "onnx"))]
fn person_model() -> std::sync::Arc<dyn mattebox_core::composite::PersonModel> {
    panic!("MB_BENCH_KEEP_PERSON runs the person model: add `--features media,onnx`")
}

fn speed(runtime: &Runtime) {
    let (w, h) = (1920, 1080);
    let (clean, bg) = synthetic_plate(w, h);
    let wanted = |name: &str| std::env::var("MB_BENCH_CASE").map_or(true, |case| name.starts_with(&case));
    // The cases whose plates or backgrounds are made only when one of them
    // is timed (by its whole name: any prefix of it picks it).
    const NOISY: &str = "noise 4/255, defaults";
    const PANNING: &str = "pan 2 px a frame, noise 4/255, defaults";
    const MOVING: &str = "clean, moving sharp background, defaults";
    const MOVING_MATCHED: &str = "clean, moving sharp background, colour match + light wrap";
    const MOVING_SOFTENED: &str = "clean, moving sharp background, defocus 3 + grain";
    // Only when timed: making them takes longer than timing a case.
    let noisy: Vec<Frame> =
        if wanted(NOISY) { (0..8).map(|seed| with_noise(&clean, 4.0, seed)).collect() } else { Vec::new() };
    // The camera pans 2 px a frame: every frame measures its move from the
    // frames before it.
    let panning: Vec<Frame> = if wanted(PANNING) {
        (0..41).map(|k| with_noise(&panned(&clean, 2 * k), 4.0, k as u64)).collect()
    } else {
        Vec::new()
    };
    // A sharp background that changes every frame, as a generated shot
    // does: nothing prepared from it can be kept from frame to frame.
    let moving: Vec<Frame> = if [MOVING, MOVING_MATCHED, MOVING_SOFTENED].iter().any(|name| wanted(name)) {
        (0..8).map(|k| sharp_background(w, h, k)).collect()
    } else {
        Vec::new()
    };
    let still = std::slice::from_ref(&bg);
    let mut out = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
    for (name, options, plates, backgrounds) in [
        ("clean, defaults", CompositeOptions::default(), std::slice::from_ref(&clean), still),
        (NOISY, CompositeOptions::default(), &noisy[..], still),
        (PANNING, CompositeOptions::default(), &panning[..], still),
        (MOVING, CompositeOptions::default(), std::slice::from_ref(&clean), &moving[..]),
        (
            "clean, colour match + light wrap",
            CompositeOptions { match_colour: 0.5, light_wrap: 0.5, ..Default::default() },
            std::slice::from_ref(&clean),
            still,
        ),
        (
            MOVING_MATCHED,
            CompositeOptions { match_colour: 0.5, light_wrap: 0.5, ..Default::default() },
            std::slice::from_ref(&clean),
            &moving[..],
        ),
        (
            MOVING_SOFTENED,
            CompositeOptions { defocus: Defocus::Radius(3.0), grain: 1.0, ..Default::default() },
            std::slice::from_ref(&clean),
            &moving[..],
        ),
    ] {
        if !wanted(name) {
            continue;
        }
        // As every host runs it: the shot's compositor, frames in order
        // (the key remembers the frames before each one).
        let mut shot = ShotCompositor::new(MatteFrom::Key(KeyOptions::default()), options, false).unwrap();
        let background = |k: u64| backgrounds[k as usize % backgrounds.len()].view();
        runtime
            .install(|| {
                shot.render(0, &plates[0].view(), None, &background(0), ShotOutput::Composite, &mut out.view_mut())
            })
            .unwrap();
        let frames = 40;
        let start = Instant::now();
        for k in 1..=frames {
            let plate = &plates[k as usize % plates.len()];
            runtime
                .install(|| {
                    shot.render(k, &plate.view(), None, &background(k), ShotOutput::Composite, &mut out.view_mut())
                })
                .unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "| {} | {name} | {:.1} | {:.1} |",
            runtime.threads(),
            frames as f64 / secs,
            1e3 * secs / frames as f64
        );
    }
}
