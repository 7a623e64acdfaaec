//! Four f32 lanes: one RGBA pixel per vector.
//!
//! Resampling an RGBA frame does the same arithmetic on four channels, so the
//! natural vector is one pixel. On x86-64 this is SSE2, which every x86-64
//! CPU has (no runtime detection); elsewhere a plain array the compiler may
//! vectorise. Measured on the 1080p render: about twice as fast as the
//! per-channel loops it replaced (docs/BENCHMARKS.md).

#[cfg(target_arch = "x86_64")]
mod imp {
    use std::arch::x86_64::*;

    /// Four f32 lanes.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct F4(__m128);

    impl F4 {
        #[inline(always)]
        pub(crate) fn splat(v: f32) -> F4 {
            // SAFETY: SSE2 is part of the x86-64 baseline.
            F4(unsafe { _mm_set1_ps(v) })
        }

        #[inline(always)]
        pub(crate) fn zero() -> F4 {
            // SAFETY: as above.
            F4(unsafe { _mm_setzero_ps() })
        }

        /// `self + a * b`.
        #[inline(always)]
        pub(crate) fn mul_add(self, a: F4, b: F4) -> F4 {
            // SAFETY: as above.
            F4(unsafe { _mm_add_ps(self.0, _mm_mul_ps(a.0, b.0)) })
        }

        #[inline(always)]
        pub(crate) fn write(self, out: &mut [f32]) {
            assert!(out.len() >= 4);
            // SAFETY: SSE2; `out` holds at least four floats (checked above).
            unsafe { _mm_storeu_ps(out.as_mut_ptr(), self.0) }
        }

        /// Four u8 samples from `p[0..4]`.
        #[inline(always)]
        pub(crate) fn from_u8(p: &[u8]) -> F4 {
            let word = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
            // SAFETY: SSE2 only; widening u8 -> u16 -> u32 by interleaving with zeros.
            unsafe {
                let zero = _mm_setzero_si128();
                let v = _mm_cvtsi32_si128(word as i32);
                let v = _mm_unpacklo_epi16(_mm_unpacklo_epi8(v, zero), zero);
                F4(_mm_cvtepi32_ps(v))
            }
        }

        /// Four u16 samples from `p[0..4]`.
        #[inline(always)]
        pub(crate) fn from_u16(p: &[u16]) -> F4 {
            let bits = (p[0] as u64) | (p[1] as u64) << 16 | (p[2] as u64) << 32 | (p[3] as u64) << 48;
            // SAFETY: SSE2 only; widening u16 -> u32 by interleaving with zeros.
            unsafe {
                let v = _mm_cvtsi64_si128(bits as i64);
                F4(_mm_cvtepi32_ps(_mm_unpacklo_epi16(v, _mm_setzero_si128())))
            }
        }

        /// Four f32 samples from `p[0..4]`.
        #[inline(always)]
        pub(crate) fn from_f32(p: &[f32]) -> F4 {
            assert!(p.len() >= 4);
            // SAFETY: SSE2; `p` holds at least four floats (checked above).
            F4(unsafe { _mm_loadu_ps(p.as_ptr()) })
        }

        #[inline(always)]
        pub(crate) fn from_m128(v: __m128) -> F4 {
            F4(v)
        }
    }
}

/// `wx[0] * p0 + wx[1] * p1 + wx[2] * p2 + wx[3] * p3` for four consecutive
/// RGBA8 pixels `taps[0..16]`: one horizontal bicubic tap row, two pixels per
/// 256-bit register.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn row4_u8_avx2(taps: &[u8], wx: [f32; 4]) -> F4 {
    use std::arch::x86_64::*;
    assert!(taps.len() >= 16);
    // SAFETY: `taps` holds 16 bytes (checked above); the caller guarantees AVX2 and FMA.
    unsafe {
        let bytes = _mm_loadu_si128(taps.as_ptr() as *const __m128i);
        let first = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
        let second = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8)));
        let w01 = _mm256_set_m128(_mm_set1_ps(wx[1]), _mm_set1_ps(wx[0]));
        let w23 = _mm256_set_m128(_mm_set1_ps(wx[3]), _mm_set1_ps(wx[2]));
        let sum = _mm256_fmadd_ps(second, w23, _mm256_mul_ps(first, w01));
        imp::F4::from_m128(_mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1)))
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    /// Four f32 lanes.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct F4([f32; 4]);

    impl F4 {
        #[inline(always)]
        pub(crate) fn splat(v: f32) -> F4 {
            F4([v; 4])
        }

        #[inline(always)]
        pub(crate) fn zero() -> F4 {
            F4([0.0; 4])
        }

        #[inline(always)]
        pub(crate) fn mul_add(self, a: F4, b: F4) -> F4 {
            F4(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
        }

        #[inline(always)]
        pub(crate) fn write(self, out: &mut [f32]) {
            out[..4].copy_from_slice(&self.0);
        }

        #[inline(always)]
        pub(crate) fn from_u8(p: &[u8]) -> F4 {
            F4([p[0] as f32, p[1] as f32, p[2] as f32, p[3] as f32])
        }

        #[inline(always)]
        pub(crate) fn from_u16(p: &[u16]) -> F4 {
            F4([p[0] as f32, p[1] as f32, p[2] as f32, p[3] as f32])
        }

        #[inline(always)]
        pub(crate) fn from_f32(p: &[f32]) -> F4 {
            F4([p[0], p[1], p[2], p[3]])
        }
    }
}

pub(crate) use imp::F4;

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(v: F4) -> [f32; 4] {
        let mut out = [0.0; 4];
        v.write(&mut out);
        out
    }

    #[test]
    fn loads_and_arithmetic() {
        assert_eq!(lanes(F4::from_u8(&[0, 1, 128, 255, 9])), [0.0, 1.0, 128.0, 255.0]);
        assert_eq!(lanes(F4::from_u16(&[0, 1, 40000, 65535])), [0.0, 1.0, 40000.0, 65535.0]);
        assert_eq!(lanes(F4::from_f32(&[0.5, -1.0, 2.0, 3.0])), [0.5, -1.0, 2.0, 3.0]);
        let v = F4::splat(1.0).mul_add(F4::from_f32(&[1.0, 2.0, 3.0, 4.0]), F4::splat(0.5));
        assert_eq!(lanes(v), [1.5, 2.0, 2.5, 3.0]);
        assert_eq!(lanes(F4::zero()), [0.0; 4]);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_row_matches_portable() {
        if !(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")) {
            return; // nothing to compare on this CPU; the portable path is the one in use
        }
        let taps: Vec<u8> = (0..16).map(|i| (i * 17 % 256) as u8).collect();
        let wx = [-0.0625, 0.5625, 0.5625, -0.0625];
        // SAFETY: AVX2 and FMA were detected above.
        let fast = lanes(unsafe { row4_u8_avx2(&taps, wx) });
        let mut slow = F4::zero();
        for i in 0..4 {
            slow = slow.mul_add(F4::from_u8(&taps[i * 4..]), F4::splat(wx[i]));
        }
        let slow = lanes(slow);
        for c in 0..4 {
            assert!((fast[c] - slow[c]).abs() < 1e-4, "{fast:?} vs {slow:?}");
        }
    }
}
