//! Mattebox Composite (general context): a live-action Plate keyed (or cut
//! out by a host Matte, or a person found with no screen) over an AI
//! Background, with spill suppression,
//! colour match, light wrap, defocus and grain match, as `mattebox
//! composite` does.
//!
//! The screen colour and the shot's measurements (colour transfer, defocus,
//! grain) come from the clips' first frames, whatever frame is rendered and
//! in whatever order, so the result does not flicker and equals the
//! command line's: the first frames are declared in `getFramesNeeded`.
//!
//! Real hosts also render proxies (the light wrap's reach, in full-size
//! pixels, shrinks with the render scale and the shot is primed again at
//! each size), hand interlaced plates (each field is composited on its
//! own, so no blur mixes two moments), and render past a clip's end (every
//! clip holds its last frame).

use std::ffi::CStr;

use mattebox_core::composite::{
    CompositeOptions, Defocus, Fit, KeyOptions, MatteChannel, MatteFrom, PersonKey, ScreenChoice, ShotCompositor,
    ShotOutput,
};
use mattebox_core::consistency::models::PersonSegmenter;
use mattebox_core::{Frame, PixelFormat};
use parking_lot::Mutex;

use crate::describe;
use crate::fields;
use crate::host::{Effect, FieldOrder, OfxError, OfxResult, Props, RenderScale};
use crate::plugin::Plugin;
use crate::sys::*;

const PLATE: &CStr = c"Plate";
const BACKGROUND: &CStr = c"Background";
const MATTE: &CStr = c"Matte";
const OUTPUT: &CStr = c"Output";

const KEY: &CStr = c"key";
const KEEP_PERSON: &CStr = c"keepPerson";
const SPILL: &CStr = c"spill";
const MATCH_COLOUR: &CStr = c"matchColour";
const LIGHT_WRAP: &CStr = c"lightWrap";
const LIGHT_WRAP_RADIUS: &CStr = c"lightWrapRadius";
const DEFOCUS: &CStr = c"defocus";
const GRAIN: &CStr = c"grain";
const FIT: &CStr = c"fit";
const RESULT: &CStr = c"result";

pub(crate) struct Composite;

/// The settings a composite was primed with, the frame size, and the
/// shot's compositor for each piece it composites (the frame, or each
/// field), primed on that piece of the clips' first frames.
struct Primed {
    settings: Settings,
    size: (u32, u32),
    order: Option<FieldOrder>,
    shots: Vec<ShotCompositor>,
}

/// A composite instance: the compositor primed on the first frames.
pub(crate) struct CompositeInstance {
    primed: Mutex<Option<std::sync::Arc<Primed>>>,
}

/// Where the foreground comes from (the Key parameter).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Key {
    Screen(ScreenChoice),
    /// The Matte clip's luma.
    MatteClip,
    /// The person segmentation model, with no screen.
    Person,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Settings {
    key: Key,
    /// Keep the person solid inside a screen key.
    keep_person: bool,
    options: CompositeOptions,
    matte_out: bool,
}

fn settings(effect: &Effect, time: f64, scale: RenderScale) -> OfxResult<Settings> {
    // Options are only ever added at the end: projects store the index.
    let key = match effect.int_at(KEY, time)? {
        0 => Key::Screen(ScreenChoice::Auto),
        1 => Key::Screen(ScreenChoice::Green),
        2 => Key::Screen(ScreenChoice::Blue),
        3 => Key::MatteClip,
        4 => Key::Person,
        other => return Err(OfxError::failed(format!("Key option {other} is not one this version knows (0 to 4)"))),
    };
    let options = CompositeOptions {
        spill: effect.double_at(SPILL, time)? as f32,
        match_colour: effect.double_at(MATCH_COLOUR, time)? as f32,
        light_wrap: effect.double_at(LIGHT_WRAP, time)? as f32,
        // In full-size pixels; rows are never squeezed, so the vertical scale
        // says how many proxy pixels that is.
        light_wrap_radius: (effect.double_at(LIGHT_WRAP_RADIUS, time)? * scale.y) as f32,
        defocus: if effect.int_at(DEFOCUS, time)? == 1 { Defocus::Auto } else { Defocus::Off },
        grain: effect.double_at(GRAIN, time)? as f32,
        fit: match effect.int_at(FIT, time)? {
            1 => Fit::Contain,
            2 => Fit::Stretch,
            _ => Fit::Cover,
        },
    };
    Ok(Settings {
        key,
        keep_person: effect.int_at(KEEP_PERSON, time)? != 0,
        options,
        matte_out: effect.int_at(RESULT, time)? == 1,
    })
}

