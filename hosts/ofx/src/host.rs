//! A safe layer over what the host lends: its suites, property sets (host
//! strings copied at once, since they live only until the next call),
//! parameters, clip images (released on drop) and messages.

use std::any::TypeId;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr;

use mattebox_core::{Frame, PixelFormat, Runtime, RuntimeConfig};
use parking_lot::RwLock;

use crate::sys::*;

/// What went wrong, as the host will hear it: a status and, for the user,
/// a message (posted through the message suite where there is one).
#[derive(Debug)]
pub(crate) struct OfxError {
    pub(crate) status: OfxStatus,
    pub(crate) message: String,
}

impl OfxError {
    pub(crate) fn failed(message: impl Into<String>) -> OfxError {
        OfxError { status: kOfxStatFailed, message: message.into() }
    }

    pub(crate) fn from_host(status: OfxStatus, what: impl FnOnce() -> String) -> OfxError {
        OfxError { status, message: format!("{} (host status {status})", what()) }
    }
}

impl From<mattebox_core::Error> for OfxError {
    fn from(e: mattebox_core::Error) -> OfxError {
        OfxError::failed(e.to_string())
    }
}

pub(crate) type OfxResult<T> = Result<T, OfxError>;

fn check(status: OfxStatus, what: impl FnOnce() -> String) -> OfxResult<()> {
    if status == kOfxStatOK { Ok(()) } else { Err(OfxError::from_host(status, what)) }
}

fn name_of(name: &CStr) -> String {
    name.to_string_lossy().into_owned()
}

/// The suites of the host that loaded the bundle, fetched on load.
#[derive(Clone, Copy)]
pub(crate) struct Suites {
    pub(crate) props: &'static OfxPropertySuiteV1,
    pub(crate) effect: &'static OfxImageEffectSuiteV1,
    pub(crate) params: &'static OfxParameterSuiteV1,
    pub(crate) message: Option<&'static OfxMessageSuiteV1>,
    pub(crate) threads: Option<&'static OfxMultiThreadSuiteV1>,
}

static HOST: RwLock<Option<HostPtr>> = RwLock::new(None);
static SUITES: RwLock<Option<Suites>> = RwLock::new(None);

#[derive(Clone, Copy)]
struct HostPtr(*mut OfxHost);
// SAFETY: the host promises the OfxHost outlives the plugin, and its
// fetchSuite may be called from any thread.
unsafe impl Send for HostPtr {}
// SAFETY: as for Send; the pointer is only read.
unsafe impl Sync for HostPtr {}

/// `setHost`: only remembers the pointer (the specification forbids any
/// other call here).
pub(crate) fn set_host(host: *mut OfxHost) {
    *HOST.write() = (!host.is_null()).then_some(HostPtr(host));
}

/// The effects of this binary the host has loaded and not unloaded. The
/// suites are shared by all of them, so they go only when the last does:
/// a host scanning its plugins unloads one effect while another is live.
static LOADED: parking_lot::Mutex<Vec<TypeId>> = parking_lot::Mutex::new(Vec::new());

