//! The offline built-in generator: no network, no model, so the whole
//! product works anywhere.
//!
//! - **From a first frame** (or a last frame) it renders the camera move as
//!   a shot: the still is magnified just enough that the move never leaves
//!   it, then every frame samples it along the eased move, with parallax
//!   from a depth estimate (a far plane above the horizon it finds, a ground
//!   plane rising toward the camera below it).
//! - **From a first and a last frame** it morphs between them with the
//!   interpolation engine's optical flow.
//! - **From nothing** it renders a procedural landscape from the seed, in
//!   layers at known depths, so any move has true parallax.

use crate::error::{Error, Result};
use crate::frame::{Frame, FrameViewMut, PixelFormat, RowMut};
use crate::interp::{FlowPair, Mode};
use crate::pixels::sample::RgbaImage;
use crate::pixels::{Fit, fit_background};
use crate::shot::{Deviation, Field, ImageInput, ShotRequest, VideoInput, VideoRole};

use super::landscape::Landscape;
use super::motion::{Easing, Pose, headroom};
use super::{Generator, GeneratorInfo, TakeContext};

/// Extras the built-in generator reads.
const KNOWN_EXTRAS: [&str; 1] = ["easing"];
/// Past this magnification of a still the crop would be too coarse: the
/// move is allowed to reach the still's edge, whose pixels are stretched.
const MAX_HEADROOM: f32 = 3.0;

/// The offline generator (id `builtin`).
#[derive(Debug)]
pub struct BuiltinGenerator {
    info: GeneratorInfo,
}

impl Default for BuiltinGenerator {
    fn default() -> Self {
        BuiltinGenerator {
            info: GeneratorInfo {
                id: "builtin".into(),
                name: "Mattebox offline generator".into(),
                // Bump whenever output changes: cached takes are keyed on it.
                version: "1.0.0".into(),
                honours: vec![
                    Field::FirstFrame,
                    Field::LastFrame,
                    Field::Camera,
                    Field::Duration,
                    Field::Fps,
                    Field::Size,
                    Field::Seed,
                    Field::SourceVideo,
                ],
                // Each take already uses every core of the runtime.
                max_concurrent: 2,
                takes_per_call: 1,
            },
        }
    }
}

impl Generator for BuiltinGenerator {
    fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    fn generate(&self, cx: &mut TakeContext<'_>) -> Result<Vec<Deviation>> {
        let request = cx.request().clone();
        let easing = Easing::parse(request.extras.get("easing").map(String::as_str))?;
        let mut notes = common_deviations(&request);
        if let Some(source) = &request.source_video {
            return continue_source(cx, source, easing, notes);
        }
        match (&request.first_frame, &request.last_frame) {
            (None, None) => {
                let (land, palette) = Landscape::new(&request.prompt, cx.seed());
                notes.push(Deviation::approximated(
                    Field::Prompt,
                    format!("only a word naming a look steers the procedural plate; it used \"{palette}\""),
                ));
                let mut frame = Frame::new(request.width, request.height, PixelFormat::Rgba8)?;
                render_frames(cx, easing, (0.0, 1.0), &mut frame, |pose, out| land.render(pose, out))?;
            }
            (Some(still), None) | (None, Some(still)) => {
                // A last frame alone: the move ends at rest on it.
                let range = if request.first_frame.is_some() { (0.0, 1.0) } else { (-1.0, 0.0) };
                notes.extend(prompt_dropped(&request));
                move_over_still(cx, still, range, easing, &mut notes)?;
            }
            (Some(first), Some(last)) => {
                notes.extend(prompt_dropped(&request));
                if !request.camera.is_still() {
                    notes.push(Deviation::dropped(
                        Field::Camera,
                        "with both a first and a last frame the shot morphs from one to the other; \
                         the camera move is not applied",
                    ));
                }
                morph(cx, easing, first, last)?;
            }
        }
        Ok(notes)
    }
}

