//! `mb_runtime`: the handle a host creates once and passes to every call.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use mattebox_core::{LogLevel, LogSink, Runtime, RuntimeConfig};

use crate::boundary::{BoxedHandle, FfiError, arg_mut, arg_path, arg_ref, free_handle, guard, mb_result};

/// A log level code: one of the `MB_LOG_LEVEL_*` constants.
#[allow(non_camel_case_types)]
pub type mb_log_level = u32;

/// Log nothing.
pub const MB_LOG_LEVEL_OFF: mb_log_level = 0;
/// Failures only.
pub const MB_LOG_LEVEL_ERROR: mb_log_level = 1;
/// Failures and suspicious conditions (the default).
pub const MB_LOG_LEVEL_WARN: mb_log_level = 2;
/// One line per significant step.
pub const MB_LOG_LEVEL_INFO: mb_log_level = 3;
/// Details for bug reports.
pub const MB_LOG_LEVEL_DEBUG: mb_log_level = 4;
/// Everything.
pub const MB_LOG_LEVEL_TRACE: mb_log_level = 5;

/// Receives one log line. Called from any of the runtime's threads, possibly
/// at the same time; `message` is valid only during the call.
#[allow(non_camel_case_types)]
pub type mb_log_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: mb_log_level, message: *const c_char)>;

/// Options for `mb_runtime_new`. Fill with `mb_runtime_options_init` first,
/// then change what you need; `struct_size` lets later versions add fields.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_runtime_options {
    /// `sizeof(mb_runtime_options)`, set by `mb_runtime_options_init`.
    pub struct_size: u32,
    /// Worker threads; 0 means one per core.
    pub threads: u32,
    /// One of the `MB_LOG_LEVEL_*` constants.
    pub log_level: mb_log_level,
    /// Cache directory (NUL-terminated, copied); NULL for the default
    /// (`$MATTEBOX_CACHE_DIR`, else `$XDG_CACHE_HOME/mattebox`, else `~/.cache/mattebox`).
    pub cache_dir: *const c_char,
    /// Where log lines go; NULL means standard error.
    pub log_callback: mb_log_callback,
    /// Passed back to `log_callback` unchanged.
    pub log_user_data: *mut c_void,
}

const OPTIONS_SIZE: u32 = std::mem::size_of::<mb_runtime_options>() as u32;

/// The runtime handle: a thread pool, logging and a cache location. Safe to
/// use from several threads at once.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_runtime {
    pub(crate) inner: Arc<Runtime>,
}

impl BoxedHandle for mb_runtime {}

/// Fills `options` with the defaults: all cores, warnings to standard error,
/// the default cache directory.
///
/// # Safety
/// `options` must point to writable memory for one `mb_runtime_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_runtime_options_init(options: *mut mb_runtime_options) -> mb_result {
    guard("mb_runtime_options_init", || {
        // SAFETY: checked for null; the host promises the memory.
        let options = unsafe { arg_mut(options, "options")? };
        *options = mb_runtime_options {
            struct_size: OPTIONS_SIZE,
            threads: 0,
            log_level: MB_LOG_LEVEL_WARN,
            cache_dir: std::ptr::null(),
            log_callback: None,
            log_user_data: std::ptr::null_mut(),
        };
        Ok(())
    })
}

/// The host's callback and its user data, which the host promises may be
/// used from any thread.
struct HostLogger {
    callback: unsafe extern "C" fn(*mut c_void, mb_log_level, *const c_char),
    user_data: *mut c_void,
}

impl HostLogger {
    fn log(&self, level: LogLevel, line: &str) {
        let text = CString::new(line.replace('\0', "?")).unwrap_or_default();
        // SAFETY: the host's callback, called as documented in mb_log_callback.
        unsafe { (self.callback)(self.user_data, level_code(level), text.as_ptr()) };
    }
}

// SAFETY: documented contract of mb_log_callback: callable from any thread.
unsafe impl Send for HostLogger {}
// SAFETY: as above.
unsafe impl Sync for HostLogger {}

