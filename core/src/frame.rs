//! Pixel buffers: the owned [`Frame`] and the borrowed [`FrameView`] /
//! [`FrameViewMut`] over memory that belongs to a host.
//!
//! A host (an OFX plugin, a frei0r filter, a game engine) already has its
//! pixels somewhere, with its own row stride. The views describe that memory
//! without copying it. Constructors check everything an algorithm would
//! otherwise have to trust: dimensions, stride, buffer length and alignment,
//! so row access afterwards is infallible.
//!
//! Samples are native-endian. RGBA8 and RGBA16 are unsigned normalised
//! integers; RGBA32F is float where 0.0..=1.0 is the display range. Conversions
//! between formats rescale values only; they never apply a transfer function.

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How one pixel is laid out: four channels R, G, B, A in that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// 8 bits per channel, unsigned normalised.
    Rgba8,
    /// 16 bits per channel, unsigned normalised, native-endian.
    Rgba16,
    /// 32-bit float per channel, native-endian.
    Rgba32F,
}

impl PixelFormat {
    /// Every supported format.
    pub const ALL: [PixelFormat; 3] = [PixelFormat::Rgba8, PixelFormat::Rgba16, PixelFormat::Rgba32F];

    /// Bytes in one channel sample.
    pub const fn bytes_per_sample(self) -> usize {
        match self {
            PixelFormat::Rgba8 => 1,
            PixelFormat::Rgba16 => 2,
            PixelFormat::Rgba32F => 4,
        }
    }

    /// Bytes in one pixel (four samples).
    pub const fn bytes_per_pixel(self) -> usize {
        4 * self.bytes_per_sample()
    }

    /// The lowercase name used on command lines and in JSON: `rgba8`, `rgba16`, `rgba32f`.
    pub const fn name(self) -> &'static str {
        match self {
            PixelFormat::Rgba8 => "rgba8",
            PixelFormat::Rgba16 => "rgba16",
            PixelFormat::Rgba32F => "rgba32f",
        }
    }

    /// Bytes in one tightly packed row of `width` pixels, if it fits in `usize`.
    pub fn row_bytes(self, width: u32) -> Option<usize> {
        (width as usize).checked_mul(self.bytes_per_pixel())
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PixelFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        PixelFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::unsupported(format!("unknown pixel format {s:?}; use one of rgba8, rgba16, rgba32f")))
    }
}

/// Largest width or height accepted anywhere (a 32K frame).
pub const MAX_DIMENSION: u32 = 32_768;
/// Largest pixel count accepted anywhere (16384 x 16384); keeps one RGBA32F frame under 4 GiB.
pub const MAX_PIXELS: u64 = 1 << 28;

/// Rejects empty and absurd frame sizes with a message that says which limit was hit.
pub fn check_dimensions(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::invalid_argument(format!(
            "frame size {width}x{height} is empty; width and height must be at least 1"
        )));
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(Error::invalid_argument(format!(
            "frame size {width}x{height} is too large; each side must be at most {MAX_DIMENSION}"
        )));
    }
    if width as u64 * height as u64 > MAX_PIXELS {
        return Err(Error::invalid_argument(format!(
            "frame size {width}x{height} has {} pixels; the limit is {MAX_PIXELS} (16384x16384)",
            width as u64 * height as u64
        )));
    }
    Ok(())
}

/// Checks a strided layout and returns the number of bytes it spans
/// (`stride * (height - 1) + row_bytes`).
fn check_layout(len: usize, addr: usize, width: u32, height: u32, stride: usize, format: PixelFormat) -> Result<usize> {
    check_dimensions(width, height)?;
    let row_bytes = format.row_bytes(width).ok_or_else(|| Error::invalid_argument("row size overflows"))?;
    if stride < row_bytes {
        return Err(Error::invalid_argument(format!(
            "row stride {stride} bytes is smaller than one row of {width} {format} pixels ({row_bytes} bytes)"
        )));
    }
    let sample = format.bytes_per_sample();
    if !stride.is_multiple_of(sample) {
        return Err(Error::invalid_argument(format!(
            "row stride {stride} bytes is not a multiple of the {sample}-byte {format} sample"
        )));
    }
    if !addr.is_multiple_of(sample) {
        return Err(Error::invalid_argument(format!("{format} pixel data must be aligned to {sample} bytes")));
    }
    let needed = stride.checked_mul(height as usize - 1).and_then(|b| b.checked_add(row_bytes)).ok_or_else(|| {
        Error::invalid_argument(format!("a {width}x{height} frame with stride {stride} overflows memory"))
    })?;
    if len < needed {
        return Err(Error::invalid_argument(format!(
            "buffer of {len} bytes is too small for {width}x{height} {format} with stride {stride} (needs {needed})"
        )));
    }
    Ok(needed)
}

