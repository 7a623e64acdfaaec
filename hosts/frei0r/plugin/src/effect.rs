//! The effect both Mattebox frei0r plugins run: key a green or blue screen
//! plate (or find the person on a plate with no screen) and composite it
//! over a background (a file or colour for the filter, the second track for
//! the mixer).
//!
//! frei0r doubles are 0..1; where a parameter means something else, its
//! explanation says how 0..1 maps (and `hosts/frei0r/README.md` lists all).
//! Values outside 0..1 are clamped. A plate with no screen in it passes
//! through unchanged. Parameters are only ever added at the end: ffmpeg
//! and saved projects name them by index.

use std::sync::OnceLock;

use mattebox_core::composite::{
    Cleanup, CompositeOptions, Fit, KeyOptions, MatteFrom, PersonKey, ScreenChoice, ShotCompositor, ShotOutput,
};
use mattebox_core::consistency::models::PersonSegmenter;
use mattebox_core::pixels::fit_background;
use mattebox_core::{Frame, FrameView, FrameViewMut, PixelFormat, Runtime, RuntimeConfig};

use crate::{ParamKind, ParamSpec, ParamValue, Plugin, PluginDescription, TYPE_FILTER, TYPE_MIXER2};

/// One runtime (thread pool) for every instance in the process: hosts such
/// as MLT make many instances, and a pool each would flood the machine.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(RuntimeConfig::default()).expect("a runtime with default settings starts"))
}

/// Parameters common to the filter and the mixer, in index order.
const COMMON: [ParamSpec; 10] = [
    ParamSpec {
        name: c"screen",
        kind: ParamKind::Double,
        explanation: c"Screen to key: below 0.25 auto (green or blue, whichever the plate shows more), 0.25 to 0.75 green, above 0.75 blue",
    },
    ParamSpec {
        name: c"clip black",
        kind: ParamKind::Double,
        explanation: c"Key values at or below this become background; 0 (default): set from the screen's noise",
    },
    ParamSpec {
        name: c"clip white",
        kind: ParamKind::Double,
        explanation: c"Key values at or above this become solid foreground; 1 (default): set from the screen's noise",
    },
    ParamSpec { name: c"spill", kind: ParamKind::Double, explanation: c"Spill suppression strength; default 0.8" },
    ParamSpec {
        name: c"grow",
        kind: ParamKind::Double,
        explanation: c"Shrink or grow the matte: 0 is -10 px, 0.5 none (default), 1 is +10 px",
    },
    ParamSpec { name: c"soften", kind: ParamKind::Double, explanation: c"Blur the matte edge: 0 to 1 is 0 to 20 px; default 0" },
    ParamSpec {
        name: c"fill holes",
        kind: ParamKind::Bool,
        explanation: c"Make background holes inside the foreground (green reflections) foreground",
    },
    ParamSpec {
        name: c"match colour",
        kind: ParamKind::Double,
        explanation: c"Move the background's colours towards the plate's; default 0",
    },
    ParamSpec {
        name: c"light wrap",
        kind: ParamKind::Double,
        explanation: c"Background light wrapping round the foreground edge; default 0",
    },
    ParamSpec {
        name: c"output",
        kind: ParamKind::Double,
        explanation: c"Below 0.25 the composite (default), 0.25 to 0.75 the matte in grey, above 0.75 the keyed foreground with alpha",
    },
];

/// The last parameter of both: a person matte instead of a screen key.
const PERSON: ParamSpec = ParamSpec {
    name: c"person",
    kind: ParamKind::Bool,
    explanation: c"No screen: find the person with the segmentation model (selfie.onnx in $MATTEBOX_MODELS or ~/.local/share/mattebox/models; ONNX Runtime in $MATTEBOX_ONNXRUNTIME or on the loader path); screen and clip points are then unused",
};

