//! Jobs, the take cache and the limits around generators, with small
//! generators that count, fail, panic or block.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::*;
use crate::frame::{Frame, PixelFormat};
use crate::runtime::{Runtime, RuntimeConfig};
use crate::shot::{Field, ShotRequest, Take};
use crate::{ErrorKind, Rational};

/// What a test generator does for each take.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    /// Emits solid frames whose red is the seed's low bits.
    Solid,
    /// Fails after one frame.
    Fail,
    /// Panics after one frame.
    Panic,
    /// Emits one frame, then waits until cancelled.
    Block,
    /// Emits frames of twice the requested size.
    Oversize,
    /// Makes every take the call may make (as a vendor's samples), each
    /// red by its position in the call.
    Samples,
    /// Makes only the call's first take, whatever it may make.
    OneSample,
    /// Makes the call's first take, then fails.
    SampleThenFail,
}

#[derive(Debug)]
struct Probe {
    info: GeneratorInfo,
    behaviour: Behaviour,
    calls: AtomicUsize,
    running: AtomicUsize,
    most_running: AtomicUsize,
    blocked: AtomicBool,
}

impl Probe {
    fn new(id: &str, behaviour: Behaviour, max_concurrent: usize) -> Arc<Probe> {
        Probe::batching(id, behaviour, max_concurrent, 1)
    }

    fn batching(id: &str, behaviour: Behaviour, max_concurrent: usize, takes_per_call: u32) -> Arc<Probe> {
        Arc::new(Probe {
            info: GeneratorInfo {
                id: id.into(),
                name: id.into(),
                version: "1".into(),
                honours: vec![Field::Seed],
                max_concurrent,
                takes_per_call,
            },
            behaviour,
            calls: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            most_running: AtomicUsize::new(0),
            blocked: AtomicBool::new(false),
        })
    }
}

impl Generator for Probe {
    fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    fn generate(&self, cx: &mut TakeContext<'_>) -> Result<Vec<crate::shot::Deviation>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now, Ordering::SeqCst);
        let result = match self.behaviour {
            Behaviour::Samples | Behaviour::OneSample | Behaviour::SampleThenFail => self.samples(cx),
            _ => self.frames(cx),
        };
        if self.behaviour == Behaviour::Solid {
            cx.set_vendor_generation(&format!("probe-{}", cx.seed()))?;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        result.map(|()| Vec::new())
    }
}

impl Probe {
    /// One call's samples: sample k is red k/8 and its vendor id says which.
    fn samples(&self, cx: &mut TakeContext<'_>) -> Result<()> {
        let (w, h) = (cx.request().width, cx.request().height);
        let mut frame = Frame::new(w, h, PixelFormat::Rgba8)?;
        let samples = if self.behaviour == Behaviour::Samples { cx.takes_wanted() } else { 1 };
        for k in 0..samples {
            if k > 0 {
                cx.next_take(vec![crate::shot::Deviation::dropped(Field::Prompt, format!("ends sample {}", k - 1))])?;
            }
            frame.view_mut().fill([k as f32 / 8.0, 0.5, 0.25, 1.0]);
            for _ in 0..cx.request().frame_count() {
                cx.emit(&frame.view())?;
            }
            cx.set_vendor_generation(&format!("call-{}-sample-{k}", cx.seed()))?;
        }
        if self.behaviour == Behaviour::SampleThenFail && cx.takes_wanted() > 1 {
            cx.next_take(Vec::new())?;
            cx.emit(&frame.view())?;
            return Err(Error::media("the vendor stopped after one sample"));
        }
        Ok(())
    }

