//! Person matte benchmark: `--key person` (no screen) on real photos of
//! people in front of real backgrounds, against their real mattes, and its
//! speed at 1280x720.
//!
//!     cargo bench -p mattebox-core --features media,onnx --bench person
//!
//! The plates are the keying benchmark's ground-truth composites (see
//! `keying_plates.py`: the photo's person, matted by closed-form matting,
//! over a background photo), each filmed as a still shot of 8 frames with
//! sensor noise of sigma 4/255 drawn afresh per frame. Honest limit: the
//! mattes' trimaps were drawn from the same selfie model, so where the model
//! is wrong about the person the truth is partly wrong with it; the edge
//! itself (hair, motion blur) is closed-form matting's.
//!
//! Two mattes per shot, through a `ShotCompositor` as every host runs it:
//! in sequence (the model's answer averaged over the still frames before,
//! then the guided filter), and "model alone" (the model's answer on the
//! same small copy, scaled up bilinearly, frame by frame: what the guided
//! filter and the history add). Metrics as the keying benchmark's: SAD
//! (/1000), MSE (x 1000), and flicker (x 1000): the mean frame-to-frame
//! change of alpha within 3 px of the true edge. Needs ONNX Runtime in
//! `target/tools/onnxruntime` (`bash .ci/setup`) or `MATTEBOX_ONNXRUNTIME`.
//! `MB_BENCH_ONLY=quality|speed` runs one part.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use mattebox_core::composite::MatteFrom;
use mattebox_core::composite::{CompositeOptions, Matte, PersonKey, PersonModel, ShotCompositor, ShotOutput};
use mattebox_core::consistency::models::PersonSegmenter;
use mattebox_core::{Frame, PixelFormat, Result, Runtime, RuntimeConfig};
use parking_lot::Mutex;

#[path = "support/keying.rs"]
mod keying;
use keying::keying_plates;

/// The segmenter, keeping its last answer (and the small copy's size) for
/// the "model alone" matte.
#[derive(Debug)]
struct Recording {
    inner: PersonSegmenter,
    last: Mutex<(u32, u32, Vec<f32>)>,
}

impl PersonModel for Recording {
    fn person_probability(&self, small: &Frame) -> Result<Vec<f32>> {
        let p = self.inner.person_probability(small)?;
        *self.last.lock() = (small.width(), small.height(), p.clone());
        Ok(p)
    }
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let library = std::env::var_os("MATTEBOX_ONNXRUNTIME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo.join("target/tools/onnxruntime/libonnxruntime.so"));
    let model = repo.join("../shared/models/selfie.onnx");
    let only = std::env::var("MB_BENCH_ONLY").unwrap_or_default();
    let recording = Arc::new(Recording {
        inner: PersonSegmenter::load(Some(&library), &model).unwrap(),
        last: Mutex::new((0, 0, Vec::new())),
    });
    if only.is_empty() || only == "quality" {
        quality(repo, &recording);
    }
    if only.is_empty() || only == "speed" {
        speed(repo, recording);
    }
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path).unwrap().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// A deterministic standard normal value for (i, seed).
fn gaussian(i: u64, seed: u64) -> f32 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut next = || {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        ((x >> 11) as f64 / (1u64 << 53) as f64).max(1e-12)
    };
    let (u, v) = (next(), next());
    ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
}

/// `rgb` (sRGB 0..1, 3 values a pixel) as 8-bit frames with noise of
/// `sigma`/255 drawn afresh for each of `count` frames.
fn filmed(rgb: &[f32], w: u32, h: u32, sigma: f32, count: u64) -> Vec<Frame> {
    (0..count)
        .map(|seed| {
            let mut f = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
            for (i, px) in f.as_bytes_mut().chunks_exact_mut(4).enumerate() {
                for (c, v) in px[..3].iter_mut().enumerate() {
                    let k = i * 3 + c;
                    *v = (rgb[k] * 255.0 + sigma * gaussian(k as u64, seed)).round().clamp(0.0, 255.0) as u8;
                }
                px[3] = 255;
            }
            f
        })
        .collect()
}