/// After it: keep the person solid inside a screen key.
const KEEP_PERSON: ParamSpec = ParamSpec {
    name: c"keep person",
    kind: ParamKind::Bool,
    explanation: c"With a screen key: keep solid what the person model is sure is the person, so clothes the colour of the screen stay; edges stay the key's. For the shots that need it (the model can take screen between arms and legs for person); the model is found as for person",
};

/// The common parameters followed by `tail`: a host sees them in this
/// order, and saved projects keep the index.
const fn common_then<const N: usize>(tail: &[ParamSpec]) -> [ParamSpec; N] {
    assert!(N == COMMON.len() + tail.len(), "N counts the common parameters and the tail");
    let mut out = [COMMON[0]; N];
    let mut i = 0;
    while i < N {
        out[i] = if i < COMMON.len() { COMMON[i] } else { tail[i - COMMON.len()] };
        i += 1;
    }
    out
}

/// Parameters of the mixer: the common ones and the person switches.
const MIXER_PARAMS: [ParamSpec; 12] = common_then(&[PERSON, KEEP_PERSON]);

/// Parameters of the filter: the common ones, where the background comes
/// from, and the person switches.
const FILTER_PARAMS: [ParamSpec; 14] = common_then(&[
    ParamSpec {
        name: c"background",
        kind: ParamKind::String,
        explanation: c"A PNG or EXR image to put behind the foreground (scaled to cover the frame); empty for a colour",
    },
    ParamSpec {
        name: c"background colour",
        kind: ParamKind::Color,
        explanation: c"Colour behind the foreground when no background image is set; default black",
    },
    PERSON,
    KEEP_PERSON,
]);

/// The shared effect state.
#[derive(Debug)]
pub struct KeyComposite {
    width: u32,
    height: u32,
    /// The common parameters' values, then the person switches'.
    values: [f64; 12],
    background_path: String,
    background_colour: [f32; 3],
    /// The filter's background, fitted to the frame (taken out while rendering).
    background: Option<Frame>,
    /// The background image could not be read (reported once).
    background_failed: bool,
    /// The shot's compositor, made on the first frame after a setting
    /// changed; `Some(None)` when that frame showed no screen (the plate
    /// then passes through).
    shot: Option<Option<ShotCompositor>>,
    /// Frames rendered since.
    frames: u64,
}