    fn frames(&self, cx: &mut TakeContext<'_>) -> Result<()> {
        let (w, h) = (cx.request().width, cx.request().height);
        let scale = if self.behaviour == Behaviour::Oversize { 2 } else { 1 };
        let mut frame = Frame::new(w * scale, h * scale, PixelFormat::Rgba8)?;
        frame.view_mut().fill([(cx.seed() % 8) as f32 / 8.0, 0.5, 0.25, 1.0]);
        for n in 0..cx.request().frame_count() {
            cx.emit(&frame.view())?;
            if n == 0 {
                match self.behaviour {
                    Behaviour::Fail => return Err(Error::media("the vendor said no")),
                    Behaviour::Panic => panic!("probe panics on purpose"),
                    Behaviour::Block => {
                        self.blocked.store(true, Ordering::SeqCst);
                        while !cx.is_cancelled() {
                            std::thread::yield_now();
                        }
                        return cx.check_cancelled();
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

fn service(dir: &std::path::Path) -> Generations {
    let runtime = Arc::new(Runtime::new(RuntimeConfig { threads: 2, ..Default::default() }).unwrap());
    Generations::with_cache(runtime, TakeCache::new(dir.join("takes")))
}

fn small_request() -> ShotRequest {
    let mut r = ShotRequest::new("test");
    (r.width, r.height, r.fps, r.duration) = (32, 18, Rational::integer(10), Rational::integer(1));
    r
}

/// Every entry in the cache directory, hidden ones included.
fn cache_entries(dir: &std::path::Path) -> Vec<String> {
    match std::fs::read_dir(dir.join("takes")) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn takes_are_cached_and_served_again_without_the_generator() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Probe::new("probe", Behaviour::Solid, 4);
    let generations = service(dir.path());
    generations.register(probe.clone());
    let takes: Vec<_> = generations.submit("probe", small_request(), 3).unwrap().results();
    let takes: Vec<_> = takes.into_iter().map(|t| t.unwrap()).collect();
    assert_eq!(probe.calls.load(Ordering::SeqCst), 3);
    assert!(takes.iter().all(|t| !t.from_cache && t.frames == 10));
    assert_eq!(takes.iter().map(|t| t.seed).collect::<Vec<_>>(), [0, 1, 2]);
    // The take's frames are a sequence the media layer reads back.
    let mut reader = crate::media::MediaReader::open(&takes[2].media, &Default::default()).unwrap();
    assert_eq!((reader.info().frame_count, reader.info().frame_rate), (10, Rational::integer(10)));
    assert_eq!(reader.read_frame(9).unwrap().pixel_f32(0, 0)[0], (0.25f32 * 255.0).round() / 255.0);

    // A new service on the same cache (a restart) serves them without calling the generator.
    let again = service(dir.path());
    again.register(probe.clone());
    let cached: Vec<_> = again.submit("probe", small_request(), 3).unwrap().results();
    assert_eq!(probe.calls.load(Ordering::SeqCst), 3, "the generator was not called again");
    for (old, new) in takes.iter().zip(cached) {
        let new = new.unwrap();
        assert!(new.from_cache);
        assert_eq!((&new.key, &new.media, new.frames), (&old.key, &old.media, old.frames));
    }
    // A fourth take is new work; the first three still come from the cache.
    let more = again.submit("probe", small_request(), 4).unwrap().results();
    assert_eq!(probe.calls.load(Ordering::SeqCst), 4);
    assert!(more[3].as_ref().is_ok_and(|t| !t.from_cache) && more[0].as_ref().is_ok_and(|t| t.from_cache));
    assert_eq!(again.cache().list().unwrap().len(), 4);
}

/// The red of a take's first frame, as stored (8-bit).
fn first_red(take: &Take) -> f32 {
    let mut reader = crate::media::MediaReader::open(&take.media, &Default::default()).unwrap();
    reader.read_frame(0).unwrap().pixel_f32(0, 0)[0]
}

fn eighths(k: u32) -> f32 {
    (k as f32 / 8.0 * 255.0).round() / 255.0
}

#[test]
fn a_generator_that_makes_several_takes_per_call_is_asked_for_them_together() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Probe::batching("samples", Behaviour::Samples, 2, 3);
    let generations = service(dir.path());
    generations.register(probe.clone());
    let takes: Vec<Take> =
        generations.submit("samples", small_request(), 5).unwrap().results().into_iter().map(|t| t.unwrap()).collect();
    assert_eq!(probe.calls.load(Ordering::SeqCst), 2, "takes 1-3 in one call, 4-5 in another");
    // Each take holds its own sample, its own vendor id and its own key.
    let reds: Vec<f32> = takes.iter().map(first_red).collect();
    assert_eq!(reds, [eighths(0), eighths(1), eighths(2), eighths(0), eighths(1)]);
    let ids: Vec<&str> = takes.iter().map(|t| t.vendor_generation.as_deref().unwrap()).collect();
    assert_eq!(ids, ["call-0-sample-0", "call-0-sample-1", "call-0-sample-2", "call-3-sample-0", "call-3-sample-1"]);
    assert!(takes.iter().all(|t| t.frames == 10 && !t.from_cache));
    // The vendor was given the call's first seed; the later samples say so.
    assert_eq!(takes.iter().map(|t| t.seed).collect::<Vec<_>>(), [0, 0, 0, 3, 3]);
    let seed_notes: Vec<usize> =
        takes.iter().map(|t| t.deviations.iter().filter(|d| d.field == Field::Seed).count()).collect();
    assert_eq!(seed_notes, [0, 1, 1, 0, 1]);
    let note = &takes[2].deviations.iter().find(|d| d.field == Field::Seed).unwrap().note;
    assert!(note.contains("sample 3 of 3") && note.contains("take 1") && note.contains("(2)"), "{note}");
    // What the generator said of a take stays with that take.
    assert!(takes[1].deviations.iter().any(|d| d.note == "ends sample 1"), "{:?}", takes[1].deviations);
    assert!(!takes[2].deviations.iter().any(|d| d.note == "ends sample 1"), "{:?}", takes[2].deviations);

    // Each is cached under its own take's key: take 2 alone comes back
    // without a call, and a missing take in the middle is asked with the
    // other missing one, in one call.
    std::fs::remove_dir_all(dir.path().join("takes").join(&takes[1].key)).unwrap();
    std::fs::remove_dir_all(dir.path().join("takes").join(&takes[3].key)).unwrap();
    let again: Vec<Take> =
        generations.submit("samples", small_request(), 5).unwrap().results().into_iter().map(|t| t.unwrap()).collect();
    assert_eq!(probe.calls.load(Ordering::SeqCst), 3);
    let fresh: Vec<u32> = again.iter().filter(|t| !t.from_cache).map(|t| t.index).collect();
    assert_eq!(fresh, [1, 3]);
    assert_eq!((first_red(&again[1]), first_red(&again[3])), (eighths(0), eighths(1)));
    assert_eq!(cache_entries(dir.path()).len(), 5);
}

#[test]
fn takes_a_call_did_not_make_are_asked_for_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Probe::batching("one", Behaviour::OneSample, 4, 4);
    let generations = service(dir.path());
    generations.register(probe.clone());
    let takes: Vec<Take> =
        generations.submit("one", small_request(), 3).unwrap().results().into_iter().map(|t| t.unwrap()).collect();
    assert_eq!(probe.calls.load(Ordering::SeqCst), 3, "one call for three, then one each for the two it skipped");
    assert_eq!(takes.iter().map(|t| t.seed).collect::<Vec<_>>(), [0, 1, 2], "each asked with its own seed");
    assert!(takes.iter().all(|t| t.deviations.iter().all(|d| d.field != Field::Seed)));
}

#[test]
fn a_call_that_fails_keeps_the_takes_it_finished_and_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Probe::batching("fails-late", Behaviour::SampleThenFail, 1, 3);
    let generations = service(dir.path());
    generations.register(probe.clone());
    let results = generations.submit("fails-late", small_request(), 3).unwrap().results();
    assert_eq!(probe.calls.load(Ordering::SeqCst), 1);
    assert!(results[0].as_ref().is_ok_and(|t| t.frames == 10), "{:?}", results[0]);
    for result in &results[1..] {
        let err = result.as_ref().unwrap_err();
        assert!(err.to_string().contains("stopped after one sample"), "{err}");
    }
    let entries = cache_entries(dir.path());
    assert_eq!(entries, [results[0].as_ref().unwrap().key.clone()], "only the finished take");

    // A context refuses a second take where one was asked, and a take with no frames.
    let runtime = Runtime::new(RuntimeConfig { threads: 1, ..Default::default() }).unwrap();
    let request = small_request();
    let cancel = AtomicBool::new(false);
    let mut sink: Vec<Frame> = Vec::new();
    let mut cx = TakeContext::new(&request, 0, &runtime, &mut sink, &cancel, &|_| {});
    assert!(cx.next_take(Vec::new()).unwrap_err().to_string().contains("may make 1 take;"));
    let mut cx = cx.for_takes(&[0, 1]);
    assert!(cx.next_take(Vec::new()).unwrap_err().to_string().contains("without frames"));
}

#[test]
fn a_damaged_entry_is_generated_again() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Probe::new("probe", Behaviour::Solid, 1);
    let generations = service(dir.path());
    generations.register(probe.clone());
    let take = generations.submit("probe", small_request(), 1).unwrap().results().remove(0).unwrap();
    std::fs::write(dir.path().join("takes").join(&take.key).join("take.json"), b"{ not json").unwrap();
    let again = generations.submit("probe", small_request(), 1).unwrap().results().remove(0).unwrap();
    assert!(!again.from_cache);
    assert_eq!(probe.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn failures_and_panics_leave_nothing_and_other_jobs_finish() {
    let dir = tempfile::tempdir().unwrap();
    let generations = service(dir.path());
    generations.register(Probe::new("fails", Behaviour::Fail, 2));
    generations.register(Probe::new("panics", Behaviour::Panic, 2));
    generations.register(Probe::new("works", Behaviour::Solid, 2));
    let failing = generations.submit("fails", small_request(), 2).unwrap();
    let panicking = generations.submit("panics", small_request(), 1).unwrap();
    let working = generations.submit("works", small_request(), 2).unwrap();
    for result in failing.results() {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Media);
        assert!(err.to_string().contains("the vendor said no"), "{err}");
    }
    let err = panicking.results().remove(0).unwrap_err();
    assert!(err.to_string().contains("panics panicked"), "{err}");
    assert!(working.results().iter().all(|r| r.is_ok()));
    let entries = cache_entries(dir.path());
    assert_eq!(entries.len(), 2, "only the two good takes, nothing partial: {entries:?}");
    assert!(entries.iter().all(|e| !e.starts_with('.')), "{entries:?}");
}

#[test]
fn cancelling_stops_a_running_take_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Probe::new("blocks", Behaviour::Block, 1);
    let generations = service(dir.path());
    generations.register(probe.clone());
    let job = generations.submit("blocks", small_request(), 2).unwrap();
    // Take 1 runs and blocks; take 2 queues behind it (one slot).
    while !probe.blocked.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    let stages: Vec<TakeStage> = job.status().iter().map(|s| s.stage).collect();
    assert!(stages.contains(&TakeStage::Running) && stages.contains(&TakeStage::Queued), "{stages:?}");
    assert!(!job.is_finished());
    job.cancel();
    for result in job.results() {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Cancelled);
    }
    assert_eq!(probe.calls.load(Ordering::SeqCst), 1, "the queued take never started");
    assert_eq!(cache_entries(dir.path()), Vec::<String>::new());
}

#[test]
fn a_generator_never_runs_more_takes_than_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let generations = service(dir.path());
    let probe = Probe::new("one-at-a-time", Behaviour::Solid, 1);
    generations.register(probe.clone());
    let mut request = small_request();
    request.duration = Rational::integer(5); // long enough that unlimited takes would overlap
    let jobs: Vec<_> = (0..2).map(|_| generations.submit("one-at-a-time", request.clone(), 3).unwrap()).collect();
    for job in jobs {
        assert!(job.results().iter().all(|r| r.is_ok()));
    }
    assert_eq!(probe.most_running.load(Ordering::SeqCst), 1);
    assert_eq!(probe.calls.load(Ordering::SeqCst), 3, "the second job found all three in the cache or in flight");
}

#[test]
fn frames_of_the_wrong_size_are_fitted_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let generations = service(dir.path());
    generations.register(Probe::new("big", Behaviour::Oversize, 1));
    let take = generations.submit("big", small_request(), 1).unwrap().results().remove(0).unwrap();
    assert_eq!((take.width, take.height, take.frames), (32, 18, 10));
    assert!(take.deviations.iter().any(|d| d.field == Field::Size), "{:?}", take.deviations);
    let reader = crate::media::MediaReader::open(&take.media, &Default::default()).unwrap();
    assert_eq!((reader.info().width, reader.info().height), (32, 18));
}

