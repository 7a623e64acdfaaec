//! The OpenFX C API, declared from the specification (OFX 1.4/1.5 image
//! effect API): handles, structs, the suites Mattebox uses, and the string
//! constants. Only the subset the bundle uses; every layout follows the
//! specification's headers member for member.

// Declarations of a C API: names as the specification spells them, every
// item public to the crate, not all of them used yet.
#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    dead_code,
    unreachable_pub,
    missing_debug_implementations
)]

use std::ffi::{c_char, c_double, c_int, c_uint, c_void};

pub type OfxStatus = c_int;
pub type OfxTime = c_double;

/// Opaque host objects.
#[repr(C)]
pub struct OfxPropertySetStruct {
    _private: [u8; 0],
}
pub type OfxPropertySetHandle = *mut OfxPropertySetStruct;
#[repr(C)]
pub struct OfxImageEffectStruct {
    _private: [u8; 0],
}
pub type OfxImageEffectHandle = *mut OfxImageEffectStruct;
#[repr(C)]
pub struct OfxImageClipStruct {
    _private: [u8; 0],
}
pub type OfxImageClipHandle = *mut OfxImageClipStruct;
#[repr(C)]
pub struct OfxImageMemoryStruct {
    _private: [u8; 0],
}
pub type OfxImageMemoryHandle = *mut OfxImageMemoryStruct;
#[repr(C)]
pub struct OfxParamStruct {
    _private: [u8; 0],
}
pub type OfxParamHandle = *mut OfxParamStruct;
#[repr(C)]
pub struct OfxParamSetStruct {
    _private: [u8; 0],
}
pub type OfxParamSetHandle = *mut OfxParamSetStruct;
#[repr(C)]
pub struct OfxMutex {
    _private: [u8; 0],
}
pub type OfxMutexHandle = *mut OfxMutex;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OfxRectD {
    pub x1: c_double,
    pub y1: c_double,
    pub x2: c_double,
    pub y2: c_double,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OfxRectI {
    pub x1: c_int,
    pub y1: c_int,
    pub x2: c_int,
    pub y2: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OfxRangeD {
    pub min: c_double,
    pub max: c_double,
}

#[repr(C)]
pub struct OfxHost {
    pub host: OfxPropertySetHandle,
    pub fetchSuite:
        Option<unsafe extern "C" fn(host: OfxPropertySetHandle, name: *const c_char, version: c_int) -> *const c_void>,
}

pub type OfxPluginEntryPoint = unsafe extern "C" fn(
    action: *const c_char,
    handle: *const c_void,
    in_args: OfxPropertySetHandle,
    out_args: OfxPropertySetHandle,
) -> OfxStatus;

#[repr(C)]
pub struct OfxPlugin {
    pub pluginApi: *const c_char,
    pub apiVersion: c_int,
    pub pluginIdentifier: *const c_char,
    pub pluginVersionMajor: c_uint,
    pub pluginVersionMinor: c_uint,
    pub setHost: Option<unsafe extern "C" fn(host: *mut OfxHost)>,
    pub mainEntry: Option<OfxPluginEntryPoint>,
}

#[repr(C)]
pub struct OfxPropertySuiteV1 {
    pub propSetPointer: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *mut c_void) -> OfxStatus,
    pub propSetString: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *const c_char) -> OfxStatus,
    pub propSetDouble: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, c_double) -> OfxStatus,
    pub propSetInt: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, c_int) -> OfxStatus,
    pub propSetPointerN:
        unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *const *mut c_void) -> OfxStatus,
    pub propSetStringN:
        unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *const *const c_char) -> OfxStatus,
    pub propSetDoubleN: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *const c_double) -> OfxStatus,
    pub propSetIntN: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *const c_int) -> OfxStatus,
    pub propGetPointer: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *mut *mut c_void) -> OfxStatus,
    pub propGetString: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *mut *mut c_char) -> OfxStatus,
    pub propGetDouble: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *mut c_double) -> OfxStatus,
    pub propGetInt: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *mut c_int) -> OfxStatus,
    pub propGetPointerN:
        unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *mut *mut c_void) -> OfxStatus,
    pub propGetStringN: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *mut *mut c_char) -> OfxStatus,
    pub propGetDoubleN: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *mut c_double) -> OfxStatus,
    pub propGetIntN: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, c_int, *mut c_int) -> OfxStatus,
    pub propReset: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char) -> OfxStatus,
    pub propGetDimension: unsafe extern "C" fn(OfxPropertySetHandle, *const c_char, *mut c_int) -> OfxStatus,
}

