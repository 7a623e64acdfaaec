//! One effect as the host sees it: the action dispatcher, the panic
//! boundary, per-instance data, and the answers an effect may give.

use std::ffi::{CStr, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::host::{self, Effect, OfxError, OfxResult, Props};
use crate::sys::*;

/// An effect of the bundle. Every action method may decline (`Ok(false)`),
/// which the host hears as "do the default".
pub(crate) trait Plugin: 'static {
    /// Per-instance state; renders may run on several threads at once.
    type Instance: Send + Sync;

    /// Fills the descriptor's properties (label, contexts, depths...).
    fn describe(effect: &Effect) -> OfxResult<()>;
    /// Defines clips and parameters for `context`.
    fn describe_in_context(effect: &Effect, context: &str) -> OfxResult<()>;
    /// Makes an instance.
    fn create(effect: &Effect) -> OfxResult<Self::Instance>;

    fn clip_preferences(_: &Self::Instance, _: &Effect, _out: &Props) -> OfxResult<bool> {
        Ok(false)
    }
    fn time_domain(_: &Self::Instance, _: &Effect, _out: &Props) -> OfxResult<bool> {
        Ok(false)
    }
    fn frames_needed(_: &Self::Instance, _: &Effect, _in: &Props, _out: &Props) -> OfxResult<bool> {
        Ok(false)
    }
    fn is_identity(_: &Self::Instance, _: &Effect, _in: &Props, _out: &Props) -> OfxResult<bool> {
        Ok(false)
    }
    fn region_of_definition(_: &Self::Instance, _: &Effect, _in: &Props, _out: &Props) -> OfxResult<bool> {
        Ok(false)
    }
    /// A parameter changed (or a button was pressed); `name` is the
    /// parameter's.
    fn instance_changed(_: &Self::Instance, _: &Effect, _name: &str, _args: &Props) -> OfxResult<bool> {
        Ok(false)
    }
    fn render(instance: &Self::Instance, effect: &Effect, args: &Props) -> OfxResult<()>;
}

fn instance<P: Plugin>(effect: &Effect) -> OfxResult<&P::Instance> {
    let data = effect.props()?.pointer(kOfxPropInstanceData)? as *const P::Instance;
    // SAFETY: set in create_instance from Box::into_raw and cleared in
    // destroy_instance; the host calls neither concurrently with others on
    // the same instance.
    unsafe { data.as_ref() }.ok_or_else(|| OfxError {
        status: kOfxStatErrBadHandle,
        message: "an action on an instance that was never created".into(),
    })
}

fn props(handle: OfxPropertySetHandle, what: &str) -> OfxResult<Props> {
    Props::new(handle).map_err(|e| OfxError { status: kOfxStatErrBadHandle, message: format!("{what}: {}", e.message) })
}

fn answered(done: bool) -> OfxStatus {
    if done { kOfxStatOK } else { kOfxStatReplyDefault }
}

