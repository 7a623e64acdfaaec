//! One shot's composite, as every host renders it: the command line's
//! `composite`, the C ABI's `mb_compositor`, the OFX Composite effect and
//! the frei0r plugins all drive a [`ShotCompositor`] and nothing below it.
//!
//! What it decides, once for the shot:
//! - the matte's source: keyed against a screen sampled on the shot's first
//!   frame, a person found by a segmentation model (`person.rs`), or the
//!   host's matte (its alpha or its luma);
//! - the compositor's measurements (colour transfer, defocus, grain),
//!   made on the first frame it renders or primes on;
//! - the camera path, tracked frame to frame when asked (frames then come
//!   in order); the background is fitted to the plate before the camera
//!   moves it, so the move is in the plate's pixels whatever the
//!   background's size.
//!
//! A keyed frame (and a person matte's small probability) is averaged with
//! the frames before it where it is still (see `temporal.rs`), so a
//! frame's matte depends on up to [`ShotCompositor::FRAMES_BEFORE`] earlier
//! plate frames. Rendered in order, the compositor remembers them;
//! hosts that render frames in any order, on several threads, prime one
//! compositor on the shot's first frames, render each frame with a copy
//! ([`ShotCompositor::for_frame`]) and hand it the earlier plate frames
//! first ([`ShotCompositor::remember`], cheap when the frame is already
//! remembered by any copy): the result equals the sequential one.

use std::sync::Arc;

use crate::composite::camera::{CameraMove, CameraTracker, move_background};
use crate::composite::integrate::{CompositeOptions, Compositor, keyed_foreground};
use crate::composite::key::{
    KeyOptions, KeyScratch, SMOOTH_ABOVE, Screen, check_clips, find_screen, finish_key, raw_key, smooth_noise,
};
use crate::composite::matte::{Matte, clean, grow, window_means};
use crate::composite::person::{
    PersonKey, PersonModel, PersonScratch, STILL_NOISE, guided_upsample, segment, stillness_means,
};
use crate::composite::temporal::{KeyHistory, KeyedFrame, TEMPORAL_ABOVE, WINDOW};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{Frame, FrameView, FrameViewMut};
use crate::pixels::fit_background;

/// Which channel of a host's matte image holds the matte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatteChannel {
    /// Its alpha (what OpenFX hosts pass).
    Alpha,
    /// The luma of its colour (a grey matte image or file).
    Luma,
}

/// Where a shot's matte comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum MatteFrom {
    /// Key each plate frame against the screen sampled on the first.
    Key(KeyOptions),
    /// Find the person in each plate frame (no screen needed).
    Person(PersonKey),
    /// The host gives a matte image with every frame.
    Host(MatteChannel),
}

/// A frame's key noise this far (relative) from the shot's first is the
/// frame's own: the light or the camera's gain changed.
const NOISE_CHANGE: f32 = 0.25;

/// A kept person's matte is shrunk by this many pixels per 512 of the
/// plate's width before it holds the key solid: the model's edge is
/// coarse (it sees a 256-pixel copy), the key's is not.
const KEEP_INSIDE: u32 = 8;

/// The key noise to key a frame with whose own is `frame`, in a shot whose
/// first frame's was `shot`: the shot's, unless this frame's is clearly
/// another. Clip points and smoothing that moved with each frame's
/// estimate would make the edge flicker themselves.
fn noise_for(shot: Option<f32>, frame: f32) -> f32 {
    match shot {
        Some(shot) if (frame / shot.max(1e-6) - 1.0).abs() <= NOISE_CHANGE => shot,
        _ => frame,
    }
}

/// Frame `index`'s raw key, smoothed when noisy, and the frame to remember
/// when its noise would make a still edge boil (with the 5 x 5 mean of the
/// plain colour-difference key in `scratch`, on which stillness is judged).
fn prepared(
    index: u64,
    plate: &FrameView<'_>,
    mut raw: Matte,
    noise: f32,
    scratch: &mut KeyScratch,
    history: &KeyHistory,
) -> Result<(Matte, Option<KeyedFrame>)> {
    if noise > SMOOTH_ABOVE {
        smooth_noise(&mut raw, noise, scratch);
    }
    if noise < TEMPORAL_ABOVE {
        return Ok((raw, None));
    }
    if scratch.plain.len() != raw.values().len() {
        return Err(Error::internal(format!(
            "frame {index} is noisy enough to average over time, but its plain key was not kept"
        )));
    }
    let (w, h) = (raw.width() as usize, raw.height() as usize);
    window_means(&scratch.plain, w, h, &mut scratch.mean);
    let frame = KeyedFrame::new(index, plate, &raw, &scratch.mean, history.spare());
    Ok((raw, Some(frame)))
}

/// What a render writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShotOutput {
    /// The plate over the background.
    #[default]
    Composite,
    /// The foreground matte, grey.
    Matte,
    /// The keyed foreground alone, unpremultiplied over nothing (alpha).
    Foreground,
}

/// One shot's composite; see the module's documentation.
#[derive(Clone, Debug)]
pub struct ShotCompositor {
    matte: MatteFrom,
    screen: Option<Screen>,
    compositor: Compositor,
    tracker: Option<CameraTracker>,
    /// The shot's camera path given whole (tracked once, for every chunk of
    /// a farm's render): frame k's background moves by its entry k.
    known_path: Option<Arc<[(CameraMove, f32)]>>,
    primed: bool,
    history: KeyHistory,
    /// The key's noise on the first frame keyed.
    noise: Option<f32>,
    /// A person model whose sure interior the key keeps solid, and its
    /// frames' history.
    keep_person: Option<Arc<dyn PersonModel>>,
    kept_history: KeyHistory,
    scratch: Scratch,
}