/// The camera move over `still`, through `range` of it.
fn move_over_still(
    cx: &mut TakeContext<'_>,
    still: &ImageInput,
    range: (f32, f32),
    easing: Easing,
    notes: &mut Vec<Deviation>,
) -> Result<()> {
    let request = cx.request().clone();
    let source = StillSource::new(still, &request, range, notes)?;
    let mut frame = Frame::new(request.width, request.height, still.frame().format())?;
    render_frames(cx, easing, range, &mut frame, |pose, out| source.render(pose, out))
}

/// A take with a source video: continued when its role is `extend` (a
/// camera move asked for wins: the shot starts on the source's last frame
/// and makes that move); the other roles need a model, so they fail rather
/// than make a take that ignores them.
fn continue_source(
    cx: &mut TakeContext<'_>,
    source: &VideoInput,
    easing: Easing,
    mut notes: Vec<Deviation>,
) -> Result<Vec<Deviation>> {
    let request = cx.request();
    if source.role() != VideoRole::Extend {
        return Err(Error::invalid_argument(format!(
            "the built-in generator cannot {} a video ({}); it only extends one. Use an adapter that can \
             (`mattebox plugin list` says which fields each honours)",
            source.role().name(),
            source.label()
        )));
    }
    notes.extend(prompt_dropped(request));
    if let Some(first) = &request.first_frame
        && !first.frame().view().same_pixels(&source.last_frame().view())
    {
        notes.push(Deviation::dropped(
            Field::FirstFrame,
            "a continuation starts from the source video's last frame, not from another first frame",
        ));
    }
    if request.last_frame.is_some() {
        notes.push(Deviation::dropped(Field::LastFrame, "a continuation follows the source's motion to no set end"));
    }
    if !request.camera.is_still() {
        let still = request.first_frame.clone().unwrap_or_else(|| {
            ImageInput::new(format!("{} (last frame)", source.label()), source.last_frame().clone())
        });
        notes.push(Deviation::approximated(
            Field::SourceVideo,
            "the camera move asked for replaces the source's own motion: the shot starts on its last frame \
             and makes that move",
        ));
        move_over_still(cx, &still, (0.0, 1.0), easing, &mut notes)?;
        return Ok(notes);
    }
    if request.extras.contains_key("easing") {
        notes.push(Deviation::dropped(Field::Extras, "easing: a continuation keeps the source's pace"));
    }
    notes.extend(super::extend::continue_video(cx, source)?);
    Ok(notes)
}

fn prompt_dropped(request: &ShotRequest) -> Option<Deviation> {
    (!request.prompt.trim().is_empty()).then(|| {
        Deviation::dropped(Field::Prompt, "the built-in generator animates the given image; it does not read prompts")
    })
}

fn common_deviations(request: &ShotRequest) -> Vec<Deviation> {
    let mut notes = Vec::new();
    if !request.references.is_empty() {
        notes.push(Deviation::dropped(Field::References, "the built-in generator does not follow reference images"));
    }
    if !request.negative_prompt.is_empty() {
        notes.push(Deviation::dropped(Field::NegativePrompt, "the built-in generator does not read prompts"));
    }
    if !request.audio.is_empty() {
        let roles: Vec<&str> = request.audio.iter().map(|a| a.role().name()).collect();
        notes.push(Deviation::dropped(
            Field::Audio,
            format!("the built-in generator makes no sound and follows none ({})", roles.join(", ")),
        ));
    }
    let unknown: Vec<&str> = request.extras.keys().map(String::as_str).filter(|k| !KNOWN_EXTRAS.contains(k)).collect();
    if !unknown.is_empty() {
        notes.push(Deviation::dropped(
            Field::Extras,
            format!(
                "unknown to the built-in generator: {} (it reads: {})",
                unknown.join(", "),
                KNOWN_EXTRAS.join(", ")
            ),
        ));
    }
    notes
}

