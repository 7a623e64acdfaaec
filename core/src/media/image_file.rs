//! Single PNG and OpenEXR files: the frames of image sequences, and stills.

use std::fs::File;
use std::path::Path;

use exr::prelude::{self as exrp, ReadChannels, ReadLayers, WritableImage};
use half::f16;
use image::{ImageDecoder, ImageEncoder, ImageReader};

use super::ImageType;
use crate::error::{Error, Result};
use crate::frame::{Frame, FrameView, PixelFormat, Row, check_dimensions};
use crate::staged::StagedFile;

/// What the header of an image file says.
#[derive(Clone, Debug)]
pub(crate) struct ImageProbe {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Format [`read_image`] returns for it.
    pub(crate) decoded_format: PixelFormat,
    /// The file's own layout, e.g. `rgb8`, `rgba16`, `half rgba`.
    pub(crate) source_format: String,
    pub(crate) bits: u32,
}

fn media_error(path: &Path, err: impl std::fmt::Display) -> Error {
    Error::media(format!("{}: cannot decode image: {err}", path.display()))
}

fn open_png(path: &Path) -> Result<ImageReader<std::io::BufReader<File>>> {
    let reader = ImageReader::open(path).map_err(|e| Error::io(path, "open the image", e))?;
    reader.with_guessed_format().map_err(|e| Error::io(path, "read the image header", e))
}

/// Reads only the header of a PNG or EXR file.
pub(crate) fn probe_image(path: &Path) -> Result<ImageProbe> {
    std::fs::metadata(path).map_err(|e| Error::io(path, "open the image", e))?;
    let probe = match ImageType::of(path) {
        Some(ImageType::Png) => {
            let decoder = open_png(path)?.into_decoder().map_err(|e| media_error(path, e))?;
            let (width, height) = decoder.dimensions();
            let color = decoder.color_type();
            let bits = (color.bits_per_pixel() / color.channel_count() as u16) as u32;
            let decoded_format = if bits > 8 { PixelFormat::Rgba16 } else { PixelFormat::Rgba8 };
            ImageProbe { width, height, decoded_format, source_format: format!("{color:?}").to_lowercase(), bits }
        }
        Some(ImageType::Exr) => {
            let meta = exrp::MetaData::read_from_file(path, false).map_err(|e| media_error(path, e))?;
            let header = meta.headers.first().ok_or_else(|| media_error(path, "the file has no layers"))?;
            let size = header.layer_size;
            let half = header.channels.list.iter().all(|c| c.sample_type == exrp::SampleType::F16);
            let names: Vec<String> = header.channels.list.iter().map(|c| c.name.to_string()).collect();
            ImageProbe {
                width: u32::try_from(size.0).unwrap_or(u32::MAX),
                height: u32::try_from(size.1).unwrap_or(u32::MAX),
                decoded_format: PixelFormat::Rgba32F,
                source_format: format!("{} {}", if half { "half" } else { "float" }, names.join("")),
                bits: if half { 16 } else { 32 },
            }
        }
        None => return Err(Error::unsupported(format!("{}: not a PNG or EXR file", path.display()))),
    };
    check_dimensions(probe.width, probe.height).map_err(|e| e.context(path.display()))?;
    Ok(probe)
}

/// Reads a PNG (as RGBA8 or RGBA16, by its bit depth) or an EXR (as RGBA32F;
/// a missing alpha channel reads as 1).
pub fn read_image(path: &Path) -> Result<Frame> {
    let probe = probe_image(path)?;
    match ImageType::of(path) {
        Some(ImageType::Png) => read_png(path, &probe),
        _ => read_exr(path),
    }
}

fn read_png(path: &Path, _probe: &ImageProbe) -> Result<Frame> {
    let image = open_png(path)?.decode().map_err(|e| media_error(path, e))?;
    frame_of_image(image)
}

/// A decoded PNG as a frame: RGBA16 when its samples are deeper than 8
/// bits, else RGBA8 (the format [`probe_image`] announces).
pub(crate) fn frame_of_image(image: image::DynamicImage) -> Result<Frame> {
    let (w, h) = (image.width(), image.height());
    let color = image.color();
    if color.bits_per_pixel() / color.channel_count() as u16 > 8 {
        let samples = image.into_rgba16().into_raw();
        Frame::from_bytes(w, h, PixelFormat::Rgba16, bytemuck::cast_slice(&samples))
    } else {
        Frame::from_bytes(w, h, PixelFormat::Rgba8, &image.into_rgba8().into_raw())
    }
}

fn read_exr(path: &Path) -> Result<Frame> {
    let file = File::open(path).map_err(|e| Error::io(path, "open the image", e))?;
    read_exr_from(std::io::BufReader::new(file), path)
}

