//! Foundation throughput: frame format conversion and 1080p decoding, with
//! the ffmpeg program decoding the same clip in the same run for reference.
//!
//!     cargo bench -p mattebox-core --features media --bench media
//!
//! Prints a Markdown table; docs/BENCHMARKS.md records a run.

use std::process::Command;
use std::time::Instant;

use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::{Frame, PixelFormat, Runtime, RuntimeConfig};

fn time<R>(runs: usize, mut f: impl FnMut() -> R) -> f64 {
    f(); // warm up
    let start = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(f());
    }
    start.elapsed().as_secs_f64() / runs as f64
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("bench1080.mp4");
    let frames = 120;
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=24"])
        .args([
            "-frames:v",
            &frames.to_string(),
            "-c:v",
            "libx264",
            "-preset",
            "fast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "24",
        ])
        .arg(&clip)
        .status()
        .expect("ffmpeg must be installed");
    assert!(status.success());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("| measurement | 1 thread | {cores} threads |");
    println!("|---|---|---|");

    let mut src = Frame::new(1920, 1080, PixelFormat::Rgba8).unwrap();
    for (i, b) in src.as_bytes_mut().iter_mut().enumerate() {
        *b = (i * 31 % 251) as u8;
    }
    let float = src.to_format(PixelFormat::Rgba32F).unwrap();
    let runtimes: Vec<Runtime> =
        [1, cores].iter().map(|&t| Runtime::new(RuntimeConfig { threads: t, ..Default::default() }).unwrap()).collect();
    for (name, from, to) in [
        ("convert 1080p RGBA8 -> RGBA32F", &src, PixelFormat::Rgba32F),
        ("convert 1080p RGBA32F -> RGBA8", &float, PixelFormat::Rgba8),
        ("convert 1080p RGBA8 -> RGBA16", &src, PixelFormat::Rgba16),
    ] {
        let mut dst = Frame::new(1920, 1080, to).unwrap();
        let ms: Vec<String> = runtimes
            .iter()
            .map(|rt| {
                format!("{:.2} ms", 1e3 * time(50, || rt.convert_frame(&from.view(), &mut dst.view_mut()).unwrap()))
            })
            .collect();
        println!("| {name} | {} | {} |", ms[0], ms[1]);
    }

    // Decoding: sequential frames per second, ours (decode + swscale to RGBA8)
    // against the ffmpeg program doing the same conversion to raw RGBA.
    let ours = |threads: usize| {
        let rt = Runtime::new(RuntimeConfig { threads, ..Default::default() }).unwrap();
        time(3, || {
            let mut r = MediaReader::open_on(&rt, &clip, &OpenOptions::default()).unwrap();
            for n in 0..frames {
                std::hint::black_box(r.read_frame(n).unwrap());
            }
        })
    };
    let ffmpeg = |threads: usize| {
        time(3, || {
            let ok = Command::new("ffmpeg")
                .args(["-hide_banner", "-v", "error", "-threads", &threads.to_string(), "-i"])
                .arg(&clip)
                .args(["-f", "rawvideo", "-pix_fmt", "rgba", "-y", "/dev/null"])
                .status()
                .unwrap()
                .success();
            assert!(ok);
        })
    };
    let fps = |secs: f64| format!("{:.0} fps", frames as f64 / secs);
    let (o1, on) = (ours(1), ours(cores));
    let (f1, fnn) = (ffmpeg(1), ffmpeg(cores));
    println!("| decode 1080p H.264 to RGBA8, Mattebox (open + index + every frame) | {} | {} |", fps(o1), fps(on));
    println!("| decode 1080p H.264 to RGBA, ffmpeg program to /dev/null | {} | {} |", fps(f1), fps(fnn));

    // Random access: frames read in a scrambled order (each needs a seek and
    // a decode from its keyframe; GOP = 24 frames).
    let rt = &runtimes[1];
    let mut reader = MediaReader::open_on(rt, &clip, &OpenOptions::default()).unwrap();
    let order: Vec<u64> = (0..40).map(|i| i * 53 % frames).collect();
    let start = Instant::now();
    for &n in &order {
        std::hint::black_box(reader.read_frame(n).unwrap());
    }
    let per = start.elapsed().as_secs_f64() / order.len() as f64;
    println!("| random access, 1080p H.264, GOP 24 | | {:.1} ms per frame |", per * 1e3);
}