fn dispatch<P: Plugin>(
    action: &CStr,
    handle: *const c_void,
    in_args: OfxPropertySetHandle,
    out_args: OfxPropertySetHandle,
) -> OfxResult<OfxStatus> {
    let is = |name: &CStr| action == name;
    let known = [
        kOfxActionLoad,
        kOfxActionUnload,
        kOfxActionDescribe,
        kOfxImageEffectActionDescribeInContext,
        kOfxActionCreateInstance,
        kOfxActionDestroyInstance,
        kOfxImageEffectActionRender,
        kOfxImageEffectActionGetClipPreferences,
        kOfxImageEffectActionGetTimeDomain,
        kOfxImageEffectActionGetFramesNeeded,
        kOfxImageEffectActionIsIdentity,
        kOfxImageEffectActionGetRegionOfDefinition,
        kOfxActionInstanceChanged,
    ];
    if !known.contains(&action) {
        return Ok(kOfxStatReplyDefault);
    }
    if is(kOfxActionLoad) {
        host::load(std::any::TypeId::of::<P>())?;
        return Ok(kOfxStatOK);
    }
    if is(kOfxActionUnload) {
        host::unload(std::any::TypeId::of::<P>());
        return Ok(kOfxStatOK);
    }
    let effect = Effect::new(handle)?;
    if is(kOfxActionDescribe) {
        P::describe(&effect)?;
        return Ok(kOfxStatOK);
    }
    if is(kOfxImageEffectActionDescribeInContext) {
        let context = props(in_args, "describe in context")?.string(kOfxImageEffectPropContext, 0)?;
        P::describe_in_context(&effect, &context)?;
        return Ok(kOfxStatOK);
    }
    if is(kOfxActionCreateInstance) {
        // Proves the panic boundary in a real host process (the test host
        // sets this): a panic must come back as a failed action and a message.
        if std::env::var_os("MATTEBOX_OFX_TEST_PANIC").is_some() {
            panic!("a test panic, as MATTEBOX_OFX_TEST_PANIC asks");
        }
        let instance = Box::new(P::create(&effect)?);
        effect.props()?.set_pointer(kOfxPropInstanceData, Box::into_raw(instance) as *mut c_void)?;
        return Ok(kOfxStatOK);
    }
    if is(kOfxActionDestroyInstance) {
        let props = effect.props()?;
        let data = props.pointer(kOfxPropInstanceData)? as *mut P::Instance;
        props.set_pointer(kOfxPropInstanceData, std::ptr::null_mut())?;
        if !data.is_null() {
            // SAFETY: made by Box::into_raw in create, freed once.
            drop(unsafe { Box::from_raw(data) });
        }
        return Ok(kOfxStatOK);
    }
    let instance = instance::<P>(&effect)?;
    if is(kOfxImageEffectActionRender) {
        P::render(instance, &effect, &props(in_args, "render")?)?;
        return Ok(kOfxStatOK);
    }
    if is(kOfxActionInstanceChanged) {
        let args = props(in_args, "instance changed")?;
        if args.string(kOfxPropType, 0)?.as_bytes() != b"OfxTypeParameter" {
            return Ok(kOfxStatReplyDefault);
        }
        let name = args.string(kOfxPropName, 0)?;
        return Ok(answered(P::instance_changed(instance, &effect, &name, &args)?));
    }
    if is(kOfxImageEffectActionGetClipPreferences) {
        return Ok(answered(P::clip_preferences(instance, &effect, &props(out_args, "clip preferences")?)?));
    }
    if is(kOfxImageEffectActionGetTimeDomain) {
        return Ok(answered(P::time_domain(instance, &effect, &props(out_args, "time domain")?)?));
    }
    if is(kOfxImageEffectActionGetFramesNeeded) {
        let (i, o) = (props(in_args, "frames needed")?, props(out_args, "frames needed")?);
        return Ok(answered(P::frames_needed(instance, &effect, &i, &o)?));
    }
    if is(kOfxImageEffectActionIsIdentity) {
        let (i, o) = (props(in_args, "is identity")?, props(out_args, "is identity")?);
        return Ok(answered(P::is_identity(instance, &effect, &i, &o)?));
    }
    if is(kOfxImageEffectActionGetRegionOfDefinition) {
        let (i, o) = (props(in_args, "region of definition")?, props(out_args, "region of definition")?);
        return Ok(answered(P::region_of_definition(instance, &effect, &i, &o)?));
    }
    Ok(kOfxStatReplyDefault)
}

/// The main entry of plugin `P`: dispatches, catches every panic, and tells
/// the user what failed through the message suite.
pub(crate) unsafe fn main_entry<P: Plugin>(
    action: *const c_char,
    handle: *const c_void,
    in_args: OfxPropertySetHandle,
    out_args: OfxPropertySetHandle,
) -> OfxStatus {
    if action.is_null() {
        return kOfxStatErrBadHandle;
    }
    // SAFETY: the host passes a NUL-terminated action name.
    let action = unsafe { CStr::from_ptr(action) };
    let outcome = catch_unwind(AssertUnwindSafe(|| dispatch::<P>(action, handle, in_args, out_args)));
    let error = match outcome {
        Ok(Ok(status)) => return status,
        Ok(Err(e)) => e,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            OfxError::failed(format!("internal error in {}: {what}", action.to_string_lossy()))
        }
    };
    if let Ok(effect) = Effect::new(handle) {
        effect.message(kOfxMessageError, &format!("Mattebox: {}", error.message));
    }
    error.status
}
