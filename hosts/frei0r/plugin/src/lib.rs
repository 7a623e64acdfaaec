//! The frei0r side of Mattebox: the frei0r 1.2 C ABI, a small framework that
//! turns a [`Plugin`] into the `f0r_*` functions hosts look for, and the one
//! effect both Mattebox plugins share ([`effect::KeyComposite`]).
//!
//! frei0r allows one plugin per shared object, so each plugin is its own
//! crate (`hosts/frei0r/key`, `hosts/frei0r/over`) calling
//! [`export_plugin!`].
//!
//! Every entry point checks its pointers and catches panics: a host such as
//! Kdenlive must never go down because of an effect. If an update fails, the
//! first input is passed through unchanged and the reason is logged once.

pub mod effect;

use std::ffi::{CStr, c_char, c_double, c_int};

/// `F0R_PLUGIN_TYPE_FILTER`.
pub const TYPE_FILTER: c_int = 0;
/// `F0R_PLUGIN_TYPE_MIXER2`.
pub const TYPE_MIXER2: c_int = 2;
/// `F0R_COLOR_MODEL_RGBA8888`: bytes R, G, B, A in memory order.
pub const COLOR_MODEL_RGBA8888: c_int = 1;
/// The frei0r major version this is built for.
pub const FREI0R_MAJOR_VERSION: c_int = 1;

/// `f0r_plugin_info_t`.
#[repr(C)]
#[derive(Debug)]
pub struct PluginInfoC {
    pub name: *const c_char,
    pub author: *const c_char,
    pub plugin_type: c_int,
    pub color_model: c_int,
    pub frei0r_version: c_int,
    pub major_version: c_int,
    pub minor_version: c_int,
    pub num_params: c_int,
    pub explanation: *const c_char,
}

/// `f0r_param_info_t`.
#[repr(C)]
#[derive(Debug)]
pub struct ParamInfoC {
    pub name: *const c_char,
    pub kind: c_int,
    pub explanation: *const c_char,
}

/// `f0r_param_color_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColorC {
    pub r: f32,
    pub g: f32,
    pub b: f32,
}

/// The type of a parameter, as frei0r numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ParamKind {
    /// `F0R_PARAM_BOOL`: a double, true above 0.5.
    Bool = 0,
    /// `F0R_PARAM_DOUBLE`: a double in 0..1.
    Double = 1,
    /// `F0R_PARAM_COLOR`: three floats in 0..1.
    Color = 2,
    /// `F0R_PARAM_STRING`: a UTF-8 C string.
    String = 4,
}

/// A parameter as a host sees it.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    /// Short name (also the MLT property name).
    pub name: &'static CStr,
    /// Type.
    pub kind: ParamKind,
    /// What it does, including how 0..1 maps to its real range.
    pub explanation: &'static CStr,
}

/// A parameter value.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// Bool or double.
    Number(f64),
    /// A colour.
    Color([f32; 3]),
    /// A string.
    Text(String),
}

/// What a plugin tells the host about itself.
#[derive(Clone, Copy, Debug)]
pub struct PluginDescription {
    /// Display name.
    pub name: &'static CStr,
    /// `TYPE_FILTER` or `TYPE_MIXER2`.
    pub plugin_type: c_int,
    /// One-paragraph explanation.
    pub explanation: &'static CStr,
    /// Plugin version; bump the minor version whenever parameters change.
    pub version: (c_int, c_int),
}

/// An effect instance. Hosts call `update` with RGBA8888 frames of the size
/// given at construction.
pub trait Plugin: Send + std::fmt::Debug + 'static {
    /// The plugin's description.
    const DESCRIPTION: PluginDescription;
    /// Its parameters, in index order.
    const PARAMS: &'static [ParamSpec];
    /// A new instance for frames of `width` x `height`.
    fn new(width: u32, height: u32) -> Self;
    /// Sets parameter `index` (already checked to exist and to match its kind).
    fn set(&mut self, index: usize, value: ParamValue);
    /// Current value of parameter `index`.
    fn get(&self, index: usize) -> ParamValue;
    /// Renders `out` from `inputs` (one for a filter, two for a mixer2).
    fn update(&mut self, time: f64, inputs: &[&[u32]], out: &mut [u32]) -> Result<(), String>;
}

/// One instance as the host holds it: the plugin and the C strings handed
/// out by `get_param_value`, which must outlive the call.
#[derive(Debug)]
pub struct Instance<P: Plugin> {
    pub width: u32,
    pub height: u32,
    pub plugin: P,
    pub strings: Vec<std::ffi::CString>,
    pub reported_failure: bool,
}

/// The largest frame accepted (as the core's limits).
pub fn size_ok(width: u32, height: u32) -> bool {
    mattebox_core::frame::check_dimensions(width, height).is_ok()
}