/// Reads the first valid layer of an EXR as RGBA32F; `label` names it in messages.
pub(crate) fn read_exr_from(reader: impl std::io::Read + std::io::Seek + Send, label: &Path) -> Result<Frame> {
    let path = label;
    let image = exrp::read()
        .no_deep_data()
        .largest_resolution_level()
        .rgba_channels(
            |size, _| Frame::new(size.0 as u32, size.1 as u32, PixelFormat::Rgba32F),
            |frame: &mut Result<Frame>, pos, (r, g, b, a): (f32, f32, f32, f32)| {
                if let Ok(frame) = frame {
                    let width = frame.width() as usize;
                    let samples: &mut [f32] = bytemuck::cast_slice_mut(frame.as_bytes_mut());
                    let i = (pos.1 * width + pos.0) * 4;
                    samples[i..i + 4].copy_from_slice(&[r, g, b, a]);
                }
            },
        )
        .first_valid_layer()
        .all_attributes()
        .from_buffered(reader)
        .map_err(|e| media_error(path, format!("{e} (Mattebox reads the R, G, B and optional A channels)")))?;
    image.layer_data.channel_data.pixels
}

/// `frame` encoded as PNG (8-bit, or 16-bit for deeper frames; RGB when
/// opaque), in memory.
pub(crate) fn encode_png(frame: &FrameView<'_>) -> Result<Vec<u8>> {
    use image::ExtendedColorType as C;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let (w, h) = (frame.width(), frame.height());
    // PNG stores 8 or 16 bits; float frames are written as 16-bit.
    let deep = frame.format() != PixelFormat::Rgba8;
    let opaque = (0..h).all(|y| match frame.row(y) {
        Row::U8(r) => r.chunks_exact(4).all(|p| p[3] == u8::MAX),
        Row::U16(r) => r.chunks_exact(4).all(|p| p[3] == u16::MAX),
        Row::F32(r) => r.chunks_exact(4).all(|p| p[3] >= 1.0),
    });
    let channels = if opaque { 3 } else { 4 };
    let mut bytes: Vec<u8> = Vec::new();
    let sample_bytes = if deep { 2 } else { 1 };
    bytes.try_reserve_exact(w as usize * h as usize * channels * sample_bytes)?;
    let mut row = vec![0.0f32; w as usize * 4];
    for y in 0..h {
        match (frame.row(y), deep) {
            (Row::U8(r), false) => r.chunks_exact(4).for_each(|p| bytes.extend_from_slice(&p[..channels])),
            (Row::U16(r), true) => r
                .chunks_exact(4)
                .for_each(|p| p[..channels].iter().for_each(|s| bytes.extend_from_slice(&s.to_ne_bytes()))),
            _ => {
                frame.read_row_f32(y, &mut row);
                row.chunks_exact(4).for_each(|p| {
                    p[..channels].iter().for_each(|&s| {
                        let v = (s.clamp(0.0, 1.0) * 65535.0 + 0.5) as u16;
                        bytes.extend_from_slice(&v.to_ne_bytes())
                    })
                });
            }
        }
    }
    let color = match (deep, opaque) {
        (false, true) => C::Rgb8,
        (false, false) => C::Rgba8,
        (true, true) => C::Rgb16,
        (true, false) => C::Rgba16,
    };
    let mut png = Vec::new();
    let encoder = PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive);
    encoder.write_image(&bytes, w, h, color).map_err(|e| Error::media(format!("cannot encode PNG: {e}")))?;
    Ok(png)
}

fn write_png(path: &Path, frame: &FrameView<'_>) -> Result<()> {
    let png = encode_png(frame).map_err(|e| e.context(path.display()))?;
    std::fs::write(path, png).map_err(|e| Error::io(path, "write the image", e))
}

fn write_exr(path: &Path, frame: &FrameView<'_>) -> Result<()> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let mut samples = Vec::new();
    samples.try_reserve_exact(w * h * 4)?;
    samples.resize(w * h * 4, 0.0f32);
    for (y, row) in samples.chunks_exact_mut(w * 4).enumerate() {
        frame.read_row_f32(y as u32, row);
    }
    let at = |x: usize, y: usize| {
        let i = (y * w + x) * 4;
        (samples[i], samples[i + 1], samples[i + 2], samples[i + 3])
    };
    // Half floats keep 11 significant bits: every 8-bit value survives the
    // round trip, so 8-bit frames are stored as half; deeper ones as float.
    let encoding = exrp::Encoding {
        compression: exrp::Compression::ZIP16,
        blocks: exrp::Blocks::ScanLines,
        line_order: exrp::LineOrder::Increasing,
    };
    let result = if frame.format() == PixelFormat::Rgba8 {
        let channels = exrp::SpecificChannels::rgba(|exrp::Vec2(x, y)| {
            let (r, g, b, a) = at(x, y);
            (f16::from_f32(r), f16::from_f32(g), f16::from_f32(b), f16::from_f32(a))
        });
        exrp::Image::from_encoded_channels((w, h), encoding, channels).write().to_file(path)
    } else {
        let channels = exrp::SpecificChannels::rgba(|exrp::Vec2(x, y)| at(x, y));
        exrp::Image::from_encoded_channels((w, h), encoding, channels).write().to_file(path)
    };
    result.map_err(|e| Error::media(format!("{}: cannot encode EXR: {e}", path.display())))
}

