//! A minimal generator adapter: each frame is a diagonal colour sweep whose
//! hues come from the seed and which slides with the camera's pan. It asks
//! for no network and no secrets.

use mattebox_adapter::*;

struct Sweep;

impl Adapter for Sweep {
    fn describe() -> AdapterInfo {
        info(
            "sweep",
            "Colour sweep (example)",
            "0.1.0",
            &[Field::Size, Field::Duration, Field::Fps, Field::Seed, Field::Camera],
        )
    }

    fn generate(request: ShotRequest) -> Result<TakeReport, GenerateError> {
        let (w, h) = (request.width as usize, request.height as usize);
        let frames = frame_count(&request);
        // Two hues from the seed.
        let hue = |k: u64| -> [f32; 3] {
            let x =
                (request.seed.wrapping_add(k).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f32 / (1u64 << 24) as f32;
            [
                0.5 + 0.5 * (std::f32::consts::TAU * x).cos(),
                0.5 + 0.5 * (std::f32::consts::TAU * (x + 0.33)).cos(),
                0.5 + 0.5 * (std::f32::consts::TAU * (x + 0.67)).cos(),
            ]
        };
        let (a, b) = (hue(1), hue(2));
        let mut frame = vec![255u8; w * h * 4];
        for n in 0..frames {
            let t = if frames > 1 { n as f32 / (frames - 1) as f32 } else { 0.0 };
            let shift = request.camera.pan * t * w as f32 / 3.0;
            for y in 0..h {
                for x in 0..w {
                    let s = (((x as f32 + shift) / w as f32 + y as f32 / h as f32) * 0.5).fract();
                    let px = &mut frame[(y * w + x) * 4..(y * w + x) * 4 + 3];
                    for c in 0..3 {
                        px[c] = ((a[c] + (b[c] - a[c]) * s) * 255.0) as u8;
                    }
                }
            }
            emit_frame(request.width, request.height, &frame).map_err(GenerateError::Other)?;
            if !progress((n + 1) as f32 / frames as f32) {
                return Err(GenerateError::Cancelled);
            }
        }
        let mut notes = Vec::new();
        if !request.prompt.is_empty() {
            notes.push(dropped(Field::Prompt, "the sweep does not read prompts"));
        }
        let c = request.camera;
        if c.horizontal != 0.0 || c.vertical != 0.0 || c.tilt != 0.0 || c.roll != 0.0 || c.zoom != 0.0 {
            notes.push(approximated(Field::Camera, "only the pan moves the sweep"));
        }
        Ok(report(notes))
    }
}

export_adapter!(Sweep);