/// Renders every frame of the shot with `paint` at the eased pose.
fn render_frames(
    cx: &mut TakeContext<'_>,
    easing: Easing,
    range: (f32, f32),
    frame: &mut Frame,
    paint: impl Fn(&Pose, &mut FrameViewMut<'_>) + Sync,
) -> Result<()> {
    let request = cx.request();
    let (count, camera) = (request.frame_count(), request.camera);
    let (w, h) = (request.width as f32, request.height as f32);
    for k in 0..count {
        cx.check_cancelled()?;
        let t = if count > 1 { k as f32 / (count - 1) as f32 } else { 0.0 };
        let pose = Pose::at(&camera, range.0 + (range.1 - range.0) * easing.apply(t), w, h);
        cx.runtime().install(|| paint(&pose, &mut frame.view_mut()));
        cx.emit(&frame.view())?;
    }
    Ok(())
}

/// A still ready for sampling: halved until it is at most twice as fine as
/// any frame needs (bilinear sampling would alias past that), with its
/// depth per row.
struct StillSource {
    image: RgbaImage,
    /// Source pixels per rest-view pixel at rest.
    scale: f32,
    depth_rows: Vec<f32>,
}

impl StillSource {
    fn new(still: &ImageInput, request: &ShotRequest, range: (f32, f32), notes: &mut Vec<Deviation>) -> Result<Self> {
        let mut image = RgbaImage::of(&still.frame().view())?;
        let (width, height) = (image.width, image.height);
        let (w, h) = (request.width as f32, request.height as f32);
        // Cover fit: source pixels per output pixel, and the still's half extents in output pixels.
        let fit = (width as f32 / w).min(height as f32 / h);
        let (half_w, half_h) = (width as f32 / fit / 2.0, height as f32 / fit / 2.0);
        let needed = headroom(&request.camera, range, w, h, half_w, half_h);
        let z0 = needed.min(MAX_HEADROOM);
        let which = if range.0 < 0.0 { "last" } else { "first" };
        if z0 > 1.001 {
            let field = if range.0 < 0.0 { Field::LastFrame } else { Field::FirstFrame };
            notes.push(Deviation::approximated(
                field,
                format!(
                    "the {which} frame is shown cropped to {:.0}% of its size, to leave room for the camera move \
                     (the built-in generator cannot invent what lies outside the image)",
                    100.0 / z0
                ),
            ));
        }
        if needed > MAX_HEADROOM {
            notes.push(Deviation::approximated(
                Field::Camera,
                format!("the move reaches past the edge of the {which} frame; edge pixels are stretched there"),
            ));
        }
        // The least magnified moment decides how fine the source must be.
        let least = (0..=16)
            .map(|i| {
                let p = range.0 + (range.1 - range.0) * i as f32 / 16.0;
                Pose::at(&request.camera, p, w, h).magnification(0.0).min(1.0)
            })
            .fold(1.0f32, f32::min);
        let mut scale = fit / z0;
        while scale / least > 2.0 && image.width >= 4 && image.height >= 4 {
            image = image.halve();
            scale /= 2.0;
        }
        let depth_rows = ground_depth(&image.rgba, image.width, image.height);
        Ok(StillSource { image, scale, depth_rows })
    }

    #[inline]
    fn depth_at(&self, sy: f32) -> f32 {
        let row = (sy.max(0.0) as usize).min(self.image.height - 1);
        self.depth_rows[row]
    }

    fn render(&self, pose: &Pose, out: &mut FrameViewMut<'_>) {
        let (w, h) = (out.width() as usize, out.height() as usize);
        let parallax = pose.has_parallax();
        let (cx, cy) = (self.image.width as f32 / 2.0, self.image.height as f32 / 2.0);
        out.par_rows_mut_init(
            || vec![0.0f32; w * 4],
            |line, y, row: RowMut<'_>| {
                let sy = y as f32 + 0.5 - h as f32 / 2.0;
                // The depth belongs to the scene point, which depends on the
                // depth: a few fixed-point steps settle it where depth varies
                // smoothly (it does: it follows the ground). Depth depends on
                // the source row only, so with a level horizon it is solved
                // once per row.
                let settle = |vx: f32, vy: f32| {
                    let (mut rx, mut ry) = pose.rest_of_unrolled(vx, vy, 0.5);
                    if parallax {
                        for _ in 0..3 {
                            let d = self.depth_at(ry * self.scale + cy);
                            (rx, ry) = pose.rest_of_unrolled(vx, vy, d);
                        }
                    }
                    (rx, ry)
                };
                if pose.is_level() {
                    let (_, ry) = settle(0.0, sy);
                    let d = if parallax { self.depth_at(ry * self.scale + cy) } else { 0.5 };
                    let (x0, _) = pose.rest_of_unrolled(-(w as f32) / 2.0 + 0.5, sy, d);
                    let step = pose.inverse_magnification(d) * self.scale;
                    let (src_x0, src_y) = (x0 * self.scale + cx - 0.5, ry * self.scale + cy - 0.5);
                    for (x, px) in line.chunks_exact_mut(4).enumerate() {
                        px.copy_from_slice(&self.image.sample(src_x0 + x as f32 * step, src_y));
                    }
                } else {
                    for x in 0..w {
                        let (vx, vy) = pose.unroll(x as f32 + 0.5 - w as f32 / 2.0, sy);
                        let (rx, ry) = settle(vx, vy);
                        let px = self.image.sample(rx * self.scale + cx - 0.5, ry * self.scale + cy - 0.5);
                        line[x * 4..x * 4 + 4].copy_from_slice(&px);
                    }
                }
                row.write_f32(line);
            },
        );
    }
}