/// `kOfxActionLoad` for `effect`: fetches the suites. The property, image
/// effect and parameter suites are required; messages and threads are
/// optional.
pub(crate) fn load(effect: TypeId) -> OfxResult<()> {
    let host = HOST.read().ok_or_else(|| OfxError {
        status: kOfxStatErrMissingHostFeature,
        message: "the host did not call setHost".into(),
    })?;
    // SAFETY: a pointer the host gave in setHost, valid until unload.
    let host = unsafe { &*host.0 };
    let fetch = host.fetchSuite.ok_or_else(|| OfxError {
        status: kOfxStatErrMissingHostFeature,
        message: "the host has no fetchSuite".into(),
    })?;
    let get = |name: &CStr, version: c_int| {
        // SAFETY: the host's own function with its own property set.
        unsafe { fetch(host.host, name.as_ptr(), version) }
    };
    let required = |name: &CStr| {
        let suite = get(name, 1);
        if suite.is_null() {
            Err(OfxError {
                status: kOfxStatErrMissingHostFeature,
                message: format!("the host lacks {} version 1", name_of(name)),
            })
        } else {
            Ok(suite)
        }
    };
    // SAFETY: non-null suites of the versions asked for; hosts keep them
    // alive until the plugin is unloaded.
    let suites = unsafe {
        Suites {
            props: &*(required(kOfxPropertySuite)? as *const OfxPropertySuiteV1),
            effect: &*(required(kOfxImageEffectSuite)? as *const OfxImageEffectSuiteV1),
            params: &*(required(kOfxParameterSuite)? as *const OfxParameterSuiteV1),
            message: (get(kOfxMessageSuite, 1) as *const OfxMessageSuiteV1).as_ref(),
            threads: (get(kOfxMultiThreadSuite, 1) as *const OfxMultiThreadSuiteV1).as_ref(),
        }
    };
    *SUITES.write() = Some(suites);
    let mut loaded = LOADED.lock();
    if !loaded.contains(&effect) {
        loaded.push(effect);
    }
    drop(loaded);
    // Mattebox's parallel work runs on a pool as wide as the host says its
    // machine is (all cores if it has no multithread suite).
    let mut cpus = 0;
    if let Some(threads) = suites.threads {
        // SAFETY: the host's suite, with a place for the answer.
        if unsafe { (threads.multiThreadNumCPUs)(&mut cpus) } != kOfxStatOK {
            cpus = 0;
        }
    }
    let mut runtime = RUNTIME.write();
    if runtime.is_none() {
        let config = RuntimeConfig { threads: cpus as usize, ..RuntimeConfig::default() };
        *runtime = Some(std::sync::Arc::new(Runtime::new(config).map_err(OfxError::from)?));
    }
    Ok(())
}

static RUNTIME: RwLock<Option<std::sync::Arc<Runtime>>> = RwLock::new(None);

/// The runtime whose pool renders run on.
pub(crate) fn runtime() -> OfxResult<std::sync::Arc<Runtime>> {
    RUNTIME
        .read()
        .clone()
        .ok_or_else(|| OfxError { status: kOfxStatErrFatal, message: "an action came before load".into() })
}

/// `kOfxActionUnload` for `effect`: the suites are let go with the last
/// loaded effect of the binary.
pub(crate) fn unload(effect: TypeId) {
    let mut loaded = LOADED.lock();
    loaded.retain(|e| *e != effect);
    if loaded.is_empty() {
        *SUITES.write() = None;
    }
}

pub(crate) fn suites() -> OfxResult<Suites> {
    SUITES.read().ok_or_else(|| OfxError { status: kOfxStatErrFatal, message: "an action came before load".into() })
}

/// A property set the host owns.
#[derive(Clone, Copy)]
pub(crate) struct Props {
    handle: OfxPropertySetHandle,
    suite: &'static OfxPropertySuiteV1,
}

impl Props {
    pub(crate) fn new(handle: OfxPropertySetHandle) -> OfxResult<Props> {
        if handle.is_null() {
            return Err(OfxError { status: kOfxStatErrBadHandle, message: "a NULL property set".into() });
        }
        Ok(Props { handle, suite: suites()?.props })
    }

    pub(crate) fn set_string(&self, name: &CStr, index: c_int, value: &CStr) -> OfxResult<()> {
        // SAFETY: a live property set; both strings are NUL-terminated.
        check(unsafe { (self.suite.propSetString)(self.handle, name.as_ptr(), index, value.as_ptr()) }, || {
            format!("setting {}", name_of(name))
        })
    }

    pub(crate) fn set_strings(&self, name: &CStr, values: &[&CStr]) -> OfxResult<()> {
        for (i, v) in values.iter().enumerate() {
            self.set_string(name, i as c_int, v)?;
        }
        Ok(())
    }

    pub(crate) fn set_int(&self, name: &CStr, index: c_int, value: c_int) -> OfxResult<()> {
        // SAFETY: as set_string.
        check(unsafe { (self.suite.propSetInt)(self.handle, name.as_ptr(), index, value) }, || {
            format!("setting {}", name_of(name))
        })
    }