#[repr(C)]
pub struct OfxImageEffectSuiteV1 {
    pub getPropertySet: unsafe extern "C" fn(OfxImageEffectHandle, *mut OfxPropertySetHandle) -> OfxStatus,
    pub getParamSet: unsafe extern "C" fn(OfxImageEffectHandle, *mut OfxParamSetHandle) -> OfxStatus,
    pub clipDefine: unsafe extern "C" fn(OfxImageEffectHandle, *const c_char, *mut OfxPropertySetHandle) -> OfxStatus,
    pub clipGetHandle: unsafe extern "C" fn(
        OfxImageEffectHandle,
        *const c_char,
        *mut OfxImageClipHandle,
        *mut OfxPropertySetHandle,
    ) -> OfxStatus,
    pub clipGetPropertySet: unsafe extern "C" fn(OfxImageClipHandle, *mut OfxPropertySetHandle) -> OfxStatus,
    pub clipGetImage:
        unsafe extern "C" fn(OfxImageClipHandle, OfxTime, *const OfxRectD, *mut OfxPropertySetHandle) -> OfxStatus,
    pub clipReleaseImage: unsafe extern "C" fn(OfxPropertySetHandle) -> OfxStatus,
    pub clipGetRegionOfDefinition: unsafe extern "C" fn(OfxImageClipHandle, OfxTime, *mut OfxRectD) -> OfxStatus,
    pub abort: unsafe extern "C" fn(OfxImageEffectHandle) -> c_int,
    pub imageMemoryAlloc: unsafe extern "C" fn(OfxImageEffectHandle, usize, *mut OfxImageMemoryHandle) -> OfxStatus,
    pub imageMemoryFree: unsafe extern "C" fn(OfxImageMemoryHandle) -> OfxStatus,
    pub imageMemoryLock: unsafe extern "C" fn(OfxImageMemoryHandle, *mut *mut c_void) -> OfxStatus,
    pub imageMemoryUnlock: unsafe extern "C" fn(OfxImageMemoryHandle) -> OfxStatus,
}

/// The parameter suite. The value calls are C variadic functions: the
/// caller passes pointers (get) or values (set) by the parameter's type.
#[repr(C)]
pub struct OfxParameterSuiteV1 {
    pub paramDefine:
        unsafe extern "C" fn(OfxParamSetHandle, *const c_char, *const c_char, *mut OfxPropertySetHandle) -> OfxStatus,
    pub paramGetHandle: unsafe extern "C" fn(
        OfxParamSetHandle,
        *const c_char,
        *mut OfxParamHandle,
        *mut OfxPropertySetHandle,
    ) -> OfxStatus,
    pub paramSetGetPropertySet: unsafe extern "C" fn(OfxParamSetHandle, *mut OfxPropertySetHandle) -> OfxStatus,
    pub paramGetPropertySet: unsafe extern "C" fn(OfxParamHandle, *mut OfxPropertySetHandle) -> OfxStatus,
    pub paramGetValue: unsafe extern "C" fn(OfxParamHandle, ...) -> OfxStatus,
    pub paramGetValueAtTime: unsafe extern "C" fn(OfxParamHandle, OfxTime, ...) -> OfxStatus,
    pub paramGetDerivative: unsafe extern "C" fn(OfxParamHandle, OfxTime, ...) -> OfxStatus,
    pub paramGetIntegral: unsafe extern "C" fn(OfxParamHandle, OfxTime, OfxTime, ...) -> OfxStatus,
    pub paramSetValue: unsafe extern "C" fn(OfxParamHandle, ...) -> OfxStatus,
    pub paramSetValueAtTime: unsafe extern "C" fn(OfxParamHandle, OfxTime, ...) -> OfxStatus,
    pub paramGetNumKeys: unsafe extern "C" fn(OfxParamHandle, *mut c_uint) -> OfxStatus,
    pub paramGetKeyTime: unsafe extern "C" fn(OfxParamHandle, c_uint, *mut OfxTime) -> OfxStatus,
    pub paramGetKeyIndex: unsafe extern "C" fn(OfxParamHandle, OfxTime, c_int, *mut c_int) -> OfxStatus,
    pub paramDeleteKey: unsafe extern "C" fn(OfxParamHandle, OfxTime) -> OfxStatus,
    pub paramDeleteAllKeys: unsafe extern "C" fn(OfxParamHandle) -> OfxStatus,
    pub paramCopy: unsafe extern "C" fn(OfxParamHandle, OfxParamHandle, OfxTime, *const OfxRangeD) -> OfxStatus,
    pub paramEditBegin: unsafe extern "C" fn(OfxParamSetHandle, *const c_char) -> OfxStatus,
    pub paramEditEnd: unsafe extern "C" fn(OfxParamSetHandle) -> OfxStatus,
}