fn level_code(level: LogLevel) -> mb_log_level {
    match level {
        LogLevel::Off => MB_LOG_LEVEL_OFF,
        LogLevel::Error => MB_LOG_LEVEL_ERROR,
        LogLevel::Warn => MB_LOG_LEVEL_WARN,
        LogLevel::Info => MB_LOG_LEVEL_INFO,
        LogLevel::Debug => MB_LOG_LEVEL_DEBUG,
        LogLevel::Trace => MB_LOG_LEVEL_TRACE,
    }
}

fn log_level(code: mb_log_level) -> Result<LogLevel, FfiError> {
    Ok(match code {
        MB_LOG_LEVEL_OFF => LogLevel::Off,
        MB_LOG_LEVEL_ERROR => LogLevel::Error,
        MB_LOG_LEVEL_WARN => LogLevel::Warn,
        MB_LOG_LEVEL_INFO => LogLevel::Info,
        MB_LOG_LEVEL_DEBUG => LogLevel::Debug,
        MB_LOG_LEVEL_TRACE => LogLevel::Trace,
        other => {
            return Err(FfiError::invalid(format!(
                "log_level {other} is not one of MB_LOG_LEVEL_OFF (0) to MB_LOG_LEVEL_TRACE (5)"
            )));
        }
    })
}

/// Creates a runtime. `options` may be NULL for the defaults. On success
/// `*out` holds a runtime to release with `mb_runtime_free`; on failure
/// `*out` is set to NULL.
///
/// # Safety
/// `options`, when not NULL, must point to an `mb_runtime_options` filled by
/// `mb_runtime_options_init`; `out` must point to writable memory for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_runtime_new(options: *const mb_runtime_options, out: *mut *mut mb_runtime) -> mb_result {
    guard("mb_runtime_new", || {
        // SAFETY: checked for null; the host promises the memory.
        let out = unsafe { arg_mut(out, "out")? };
        *out = std::ptr::null_mut();
        let mut config = RuntimeConfig::default();
        if !options.is_null() {
            // SAFETY: non-null; the host promises a valid struct.
            let options = unsafe { arg_ref(options, "options")? };
            if options.struct_size < OPTIONS_SIZE {
                return Err(FfiError::invalid(format!(
                    "options->struct_size is {} but must be at least {OPTIONS_SIZE}; fill the options with mb_runtime_options_init",
                    options.struct_size
                )));
            }
            config.threads = options.threads as usize;
            config.log_level = log_level(options.log_level)?;
            if !options.cache_dir.is_null() {
                // SAFETY: non-null, NUL-terminated per the contract.
                config.cache_dir = Some(unsafe { arg_path(options.cache_dir, "options->cache_dir")? });
            }
            if let Some(callback) = options.log_callback {
                let logger = HostLogger { callback, user_data: options.log_user_data };
                config.log_sink = LogSink::Callback(Arc::new(move |level, line| logger.log(level, line)));
            }
        }
        let runtime = Runtime::new(config)?;
        *out = mb_runtime { inner: Arc::new(runtime) }.into_raw();
        Ok(())
    })
}

/// Releases a runtime. NULL is ignored. Media handles opened through it stay
/// usable; its threads stop once the last of them is closed.
///
/// # Safety
/// `runtime` must be NULL or come from `mb_runtime_new`, and not be used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_runtime_free(runtime: *mut mb_runtime) {
    // SAFETY: `runtime` is NULL or a handle given back once, per the contract above.
    unsafe { free_handle("mb_runtime_free", runtime) }
}

/// Writes the number of worker threads of `runtime` to `*out`.
///
/// # Safety
/// `runtime` must come from `mb_runtime_new`; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_runtime_threads(runtime: *const mb_runtime, out: *mut u32) -> mb_result {
    guard("mb_runtime_threads", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (runtime, out) = unsafe { (arg_ref(runtime, "runtime")?, arg_mut(out, "out")?) };
        *out = runtime.inner.threads() as u32;
        Ok(())
    })
}