/// The grids a frame's matte is made in, kept from frame to frame.
#[derive(Default)]
struct Scratch {
    key: KeyScratch,
    person: PersonScratch,
}

impl Clone for Scratch {
    /// A copy starts empty: the grids are scratch, not state.
    fn clone(&self) -> Self {
        Scratch::default()
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch")
    }
}

impl ShotCompositor {
    /// A compositor for a shot whose matte comes from `matte`, integrated
    /// with `options`, the background moved with the plate's camera when
    /// `track_camera`.
    pub fn new(matte: MatteFrom, options: CompositeOptions, track_camera: bool) -> Result<ShotCompositor> {
        Ok(ShotCompositor {
            matte,
            screen: None,
            compositor: Compositor::new(options)?,
            tracker: track_camera.then(CameraTracker::new),
            known_path: None,
            primed: false,
            history: KeyHistory::default(),
            noise: None,
            keep_person: None,
            kept_history: KeyHistory::default(),
            scratch: Scratch::default(),
        })
    }

    /// How many plate frames before a frame its matte depends on: a host
    /// rendering out of order hands them to [`ShotCompositor::remember`].
    pub const FRAMES_BEFORE: u64 = WINDOW;

    /// Whether frames' mattes depend on earlier plate frames: the shot is
    /// keyed and its plate noisy enough to be averaged over time, or its
    /// matte is a person's (known once a frame is rendered or primed).
    pub fn needs_earlier_frames(&self) -> bool {
        let remembered = !self.history.is_empty() || !self.kept_history.is_empty();
        !matches!(self.matte, MatteFrom::Host(_)) && remembered
    }

    /// Remembers frame `index`'s plate for the frames after it, as if it
    /// had been rendered; does nothing when this plate is remembered already
    /// (by this compositor or any copy), or when the matte is the host's.
    pub fn remember(&mut self, index: u64, plate: &FrameView<'_>) -> Result<()> {
        match self.matte.clone() {
            MatteFrom::Key(_) => {
                if !self.history.holds(index, plate)
                    && let (_, Some(frame), _) = self.key_frame(index, plate)?
                {
                    self.history.remember(Arc::new(frame));
                }
                if let Some(model) = self.keep_person.clone()
                    && !self.kept_history.holds(index, plate)
                {
                    let (_, frame) = self.person_frame(index, plate, model.as_ref(), self.kept_history.spare())?;
                    self.kept_history.remember(Arc::new(frame));
                }
            }
            MatteFrom::Person(person) => {
                if !self.history.holds(index, plate) {
                    let (_, frame) = self.person_frame(index, plate, person.model.as_ref(), self.history.spare())?;
                    self.history.remember(Arc::new(frame));
                }
            }
            MatteFrom::Host(_) => {}
        }
        Ok(())
    }

    /// Frame `index`'s key, smoothed when noisy; the frame to remember when
    /// its noise would make a still edge boil; and the noise it was keyed
    /// with. Samples the screen on this frame if none was yet.
    fn key_frame(&mut self, index: u64, plate: &FrameView<'_>) -> Result<(Matte, Option<KeyedFrame>, f32)> {
        self.sample_screen(plate)?;
        // The plain key is kept when this frame will be averaged over time,
        // which its own noise (measured before the pass that keys it) says.
        let shot = self.noise;
        let averaged = |frame: f32| noise_for(shot, frame) >= TEMPORAL_ABOVE;
        let raw = raw_key(plate, self.screen.as_ref().expect("sampled above"), &mut self.scratch.key, averaged)?;
        let noise = noise_for(shot, raw.noise);
        self.noise.get_or_insert(raw.noise);
        let (values, frame) = prepared(index, plate, raw.values, noise, &mut self.scratch.key, &self.history)?;
        Ok((values, frame, noise))
    }

    /// Frame `index`'s small copy, and the model's probability on it as
    /// the frame to remember (with the means its stillness is judged on),
    /// packed into `buffer` (the spare of the history it will join).
    fn person_frame(
        &mut self,
        index: u64,
        plate: &FrameView<'_>,
        model: &dyn PersonModel,
        buffer: Vec<u32>,
    ) -> Result<(Frame, KeyedFrame)> {
        let (small, probability) = segment(plate, model)?;
        stillness_means(&small, &mut self.scratch.person.luma, &mut self.scratch.key.mean);
        let frame = KeyedFrame::new(index, plate, &probability, &self.scratch.key.mean, buffer);
        Ok((small, frame))
    }

    /// The interior of the kept person's matte on frame `index` (averaged
    /// with earlier frames where still, like a person matte): the matte
    /// shrunk by [`KEEP_INSIDE`], so that edges stay the key's.
    fn person_core(&mut self, index: u64, plate: &FrameView<'_>, model: &dyn PersonModel) -> Result<Matte> {
        let (small, frame) = self.person_frame(index, plate, model, self.kept_history.spare())?;
        let averaged = self.kept_history.averaged(frame, STILL_NOISE);
        // Shrunk on the small copy (the same reach in plate pixels, at a
        // fraction of the cost), then brought to full size.
        let inside = (KEEP_INSIDE * plate.width().div_ceil(512)) as usize;
        let reach = (inside * small.width() as usize).div_ceil(plate.width() as usize);
        let mut probability = Matte::from_values(small.width(), small.height(), averaged)?;
        grow(&mut probability, -(reach as i32));
        guided_upsample(&small, probability.values(), plate, &mut self.scratch.person)
    }

