//! Variational refinement of a dense flow field (after Brox et al. 2004, as
//! used by DIS): minimise, for an increment (du, dv) around the current flow,
//!
//! ```text
//!   delta * Psi(colour constancy)^2 + gamma * Psi(gradient constancy)^2
//!     + alpha * Psi(|grad(u + du)|^2 + |grad(v + dv)|^2)
//! ```
//!
//! with the robust penalty Psi(s^2) = sqrt(s^2 + eps^2), linearised around the
//! second image warped by the current flow. Robust weights are recomputed in a
//! few fixed-point iterations, each solved by red-black SOR. Intensities are
//! on a 0..1 scale here.

use rayon::prelude::*;

use super::field::Flow;
use crate::error::Result;
use crate::pixels::plane::Plane;

/// Weights and iteration counts of the refinement.
#[derive(Clone, Debug)]
pub(crate) struct VariationalParams {
    /// Fixed-point iterations (robust weights recomputed each time); 0 disables refinement.
    pub(crate) iterations: usize,
    /// Red-black SOR sweeps per fixed-point iteration.
    pub(crate) sor_iterations: usize,
    /// Smoothness weight.
    pub(crate) alpha: f32,
    /// Gradient-constancy weight.
    pub(crate) gamma: f32,
    /// Colour-constancy weight.
    pub(crate) delta: f32,
}

const EPS2: f32 = 0.001 * 0.001;
const OMEGA: f32 = 1.6;

/// A plane shared between threads that write disjoint cells: red-black SOR
/// updates only cells of one colour while reading only cells of the other.
struct Shared {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: users guarantee that concurrent accesses never touch one cell from
// two threads when one of them writes (see `sweep`).
unsafe impl Sync for Shared {}

impl Shared {
    fn new(data: &mut [f32]) -> Shared {
        Shared { ptr: data.as_mut_ptr(), len: data.len() }
    }

    /// # Safety
    /// No other thread may write cell `i` meanwhile.
    #[inline]
    unsafe fn get(&self, i: usize) -> f32 {
        debug_assert!(i < self.len);
        // SAFETY: in bounds by construction; no concurrent writer per the contract.
        unsafe { *self.ptr.add(i) }
    }

    /// # Safety
    /// No other thread may read or write cell `i` meanwhile.
    #[inline]
    unsafe fn set(&self, i: usize, v: f32) {
        debug_assert!(i < self.len);
        // SAFETY: in bounds by construction; exclusive per the contract.
        unsafe { *self.ptr.add(i) = v };
    }
}

/// An image at one pyramid level with its first and second derivatives
/// (0..255 scale), computed once and shared by the patch search and the
/// refinement of both flow directions.
/// Second derivatives are made only where the refinement runs.
#[derive(Debug)]
pub(crate) struct Derivatives {
    pub(crate) x: Plane,
    pub(crate) y: Plane,
    second: Option<[Plane; 3]>,
}

impl Derivatives {
    /// First derivatives, and second ones when `second` is set.
    pub(crate) fn of(p: &Plane, second: bool) -> Result<Derivatives> {
        let (x, y) = p.gradients()?;
        let second = if second {
            let (xx, xy) = x.gradients()?;
            let (_, yy) = y.gradients()?;
            Some([xx, xy, yy])
        } else {
            None
        };
        Ok(Derivatives { x, y, second })
    }

