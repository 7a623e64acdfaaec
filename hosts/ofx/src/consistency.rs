//! Mattebox Consistency (filter and general contexts): the frame with its
//! consistency scores drawn over it, a red border where a score falls
//! below 0.75 (drift), and on demand the shot's HTML report.
//!
//! A frame's scores come from the shot's first frame, the previous frame
//! and the frame itself (subject and background in VBench's form, flicker,
//! boiling, grade), and, in the general context, from the Reference clip's
//! first frame (character, location, grade and style match). Those frames
//! are declared in `getFramesNeeded`, so any frame renders on its own.
//!
//! The verdict must not change with how the host shows the frame: proxies,
//! non-square pixels and interlaced clips are scored on the analysis copy
//! the full-size, square-pixel frame would have (the first field, when
//! interlaced), and the overlay is drawn to the same proportions at every
//! scale. Past the Source's end, its last frame holds.

use std::ffi::CStr;
use std::path::PathBuf;

use mattebox_core::consistency::references::{ReferenceImage, References};
use mattebox_core::consistency::report::{ShotPage, html};
use mattebox_core::consistency::{ANALYSIS_WIDTH, PROBLEM_BELOW, ShotScorer, score_frame_in_shot};
use mattebox_core::shot::ReferenceKind;
use mattebox_core::staged::write_file;
use mattebox_core::{Frame, PixelFormat};

use crate::describe;
use crate::fields;
use crate::host::{Clip, Effect, FieldOrder, OfxError, OfxResult, Props, RenderScale};
use crate::plugin::Plugin;
use crate::sys::*;

const SOURCE: &CStr = c"Source";
const REFERENCE: &CStr = c"Reference";
const OUTPUT: &CStr = c"Output";
const OVERLAY: &CStr = c"overlay";
const REPORT_FILE: &CStr = c"reportFile";
const WRITE_REPORT: &CStr = c"writeReport";

pub(crate) struct Consistency;

/// Nothing is kept between renders: every frame is scored from the frames
/// it declares.
pub(crate) struct ConsistencyInstance;

fn has_reference(effect: &Effect) -> bool {
    effect.connected(REFERENCE)
}

/// How a clip's frames are shown: at what render scale, with what pixel
/// aspect ratio, interlaced or not.
#[derive(Clone, Copy)]
struct Look {
    scale: RenderScale,
    pixel_aspect: f64,
    order: Option<FieldOrder>,
}

impl Look {
    fn of(clip: &Clip, scale: RenderScale) -> Look {
        Look { scale, pixel_aspect: clip.pixel_aspect(), order: clip.field_order() }
    }

    /// A full-size, square-pixel, progressive frame: scored as it is, as
    /// the command line scores it.
    fn is_plain(&self) -> bool {
        self.scale.is_full() && (self.pixel_aspect - 1.0).abs() < 1e-9 && self.order.is_none()
    }

    /// What the scorer sees of `frame`: the analysis copy of the frame at
    /// full size with square pixels (at most [`ANALYSIS_WIDTH`] wide), made
    /// from the pixels at hand (the first field, when interlaced).
    fn analysed(&self, frame: Frame) -> OfxResult<Frame> {
        if self.is_plain() {
            return Ok(frame);
        }
        let width = (frame.width() as f64 * self.pixel_aspect / self.scale.x).round().max(1.0) as u32;
        let height = (frame.height() as f64 / self.scale.y).round().max(1.0) as u32;
        let factor = width.div_ceil(ANALYSIS_WIDTH).max(1);
        let piece = fields::parts(frame, self.order)?.swap_remove(0);
        Ok(mattebox_core::pixels::resample(&piece.view(), width.div_ceil(factor), height.div_ceil(factor))?)
    }
}

/// The Reference clip's first frame (as the scorer sees it at `scale`) as
/// the character, the location and the look; none without the clip.
fn references(effect: &Effect, scale: RenderScale) -> OfxResult<Option<References>> {
    if !has_reference(effect) {
        return Ok(None);
    }
    let reference = effect.clip(REFERENCE)?;
    let frame = effect.frame(REFERENCE, effect.first_time(REFERENCE)?)?;
    let frame = Look::of(&reference, scale).analysed(frame)?;
    let image = ReferenceImage::describe(std::path::Path::new("Reference clip"), &frame)?;
    let mut refs = References::default();
    for kind in [ReferenceKind::Character, ReferenceKind::Location, ReferenceKind::Style] {
        refs.add_unnamed(kind, image.clone());
    }
    Ok(Some(refs))
}

