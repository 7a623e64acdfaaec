//! Compositing benchmark: key quality against ffmpeg's chromakey + despill
//! on green- and blue-screen plates built from real photos of people, and
//! the speed of key + composite at 1080p.
//!
//!     cargo bench -p mattebox-core --features media --bench composite
//!
//! The plates are made by `keying_plates.py` (see its header: photos from
//! the scikit-image wheel and Debian's opencv-doc, ground-truth mattes by
//! closed-form matting, spill, uneven light, noise and motion blur added in
//! linear light) into `target/bench-data/keying`, never committed.
//! Mattebox keys each plate with its defaults (automatic screen); ffmpeg's
//! chain gets the screen colour Mattebox found and, per plate, the best of a
//! grid of similarity and blend settings by SAD: an oracle setting no user
//! has, so the comparison favours ffmpeg.
//!
//! Metrics as on alphamatting.com, over the whole frame: SAD (sum of
//! absolute alpha errors / 1000), MSE (x 1000), gradient error (squared
//! difference of Gaussian-derivative gradient magnitudes, sigma 1.4, / 1000),
//! and the PSNR of the composite over a background photo against the clean
//! ground-truth composite (both keyers' foregrounds laid over in linear light).
//! `MB_BENCH_ONLY=quality|speed` runs one part.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mattebox_core::composite::{CompositeOptions, Compositor, KeyOptions, Matte, ScreenChoice};
use mattebox_core::composite::{find_screen, key_with};
use mattebox_core::media::read_image;
use mattebox_core::pixels::color::{linear_to_srgb, srgb_to_linear};
use mattebox_core::{Frame, PixelFormat, Runtime, RuntimeConfig};

fn main() {
    let only = std::env::var("MB_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "quality" {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        quality(&runtime, &plates());
    }
    if only.is_empty() || only == "speed" {
        println!("## Speed: key + composite at 1920x1080, RGBA8\n");
        println!("| threads | options | fps | key ms | composite ms |");
        println!("|---|---|---|---|---|");
        for threads in [1, 2] {
            let runtime = Runtime::new(RuntimeConfig { threads, ..Default::default() }).unwrap();
            speed(&runtime);
        }
        println!();
    }
}

#[derive(serde::Deserialize)]
struct PlateInfo {
    name: String,
    width: u32,
    height: u32,
    screen: String,
    motion_blur: u32,
}

/// Builds the plates once (Python, see keying_plates.py) and lists them.
fn plates() -> (PathBuf, Vec<PlateInfo>) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = repo.join("target/bench-data/keying");
    std::fs::create_dir_all(&dir).unwrap();
    let ok = Command::new("python3")
        .arg(repo.join("core/benches/keying_plates.py"))
        .arg(&dir)
        .arg(repo.join("../shared"))
        .status()
        .expect("python3 is needed to build the keying plates")
        .success();
    assert!(ok, "keying_plates.py failed");
    let list = serde_json::from_slice(&std::fs::read(dir.join("plates.json")).unwrap()).unwrap();
    (dir, list)
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