    pub(crate) fn set_double(&self, name: &CStr, index: c_int, value: f64) -> OfxResult<()> {
        // SAFETY: as set_string.
        check(unsafe { (self.suite.propSetDouble)(self.handle, name.as_ptr(), index, value) }, || {
            format!("setting {}", name_of(name))
        })
    }

    pub(crate) fn set_doubles(&self, name: &CStr, values: &[f64]) -> OfxResult<()> {
        for (i, v) in values.iter().enumerate() {
            self.set_double(name, i as c_int, *v)?;
        }
        Ok(())
    }

    pub(crate) fn set_pointer(&self, name: &CStr, value: *mut c_void) -> OfxResult<()> {
        // SAFETY: as set_string.
        check(unsafe { (self.suite.propSetPointer)(self.handle, name.as_ptr(), 0, value) }, || {
            format!("setting {}", name_of(name))
        })
    }

    /// A string, copied at once.
    pub(crate) fn string(&self, name: &CStr, index: c_int) -> OfxResult<String> {
        let mut value: *mut c_char = ptr::null_mut();
        // SAFETY: a live property set and a place for the answer.
        check(unsafe { (self.suite.propGetString)(self.handle, name.as_ptr(), index, &mut value) }, || {
            format!("reading {}", name_of(name))
        })?;
        if value.is_null() {
            return Ok(String::new());
        }
        // SAFETY: the host's NUL-terminated string, valid until its next call.
        Ok(unsafe { CStr::from_ptr(value) }.to_string_lossy().into_owned())
    }

    pub(crate) fn int(&self, name: &CStr, index: c_int) -> OfxResult<c_int> {
        let mut value = 0;
        // SAFETY: as string.
        check(unsafe { (self.suite.propGetInt)(self.handle, name.as_ptr(), index, &mut value) }, || {
            format!("reading {}", name_of(name))
        })?;
        Ok(value)
    }

    pub(crate) fn double(&self, name: &CStr, index: c_int) -> OfxResult<f64> {
        let mut value = 0.0;
        // SAFETY: as string.
        check(unsafe { (self.suite.propGetDouble)(self.handle, name.as_ptr(), index, &mut value) }, || {
            format!("reading {}", name_of(name))
        })?;
        Ok(value)
    }

    pub(crate) fn pointer(&self, name: &CStr) -> OfxResult<*mut c_void> {
        let mut value = ptr::null_mut();
        // SAFETY: as string.
        check(unsafe { (self.suite.propGetPointer)(self.handle, name.as_ptr(), 0, &mut value) }, || {
            format!("reading {}", name_of(name))
        })?;
        Ok(value)
    }

    pub(crate) fn rect_i(&self, name: &CStr) -> OfxResult<OfxRectI> {
        Ok(OfxRectI { x1: self.int(name, 0)?, y1: self.int(name, 1)?, x2: self.int(name, 2)?, y2: self.int(name, 3)? })
    }
}

/// An image effect handle (descriptor or instance).
#[derive(Clone, Copy)]
pub(crate) struct Effect {
    handle: OfxImageEffectHandle,
    suites: Suites,
}

impl Effect {
    pub(crate) fn new(handle: *const c_void) -> OfxResult<Effect> {
        if handle.is_null() {
            return Err(OfxError { status: kOfxStatErrBadHandle, message: "a NULL effect handle".into() });
        }
        Ok(Effect { handle: handle as OfxImageEffectHandle, suites: suites()? })
    }

    pub(crate) fn props(&self) -> OfxResult<Props> {
        let mut props = ptr::null_mut();
        // SAFETY: a live effect handle.
        check(unsafe { (self.suites.effect.getPropertySet)(self.handle, &mut props) }, || {
            "getting the effect's properties".into()
        })?;
        Props::new(props)
    }

