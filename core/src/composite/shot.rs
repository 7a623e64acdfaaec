//! One shot's composite, as every host renders it: the command line's
//! `composite`, the C ABI's `mb_compositor`, the OFX Composite effect and
//! the frei0r plugins all drive a [`ShotCompositor`] and nothing below it.
//!
//! What it decides, once for the shot:
//! - the matte's source: keyed against a screen sampled on the shot's first
//!   frame, or the host's matte (its alpha or its luma);
//! - the compositor's measurements (colour transfer, defocus, grain),
//!   made on the first frame it renders or primes on;
//! - the camera path, tracked frame to frame when asked (frames then come
//!   in order); the background is fitted to the plate before the camera
//!   moves it, so the move is in the plate's pixels whatever the
//!   background's size.
//!
//! Hosts that render frames in any order, on several threads, prime one
//! compositor on the shot's first frames and render each frame with a copy
//! ([`ShotCompositor::for_frame`]): the result equals the sequential one.

use crate::composite::camera::{CameraMove, CameraTracker, move_background};
use crate::composite::integrate::{CompositeOptions, Compositor, keyed_foreground};
use crate::composite::key::{KeyOptions, Screen, find_screen, key_with};
use crate::composite::matte::Matte;
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
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MatteFrom {
    /// Key each plate frame against the screen sampled on the first.
    Key(KeyOptions),
    /// The host gives a matte image with every frame.
    Host(MatteChannel),
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
    primed: bool,
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
            primed: false,
        })
    }

    /// The screen the shot is keyed against, once sampled.
    pub fn screen(&self) -> Option<&Screen> {
        self.screen.as_ref()
    }

    /// The camera path so far (the move since the first frame, and how much
    /// textured background each step was measured on), when tracking.
    pub fn camera_path(&self) -> Option<&[(CameraMove, f32)]> {
        self.tracker.as_ref().map(|t| t.path.as_slice())
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

    /// The matte of `plate`: keyed against the shot's screen (sampled on
    /// this frame if none was yet), or the host's `host_matte`.
    pub fn matte(&mut self, plate: &FrameView<'_>, host_matte: Option<&FrameView<'_>>) -> Result<Matte> {
        self.sample_screen(plate)?;
        match (&self.matte, host_matte) {
            (MatteFrom::Key(options), _) => key_with(plate, self.screen.as_ref().expect("sampled above"), options),
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
        if self.tracker.is_some() {
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
        let matte = self.matte(plate, host_matte)?;
        let screen = match self.matte {
            MatteFrom::Key(_) => self.screen,
            MatteFrom::Host(_) => None,
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
        let background = match &mut self.tracker {
            Some(tracker) => {
                let camera = tracker.track(plate, Some(&matte))?;
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
