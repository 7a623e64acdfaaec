//! One shot's retime, as every host renders it: the command line's
//! `retime` and the OFX Retime effect drive a [`ShotRetimer`].
//!
//! What it decides: the plan (which source position each output frame
//! shows), what each output frame is ([`RetimeStep`]: a source frame as is,
//! one held because a cut lies before the next, or one made between two),
//! where cuts are (the whole-clip detector's decision, which a host that
//! renders frame by frame reaches from the few frames around the pair:
//! [`crate::interp::cuts::cut_after`]), and the flow pairs, computed once
//! and kept for the frames between the same two source frames.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::frame::{FrameView, FrameViewMut};
use crate::interp::cuts;
use crate::interp::retime::{RetimePlan, RetimeSpec, plan};
use crate::interp::{FlowPair, Mode, NeuralModel, NeuralSettings, interpolate, interpolate_with, neural};
use crate::rational::Rational;

/// Flow pairs kept (slow motion makes several frames between two sources;
/// hosts may render a few pairs out of order).
const KEPT_PAIRS: usize = 4;

/// Signatures kept before the ones far from the latest pair are dropped (a
/// few kilobytes each; a host rendering frame by frame needs ten at a time).
const KEPT_SIGNATURES: usize = 1024;

/// What an output frame is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RetimeStep {
    /// Source frame `0` as it is.
    Copy(u64),
    /// Source frame `0`, held: a cut lies between it and the next.
    HoldAtCut(u64),
    /// Made between source frames `a` and `a + 1`, at `t` of the way.
    Between {
        /// The earlier source frame.
        a: u64,
        /// How far towards the next, 0..1.
        t: f32,
    },
}

/// One shot's retime; see the module's documentation.
#[derive(Debug)]
pub struct ShotRetimer {
    plan: RetimePlan,
    source_frames: u64,
    mode: Mode,
    neural: NeuralSettings,
    pairs: Mutex<Vec<(u64, Mode, Arc<FlowPair>)>>,
    computed: AtomicU64,
    seen: Mutex<Seen>,
}

/// What the retimer has learnt of the source: frame signatures and the cut
/// decisions made from them.
#[derive(Debug, Default)]
struct Seen {
    signatures: HashMap<u64, cuts::Signature>,
    cuts: HashMap<u64, bool>,
}

impl ShotRetimer {
    /// A retime of `source_frames` frames at `source_rate` by `spec`, to
    /// `output_rate` (the source's when `None` and the spec gives none),
    /// making in-between frames by `mode`.
    pub fn new(
        source_rate: Rational,
        source_frames: u64,
        output_rate: Option<Rational>,
        spec: &RetimeSpec,
        mode: Mode,
    ) -> Result<ShotRetimer> {
        Ok(ShotRetimer {
            plan: plan(source_rate, source_frames, output_rate, spec)?,
            source_frames,
            mode,
            neural: NeuralSettings::default(),
            pairs: Mutex::new(Vec::new()),
            computed: AtomicU64::new(0),
            seen: Mutex::new(Seen::default()),
        })
    }

    /// The same retime over a source whose `times.len()` frames show at
    /// `times` (a variable-rate clip), where `self` was planned over its
    /// duration at `nominal_rate`; see [`RetimePlan::on_times`].
    pub fn with_source_times(mut self, nominal_rate: Rational, times: &[f64]) -> Result<ShotRetimer> {
        self.plan = self.plan.on_times(nominal_rate, times)?;
        self.source_frames = times.len() as u64;
        Ok(self)
    }

    /// Where the neural mode's model is and how it runs (the defaults
    /// otherwise; see [`crate::interp::neural`]).
    pub fn with_neural(mut self, settings: NeuralSettings) -> ShotRetimer {
        self.neural = settings;
        self
    }

    /// Readies what the mode needs before the first frame, so a host
    /// learns of a missing or unsuitable model at once: the neural mode
    /// loads its model and checks it can make every in-between time the
    /// plan asks for.
    pub fn prepare(&self) -> Result<()> {
        if self.mode != Mode::Neural {
            return Ok(());
        }
        let model = NeuralModel::shared(&self.neural)?;
        for j in 0..self.output_frames() {
            if self.copied_source(j)?.is_none() {
                model.check_time(self.planned(j)?.fraction as f32)?;
            }
        }
        Ok(())
    }