/// One row of samples, typed by the frame's format.
#[derive(Clone, Copy, Debug)]
pub enum Row<'a> {
    /// RGBA8 samples.
    U8(&'a [u8]),
    /// RGBA16 samples.
    U16(&'a [u16]),
    /// RGBA32F samples.
    F32(&'a [f32]),
}

/// One mutable row of samples, typed by the frame's format.
#[derive(Debug)]
pub enum RowMut<'a> {
    /// RGBA8 samples.
    U8(&'a mut [u8]),
    /// RGBA16 samples.
    U16(&'a mut [u16]),
    /// RGBA32F samples.
    F32(&'a mut [f32]),
}

fn typed_row(bytes: &[u8], format: PixelFormat) -> Row<'_> {
    // Alignment and length were checked when the view was built.
    match format {
        PixelFormat::Rgba8 => Row::U8(bytes),
        PixelFormat::Rgba16 => Row::U16(bytemuck::cast_slice(bytes)),
        PixelFormat::Rgba32F => Row::F32(bytemuck::cast_slice(bytes)),
    }
}

fn typed_row_mut(bytes: &mut [u8], format: PixelFormat) -> RowMut<'_> {
    match format {
        PixelFormat::Rgba8 => RowMut::U8(bytes),
        PixelFormat::Rgba16 => RowMut::U16(bytemuck::cast_slice_mut(bytes)),
        PixelFormat::Rgba32F => RowMut::F32(bytemuck::cast_slice_mut(bytes)),
    }
}

/// The accessors both views share, over their `width`, `height`, `stride`
/// and `format` fields.
macro_rules! layout_accessors {
    () => {
        /// Width in pixels.
        pub fn width(&self) -> u32 {
            self.width
        }

        /// Height in pixels.
        pub fn height(&self) -> u32 {
            self.height
        }

        /// Distance between the starts of two rows, in bytes.
        pub fn stride(&self) -> usize {
            self.stride
        }

        /// Pixel format.
        pub fn format(&self) -> PixelFormat {
            self.format
        }

        /// Bytes of pixel data in one row (without stride padding).
        pub fn row_bytes(&self) -> usize {
            self.width as usize * self.format.bytes_per_pixel()
        }
    };
}

/// A read-only view of pixels owned by someone else.
#[derive(Clone, Copy)]
pub struct FrameView<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
}

impl fmt::Debug for FrameView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FrameView({}x{} {} stride {})", self.width, self.height, self.format, self.stride)
    }
}

impl<'a> FrameView<'a> {
    /// Describes `data` as a `width` x `height` frame whose rows start `stride`
    /// bytes apart. Fails if the size is empty or absurd, the stride is shorter
    /// than a row or not a multiple of the sample size, the buffer is too short,
    /// or the data is not aligned to the sample size.
    pub fn new(data: &'a [u8], width: u32, height: u32, stride: usize, format: PixelFormat) -> Result<Self> {
        let needed = check_layout(data.len(), data.as_ptr() as usize, width, height, stride, format)?;
        Ok(FrameView { data: &data[..needed], width, height, stride, format })
    }

    layout_accessors!();