    fn param_set(&self) -> OfxResult<OfxParamSetHandle> {
        let mut set = ptr::null_mut();
        // SAFETY: a live effect handle.
        check(unsafe { (self.suites.effect.getParamSet)(self.handle, &mut set) }, || "getting the parameters".into())?;
        Ok(set)
    }

    pub(crate) fn define_clip(&self, name: &CStr) -> OfxResult<Props> {
        let mut props = ptr::null_mut();
        // SAFETY: a live descriptor; the name is NUL-terminated.
        check(unsafe { (self.suites.effect.clipDefine)(self.handle, name.as_ptr(), &mut props) }, || {
            format!("defining clip {}", name_of(name))
        })?;
        Props::new(props)
    }

    /// Defines a parameter of `kind` and returns its properties.
    pub(crate) fn define_param(&self, kind: &CStr, name: &CStr, label: &CStr, hint: &CStr) -> OfxResult<Props> {
        let set = self.param_set()?;
        let mut props = ptr::null_mut();
        // SAFETY: a live parameter set; strings NUL-terminated.
        check(unsafe { (self.suites.params.paramDefine)(set, kind.as_ptr(), name.as_ptr(), &mut props) }, || {
            format!("defining parameter {}", name_of(name))
        })?;
        let props = Props::new(props)?;
        props.set_string(kOfxPropLabel, 0, label)?;
        props.set_string(kOfxParamPropHint, 0, hint)?;
        Ok(props)
    }

    pub(crate) fn clip(&self, name: &CStr) -> OfxResult<Clip> {
        let mut clip = ptr::null_mut();
        let mut props = ptr::null_mut();
        check(
            // SAFETY: a live instance; the name is NUL-terminated.
            unsafe { (self.suites.effect.clipGetHandle)(self.handle, name.as_ptr(), &mut clip, &mut props) },
            || format!("getting clip {}", name_of(name)),
        )?;
        Ok(Clip { handle: clip, props: Props::new(props)?, suites: self.suites, name: name_of(name) })
    }

    fn param(&self, name: &CStr) -> OfxResult<OfxParamHandle> {
        let set = self.param_set()?;
        let mut param = ptr::null_mut();
        // SAFETY: a live parameter set; NULL is allowed for the properties.
        check(unsafe { (self.suites.params.paramGetHandle)(set, name.as_ptr(), &mut param, ptr::null_mut()) }, || {
            format!("getting parameter {}", name_of(name))
        })?;
        Ok(param)
    }

    /// Clip `clip`'s whole image at `time` as a top-down frame; an error
    /// naming the clip when the host has none there.
    pub(crate) fn frame(&self, clip: &CStr, time: f64) -> OfxResult<Frame> {
        self.clip(clip)?
            .image(time)?
            .ok_or_else(|| OfxError::failed(format!("the host gave no {} frame at {time}", name_of(clip))))?
            .to_frame()
    }

    /// The time of clip `clip`'s first frame.
    pub(crate) fn first_time(&self, clip: &CStr) -> OfxResult<f64> {
        Ok(self.clip(clip)?.frame_range()?.0.round())
    }

    /// Clip `clip`'s frame for `time`: its last past its end and its first
    /// before its start (a still serves every frame), as hosts expect a
    /// clip to hold.
    pub(crate) fn held_time(&self, clip: &CStr, time: f64) -> OfxResult<f64> {
        let (first, last) = self.clip(clip)?.frame_range()?;
        Ok(time.clamp(first, last.max(first)).round())
    }

    /// Whether clip `clip` exists and is connected.
    pub(crate) fn connected(&self, clip: &CStr) -> bool {
        self.clip(clip).map(|c| c.connected()).unwrap_or(false)
    }

    /// A double parameter's value at `time`.
    pub(crate) fn double_at(&self, name: &CStr, time: OfxTime) -> OfxResult<f64> {
        let param = self.param(name)?;
        let mut value: f64 = 0.0;
        // SAFETY: a double parameter takes one double* after the time.
        check(unsafe { (self.suites.params.paramGetValueAtTime)(param, time, &mut value as *mut f64) }, || {
            format!("reading parameter {}", name_of(name))
        })?;
        Ok(value)
    }