    /// The plan: every output frame's time and source position.
    pub fn plan(&self) -> &RetimePlan {
        &self.plan
    }

    /// Output frames.
    pub fn output_frames(&self) -> u64 {
        self.plan.frames.len() as u64
    }

    /// How in-between frames are made.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Flow pairs computed so far.
    pub fn flow_pairs_computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    fn planned(&self, j: u64) -> Result<crate::interp::retime::PlannedFrame> {
        self.plan.frames.get(j as usize).copied().ok_or_else(|| {
            Error::invalid_argument(format!("output frame {j} is outside the retime's {} frames", self.output_frames()))
        })
    }

    /// What output frame `j` is. `signature(i)` gives source frame i's cut
    /// signature; it is asked only when a cut matters, only for frames in
    /// [`ShotRetimer::frames_needed`], and once per frame.
    pub fn step<E: From<Error>>(
        &self,
        j: u64,
        signature: impl FnMut(u64) -> std::result::Result<cuts::Signature, E>,
    ) -> std::result::Result<RetimeStep, E> {
        let planned = self.planned(j)?;
        let source = planned.source;
        if let Some(source) = self.copied_source(j)? {
            return Ok(RetimeStep::Copy(source));
        }
        if self.is_cut(source, signature)? {
            return Ok(RetimeStep::HoldAtCut(source));
        }
        Ok(RetimeStep::Between { a: source, t: planned.fraction as f32 })
    }

    /// Whether a cut lies between source frames `k` and `k + 1`, decided as
    /// [`cuts::detect`] decides over the whole clip (one cut policy for
    /// every host), from the signatures of [`cuts::window`]`(k)`.
    pub fn is_cut<E: From<Error>>(
        &self,
        k: u64,
        mut signature: impl FnMut(u64) -> std::result::Result<cuts::Signature, E>,
    ) -> std::result::Result<bool, E> {
        if let Some(&cut) = self.seen.lock().cuts.get(&k) {
            return Ok(cut);
        }
        let count = self.source_frames;
        let window = cuts::window(k, count);
        let known: HashMap<u64, cuts::Signature> = {
            let seen = self.seen.lock();
            window.clone().filter_map(|i| seen.signatures.get(&i).map(|s| (i, s.clone()))).collect()
        };
        let mut fetched = Vec::new();
        let cut = cuts::cut_after(k, count, |i| -> std::result::Result<_, E> {
            match known.get(&i) {
                Some(s) => Ok(s.clone()),
                None => {
                    let s = signature(i)?;
                    fetched.push((i, s.clone()));
                    Ok(s)
                }
            }
        })?;
        let mut seen = self.seen.lock();
        if seen.signatures.len() + fetched.len() > KEPT_SIGNATURES {
            seen.signatures.retain(|&i, _| window.contains(&i));
        }
        seen.signatures.extend(fetched);
        seen.cuts.insert(k, cut);
        Ok(cut)
    }

    /// The source frame output frame `j` shows unchanged, whatever the
    /// cuts, if it is one: a host may pass it through.
    pub fn copied_source(&self, j: u64) -> Result<Option<u64>> {
        let planned = self.planned(j)?;
        let copied = planned.fraction == 0.0 || planned.source + 1 >= self.source_frames;
        Ok(copied.then_some(planned.source))
    }

    /// The source frame output frame `j` lies at or after.
    pub fn source_of(&self, j: u64) -> Result<u64> {
        Ok(self.planned(j)?.source)
    }

    /// Tells the retimer source frame `k`'s signature as it is now. If it is
    /// not the one the retimer decided with, the source has changed (a host
    /// whose upstream was edited): everything learnt of it is forgotten, and
    /// `true` returned.
    pub fn observe(&self, k: u64, signature: &cuts::Signature) -> bool {
        let mut seen = self.seen.lock();
        let changed = seen.signatures.get(&k).is_some_and(|s| s != signature);
        if changed {
            *seen = Seen::default();
            self.pairs.lock().clear();
        }
        seen.signatures.insert(k, signature.clone());
        changed
    }