const DEFAULTS: [f64; 12] = [0.0, 0.0, 1.0, 0.8, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
/// Where the person switch's value is kept.
const PERSON_VALUE: usize = 10;
/// Where the keep-person switch's value is kept.
const KEEP_PERSON_VALUE: usize = 11;

impl KeyComposite {
    fn new(width: u32, height: u32) -> Self {
        KeyComposite {
            width,
            height,
            values: DEFAULTS,
            background_path: String::new(),
            background_colour: [0.0; 3],
            background: None,
            background_failed: false,
            shot: None,
            frames: 0,
        }
    }

    /// Forgets everything measured from frames, after a parameter change.
    fn invalidate(&mut self) {
        self.shot = None;
        self.frames = 0;
    }

    fn set_number(&mut self, index: usize, value: f64) {
        let clamped = value.clamp(0.0, 1.0);
        if self.values[index] != clamped {
            self.values[index] = clamped;
            self.invalidate();
        }
    }

    fn cleanup(&self) -> Cleanup {
        let v = &self.values;
        Cleanup { grow: ((v[4] - 0.5) * 20.0).round() as i32, blur: (v[5] * 20.0) as f32, fill_holes: v[6] > 0.5 }
    }

    /// The shot's compositor: the screen key (keeping the person when
    /// asked), or the person model (found as the C ABI finds it; a plugin
    /// host passes no options).
    fn compositor(&self) -> Result<ShotCompositor, String> {
        let found = || PersonSegmenter::found(None, None).map_err(|e| e.to_string());
        let matte = match self.values[PERSON_VALUE] > 0.5 {
            true => MatteFrom::Person(PersonKey { model: found()?, cleanup: self.cleanup() }),
            false => MatteFrom::Key(self.key_options()),
        };
        let keep = self.values[KEEP_PERSON_VALUE] > 0.5 && matches!(matte, MatteFrom::Key(_));
        let mut shot = ShotCompositor::new(matte, self.composite_options(), false).map_err(|e| e.to_string())?;
        if keep {
            shot.keep_person(found()?);
        }
        Ok(shot)
    }

    fn key_options(&self) -> KeyOptions {
        let v = &self.values;
        let screen = match v[0] {
            x if x < 0.25 => ScreenChoice::Auto,
            x if x <= 0.75 => ScreenChoice::Green,
            _ => ScreenChoice::Blue,
        };
        // 0 and 1, the defaults, leave the clip points to the noise (frei0r
        // parameters have no "unset").
        let black = (v[1] > 0.0).then_some(v[1] as f32);
        let white = (v[2] < 1.0).then_some(v[2] as f32);
        // A host may set them crossed; keep them ordered rather than fail every frame.
        let (clip_black, clip_white) = match (black, white) {
            (Some(b), Some(w)) if w <= b => (Some(b.min(0.98)), Some((b + 0.01).min(1.0))),
            (Some(b), w) => (Some(b.min(0.98)), w),
            other => other,
        };
        KeyOptions { screen, clip_black, clip_white, cleanup: self.cleanup() }
    }

    fn output(&self) -> ShotOutput {
        match self.values[9] {
            x if x < 0.25 => ShotOutput::Composite,
            x if x <= 0.75 => ShotOutput::Matte,
            _ => ShotOutput::Foreground,
        }
    }

    fn composite_options(&self) -> CompositeOptions {
        CompositeOptions {
            spill: self.values[3] as f32,
            match_colour: self.values[7] as f32,
            light_wrap: self.values[8] as f32,
            fit: Fit::Cover,
            ..Default::default()
        }
    }

    /// The filter's background: the image fitted to the frame, or the
    /// colour; made once per setting and kept, not rebuilt per frame.
    fn take_filter_background(&mut self) -> Result<Frame, String> {
        if let Some(frame) = self.background.take() {
            return Ok(frame);
        }
        if !self.background_path.is_empty() && !self.background_failed {
            let path = std::path::PathBuf::from(&self.background_path);
            let loaded = mattebox_core::media::read_image(&path)
                .and_then(|image| fit_background(&image.view(), self.width, self.height, Fit::Cover));
            match loaded {
                Ok(frame) => return Ok(frame),
                Err(e) => {
                    eprintln!("mattebox frei0r: background {e}; using the background colour");
                    self.background_failed = true;
                }
            }
        }
        let mut frame = Frame::new(self.width, self.height, PixelFormat::Rgba8).map_err(|e| e.to_string())?;
        let [r, g, b] = self.background_colour;
        frame.view_mut().fill([r, g, b, 1.0]);
        Ok(frame)
    }

    /// Keys `plate` and composites it over `background` into `out` (all RGBA8888).
    fn render(&mut self, plate: &[u32], background: &FrameView<'_>, out: &mut [u32]) -> Result<(), String> {
        let (w, h) = (self.width, self.height);
        let stride = w as usize * 4;
        let plate_view =
            FrameView::new(bytemuck::cast_slice(plate), w, h, stride, PixelFormat::Rgba8).map_err(|e| e.to_string())?;
        let mut out_view = FrameViewMut::new(bytemuck::cast_slice_mut(out), w, h, stride, PixelFormat::Rgba8)
            .map_err(|e| e.to_string())?;
        if self.shot.is_none() {
            let mut shot = self.compositor()?;
            // No screen in the plate: documented pass-through, not an error per frame.
            self.shot = Some(shot.sample_screen(&plate_view).ok().map(|()| shot));
        }
        let (output, index) = (self.output(), self.frames);
        let Some(Some(shot)) = self.shot.as_mut() else {
            mattebox_core::frame::convert(&plate_view, &mut out_view).map_err(|e| e.to_string())?;
            return Ok(());
        };
        runtime()
            .install(|| shot.render(index, &plate_view, None, background, output, &mut out_view))
            .map_err(|e| e.to_string())?;
        self.frames += 1;
        Ok(())
    }
}

/// The filter: key the input and composite it over an image file or a colour.
#[derive(Debug)]
pub struct KeyFilter(KeyComposite);

impl Plugin for KeyFilter {
    const DESCRIPTION: PluginDescription = PluginDescription {
        name: c"Mattebox Key",
        plugin_type: TYPE_FILTER,
        explanation: c"Keys a green or blue screen (colour-difference key refined at the edges, spill suppression, matte clean-up), or finds the person on a plate with no screen, and composites the foreground over an image or a colour in linear light, with colour match and light wrap",
        version: (0, 4),
    };
    const PARAMS: &'static [ParamSpec] = &FILTER_PARAMS;

    fn new(width: u32, height: u32) -> Self {
        KeyFilter(KeyComposite::new(width, height))
    }

    fn set(&mut self, index: usize, value: ParamValue) {
        let e = &mut self.0;
        match (index, value) {
            (0..=9, ParamValue::Number(v)) => e.set_number(index, v),
            (12, ParamValue::Number(v)) => e.set_number(PERSON_VALUE, v),
            (13, ParamValue::Number(v)) => e.set_number(KEEP_PERSON_VALUE, v),
            (10, ParamValue::Text(path)) if path != e.background_path => {
                e.background_path = path;
                e.background = None;
                e.background_failed = false;
                e.invalidate();
            }
            (11, ParamValue::Color(c)) if c != e.background_colour => {
                e.background_colour = c;
                e.background = None;
                e.invalidate();
            }
            _ => {}
        }
    }

    fn get(&self, index: usize) -> ParamValue {
        match index {
            10 => ParamValue::Text(self.0.background_path.clone()),
            11 => ParamValue::Color(self.0.background_colour),
            12 => ParamValue::Number(self.0.values[PERSON_VALUE]),
            13 => ParamValue::Number(self.0.values[KEEP_PERSON_VALUE]),
            i => ParamValue::Number(self.0.values[..PERSON_VALUE].get(i).copied().unwrap_or(0.0)),
        }
    }

    fn update(&mut self, _time: f64, inputs: &[&[u32]], out: &mut [u32]) -> Result<(), String> {
        let background = self.0.take_filter_background()?;
        let result = self.0.render(inputs[0], &background.view(), out);
        self.0.background = Some(background);
        result
    }
}

/// The mixer2 transition: key the first track (the actor plate) and
/// composite it over the second (the background).
#[derive(Debug)]
pub struct OverMixer(KeyComposite);

impl Plugin for OverMixer {
    const DESCRIPTION: PluginDescription = PluginDescription {
        name: c"Mattebox Over",
        plugin_type: TYPE_MIXER2,
        explanation: c"Keys a green or blue screen on the first track (the actor plate), or finds the person on a plate with no screen, and composites it over the second track (the background) in linear light, with spill suppression, colour match and light wrap",
        version: (0, 4),
    };
    const PARAMS: &'static [ParamSpec] = &MIXER_PARAMS;

    fn new(width: u32, height: u32) -> Self {
        OverMixer(KeyComposite::new(width, height))
    }

    fn set(&mut self, index: usize, value: ParamValue) {
        // The person switches are the mixer's indices 10 and 11, and kept
        // there too.
        if let (0..=11, ParamValue::Number(v)) = (index, value) {
            self.0.set_number(index, v);
        }
    }

    fn get(&self, index: usize) -> ParamValue {
        ParamValue::Number(self.0.values.get(index).copied().unwrap_or(0.0))
    }

    fn update(&mut self, _time: f64, inputs: &[&[u32]], out: &mut [u32]) -> Result<(), String> {
        let (w, h) = (self.0.width, self.0.height);
        let background = FrameView::new(bytemuck::cast_slice(inputs[1]), w, h, w as usize * 4, PixelFormat::Rgba8)
            .map_err(|e| e.to_string())?;
        self.0.render(inputs[0], &background, out)
    }
}