/// Draws the scores as bars in the top-left corner (one per score, in the
/// order of `score_frame_in_shot`; green at or above 0.75, red below) and a red
/// border when any is below: drift. Sizes are full-size pixels times
/// `scale`, so a proxy shows the overlay as the full frame does.
fn draw_overlay(frame: &mut Frame, scores: &[(&str, f32)], scale: f64) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let px: &mut [f32] = bytemuck::cast_slice_mut(frame.as_bytes_mut());
    let mut paint = |x: usize, y: usize, rgb: [f32; 3], alpha: f32| {
        if x < w && y < h {
            let p = &mut px[(y * w + x) * 4..(y * w + x) * 4 + 4];
            for c in 0..3 {
                p[c] = p[c] * (1.0 - alpha) + rgb[c] * alpha;
            }
            p[3] = p[3].max(alpha);
        }
    };
    let full_width = (w as f64 / scale).round() as usize;
    let unit = (full_width / 320).max(1) as f64 * scale;
    let size = |v: f64| (v * unit).round().max(1.0) as usize;
    let (bar_h, gap, margin) = (size(4.0), size(2.0), size(6.0));
    let length = ((full_width / 4).max(8) as f64 * scale).round().max(2.0) as usize;
    let panel_h = scores.len() * (bar_h + gap) + gap;
    for y in margin - gap..margin + panel_h {
        for x in margin - gap..margin + length + gap {
            paint(x, y, [0.0, 0.0, 0.0], 0.55);
        }
    }
    for (i, (_, value)) in scores.iter().enumerate() {
        let colour = if *value >= PROBLEM_BELOW { [0.2, 0.8, 0.3] } else { [0.9, 0.2, 0.2] };
        let y0 = margin + i * (bar_h + gap);
        let filled = (value.clamp(0.0, 1.0) * length as f32).round() as usize;
        for y in y0..y0 + bar_h {
            for x in margin..margin + length {
                if x < margin + filled {
                    paint(x, y, colour, 1.0);
                } else {
                    paint(x, y, [0.35, 0.35, 0.35], 1.0);
                }
            }
        }
    }
    if scores.iter().any(|(_, v)| *v < PROBLEM_BELOW) {
        let border = size(3.0);
        for y in 0..h {
            for x in 0..w {
                if x < border || y < border || x + border >= w || y + border >= h {
                    paint(x, y, [0.9, 0.1, 0.1], 1.0);
                }
            }
        }
    }
}

impl Plugin for Consistency {
    type Instance = ConsistencyInstance;

    fn describe(effect: &Effect) -> OfxResult<()> {
        describe::effect(
            effect,
            c"Mattebox Consistency",
            c"Shows each frame's consistency scores as bars (subject, background, flicker, boiling, grade; and against \
              the Reference clip: character, location, grade match, style match), a red border where one falls \
              below 0.75, and writes the shot's HTML report on demand.",
            &[kOfxImageEffectContextFilter, kOfxImageEffectContextGeneral],
        )
    }

    fn describe_in_context(effect: &Effect, context: &str) -> OfxResult<()> {
        describe::input(effect, SOURCE, false)?;
        if context.as_bytes() == kOfxImageEffectContextGeneral.to_bytes() {
            describe::input(effect, REFERENCE, true)?;
        }
        describe::output(effect)?;
        let overlay =
            effect.define_param(kOfxParamTypeBoolean, OVERLAY, c"Overlay", c"Draw the scores over the frame.")?;
        overlay.set_int(kOfxParamPropDefault, 0, 1)?;
        overlay.set_int(kOfxParamPropAnimates, 0, 0)?;
        describe::string(effect, (REPORT_FILE, c"Report file", c"Where Write report puts the shot's HTML report."))?;
        effect.define_param(
            kOfxParamTypePushButton,
            WRITE_REPORT,
            c"Write report",
            c"Scores the whole shot and writes its HTML report to Report file.",
        )?;
        Ok(())
    }

    fn create(_: &Effect) -> OfxResult<ConsistencyInstance> {
        Ok(ConsistencyInstance)
    }

    fn frames_needed(_: &ConsistencyInstance, effect: &Effect, args: &Props, out: &Props) -> OfxResult<bool> {
        let time = effect.held_time(SOURCE, args.double(kOfxPropTime, 0)?)?;
        let first = effect.first_time(SOURCE)?;
        out.set_doubles(c"OfxImageClipPropFrameRange_Source", &[first, first, (time - 1.0).max(first), time])?;
        if has_reference(effect) {
            let reference = effect.first_time(REFERENCE)?;
            out.set_doubles(c"OfxImageClipPropFrameRange_Reference", &[reference, reference])?;
        }
        Ok(true)
    }