    /// The source frames output frame `j` may read: its own one, or the two
    /// it lies between and those whose signatures decide whether a cut
    /// lies between them.
    pub fn frames_needed(&self, j: u64) -> Result<std::ops::Range<u64>> {
        Ok(match self.copied_source(j)? {
            Some(source) => source..source + 1,
            None => cuts::window(self.source_of(j)?, self.source_frames),
        })
    }

    /// The flow between source frames `index` (`a`) and the next (`b`) by
    /// `mode`, computed once and kept.
    pub fn flow_pair(&self, index: u64, a: &FrameView<'_>, b: &FrameView<'_>, mode: Mode) -> Result<Arc<FlowPair>> {
        if let Some((_, _, pair)) = self.pairs.lock().iter().find(|(i, m, _)| *i == index && *m == mode) {
            return Ok(pair.clone());
        }
        let pair = Arc::new(FlowPair::compute(a, b, mode)?);
        self.computed.fetch_add(1, Ordering::Relaxed);
        let mut pairs = self.pairs.lock();
        pairs.push((index, mode, pair.clone()));
        if pairs.len() > KEPT_PAIRS {
            pairs.remove(0);
        }
        Ok(pair)
    }

    /// Makes the frame `t` of the way from source frame `index` (`a`) to the
    /// next (`b`) into `out`.
    pub fn between(
        &self,
        index: u64,
        a: &FrameView<'_>,
        b: &FrameView<'_>,
        t: f32,
        out: &mut FrameViewMut<'_>,
    ) -> Result<()> {
        if self.mode.uses_flow() {
            let pair = self.flow_pair(index, a, b, self.mode)?;
            interpolate_with(a, b, &pair, t, out)
        } else if self.mode == Mode::Neural {
            neural::interpolate(a, b, t, &self.neural, out)
        } else {
            interpolate(a, b, t, self.mode, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, PixelFormat};

    fn flat(grey: f32) -> cuts::Signature {
        let mut f = Frame::new(32, 18, PixelFormat::Rgba8).unwrap();
        f.view_mut().fill([grey, grey, grey, 1.0]);
        cuts::Signature::of(&f.view())
    }

    #[test]
    fn steps_follow_the_plan_and_the_cuts() {
        let r = ShotRetimer::new(
            Rational::integer(24),
            6,
            Some(Rational::integer(48)),
            &RetimeSpec::FrameRate(Rational::integer(48)),
            Mode::Blend,
        )
        .unwrap();
        // Frames 0 and 1 are one shot, 2.. another.
        let grey = |i: u64| flat(if i < 2 { 0.2 } else { 0.8 });
        let mut asked = Vec::new();
        let mut signature = |i: u64| {
            asked.push(i);
            Ok::<_, Error>(grey(i))
        };
        assert_eq!(r.output_frames(), 12);
        assert_eq!(r.step(0, &mut signature).unwrap(), RetimeStep::Copy(0));
        assert_eq!(r.step(1, &mut signature).unwrap(), RetimeStep::Between { a: 0, t: 0.5 });
        assert_eq!(r.step(3, &mut signature).unwrap(), RetimeStep::HoldAtCut(1));
        assert_eq!(
            r.step::<Error>(11, |_| panic!("the last frame has nothing after it")).unwrap(),
            RetimeStep::Copy(5)
        );
        asked.sort();
        assert_eq!(asked, (0..6).collect::<Vec<_>>(), "each signature is asked for once");
        assert_eq!(r.frames_needed(0).unwrap(), 0..1);
        assert_eq!(r.frames_needed(3).unwrap(), 0..6);
        assert!(r.step::<Error>(12, |_| unreachable!()).is_err());

        // The same frame with other pixels: the source changed upstream.
        assert!(!r.observe(1, &grey(1)));
        assert!(r.observe(1, &grey(4)));
        assert_eq!(
            r.step(3, |i| Ok::<_, Error>(flat(0.2 + i as f32 * 0.01))).unwrap(),
            RetimeStep::Between { a: 1, t: 0.5 }
        );
    }
}