    /// Keeps solid what `model` is sure is a person (its matte's
    /// interior), whatever the key says: foreground the colour of the
    /// screen (a navy shirt on blue). Edges stay the key's, cleaned up by
    /// the key options before the person is kept. Only a keyed shot uses
    /// it (a person's or the host's matte has nothing to hold).
    pub fn keep_person(&mut self, model: Arc<dyn PersonModel>) {
        self.keep_person = Some(model);
    }

    /// Where the shot's matte comes from.
    pub fn matte_from(&self) -> &MatteFrom {
        &self.matte
    }

    /// The screen the shot is keyed against, once sampled.
    pub fn screen(&self) -> Option<&Screen> {
        self.screen.as_ref()
    }

    /// The camera path so far (the move since the first frame, and how much
    /// textured background each step was measured on), when tracking; the
    /// whole path when it was given.
    pub fn camera_path(&self) -> Option<&[(CameraMove, f32)]> {
        match &self.known_path {
            Some(path) => Some(path),
            None => self.tracker.as_ref().map(|t| t.path.as_slice()),
        }
    }

    /// Moves the background along `path` (the shot's camera path, one
    /// entry per plate frame, as [`ShotCompositor::camera_path`] gives it
    /// after a whole tracked run) instead of tracking: frames then render
    /// in any order, as a farm's chunks do.
    pub fn follow_camera(&mut self, path: Vec<(CameraMove, f32)>) {
        self.tracker = None;
        self.known_path = Some(path.into());
    }

    /// Tracks the camera on frame `index` (the frames of the shot in
    /// order, from the first) without compositing: its matte, then the move
    /// since the first frame. What a whole run's [`ShotCompositor::render`]
    /// would track, for a shot rendered in chunks.
    pub fn track(
        &mut self,
        index: u64,
        plate: &FrameView<'_>,
        host_matte: Option<&FrameView<'_>>,
    ) -> Result<CameraMove> {
        if self.tracker.is_none() {
            return Err(Error::invalid_argument("this compositor does not track the camera"));
        }
        let matte = self.matte(index, plate, host_matte)?;
        self.tracker.as_mut().expect("checked above").track(plate, Some(&matte))
    }

    /// The options it integrates with.
    pub fn options(&self) -> &CompositeOptions {
        self.compositor.options()
    }

    /// Samples the screen on `plate` (the shot's first frame), unless done
    /// (or the matte comes from the host). An error says the plate shows
    /// no screen.
    pub fn sample_screen(&mut self, plate: &FrameView<'_>) -> Result<()> {
        if let (MatteFrom::Key(options), None) = (&self.matte, &self.screen) {
            self.screen = Some(find_screen(plate, options.screen)?);
        }
        Ok(())
    }

    /// The matte of frame `index`'s `plate`: keyed against the shot's
    /// screen (sampled on this frame if none was yet) and averaged with the
    /// remembered frames before it where still, or the host's `host_matte`.
    pub fn matte(&mut self, index: u64, plate: &FrameView<'_>, host_matte: Option<&FrameView<'_>>) -> Result<Matte> {
        self.sample_screen(plate)?;
        match (self.matte.clone(), host_matte) {
            (MatteFrom::Key(options), _) => {
                check_clips(&options)?;
                let (mut values, frame, noise) = self.key_frame(index, plate)?;
                if let Some(frame) = frame {
                    // The raw key is in the frame's packed words now: its
                    // buffer takes the average.
                    self.history.average_into(frame, noise, values.values_mut());
                }
                let mut matte = finish_key(values, noise, &options)?;
                if let Some(model) = self.keep_person.clone() {
                    let core = self.person_core(index, plate, model.as_ref())?;
                    for (a, c) in matte.values_mut().iter_mut().zip(core.values()) {
                        *a = a.max(*c);
                    }
                }
                Ok(matte)
            }
            (MatteFrom::Person(person), _) => {
                let (small, frame) = self.person_frame(index, plate, person.model.as_ref(), self.history.spare())?;
                let averaged = self.history.averaged(frame, STILL_NOISE);
                let mut matte = guided_upsample(&small, &averaged, plate, &mut self.scratch.person)?;
                clean(&mut matte, &person.cleanup);
                Ok(matte)
            }
            (MatteFrom::Host(channel), Some(m)) => {
                if (m.width(), m.height()) != (plate.width(), plate.height()) {
                    return Err(Error::invalid_argument(format!(
                        "the matte is {}x{} but the plate is {}x{}",
                        m.width(),
                        m.height(),
                        plate.width(),
                        plate.height()
                    )));
                }
                match channel {
                    MatteChannel::Alpha => Matte::from_alpha(m),
                    MatteChannel::Luma => Matte::from_luma(m),
                }
            }
            (MatteFrom::Host(_), None) => {
                Err(Error::invalid_argument("this shot's matte comes from the host, and none was given"))
            }
        }
    }

    /// Measures the shot on its first frames (the screen, the colour
    /// transfer, defocus and grain) without writing anything, so that
    /// copies made with [`ShotCompositor::for_frame`] render any frame as
    /// the sequential render would.
    pub fn prime(
        &mut self,
        plate: &FrameView<'_>,
        host_matte: Option<&FrameView<'_>>,
        background: &FrameView<'_>,
    ) -> Result<()> {
        if self.primed {
            return Ok(());
        }
        let mut scratch = Frame::new(plate.width(), plate.height(), plate.format())?;
        let tracker = self.tracker.take();
        let rendered = self.render(0, plate, host_matte, background, ShotOutput::Composite, &mut scratch.view_mut());
        self.tracker = tracker;
        rendered.map(|_| ())
    }