    /// The bytes of row `y`, without padding. Panics if `y >= height`.
    pub fn row_bytes_at(&self, y: u32) -> &'a [u8] {
        assert!(y < self.height, "row {y} is outside a frame of height {}", self.height);
        let start = y as usize * self.stride;
        &self.data[start..start + self.row_bytes()]
    }

    /// The samples of row `y`, typed by format. Panics if `y >= height`.
    pub fn row(&self, y: u32) -> Row<'a> {
        typed_row(self.row_bytes_at(y), self.format)
    }

    /// Every sample from the start of the first row to the end of the last,
    /// typed by format; row `y` starts at sample `y * stride / bytes_per_sample`.
    /// For kernels that index across rows without a bounds check per row.
    pub fn samples(&self) -> Row<'a> {
        typed_row(self.data, self.format)
    }

    /// Reads row `y` as normalised float RGBA into `out` (`4 * width` values).
    pub fn read_row_f32(&self, y: u32, out: &mut [f32]) {
        let out = &mut out[..self.width as usize * 4];
        match self.row(y) {
            Row::U8(s) => out.iter_mut().zip(s).for_each(|(d, &s)| *d = s as f32 * (1.0 / 255.0)),
            Row::U16(s) => out.iter_mut().zip(s).for_each(|(d, &s)| *d = s as f32 * (1.0 / 65535.0)),
            Row::F32(s) => out.copy_from_slice(s),
        }
    }

    /// Copies the pixels into a new tightly packed [`Frame`].
    pub fn to_frame(&self) -> Result<Frame> {
        let mut frame = Frame::new(self.width, self.height, self.format)?;
        frame.copy_from(self)?;
        Ok(frame)
    }

    /// Whether two views hold the same size, format and pixel values (stride may differ).
    pub fn same_pixels(&self, other: &FrameView<'_>) -> bool {
        self.width == other.width
            && self.height == other.height
            && self.format == other.format
            && (0..self.height).all(|y| self.row_bytes_at(y) == other.row_bytes_at(y))
    }
}

/// A writable view of pixels owned by someone else.
pub struct FrameViewMut<'a> {
    data: &'a mut [u8],
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
}

impl fmt::Debug for FrameViewMut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FrameViewMut({}x{} {} stride {})", self.width, self.height, self.format, self.stride)
    }
}

impl<'a> FrameViewMut<'a> {
    /// Describes `data` as a writable frame; the same checks as [`FrameView::new`].
    pub fn new(data: &'a mut [u8], width: u32, height: u32, stride: usize, format: PixelFormat) -> Result<Self> {
        let needed = check_layout(data.len(), data.as_ptr() as usize, width, height, stride, format)?;
        Ok(FrameViewMut { data: &mut data[..needed], width, height, stride, format })
    }

    layout_accessors!();

    /// A read-only view of the same pixels.
    pub fn as_view(&self) -> FrameView<'_> {
        FrameView { data: self.data, width: self.width, height: self.height, stride: self.stride, format: self.format }
    }

    /// A shorter-lived writable view of the same pixels.
    pub fn reborrow(&mut self) -> FrameViewMut<'_> {
        FrameViewMut {
            data: self.data,
            width: self.width,
            height: self.height,
            stride: self.stride,
            format: self.format,
        }
    }

    /// The samples of row `y`, typed by format. Panics if `y >= height`.
    pub fn row_mut(&mut self, y: u32) -> RowMut<'_> {
        assert!(y < self.height, "row {y} is outside a frame of height {}", self.height);
        let start = y as usize * self.stride;
        let end = start + self.row_bytes();
        typed_row_mut(&mut self.data[start..end], self.format)
    }

    /// Calls `f(y, row)` for every row, rows spread over the current rayon pool.
    pub fn par_rows_mut<F>(&mut self, f: F)
    where
        F: Fn(u32, RowMut<'_>) + Sync + Send,
    {
        let (row_bytes, format) = (self.row_bytes(), self.format);
        // The buffer ends right after the last row's pixels, so the last chunk
        // is shorter than the stride; every chunk still holds a whole row.
        self.data.par_chunks_mut(self.stride).enumerate().for_each(|(y, chunk)| {
            f(y as u32, typed_row_mut(&mut chunk[..row_bytes], format));
        });
    }

    /// Like [`FrameViewMut::par_rows_mut`], with scratch state made by `init`
    /// once per batch of rows rather than once per row (row buffers without
    /// an allocation per row).
    pub fn par_rows_mut_init<T, I, F>(&mut self, init: I, f: F)
    where
        I: Fn() -> T + Sync + Send,
        F: Fn(&mut T, u32, RowMut<'_>) + Sync + Send,
    {
        let (row_bytes, format) = (self.row_bytes(), self.format);
        self.data.par_chunks_mut(self.stride).enumerate().for_each_init(init, |state, (y, chunk)| {
            f(state, y as u32, typed_row_mut(&mut chunk[..row_bytes], format));
        });
    }

    /// Writes normalised float RGBA (`4 * width` values) into row `y`,
    /// clamping and rounding for integer formats (NaN becomes 0).
    pub fn write_row_f32(&mut self, y: u32, src: &[f32]) {
        let width = self.width as usize;
        write_f32_into(self.row_mut(y), &src[..width * 4]);
    }

    /// Sets every pixel to `rgba` (normalised float).
    pub fn fill(&mut self, rgba: [f32; 4]) {
        let width = self.width as usize;
        let row: Vec<f32> = rgba.iter().copied().cycle().take(width * 4).collect();
        self.par_rows_mut(|_, dst| write_f32_into(dst, &row));
    }
}

impl RowMut<'_> {
    /// Writes normalised float RGBA into this row, clamping and rounding for
    /// integer formats (NaN becomes 0).
    pub fn write_f32(self, src: &[f32]) {
        write_f32_into(self, src)
    }
}

