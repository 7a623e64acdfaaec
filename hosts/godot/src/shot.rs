//! `MatteboxShot`: a shot to generate with the built-in generator, in the
//! background, and its takes.

use godot::classes::{INode, Image, ImageTexture, Node};
use godot::prelude::*;
use mattebox_core::generate::{GenerationJob, Generations, MAX_TAKES, TakeStage};
use mattebox_core::media::{MediaReader, OpenOptions};
use mattebox_core::shot::{CameraMotion, ImageInput, ShotRequest, Take};
use mattebox_core::{PixelFormat, Rational};

use crate::images::{frame_of, image_of};

/// A shot: what to generate (the exported properties), `generate()` to
/// make its takes in the background, and the takes as they finish.
///
/// Signals, all on the main thread: `progress(take, fraction)`,
/// `take_ready(take)`, `failed(take, message)` (take -1: the request
/// itself), `finished()`.
#[derive(GodotClass)]
#[class(base = Node)]
pub struct MatteboxShot {
    /// What the shot shows.
    #[export]
    prompt: GString,
    /// Seed of the first take; take k uses seed + k.
    #[export]
    seed: i64,
    /// How many takes `generate()` makes (1 to 16, the most a job makes).
    #[export]
    takes: i64,
    /// Length in seconds.
    #[export]
    duration: f64,
    /// Frames per second.
    #[export]
    fps: f64,
    /// Frame size in pixels.
    #[export]
    width: i64,
    #[export]
    height: i64,
    /// Camera move, each -1 to 1: truck, pedestal, pan, tilt, roll, push in.
    #[export]
    truck: f64,
    #[export]
    pedestal: f64,
    #[export]
    pan: f64,
    #[export]
    tilt: f64,
    #[export]
    roll: f64,
    #[export]
    push_in: f64,
    /// The shot's first frame (a still from the game, say), or none.
    #[export]
    first_frame: Option<Gd<Image>>,
    job: Option<GenerationJob>,
    /// Per take of the current job: the last progress told, and the take once done.
    told: Vec<(f32, bool)>,
    done: Vec<Option<Take>>,
    base: Base<Node>,
}

#[godot_api]
impl INode for MatteboxShot {
    fn init(base: Base<Node>) -> Self {
        MatteboxShot {
            prompt: GString::new(),
            seed: 0,
            takes: 1,
            duration: 2.0,
            fps: 24.0,
            width: 640,
            height: 360,
            truck: 0.0,
            pedestal: 0.0,
            pan: 0.0,
            tilt: 0.0,
            roll: 0.0,
            push_in: 0.0,
            first_frame: None,
            job: None,
            told: Vec::new(),
            done: Vec::new(),
            base,
        }
    }

    fn process(&mut self, _delta: f64) {
        self.poll();
    }

    fn exit_tree(&mut self) {
        // A shot leaving the scene stops its job, without a word to a
        // scene that is gone: nothing runs for nobody.
        self.drop_job();
    }
}

#[godot_api]
impl MatteboxShot {
    #[signal]
    fn progress(take: i64, fraction: f64);
    #[signal]
    fn take_ready(take: i64);
    #[signal]
    fn failed(take: i64, message: GString);
    #[signal]
    fn finished();

    /// Starts making the takes in the background (a running job is
    /// cancelled first). False, with `failed(-1, why)`, when the request
    /// is wrong.
    #[func]
    fn generate(&mut self) -> bool {
        self.drop_job();
        let started = self.request().and_then(|request| {
            let service = Generations::new(crate::runtime()?).map_err(|e| e.to_string())?;
            let takes = self.takes.clamp(1, MAX_TAKES as i64) as u32;
            service.submit("builtin", request, takes).map_err(|e| e.to_string())
        });
        match started {
            Ok(job) => {
                let n = job.status().len();
                self.told = vec![(-1.0, false); n];
                self.done = vec![None; n];
                self.job = Some(job);
                true
            }
            Err(why) => {
                self.emit_failed(-1, &why);
                false
            }
        }
    }

    /// Stops the job: each unfinished take then signals `failed(take, "take
    /// N was cancelled")`, and `finished()` follows. Takes already made stay
    /// in the take cache.
    #[func]
    fn cancel(&mut self) {
        if let Some(job) = &self.job {
            job.cancel();
        }
    }

    /// Whether a job is running.
    #[func]
    fn is_generating(&self) -> bool {
        self.job.as_ref().is_some_and(|job| !job.is_finished())
    }

    /// Frames in take `take` (0-based); 0 until it is ready.
    #[func]
    fn take_frame_count(&self, take: i64) -> i64 {
        self.take(take).map(|t| t.frames as i64).unwrap_or(0)
    }

