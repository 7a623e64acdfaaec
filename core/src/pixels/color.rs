//! Colour spaces for compositing: the sRGB transfer curve (compositing
//! happens in linear light) and Oklab (colour statistics are matched in a
//! perceptual space).

use std::sync::OnceLock;

use crate::frame::{Row, RowMut};

/// sRGB-encoded value (0..1) to linear light.
#[inline]
pub fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
}

/// Linear light (0..1) to sRGB encoding.
#[inline]
pub fn linear_to_srgb(v: f32) -> f32 {
    let v = v.max(0.0);
    if v <= 0.003_130_8 { v * 12.92 } else { 1.055 * v.powf(1.0 / 2.4) - 0.055 }
}

/// Linear value of every 8-bit sRGB code.
pub(crate) fn linear_of_u8() -> &'static [f32; 256] {
    static TABLE: OnceLock<[f32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| srgb_to_linear(i as f32 / 255.0)))
}

/// Resolution of [`encode`]'s table over 0..1 linear light.
const ENCODE_STEPS: usize = 4096;

fn encode_table() -> &'static [f32; ENCODE_STEPS + 1] {
    static TABLE: OnceLock<[f32; ENCODE_STEPS + 1]> = OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| linear_to_srgb(i as f32 / ENCODE_STEPS as f32)))
}

/// Fast linear -> sRGB: a 4097-entry table with linear interpolation (error
/// below 1/4000 of full scale away from black, where the curve is linear
/// anyway); `powf` per pixel would dominate compositing time.
#[inline]
pub(crate) fn encode(v: f32) -> f32 {
    let table = encode_table();
    let x = v.clamp(0.0, 1.0) * ENCODE_STEPS as f32;
    let i = (x as usize).min(ENCODE_STEPS - 1);
    let f = x - i as f32;
    table[i] + (table[i + 1] - table[i]) * f
}

/// Fast sRGB -> linear for any value in 0..1 (same table approach).
#[inline]
pub(crate) fn decode(v: f32) -> f32 {
    static TABLE: OnceLock<[f32; ENCODE_STEPS + 1]> = OnceLock::new();
    let table = TABLE.get_or_init(|| std::array::from_fn(|i| srgb_to_linear(i as f32 / ENCODE_STEPS as f32)));
    let x = v.clamp(0.0, 1.0) * ENCODE_STEPS as f32;
    let i = (x as usize).min(ENCODE_STEPS - 1);
    let f = x - i as f32;
    table[i] + (table[i + 1] - table[i]) * f
}

/// Steps of the direct linear -> 8-bit sRGB table: fine enough that every
/// 8-bit code survives decode then encode exactly (tested below).
const ENCODE_U8_STEPS: usize = 16384;

fn encode_u8_table() -> &'static [u8; ENCODE_U8_STEPS + 1] {
    static TABLE: OnceLock<[u8; ENCODE_U8_STEPS + 1]> = OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|i| (linear_to_srgb(i as f32 / ENCODE_U8_STEPS as f32) * 255.0 + 0.5) as u8)
    })
}

/// Decodes a row of sRGB-encoded RGBA into linear-light RGBA (alpha copied,
/// clamped to 0..1): one table lookup per 8-bit sample.
pub(crate) fn decode_row(row: &Row<'_>, out: &mut [f32]) {
    match row {
        Row::U8(r) => {
            let lut = linear_of_u8();
            for (o, p) in out.chunks_exact_mut(4).zip(r.chunks_exact(4)) {
                o[0] = lut[p[0] as usize];
                o[1] = lut[p[1] as usize];
                o[2] = lut[p[2] as usize];
                o[3] = p[3] as f32 * (1.0 / 255.0);
            }
        }
        Row::U16(r) => {
            for (o, p) in out.chunks_exact_mut(4).zip(r.chunks_exact(4)) {
                for c in 0..3 {
                    o[c] = decode(p[c] as f32 * (1.0 / 65535.0));
                }
                o[3] = p[3] as f32 * (1.0 / 65535.0);
            }
        }
        Row::F32(r) => {
            for (o, p) in out.chunks_exact_mut(4).zip(r.chunks_exact(4)) {
                for c in 0..3 {
                    o[c] = decode(p[c]);
                }
                o[3] = p[3].clamp(0.0, 1.0);
            }
        }
    }
}