/// `p` (sw x sh) scaled bilinearly to w x h, pixel centres aligned.
fn bilinear(p: &[f32], sw: usize, sh: usize, w: usize, h: usize) -> Vec<f32> {
    let (fx, fy) = (sw as f32 / w as f32, sh as f32 / h as f32);
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        let sy = ((y as f32 + 0.5) * fy - 0.5).clamp(0.0, (sh - 1) as f32);
        let (y0, ty) = (sy as usize, sy.fract());
        let y1 = (y0 + 1).min(sh - 1);
        for x in 0..w {
            let sx = ((x as f32 + 0.5) * fx - 0.5).clamp(0.0, (sw - 1) as f32);
            let (x0, tx) = (sx as usize, sx.fract());
            let x1 = (x0 + 1).min(sw - 1);
            let top = p[y0 * sw + x0] * (1.0 - tx) + p[y0 * sw + x1] * tx;
            let bottom = p[y1 * sw + x0] * (1.0 - tx) + p[y1 * sw + x1] * tx;
            out[y * w + x] = top * (1.0 - ty) + bottom * ty;
        }
    }
    out
}

/// Pixels within 3 px of a true alpha strictly between 0.02 and 0.98.
fn edge_band(truth: &[f32], w: usize, h: usize) -> Vec<bool> {
    let mut band = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            if truth[y * w + x] > 0.02 && truth[y * w + x] < 0.98 {
                for yy in y.saturating_sub(3)..(y + 4).min(h) {
                    for xx in x.saturating_sub(3)..(x + 4).min(w) {
                        band[yy * w + xx] = true;
                    }
                }
            }
        }
    }
    band
}

/// SAD / 1000, MSE x 1000 (means over the frames), flicker x 1000.
fn scores(mattes: &[Vec<f32>], truth: &[f32], band: &[bool]) -> (f64, f64, f64) {
    let n = mattes.len() as f64;
    let sad = mattes.iter().map(|m| m.iter().zip(truth).map(|(a, t)| (a - t).abs() as f64).sum::<f64>()).sum::<f64>();
    let mse =
        mattes.iter().map(|m| m.iter().zip(truth).map(|(a, t)| ((a - t) as f64).powi(2)).sum::<f64>()).sum::<f64>()
            / truth.len() as f64;
    let (mut change, mut count) = (0.0f64, 0usize);
    for pair in mattes.windows(2) {
        for (i, _) in band.iter().enumerate().filter(|(_, b)| **b) {
            change += (pair[0][i] - pair[1][i]).abs() as f64;
            count += 1;
        }
    }
    (sad / n / 1000.0, mse / n * 1000.0, change / count.max(1) as f64 * 1000.0)
}