/// The Matte clip's frame for `time` when the Key parameter asks for it
/// (host I/O, on the host's thread).
fn matte_frame(effect: &Effect, settings: &Settings, plate: &Frame, time: f64) -> OfxResult<Option<Frame>> {
    if settings.key != Key::MatteClip {
        return Ok(None);
    }
    if !effect.clip(MATTE)?.connected() {
        return Err(OfxError::failed("Key is set to Matte clip, but the Matte clip is not connected"));
    }
    let matte = effect.frame(MATTE, effect.held_time(MATTE, time)?)?;
    if (matte.width(), matte.height()) != (plate.width(), plate.height()) {
        return Err(OfxError::failed(format!(
            "the Matte clip is {}x{} but the Plate is {}x{}",
            matte.width(),
            matte.height(),
            plate.width(),
            plate.height()
        )));
    }
    Ok(Some(matte))
}

/// The pieces composited on their own: the frames of the plate, the
/// background fitted to it, and the matte, or their first fields.
struct Pieces {
    plates: Vec<Frame>,
    backgrounds: Vec<Frame>,
    mattes: Option<Vec<Frame>>,
}

impl Pieces {
    fn of(
        plate: Frame,
        background: Frame,
        matte: Option<Frame>,
        settings: &Settings,
        order: Option<FieldOrder>,
    ) -> OfxResult<Pieces> {
        // Rows of another background are not the plate's rows: fitted first.
        let background =
            if order.is_some() && (background.width(), background.height()) != (plate.width(), plate.height()) {
                mattebox_core::pixels::fit_background(
                    &background.view(),
                    plate.width(),
                    plate.height(),
                    settings.options.fit,
                )?
            } else {
                background
            };
        Ok(Pieces {
            plates: fields::parts(plate, order)?,
            backgrounds: fields::parts(background, order)?,
            mattes: matte.map(|m| fields::parts(m, order)).transpose()?,
        })
    }
}

impl CompositeInstance {
    /// The compositors primed on the clips' first frames (on each field,
    /// when interlaced) for `settings`, primed again when the settings, the
    /// plate's `size` (a clip's frames share it; a proxy changes it) or its
    /// fielding change. The first frames are read only then.
    fn primed(
        &self,
        effect: &Effect,
        settings: Settings,
        size: (u32, u32),
        order: Option<FieldOrder>,
    ) -> OfxResult<std::sync::Arc<Primed>> {
        if let Some(p) =
            self.primed.lock().as_ref().filter(|p| p.settings == settings && p.size == size && p.order == order)
        {
            return Ok(p.clone());
        }
        let plate_time = effect.first_time(PLATE)?;
        let plate = effect.frame(PLATE, plate_time)?;
        let background = effect.frame(BACKGROUND, effect.first_time(BACKGROUND)?)?;
        let matte_frame = matte_frame(effect, &settings, &plate, plate_time)?;
        let pieces = Pieces::of(plate, background, matte_frame, &settings, order)?;
        // Found as the C ABI finds it: a plugin host passes no options.
        let model = || PersonSegmenter::found(None, None);
        let matte = match settings.key {
            Key::Screen(screen) => MatteFrom::Key(KeyOptions { screen, ..KeyOptions::default() }),
            Key::MatteClip => MatteFrom::Host(MatteChannel::Luma),
            Key::Person => MatteFrom::Person(PersonKey { model: model()?, cleanup: Default::default() }),
        };
        // Only a screen key has a person to keep; with another key the
        // switch does nothing.
        let keep = match settings.key {
            Key::Screen(_) if settings.keep_person => Some(model()?),
            _ => None,
        };
        let mut shots = Vec::with_capacity(pieces.plates.len());
        for (k, plate) in pieces.plates.iter().enumerate() {
            let mut shot = ShotCompositor::new(matte.clone(), settings.options, false)?;
            if let Some(model) = &keep {
                shot.keep_person(model.clone());
            }
            crate::host::runtime()?.install(|| {
                shot.prime(
                    &plate.view(),
                    pieces.mattes.as_ref().map(|m| m[k].view()).as_ref(),
                    &pieces.backgrounds[k].view(),
                )
            })?;
            shots.push(shot);
        }
        let primed = std::sync::Arc::new(Primed { settings, size, order, shots });
        *self.primed.lock() = Some(primed.clone());
        Ok(primed)
    }
}

