//! What every Mattebox effect declares alike: the descriptor's common
//! properties, RGBA clips, and parameters with their ranges.

use std::ffi::CStr;

use crate::host::{Effect, OfxResult, Props};
use crate::sys::*;

/// Sets the properties every effect shares: label, group, description,
/// contexts, float / 16-bit / 8-bit RGBA, whole frames (no tiles), temporal
/// clip access, whole frames of fielded clips (each effect decides what
/// fields mean for it, rather than being handed half-height fields), and
/// `FullySafe` (each effect is rendered by the test host from several
/// threads at once).
pub(crate) fn effect(effect: &Effect, label: &CStr, description: &CStr, contexts: &[&CStr]) -> OfxResult<()> {
    let props = effect.props()?;
    props.set_string(kOfxPropLabel, 0, label)?;
    props.set_string(kOfxImageEffectPluginPropGrouping, 0, c"Mattebox")?;
    props.set_string(kOfxPropPluginDescription, 0, description)?;
    props.set_strings(kOfxImageEffectPropSupportedContexts, contexts)?;
    props.set_strings(
        kOfxImageEffectPropSupportedPixelDepths,
        &[kOfxBitDepthFloat, kOfxBitDepthShort, kOfxBitDepthByte],
    )?;
    props.set_int(kOfxImageEffectPropTemporalClipAccess, 0, 1)?;
    props.set_int(kOfxImageEffectPropSupportsTiles, 0, 0)?;
    props.set_int(kOfxImageEffectPropSupportsMultiResolution, 0, 0)?;
    props.set_int(kOfxImageEffectPropSupportsMultipleClipDepths, 0, 0)?;
    props.set_int(kOfxImageEffectPluginPropHostFrameThreading, 0, 0)?;
    props.set_int(kOfxImageEffectPluginPropFieldRenderTwiceAlways, 0, 0)?;
    props.set_string(kOfxImageEffectPluginRenderThreadSafety, 0, kOfxImageEffectRenderFullySafe)
}

/// An RGBA input clip read whole, at any time.
pub(crate) fn input(effect: &Effect, name: &CStr, optional: bool) -> OfxResult<()> {
    let clip = effect.define_clip(name)?;
    clip.set_string(kOfxImageEffectPropSupportedComponents, 0, kOfxImageComponentRGBA)?;
    clip.set_int(kOfxImageEffectPropTemporalClipAccess, 0, 1)?;
    clip.set_int(kOfxImageEffectPropSupportsTiles, 0, 0)?;
    clip.set_string(kOfxImageClipPropFieldExtraction, 0, kOfxImageFieldBoth)?;
    clip.set_int(kOfxImageClipPropOptional, 0, optional as i32)
}

/// The RGBA Output clip.
pub(crate) fn output(effect: &Effect) -> OfxResult<()> {
    let clip = effect.define_clip(c"Output")?;
    clip.set_string(kOfxImageEffectPropSupportedComponents, 0, kOfxImageComponentRGBA)?;
    clip.set_int(kOfxImageEffectPropSupportsTiles, 0, 0)
}

/// A non-animated double parameter in `min..=max`.
pub(crate) fn double(
    effect: &Effect,
    (name, label, hint): (&CStr, &CStr, &CStr),
    default: f64,
    min: f64,
    max: f64,
) -> OfxResult<()> {
    let p = effect.define_param(kOfxParamTypeDouble, name, label, hint)?;
    p.set_double(kOfxParamPropDefault, 0, default)?;
    p.set_double(kOfxParamPropMin, 0, min)?;
    p.set_double(kOfxParamPropMax, 0, max)?;
    p.set_double(kOfxParamPropDisplayMin, 0, min)?;
    p.set_double(kOfxParamPropDisplayMax, 0, max)?;
    p.set_int(kOfxParamPropAnimates, 0, 0)
}

/// A non-animated integer parameter in `min..=max`.
pub(crate) fn int(
    effect: &Effect,
    (name, label, hint): (&CStr, &CStr, &CStr),
    default: i32,
    min: i32,
    max: i32,
) -> OfxResult<()> {
    let p = effect.define_param(kOfxParamTypeInteger, name, label, hint)?;
    p.set_int(kOfxParamPropDefault, 0, default)?;
    p.set_int(kOfxParamPropMin, 0, min)?;
    p.set_int(kOfxParamPropMax, 0, max)?;
    p.set_int(kOfxParamPropAnimates, 0, 0)
}

/// A non-animated choice among `options`, `default` selected.
pub(crate) fn choice(
    effect: &Effect,
    (name, label, hint): (&CStr, &CStr, &CStr),
    options: &[&CStr],
    default: i32,
) -> OfxResult<()> {
    let p = effect.define_param(kOfxParamTypeChoice, name, label, hint)?;
    p.set_strings(kOfxParamPropChoiceOption, options)?;
    p.set_int(kOfxParamPropDefault, 0, default)?;
    p.set_int(kOfxParamPropAnimates, 0, 0)
}

/// A non-animated string parameter, empty by default; its properties.
pub(crate) fn string(effect: &Effect, (name, label, hint): (&CStr, &CStr, &CStr)) -> OfxResult<Props> {
    let p = effect.define_param(kOfxParamTypeString, name, label, hint)?;
    p.set_string(kOfxParamPropDefault, 0, c"")?;
    p.set_int(kOfxParamPropAnimates, 0, 0)?;
    Ok(p)
}

/// A string parameter holding a file's path (the host offers a file browser).
pub(crate) fn file_path(effect: &Effect, param: (&CStr, &CStr, &CStr)) -> OfxResult<()> {
    string(effect, param)?.set_string(kOfxParamPropStringMode, 0, kOfxParamStringIsFilePath)
}

/// A string the effect keeps in the project file, never shown: what it
/// learnt that a later session needs.
pub(crate) fn kept_string(effect: &Effect, param: (&CStr, &CStr, &CStr)) -> OfxResult<()> {
    string(effect, param)?.set_int(kOfxParamPropSecret, 0, 1)
}
