//! Dense optical flow by Dense Inverse Search (Kroeger et al., ECCV 2016),
//! with spatial propagation between patches and variational refinement.
//!
//! Per pyramid level, coarse to fine:
//!
//! 1. a grid of overlapping square patches is laid over the first image;
//! 2. each patch starts from the coarser level's flow (or a neighbouring
//!    patch's, if that matches better: spatial propagation) and is refined by
//!    inverse-compositional Gauss-Newton steps on mean-normalised patches,
//!    whose Hessian depends only on the first image;
//! 3. the patch displacements are densified: each pixel takes the average of
//!    the patches covering it, weighted by how well each one explains it;
//! 4. at the finest level, variational refinement (`variational.rs`)
//!    smooths the field while respecting intensity and gradient constancy.

use rayon::prelude::*;

use super::field::Flow;
use super::variational::{Derivatives, VariationalParams, refine};
use crate::error::Result;
use crate::pixels::plane::{Plane, floor, on_image};

/// Squared residual charged for each patch pixel that lands outside the
/// second image (luma levels of 0..255 squared).
const OUTSIDE_COST: f32 = 16.0;

/// Parameters of Dense Inverse Search.
#[derive(Clone, Debug)]
pub(crate) struct DisParams {
    /// Finest pyramid level computed (0 = full resolution); finer levels get
    /// the flow upsampled.
    pub(crate) finest_level: usize,
    /// Side of a square patch, in pixels.
    pub(crate) patch: usize,
    /// Distance between neighbouring patches at the finest level.
    pub(crate) stride: usize,
    /// Distance between neighbouring patches at coarser levels, which only
    /// seed the next level.
    pub(crate) coarse_stride: usize,
    /// Gauss-Newton iterations per patch (split over the two propagation passes).
    pub(crate) iterations: usize,
    /// Variational refinement at the finest level.
    pub(crate) variational: VariationalParams,
    /// Whether patch pixels landing outside the other image are left out of
    /// the match (and charged [`OUTSIDE_COST`]) rather than matched against
    /// the clamped border. Interpolation wants it: content entering the
    /// frame keeps its motion. Camera tracking does not: on a regular grid
    /// of tracking marks the charge tips the tie between the true motion and
    /// one shifted by a whole period towards the latter, which renders the
    /// same in-between frame but is the wrong camera move.
    pub(crate) leave_outside_out: bool,
}

/// Patch origins along one axis: every `stride`, the last one flush with the end.
fn patch_origins(len: usize, patch: usize, stride: usize) -> Vec<usize> {
    if len <= patch {
        return vec![0];
    }
    let last = len - patch;
    let mut out: Vec<usize> = (0..=last).step_by(stride).collect();
    if *out.last().expect("at least one") != last {
        out.push(last);
    }
    out
}

/// Flow from `a` to `b` and from `b` to `a`, given their pyramids (level 0
/// full resolution), at the resolution of the finest level computed. The two
/// directions go level by level together and share each image's derivatives.
pub(crate) fn dense_inverse_search(a: &[Plane], b: &[Plane], params: &DisParams) -> Result<(Flow, Flow)> {
    let coarsest = a.len().min(b.len()) - 1;
    let finest = params.finest_level.min(coarsest);
    let mut forward = Flow::zeros(a[coarsest].width, a[coarsest].height)?;
    let mut backward = forward.clone();
    for level in (finest..=coarsest).rev() {
        let (ia, ib) = (&a[level], &b[level]);
        // Refinement pays off only at the finest level (measured on the
        // benchmark clips: coarser levels cost time for no gain in PSNR).
        let at_finest = level == finest;
        let refine = at_finest && params.variational.iterations > 0;
        let (da, db) = rayon::join(|| Derivatives::of(ia, refine), || Derivatives::of(ib, refine));
        let (da, db) = (da?, db?);
        let at_coarsest = level == coarsest;
        let (sa, sb) = (Side { image: ia, derivatives: &da }, Side { image: ib, derivatives: &db });
        let place = Place { finest: at_finest, coarsest: at_coarsest };
        let (f, g) = rayon::join(
            || level_flow(&sa, &sb, forward, params, place),
            || level_flow(&sb, &sa, backward, params, place),
        );
        (forward, backward) = (f?, g?);
    }
    Ok((forward, backward))
}

/// An image at one pyramid level with its derivatives.
struct Side<'a> {
    image: &'a Plane,
    derivatives: &'a Derivatives,
}

/// Where a level sits in the pyramid.
#[derive(Clone, Copy)]
struct Place {
    finest: bool,
    coarsest: bool,
}

