//! Keying and compositing host frames: a matte from a green or blue screen
//! (or, with no screen, the person a segmentation model finds), and a plate
//! composited over a background, per shot.

use std::sync::Arc;

use mattebox_core::composite::{
    Cleanup, CompositeOptions, Defocus, Fit, KeyOptions, MatteChannel, MatteFrom, PersonKey, PersonModel, Screen,
    ScreenChoice, ShotCompositor, ShotOutput, key,
};
use mattebox_core::pixels::color::linear_to_srgb;

use crate::boundary::{BoxedHandle, FfiError, FfiResult, arg_mut, arg_ref, free_handle, guard, mb_result};
use crate::image::{image_view, image_view_mut, mb_image, overlaps};
use crate::runtime::mb_runtime;

/// A screen choice: one of the `MB_SCREEN_*` constants.
#[allow(non_camel_case_types)]
pub type mb_screen = u32;
/// Green or blue, whichever the plate shows more of.
pub const MB_SCREEN_AUTO: mb_screen = 1;
/// A green screen.
pub const MB_SCREEN_GREEN: mb_screen = 2;
/// A blue screen.
pub const MB_SCREEN_BLUE: mb_screen = 3;
/// The sRGB colour in `mb_key_options.screen_colour`, sampled by hand.
pub const MB_SCREEN_COLOUR: mb_screen = 4;
/// No screen: the person, found by the person segmentation model
/// (`selfie.onnx` in `$MATTEBOX_MODELS`, else in
/// `$XDG_DATA_HOME/mattebox/models`; ONNX Runtime from
/// `$MATTEBOX_ONNXRUNTIME`, else the loader path). The clip points must be
/// `MB_CLIP_AUTO`; grow, blur and fill_holes clean the matte. Needs the
/// `onnx` feature (on by default). ABI 1.12.
pub const MB_SCREEN_PERSON: mb_screen = 5;

/// A background fitting policy: one of the `MB_FIT_*` constants.
#[allow(non_camel_case_types)]
pub type mb_fit = u32;
/// Scale to cover the plate and crop the overflow, centred.
pub const MB_FIT_COVER: mb_fit = 1;
/// Scale to fit inside the plate, centred, transparent borders.
pub const MB_FIT_CONTAIN: mb_fit = 2;
/// Scale each axis to the plate's size.
pub const MB_FIT_STRETCH: mb_fit = 3;

/// Which channel of a host matte image holds the matte: one of the
/// `MB_MATTE_*` constants.
#[allow(non_camel_case_types)]
pub type mb_matte_channel = u32;
/// The alpha channel (what OpenFX hosts pass).
pub const MB_MATTE_ALPHA: mb_matte_channel = 1;
/// The luma of the colour channels (a grey matte image).
pub const MB_MATTE_LUMA: mb_matte_channel = 2;

/// `mb_key_options` clip black or clip white: set from the noise of the
/// screen, as measured on the plate.
pub const MB_CLIP_AUTO: f32 = -1.0;

/// How to key. Fill with `mb_key_options_init`, then change fields.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct mb_key_options {
    /// `sizeof(mb_key_options)`.
    pub struct_size: u32,
    /// One of the `MB_SCREEN_*` constants.
    pub screen: mb_screen,
    /// The screen's sRGB colour, 0..1 per channel, for `MB_SCREEN_COLOUR`.
    pub screen_colour: [f32; 3],
    /// Raw key values at or below this become 0 (0..1, below `clip_white`),
    /// or `MB_CLIP_AUTO` (the default, ABI 1.7): set from the noise of the
    /// screen, as measured on the plate.
    pub clip_black: f32,
    /// Raw key values at or above this become 1 (0..1), or `MB_CLIP_AUTO`.
    pub clip_white: f32,
    /// Grow the foreground by this many pixels (negative shrinks), -64..64.
    pub grow: i32,
    /// Blur the matte edge by this radius in pixels, 0..64.
    pub blur: f32,
    /// Non-zero: fill background holes inside the foreground.
    pub fill_holes: u32,
}

