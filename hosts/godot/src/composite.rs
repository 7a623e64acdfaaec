//! `MatteboxCompositor`: a green- or blue-screen plate over a background,
//! frame after frame of one shot, as `mattebox composite` does.

use godot::classes::Image;
use godot::prelude::*;
use mattebox_core::composite::{CompositeOptions, KeyOptions, MatteFrom, ScreenChoice, ShotCompositor, ShotOutput};
use mattebox_core::{Frame, PixelFormat};

use crate::images::{frame_of, image_of};

/// Composites a shot: the first `composite()` samples the screen and
/// measures the shot (as the command line does on the first frames); later
/// calls reuse that, frame after frame. `reset()` starts a new shot.
#[derive(GodotClass)]
#[class(base = RefCounted)]
pub struct MatteboxCompositor {
    /// "auto", "green" or "blue".
    #[export]
    key: GString,
    /// How much screen spill to pull out of the foreground (0 to 1).
    #[export]
    spill: f64,
    /// Move the background's colours towards the plate's (0 to 1).
    #[export]
    match_colour: f64,
    /// The background's light wrapping round the foreground's edge (0 to 1).
    #[export]
    light_wrap: f64,
    shot: Option<(CompositeOptions, ScreenChoice, ShotCompositor)>,
    frame: u64,
    base: Base<RefCounted>,
}

#[godot_api]
impl IRefCounted for MatteboxCompositor {
    fn init(base: Base<RefCounted>) -> Self {
        let defaults = CompositeOptions::default();
        MatteboxCompositor {
            key: GString::from("auto"),
            spill: defaults.spill as f64,
            match_colour: defaults.match_colour as f64,
            light_wrap: defaults.light_wrap as f64,
            shot: None,
            frame: 0,
            base,
        }
    }
}

#[godot_api]
impl MatteboxCompositor {
    /// The plate keyed over the background (fitted to the plate's size):
    /// a new image of the plate's size; null, with an error in the log,
    /// when the inputs are wrong.
    #[func]
    fn composite(&mut self, plate: Gd<Image>, background: Gd<Image>) -> Option<Gd<Image>> {
        self.render(&plate, &background, ShotOutput::Composite)
            .map_err(|why| godot_error!("MatteboxCompositor: {why}"))
            .ok()
    }

    /// The foreground matte of the plate, grey (white is foreground).
    #[func]
    fn matte(&mut self, plate: Gd<Image>, background: Gd<Image>) -> Option<Gd<Image>> {
        self.render(&plate, &background, ShotOutput::Matte)
            .map_err(|why| godot_error!("MatteboxCompositor: {why}"))
            .ok()
    }

    /// Forgets the shot: the next call samples the screen again.
    #[func]
    fn reset(&mut self) {
        self.shot = None;
        self.frame = 0;
    }
}

impl MatteboxCompositor {
    fn settings(&self) -> Result<(CompositeOptions, ScreenChoice), String> {
        let screen = match self.key.to_string().as_str() {
            "auto" | "" => ScreenChoice::Auto,
            "green" => ScreenChoice::Green,
            "blue" => ScreenChoice::Blue,
            other => return Err(format!("key is \"{other}\"; it takes auto, green or blue")),
        };
        let options = CompositeOptions {
            spill: self.spill as f32,
            match_colour: self.match_colour as f32,
            light_wrap: self.light_wrap as f32,
            ..CompositeOptions::default()
        };
        Ok((options, screen))
    }

    fn render(&mut self, plate: &Gd<Image>, background: &Gd<Image>, output: ShotOutput) -> Result<Gd<Image>, String> {
        let (plate, background) = (frame_of(plate, "the plate")?, frame_of(background, "the background")?);
        let (options, screen) = self.settings()?;
        let runtime = crate::runtime()?;
        // Settings changed: a new shot.
        if self.shot.as_ref().is_some_and(|(o, s, _)| (*o, *s) != (options, screen)) {
            self.reset();
        }
        if self.shot.is_none() {
            let mut shot =
                ShotCompositor::new(MatteFrom::Key(KeyOptions { screen, ..KeyOptions::default() }), options, false)
                    .map_err(|e| e.to_string())?;
            runtime.install(|| shot.prime(&plate.view(), None, &background.view())).map_err(|e| e.to_string())?;
            self.shot = Some((options, screen, shot));
        }
        let (_, _, shot) = self.shot.as_ref().ok_or("no shot")?;
        let index = self.frame;
        let mut out = Frame::new(plate.width(), plate.height(), PixelFormat::Rgba8).map_err(|e| e.to_string())?;
        runtime
            .install(|| {
                let mut frame = shot.for_frame(index)?;
                frame.render(index, &plate.view(), None, &background.view(), output, &mut out.view_mut())
            })
            .map_err(|e| e.to_string())?;
        self.frame += 1;
        image_of(&out)
    }
}