/// One level of one direction (`from` to `to`): search, densify, refine.
fn level_flow(from: &Side<'_>, to: &Side<'_>, init: Flow, params: &DisParams, place: Place) -> Result<Flow> {
    let (i0, d0, i1, d1) = (from.image, from.derivatives, to.image, to.derivatives);
    let Place { finest, coarsest } = place;
    let init =
        if (init.width, init.height) != (i0.width, i0.height) { init.resized(i0.width, i0.height)? } else { init };
    let patch = params.patch.min(i0.width).min(i0.height);
    let stride = if finest { params.stride } else { params.coarse_stride }.min(patch).max(1);
    let ctx = Level { i0, i1, gx: &d0.x, gy: &d0.y, patch, leave_outside_out: params.leave_outside_out };
    let xs = patch_origins(i0.width, patch, stride);
    let ys = patch_origins(i0.height, patch, stride);
    let patches = ctx.search_all(&xs, &ys, &init, params.iterations, coarsest);
    let mut flow = ctx.densify(&xs, &ys, &patches)?;
    if finest && params.variational.iterations > 0 {
        refine(i0, d0, i1, d1, &mut flow, &params.variational)?;
    }
    Ok(flow)
}

/// A stripe of patch rows searched by one task.
struct Stripe<'a> {
    xs: &'a [usize],
    ys: &'a [usize],
    /// First patch row of the stripe.
    row0: usize,
    /// Gauss-Newton iterations of the forward and the backward pass.
    passes: [usize; 2],
    /// Whether to start each patch from the best whole-pixel displacement
    /// within one patch size (done at the coarsest level, which is tiny).
    exhaustive: bool,
}

struct Level<'a> {
    i0: &'a Plane,
    i1: &'a Plane,
    gx: &'a Plane,
    gy: &'a Plane,
    patch: usize,
    leave_outside_out: bool,
}

/// What the search needs to know about one patch of the first image.
struct Template {
    /// Mean-normalised intensities.
    t: Vec<f32>,
    /// Mean-normalised gradients.
    gx: Vec<f32>,
    gy: Vec<f32>,
    /// Inverse of the 2x2 Gauss-Newton Hessian (symmetric: xx, xy, yy).
    inv: [f32; 3],
}

impl<'a> Level<'a> {
    #[inline(always)]
    fn template(&self, px: usize, py: usize, t: &mut Template) {
        let p = self.patch;
        let (mut mt, mut mx, mut my) = (0.0f32, 0.0f32, 0.0f32);
        for j in 0..p {
            let base = (py + j) * self.i0.width + px;
            let (r, gxr, gyr) =
                (&self.i0.data[base..base + p], &self.gx.data[base..base + p], &self.gy.data[base..base + p]);
            for i in 0..p {
                let k = j * p + i;
                t.t[k] = r[i];
                t.gx[k] = gxr[i];
                t.gy[k] = gyr[i];
                mt += r[i];
                mx += gxr[i];
                my += gyr[i];
            }
        }
        let n = (p * p) as f32;
        let (mt, mx, my) = (mt / n, mx / n, my / n);
        let (mut hxx, mut hxy, mut hyy) = (0.0f32, 0.0f32, 0.0f32);
        for k in 0..p * p {
            t.t[k] -= mt;
            t.gx[k] -= mx;
            t.gy[k] -= my;
            hxx += t.gx[k] * t.gx[k];
            hxy += t.gx[k] * t.gy[k];
            hyy += t.gy[k] * t.gy[k];
        }
        // A little damping keeps flat and one-dimensional patches stable.
        let damping = 1e-2 * n;
        hxx += damping;
        hyy += damping;
        let det = hxx * hyy - hxy * hxy;
        t.inv = [hyy / det, -hxy / det, hxx / det];
    }