#[repr(C)]
pub struct OfxMemorySuiteV1 {
    pub memoryAlloc: unsafe extern "C" fn(*mut c_void, usize, *mut *mut c_void) -> OfxStatus,
    pub memoryFree: unsafe extern "C" fn(*mut c_void) -> OfxStatus,
}

pub type OfxThreadFunctionV1 = unsafe extern "C" fn(thread_index: c_uint, thread_max: c_uint, custom: *mut c_void);

#[repr(C)]
pub struct OfxMultiThreadSuiteV1 {
    pub multiThread: unsafe extern "C" fn(OfxThreadFunctionV1, c_uint, *mut c_void) -> OfxStatus,
    pub multiThreadNumCPUs: unsafe extern "C" fn(*mut c_uint) -> OfxStatus,
    pub multiThreadIndex: unsafe extern "C" fn(*mut c_uint) -> OfxStatus,
    pub multiThreadIsSpawnedThread: unsafe extern "C" fn() -> c_int,
    pub mutexCreate: unsafe extern "C" fn(*mut OfxMutexHandle, c_int) -> OfxStatus,
    pub mutexDestroy: unsafe extern "C" fn(OfxMutexHandle) -> OfxStatus,
    pub mutexLock: unsafe extern "C" fn(OfxMutexHandle) -> OfxStatus,
    pub mutexUnLock: unsafe extern "C" fn(OfxMutexHandle) -> OfxStatus,
    pub mutexTryLock: unsafe extern "C" fn(OfxMutexHandle) -> OfxStatus,
}

#[repr(C)]
pub struct OfxMessageSuiteV1 {
    pub message: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *const c_char, ...) -> OfxStatus,
}

// Status codes.
pub const kOfxStatOK: OfxStatus = 0;
pub const kOfxStatFailed: OfxStatus = 1;
pub const kOfxStatErrFatal: OfxStatus = 2;
pub const kOfxStatErrUnknown: OfxStatus = 3;
pub const kOfxStatErrMissingHostFeature: OfxStatus = 4;
pub const kOfxStatErrUnsupported: OfxStatus = 5;
pub const kOfxStatErrExists: OfxStatus = 6;
pub const kOfxStatErrFormat: OfxStatus = 7;
pub const kOfxStatErrMemory: OfxStatus = 8;
pub const kOfxStatErrBadHandle: OfxStatus = 9;
pub const kOfxStatErrBadIndex: OfxStatus = 10;
pub const kOfxStatErrValue: OfxStatus = 11;
pub const kOfxStatReplyYes: OfxStatus = 12;
pub const kOfxStatReplyNo: OfxStatus = 13;
pub const kOfxStatReplyDefault: OfxStatus = 14;

/// A NUL-terminated string constant of the API.
macro_rules! ofx_strings {
    ($($name:ident = $value:literal;)*) => {
        $(pub const $name: &std::ffi::CStr = $value;)*
    };
}