    /// An integer, choice or boolean parameter's value at `time`.
    pub(crate) fn int_at(&self, name: &CStr, time: OfxTime) -> OfxResult<c_int> {
        let param = self.param(name)?;
        let mut value: c_int = 0;
        // SAFETY: integer, choice and boolean parameters take one int*.
        check(unsafe { (self.suites.params.paramGetValueAtTime)(param, time, &mut value as *mut c_int) }, || {
            format!("reading parameter {}", name_of(name))
        })?;
        Ok(value)
    }

    /// A string parameter's value at `time`, copied at once.
    pub(crate) fn string_at(&self, name: &CStr, time: OfxTime) -> OfxResult<String> {
        let param = self.param(name)?;
        let mut value: *mut c_char = ptr::null_mut();
        check(
            // SAFETY: a string parameter takes one char** after the time.
            unsafe { (self.suites.params.paramGetValueAtTime)(param, time, &mut value as *mut *mut c_char) },
            || format!("reading parameter {}", name_of(name)),
        )?;
        if value.is_null() {
            return Ok(String::new());
        }
        // SAFETY: the host's NUL-terminated string, valid until its next call.
        Ok(unsafe { CStr::from_ptr(value) }.to_string_lossy().into_owned())
    }

    /// Sets string parameter `name` (allowed in instance-changed, not in a
    /// render): the host keeps it in the project file.
    pub(crate) fn set_string_param(&self, name: &CStr, value: &str) -> OfxResult<()> {
        let param = self.param(name)?;
        let value = CString::new(value.replace('\0', " ")).unwrap_or_default();
        // SAFETY: a string parameter takes one const char* after the handle.
        check(unsafe { (self.suites.params.paramSetValue)(param, value.as_ptr()) }, || {
            format!("setting parameter {}", name_of(name))
        })
    }

    /// Whether the host asked to stop the current render.
    pub(crate) fn aborted(&self) -> bool {
        // SAFETY: a live instance.
        unsafe { (self.suites.effect.abort)(self.handle) != 0 }
    }

    /// Tells the user, through the host's message suite if it has one.
    pub(crate) fn message(&self, kind: &CStr, text: &str) {
        let Some(suite) = self.suites.message else { return };
        let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
        // SAFETY: "%s" with one NUL-terminated string: no format string of ours
        // reaches the host's printf.
        unsafe {
            (suite.message)(
                self.handle as *mut c_void,
                kind.as_ptr(),
                c"mattebox".as_ptr(),
                c"%s".as_ptr(),
                text.as_ptr(),
            );
        }
    }
}

/// The render scale of an action (1, 1 unless the host is rendering a
/// proxy): pixel sizes are canonical sizes times the scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RenderScale {
    pub(crate) x: f64,
    pub(crate) y: f64,
}

impl RenderScale {
    /// The scale an action's arguments carry; full where they carry none
    /// (or nonsense).
    pub(crate) fn of(args: &Props) -> RenderScale {
        let read = |i| args.double(kOfxImageEffectPropRenderScale, i).ok().filter(|v| *v > 0.0 && v.is_finite());
        RenderScale { x: read(0).unwrap_or(1.0), y: read(1).or(read(0)).unwrap_or(1.0) }
    }

    pub(crate) fn is_full(&self) -> bool {
        (self.x - 1.0).abs() < 1e-9 && (self.y - 1.0).abs() < 1e-9
    }
}

/// Which field of an interlaced clip comes first in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldOrder {
    /// OFX's lower field (rows 0, 2, 4... counting up from the bottom).
    LowerFirst,
    /// OFX's upper field (rows 1, 3, 5... from the bottom).
    UpperFirst,
}

/// A clip of an instance.
pub(crate) struct Clip {
    handle: OfxImageClipHandle,
    pub(crate) props: Props,
    suites: Suites,
    name: String,
}