/// Writes one frame to a file whose type is already decided, directly (the
/// caller stages it).
pub(crate) fn write_image_file(path: &Path, frame: &FrameView<'_>, kind: ImageType) -> Result<()> {
    match kind {
        ImageType::Png => write_png(path, frame),
        ImageType::Exr => write_exr(path, frame),
    }
}

/// Writes one frame as a PNG (8-bit frames as 8-bit, deeper as 16-bit; alpha
/// dropped when fully opaque) or an EXR (8-bit frames as half, deeper as
/// float, ZIP compression), by the extension of `path`. The file appears only
/// once complete.
pub fn write_image(path: &Path, frame: &FrameView<'_>, overwrite: bool) -> Result<()> {
    let kind = ImageType::of(path)
        .ok_or_else(|| Error::unsupported(format!("{}: images are written as .png or .exr", path.display())))?;
    let staged = StagedFile::new(path, overwrite)?;
    write_image_file(staged.temp_path(), frame, kind)?;
    staged.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_frame(format: PixelFormat, alpha: bool) -> Frame {
        let (w, h) = (13, 7);
        let mut f = Frame::new(w, h, PixelFormat::Rgba16).unwrap();
        let samples: &mut [u16] = bytemuck::cast_slice_mut(f.as_bytes_mut());
        for (i, s) in samples.iter_mut().enumerate() {
            *s = if i % 4 == 3 && !alpha { u16::MAX } else { (i as u32 * 2531 % 65536) as u16 };
        }
        f.to_format(format).unwrap()
    }

    #[test]
    fn png_round_trips_8_and_16_bit() {
        let dir = tempfile::tempdir().unwrap();
        for format in [PixelFormat::Rgba8, PixelFormat::Rgba16] {
            for alpha in [false, true] {
                let frame = test_frame(format, alpha);
                let path = dir.path().join(format!("{format}-{alpha}.png"));
                write_image(&path, &frame.view(), false).unwrap();
                assert_eq!(read_image(&path).unwrap(), frame, "{format} alpha={alpha}");
            }
        }
    }

    #[test]
    fn exr_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let float = test_frame(PixelFormat::Rgba32F, true);
        let path = dir.path().join("f.exr");
        write_image(&path, &float.view(), false).unwrap();
        assert_eq!(read_image(&path).unwrap(), float);
        // 8-bit frames go through half floats and come back exactly.
        let bytes = test_frame(PixelFormat::Rgba8, true);
        let path = dir.path().join("h.exr");
        write_image(&path, &bytes.view(), false).unwrap();
        assert_eq!(probe_image(&path).unwrap().bits, 16);
        assert_eq!(read_image(&path).unwrap().to_format(PixelFormat::Rgba8).unwrap(), bytes);
    }

    #[test]
    fn corrupt_and_missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.png");
        write_image(&path, &test_frame(PixelFormat::Rgba8, false).view(), false).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_image(&path).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Media);
        assert!(err.to_string().contains("broken.png"), "{err}");
        let err = read_image(&dir.path().join("nope.exr")).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::NotFound, "{err}");
        std::fs::write(dir.path().join("junk.exr"), b"not an exr at all").unwrap();
        assert!(read_image(&dir.path().join("junk.exr")).unwrap_err().to_string().contains("junk.exr"));
    }

    #[test]
    fn absurd_png_header_is_rejected_before_decoding() {
        // A valid PNG signature and IHDR chunk claiming 100000 x 100000 pixels.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        for chunk in [&b"IDAT"[..], &b"IEND"[..]] {
            png.extend_from_slice(&0u32.to_be_bytes());
            png.extend_from_slice(chunk);
            png.extend_from_slice(&crc32(chunk).to_be_bytes());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.png");
        std::fs::write(&path, &png).unwrap();
        let err = read_image(&path).unwrap_err();
        assert!(err.to_string().contains("100000x100000"), "{err}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
