//! Repeated frames: generators and screen recorders hold a picture by
//! writing the same frame again, which plays as a stutter. A frame is a
//! repeat of the one before when no part of it changed by more than
//! compression noise.
//!
//! Luma is compared on every second pixel of every second row. A repeat
//! re-encoded by a lossy codec differs everywhere by a level or two, and on
//! texture by up to six (H.264 at its default quality); a real change, even
//! a small one (a mouth moving in a still shot), moves some pixels by far
//! more. So a frame is a repeat when the mean difference is under one level
//! and 99.9% of the samples differ by at most eight levels of 255. A change
//! smaller than a thousandth of the picture (a blink in a wide shot) reads
//! as a repeat.

use crate::frame::FrameView;

/// Mean absolute luma difference (of 1) a repeat stays under.
const MEAN_MAX: f32 = 1.0 / 255.0;
/// Difference (in levels of 255) that 99.9% of a repeat's samples stay within.
const TAIL_LEVELS: usize = 8;
/// Share of samples allowed beyond [`TAIL_LEVELS`].
const TAIL_SHARE: f64 = 0.001;

/// Whether `b` shows the same picture as `a` (same size), up to compression noise.
pub fn is_repeat(a: &FrameView<'_>, b: &FrameView<'_>) -> bool {
    if (a.width(), a.height()) != (b.width(), b.height()) {
        return false;
    }
    let w = a.width() as usize;
    let (mut ra, mut rb) = (vec![0.0f32; w * 4], vec![0.0f32; w * 4]);
    let mut histogram = [0u64; 256];
    let (mut sum, mut samples) = (0.0f64, 0u64);
    for y in (0..a.height()).step_by(2) {
        a.read_row_f32(y, &mut ra);
        b.read_row_f32(y, &mut rb);
        for x in (0..w).step_by(2) {
            let luma = |p: &[f32]| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            let d = (luma(&ra[x * 4..x * 4 + 4]) - luma(&rb[x * 4..x * 4 + 4])).abs();
            histogram[((d * 255.0).round() as usize).min(255)] += 1;
            sum += d as f64;
            samples += 1;
        }
    }
    if samples == 0 {
        return true;
    }
    let beyond: u64 = histogram[TAIL_LEVELS + 1..].iter().sum();
    (sum / samples as f64) as f32 <= MEAN_MAX && beyond as f64 <= TAIL_SHARE * samples as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, PixelFormat};

    fn textured(shift: u32) -> Frame {
        let mut f = Frame::new(320, 180, PixelFormat::Rgba8).unwrap();
        for (i, px) in f.as_bytes_mut().chunks_exact_mut(4).enumerate() {
            let (x, y) = ((i % 320) as u32 + shift, (i / 320) as u32);
            let v = (128.0 + 60.0 * ((x as f32 / 7.0).sin() * (y as f32 / 5.0).cos())) as u8;
            px.copy_from_slice(&[v, v / 2 + 40, 255 - v, 255]);
        }
        f
    }

    #[test]
    fn noise_is_a_repeat_and_a_small_change_is_not() {
        let a = textured(0);
        // Compression-like noise: one level up or down here and there.
        let mut noisy = a.clone();
        for (i, b) in noisy.as_bytes_mut().iter_mut().enumerate() {
            if i % 4 != 3 && i % 7 == 0 {
                *b = b.saturating_add(1);
            }
        }
        assert!(is_repeat(&a.view(), &noisy.view()));
        // A 20x20 patch (under 1% of the frame) changes: not a repeat.
        let mut mouth = a.clone();
        for y in 80..100 {
            for x in 150..170 {
                let i = (y * 320 + x) * 4;
                mouth.as_bytes_mut()[i..i + 3].copy_from_slice(&[20, 20, 20]);
            }
        }
        assert!(!is_repeat(&a.view(), &mouth.view()));
        // The whole picture moves by a pixel: not a repeat.
        assert!(!is_repeat(&a.view(), &textured(1).view()));
    }
}