/// Inverse depth per source row from a layered-planes model: find the
/// horizon as the row that best splits the image into two bands of
/// different colour (sky and land); above it the scene is far (0), below
/// it a ground plane comes toward the camera (inverse depth grows linearly
/// to 1 at the bottom, as it does for a flat ground). With no clear
/// horizon, lower in the frame is nearer.
fn ground_depth(rgba: &[f32], w: usize, h: usize) -> Vec<f32> {
    let means: Vec<[f64; 3]> = (0..h)
        .map(|y| {
            let mut m = [0.0f64; 3];
            let step = (w / 64).max(1);
            let mut n = 0.0;
            for x in (0..w).step_by(step) {
                for k in 0..3 {
                    m[k] += rgba[(y * w + x) * 4 + k] as f64;
                }
                n += 1.0;
            }
            m.map(|v| v / n)
        })
        .collect();
    let horizon = split_row(&means).unwrap_or(0);
    (0..h).map(|y| if y <= horizon { 0.0 } else { (y - horizon) as f32 / (h - horizon).max(1) as f32 }).collect()
}

/// The row (15%..85% of the height) that splits the row means into two
/// bands with the least squared error, if the split explains most of the
/// variation.
fn split_row(means: &[[f64; 3]]) -> Option<usize> {
    let h = means.len();
    if h < 8 {
        return None;
    }
    let mut prefix = vec![[0.0f64; 4]; h + 1]; // sum r, g, b, sum of squares
    for (y, m) in means.iter().enumerate() {
        let p = prefix[y];
        prefix[y + 1] = [p[0] + m[0], p[1] + m[1], p[2] + m[2], p[3] + m.iter().map(|v| v * v).sum::<f64>()];
    }
    let sse = |a: usize, b: usize| {
        let n = (b - a) as f64;
        let (s, q) = ([0, 1, 2].map(|k| prefix[b][k] - prefix[a][k]), prefix[b][3] - prefix[a][3]);
        q - s.iter().map(|v| v * v).sum::<f64>() / n
    };
    let total = sse(0, h);
    if total <= 1e-9 {
        return None;
    }
    let (best, err) =
        (h * 15 / 100..h * 85 / 100).map(|y| (y, sse(0, y) + sse(y, h))).min_by(|a, b| a.1.total_cmp(&b.1))?;
    (err < 0.4 * total).then_some(best)
}