/// How to composite. Fill with `mb_composite_options_init`, then change fields.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct mb_composite_options {
    /// `sizeof(mb_composite_options)`.
    pub struct_size: u32,
    /// Spill suppression strength, 0..1.
    pub spill: f32,
    /// How far to move the background's colour towards the plate's, 0..1.
    pub match_colour: f32,
    /// Light wrap strength, 0..1.
    pub light_wrap: f32,
    /// Light wrap reach in pixels, 0..256.
    pub light_wrap_radius: f32,
    /// Background softness: 0 leaves it sharp, a negative value matches the
    /// plate's sharpness automatically, a positive value is a blur radius.
    pub defocus: f32,
    /// Grain match strength, 0..1.
    pub grain: f32,
    /// One of the `MB_FIT_*` constants, for backgrounds of another size.
    pub fit: mb_fit,
    /// Non-zero: move the background with the plate's camera (pan, tilt,
    /// zoom, roll), tracked frame to frame from the first frame rendered.
    pub track_camera: u32,
    /// Where a host-supplied matte is read from: `MB_MATTE_ALPHA` or `MB_MATTE_LUMA`.
    pub matte_channel: mb_matte_channel,
}

/// The screen a plate was keyed against.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default)]
pub struct mb_screen_info {
    /// Its colour in sRGB, 0..1 per channel.
    pub colour: [f32; 3],
    /// The dominant channel: 1 for green, 2 for blue.
    pub channel: u32,
    /// Fraction of the sampled plate pixels that look like the screen.
    pub coverage: f32,
}

const KEY_OPTIONS_SIZE: u32 = std::mem::size_of::<mb_key_options>() as u32;
const COMPOSITE_OPTIONS_SIZE: u32 = std::mem::size_of::<mb_composite_options>() as u32;

/// What key options ask for: a screen key, or a person matte cleaned up so.
enum Keying {
    Screen(KeyOptions),
    Person(Cleanup),
}

impl Keying {
    /// The matte source for a shot.
    fn matte_from(self) -> FfiResult<MatteFrom> {
        Ok(match self {
            Keying::Screen(options) => MatteFrom::Key(options),
            Keying::Person(cleanup) => {
                MatteFrom::Person(PersonKey { model: person_model("MB_SCREEN_PERSON")?, cleanup })
            }
        })
    }
}

/// The person model found as `MB_SCREEN_PERSON` documents; `asked` names
/// what needed it, for the error without the `onnx` feature.
#[cfg(feature = "onnx")]
fn person_model(_asked: &str) -> FfiResult<Arc<dyn PersonModel>> {
    use mattebox_core::consistency::models::PersonSegmenter;
    let model: Arc<dyn PersonModel> = PersonSegmenter::found(None, None)?;
    Ok(model)
}

#[cfg(not(feature = "onnx"))]
fn person_model(asked: &str) -> FfiResult<Arc<dyn PersonModel>> {
    Err(FfiError {
        code: mb_result::Unsupported,
        message: format!("{asked} needs ONNX Runtime: this library was built without the `onnx` feature"),
    })
}