    /// Samples the second image's patch at (`px` + u, `py` + v) into `w`
    /// (mean-normalised) and returns the mean-normalised SSD against `t`.
    /// Pixels landing outside the image are matched by nothing: they add
    /// [`OUTSIDE_COST`] each, and `w` holds the template there so that they
    /// pull no Gauss-Newton step.
    #[inline(always)]
    fn warped(&self, px: usize, py: usize, u: f32, v: f32, w: &mut [f32], t: &[f32]) -> f32 {
        let p = self.patch;
        let (width, height) = (self.i1.width, self.i1.height);
        let (x, y) = (px as f32 + u, py as f32 + v);
        let (fx0, fy0) = (floor(x), floor(y));
        let (fx, fy) = (x - fx0, y - fy0);
        let (ix, iy) = (fx0 as isize, fy0 as isize);
        let mut mean = 0.0f32;
        if ix >= 0 && iy >= 0 && ix as usize + p < width && iy as usize + p < height {
            // The whole patch and its right/bottom neighbours are inside: one
            // set of bilinear weights serves every pixel.
            let (w00, w01, w10, w11) = ((1.0 - fx) * (1.0 - fy), fx * (1.0 - fy), (1.0 - fx) * fy, fx * fy);
            let d = &self.i1.data;
            for j in 0..p {
                let r0 = (iy as usize + j) * width + ix as usize;
                let r1 = r0 + width;
                let (a, b) = (&d[r0..r0 + p + 1], &d[r1..r1 + p + 1]);
                for i in 0..p {
                    let s = a[i] * w00 + a[i + 1] * w01 + b[i] * w10 + b[i + 1] * w11;
                    w[j * p + i] = s;
                    mean += s;
                }
            }
        } else if !self.leave_outside_out {
            for j in 0..p {
                for i in 0..p {
                    let s = self.i1.sample(x + i as f32, y + j as f32);
                    w[j * p + i] = s;
                    mean += s;
                }
            }
        } else {
            // Pixels that land outside the second image have no match to
            // compare: they are left out of the mean and the residual (their
            // content left the frame), and each costs a fixed penalty so that
            // pointing outside is not free.
            // NaN marks them in `w` until the residual pass below.
            let (mut inside, mut t_sum) = (0usize, 0.0f32);
            for j in 0..p {
                for i in 0..p {
                    let (sx, sy) = (x + i as f32, y + j as f32);
                    let k = j * p + i;
                    if !on_image(sx, sy, width, height) {
                        w[k] = f32::NAN;
                        continue;
                    }
                    let s = self.i1.sample(sx, sy);
                    w[k] = s;
                    mean += s;
                    t_sum += t[k];
                    inside += 1;
                }
            }
            let outside = p * p - inside;
            if outside > 0 {
                let n = p * p;
                if inside == 0 {
                    w.copy_from_slice(t);
                    return OUTSIDE_COST * n as f32;
                }
                mean /= inside as f32;
                let mut ssd = 0.0;
                // The template is mean-normalised over the whole patch; its
                // inside part's mean is matched to the sample's.
                let t_mean = t_sum / inside as f32;
                for (wk, tk) in w.iter_mut().zip(t) {
                    if wk.is_nan() {
                        *wk = *tk;
                        continue;
                    }
                    *wk = *wk - mean + t_mean;
                    let r = *wk - tk;
                    ssd += r * r;
                }
                return ssd * n as f32 / inside as f32 + OUTSIDE_COST * outside as f32;
            }
        }
        mean /= (p * p) as f32;
        let mut ssd = 0.0;
        for (wk, tk) in w.iter_mut().zip(t) {
            *wk -= mean;
            let r = *wk - tk;
            ssd += r * r;
        }
        ssd
    }

    /// The whole-pixel displacement within one patch size (keeping the
    /// patch inside the image) whose mean-normalised SSD is lowest.
    #[inline(always)]
    fn best_whole_pixel(&self, px: usize, py: usize, t: &Template, w: &mut [f32]) -> (f32, f32) {
        let r = self.patch as isize;
        let (max_x, max_y) = ((self.i1.width - self.patch) as isize, (self.i1.height - self.patch) as isize);
        let mut best = (0.0, 0.0);
        let mut best_ssd = f32::INFINITY;
        for dy in -r..=r {
            let y = py as isize + dy;
            if y < 0 || y > max_y {
                continue;
            }
            for dx in -r..=r {
                let x = px as isize + dx;
                if x < 0 || x > max_x {
                    continue;
                }
                let ssd = self.warped(px, py, dx as f32, dy as f32, w, &t.t);
                // Prefer the smaller motion on ties, so flat areas stay still.
                let penalty = 1e-3 * (dx * dx + dy * dy) as f32;
                if ssd + penalty < best_ssd {
                    best_ssd = ssd + penalty;
                    best = (dx as f32, dy as f32);
                }
            }
        }
        best
    }