impl Plugin for Composite {
    type Instance = CompositeInstance;

    fn describe(effect: &Effect) -> OfxResult<()> {
        // Temporal access: the first frames are read for the shot's measurements.
        describe::effect(
            effect,
            c"Mattebox Composite",
            c"A green- or blue-screen Plate (or one cut out by a Matte, or a person with no screen) over an AI \
              Background: key, spill, colour match, light wrap, defocus and grain match.",
            &[kOfxImageEffectContextGeneral],
        )
    }

    fn describe_in_context(effect: &Effect, _context: &str) -> OfxResult<()> {
        describe::input(effect, PLATE, false)?;
        describe::input(effect, BACKGROUND, false)?;
        describe::input(effect, MATTE, true)?;
        describe::output(effect)?;
        describe::choice(
            effect,
            (
                KEY,
                c"Key",
                c"Auto: green or blue, whichever the plate shows. Matte clip: the Matte input's luma is the \
                  foreground. Person: no screen; a segmentation model finds the person (selfie.onnx in \
                  $MATTEBOX_MODELS or ~/.local/share/mattebox/models, ONNX Runtime in $MATTEBOX_ONNXRUNTIME or on \
                  the loader path).",
            ),
            &[c"Auto", c"Green", c"Blue", c"Matte clip", c"Person"],
            0,
        )?;
        let keep = effect.define_param(
            kOfxParamTypeBoolean,
            KEEP_PERSON,
            c"Keep person",
            c"With a screen key (Auto, Green, Blue): keep solid what the person model is sure is the person, so \
              clothes the colour of the screen are not keyed out; edges stay the key's. For the shots that need \
              it: the model can take screen between arms and legs for person. The model is found as for Key: \
              Person.",
        )?;
        keep.set_int(kOfxParamPropDefault, 0, 0)?;
        keep.set_int(kOfxParamPropAnimates, 0, 0)?;
        describe::double(
            effect,
            (SPILL, c"Spill", c"How much screen spill to pull out of the foreground."),
            0.8,
            0.0,
            1.0,
        )?;
        describe::double(
            effect,
            (MATCH_COLOUR, c"Match colour", c"Move the background's colours towards the plate's."),
            0.0,
            0.0,
            1.0,
        )?;
        describe::double(
            effect,
            (LIGHT_WRAP, c"Light wrap", c"The background's light wrapping round the foreground's edge."),
            0.0,
            0.0,
            1.0,
        )?;
        describe::double(
            effect,
            (LIGHT_WRAP_RADIUS, c"Light wrap radius", c"Reach of the light wrap, in pixels."),
            12.0,
            0.0,
            256.0,
        )?;
        describe::choice(
            effect,
            (DEFOCUS, c"Defocus", c"Auto: soften the background to the plate's sharpness."),
            &[c"Off", c"Auto"],
            0,
        )?;
        describe::double(effect, (GRAIN, c"Grain", c"Give the background the plate's grain."), 0.0, 0.0, 1.0)?;
        describe::choice(
            effect,
            (FIT, c"Fit", c"How a background of another size fills the frame."),
            &[c"Cover", c"Contain", c"Stretch"],
            0,
        )?;
        describe::choice(
            effect,
            (RESULT, c"Output", c"Composite, or the foreground matte in grey."),
            &[c"Composite", c"Matte"],
            0,
        )
    }

    fn create(_: &Effect) -> OfxResult<CompositeInstance> {
        Ok(CompositeInstance { primed: Mutex::new(None) })
    }

    fn time_domain(_: &CompositeInstance, effect: &Effect, out: &Props) -> OfxResult<bool> {
        let (first, last) = effect.clip(PLATE)?.frame_range()?;
        out.set_doubles(kOfxImageEffectPropFrameRange, &[first, last])?;
        Ok(true)
    }