    /// A copy that renders frame `index` of the shot on its own (in any
    /// order, on any thread). Needs the first frames primed; a tracked
    /// camera needs the frames in order, so it is refused.
    pub fn for_frame(&self, index: u64) -> Result<ShotCompositor> {
        if self.tracker.is_some() && self.known_path.is_none() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "a composite that tracks the camera renders its frames in order, one compositor per shot",
            ));
        }
        if !self.primed {
            return Err(Error::internal("prime the shot's compositor on its first frames first"));
        }
        let mut copy = self.clone();
        copy.compositor.set_frame_index(index);
        Ok(copy)
    }

    /// Renders the next frame of the shot (frame `index`) into `out` (the
    /// plate's size, any format): the plate keyed (or with the host's
    /// matte) over `background` (any size: fitted by the options' policy,
    /// and moved with the camera when tracking). Returns the matte it used.
    pub fn render(
        &mut self,
        index: u64,
        plate: &FrameView<'_>,
        host_matte: Option<&FrameView<'_>>,
        background: &FrameView<'_>,
        output: ShotOutput,
        out: &mut FrameViewMut<'_>,
    ) -> Result<Matte> {
        if (out.width(), out.height()) != (plate.width(), plate.height()) {
            return Err(Error::invalid_argument(format!(
                "the output is {}x{} but the plate is {}x{}",
                out.width(),
                out.height(),
                plate.width(),
                plate.height()
            )));
        }
        let matte = self.matte(index, plate, host_matte)?;
        let screen = match self.matte {
            MatteFrom::Key(_) => self.screen,
            MatteFrom::Person(_) | MatteFrom::Host(_) => None,
        };
        match output {
            ShotOutput::Matte => {
                matte.write_grey(out)?;
                return Ok(matte);
            }
            ShotOutput::Foreground => {
                keyed_foreground(plate, &matte, screen.as_ref(), self.options().spill, out)?;
                return Ok(matte);
            }
            ShotOutput::Composite => {}
        }
        let (w, h) = (plate.width(), plate.height());
        let moved;
        let camera = match (&mut self.tracker, &self.known_path) {
            (_, Some(path)) => Some(path.get(index as usize).map(|p| p.0).ok_or_else(|| {
                Error::invalid_argument(format!(
                    "the camera path has {} frames; frame {} of the plate is past it",
                    path.len(),
                    index + 1
                ))
            })?),
            (Some(tracker), None) => Some(tracker.track(plate, Some(&matte))?),
            (None, None) => None,
        };
        let background = match camera {
            Some(camera) => {
                // Fitted first: the camera moves the plate's pixels.
                let fitted;
                let fitted_view = if (background.width(), background.height()) != (w, h) {
                    fitted = fit_background(background, w, h, self.compositor.options().fit)?;
                    fitted.view()
                } else {
                    *background
                };
                moved = move_background(&fitted_view, &camera)?;
                moved.view()
            }
            None => *background,
        };
        self.compositor.set_frame_index(index);
        self.compositor.composite(plate, &matte, screen.as_ref(), &background, out)?;
        self.primed = true;
        Ok(matte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    /// A grey square on green, the square `shift` pixels right.
    fn plate(shift: u32) -> Frame {
        let mut f = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        f.view_mut().fill([0.1, 0.8, 0.2, 1.0]);
        let bytes = f.as_bytes_mut();
        for y in 16..32 {
            for x in (20 + shift)..(36 + shift) {
                let i = (y * 64 + x as usize) * 4;
                bytes[i..i + 3].copy_from_slice(&[128, 128, 128]);
            }
        }
        f
    }

    #[test]
    fn copies_for_any_frame_render_what_the_sequence_renders() {
        let mut sky = Frame::new(96, 72, PixelFormat::Rgba8).unwrap();
        sky.view_mut().fill([0.3, 0.5, 0.9, 1.0]);
        let options = CompositeOptions { grain: 0.5, ..Default::default() };
        let mut sequential = ShotCompositor::new(MatteFrom::Key(KeyOptions::default()), options, false).unwrap();
        let frames: Vec<Frame> = (0..3).map(plate).collect();
        let mut outs = Vec::new();
        for (k, f) in frames.iter().enumerate() {
            let mut out = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
            sequential
                .render(k as u64, &f.view(), None, &sky.view(), ShotOutput::Composite, &mut out.view_mut())
                .unwrap();
            outs.push(out);
        }
        let mut primed = ShotCompositor::new(MatteFrom::Key(KeyOptions::default()), options, false).unwrap();
        primed.prime(&frames[0].view(), None, &sky.view()).unwrap();
        for k in [2usize, 0, 1] {
            let mut out = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
            let mut copy = primed.for_frame(k as u64).unwrap();
            copy.render(k as u64, &frames[k].view(), None, &sky.view(), ShotOutput::Composite, &mut out.view_mut())
                .unwrap();
            assert_eq!(out, outs[k], "frame {k}");
        }
        // Tracking needs order: no copies.
        let mut tracked = ShotCompositor::new(MatteFrom::Key(KeyOptions::default()), options, true).unwrap();
        tracked.prime(&frames[0].view(), None, &sky.view()).unwrap();
        assert_eq!(tracked.for_frame(1).unwrap_err().kind(), ErrorKind::Unsupported);
    }

    /// `plate(shift)` with sensor noise (sigma 10/255 per channel) seeded by `seed`.
    fn noisy(shift: u32, seed: u64) -> Frame {
        noisy_by(10.0, shift, seed)
    }

    /// `plate(shift)` with sensor noise of sigma `sigma`/255 per channel.
    fn noisy_by(sigma: f32, shift: u32, seed: u64) -> Frame {
        use crate::composite::background::grain_noise;
        let mut f = plate(shift);
        for (i, v) in f.as_bytes_mut().iter_mut().enumerate() {
            if i % 4 != 3 {
                *v = (*v as f32 + sigma * grain_noise(i as u64, seed)).round().clamp(0.0, 255.0) as u8;
            }
        }
        f
    }

    fn mattes(shot: &mut ShotCompositor, frames: &[Frame], sky: &Frame) -> Vec<Matte> {
        let mut out = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        (0..frames.len())
            .map(|k| {
                let view = frames[k].view();
                shot.render(k as u64, &view, None, &sky.view(), ShotOutput::Composite, &mut out.view_mut()).unwrap()
            })
            .collect()
    }

    /// Mean |change| of the matte from frame to frame, within 2 px of the square's edge.
    fn edge_flicker(mattes: &[Matte]) -> f32 {
        let near_edge = |x: u32, y: u32| {
            let far_inside = (22..34).contains(&x) && (18..30).contains(&y);
            let near = (18..38).contains(&x) && (14..34).contains(&y);
            near && !far_inside
        };
        let mut sum = 0.0;
        let mut n = 0;
        for pair in mattes.windows(2) {
            for y in 0..48 {
                for x in 0..64 {
                    if near_edge(x, y) {
                        sum += (pair[0].at(x, y) - pair[1].at(x, y)).abs();
                        n += 1;
                    }
                }
            }
        }
        sum / n as f32
    }

    /// A still 96 x 64 shot: a bar of skin on green whose sides are ramps
    /// 24 px wide (motion blur), with sensor noise of sigma 6/255 drawn
    /// afresh for each `seed`.
    fn blurred_bar(seed: u64) -> Frame {
        use crate::composite::background::grain_noise;
        use crate::pixels::color::{linear_to_srgb, srgb_to_linear};
        let (screen, skin) = ([0.1f32, 0.8, 0.2], [0.95f32, 0.8, 0.75]);
        let mut f = Frame::new(96, 64, PixelFormat::Rgba8).unwrap();
        for (i, px) in f.as_bytes_mut().chunks_exact_mut(4).enumerate() {
            let x = (i % 96) as f32;
            let a = ((x - 12.0) / 24.0).min((84.0 - x) / 24.0).clamp(0.0, 1.0);
            for c in 0..3 {
                let v = linear_to_srgb(a * srgb_to_linear(skin[c]) + (1.0 - a) * srgb_to_linear(screen[c]));
                let noise = 6.0 * grain_noise((i * 4 + c) as u64, seed);
                px[c] = (v * 255.0 + noise).round().clamp(0.0, 255.0) as u8;
            }
            px[3] = 255;
        }
        f
    }

    #[test]
    fn a_still_motion_blurred_edge_does_not_boil() {
        let mut sky = Frame::new(96, 64, PixelFormat::Rgba8).unwrap();
        sky.view_mut().fill([0.3, 0.5, 0.9, 1.0]);
        let key = MatteFrom::Key(KeyOptions::default());
        let shot = || ShotCompositor::new(key.clone(), CompositeOptions::default(), false).unwrap();
        let frames: Vec<Frame> = (0..10).map(blurred_bar).collect();
        let mut out = Frame::new(96, 64, PixelFormat::Rgba8).unwrap();
        let mut render = |shot: &mut ShotCompositor, k: usize| {
            shot.render(k as u64, &frames[k].view(), None, &sky.view(), ShotOutput::Composite, &mut out.view_mut())
                .unwrap()
        };
        let mut sequence = shot();
        let averaged: Vec<Matte> = (0..frames.len()).map(|k| render(&mut sequence, k)).collect();
        let alone: Vec<Matte> = (0..frames.len()).map(|k| render(&mut shot(), k)).collect();
        // The ramps, away from the frame's top and bottom rows.
        let flicker = |mattes: &[Matte]| {
            let (mut sum, mut n) = (0.0, 0);
            for pair in mattes.windows(2) {
                for y in 4..60 {
                    for x in (13..36).chain(61..84) {
                        sum += (pair[0].at(x, y) - pair[1].at(x, y)).abs();
                        n += 1;
                    }
                }
            }
            sum / n as f32
        };
        let (with, without) = (flicker(&averaged[5..]), flicker(&alone[5..]));
        assert!(with < 0.4 * without, "flicker {with} with the frames before, {without} alone");
    }

    #[test]
    fn a_still_edge_does_not_boil_and_a_moving_one_leaves_no_trail() {
        let mut sky = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        sky.view_mut().fill([0.3, 0.5, 0.9, 1.0]);
        let key = MatteFrom::Key(KeyOptions::default());
        let still: Vec<Frame> = (0..8).map(|seed| noisy(0, seed)).collect();
        let shot = || ShotCompositor::new(key.clone(), CompositeOptions::default(), false).unwrap();
        let averaged = mattes(&mut shot(), &still, &sky);
        // Each frame keyed on its own: a fresh compositor per frame.
        let alone: Vec<Matte> =
            still.iter().map(|f| mattes(&mut shot(), std::slice::from_ref(f), &sky).remove(0)).collect();
        let (with, without) = (edge_flicker(&averaged[4..]), edge_flicker(&alone[4..]));
        assert!(with < 0.5 * without, "flicker {with} with the frames before, {without} alone");
        // Moving 3 px a frame: the edge where the square was is screen
        // again, and its edges now are no further from the clean plate's
        // than the frame keyed alone.
        let moving: Vec<Frame> = (0..6).map(|k| noisy(3 * k, k as u64)).collect();
        let last = mattes(&mut shot(), &moving, &sky).pop().unwrap();
        let alone = mattes(&mut shot(), &moving[5..], &sky).pop().unwrap();
        let clean = mattes(&mut shot(), &[plate(15)], &sky).pop().unwrap();
        for y in 18..30 {
            for x in [20, 21, 22] {
                assert!(
                    last.at(x, y) < 0.05 && alone.at(x, y) < 0.05,
                    "({x},{y}): {} vs {}",
                    last.at(x, y),
                    alone.at(x, y)
                );
            }
            for x in [35 + 15, 36 + 15] {
                let (ours, single) = ((last.at(x, y) - clean.at(x, y)).abs(), (alone.at(x, y) - clean.at(x, y)).abs());
                assert!(ours <= single + 0.02, "({x},{y}): {ours} from the clean key, {single} keyed alone");
            }
        }
    }

    #[test]
    fn a_panning_shot_is_averaged_along_its_move() {
        // The camera pans 1 px a frame: every edge moves, none is still in
        // place, yet each is the same edge a pixel on.
        let mut sky = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        sky.view_mut().fill([0.3, 0.5, 0.9, 1.0]);
        let key = MatteFrom::Key(KeyOptions::default());
        let shot = || ShotCompositor::new(key.clone(), CompositeOptions::default(), false).unwrap();
        let frames: Vec<Frame> = (0..9).map(|k| noisy(k, k as u64)).collect();
        let averaged = mattes(&mut shot(), &frames, &sky);
        let alone = |k: usize| mattes(&mut shot(), std::slice::from_ref(&frames[k]), &sky).remove(0);
        let clean = |k: usize| mattes(&mut shot(), &[plate(k as u32)], &sky).remove(0);
        // Mean |error| against the clean plate's matte within 2 px of the
        // square's edges, where it is on frame k.
        let edge_error = |matte: &Matte, k: usize| {
            let truth = clean(k);
            let (mut sum, mut n) = (0.0, 0);
            for y in 14..34u32 {
                for x in (18 + k as u32)..(38 + k as u32) {
                    let inside = (22 + k as u32..34 + k as u32).contains(&x) && (18..30).contains(&y);
                    if !inside {
                        sum += (matte.at(x, y) - truth.at(x, y)).abs();
                        n += 1;
                    }
                }
            }
            sum / n as f32
        };
        let (with, without): (f32, f32) = (5..9)
            .map(|k| (edge_error(&averaged[k], k), edge_error(&alone(k), k)))
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert!(with < 0.6 * without, "edge error {with} along the pan, {without} alone");
    }

    #[test]
    fn frames_noisier_than_a_clean_first_frame_are_averaged() {
        // The light dims or the gain rises after a clean first frame: the
        // later frames' own noise decides that they are averaged.
        let mut sky = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        sky.view_mut().fill([0.3, 0.5, 0.9, 1.0]);
        let key = MatteFrom::Key(KeyOptions::default());
        let shot = || ShotCompositor::new(key.clone(), CompositeOptions::default(), false).unwrap();
        let frames: Vec<Frame> = std::iter::once(plate(0)).chain((1..9).map(|seed| noisy(0, seed))).collect();
        let averaged = mattes(&mut shot(), &frames, &sky);
        let alone: Vec<Matte> =
            frames.iter().map(|f| mattes(&mut shot(), std::slice::from_ref(f), &sky).remove(0)).collect();
        let (with, without) = (edge_flicker(&averaged[5..]), edge_flicker(&alone[5..]));
        assert!(with < 0.5 * without, "flicker {with} after a clean first frame, {without} alone");
    }

    #[test]
    fn copies_handed_the_earlier_frames_render_what_the_sequence_renders() {
        let mut sky = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        sky.view_mut().fill([0.3, 0.5, 0.9, 1.0]);
        let key = MatteFrom::Key(KeyOptions::default());
        let frames: Vec<Frame> = (0..7).map(|k| noisy(k / 3, k as u64)).collect();
        let mut sequential = ShotCompositor::new(key.clone(), CompositeOptions::default(), false).unwrap();
        let expected = mattes(&mut sequential, &frames, &sky);
        let mut primed = ShotCompositor::new(key.clone(), CompositeOptions::default(), false).unwrap();
        primed.prime(&frames[0].view(), None, &sky.view()).unwrap();
        assert!(primed.needs_earlier_frames());
        let mut out = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        for k in [6u64, 2, 5, 0, 1] {
            let mut copy = primed.for_frame(k).unwrap();
            for back in 1..=k.min(ShotCompositor::FRAMES_BEFORE) {
                copy.remember(k - back, &frames[(k - back) as usize].view()).unwrap();
            }
            let view = frames[k as usize].view();
            let matte = copy.render(k, &view, None, &sky.view(), ShotOutput::Composite, &mut out.view_mut()).unwrap();
            let differing = matte.values().iter().zip(expected[k as usize].values()).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "frame {k}: {differing} matte values differ from the sequential render");
        }
        // Without them a copy keys its frame alone, and differs.
        let mut fresh = ShotCompositor::new(key.clone(), CompositeOptions::default(), false).unwrap();
        fresh.prime(&frames[0].view(), None, &sky.view()).unwrap();
        let view = frames[3].view();
        let alone =
            fresh.for_frame(3).unwrap().render(3, &view, None, &sky.view(), ShotOutput::Composite, &mut out.view_mut());
        assert!(alone.unwrap() != expected[3], "a copy without the earlier frames rendered the sequence's matte");
    }

    #[test]
    fn copies_handed_the_earlier_frames_keep_the_person_as_the_sequence_does() {
        let keeping = || {
            let mut shot =
                ShotCompositor::new(MatteFrom::Key(KeyOptions::default()), CompositeOptions::default(), false).unwrap();
            shot.keep_person(Arc::new(RectangleModel { waver: 0.2 }));
            shot
        };
        let mut sky = Frame::new(128, 96, PixelFormat::Rgba8).unwrap();
        sky.view_mut().fill([0.9, 0.6, 0.3, 1.0]);
        let frames: Vec<Frame> = (0..5).map(|k| navy_on_blue(3.0, k)).collect();
        let mut out = Frame::new(128, 96, PixelFormat::Rgba8).unwrap();
        let mut render = |shot: &mut ShotCompositor, k: usize| {
            shot.render(k as u64, &frames[k].view(), None, &sky.view(), ShotOutput::Composite, &mut out.view_mut())
                .unwrap()
        };
        let mut sequential = keeping();
        let expected: Vec<Matte> = (0..5).map(|k| render(&mut sequential, k)).collect();
        let mut primed = keeping();
        primed.prime(&frames[0].view(), None, &sky.view()).unwrap();
        assert!(primed.needs_earlier_frames());
        for k in [4usize, 2, 3] {
            let mut copy = primed.for_frame(k as u64).unwrap();
            for back in 1..=k {
                copy.remember((k - back) as u64, &frames[k - back].view()).unwrap();
            }
            assert!(render(&mut copy, k) == expected[k], "frame {k} differs from the sequential render");
        }
        // Without them the kept person's wavering is not averaged away (a
        // fresh compositor: copies share what any of them remembered).
        let mut fresh = keeping();
        fresh.prime(&frames[0].view(), None, &sky.view()).unwrap();
        let mut alone = fresh.for_frame(4).unwrap();
        assert!(
            render(&mut alone, 4) != expected[4],
            "a copy without the earlier frames rendered the sequence's matte"
        );
    }

    /// A test model's noise seed, drawn from the small copy's bytes: the
    /// same plate, the same answer.
    fn seed_of(small: &Frame) -> u64 {
        small.as_bytes().iter().fold(7u64, |h, &b| h.wrapping_mul(31).wrapping_add(b as u64))
    }

    /// Person where the plate is grey (the square of `plate`), wavering as
    /// a model's answer does from frame to frame: by up to 0.15 a pixel,
    /// drawn from the small copy's bytes (so the same plate, the same answer).
    #[derive(Debug)]
    struct WaveringModel;

    impl crate::composite::PersonModel for WaveringModel {
        fn person_probability(&self, small: &Frame) -> Result<Vec<f32>> {
            use crate::composite::background::grain_noise;
            let seed = seed_of(small);
            let bytes = small.as_bytes().chunks_exact(4);
            Ok(bytes
                .enumerate()
                .map(|(i, p)| {
                    let grey = 1.0 - ((p[1] as f32 - p[0] as f32) / 180.0).clamp(0.0, 1.0);
                    (grey + 0.15 * grain_noise(i as u64, seed)).clamp(0.0, 1.0)
                })
                .collect())
        }
    }

    /// A model that takes a rectangle for the person: the plate's pixels
    /// 28..100 by 12..96 of a 128 x 96 plate (a coarse model's margin of
    /// 4 px round the subject at 32..96 by 16..96), whatever their colour;
    /// with `waver`, each answer inside `1 - waver` give or take `waver`
    /// times a noise (drawn from the copy's bytes: the same plate, the same
    /// answer).
    #[derive(Debug)]
    struct RectangleModel {
        waver: f32,
    }

    impl crate::composite::PersonModel for RectangleModel {
        fn person_probability(&self, small: &Frame) -> Result<Vec<f32>> {
            use crate::composite::background::grain_noise;
            let seed = seed_of(small);
            let (w, h) = (small.width() as f32, small.height() as f32);
            Ok((0..small.height())
                .flat_map(|y| (0..small.width()).map(move |x| (x, y)))
                .enumerate()
                .map(|(i, (x, y))| {
                    let (px, py) = ((x as f32 + 0.5) * 128.0 / w, (y as f32 + 0.5) * 96.0 / h);
                    let inside = if (28.0..100.0).contains(&px) && py >= 12.0 { 1.0 } else { 0.0 };
                    (inside * (1.0 - self.waver + self.waver * grain_noise(i as u64, seed))).clamp(0.0, 1.0)
                })
                .collect())
        }
    }

    /// A grey subject on blue (32..96 by 16..96 of 128 x 96), wearing a
    /// patch (56..72 by 40..60) of the screen's own hue, darker: no colour
    /// key can call it foreground. With sensor noise of `sigma` / 255.
    fn navy_on_blue(sigma: f32, seed: u64) -> Frame {
        use crate::composite::background::grain_noise;
        let mut plate = Frame::new(128, 96, PixelFormat::Rgba8).unwrap();
        let bytes = plate.as_bytes_mut();
        for y in 0..96 {
            for x in 0..128 {
                let subject = (32..96).contains(&x) && y >= 16;
                let navy = (56..72).contains(&x) && (40..60).contains(&y);
                let colour: [u8; 3] = match (subject, navy) {
                    (_, true) => [18, 45, 143],
                    (true, false) => [140, 130, 120],
                    (false, _) => [26, 64, 204],
                };
                let i = (y * 128 + x) * 4;
                for c in 0..3 {
                    let n = sigma * grain_noise((i + c) as u64, seed);
                    bytes[i + c] = (colour[c] as f32 + n).round().clamp(0.0, 255.0) as u8;
                }
                bytes[i + 3] = 255;
            }
        }
        plate
    }

    #[test]
    fn a_kept_person_holds_clothes_the_screen_s_colour_and_leaves_screen_and_edges_to_the_key() {
        let plate = navy_on_blue(0.0, 1);
        let matte = |keep: bool| {
            let mut shot =
                ShotCompositor::new(MatteFrom::Key(KeyOptions::default()), CompositeOptions::default(), false).unwrap();
            if keep {
                shot.keep_person(Arc::new(RectangleModel { waver: 0.0 }));
            }
            shot.matte(0, &plate.view(), None).unwrap()
        };
        let (keyed, kept) = (matte(false), matte(true));
        assert!(keyed.at(64, 50) < 0.8, "the key alone keeps the patch at {}", keyed.at(64, 50));
        assert!(kept.at(64, 50) > 0.99, "the kept person's patch is {}", kept.at(64, 50));
        // The model's margin is screen, and stays the key's.
        for (x, y) in [(29, 50), (98, 50), (64, 13), (5, 5)] {
            assert!(kept.at(x, y) < 0.02, "screen at ({x},{y}) keyed {}", kept.at(x, y));
        }
        // The subject's edges are the key's.
        for y in 20..90 {
            for x in [31, 32, 95, 96] {
                assert_eq!(kept.at(x, y), keyed.at(x, y), "edge at ({x},{y})");
            }
        }
    }

    fn person() -> MatteFrom {
        MatteFrom::Person(PersonKey { model: Arc::new(WaveringModel), cleanup: Default::default() })
    }

    #[test]
    fn a_still_persons_matte_does_not_waver_and_a_moving_one_leaves_no_trail() {
        let mut sky = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        sky.view_mut().fill([0.3, 0.5, 0.9, 1.0]);
        let shot = || ShotCompositor::new(person(), CompositeOptions::default(), false).unwrap();
        // A quiet plate: its own noise passes through the guided filter at
        // the edge (as a key's does, frame by frame); what the history
        // steadies is the model's wavering.
        let still: Vec<Frame> = (0..8).map(|seed| noisy_by(0.5, 0, seed)).collect();
        let averaged = mattes(&mut shot(), &still, &sky);
        let alone: Vec<Matte> =
            still.iter().map(|f| mattes(&mut shot(), std::slice::from_ref(f), &sky).remove(0)).collect();
        let (with, without) = (edge_flicker(&averaged[4..]), edge_flicker(&alone[4..]));
        assert!(with < 0.5 * without, "flicker {with} with the frames before, {without} alone");
        // The square is the person, the screen is not.
        assert!(averaged[7].at(28, 24) > 0.9 && averaged[7].at(5, 5) < 0.1);
        let moving: Vec<Frame> = (0..6).map(|k| noisy(3 * k, k as u64)).collect();
        let last = mattes(&mut shot(), &moving, &sky).pop().unwrap();
        let alone = mattes(&mut shot(), &moving[5..], &sky).pop().unwrap();
        for y in 18..30 {
            for x in [20, 21, 22, 35 + 15, 36 + 15] {
                let (a, b) = (last.at(x, y), alone.at(x, y));
                assert!((a - b).abs() < 0.05, "({x},{y}): {a} after the moving frames, {b} alone");
            }
        }
    }

    #[test]
    fn a_person_matte_renders_the_same_from_copies_handed_the_earlier_frames() {
        let mut sky = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        sky.view_mut().fill([0.3, 0.5, 0.9, 1.0]);
        let frames: Vec<Frame> = (0..7).map(|k| noisy(k / 3, k as u64)).collect();
        let expected =
            mattes(&mut ShotCompositor::new(person(), CompositeOptions::default(), false).unwrap(), &frames, &sky);
        let mut primed = ShotCompositor::new(person(), CompositeOptions::default(), false).unwrap();
        primed.prime(&frames[0].view(), None, &sky.view()).unwrap();
        assert!(primed.needs_earlier_frames());
        let mut out = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        for k in [6u64, 2, 5] {
            let mut copy = primed.for_frame(k).unwrap();
            for back in 1..=k.min(ShotCompositor::FRAMES_BEFORE) {
                copy.remember(k - back, &frames[(k - back) as usize].view()).unwrap();
            }
            let view = frames[k as usize].view();
            let matte = copy.render(k, &view, None, &sky.view(), ShotOutput::Composite, &mut out.view_mut()).unwrap();
            assert!(matte == expected[k as usize], "frame {k} differs from the sequential render");
        }
    }

    #[test]
    fn a_host_matte_must_come_and_fit() {
        let p = plate(0);
        let sky = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        let mut shot =
            ShotCompositor::new(MatteFrom::Host(MatteChannel::Luma), CompositeOptions::default(), false).unwrap();
        let mut out = Frame::new(64, 48, PixelFormat::Rgba8).unwrap();
        let err = shot.render(0, &p.view(), None, &sky.view(), ShotOutput::Composite, &mut out.view_mut()).unwrap_err();
        assert!(err.to_string().contains("none was given"), "{err}");
        let small = Frame::new(32, 24, PixelFormat::Rgba8).unwrap();
        let err = shot
            .render(0, &p.view(), Some(&small.view()), &sky.view(), ShotOutput::Composite, &mut out.view_mut())
            .unwrap_err();
        assert!(err.to_string().contains("32x24"), "{err}");
    }
}