/// Decodes a row of sRGB-encoded RGBA into three planes of linear light,
/// red, green and blue, alpha dropped: the values [`decode_row`] gives, laid
/// out so that a loop over whole planes runs in vector lanes.
pub(crate) fn decode_row_planes(row: &Row<'_>, [red, green, blue]: [&mut [f32]; 3]) {
    let planes = red.iter_mut().zip(green.iter_mut()).zip(blue.iter_mut());
    match row {
        Row::U8(r) => {
            let lut = linear_of_u8();
            for (((red, green), blue), p) in planes.zip(r.as_chunks::<4>().0) {
                let p = u32::from_le_bytes(*p) as usize;
                *red = lut[p & 0xff];
                *green = lut[(p >> 8) & 0xff];
                *blue = lut[(p >> 16) & 0xff];
            }
        }
        Row::U16(r) => {
            for (((red, green), blue), p) in planes.zip(r.chunks_exact(4)) {
                *red = decode(p[0] as f32 * (1.0 / 65535.0));
                *green = decode(p[1] as f32 * (1.0 / 65535.0));
                *blue = decode(p[2] as f32 * (1.0 / 65535.0));
            }
        }
        Row::F32(r) => {
            for (((red, green), blue), p) in planes.zip(r.chunks_exact(4)) {
                *red = decode(p[0]);
                *green = decode(p[1]);
                *blue = decode(p[2]);
            }
        }
    }
}