fn quality(repo: &Path, recording: &Arc<Recording>) {
    let dir = keying_plates(repo);
    #[derive(serde::Deserialize)]
    struct Entry {
        base: String,
        width: u32,
        height: u32,
    }
    let grid: Vec<Entry> = serde_json::from_slice(&std::fs::read(dir.join("grid.json")).unwrap()).unwrap();
    let mut bases: Vec<(String, u32, u32)> = grid.into_iter().map(|e| (e.base, e.width, e.height)).collect();
    bases.sort();
    bases.dedup();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    println!("## Person matte (no screen): real photos over real backgrounds, noise 4/255, 8 frames\n");
    println!("Each cell: Mattebox `--key person` / the model alone (its small answer scaled up bilinearly).\n");
    println!("| shot | SAD | MSE x1e3 | flicker x1e3 |");
    println!("|---|---|---|---|");
    let mut totals = [0.0f64; 6];
    for (base, w, h) in &bases {
        let rgb = read_f32(&dir.join(format!("{base}.composite.f32")));
        let truth = read_f32(&dir.join(format!("{base}.alpha.f32")));
        let frames = filmed(&rgb, *w, *h, 4.0, 8);
        let background = Frame::new(*w, *h, PixelFormat::Rgba8).unwrap();
        let key = PersonKey { model: recording.clone(), cleanup: Default::default() };
        let mut shot = ShotCompositor::new(MatteFrom::Person(key), CompositeOptions::default(), false).unwrap();
        let mut out = Frame::new(*w, *h, PixelFormat::Rgba8).unwrap();
        let (mut ours, mut alone) = (Vec::new(), Vec::new());
        for (k, f) in frames.iter().enumerate() {
            let matte: Matte = runtime
                .install(|| {
                    shot.render(k as u64, &f.view(), None, &background.view(), ShotOutput::Matte, &mut out.view_mut())
                })
                .unwrap();
            ours.push(matte.values().to_vec());
            let (sw, sh, p) = recording.last.lock().clone();
            alone.push(bilinear(&p, sw as usize, sh as usize, *w as usize, *h as usize));
        }
        let band = edge_band(&truth, *w as usize, *h as usize);
        let (a, b) = (scores(&ours, &truth, &band), scores(&alone, &truth, &band));
        for (t, v) in totals.iter_mut().zip([a.0, b.0, a.1, b.1, a.2, b.2]) {
            *t += v;
        }
        let cell = |x: f64, y: f64| {
            if x <= y { format!("**{x:.2}** / {y:.2}") } else { format!("{x:.2} / **{y:.2}**") }
        };
        println!("| {base} | {} | {} | {} |", cell(a.0, b.0), cell(a.1, b.1), cell(a.2, b.2));
    }
    let n = bases.len() as f64;
    println!(
        "| mean of {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} |\n",
        bases.len(),
        totals[0] / n,
        totals[1] / n,
        totals[2] / n,
        totals[3] / n,
        totals[4] / n,
        totals[5] / n
    );
}

fn speed(repo: &Path, recording: Arc<Recording>) {
    // The astronaut composite scaled to 1280x720 (nearest), as a plate.
    let dir = repo.join("target/bench-data/keying");
    let rgb = read_f32(&dir.join("astronaut_green.composite.f32"));
    let (w, h) = (1280u32, 720u32);
    let scaled: Vec<f32> = (0..(w * h) as usize)
        .flat_map(|i| {
            let (x, y) = (i % w as usize * 512 / w as usize, i / w as usize * 512 / h as usize);
            [rgb[(y * 512 + x) * 3], rgb[(y * 512 + x) * 3 + 1], rgb[(y * 512 + x) * 3 + 2]]
        })
        .collect();
    let frames = filmed(&scaled, w, h, 4.0, 8);
    let mut background = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
    background.view_mut().fill([0.2, 0.3, 0.6, 1.0]);
    println!("## Speed: person matte + composite at 1280x720, RGBA8, noise 4/255\n");
    println!("| threads | fps | ms per frame |");
    println!("|---|---|---|");
    for threads in [1, 2] {
        let runtime = Runtime::new(RuntimeConfig { threads, ..Default::default() }).unwrap();
        let key = PersonKey { model: recording.clone(), cleanup: Default::default() };
        let mut shot = ShotCompositor::new(MatteFrom::Person(key), CompositeOptions::default(), false).unwrap();
        let mut out = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        let mut render = |k: u64| {
            let plate = &frames[k as usize % frames.len()];
            runtime
                .install(|| {
                    shot.render(k, &plate.view(), None, &background.view(), ShotOutput::Composite, &mut out.view_mut())
                })
                .unwrap();
        };
        render(0);
        let count = 40;
        let start = Instant::now();
        for k in 1..=count {
            render(k);
        }
        let secs = start.elapsed().as_secs_f64();
        println!("| {threads} | {:.1} | {:.1} |", count as f64 / secs, 1e3 * secs / count as f64);
    }
    println!();
}