/// Reads a parameter value of `kind` from the host's pointer.
///
/// # Safety
/// `param` must point to a value of the type frei0r specifies for `kind`.
pub unsafe fn read_param(param: *const std::ffi::c_void, kind: ParamKind) -> Option<ParamValue> {
    if param.is_null() {
        return None;
    }
    // SAFETY: non-null; the type per kind is the frei0r contract.
    unsafe {
        Some(match kind {
            ParamKind::Bool | ParamKind::Double => {
                let v = *(param as *const c_double);
                ParamValue::Number(if v.is_finite() { v } else { 0.0 })
            }
            ParamKind::Color => {
                let c = *(param as *const ColorC);
                ParamValue::Color([c.r, c.g, c.b].map(|v| if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 }))
            }
            ParamKind::String => {
                let s = *(param as *const *const c_char);
                let text = if s.is_null() { String::new() } else { CStr::from_ptr(s).to_string_lossy().into_owned() };
                ParamValue::Text(text)
            }
        })
    }
}

/// Writes a parameter value to the host's pointer.
///
/// # Safety
/// `param` must point to writable storage of the frei0r type for `kind`.
pub unsafe fn write_param<P: Plugin>(instance: &mut Instance<P>, param: *mut std::ffi::c_void, value: ParamValue) {
    if param.is_null() {
        return;
    }
    // SAFETY: non-null; the type per kind is the frei0r contract.
    unsafe {
        match value {
            ParamValue::Number(v) => *(param as *mut c_double) = v,
            ParamValue::Color([r, g, b]) => *(param as *mut ColorC) = ColorC { r, g, b },
            ParamValue::Text(text) => {
                let c = std::ffi::CString::new(text.replace('\0', "")).unwrap_or_default();
                *(param as *mut *const c_char) = c.as_ptr();
                // Keep it alive until the instance goes; hosts copy it at once.
                instance.strings.push(c);
                if instance.strings.len() > 64 {
                    instance.strings.remove(0);
                }
            }
        }
    }
}

/// Runs `f`, turning a panic into `fallback`.
pub fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Defines the `f0r_*` entry points for a [`Plugin`] type. Use once per cdylib.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        use $crate::Plugin as _;

        #[unsafe(no_mangle)]
        pub extern "C" fn f0r_init() -> ::std::ffi::c_int {
            1
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn f0r_deinit() {}

        /// # Safety
        /// `info` must be NULL or point to a writable `f0r_plugin_info_t`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn f0r_get_plugin_info(info: *mut $crate::PluginInfoC) {
            $crate::guard((), || {
                // SAFETY: null is handled; the host provides the struct.
                let Some(info) = (unsafe { info.as_mut() }) else { return };
                let d = <$plugin>::DESCRIPTION;
                *info = $crate::PluginInfoC {
                    name: d.name.as_ptr(),
                    author: c"Mattebox".as_ptr(),
                    plugin_type: d.plugin_type,
                    color_model: $crate::COLOR_MODEL_RGBA8888,
                    frei0r_version: $crate::FREI0R_MAJOR_VERSION,
                    major_version: d.version.0,
                    minor_version: d.version.1,
                    num_params: <$plugin>::PARAMS.len() as ::std::ffi::c_int,
                    explanation: d.explanation.as_ptr(),
                };
            })
        }

        /// # Safety
        /// `info` must be NULL or point to a writable `f0r_param_info_t`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn f0r_get_param_info(info: *mut $crate::ParamInfoC, index: ::std::ffi::c_int) {
            $crate::guard((), || {
                // SAFETY: null is handled; the host provides the struct.
                let Some(info) = (unsafe { info.as_mut() }) else { return };
                let Some(spec) = usize::try_from(index).ok().and_then(|i| <$plugin>::PARAMS.get(i)) else { return };
                *info = $crate::ParamInfoC {
                    name: spec.name.as_ptr(),
                    kind: spec.kind as ::std::ffi::c_int,
                    explanation: spec.explanation.as_ptr(),
                };
            })
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn f0r_construct(
            width: ::std::ffi::c_uint,
            height: ::std::ffi::c_uint,
        ) -> *mut ::std::ffi::c_void {
            $crate::guard(::std::ptr::null_mut(), || {
                if !$crate::size_ok(width, height) {
                    eprintln!("mattebox frei0r: refusing a {width}x{height} frame size");
                    return ::std::ptr::null_mut();
                }
                let instance = $crate::Instance {
                    width,
                    height,
                    plugin: <$plugin>::new(width, height),
                    strings: Vec::new(),
                    reported_failure: false,
                };
                Box::into_raw(Box::new(instance)) as *mut ::std::ffi::c_void
            })
        }

        /// # Safety
        /// `instance` must be NULL or come from `f0r_construct`, and not be used after.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn f0r_destruct(instance: *mut ::std::ffi::c_void) {
            $crate::guard((), || {
                if !instance.is_null() {
                    // SAFETY: came from Box::into_raw in f0r_construct, freed once.
                    drop(unsafe { Box::from_raw(instance as *mut $crate::Instance<$plugin>) });
                }
            })
        }

        /// # Safety
        /// `instance` must come from `f0r_construct`; `param` must point to a value of the parameter's type.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn f0r_set_param_value(
            instance: *mut ::std::ffi::c_void,
            param: *mut ::std::ffi::c_void,
            index: ::std::ffi::c_int,
        ) {
            $crate::guard((), || {
                // SAFETY: null is handled; the pointer came from f0r_construct.
                let Some(instance) = (unsafe { (instance as *mut $crate::Instance<$plugin>).as_mut() }) else { return };
                let Some(i) = usize::try_from(index).ok().filter(|&i| i < <$plugin>::PARAMS.len()) else { return };
                // SAFETY: the host passes the type frei0r specifies for this parameter.
                if let Some(value) = unsafe { $crate::read_param(param, <$plugin>::PARAMS[i].kind) } {
                    instance.plugin.set(i, value);
                }
            })
        }

        /// # Safety
        /// `instance` must come from `f0r_construct`; `param` must point to storage of the parameter's type.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn f0r_get_param_value(
            instance: *mut ::std::ffi::c_void,
            param: *mut ::std::ffi::c_void,
            index: ::std::ffi::c_int,
        ) {
            $crate::guard((), || {
                // SAFETY: null is handled; the pointer came from f0r_construct.
                let Some(instance) = (unsafe { (instance as *mut $crate::Instance<$plugin>).as_mut() }) else { return };
                let Some(i) = usize::try_from(index).ok().filter(|&i| i < <$plugin>::PARAMS.len()) else { return };
                let value = instance.plugin.get(i);
                // SAFETY: the host passes storage of the type frei0r specifies.
                unsafe { $crate::write_param(instance, param, value) };
            })
        }

        /// # Safety
        /// `instance` must come from `f0r_construct`; the frames must hold width x height pixels.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn f0r_update(
            instance: *mut ::std::ffi::c_void,
            time: f64,
            inframe: *const u32,
            outframe: *mut u32,
        ) {
            // SAFETY: forwarded contract.
            unsafe { $crate::run_update::<$plugin>(instance, time, &[inframe], outframe) }
        }

        /// # Safety
        /// `instance` must come from `f0r_construct`; the frames must hold width x height pixels.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn f0r_update2(
            instance: *mut ::std::ffi::c_void,
            time: f64,
            inframe1: *const u32,
            inframe2: *const u32,
            _inframe3: *const u32,
            outframe: *mut u32,
        ) {
            // SAFETY: forwarded contract.
            unsafe { $crate::run_update::<$plugin>(instance, time, &[inframe1, inframe2], outframe) }
        }
    };
}

