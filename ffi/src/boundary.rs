//! What every entry point shares: the result enum, the per-thread error
//! message, the panic boundary and checked access to host pointers.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use mattebox_core::{Error, ErrorKind};

/// The result of every fallible call. `MB_RESULT_OK` is zero; anything else
/// is a failure whose description is in `mb_last_error_message()`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mb_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullPointer = 1,
    /// An argument is out of range or inconsistent (size, stride, format, index).
    InvalidArgument = 2,
    /// Well formed but not supported (codec, container, pixel format, feature not built).
    Unsupported = 3,
    /// A file or directory does not exist.
    NotFound = 4,
    /// Reading or writing a file failed.
    Io = 5,
    /// Media is corrupt, truncated or cannot be decoded or encoded.
    Media = 6,
    /// Memory could not be allocated.
    OutOfMemory = 7,
    /// The operation was cancelled.
    Cancelled = 8,
    /// Mattebox panicked; the call had no effect on the host. Please report it.
    Panic = 9,
    /// A bug in Mattebox. Please report it.
    Internal = 10,
    /// A generator's vendor refused or failed (ABI 1.4).
    Vendor = 11,
    /// The network failed, or the sandbox refused a request (ABI 1.4).
    Network = 12,
}

// `ALL` and `name`, generated from the enum above by `build.rs`.
include!(concat!(env!("OUT_DIR"), "/results.rs"));

/// A failure on its way to the host: a code and a message.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub(crate) code: mb_result,
    pub(crate) message: String,
}

impl FfiError {
    pub(crate) fn null(argument: &str) -> Self {
        FfiError { code: mb_result::NullPointer, message: format!("argument `{argument}` is NULL") }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        FfiError { code: mb_result::InvalidArgument, message: message.into() }
    }
}

impl From<Error> for FfiError {
    fn from(err: Error) -> Self {
        let code = match err.kind() {
            ErrorKind::InvalidArgument => mb_result::InvalidArgument,
            ErrorKind::Unsupported => mb_result::Unsupported,
            ErrorKind::NotFound => mb_result::NotFound,
            ErrorKind::Io => mb_result::Io,
            ErrorKind::Media => mb_result::Media,
            ErrorKind::OutOfMemory => mb_result::OutOfMemory,
            ErrorKind::Cancelled => mb_result::Cancelled,
            ErrorKind::Vendor => mb_result::Vendor,
            ErrorKind::Network => mb_result::Network,
            _ => mb_result::Internal,
        };
        FfiError { code, message: err.to_string() }
    }
}

pub(crate) type FfiResult<T> = Result<T, FfiError>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // Interior NULs would truncate the C string; replace them.
    let text = CString::new(message.replace('\0', "?")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

/// Pointer to this thread's last error message (empty if the last call succeeded).
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// The panic boundary: runs `body`, turns its error or panic into an
/// `mb_result` and this thread's last error message. `function` names the
/// entry point in messages.
pub(crate) fn guard(function: &str, body: impl FnOnce() -> FfiResult<()>) -> mb_result {
    set_last_error("");
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => mb_result::Ok,
        Ok(Err(e)) => {
            set_last_error(&format!("{function}: {}", e.message));
            e.code
        }
        Err(payload) => {
            set_last_error(&format!("{function}: internal panic: {} (please report this)", panic_message(&*payload)));
            mb_result::Panic
        }
    }
}

/// The panic boundary for calls that return a value instead of a result:
/// a panic gives `fallback`.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Borrows `*ptr`, or fails naming `argument`.
///
/// # Safety
/// A non-null `ptr` must point to a valid `T` for the returned lifetime.
pub(crate) unsafe fn arg_ref<'a, T>(ptr: *const T, argument: &str) -> FfiResult<&'a T> {
    // SAFETY: non-null is checked here; validity is the caller's promise.
    unsafe { ptr.as_ref() }.ok_or_else(|| FfiError::null(argument))
}

/// Mutably borrows `*ptr`, or fails naming `argument`.
///
/// # Safety
/// A non-null `ptr` must point to a valid `T`, not aliased, for the returned lifetime.
pub(crate) unsafe fn arg_mut<'a, T>(ptr: *mut T, argument: &str) -> FfiResult<&'a mut T> {
    // SAFETY: non-null is checked here; validity is the caller's promise.
    unsafe { ptr.as_mut() }.ok_or_else(|| FfiError::null(argument))
}

/// Writes `value` to a host struct that starts with its `struct_size`: only
/// as many bytes as both the host's and this library's version of the
/// struct have, then `struct_size` set to that count, so hosts built
/// against older or newer headers keep working. `out` is only touched
/// through raw pointers, since an older host's struct is smaller than `T`.
///
/// # Safety
/// A non-null `out` must point to writable memory of at least the
/// `struct_size` bytes it declares; `T` must be `repr(C)` with a `u32`
/// `struct_size` as its first field.
pub(crate) unsafe fn write_sized<T: Copy>(value: &T, out: *mut T, argument: &str, type_name: &str) -> FfiResult<()> {
    if out.is_null() {
        return Err(FfiError::null(argument));
    }
    // SAFETY: non-null; the host promises its declared size, which holds
    // at least the leading `struct_size` field.
    let host_size = unsafe { (out as *const u32).read_unaligned() } as usize;
    if host_size < std::mem::size_of::<u32>() {
        return Err(FfiError::invalid(format!("{argument}->struct_size must be set to sizeof({type_name})")));
    }
    let written = host_size.min(std::mem::size_of::<T>());
    // SAFETY: at most the bytes both sides agree exist; `value` is ours, so
    // the two cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(value as *const T as *const u8, out as *mut u8, written);
        (out as *mut u32).write_unaligned(written as u32);
    }
    Ok(())
}

/// A type the C ABI lends the host as an opaque pointer: made on the heap
/// by [`BoxedHandle::into_raw`], read through [`arg_ref`], given back once
/// to its `mb_*_free` (or `_close`), which calls [`free_handle`]. Declaring
/// `impl BoxedHandle for T {}` is what makes `T` a handle; nothing else in
/// the crate writes `Box::into_raw` or `Box::from_raw`.
pub(crate) trait BoxedHandle: Sized {
    /// Moves the value to the heap and hands out the pointer; the host owns it now.
    fn into_raw(self) -> *mut Self {
        Box::into_raw(Box::new(self))
    }
}

/// The body of every `mb_*_free`: drops the handle behind the panic
/// boundary (its destructor may cancel work and wait for threads). NULL
/// does nothing.
///
/// # Safety
/// `handle` must be NULL or come from [`BoxedHandle::into_raw`] for this
/// `T`, and not be used after.
pub(crate) unsafe fn free_handle<T: BoxedHandle>(function: &str, handle: *mut T) {
    let _ = guard(function, || {
        if !handle.is_null() {
            // SAFETY: made by into_raw and given back once, per the contract.
            drop(unsafe { Box::from_raw(handle) });
        }
        Ok(())
    });
}

/// Reads a NUL-terminated path argument.
///
/// # Safety
/// A non-null `ptr` must point to a NUL-terminated string.
pub(crate) unsafe fn arg_path(ptr: *const c_char, argument: &str) -> FfiResult<PathBuf> {
    if ptr.is_null() {
        return Err(FfiError::null(argument));
    }
    // SAFETY: non-null and NUL-terminated per the contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    if bytes.is_empty() {
        return Err(FfiError::invalid(format!("argument `{argument}` is an empty path")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(bytes)
            .map(PathBuf::from)
            .map_err(|_| FfiError::invalid(format!("argument `{argument}` is not UTF-8")))
    }
}