fn write_f32_into(dst: RowMut<'_>, src: &[f32]) {
    match dst {
        RowMut::U8(d) => d.iter_mut().zip(src).for_each(|(d, &s)| *d = f32_to_u8(s)),
        RowMut::U16(d) => d.iter_mut().zip(src).for_each(|(d, &s)| *d = f32_to_u16(s)),
        RowMut::F32(d) => d.copy_from_slice(src),
    }
}

#[inline]
fn f32_to_u8(v: f32) -> u8 {
    // `as` saturates and maps NaN to 0, so clamp + round is all that is needed.
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

#[inline]
fn f32_to_u16(v: f32) -> u16 {
    (v.clamp(0.0, 1.0) * 65535.0 + 0.5) as u16
}

#[inline]
fn u16_to_u8(v: u16) -> u8 {
    ((v as u32 * 255 + 32767) / 65535) as u8
}

/// Converts `src` into `dst` (same size, any formats), rows in parallel on the
/// current rayon pool. 8 <-> 16 bit is exact both ways where it can be
/// (`v * 257` up, rounded down); float is clamped to 0..=1 and rounded when it
/// goes to an integer format.
pub fn convert(src: &FrameView<'_>, dst: &mut FrameViewMut<'_>) -> Result<()> {
    if (src.width, src.height) != (dst.width, dst.height) {
        return Err(Error::invalid_argument(format!(
            "cannot convert a {}x{} frame into a {}x{} buffer; sizes must match",
            src.width, src.height, dst.width, dst.height
        )));
    }
    let src = *src;
    dst.par_rows_mut(|y, d| match (src.row(y), d) {
        (Row::U8(s), RowMut::U8(d)) => d.copy_from_slice(s),
        (Row::U16(s), RowMut::U16(d)) => d.copy_from_slice(s),
        (Row::F32(s), RowMut::F32(d)) => d.copy_from_slice(s),
        (Row::U8(s), RowMut::U16(d)) => d.iter_mut().zip(s).for_each(|(d, &s)| *d = s as u16 * 257),
        (Row::U8(s), RowMut::F32(d)) => d.iter_mut().zip(s).for_each(|(d, &s)| *d = s as f32 * (1.0 / 255.0)),
        (Row::U16(s), RowMut::U8(d)) => d.iter_mut().zip(s).for_each(|(d, &s)| *d = u16_to_u8(s)),
        (Row::U16(s), RowMut::F32(d)) => d.iter_mut().zip(s).for_each(|(d, &s)| *d = s as f32 * (1.0 / 65535.0)),
        (Row::F32(s), d @ (RowMut::U8(_) | RowMut::U16(_))) => write_f32_into(d, s),
    });
    Ok(())
}

/// An owned, tightly packed frame (stride = width x bytes per pixel).
///
/// Storage is 4-byte aligned so that any format's samples can be viewed in place.
#[derive(Clone, PartialEq)]
pub struct Frame {
    width: u32,
    height: u32,
    format: PixelFormat,
    words: Vec<u32>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({}x{} {})", self.width, self.height, self.format)
    }
}