/// Encodes a row of linear-light RGBA (alpha 0..1) into `dst` as sRGB in
/// its own format; 8-bit output goes through one table lookup per sample.
pub(crate) fn encode_row(line: &[f32], dst: RowMut<'_>) {
    match dst {
        RowMut::U8(d) => {
            let table = encode_u8_table();
            // The nearest step found by adding 2^23, after which the
            // float's low mantissa bits are the integer: no saturating
            // float-to-integer conversion per sample (NaN is taken as 0).
            let step = |v: f32| {
                let v = if v > 0.0 { v.min(1.0) } else { 0.0 };
                let bits = (v * ENCODE_U8_STEPS as f32 + 8_388_608.0).to_bits();
                ((bits & 0x7f_ffff) as usize).min(ENCODE_U8_STEPS)
            };
            for (o, p) in d.chunks_exact_mut(4).zip(line.chunks_exact(4)) {
                for c in 0..3 {
                    o[c] = table[step(p[c])];
                }
                o[3] = (p[3].clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
            }
        }
        RowMut::U16(d) => {
            for (o, p) in d.chunks_exact_mut(4).zip(line.chunks_exact(4)) {
                for c in 0..3 {
                    o[c] = (encode(p[c]) * 65535.0 + 0.5) as u16;
                }
                o[3] = (p[3].clamp(0.0, 1.0) * 65535.0 + 0.5) as u16;
            }
        }
        RowMut::F32(d) => {
            for (o, p) in d.chunks_exact_mut(4).zip(line.chunks_exact(4)) {
                for c in 0..3 {
                    o[c] = encode(p[c]);
                }
                o[3] = p[3];
            }
        }
    }
}

/// Linear sRGB to Oklab (Björn Ottosson, 2020): L in 0..1, a and b around 0.
#[inline]
pub fn linear_to_oklab(rgb: [f32; 3]) -> [f32; 3] {
    let [r, g, b] = rgb;
    let l = 0.412_221_47 * r + 0.536_332_55 * g + 0.051_445_995 * b;
    let m = 0.211_903_5 * r + 0.680_699_5 * g + 0.107_396_96 * b;
    let s = 0.088_302_46 * r + 0.281_718_85 * g + 0.629_978_7 * b;
    let (l, m, s) = (l.max(0.0).cbrt(), m.max(0.0).cbrt(), s.max(0.0).cbrt());
    [
        0.210_454_26 * l + 0.793_617_8 * m - 0.004_072_047 * s,
        1.977_998_5 * l - 2.428_592_2 * m + 0.450_593_7 * s,
        0.025_904_037 * l + 0.782_771_77 * m - 0.808_675_77 * s,
    ]
}

/// Linear sRGB (D65) to CIELAB (D65 white): L* in 0..100, a* and b* around
/// 0, so differences are CIE76 Delta E (about 2.3 is just noticeable), the
/// unit colourists and consistency reports speak in.
#[inline]
pub fn linear_to_cielab(rgb: [f32; 3]) -> [f32; 3] {
    let [r, g, b] = rgb;
    // XYZ relative to the D65 white point.
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let f = |t: f32| if t > 0.008_856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Oklab to linear sRGB.
#[inline]
pub fn oklab_to_linear(lab: [f32; 3]) -> [f32; 3] {
    let [l, a, b] = lab;
    let l_ = l + 0.396_337_78 * a + 0.215_803_76 * b;
    let m_ = l - 0.105_561_346 * a - 0.063_854_17 * b;
    let s_ = l - 0.089_484_18 * a - 1.291_485_5 * b;
    let (l, m, s) = (l_ * l_ * l_, m_ * m_ * m_, s_ * s_ * s_);
    [
        4.076_741_7 * l - 3.307_711_6 * m + 0.230_969_94 * s,
        -1.268_438 * l + 2.609_757_4 * m - 0.341_319_38 * s,
        -0.004_196_086_3 * l - 0.703_418_6 * m + 1.707_614_7 * s,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cielab_of_known_colours() {
        let white = linear_to_cielab([1.0, 1.0, 1.0]);
        assert!((white[0] - 100.0).abs() < 0.01 && white[1].abs() < 0.01 && white[2].abs() < 0.01, "{white:?}");
        // sRGB red is L* 53.24, a* 80.09, b* 67.20.
        let red = linear_to_cielab([1.0, 0.0, 0.0]);
        for (got, want) in red.iter().zip([53.24, 80.09, 67.20]) {
            assert!((got - want).abs() < 0.05, "{red:?}");
        }
        assert!(linear_to_cielab([0.0, 0.0, 0.0])[0].abs() < 1e-4);
    }

    #[test]
    fn transfer_curves_invert_each_other() {
        for i in 0..=255 {
            let v = i as f32 / 255.0;
            assert!((linear_to_srgb(srgb_to_linear(v)) - v).abs() < 1e-5, "{v}");
            assert!((encode(srgb_to_linear(v)) - v).abs() < 2e-4, "table at {v}");
            assert!((decode(v) - srgb_to_linear(v)).abs() < 2e-4, "decode at {v}");
        }
        assert_eq!(linear_of_u8()[255], 1.0);
    }

    #[test]
    fn every_8_bit_code_survives_a_row_decode_and_encode() {
        let codes: Vec<u8> = (0..=255u8).flat_map(|v| [v, 255 - v, v / 2, v]).collect();
        let mut linear = vec![0.0f32; codes.len()];
        decode_row(&Row::U8(&codes), &mut linear);
        let mut back = vec![0u8; codes.len()];
        encode_row(&linear, RowMut::U8(&mut back));
        assert_eq!(codes, back);
        // Out of range and NaN: clamped, NaN taken as black.
        let odd = [-0.5, 1.5, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.5, 2.0, f32::NAN];
        let mut out = [7u8; 8];
        encode_row(&odd, RowMut::U8(&mut out));
        assert_eq!(out, [0, 255, 0, 255, 0, 188, 255, 0]);
        let mut wide = vec![0u16; codes.len()];
        encode_row(&linear, RowMut::U16(&mut wide));
        for (c, w) in codes.iter().zip(&wide) {
            assert!((*c as f32 / 255.0 - *w as f32 / 65535.0).abs() < 2e-4, "{c} -> {w}");
        }
    }

    #[test]
    fn planes_hold_what_the_interleaved_decode_gives() {
        let codes: Vec<u8> = (0..=255u8).flat_map(|v| [v, 255 - v, v / 3, 255]).collect();
        let wide: Vec<u16> =
            codes.iter().enumerate().map(|(i, &c)| (c as u16 * 257).saturating_sub((i % 7) as u16)).collect();
        let float: Vec<f32> =
            codes.iter().enumerate().map(|(i, &c)| c as f32 / 251.0 - (i % 3) as f32 * 0.01).collect();
        for row in [Row::U8(&codes), Row::U16(&wide), Row::F32(&float)] {
            let mut interleaved = vec![0.0f32; codes.len()];
            decode_row(&row, &mut interleaved);
            let mut planes = vec![-1.0f32; codes.len() / 4 * 3];
            let (red, rest) = planes.split_at_mut(codes.len() / 4);
            let (green, blue) = rest.split_at_mut(codes.len() / 4);
            decode_row_planes(&row, [red, green, blue]);
            for (x, p) in interleaved.chunks_exact(4).enumerate() {
                assert_eq!([red[x], green[x], blue[x]], [p[0], p[1], p[2]], "pixel {x}");
            }
        }
    }

    #[test]
    fn oklab_round_trips_and_has_known_values() {
        for rgb in [[1.0, 1.0, 1.0], [0.2, 0.5, 0.1], [0.0, 0.0, 1.0], [0.9, 0.1, 0.3]] {
            let back = oklab_to_linear(linear_to_oklab(rgb));
            for c in 0..3 {
                assert!((back[c] - rgb[c]).abs() < 1e-4, "{rgb:?} -> {back:?}");
            }
        }
        let white = linear_to_oklab([1.0, 1.0, 1.0]);
        assert!((white[0] - 1.0).abs() < 1e-3 && white[1].abs() < 1e-3 && white[2].abs() < 1e-3);
    }
}