    fn second(&self) -> Result<&[Plane; 3]> {
        self.second.as_ref().ok_or_else(|| crate::Error::internal("refinement needs second derivatives"))
    }
}

/// Refines `flow` (from `i0` to `i1`, both 0..255, with their derivatives) in place.
pub(crate) fn refine(
    i0: &Plane,
    d0: &Derivatives,
    i1: &Plane,
    d1: &Derivatives,
    flow: &mut Flow,
    params: &VariationalParams,
) -> Result<()> {
    let (w, h) = (i0.width, i0.height);
    let n = w * h;
    const S: f32 = 1.0 / 255.0;
    let ([d0xx, d0xy, d0yy], [d1xx, d1xy, d1yy]) = (d0.second()?, d1.second()?);

    // Linearisation terms, with the second image warped by the current flow.
    let mut iz = Plane::new(w, h)?;
    let mut ix = Plane::new(w, h)?;
    let mut iy = Plane::new(w, h)?;
    let mut ixz = Plane::new(w, h)?;
    let mut iyz = Plane::new(w, h)?;
    let mut ixx = Plane::new(w, h)?;
    let mut ixy = Plane::new(w, h)?;
    let mut iyy = Plane::new(w, h)?;
    {
        let outs = [
            &mut iz.data,
            &mut ix.data,
            &mut iy.data,
            &mut ixz.data,
            &mut iyz.data,
            &mut ixx.data,
            &mut ixy.data,
            &mut iyy.data,
        ];
        let shared: Vec<Shared> = outs.into_iter().map(|d| Shared::new(d)).collect();
        let flow_ref = &*flow;
        let sources = [&i1.data, &d1.x.data, &d1.y.data, &d1xx.data, &d1xy.data, &d1yy.data];
        (0..h).into_par_iter().for_each(|y| {
            for x in 0..w {
                let i = y * w + x;
                // One bilinear footprint, applied to the six warped planes.
                let sx = (x as f32 + flow_ref.u[i]).clamp(0.0, (w - 1) as f32);
                let sy = (y as f32 + flow_ref.v[i]).clamp(0.0, (h - 1) as f32);
                let (x0, y0) = (sx as usize, sy as usize);
                let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                let (k00, k01, k10, k11) = (y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1);
                let (w00, w01, w10, w11) = ((1.0 - fx) * (1.0 - fy), fx * (1.0 - fy), (1.0 - fx) * fy, fx * fy);
                let [v, vx, vy, vxx, vxy, vyy] =
                    sources.map(|p| w00 * p[k00] + w01 * p[k01] + w10 * p[k10] + w11 * p[k11]);
                let values = [
                    (v - i0.data[i]) * S,
                    0.5 * (vx + d0.x.data[i]) * S,
                    0.5 * (vy + d0.y.data[i]) * S,
                    (vx - d0.x.data[i]) * S,
                    (vy - d0.y.data[i]) * S,
                    0.5 * (vxx + d0xx.data[i]) * S,
                    0.5 * (vxy + d0xy.data[i]) * S,
                    0.5 * (vyy + d0yy.data[i]) * S,
                ];
                for (plane, value) in shared.iter().zip(values) {
                    // SAFETY: each row is written by exactly one task.
                    unsafe { plane.set(i, value) };
                }
            }
        });
    }

    let mut du = vec![0.0f32; n];
    let mut dv = vec![0.0f32; n];
    // Per-pixel system: a11, a12, a22, b1, b2; and smoothness weights.
    let mut a11 = vec![0.0f32; n];
    let mut a12 = vec![0.0f32; n];
    let mut a22 = vec![0.0f32; n];
    let mut b1 = vec![0.0f32; n];
    let mut b2 = vec![0.0f32; n];
    let mut smooth = vec![0.0f32; n];

    for _ in 0..params.iterations {
        // Robust data weights around u + du.
        let (u, v) = (&flow.u, &flow.v);
        a11.par_chunks_mut(w)
            .zip(a12.par_chunks_mut(w))
            .zip(a22.par_chunks_mut(w))
            .zip(b1.par_chunks_mut(w))
            .zip(b2.par_chunks_mut(w))
            .zip(smooth.par_chunks_mut(w))
            .enumerate()
            .for_each(|(y, (((((r11, r12), r22), rb1), rb2), rs))| {
                for x in 0..w {
                    let i = y * w + x;
                    let (dui, dvi) = (du[i], dv[i]);
                    let (gx, gy, gz) = (ix.data[i], iy.data[i], iz.data[i]);
                    let (hxx, hxy, hyy) = (ixx.data[i], ixy.data[i], iyy.data[i]);
                    let (hxz, hyz) = (ixz.data[i], iyz.data[i]);
                    let c = gx * dui + gy * dvi + gz;
                    let pc = params.delta * 0.5 / (c * c + EPS2).sqrt();
                    let gxr = hxx * dui + hxy * dvi + hxz;
                    let gyr = hxy * dui + hyy * dvi + hyz;
                    let pg = params.gamma * 0.5 / (gxr * gxr + gyr * gyr + EPS2).sqrt();
                    r11[x] = pc * gx * gx + pg * (hxx * hxx + hxy * hxy);
                    r12[x] = pc * gx * gy + pg * (hxx * hxy + hxy * hyy);
                    r22[x] = pc * gy * gy + pg * (hxy * hxy + hyy * hyy);
                    rb1[x] = -(pc * gx * gz + pg * (hxx * hxz + hxy * hyz));
                    rb2[x] = -(pc * gy * gz + pg * (hxy * hxz + hyy * hyz));
                    // Smoothness weight from forward differences of u + du, v + dv.
                    let (xr, yd) = ((x + 1).min(w - 1), (y + 1).min(h - 1));
                    let (ir, id) = (y * w + xr, yd * w + x);
                    let ux = (u[ir] + du[ir]) - (u[i] + dui);
                    let uy = (u[id] + du[id]) - (u[i] + dui);
                    let vx = (v[ir] + dv[ir]) - (v[i] + dvi);
                    let vy = (v[id] + dv[id]) - (v[i] + dvi);
                    rs[x] = params.alpha * 0.5 / (ux * ux + uy * uy + vx * vx + vy * vy + EPS2).sqrt();
                }
            });
        let system = System::prepare(w, h, flow, [&a11, &a12, &a22, &b1, &b2, &smooth]);
        for _ in 0..params.sor_iterations {
            for colour in 0..2 {
                system.sweep(colour, &mut du, &mut dv);
            }
        }
    }
    flow.u.par_iter_mut().zip(&du).for_each(|(u, d)| *u += d);
    flow.v.par_iter_mut().zip(&dv).for_each(|(v, d)| *v += d);
    Ok(())
}

/// The linear system of one fixed-point iteration, arranged for SOR: the
/// smoothness weights between neighbours and every term that does not
/// depend on the increments are folded in once, so a sweep is a handful of
/// loads and multiply-adds per cell.
struct System {
    w: usize,
    h: usize,
    /// Weight between a cell and its right / lower neighbour (0 at the border).
    right: Vec<f32>,
    down: Vec<f32>,
    /// Right-hand sides including the smoothness pull of the base flow.
    b1: Vec<f32>,
    b2: Vec<f32>,
    a12: Vec<f32>,
    /// 1 / (a11 + sum of weights), 1 / (a22 + sum of weights).
    inv11: Vec<f32>,
    inv22: Vec<f32>,
}

impl System {
    fn prepare(w: usize, h: usize, flow: &Flow, sys: [&[f32]; 6]) -> System {
        let [a11, a12, a22, b1, b2, smooth] = sys;
        let n = w * h;
        let (u, v) = (&flow.u, &flow.v);
        let right: Vec<f32> =
            (0..n).map(|i| if i % w + 1 < w { 0.5 * (smooth[i] + smooth[i + 1]) } else { 0.0 }).collect();
        let down: Vec<f32> = (0..n).map(|i| if i + w < n { 0.5 * (smooth[i] + smooth[i + w]) } else { 0.0 }).collect();
        let mut system = System {
            w,
            h,
            b1: vec![0.0; n],
            b2: vec![0.0; n],
            a12: a12.to_vec(),
            inv11: vec![0.0; n],
            inv22: vec![0.0; n],
            right,
            down,
        };
        let (right, down) = (&system.right, &system.down);
        system
            .b1
            .par_chunks_mut(w)
            .zip(system.b2.par_chunks_mut(w))
            .zip(system.inv11.par_chunks_mut(w))
            .zip(system.inv22.par_chunks_mut(w))
            .enumerate()
            .for_each(|(y, (((rb1, rb2), ri11), ri22))| {
                for x in 0..w {
                    let i = y * w + x;
                    let (mut sum, mut pull_u, mut pull_v) = (0.0f32, 0.0f32, 0.0f32);
                    let mut add = |j: usize, weight: f32| {
                        sum += weight;
                        pull_u += weight * (u[j] - u[i]);
                        pull_v += weight * (v[j] - v[i]);
                    };
                    if x > 0 {
                        add(i - 1, right[i - 1]);
                    }
                    if x + 1 < w {
                        add(i + 1, right[i]);
                    }
                    if y > 0 {
                        add(i - w, down[i - w]);
                    }
                    if y + 1 < h {
                        add(i + w, down[i]);
                    }
                    rb1[x] = b1[i] + pull_u;
                    rb2[x] = b2[i] + pull_v;
                    ri11[x] = 1.0 / (a11[i] + sum);
                    ri22[x] = 1.0 / (a22[i] + sum);
                }
            });
        system
    }

