//! The Mattebox C ABI.
//!
//! Conventions, in the style of rustls-ffi (see `ffi/README.md`):
//!
//! - every symbol starts with `mb_`; handles are opaque pointers;
//! - fallible calls return [`mb_result`]; `MB_RESULT_OK` is zero, and on
//!   failure [`mb_last_error_message`] says what and where, per thread;
//! - every entry point runs behind a panic boundary, and checks every pointer,
//!   size and stride before use;
//! - what the library allocates, the host releases with the matching `*_free`
//!   or `*_close` call, never with `free()`.

mod boundary;
mod composite;
mod consistency;
#[cfg(feature = "media")]
mod episode;
#[cfg(feature = "media")]
mod generate;
mod image;
mod interp;
mod media;
mod runtime;

use std::ffi::c_char;

pub use boundary::mb_result;
pub use composite::*;
pub use consistency::*;
#[cfg(feature = "media")]
pub use episode::*;
#[cfg(feature = "media")]
pub use generate::*;
pub use image::*;
pub use interp::*;
pub use media::*;
pub use runtime::*;

/// Version of the ABI described by this header: (major << 16) | minor. A
/// host checks `mb_abi_version() >> 16 == MB_ABI_VERSION >> 16` at load time;
/// minor versions only add.
pub const MB_ABI_VERSION: u32 = (1 << 16) | 13;

/// The ABI version of the loaded library; see `MB_ABI_VERSION`.
#[unsafe(no_mangle)]
pub extern "C" fn mb_abi_version() -> u32 {
    boundary::guard_value(0, || MB_ABI_VERSION)
}

/// The library version (`"0.1.0"`), a static string.
#[unsafe(no_mangle)]
pub extern "C" fn mb_version() -> *const c_char {
    boundary::guard_value(std::ptr::null(), || concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast())
}

/// Why the last failing `mb_` call on this thread failed, naming the function
/// and the argument, file or frame at fault. An empty string after a call
/// that succeeded. Valid until the next `mb_` call on the same thread; never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn mb_last_error_message() -> *const c_char {
    boundary::guard_value(c"".as_ptr(), boundary::last_error_ptr)
}

/// The name of a result code (`"MB_RESULT_MEDIA"`), a static string;
/// `"MB_RESULT_UNKNOWN"` for a code this library does not define.
#[unsafe(no_mangle)]
pub extern "C" fn mb_result_name(code: u32) -> *const c_char {
    boundary::guard_value(c"MB_RESULT_UNKNOWN".as_ptr(), || {
        mb_result::ALL
            .iter()
            .find(|r| **r as u32 == code)
            .map(|r| r.name().as_ptr())
            .unwrap_or(c"MB_RESULT_UNKNOWN".as_ptr())
    })
}