    fn is_identity(_: &ConsistencyInstance, effect: &Effect, args: &Props, out: &Props) -> OfxResult<bool> {
        let time = args.double(kOfxPropTime, 0)?;
        if effect.int_at(OVERLAY, time)? != 0 {
            return Ok(false);
        }
        out.set_string(kOfxPropName, 0, SOURCE)?;
        out.set_double(kOfxPropTime, 0, effect.held_time(SOURCE, time)?)?;
        Ok(true)
    }

    fn render(_: &ConsistencyInstance, effect: &Effect, args: &Props) -> OfxResult<()> {
        let output_time = args.double(kOfxPropTime, 0)?;
        let window = args.rect_i(kOfxImageEffectPropRenderWindow)?;
        let source = effect.clip(SOURCE)?;
        if !source.connected() {
            return Err(OfxError::failed("the Source clip is not connected"));
        }
        let mut out = effect
            .clip(OUTPUT)?
            .image(output_time)?
            .ok_or_else(|| OfxError::failed(format!("the host gave no Output image at {output_time}")))?;
        if window.x2 <= window.x1 || window.y2 <= window.y1 {
            return Ok(());
        }
        let time = effect.held_time(SOURCE, output_time)?;
        let scale = RenderScale::of(args);
        let look = Look::of(&source, scale);
        let image =
            source.image(time)?.ok_or_else(|| OfxError::failed(format!("the host gave no Source frame at {time}")))?;
        let bounds = image.bounds;
        let current = image.to_frame()?;
        drop(image);
        let first = effect.first_time(SOURCE)?;
        let mut frames = Vec::new();
        let (first_frame, previous);
        if time > first {
            first_frame = look.analysed(effect.frame(SOURCE, first)?)?;
            frames.push(&first_frame);
            if time - 1.0 > first {
                previous = look.analysed(effect.frame(SOURCE, time - 1.0)?)?;
                frames.push(&previous);
            }
        }
        // The frame itself when the scorer takes it as it is: no copy on the
        // common path.
        let analysed = if look.is_plain() { None } else { Some(look.analysed(current.clone())?) };
        frames.push(analysed.as_ref().unwrap_or(&current));
        let refs = references(effect, scale)?;
        let runtime = crate::host::runtime()?;
        let scores = runtime.install(|| score_frame_in_shot(&frames, refs.as_ref()))?;
        let mut result = current.to_format(PixelFormat::Rgba32F)?;
        draw_overlay(&mut result, &scores, scale.y);
        out.write(&result, bounds, window)
    }

    fn instance_changed(_: &ConsistencyInstance, effect: &Effect, name: &str, args: &Props) -> OfxResult<bool> {
        if name.as_bytes() != WRITE_REPORT.to_bytes() {
            return Ok(false);
        }
        let time = args.double(kOfxPropTime, 0).unwrap_or(0.0);
        let path = PathBuf::from(effect.string_at(REPORT_FILE, time)?);
        if path.as_os_str().is_empty() {
            return Err(OfxError::failed("set Report file to where the report should go, then press Write report"));
        }
        let source = effect.clip(SOURCE)?;
        if !source.connected() {
            return Err(OfxError::failed("the Source clip is not connected"));
        }
        let (first, last) = source.frame_range()?;
        let scale = RenderScale::of(args);
        let look = Look::of(&source, scale);
        let refs = references(effect, scale)?;
        let runtime = crate::host::runtime()?;
        let mut scorer = ShotScorer::new();
        let mut t = first.round();
        while t <= last {
            let frame = look.analysed(effect.frame(SOURCE, t)?)?;
            runtime.install(|| scorer.push(&frame.view()))?;
            t += 1.0;
        }
        let scores = scorer.finish()?;
        let matched = refs.as_ref().map(|r| r.score(&scores, &r.unnamed_expectation()));
        let page = [ShotPage { name: "Source clip", scores: &scores, references: matched.as_ref() }];
        let text = html("Mattebox consistency report", &page, refs.as_ref(), None)?;
        write_file(&path, text, true, "write the report")?;
        effect.message(kOfxMessageMessage, &format!("Mattebox: the consistency report is in {}", path.display()));
        Ok(true)
    }
}