    /// One red-black SOR half-sweep over the cells with (x + y) % 2 == `colour`.
    fn sweep(&self, colour: usize, du: &mut [f32], dv: &mut [f32]) {
        let (w, h) = (self.w, self.h);
        let (su, sv) = (Shared::new(du), Shared::new(dv));
        (0..h).into_par_iter().for_each(|y| {
            let mut x = (y + colour) % 2;
            while x < w {
                let i = y * w + x;
                // SAFETY: neighbours have the other colour, which this sweep
                // never writes; cell i has this colour and belongs to this
                // row's task alone.
                unsafe {
                    let (mut acc_u, mut acc_v) = (0.0f32, 0.0f32);
                    if x > 0 {
                        acc_u += self.right[i - 1] * su.get(i - 1);
                        acc_v += self.right[i - 1] * sv.get(i - 1);
                    }
                    if x + 1 < w {
                        acc_u += self.right[i] * su.get(i + 1);
                        acc_v += self.right[i] * sv.get(i + 1);
                    }
                    if y > 0 {
                        acc_u += self.down[i - w] * su.get(i - w);
                        acc_v += self.down[i - w] * sv.get(i - w);
                    }
                    if y + 1 < h {
                        acc_u += self.down[i] * su.get(i + w);
                        acc_v += self.down[i] * sv.get(i + w);
                    }
                    let (dui, dvi) = (su.get(i), sv.get(i));
                    let nu = (self.b1[i] + acc_u - self.a12[i] * dvi) * self.inv11[i];
                    let dui = dui + OMEGA * (nu - dui);
                    su.set(i, dui);
                    let nv = (self.b2[i] + acc_v - self.a12[i] * dui) * self.inv22[i];
                    sv.set(i, dvi + OMEGA * (nv - dvi));
                }
                x += 2;
            }
        });
    }
}
