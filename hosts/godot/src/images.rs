//! Godot's `Image` and the core's `Frame`: 8-bit RGBA both ways (other
//! image formats are converted on a copy first).

use godot::classes::Image;
use godot::classes::image::Format;
use godot::prelude::*;
use mattebox_core::{Frame, PixelFormat};

/// `image` as an RGBA8 frame; `Err` says what is wrong with it.
pub(crate) fn frame_of(image: &Gd<Image>, what: &str) -> Result<Frame, String> {
    let (w, h) = (image.get_width(), image.get_height());
    if w <= 0 || h <= 0 {
        return Err(format!("{what} is empty ({w}x{h})"));
    }
    let rgba = if image.get_format() == Format::RGBA8 {
        image.clone()
    } else {
        let mut copy = image.duplicate_resource();
        copy.convert(Format::RGBA8);
        copy
    };
    let data = rgba.get_data();
    let mut frame = Frame::new(w as u32, h as u32, PixelFormat::Rgba8).map_err(|e| format!("{what}: {e}"))?;
    let bytes = frame.as_bytes_mut();
    if data.len() != bytes.len() {
        return Err(format!("{what}: {} bytes of pixels for {w}x{h}", data.len()));
    }
    bytes.copy_from_slice(data.as_slice());
    Ok(frame)
}

/// `frame` as a new RGBA8 `Image`.
pub(crate) fn image_of(frame: &Frame) -> Result<Gd<Image>, String> {
    let rgba = frame.to_format(PixelFormat::Rgba8).map_err(|e| e.to_string())?;
    let data = PackedByteArray::from(rgba.as_bytes());
    Image::create_from_data(rgba.width() as i32, rgba.height() as i32, false, Format::RGBA8, &data)
        .ok_or_else(|| format!("Godot could not make a {}x{} image", rgba.width(), rgba.height()))
}