/// The body of `f0r_update` / `f0r_update2`: checks pointers, runs the
/// plugin, and passes the first input through if anything fails.
///
/// # Safety
/// `instance` must come from `f0r_construct` for `P`; non-null frames must
/// hold width x height pixels each.
pub unsafe fn run_update<P: Plugin>(instance: *mut std::ffi::c_void, time: f64, inputs: &[*const u32], out: *mut u32) {
    // SAFETY: null is handled; the pointer came from f0r_construct.
    let Some(instance) = (unsafe { (instance as *mut Instance<P>).as_mut() }) else { return };
    if out.is_null() {
        return;
    }
    let n = instance.width as usize * instance.height as usize;
    let needed = if P::DESCRIPTION.plugin_type == TYPE_MIXER2 { 2 } else { 1 };
    // SAFETY: the host promises width x height pixels per non-null frame.
    let out = unsafe { std::slice::from_raw_parts_mut(out, n) };
    // A mixer called through f0r_update, or a null frame: nothing to mix, so pass through.
    if inputs.len() < needed || inputs.iter().take(needed).any(|p| p.is_null()) {
        if let Some(first) = inputs.first().filter(|p| !p.is_null()) {
            // SAFETY: as above.
            out.copy_from_slice(unsafe { std::slice::from_raw_parts(*first, n) });
        }
        return;
    }
    // SAFETY: as above; checked non-null.
    let frames: Vec<&[u32]> =
        inputs.iter().take(needed).map(|&p| unsafe { std::slice::from_raw_parts(p, n) }).collect();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| instance.plugin.update(time, &frames, out)));
    let failure = match result {
        Ok(Ok(())) => return,
        Ok(Err(message)) => message,
        Err(_) => "internal panic (please report this)".to_owned(),
    };
    if !instance.reported_failure {
        eprintln!("mattebox frei0r: {}: {failure}; passing the input through", P::DESCRIPTION.name.to_string_lossy());
        instance.reported_failure = true;
    }
    out.copy_from_slice(frames[0]);
}