    fn frames_needed(_: &CompositeInstance, effect: &Effect, args: &Props, out: &Props) -> OfxResult<bool> {
        let time = effect.held_time(PLATE, args.double(kOfxPropTime, 0)?)?;
        let plate_first = effect.first_time(PLATE)?;
        // The key (and a person matte) averages each frame with the frames
        // before it.
        let earliest = (time - ShotCompositor::FRAMES_BEFORE as f64).max(plate_first);
        out.set_doubles(c"OfxImageClipPropFrameRange_Plate", &[plate_first, plate_first, earliest, time])?;
        let bg_first = effect.first_time(BACKGROUND)?;
        let bg = effect.held_time(BACKGROUND, time)?;
        out.set_doubles(c"OfxImageClipPropFrameRange_Background", &[bg_first, bg_first, bg, bg])?;
        if effect.clip(MATTE)?.connected() {
            let matte = effect.held_time(MATTE, time)?;
            let matte_first = effect.held_time(MATTE, plate_first)?;
            out.set_doubles(c"OfxImageClipPropFrameRange_Matte", &[matte_first, matte_first, matte, matte])?;
        }
        Ok(true)
    }

    fn render(instance: &CompositeInstance, effect: &Effect, args: &Props) -> OfxResult<()> {
        let output_time = args.double(kOfxPropTime, 0)?;
        let window = args.rect_i(kOfxImageEffectPropRenderWindow)?;
        for clip in [PLATE, BACKGROUND] {
            if !effect.clip(clip)?.connected() {
                return Err(OfxError::failed(format!("the {} clip is not connected", clip.to_string_lossy())));
            }
        }
        // Past the plate's end, its last frame holds.
        let time = effect.held_time(PLATE, output_time)?;
        let settings = settings(effect, time, RenderScale::of(args))?;
        let order = effect.clip(PLATE)?.field_order();
        let mut out = effect
            .clip(OUTPUT)?
            .image(output_time)?
            .ok_or_else(|| OfxError::failed(format!("the host gave no Output image at {output_time}")))?;
        if window.x2 <= window.x1 || window.y2 <= window.y1 {
            return Ok(());
        }
        let runtime = crate::host::runtime()?;
        let plate_image = effect
            .clip(PLATE)?
            .image(time)?
            .ok_or_else(|| OfxError::failed(format!("the host gave no Plate frame at {time}")))?;
        let bounds = plate_image.bounds;
        let plate = plate_image.to_frame()?;
        drop(plate_image);
        let background = effect.frame(BACKGROUND, effect.held_time(BACKGROUND, time)?)?;
        let primed = instance.primed(effect, settings, (plate.width(), plate.height()), order)?;
        if effect.aborted() {
            return Ok(());
        }
        let first = effect.first_time(PLATE)?;
        let matte_frame = matte_frame(effect, &settings, &plate, time)?;
        let index = (time - first).max(0.0) as u64;
        let height = plate.height();
        let (output, format) = match settings.matte_out {
            true => (ShotOutput::Matte, PixelFormat::Rgba32F),
            false => (ShotOutput::Composite, plate.format()),
        };
        let pieces = Pieces::of(plate, background, matte_frame, &settings, order)?;
        // The plate frames before this one, which a noisy key is averaged
        // with: cheap to hand over when a sequential render remembered them.
        let mut earlier = Vec::new();
        if primed.shots.iter().any(ShotCompositor::needs_earlier_frames) {
            for back in 1..=index.min(ShotCompositor::FRAMES_BEFORE) {
                let frame = effect.frame(PLATE, time - back as f64)?;
                earlier.push((index - back, fields::parts(frame, order)?));
            }
        }
        let result = runtime.install(|| -> OfxResult<Frame> {
            let mut done = Vec::with_capacity(pieces.plates.len());
            for (k, plate) in pieces.plates.iter().enumerate() {
                let mut out_frame = Frame::new(plate.width(), plate.height(), format)?;
                let host_matte = pieces.mattes.as_ref().map(|m| m[k].view());
                let mut shot = primed
                    .shots
                    .get(k)
                    .ok_or_else(|| OfxError::failed("the plate's fielding changed while rendering"))?
                    .for_frame(index)?;
                for (before, parts) in &earlier {
                    if let Some(part) = parts.get(k) {
                        shot.remember(*before, &part.view())?;
                    }
                }
                shot.render(
                    index,
                    &plate.view(),
                    host_matte.as_ref(),
                    &pieces.backgrounds[k].view(),
                    output,
                    &mut out_frame.view_mut(),
                )?;
                done.push(out_frame);
            }
            fields::join(done, order, height)
        })?;
        out.write(&result, bounds, window)
    }
}