impl Clip {
    pub(crate) fn connected(&self) -> bool {
        self.props.int(kOfxImageClipPropConnected, 0).unwrap_or(0) != 0
    }

    /// The clip's frame range (first, last), in its own time.
    pub(crate) fn frame_range(&self) -> OfxResult<(f64, f64)> {
        Ok((self.props.double(kOfxImageEffectPropFrameRange, 0)?, self.props.double(kOfxImageEffectPropFrameRange, 1)?))
    }

    pub(crate) fn frame_rate(&self) -> OfxResult<f64> {
        self.props.double(kOfxImageEffectPropFrameRate, 0)
    }

    /// Width of a pixel over its height (1 unless the host says otherwise).
    pub(crate) fn pixel_aspect(&self) -> f64 {
        self.props.double(kOfxImagePropPixelAspectRatio, 0).ok().filter(|v| *v > 0.0 && v.is_finite()).unwrap_or(1.0)
    }

    /// The clip's field order; `None` for progressive clips.
    pub(crate) fn field_order(&self) -> Option<FieldOrder> {
        let order = self.props.string(kOfxImageClipPropFieldOrder, 0).ok()?;
        match order.as_bytes() {
            o if o == kOfxImageFieldLower.to_bytes() => Some(FieldOrder::LowerFirst),
            o if o == kOfxImageFieldUpper.to_bytes() => Some(FieldOrder::UpperFirst),
            _ => None,
        }
    }

    /// The image at `time`, released when dropped. `None` when the host
    /// has none there (past the clip's end, say).
    pub(crate) fn image(&self, time: OfxTime) -> OfxResult<Option<Image>> {
        let mut props = ptr::null_mut();
        // SAFETY: a live clip; NULL region means the whole RoD.
        let status = unsafe { (self.suites.effect.clipGetImage)(self.handle, time, ptr::null(), &mut props) };
        if status != kOfxStatOK || props.is_null() {
            return Ok(None);
        }
        Image::new(props, self.suites, &self.name, time).map(Some)
    }
}

/// Pixel depth of an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Depth {
    Byte,
    Short,
    Float,
}

impl Depth {
    fn bytes(self) -> usize {
        match self {
            Depth::Byte => 4,
            Depth::Short => 8,
            Depth::Float => 16,
        }
    }

    pub(crate) fn format(self) -> PixelFormat {
        match self {
            Depth::Byte => PixelFormat::Rgba8,
            Depth::Short => PixelFormat::Rgba16,
            Depth::Float => PixelFormat::Rgba32F,
        }
    }
}

/// A clip image the host lent; released on drop.
pub(crate) struct Image {
    props: OfxPropertySetHandle,
    suites: Suites,
    data: *mut u8,
    pub(crate) bounds: OfxRectI,
    row_bytes: isize,
    pub(crate) depth: Depth,
}

impl Image {
    pub(crate) fn new(props: OfxPropertySetHandle, suites: Suites, clip: &str, time: f64) -> OfxResult<Image> {
        // Own it first, so it is released whatever fails below.
        let mut image = Image {
            props,
            suites,
            data: ptr::null_mut(),
            bounds: OfxRectI::default(),
            row_bytes: 0,
            depth: Depth::Float,
        };
        let p = Props::new(props)?;
        image.data = p.pointer(kOfxImagePropData)? as *mut u8;
        image.bounds = p.rect_i(kOfxImagePropBounds)?;
        image.row_bytes = p.int(kOfxImagePropRowBytes, 0)? as isize;
        let components = p.string(kOfxImageEffectPropComponents, 0)?;
        if components.as_bytes() != kOfxImageComponentRGBA.to_bytes() {
            return Err(OfxError {
                status: kOfxStatErrUnsupported,
                message: format!("{clip} at {time}: {components} images are not supported; Mattebox takes RGBA"),
            });
        }
        let depth = p.string(kOfxImageEffectPropPixelDepth, 0)?;
        image.depth = match depth.as_bytes() {
            d if d == kOfxBitDepthByte.to_bytes() => Depth::Byte,
            d if d == kOfxBitDepthShort.to_bytes() => Depth::Short,
            d if d == kOfxBitDepthFloat.to_bytes() => Depth::Float,
            _ => {
                return Err(OfxError {
                    status: kOfxStatErrUnsupported,
                    message: format!("{clip} at {time}: {depth} pixels are not supported"),
                });
            }
        };
        let width = (image.bounds.x2 - image.bounds.x1).max(0) as usize;
        if image.data.is_null() && width > 0 && image.bounds.y2 > image.bounds.y1 {
            return Err(OfxError::failed(format!("{clip} at {time}: the host gave an image with no pixels")));
        }
        if (image.row_bytes.unsigned_abs()) < width * image.depth.bytes() {
            return Err(OfxError::failed(format!(
                "{clip} at {time}: rows of {} bytes cannot hold {width} pixels",
                image.row_bytes
            )));
        }
        Ok(image)
    }