ofx_strings! {
    kOfxImageEffectPluginApi = c"OfxImageEffectPluginAPI";
    // Suites.
    kOfxPropertySuite = c"OfxPropertySuite";
    kOfxImageEffectSuite = c"OfxImageEffectSuite";
    kOfxParameterSuite = c"OfxParameterSuite";
    kOfxMemorySuite = c"OfxMemorySuite";
    kOfxMultiThreadSuite = c"OfxMultiThreadSuite";
    kOfxMessageSuite = c"OfxMessageSuite";
    // Actions.
    kOfxActionLoad = c"OfxActionLoad";
    kOfxActionUnload = c"OfxActionUnload";
    kOfxActionDescribe = c"OfxActionDescribe";
    kOfxActionCreateInstance = c"OfxActionCreateInstance";
    kOfxActionDestroyInstance = c"OfxActionDestroyInstance";
    kOfxActionInstanceChanged = c"OfxActionInstanceChanged";
    kOfxImageEffectActionDescribeInContext = c"OfxImageEffectActionDescribeInContext";
    kOfxImageEffectActionGetRegionOfDefinition = c"OfxImageEffectActionGetRegionOfDefinition";
    kOfxImageEffectActionGetRegionsOfInterest = c"OfxImageEffectActionGetRegionsOfInterest";
    kOfxImageEffectActionGetTimeDomain = c"OfxImageEffectActionGetTimeDomain";
    kOfxImageEffectActionGetFramesNeeded = c"OfxImageEffectActionGetFramesNeeded";
    kOfxImageEffectActionGetClipPreferences = c"OfxImageEffectActionGetClipPreferences";
    kOfxImageEffectActionIsIdentity = c"OfxImageEffectActionIsIdentity";
    kOfxImageEffectActionRender = c"OfxImageEffectActionRender";
    kOfxImageEffectActionBeginSequenceRender = c"OfxImageEffectActionBeginSequenceRender";
    kOfxImageEffectActionEndSequenceRender = c"OfxImageEffectActionEndSequenceRender";
    // Contexts.
    kOfxImageEffectContextGenerator = c"OfxImageEffectContextGenerator";
    kOfxImageEffectContextFilter = c"OfxImageEffectContextFilter";
    kOfxImageEffectContextGeneral = c"OfxImageEffectContextGeneral";
    // Properties.
    kOfxPropName = c"OfxPropName";
    kOfxPropLabel = c"OfxPropLabel";
    kOfxPropShortLabel = c"OfxPropShortLabel";
    kOfxPropLongLabel = c"OfxPropLongLabel";
    kOfxPropTime = c"OfxPropTime";
    kOfxPropType = c"OfxPropType";
    kOfxPropPluginDescription = c"OfxPropPluginDescription";
    kOfxPropInstanceData = c"OfxPropInstanceData";
    kOfxImageEffectPluginPropGrouping = c"OfxImageEffectPluginPropGrouping";
    kOfxImageEffectPropSupportedContexts = c"OfxImageEffectPropSupportedContexts";
    kOfxImageEffectPropSupportedPixelDepths = c"OfxImageEffectPropSupportedPixelDepths";
    kOfxImageEffectPropSupportedComponents = c"OfxImageEffectPropSupportedComponents";
    kOfxImageEffectPluginRenderThreadSafety = c"OfxImageEffectPluginRenderThreadSafety";
    kOfxImageEffectRenderFullySafe = c"OfxImageEffectRenderFullySafe";
    kOfxImageEffectRenderInstanceSafe = c"OfxImageEffectRenderInstanceSafe";
    kOfxImageEffectPluginPropHostFrameThreading = c"OfxImageEffectPluginPropHostFrameThreading";
    kOfxImageEffectPropSupportsMultipleClipDepths = c"OfxImageEffectPropMultipleClipDepths";
    kOfxImageEffectPropSupportsTiles = c"OfxImageEffectPropSupportsTiles";
    kOfxImageEffectPropSupportsMultiResolution = c"OfxImageEffectPropSupportsMultiResolution";
    kOfxImageEffectPropTemporalClipAccess = c"OfxImageEffectPropTemporalClipAccess";
    kOfxImageEffectPropContext = c"OfxImageEffectPropContext";
    kOfxImageEffectPropPixelDepth = c"OfxImageEffectPropPixelDepth";
    kOfxImageEffectPropComponents = c"OfxImageEffectPropComponents";
    kOfxImageEffectPropFrameRate = c"OfxImageEffectPropFrameRate";
    kOfxImageEffectPropFrameRange = c"OfxImageEffectPropFrameRange";
    kOfxImageEffectPropRenderWindow = c"OfxImageEffectPropRenderWindow";
    kOfxImageEffectPropRenderScale = c"OfxImageEffectPropRenderScale";
    kOfxImageEffectPropRegionOfDefinition = c"OfxImageEffectPropRegionOfDefinition";
    kOfxImageEffectPropRegionOfInterest = c"OfxImageEffectPropRegionOfInterest";
    kOfxImageEffectPropPreMultiplication = c"OfxImageEffectPropPreMultiplication";
    kOfxImageEffectFrameVarying = c"OfxImageEffectFrameVarying";
    kOfxImageClipPropOptional = c"OfxImageClipPropOptional";
    kOfxImageClipPropConnected = c"OfxImageClipPropConnected";
    kOfxImageClipPropContinuousSamples = c"OfxImageClipPropContinuousSamples";
    kOfxImagePropData = c"OfxImagePropData";
    kOfxImagePropBounds = c"OfxImagePropBounds";
    kOfxImagePropRowBytes = c"OfxImagePropRowBytes";
    kOfxImagePropPixelAspectRatio = c"OfxImagePropPixelAspectRatio";
    kOfxImageEffectPropProjectSize = c"OfxImageEffectPropProjectSize";
    kOfxImageEffectPluginPropFieldRenderTwiceAlways = c"OfxImageEffectPluginPropFieldRenderTwiceAlways";
    kOfxImageClipPropFieldExtraction = c"OfxImageClipPropFieldExtraction";
    kOfxImageClipPropFieldOrder = c"OfxImageClipPropFieldOrder";
    kOfxImageFieldBoth = c"OfxFieldBoth";
    kOfxImageFieldLower = c"OfxFieldLower";
    kOfxImageFieldUpper = c"OfxFieldUpper";
    kOfxImageOpaque = c"OfxImageOpaque";
    kOfxImagePreMultiplied = c"OfxImageAlphaPremultiplied";
    kOfxImageComponentRGBA = c"OfxImageComponentRGBA";
    kOfxBitDepthByte = c"OfxBitDepthByte";
    kOfxBitDepthShort = c"OfxBitDepthShort";
    kOfxBitDepthFloat = c"OfxBitDepthFloat";
    // Parameters.
    kOfxParamTypeInteger = c"OfxParamTypeInteger";
    kOfxParamTypeDouble = c"OfxParamTypeDouble";
    kOfxParamTypeBoolean = c"OfxParamTypeBoolean";
    kOfxParamTypeChoice = c"OfxParamTypeChoice";
    kOfxParamTypeString = c"OfxParamTypeString";
    kOfxParamTypePushButton = c"OfxParamTypePushButton";
    kOfxParamPropDefault = c"OfxParamPropDefault";
    kOfxParamPropHint = c"OfxParamPropHint";
    kOfxParamPropChoiceOption = c"OfxParamPropChoiceOption";
    kOfxParamPropMin = c"OfxParamPropMin";
    kOfxParamPropMax = c"OfxParamPropMax";
    kOfxParamPropDisplayMin = c"OfxParamPropDisplayMin";
    kOfxParamPropDisplayMax = c"OfxParamPropDisplayMax";
    kOfxParamPropAnimates = c"OfxParamPropAnimates";
    kOfxParamPropSecret = c"OfxParamPropSecret";
    kOfxParamPropStringMode = c"OfxParamPropStringMode";
    kOfxParamStringIsFilePath = c"OfxParamStringIsFilePath";
    // Messages.
    kOfxMessageError = c"OfxMessageError";
    kOfxMessageWarning = c"OfxMessageWarning";
    kOfxMessageMessage = c"OfxMessageMessage";
    kOfxMessageLog = c"OfxMessageLog";
}
