//! What the ABI tests share.

use mattebox::{MB_PIXEL_FORMAT_RGBA8, mb_image};
use mattebox_core::Frame;

/// An RGBA8 frame as the C ABI sees it (the frame must outlive the use).
pub(crate) fn image(frame: &Frame) -> mb_image {
    mb_image {
        data: frame.as_bytes().as_ptr() as *mut std::ffi::c_void,
        size: frame.as_bytes().len(),
        width: frame.width(),
        height: frame.height(),
        stride: frame.stride(),
        format: MB_PIXEL_FORMAT_RGBA8,
    }
}