    /// Frame `index` of take `take` as an RGBA8 image; null (with an error
    /// in the log) when there is none.
    #[func]
    fn take_frame(&self, take: i64, index: i64) -> Option<Gd<Image>> {
        match self.read_frame(take, index) {
            Ok(image) => Some(image),
            Err(why) => {
                godot_error!("MatteboxShot: {why}");
                None
            }
        }
    }

    /// Frame `index` of take `take` as a texture, for a `TextureRect` or a
    /// material; null when there is none.
    #[func]
    fn take_texture(&self, take: i64, index: i64) -> Option<Gd<ImageTexture>> {
        ImageTexture::create_from_image(&self.take_frame(take, index)?)
    }

    /// Where take `take`'s frames are (an image sequence in the take
    /// cache, which `mattebox` commands share); empty until it is ready.
    #[func]
    fn take_path(&self, take: i64) -> GString {
        self.take(take).map(|t| GString::from(t.media.to_string_lossy().as_ref())).unwrap_or_default()
    }
}

impl MatteboxShot {
    /// Cancels the job, if any, and forgets it (no more signals).
    fn drop_job(&mut self) {
        if let Some(job) = self.job.take() {
            job.cancel();
        }
    }

    fn request(&self) -> Result<ShotRequest, String> {
        let mut request = ShotRequest::new(self.prompt.to_string());
        request.seed = u64::try_from(self.seed).map_err(|_| format!("seed {} must not be negative", self.seed))?;
        let rational =
            |v: f64, what: &str| format!("{v:.6}").parse::<Rational>().map_err(|e| format!("{what} {v}: {e}"));
        request.duration = rational(self.duration, "duration")?;
        request.fps = rational(self.fps, "fps")?;
        let size =
            |v: i64, what: &str| u32::try_from(v).ok().filter(|v| *v > 0).ok_or(format!("{what} {v} must be above 0"));
        (request.width, request.height) = (size(self.width, "width")?, size(self.height, "height")?);
        request.camera = CameraMotion {
            horizontal: self.truck as f32,
            vertical: self.pedestal as f32,
            pan: self.pan as f32,
            tilt: self.tilt as f32,
            roll: self.roll as f32,
            zoom: self.push_in as f32,
        };
        if let Some(image) = &self.first_frame {
            request.first_frame = Some(ImageInput::new("first frame", frame_of(image, "first_frame")?));
        }
        request.check().map_err(|e| e.to_string())?;
        Ok(request)
    }

    fn take(&self, take: i64) -> Option<&Take> {
        usize::try_from(take).ok().and_then(|i| self.done.get(i)).and_then(Option::as_ref)
    }

    fn read_frame(&self, take: i64, index: i64) -> Result<Gd<Image>, String> {
        let t = self.take(take).ok_or(format!("take {take} is not ready"))?;
        let n = u64::try_from(index)
            .ok()
            .filter(|n| *n < t.frames)
            .ok_or(format!("take {take} has frames 0 to {}, not {index}", t.frames.saturating_sub(1)))?;
        let mut reader = MediaReader::open(&t.media, &OpenOptions::default()).map_err(|e| e.to_string())?;
        let frame = reader
            .read_frame(n)
            .map_err(|e| e.to_string())?
            .to_format(PixelFormat::Rgba8)
            .map_err(|e| e.to_string())?;
        image_of(&frame)
    }

    /// Tells what changed since the last frame, as signals.
    fn poll(&mut self) {
        let Some(job) = &self.job else { return };
        let statuses = job.status();
        let finished = job.is_finished();
        let mut signals: Vec<(&str, Vec<Variant>)> = Vec::new();
        for status in statuses {
            let i = status.index as usize;
            let Some((last, over)) = self.told.get_mut(i) else { continue };
            if *over {
                continue;
            }
            if status.fraction > *last {
                *last = status.fraction;
                signals.push(("progress", vec![(i as i64).to_variant(), (status.fraction as f64).to_variant()]));
            }
            match status.stage {
                TakeStage::Done => {
                    *over = true;
                    self.done[i] = status.take;
                    signals.push(("take_ready", vec![(i as i64).to_variant()]));
                }
                TakeStage::Failed | TakeStage::Cancelled => {
                    *over = true;
                    let why = status.error.map(|(_, m)| m).unwrap_or_else(|| status.stage.name().to_owned());
                    signals.push(("failed", vec![(i as i64).to_variant(), GString::from(why.as_str()).to_variant()]));
                }
                _ => {}
            }
        }
        if finished {
            self.job = None;
            signals.push(("finished", Vec::new()));
        }
        for (name, args) in signals {
            self.base_mut().emit_signal(name, &args);
        }
    }

    fn emit_failed(&mut self, take: i64, why: &str) {
        let args = [take.to_variant(), GString::from(why).to_variant()];
        self.base_mut().emit_signal("failed", &args);
    }
}
