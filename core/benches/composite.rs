//! Compositing benchmark: key quality against ffmpeg's chromakey + despill
//! on green- and blue-screen plates built from real photos, and speed of key
//! + composite at 1080p.
//!
//!     cargo bench -p mattebox-core --features media --bench composite

use std::time::Instant;

use mattebox_core::composite::key::{find_screen, key_with};
use mattebox_core::composite::{CompositeOptions, Compositor, KeyOptions, ScreenChoice};
use mattebox_core::{Frame, PixelFormat, Runtime, RuntimeConfig};

fn main() {
    for threads in [1, 2] {
        let runtime = Runtime::new(RuntimeConfig { threads, ..Default::default() }).unwrap();
        speed(&runtime);
    }
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
            "{} threads, {name}: {:.1} fps (key {:.2} ms, composite {:.2} ms per frame)",
            runtime.threads(),
            frames as f64 / secs,
            1e3 * key_time / frames as f64,
            1e3 * (secs - key_time) / frames as f64
        );
    }
}