fn key_options(raw: &mb_key_options) -> FfiResult<Keying> {
    if raw.struct_size < KEY_OPTIONS_SIZE {
        return Err(FfiError::invalid(format!(
            "key options struct_size is {} but must be at least {KEY_OPTIONS_SIZE} (sizeof(mb_key_options)); \
             fill it with mb_key_options_init",
            raw.struct_size
        )));
    }
    // None: no screen, a person matte.
    let screen = match raw.screen {
        MB_SCREEN_AUTO => Some(ScreenChoice::Auto),
        MB_SCREEN_GREEN => Some(ScreenChoice::Green),
        MB_SCREEN_BLUE => Some(ScreenChoice::Blue),
        MB_SCREEN_COLOUR => {
            if !raw.screen_colour.iter().all(|c| (0.0..=1.0).contains(c)) {
                return Err(FfiError::invalid(format!(
                    "key options screen_colour {:?} must be sRGB values between 0 and 1",
                    raw.screen_colour
                )));
            }
            Some(ScreenChoice::Colour(raw.screen_colour))
        }
        MB_SCREEN_PERSON => None,
        other => {
            return Err(FfiError {
                code: mb_result::Unsupported,
                message: format!("key options screen {other} is not one of MB_SCREEN_AUTO (1) to MB_SCREEN_PERSON (5)"),
            });
        }
    };
    // Negative: automatic. NaN is neither automatic nor a value.
    let clip = |v: f32| if v < 0.0 { None } else { Some(v) };
    let (black, white) = (clip(raw.clip_black), clip(raw.clip_white));
    let given_ok = black.is_none_or(|b| (0.0..1.0).contains(&b))
        && white.is_none_or(|w| (0.0..=1.0).contains(&w))
        && black.zip(white).is_none_or(|(b, w)| b < w);
    if !given_ok {
        return Err(FfiError::invalid(format!(
            "key options clip_black {} and clip_white {} must satisfy 0 <= clip_black < clip_white <= 1 \
             (or be MB_CLIP_AUTO, -1, to follow the screen's noise)",
            raw.clip_black, raw.clip_white
        )));
    }
    if !(-64..=64).contains(&raw.grow) || !(0.0..=64.0).contains(&raw.blur) {
        return Err(FfiError::invalid(format!(
            "key options grow {} must be -64..64 and blur {} must be 0..64 pixels",
            raw.grow, raw.blur
        )));
    }
    let cleanup = Cleanup { grow: raw.grow, blur: raw.blur, fill_holes: raw.fill_holes != 0 };
    match screen {
        Some(screen) => Ok(Keying::Screen(KeyOptions { screen, clip_black: black, clip_white: white, cleanup })),
        None if black.is_some() || white.is_some() => Err(FfiError::invalid(
            "key options clip_black and clip_white must be MB_CLIP_AUTO with MB_SCREEN_PERSON: there is no \
             screen to key",
        )),
        None => Ok(Keying::Person(cleanup)),
    }
}

fn composite_options(raw: &mb_composite_options) -> FfiResult<(CompositeOptions, bool, mb_matte_channel)> {
    if raw.struct_size < COMPOSITE_OPTIONS_SIZE {
        return Err(FfiError::invalid(format!(
            "composite options struct_size is {} but must be at least {COMPOSITE_OPTIONS_SIZE} \
             (sizeof(mb_composite_options)); fill it with mb_composite_options_init",
            raw.struct_size
        )));
    }
    let fit = match raw.fit {
        MB_FIT_COVER => Fit::Cover,
        MB_FIT_CONTAIN => Fit::Contain,
        MB_FIT_STRETCH => Fit::Stretch,
        other => {
            return Err(FfiError {
                code: mb_result::Unsupported,
                message: format!("composite options fit {other} is not one of MB_FIT_COVER (1) to MB_FIT_STRETCH (3)"),
            });
        }
    };
    if raw.matte_channel != MB_MATTE_ALPHA && raw.matte_channel != MB_MATTE_LUMA {
        return Err(FfiError {
            code: mb_result::Unsupported,
            message: format!(
                "composite options matte_channel {} is not MB_MATTE_ALPHA (1) or MB_MATTE_LUMA (2)",
                raw.matte_channel
            ),
        });
    }
    let defocus = match raw.defocus {
        d if d.is_nan() => return Err(FfiError::invalid("composite options defocus is NaN")),
        d if d < 0.0 => Defocus::Auto,
        0.0 => Defocus::Off,
        d => Defocus::Radius(d),
    };
    let options = CompositeOptions {
        spill: raw.spill,
        match_colour: raw.match_colour,
        light_wrap: raw.light_wrap,
        light_wrap_radius: raw.light_wrap_radius,
        defocus,
        grain: raw.grain,
        fit,
    };
    // The core checks the ranges and names the field; a throwaway compositor
    // is the one place that check lives.
    mattebox_core::composite::Compositor::new(options).map_err(|e| FfiError::from(e.context("composite options")))?;
    Ok((options, raw.track_camera != 0, raw.matte_channel))
}

fn screen_info(screen: &Screen) -> mb_screen_info {
    mb_screen_info {
        colour: screen.linear.map(linear_to_srgb),
        channel: screen.channel as u32,
        coverage: screen.coverage,
    }
}