    /// Refines one patch's displacement from the best of `candidates`.
    #[inline(always)]
    fn refine_patch(
        &self,
        px: usize,
        py: usize,
        candidates: &[(f32, f32)],
        iterations: usize,
        t: &Template,
        w: &mut [f32],
    ) -> (f32, f32) {
        let mut best = candidates[0];
        let mut best_ssd = f32::INFINITY;
        for &c in candidates {
            let ssd = self.warped(px, py, c.0, c.1, w, &t.t);
            if ssd < best_ssd {
                best_ssd = ssd;
                best = c;
            }
        }
        let start = best;
        let (mut u, mut v) = best;
        for _ in 0..iterations {
            // Also fills `w` with the warped patch the step below needs.
            let ssd = self.warped(px, py, u, v, w, &t.t);
            if ssd < best_ssd {
                best_ssd = ssd;
                best = (u, v);
            }
            let (mut bx, mut by) = (0.0f32, 0.0f32);
            for ((wk, tk), (gx, gy)) in w.iter().zip(&t.t).zip(t.gx.iter().zip(&t.gy)) {
                let r = wk - tk;
                bx += gx * r;
                by += gy * r;
            }
            let du = t.inv[0] * bx + t.inv[1] * by;
            let dv = t.inv[1] * bx + t.inv[2] * by;
            u -= du;
            v -= dv;
            if du * du + dv * dv < 1e-4 {
                break;
            }
        }
        let last = self.warped(px, py, u, v, w, &t.t);
        if last < best_ssd {
            best = (u, v);
        }
        // A patch that wandered further than its own size found something
        // else; keep where it started.
        let (du, dv) = (best.0 - start.0, best.1 - start.1);
        if du * du + dv * dv > (self.patch * self.patch) as f32 { start } else { best }
    }

    /// Every patch's displacement. Patch rows are split into stripes run in
    /// parallel; inside a stripe, a forward pass propagates from the left and
    /// upper neighbours and a backward pass from the right and lower ones.
    fn search_all(
        &self,
        xs: &[usize],
        ys: &[usize],
        init: &Flow,
        iterations: usize,
        exhaustive: bool,
    ) -> Vec<(f32, f32)> {
        let (nx, ny) = (xs.len(), ys.len());
        let half = self.patch / 2;
        let mut flows: Vec<(f32, f32)> = Vec::with_capacity(nx * ny);
        for &py in ys {
            for &px in xs {
                flows.push(init.at(px + half, py + half));
            }
        }
        let stripes = (rayon::current_num_threads() * 4).min(ny).max(1);
        let rows_per = ny.div_ceil(stripes);
        let first_iters = iterations.div_ceil(2);
        let second_iters = iterations - first_iters;
        flows.par_chunks_mut(rows_per * nx).enumerate().for_each(|(s, chunk)| {
            let stripe = Stripe { xs, ys, row0: s * rows_per, passes: [first_iters, second_iters], exhaustive };
            self.search_stripe(&stripe, chunk);
        });
        flows
    }