    pub(crate) fn width(&self) -> u32 {
        (self.bounds.x2 - self.bounds.x1).max(0) as u32
    }

    pub(crate) fn height(&self) -> u32 {
        (self.bounds.y2 - self.bounds.y1).max(0) as u32
    }

    /// The bytes of the row at `y` (OFX coordinates: y up).
    fn row(&self, y: i32) -> *mut u8 {
        // SAFETY-relevant arithmetic: y is inside bounds (callers check);
        // rows start row_bytes apart from the bottom row at `data`.
        self.data.wrapping_offset((y - self.bounds.y1) as isize * self.row_bytes)
    }

    /// The whole image as a top-down frame (OFX rows run bottom-up).
    pub(crate) fn to_frame(&self) -> OfxResult<Frame> {
        let (w, h) = (self.width(), self.height());
        let mut frame = Frame::new(w.max(1), h.max(1), self.depth.format())?;
        let row_len = w as usize * self.depth.bytes();
        let stride = frame.stride();
        let bytes = frame.as_bytes_mut();
        for i in 0..h as usize {
            let y = self.bounds.y2 - 1 - i as i32;
            // SAFETY: row y lies in bounds; the host lends `row_len` bytes there.
            let src = unsafe { std::slice::from_raw_parts(self.row(y), row_len) };
            bytes[i * stride..i * stride + row_len].copy_from_slice(src);
        }
        Ok(frame)
    }

    /// Writes the part of `frame` (top-down, covering `frame_bounds`) that
    /// falls inside `window` into this image, converting the pixel format.
    pub(crate) fn write(&mut self, frame: &Frame, frame_bounds: OfxRectI, window: OfxRectI) -> OfxResult<()> {
        let x1 = window.x1.max(self.bounds.x1).max(frame_bounds.x1);
        let x2 = window.x2.min(self.bounds.x2).min(frame_bounds.x2);
        let y1 = window.y1.max(self.bounds.y1).max(frame_bounds.y1);
        let y2 = window.y2.min(self.bounds.y2).min(frame_bounds.y2);
        if x1 >= x2 || y1 >= y2 {
            return Ok(());
        }
        let converted;
        let source = if frame.format() == self.depth.format() {
            frame
        } else {
            converted = frame.to_format(self.depth.format())?;
            &converted
        };
        let px = self.depth.bytes();
        let len = (x2 - x1) as usize * px;
        let stride = source.stride();
        let bytes = source.as_bytes();
        for y in y1..y2 {
            let frame_row = (frame_bounds.y2 - 1 - y) as usize;
            let start = frame_row * stride + (x1 - frame_bounds.x1) as usize * px;
            // SAFETY: row y and columns x1..x2 lie inside this image's bounds.
            let dst =
                unsafe { std::slice::from_raw_parts_mut(self.row(y).add((x1 - self.bounds.x1) as usize * px), len) };
            dst.copy_from_slice(&bytes[start..start + len]);
        }
        Ok(())
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: an image the host gave and we release exactly once.
        unsafe {
            (self.suites.effect.clipReleaseImage)(self.props);
        }
    }
}