/// Fills `options` with the defaults (automatic screen, clip 0.06 / 0.9, no
/// clean-up) and sets `struct_size`.
///
/// # Safety
/// `options` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_key_options_init(options: *mut mb_key_options) -> mb_result {
    guard("mb_key_options_init", || {
        // SAFETY: checked for null; writability is the host's contract.
        let options = unsafe { arg_mut(options, "options")? };
        let d = KeyOptions::default();
        *options = mb_key_options {
            struct_size: KEY_OPTIONS_SIZE,
            screen: MB_SCREEN_AUTO,
            screen_colour: [0.0, 1.0, 0.0],
            clip_black: d.clip_black.unwrap_or(MB_CLIP_AUTO),
            clip_white: d.clip_white.unwrap_or(MB_CLIP_AUTO),
            grow: d.cleanup.grow,
            blur: d.cleanup.blur,
            fill_holes: d.cleanup.fill_holes as u32,
        };
        Ok(())
    })
}

/// Fills `options` with the defaults (spill 0.8, no colour match, light
/// wrap or defocus, cover fit, no camera tracking, matte in alpha) and sets
/// `struct_size`.
///
/// # Safety
/// `options` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_composite_options_init(options: *mut mb_composite_options) -> mb_result {
    guard("mb_composite_options_init", || {
        // SAFETY: checked for null; writability is the host's contract.
        let options = unsafe { arg_mut(options, "options")? };
        let d = CompositeOptions::default();
        *options = mb_composite_options {
            struct_size: COMPOSITE_OPTIONS_SIZE,
            spill: d.spill,
            match_colour: d.match_colour,
            light_wrap: d.light_wrap,
            light_wrap_radius: d.light_wrap_radius,
            defocus: 0.0,
            grain: d.grain,
            fit: MB_FIT_COVER,
            track_camera: 0,
            matte_channel: MB_MATTE_ALPHA,
        };
        Ok(())
    })
}

/// Keys one frame: samples the screen in `plate`, keys it, and writes the
/// matte into `matte_out` (grey in the colour channels and in alpha; any
/// format, the plate's size). `screen_out`, when not NULL, receives the
/// screen found. For a shot, use an `mb_compositor` so the screen is sampled
/// once and not per frame. With `MB_SCREEN_PERSON` the matte is the
/// person's, and there is no screen: `screen_out` must be NULL.
///
/// # Safety
/// `runtime` must come from `mb_runtime_new`; the images must describe
/// buffers valid during the call, and `matte_out` must not overlap `plate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_key(
    runtime: *const mb_runtime,
    plate: *const mb_image,
    options: *const mb_key_options,
    matte_out: *const mb_image,
    screen_out: *mut mb_screen_info,
) -> mb_result {
    guard("mb_key", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (runtime, plate, options, matte_out) = unsafe {
            (
                arg_ref(runtime, "runtime")?,
                arg_ref(plate, "plate")?,
                arg_ref(options, "options")?,
                arg_ref(matte_out, "matte_out")?,
            )
        };
        let keying = key_options(options)?;
        // SAFETY: the host promises the buffer for the call.
        let view = unsafe { image_view(plate, "plate")? };
        if overlaps(matte_out, plate) {
            return Err(FfiError::invalid("`matte_out` overlaps `plate`; write into a separate buffer"));
        }
        // SAFETY: as above; `matte_out` does not overlap `plate`.
        let mut out = unsafe { image_view_mut(matte_out, "matte_out")? };
        check_plate_size((out.width(), out.height()), (view.width(), view.height()), "matte_out")?;
        let options = match keying {
            Keying::Screen(options) => options,
            person => {
                if !screen_out.is_null() {
                    return Err(FfiError::invalid(
                        "MB_SCREEN_PERSON finds a person, not a screen; pass NULL `screen_out`",
                    ));
                }
                let mut shot = ShotCompositor::new(person.matte_from()?, CompositeOptions::default(), false)?;
                // The plate stands in for the background a matte output never reads.
                runtime.inner.install(|| shot.render(0, &view, None, &view, ShotOutput::Matte, &mut out))?;
                return Ok(());
            }
        };
        let screen = runtime.inner.install(|| -> mattebox_core::Result<Screen> {
            let (matte, screen) = key(&view, &options)?;
            matte.write_grey(&mut out)?;
            Ok(screen)
        })?;
        if !screen_out.is_null() {
            // SAFETY: non-null; writability is the host's contract.
            unsafe { *screen_out = screen_info(&screen) };
        }
        Ok(())
    })
}