    /// Searches one stripe of patch rows, with AVX2 and FMA code when the CPU
    /// has them (the 8-pixel patch rows fill one AVX register).
    fn search_stripe(&self, stripe: &Stripe<'_>, chunk: &mut [(f32, f32)]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                return unsafe { self.search_stripe_avx2(stripe, chunk) };
            }
        }
        self.search_stripe_portable(stripe, chunk)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn search_stripe_avx2(&self, stripe: &Stripe<'_>, chunk: &mut [(f32, f32)]) {
        self.search_stripe_portable(stripe, chunk)
    }

    #[inline(always)]
    fn search_stripe_portable(&self, stripe: &Stripe<'_>, chunk: &mut [(f32, f32)]) {
        let nx = stripe.xs.len();
        let rows = chunk.len() / nx;
        let n = self.patch * self.patch;
        let mut t = Template { t: vec![0.0; n], gx: vec![0.0; n], gy: vec![0.0; n], inv: [0.0; 3] };
        let mut w = vec![0.0; n];
        for (pass, iters) in stripe.passes.into_iter().enumerate() {
            if iters == 0 {
                continue;
            }
            for r in 0..rows {
                let r = if pass == 0 { r } else { rows - 1 - r };
                for c in 0..nx {
                    let c = if pass == 0 { c } else { nx - 1 - c };
                    let (px, py) = (stripe.xs[c], stripe.ys[stripe.row0 + r]);
                    self.template(px, py, &mut t);
                    let mut candidates = [chunk[r * nx + c]; 3];
                    let mut count = 1;
                    let (side, vertical) = if pass == 0 {
                        (c.checked_sub(1), r.checked_sub(1))
                    } else {
                        ((c + 1 < nx).then_some(c + 1), (r + 1 < rows).then_some(r + 1))
                    };
                    if let Some(cc) = side {
                        candidates[count] = chunk[r * nx + cc];
                        count += 1;
                    }
                    if let Some(rr) = vertical {
                        candidates[count] = chunk[rr * nx + c];
                        count += 1;
                    }
                    if stripe.exhaustive && pass == 0 {
                        candidates[0] = self.best_whole_pixel(px, py, &t, &mut w);
                    }
                    chunk[r * nx + c] = self.refine_patch(px, py, &candidates[..count], iters, &t, &mut w);
                }
            }
        }
    }

    /// Per pixel, the patches covering it, weighted by 1 / max(1, |residual|).
    fn densify(&self, xs: &[usize], ys: &[usize], patches: &[(f32, f32)]) -> Result<Flow> {
        let (w, h) = (self.i0.width, self.i0.height);
        let mut flow = Flow::zeros(w, h)?;
        let cover = |origins: &[usize], len: usize| -> Vec<(usize, usize)> {
            (0..len)
                .map(|x| {
                    let lo = origins.partition_point(|&o| o + self.patch <= x);
                    let hi = origins.partition_point(|&o| o <= x);
                    (lo, hi)
                })
                .collect()
        };
        let (cx, cy) = (cover(xs, w), cover(ys, h));
        let nx = xs.len();
        // Each patch samples the second image at one sub-pixel offset: split
        // it once into an integer offset and four bilinear weights.
        let offsets: Vec<Offset> = patches.iter().map(|&(u, v)| Offset::new(u, v)).collect();
        let (i0, i1) = (self.i0, self.i1);
        flow.u.par_chunks_mut(w).zip(flow.v.par_chunks_mut(w)).enumerate().for_each(|(y, (ru, rv))| {
            let (ylo, yhi) = cy[y];
            let row0 = i0.row(y);
            for x in 0..w {
                let (xlo, xhi) = cx[x];
                let (mut su, mut sv, mut sw) = (0.0f32, 0.0f32, 0.0f32);
                let here = row0[x];
                for j in ylo..yhi {
                    for i in xlo..xhi {
                        let k = j * nx + i;
                        let diff = offsets[k].sample(i1, x, y) - here;
                        let weight = 1.0 / diff.abs().max(1.0);
                        su += weight * patches[k].0;
                        sv += weight * patches[k].1;
                        sw += weight;
                    }
                }
                if sw > 0.0 {
                    ru[x] = su / sw;
                    rv[x] = sv / sw;
                }
            }
        });
        Ok(flow)
    }
}

/// A displacement split into whole pixels and bilinear weights.
#[derive(Clone, Copy)]
struct Offset {
    dx: isize,
    dy: isize,
    u: f32,
    v: f32,
    weights: [f32; 4],
}

impl Offset {
    fn new(u: f32, v: f32) -> Offset {
        let (fx, fy) = (floor(u), floor(v));
        let (ax, ay) = (u - fx, v - fy);
        Offset {
            dx: fx as isize,
            dy: fy as isize,
            u,
            v,
            weights: [(1.0 - ax) * (1.0 - ay), ax * (1.0 - ay), (1.0 - ax) * ay, ax * ay],
        }
    }

    /// `p` sampled at (`x`, `y`) + this offset.
    #[inline(always)]
    fn sample(&self, p: &Plane, x: usize, y: usize) -> f32 {
        let (sx, sy) = (x as isize + self.dx, y as isize + self.dy);
        if sx >= 0 && sy >= 0 && (sx as usize) + 1 < p.width && (sy as usize) + 1 < p.height {
            let i = sy as usize * p.width + sx as usize;
            let [w00, w01, w10, w11] = self.weights;
            p.data[i] * w00 + p.data[i + 1] * w01 + p.data[i + p.width] * w10 + p.data[i + p.width + 1] * w11
        } else {
            p.sample(x as f32 + self.u, y as f32 + self.v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_origins_cover_the_axis() {
        assert_eq!(patch_origins(20, 8, 4), [0, 4, 8, 12]);
        assert_eq!(patch_origins(21, 8, 4), [0, 4, 8, 12, 13]);
        assert_eq!(patch_origins(5, 8, 4), [0]);
    }

    #[test]
    fn resizing_scales_displacements() {
        let mut f = Flow::zeros(4, 4).unwrap();
        f.u.iter_mut().for_each(|u| *u = 1.5);
        f.v.iter_mut().for_each(|v| *v = -2.0);
        let big = f.resized(8, 12).unwrap();
        assert!(big.u.iter().all(|&u| (u - 3.0).abs() < 1e-6));
        assert!(big.v.iter().all(|&v| (v + 6.0).abs() < 1e-6));
    }
}