/// Morphs from `first` to `last`: a dissolve along optical flow. Each
/// frame samples the first image carried forward by t of the flow and the
/// last carried back by 1 - t, weighted 1 - t and t. Unlike in-between
/// frames of one shot, the two ends may share little, so both always
/// contribute and the change is steady.
fn morph(cx: &mut TakeContext<'_>, easing: Easing, first: &ImageInput, last: &ImageInput) -> Result<()> {
    let (w, h) = (cx.request().width, cx.request().height);
    let format = first.frame().format();
    let runtime = cx.runtime();
    let fitted = |image: &ImageInput| -> Result<Frame> {
        runtime.install(|| fit_background(&image.frame().view(), w, h, Fit::Cover))
    };
    let (a, b) = (fitted(first)?, fitted(last)?);
    cx.progress(0.0);
    let pair = runtime.install(|| FlowPair::compute(&a.view(), &b.view(), Mode::Quality))?;
    let (forward, backward) = (pair.forward_full()?, pair.backward_full()?);
    let (a, b) = (RgbaImage::of(&a.view())?, RgbaImage::of(&b.view())?);
    let mut out = Frame::new(w, h, format)?;
    let count = cx.request().frame_count();
    for k in 0..count {
        cx.check_cancelled()?;
        let t = if count > 1 { easing.apply(k as f32 / (count - 1) as f32) } else { 0.0 };
        let paint = |y: u32, row: RowMut<'_>, line: &mut Vec<f32>| {
            for x in 0..w as usize {
                let (fu, fv) = forward.at(x, y as usize);
                let (bu, bv) = backward.at(x, y as usize);
                let (px, py) = (x as f32, y as f32);
                let from_a = a.sample(px - t * fu, py - t * fv);
                let from_b = b.sample(px - (1.0 - t) * bu, py - (1.0 - t) * bv);
                for c in 0..4 {
                    line[x * 4 + c] = from_a[c] + (from_b[c] - from_a[c]) * t;
                }
            }
            row.write_f32(line);
        };
        cx.runtime().install(|| {
            out.view_mut().par_rows_mut_init(|| vec![0.0f32; w as usize * 4], |line, y, row| paint(y, row, line))
        });
        cx.emit(&out.view())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::render_take;
    use crate::runtime::{Runtime, RuntimeConfig};
    use crate::shot::{CameraMotion, DeviationKind};

    fn runtime() -> Runtime {
        Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap()
    }

    /// A still with a sky band over textured land, and a marker square.
    fn landscape_still(w: u32, h: u32) -> ImageInput {
        let mut f = Frame::new(w, h, PixelFormat::Rgba8).unwrap();
        let mut view = f.view_mut();
        for y in 0..h {
            let row: Vec<f32> = (0..w)
                .flat_map(|x| {
                    let c = crate::testing::texture(x as f32, y as f32);
                    if y < h * 2 / 5 {
                        [0.3 + 0.2 * c[0], 0.5 + 0.2 * c[1], 0.9, 1.0] // a cloudy sky
                    } else {
                        [c[0] * 0.5, c[1] * 0.8, c[2] * 0.3, 1.0]
                    }
                })
                .collect();
            view.write_row_f32(y, &row);
        }
        ImageInput::new("still.png", f)
    }

    fn request(camera: CameraMotion) -> ShotRequest {
        let mut r = ShotRequest::new("");
        r.width = 96;
        r.height = 54;
        r.fps = crate::Rational::integer(12);
        r.duration = crate::Rational::integer(1);
        r.camera = camera;
        r
    }

    #[test]
    fn a_still_with_no_move_is_held_exactly() {
        let mut r = request(CameraMotion::default());
        r.first_frame = Some(landscape_still(96, 54));
        let (frames, notes) = render_take(&BuiltinGenerator::default(), &r, 0, &runtime()).unwrap();
        assert_eq!(frames.len(), 12);
        for f in &frames {
            assert!(f.view().same_pixels(&r.first_frame.as_ref().unwrap().frame().view()));
        }
        assert_eq!(notes.iter().filter(|n| n.field == Field::FirstFrame).count(), 0, "{notes:?}");
    }

    #[test]
    fn a_pan_crops_the_still_and_moves_it_left_smoothly() {
        let mut r = request(CameraMotion { pan: 0.5, ..Default::default() });
        r.first_frame = Some(landscape_still(192, 108));
        let (frames, notes) = render_take(&BuiltinGenerator::default(), &r, 0, &runtime()).unwrap();
        let crop = notes.iter().find(|n| n.field == Field::FirstFrame).expect("the crop is reported");
        assert_eq!(crop.kind, DeviationKind::Approximated);
        // The image content shifts left over the shot, by a pan of a sixth
        // of the width in all; eased, so the middle steps are the largest.
        let shifts: Vec<f32> =
            frames.windows(2).map(|p| crate::testing::best_shift_x(&p[0].view(), &p[1].view(), 0..54, 8)).collect();
        let total: f32 = shifts.iter().sum();
        assert!((total + 16.0).abs() < 3.0, "total shift {total} px, expected -16: {shifts:?}");
        assert!(shifts[0].abs() < shifts[5].abs(), "eased: {shifts:?}");
    }

    #[test]
    fn a_truck_gives_parallax_between_sky_and_ground() {
        let mut r = request(CameraMotion { horizontal: 1.0, ..Default::default() });
        r.first_frame = Some(landscape_still(192, 108));
        let (frames, _) = render_take(&BuiltinGenerator::default(), &r, 0, &runtime()).unwrap();
        let (first, last) = (frames[0].view(), frames[11].view());
        let sky = crate::testing::best_shift_x(&first, &last, 2..10, 30);
        let ground = crate::testing::best_shift_x(&first, &last, 46..53, 30);
        assert!(sky.abs() < 2.0, "the sky is far: {sky}");
        assert!(ground < -10.0, "the near ground slides left: {ground}");
    }

    #[test]
    fn first_and_last_frame_morph_and_drop_the_camera() {
        let mut r = request(CameraMotion { pan: 0.2, ..Default::default() });
        let first = landscape_still(96, 54);
        let mut red = first.frame().clone();
        red.view_mut().fill([0.9, 0.2, 0.1, 1.0]);
        r.first_frame = Some(first.clone());
        r.last_frame = Some(ImageInput::new("red.png", red.clone()));
        let (frames, notes) = render_take(&BuiltinGenerator::default(), &r, 0, &runtime()).unwrap();
        assert!(frames[0].view().same_pixels(&first.frame().view()));
        assert!(frames[11].view().same_pixels(&red.view()));
        // In between, the frames go from one to the other.
        let redness = |f: &Frame| (0..54).map(|y| f.pixel_f32(48, y)[0] - f.pixel_f32(48, y)[1]).sum::<f32>();
        let curve: Vec<f32> = frames.iter().map(redness).collect();
        assert!(curve.windows(2).all(|p| p[1] >= p[0] - 0.5), "{curve:?}");
        assert!(curve[6] > curve[0] + 5.0 && curve[6] < curve[11] - 5.0, "{curve:?}");
        assert!(notes.iter().any(|n| n.field == Field::Camera && n.kind == DeviationKind::Dropped), "{notes:?}");
    }

    /// The last `n` frames of `frames` as a source video to extend.
    fn source_of(frames: &[Frame], n: usize, fps: i64) -> VideoInput {
        let tail = frames[frames.len() - n..].to_vec();
        VideoInput::new("source.mp4", VideoRole::Extend, crate::Rational::integer(fps), frames.len() as u64, tail, None)
            .unwrap()
    }

    #[test]
    fn an_extension_continues_the_source_motion_without_a_jump() {
        // The source: a steady pan over a still, 12 frames.
        let mut r = request(CameraMotion { pan: 0.6, ..Default::default() });
        r.first_frame = Some(landscape_still(288, 162));
        r.extras.insert("easing".into(), "linear".into());
        let (source, _) = render_take(&BuiltinGenerator::default(), &r, 0, &runtime()).unwrap();
        let rows = 10..44;
        let shift = |a: &Frame, b: &Frame| crate::testing::best_shift_x(&a.view(), &b.view(), rows.clone(), 12);
        let own = shift(&source[10], &source[11]);
        assert!(own < -1.0, "the source pans: {own}");
        let mut next = request(CameraMotion::default());
        next.source_video = Some(source_of(&source, 3, 12));
        let (take, notes) = render_take(&BuiltinGenerator::default(), &next, 0, &runtime()).unwrap();
        assert_eq!(take.len(), 12);
        // The cut from source to take moves by the source's own step, and the take keeps moving.
        let across = shift(&source[11], &take[0]);
        assert!(
            (across - own).abs() <= 0.25 * own.abs() + 0.3,
            "across the cut {across} px, the source's step {own} px"
        );
        // Nor does the view jump in to make room for the move.
        let zoom = |a: &Frame, b: &Frame| {
            crate::composite::camera::estimate_between(&a.view(), &b.view(), None).unwrap().0.zoom
        };
        let (own_zoom, across_zoom) = (zoom(&source[10], &source[11]), zoom(&source[11], &take[0]));
        assert!((across_zoom - own_zoom).abs() < 0.01, "zoom across the cut {across_zoom}, the source's {own_zoom}");
        for k in 0..11 {
            let step = shift(&take[k], &take[k + 1]);
            assert!((step - own).abs() <= 0.25 * own.abs() + 0.5, "take step {k}: {step} px against {own} px");
        }
        assert!(notes.iter().any(|n| n.field == Field::SourceVideo && n.note.contains("pushes in")), "{notes:?}");
        assert!(!notes.iter().any(|n| n.field == Field::Camera), "no camera was asked: {notes:?}");
        // At half the take's rate, the source's step covers two of the take's frames... half a step each.
        next.fps = crate::Rational::integer(24);
        let (fine, _) = render_take(&BuiltinGenerator::default(), &next, 0, &runtime()).unwrap();
        let half = shift(&source[11], &fine[0]);
        assert!((half - own / 2.0).abs() <= 0.15 * own.abs() + 0.3, "{half} px at 24 fps against {own} px at 12");
    }

    #[test]
    fn a_still_source_is_held_and_other_roles_are_refused() {
        let still = landscape_still(96, 54);
        let frames = vec![still.frame().clone(); 4];
        let mut r = request(CameraMotion::default());
        r.source_video = Some(source_of(&frames, 2, 12));
        let (take, _) = render_take(&BuiltinGenerator::default(), &r, 0, &runtime()).unwrap();
        assert!(take.iter().all(|f| f.view().same_pixels(&still.frame().view())), "nothing moved, nothing moves");
        // A camera move asked for wins: the shot starts on the source's last frame and moves.
        r.camera = CameraMotion { zoom: 0.4, ..Default::default() };
        let (take, notes) = render_take(&BuiltinGenerator::default(), &r, 0, &runtime()).unwrap();
        assert!(take[0].view().same_pixels(&still.frame().view()), "it starts on the last frame");
        assert!(!take[11].view().same_pixels(&still.frame().view()), "and pushes in");
        assert!(notes.iter().any(|n| n.field == Field::SourceVideo && n.note.contains("replaces")), "{notes:?}");
        let lipsync =
            VideoInput::new("talk.mp4", VideoRole::Lipsync, crate::Rational::integer(12), 4, frames, None).unwrap();
        r.source_video = Some(lipsync);
        let err = render_take(&BuiltinGenerator::default(), &r, 0, &runtime()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("cannot lipsync") && err.to_string().contains("talk.mp4"), "{err}");
    }

    #[test]
    fn the_procedural_plate_follows_the_seed_and_reports_what_it_ignored() {
        let mut r = request(CameraMotion { zoom: 0.5, ..Default::default() });
        r.prompt = "a snow valley".into();
        r.negative_prompt = "people".into();
        r.extras.insert("motion_strength".into(), "3".into());
        let generator = BuiltinGenerator::default();
        let (a, notes) = render_take(&generator, &r, 0, &runtime()).unwrap();
        let (b, _) = render_take(&generator, &r, 1, &runtime()).unwrap();
        let (a2, _) = render_take(&generator, &r, 0, &runtime()).unwrap();
        assert_eq!(a, a2, "same seed, same frames");
        assert_ne!(a[0], b[0], "take 1 has another seed");
        let fields: Vec<Field> = notes.iter().map(|n| n.field).collect();
        assert!(fields.contains(&Field::NegativePrompt) && fields.contains(&Field::Extras), "{notes:?}");
        assert!(notes.iter().any(|n| n.note.contains("snow")), "{notes:?}");
        r.extras.insert("easing".into(), "wobbly".into());
        assert!(render_take(&generator, &r, 0, &runtime()).unwrap_err().to_string().contains("wobbly"));
    }
}