/// Fails unless `size` (the `name` argument's width and height) is the plate's.
fn check_plate_size(size: (u32, u32), plate: (u32, u32), name: &str) -> FfiResult<()> {
    if size != plate {
        return Err(FfiError::invalid(format!(
            "`{name}` is {}x{} but the plate is {}x{}",
            size.0, size.1, plate.0, plate.1
        )));
    }
    Ok(())
}

/// The state of one shot's composite: the screen sampled on its first frame,
/// the colour transfer, defocus and grain measured once, the camera path so
/// far. Render the shot's frames in order through one compositor; use one
/// per shot and per thread (it is not shared between threads).
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_compositor {
    shot: ShotCompositor,
    /// The index of the next frame rendered.
    next: u64,
}

impl BoxedHandle for mb_compositor {}

/// Makes a compositor. With `key` (not NULL) it keys each plate frame
/// itself; with `key` NULL the host passes a matte to every
/// `mb_compositor_render`. Release with `mb_compositor_free`; on failure
/// `*out` is NULL.
///
/// # Safety
/// `key` may be NULL; `options` must point to initialised options, `out`
/// must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_compositor_new(
    key: *const mb_key_options,
    options: *const mb_composite_options,
    out: *mut *mut mb_compositor,
) -> mb_result {
    guard("mb_compositor_new", || {
        // SAFETY: checked for null; validity is the host's contract.
        let out = unsafe { arg_mut(out, "out")? };
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let options = unsafe { arg_ref(options, "options")? };
        let (options, track_camera, matte_channel) = composite_options(options)?;
        let key = if key.is_null() {
            None
        } else {
            // SAFETY: non-null; validity is the host's contract.
            Some(key_options(unsafe { &*key })?)
        };
        let matte = match key {
            Some(keying) => keying.matte_from()?,
            None if matte_channel == MB_MATTE_LUMA => MatteFrom::Host(MatteChannel::Luma),
            None => MatteFrom::Host(MatteChannel::Alpha),
        };
        let shot = ShotCompositor::new(matte, options, track_camera)?;
        *out = mb_compositor { shot, next: 0 }.into_raw();
        Ok(())
    })
}

/// Composites the next frame of the shot: `plate` (keyed by the compositor,
/// or with the host's `matte`) over `background` into `out`. The background
/// may have another size (fitted by the options' policy); `out` has the
/// plate's size and any format. Output alpha is the foreground's plus the
/// background's coverage of the rest. A compositor made with key options
/// ignores `matte` (pass NULL); one made without needs it.
///
/// # Safety
/// `runtime` and `compositor` must come from their `_new` calls; the images
/// must describe buffers valid during the call; `out` must not overlap the
/// inputs; no other thread may use `compositor` during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_compositor_render(
    runtime: *const mb_runtime,
    compositor: *mut mb_compositor,
    plate: *const mb_image,
    matte: *const mb_image,
    background: *const mb_image,
    out: *const mb_image,
) -> mb_result {
    guard("mb_compositor_render", || {
        // SAFETY: checked for null; validity and exclusive use are the host's contract.
        let (runtime, state, plate, background, out) = unsafe {
            (
                arg_ref(runtime, "runtime")?,
                arg_mut(compositor, "compositor")?,
                arg_ref(plate, "plate")?,
                arg_ref(background, "background")?,
                arg_ref(out, "out")?,
            )
        };
        // SAFETY: the host promises the buffers for the call.
        let (plate_view, bg_view) = unsafe { (image_view(plate, "plate")?, image_view(background, "background")?) };
        let host_matte = if !matches!(state.shot.matte_from(), MatteFrom::Host(_)) {
            None
        } else if matte.is_null() {
            return Err(FfiError::null("matte (the compositor was made without key options, so it needs a matte)"));
        } else {
            // SAFETY: non-null; validity is the host's contract.
            let matte = unsafe { &*matte };
            if overlaps(out, matte) {
                return Err(FfiError::invalid("`out` overlaps `matte`; write into a separate buffer"));
            }
            // SAFETY: the host promises the buffer for the call.
            Some(unsafe { image_view(matte, "matte")? })
        };
        for (input, name) in [(plate, "plate"), (background, "background")] {
            if overlaps(out, input) {
                return Err(FfiError::invalid(format!("`out` overlaps `{name}`; write into a separate buffer")));
            }
        }
        // SAFETY: as above; `out` overlaps no input.
        let mut out_view = unsafe { image_view_mut(out, "out")? };
        let plate_size = (plate_view.width(), plate_view.height());
        check_plate_size((out_view.width(), out_view.height()), plate_size, "out")?;
        if let Some(m) = &host_matte {
            check_plate_size((m.width(), m.height()), plate_size, "matte")?;
        }
        let index = state.next;
        runtime.inner.install(|| {
            state.shot.render(index, &plate_view, host_matte.as_ref(), &bg_view, ShotOutput::Composite, &mut out_view)
        })?;
        state.next += 1;
        Ok(())
    })
}