#[test]
fn bad_submissions_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let generations = service(dir.path());
    let err = generations.submit("kling", small_request(), 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("builtin"), "names what is installed: {err}");
    assert!(generations.submit("builtin", small_request(), 0).is_err());
    assert!(generations.submit("builtin", small_request(), MAX_TAKES + 1).is_err());
    let mut bad = small_request();
    bad.camera.pan = 3.0;
    assert!(generations.submit("builtin", bad, 1).unwrap_err().to_string().contains("pan"));
    assert!(generations.cache().lookup("../etc").is_err(), "keys cannot name paths");
}

#[test]
fn the_builtin_generator_runs_as_a_job() {
    let dir = tempfile::tempdir().unwrap();
    let generations = service(dir.path());
    let mut request = small_request();
    request.camera.pan = 0.5;
    let job = generations.submit("builtin", request, 2).unwrap();
    let takes: Vec<_> = job.results().into_iter().map(|t| t.unwrap()).collect();
    assert_ne!(takes[0].key, takes[1].key);
    assert!(takes.iter().all(|t| t.frames == 10 && t.generator == "builtin"));
    assert!(takes[0].deviations.iter().any(|d| d.field == Field::Prompt));
}

/// A take's vendor id is kept with it, and a take's folder read as a source
/// video brings the id along; a folder outside the cache brings none; ids
/// that are not one are refused.
#[test]
fn a_take_keeps_its_vendor_id_and_its_folder_hands_it_on() {
    let dir = tempfile::tempdir().unwrap();
    let generations = service(dir.path());
    generations.register(Probe::new("probe", Behaviour::Solid, 2));
    let take = generations.submit("probe", small_request(), 1).unwrap().results().remove(0).unwrap();
    assert_eq!(take.vendor_generation.as_deref(), Some("probe-0"));
    let again = generations.submit("probe", small_request(), 1).unwrap().results().remove(0).unwrap();
    assert!(again.from_cache && again.vendor_generation.as_deref() == Some("probe-0"), "kept in the cache");
    let runtime = Runtime::new(RuntimeConfig { threads: 1, ..Default::default() }).unwrap();
    let source = read_source_video(&runtime, &take.media, crate::shot::VideoRole::Extend).unwrap();
    let vendor = source.vendor().expect("the take's id came along");
    assert_eq!((vendor.generator.as_str(), vendor.id.as_str()), ("probe", "probe-0"));
    // The same frames elsewhere are just frames.
    let copy = dir.path().join("elsewhere").join("frames");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&take.media).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    assert!(read_source_video(&runtime, &copy, crate::shot::VideoRole::Extend).unwrap().vendor().is_none());

    let request = small_request();
    let cancel = AtomicBool::new(false);
    let mut sink: Vec<Frame> = Vec::new();
    let mut cx = TakeContext::new(&request, 0, &runtime, &mut sink, &cancel, &|_| {});
    for bad in ["", "line\nbreak", &"x".repeat(257)] {
        assert!(cx.set_vendor_generation(bad).is_err(), "{bad:?}");
    }
    cx.set_vendor_generation("task-7 (v2)").unwrap();
}