impl Frame {
    /// A frame of zeros (transparent black). Fails on empty or absurd sizes,
    /// and when the memory cannot be allocated, instead of aborting.
    pub fn new(width: u32, height: u32, format: PixelFormat) -> Result<Self> {
        check_dimensions(width, height)?;
        let bytes = width as usize * height as usize * format.bytes_per_pixel();
        let mut words = Vec::new();
        words.try_reserve_exact(bytes / 4)?;
        words.resize(bytes / 4, 0);
        Ok(Frame { width, height, format, words })
    }

    /// Copies tightly packed pixel bytes into a new frame.
    pub fn from_bytes(width: u32, height: u32, format: PixelFormat, bytes: &[u8]) -> Result<Self> {
        check_dimensions(width, height)?;
        let needed = width as usize * height as usize * format.bytes_per_pixel();
        if bytes.len() != needed {
            return Err(Error::invalid_argument(format!(
                "{} bytes given for a {width}x{height} {format} frame, which needs exactly {needed}",
                bytes.len()
            )));
        }
        // One pass over fresh memory (no zero fill first): frames arriving
        // from adapters and decoders are large.
        let mut words = Vec::new();
        words.try_reserve_exact(needed / 4)?;
        words.extend(bytes.chunks_exact(4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])));
        Ok(Frame { width, height, format, words })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Bytes per row (the frame is tightly packed).
    pub fn stride(&self) -> usize {
        self.width as usize * self.format.bytes_per_pixel()
    }

    /// All pixel bytes, row after row.
    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.words)
    }

    /// All pixel bytes, row after row, writable.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::cast_slice_mut(&mut self.words)
    }

    /// A borrowed view of this frame.
    pub fn view(&self) -> FrameView<'_> {
        FrameView {
            data: self.as_bytes(),
            width: self.width,
            height: self.height,
            stride: self.stride(),
            format: self.format,
        }
    }

    /// A borrowed writable view of this frame.
    pub fn view_mut(&mut self) -> FrameViewMut<'_> {
        let (width, height, stride, format) = (self.width, self.height, self.stride(), self.format);
        FrameViewMut { data: self.as_bytes_mut(), width, height, stride, format }
    }

    /// Makes this frame a copy of `view`'s pixels, in the storage it has
    /// when the size and format are the same (a buffer refilled every
    /// frame is not taken afresh from the system).
    pub(crate) fn copy_from(&mut self, view: &FrameView<'_>) -> Result<()> {
        if (self.width, self.height, self.format) != (view.width, view.height, view.format) {
            *self = view.to_frame()?;
            return Ok(());
        }
        let row_bytes = view.row_bytes();
        for (y, dst) in self.as_bytes_mut().chunks_exact_mut(row_bytes).enumerate() {
            dst.copy_from_slice(view.row_bytes_at(y as u32));
        }
        Ok(())
    }

    /// A copy of this frame in another pixel format.
    pub fn to_format(&self, format: PixelFormat) -> Result<Frame> {
        if format == self.format {
            return Ok(self.clone());
        }
        let mut out = Frame::new(self.width, self.height, format)?;
        convert(&self.view(), &mut out.view_mut())?;
        Ok(out)
    }

    /// The pixel at (`x`, `y`) as normalised float RGBA. Panics outside the frame.
    pub fn pixel_f32(&self, x: u32, y: u32) -> [f32; 4] {
        assert!(x < self.width && y < self.height, "pixel ({x}, {y}) is outside {}x{}", self.width, self.height);
        let mut row = vec![0.0; self.width as usize * 4];
        self.view().read_row_f32(y, &mut row);
        let i = x as usize * 4;
        [row[i], row[i + 1], row[i + 2], row[i + 3]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32) -> Frame {
        let mut f = Frame::new(width, height, PixelFormat::Rgba8).unwrap();
        for (i, b) in f.as_bytes_mut().iter_mut().enumerate() {
            *b = (i * 7 % 256) as u8;
        }
        f
    }

    #[test]
    fn rejects_bad_sizes() {
        for (w, h) in [(0, 0), (0, 10), (10, 0), (100_000, 100_000), (MAX_DIMENSION + 1, 1), (20_000, 20_000)] {
            let err = Frame::new(w, h, PixelFormat::Rgba8).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument, "{w}x{h}");
            assert!(err.to_string().contains(&format!("{w}x{h}")), "message names the size: {err}");
        }
    }

    #[test]
    fn view_rejects_short_stride_and_buffer() {
        let buf = vec![0u8; 4 * 10 * 10];
        let err = FrameView::new(&buf, 10, 10, 39, PixelFormat::Rgba8).unwrap_err();
        assert!(err.to_string().contains("stride 39"), "{err}");
        let err = FrameView::new(&buf, 10, 11, 40, PixelFormat::Rgba8).unwrap_err();
        assert!(err.to_string().contains("too small"), "{err}");
        // A padded stride with a buffer that ends right after the last row is fine.
        let padded = vec![0u8; 48 * 9 + 40];
        assert!(FrameView::new(&padded, 10, 10, 48, PixelFormat::Rgba8).is_ok());
    }

    #[test]
    fn view_rejects_misaligned_float_data() {
        let words = vec![0u32; 64];
        let bytes: &[u8] = bytemuck::cast_slice(&words);
        assert!(FrameView::new(&bytes[1..], 2, 2, 32, PixelFormat::Rgba32F).is_err());
        assert!(FrameView::new(bytes, 2, 2, 34, PixelFormat::Rgba32F).is_err(), "stride not multiple of 4");
        assert!(FrameView::new(bytes, 2, 2, 32, PixelFormat::Rgba32F).is_ok());
    }

    #[test]
    fn conversions_round_trip_exactly() {
        let src = gradient(37, 5);
        for via in [PixelFormat::Rgba16, PixelFormat::Rgba32F] {
            let back = src.to_format(via).unwrap().to_format(PixelFormat::Rgba8).unwrap();
            assert_eq!(back, src, "8 -> {via} -> 8");
        }
        let wide = src.to_format(PixelFormat::Rgba16).unwrap();
        let back = wide.to_format(PixelFormat::Rgba32F).unwrap().to_format(PixelFormat::Rgba16).unwrap();
        assert_eq!(back, wide, "16 -> float -> 16");
    }

    #[test]
    fn conversion_values() {
        let mut f = Frame::new(2, 1, PixelFormat::Rgba32F).unwrap();
        f.view_mut().write_row_f32(0, &[0.5, -1.0, 2.0, f32::NAN, 1.0, 0.0, 0.25, 1.0]);
        let b = f.to_format(PixelFormat::Rgba8).unwrap();
        assert_eq!(b.as_bytes(), &[128, 0, 255, 0, 255, 0, 64, 255]);
        let w = b.to_format(PixelFormat::Rgba16).unwrap();
        assert_eq!(bytemuck::cast_slice::<u8, u16>(w.as_bytes())[..4], [128 * 257, 0, 65535, 0]);
        let back = w.pixel_f32(0, 0);
        assert!((back[0] - 128.0 / 255.0).abs() < 1e-6, "{back:?}");
    }

    #[test]
    fn convert_into_strided_host_buffer() {
        let src = gradient(5, 3);
        let stride = 5 * 8 + 24;
        let mut host = vec![0xAAu16; stride / 2 * 3];
        let host_bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut host);
        let mut dst = FrameViewMut::new(host_bytes, 5, 3, stride, PixelFormat::Rgba16).unwrap();
        convert(&src.view(), &mut dst).unwrap();
        let back = dst.as_view().to_frame().unwrap().to_format(PixelFormat::Rgba8).unwrap();
        assert_eq!(back, src);
        // The padding between rows is untouched.
        assert_eq!(host[20..32], [0xAA; 12]);
    }

    #[test]
    fn convert_rejects_size_mismatch() {
        let src = gradient(4, 4);
        let mut dst = Frame::new(4, 5, PixelFormat::Rgba8).unwrap();
        assert!(convert(&src.view(), &mut dst.view_mut()).is_err());
    }

    #[test]
    fn parses_format_names() {
        assert_eq!("RGBA16".parse::<PixelFormat>().unwrap(), PixelFormat::Rgba16);
        let err = "yuv420p".parse::<PixelFormat>().unwrap_err();
        assert!(err.to_string().contains("yuv420p"));
    }
}