/// Keeps solid what the person segmentation model is sure is a person
/// (the inside of its matte) in a compositor that keys a screen, whatever
/// the key says: clothes the colour of the screen (a navy shirt on blue)
/// no longer turn transparent. Edges stay the key's. The model is found as
/// for `MB_SCREEN_PERSON`; a missing one fails with where to put it. For
/// the shots that need it: on others the model can take screen between
/// limbs for person. Call it after `mb_compositor_new`, before the first
/// `mb_compositor_render`. ABI 1.13.
///
/// # Safety
/// `compositor` must come from `mb_compositor_new`; no other thread may use
/// it during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_compositor_keep_person(compositor: *mut mb_compositor) -> mb_result {
    guard("mb_compositor_keep_person", || {
        // SAFETY: checked for null; validity and exclusive use are the host's contract.
        let state = unsafe { arg_mut(compositor, "compositor")? };
        match state.shot.matte_from() {
            MatteFrom::Key(_) => {}
            MatteFrom::Person(_) => {
                return Err(FfiError::invalid(
                    "the compositor finds a person (MB_SCREEN_PERSON) already; keeping the person is for a \
                     screen key",
                ));
            }
            MatteFrom::Host(_) => {
                return Err(FfiError::invalid(
                    "the compositor was made without key options and uses the host's matte; keeping the person is \
                     for a screen key",
                ));
            }
        }
        if state.next > 0 {
            return Err(FfiError::invalid(format!(
                "the compositor has rendered {} frames already; call mb_compositor_keep_person before the first \
                 mb_compositor_render, so that every frame of the shot keeps the person",
                state.next
            )));
        }
        state.shot.keep_person(person_model("mb_compositor_keep_person")?);
        Ok(())
    })
}

/// The screen the compositor keyed against, once it has rendered a frame.
/// Fails when it has not keyed yet or was made without key options.
///
/// # Safety
/// `compositor` must come from `mb_compositor_new`; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_compositor_screen(compositor: *const mb_compositor, out: *mut mb_screen_info) -> mb_result {
    guard("mb_compositor_screen", || {
        // SAFETY: checked for null; validity is the host's contract.
        let (state, out) = unsafe { (arg_ref(compositor, "compositor")?, arg_mut(out, "out")?) };
        match state.shot.screen() {
            Some(screen) => {
                *out = screen_info(screen);
                Ok(())
            }
            None => Err(FfiError::invalid(match state.shot.matte_from() {
                MatteFrom::Key(_) => "the compositor has not keyed a frame yet; call mb_compositor_render first",
                MatteFrom::Person(_) => "the compositor finds a person (MB_SCREEN_PERSON); there is no screen",
                MatteFrom::Host(_) => "the compositor was made without key options; it uses the host's matte",
            })),
        }
    })
}

/// Releases a compositor. NULL is ignored.
///
/// # Safety
/// `compositor` must come from `mb_compositor_new` and not be used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_compositor_free(compositor: *mut mb_compositor) {
    // SAFETY: `compositor` is NULL or a handle given back once, per the contract above.
    unsafe { free_handle("mb_compositor_free", compositor) }
}