/// ffmpeg's chromakey + despill on `plate`: (alpha, RGB) as floats.
fn ffmpeg_key(plate: &Path, colour: &str, similarity: f32, blend: f32, screen: &str) -> (Vec<f32>, Vec<f32>) {
    let filter = format!(
        "format=yuva444p,chromakey=color={colour}:similarity={similarity}:blend={blend},\
         format=gbrap,despill=type={screen},format=rgba"
    );
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(plate)
        .args(["-vf", &filter, "-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    let alpha = out.stdout.chunks_exact(4).map(|p| p[3] as f32 / 255.0).collect();
    let rgb = out.stdout.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).map(|v| v as f32 / 255.0).collect();
    (alpha, rgb)
}

fn quality(runtime: &Runtime, (dir, plates): &(PathBuf, Vec<PlateInfo>)) {
    println!("## Key quality against ffmpeg's chromakey + despill\n");
    println!("| plate | size | keyer | SAD | MSE x1e3 | gradient | composite PSNR dB |");
    println!("|---|---|---|---|---|---|---|");
    let similarities = [0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4];
    let blends = [0.0, 0.02, 0.05, 0.08, 0.12, 0.16, 0.2, 0.3];
    let mut wins = 0;
    for info in plates {
        let (w, h) = (info.width as usize, info.height as usize);
        let plate_path = dir.join(format!("{}.plate.png", info.name));
        let plate = read_image(&plate_path).unwrap();
        let background = read_image(&dir.join(format!("{}.background.png", info.name))).unwrap();
        let truth = read_f32(&dir.join(format!("{}.alpha.f32", info.name)));
        let truth_composite = read_f32(&dir.join(format!("{}.composite.f32", info.name)));
        assert_eq!(truth.len(), w * h);

        // Mattebox, defaults.
        let (matte, screen, ours) = runtime
            .install(|| -> mattebox_core::Result<(Matte, mattebox_core::composite::Screen, Frame)> {
                let screen = find_screen(&plate.view(), ScreenChoice::Auto)?;
                let matte = key_with(&plate.view(), &screen, &KeyOptions::default())?;
                let mut out = Frame::new(info.width, info.height, PixelFormat::Rgba8)?;
                Compositor::new(CompositeOptions::default())?.composite(
                    &plate.view(),
                    &matte,
                    Some(&screen),
                    &background.view(),
                    &mut out.view_mut(),
                )?;
                Ok((matte, screen, out))
            })
            .unwrap();
        let ours_error = matte_error(matte.values(), &truth, w, h);
        let ours_psnr = psnr(&rgb_of(&ours), &truth_composite);

        // ffmpeg, the best grid setting by SAD, given our screen colour.
        let srgb = screen.linear.map(|v| (linear_to_srgb(v) * 255.0).round() as u8);
        let colour = format!("0x{:02X}{:02X}{:02X}", srgb[0], srgb[1], srgb[2]);
        let screen_name = if screen.channel == 2 { "blue" } else { "green" };
        assert_eq!(screen_name, info.screen, "{}: found the wrong screen", info.name);
        // (SAD, similarity, blend, alpha, RGB) of the best setting so far.
        type Keyed = (f64, f32, f32, Vec<f32>, Vec<f32>);
        let mut best: Option<Keyed> = None;
        for &s in &similarities {
            for &b in &blends {
                let (alpha, rgb) = ffmpeg_key(&plate_path, &colour, s, b, screen_name);
                let sad = matte_error_sad(&alpha, &truth);
                if best.as_ref().is_none_or(|x| sad < x.0) {
                    best = Some((sad, s, b, alpha, rgb));
                }
            }
        }
        let (_, s, b, alpha, rgb) = best.unwrap();
        let ff_error = matte_error(&alpha, &truth, w, h);
        let ff_psnr = psnr(&over(&rgb, &alpha, &rgb_of(&background)), &truth_composite);
        let label = format!(
            "{} ({} screen{})",
            info.name,
            info.screen,
            if info.motion_blur > 0 { format!(", {} px motion blur", info.motion_blur) } else { String::new() }
        );
        println!(
            "| {label} | {w}x{h} | Mattebox (defaults) | {:.2} | {:.2} | {:.2} | {:.2} |",
            ours_error.sad, ours_error.mse, ours_error.gradient, ours_psnr
        );
        println!(
            "| | | ffmpeg (similarity {s}, blend {b}) | {:.2} | {:.2} | {:.2} | {:.2} |",
            ff_error.sad, ff_error.mse, ff_error.gradient, ff_psnr
        );
        if ours_error.sad < ff_error.sad && ours_error.mse < ff_error.mse && ours_error.gradient < ff_error.gradient {
            wins += 1;
        }
    }
    println!("\nMattebox has the lower SAD, MSE and gradient error on {wins} of {} plates.\n", plates.len());
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

fn speed(runtime: &Runtime) {
    let (w, h) = (1920, 1080);
    let (plate, bg) = synthetic_plate(w, h);
    let mut out = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
    let key = KeyOptions { screen: ScreenChoice::Auto, ..Default::default() };
    let screen = find_screen(&plate.view(), key.screen).unwrap();
    for (name, options) in [
        ("defaults", CompositeOptions::default()),
        ("colour match + light wrap", CompositeOptions { match_colour: 0.5, light_wrap: 0.5, ..Default::default() }),
    ] {
        let mut compositor = Compositor::new(options).unwrap();
        let frames = 40;
        let mut key_time = 0.0;
        let start = Instant::now();
        for _ in 0..frames {
            runtime
                .install(|| -> mattebox_core::Result<()> {
                    let t = Instant::now();
                    let matte = key_with(&plate.view(), &screen, &key)?;
                    key_time += t.elapsed().as_secs_f64();
                    compositor.composite(&plate.view(), &matte, Some(&screen), &bg.view(), &mut out.view_mut())
                })
                .unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "| {} | {name} | {:.1} | {:.2} | {:.2} |",
            runtime.threads(),
            frames as f64 / secs,
            1e3 * key_time / frames as f64,
            1e3 * (secs - key_time) / frames as f64
        );
    }
}
