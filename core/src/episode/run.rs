//! Running an episode: every shot's takes generated through the job system
//! ([`Generations`]: per-adapter concurrency, the take cache, so a second
//! run only makes what is missing), each take scored against the
//! references and the shot before it, and the takes of each shot ranked
//! ([`rank_takes`]). The result ([`EpisodeReport`]) is saved as
//! `<output>/ranking.json`; [`export`] turns the chosen takes (the pick,
//! else the best ranked) into a timeline.
//!
//! A chained shot (`after`) is generated once the shot it continues is
//! ranked, from the last frame of that shot's chosen take, which also goes
//! as the source video to extend (a generator that continues video goes on
//! with its motion; a vendor that made it continues it by its own id);
//! shots that do not wait on each other are generated at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::file::{Episode, EpisodeShot};
use super::picks::{Picks, ShotPicks};
use super::rank::{RankedTake, TakeScores, rank_takes};
use crate::consistency::references::{Expectation, ReferenceImage, References, grade_match};
use crate::consistency::{FrameLook, ShotScorer, ShotScores};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::Frame;
use crate::generate::{GenerationJob, Generations, MAX_TAKES};
use crate::media::{MediaReader, OpenOptions};
use crate::runtime::Runtime;
use crate::shot::{CameraMotion, ImageInput, Reference, ReferenceKind, ShotRequest, Take, VideoRole};
use crate::staged::write_file;

/// One take of a shot, scored and ranked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RankedTakeRecord {
    /// Its number in its shot: the shot's takes are numbered from 1 in
    /// the order of their seeds.
    pub number: u32,
    /// The take (its key, seed, frames in the take cache).
    pub take: Take,
    /// The components of its blend.
    pub scores: TakeScores,
    /// Its rank and why.
    pub ranked: RankedTake,
}

/// One shot's takes, ranked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShotReport {
    /// The shot's id.
    pub id: String,
    /// Its takes, by number (`takes[k - 1]` is take k).
    pub takes: Vec<RankedTakeRecord>,
    /// Takes that could not be made, in words.
    pub failures: Vec<String>,
    /// The take chosen for the edit (index into `takes`): the pick, else
    /// the best-ranked take not rejected.
    pub chosen: Option<usize>,
    /// Why that one: `pick` or `rank`.
    pub chosen_by: String,
    /// For a chained shot: the key of the take whose last frame it starts on.
    pub continues: Option<String>,
}

impl ShotReport {
    /// The chosen take.
    pub fn chosen_take(&self) -> Option<&RankedTakeRecord> {
        self.chosen.and_then(|i| self.takes.get(i))
    }

    /// The take with `key`.
    pub fn take_by_key(&self, key: &str) -> Option<&RankedTakeRecord> {
        self.takes.iter().find(|t| t.take.key == key)
    }

    /// The take chosen for the edit with the director's choices as they
    /// are now: the pick when it is one of these takes, else the
    /// best-ranked take not rejected.
    pub fn choice(&self, picks: &ShotPicks) -> Choice<'_> {
        let picked = picks.pick.as_deref().and_then(|k| self.take_by_key(k));
        let stale_pick = picks.pick.clone().filter(|_| picked.is_none());
        if let Some(take) = picked {
            return Choice { take: Some(take), by: ChosenBy::Pick, stale_pick };
        }
        let best = self.takes.iter().filter(|t| !picks.rejects.contains(&t.take.key)).min_by_key(|t| t.ranked.rank);
        Choice { take: best, by: if best.is_some() { ChosenBy::Rank } else { ChosenBy::Nothing }, stale_pick }
    }

    /// Take `number` (from 1).
    pub fn take_by_number(&self, number: u32) -> Option<&RankedTakeRecord> {
        self.takes.iter().find(|t| t.number == number)
    }
}

/// Why a take is the one in the edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChosenBy {
    /// The director picked it.
    Pick,
    /// It ranks best of the takes not rejected.
    Rank,
    /// No take: none was made, or every one is rejected.
    Nothing,
}

impl ChosenBy {
    /// In words: `pick`, `rank`, or `every take is rejected`.
    pub fn name(self) -> &'static str {
        match self {
            ChosenBy::Pick => "pick",
            ChosenBy::Rank => "rank",
            ChosenBy::Nothing => "every take is rejected",
        }
    }
}

/// The take of a shot that goes in the edit ([`ShotReport::choice`]).
#[derive(Clone, Debug)]
pub struct Choice<'a> {
    /// The take, if there is one.
    pub take: Option<&'a RankedTakeRecord>,
    /// Why.
    pub by: ChosenBy,
    /// A pick that is none of these takes (the shot's request changed since).
    pub stale_pick: Option<String>,
}

/// An episode's takes, ranked: what `mattebox episode run` saves.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpisodeReport {
    /// The episode's name.
    pub name: String,
    /// Its shots, in the file's order.
    pub shots: Vec<ShotReport>,
}

impl EpisodeReport {
    /// Where a run of `episode` saves its report.
    pub fn path_for(episode: &Episode) -> PathBuf {
        episode.output.join("ranking.json")
    }

    /// The report the last run of `episode` saved.
    pub fn load(episode: &Episode) -> Result<EpisodeReport> {
        let path = EpisodeReport::path_for(episode);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "{} has not been run yet ({} is missing); run `mattebox episode run {}` first",
                        episode.path.display(),
                        path.display(),
                        episode.path.display()
                    ),
                ));
            }
            Err(e) => return Err(Error::io(&path, "read the ranking", e)),
        };
        serde_json::from_slice(&text).map_err(|e| {
            Error::invalid_argument(format!("{}: not a ranking ({e}); run the episode again", path.display()))
        })
    }

    fn save(&self, episode: &Episode) -> Result<PathBuf> {
        let path = EpisodeReport::path_for(episode);
        std::fs::create_dir_all(&episode.output).map_err(|e| Error::io(&episode.output, "create", e))?;
        let text = serde_json::to_vec_pretty(self).map_err(|e| Error::internal(format!("ranking: {e}")))?;
        write_file(&path, text, true, "write the ranking")?;
        Ok(path)
    }

    /// The shot `id`.
    pub fn shot(&self, id: &str) -> Option<&ShotReport> {
        self.shots.iter().find(|s| s.id == id)
    }
}

/// Where a shot is in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShotStage {
    /// Waiting for the shot it continues.
    Waiting,
    /// Its takes are being made (or served from the take cache).
    Generating,
    /// Its takes are made and scored; waiting for the shot before it to be ranked.
    Scored,
    /// Ranked.
    Ranked,
    /// No take could be made.
    Failed,
}

/// A shot's progress in a run.
#[derive(Clone, Debug, Serialize)]
pub struct ShotProgress {
    /// The shot's id.
    pub id: String,
    /// Where it is.
    pub stage: ShotStage,
    /// Fraction of its takes made, 0 to 1.
    pub fraction: f32,
}

/// Reads the first frame of an image or video file.
fn read_image(runtime: &Runtime, path: &Path) -> Result<Frame> {
    let mut reader = MediaReader::open_on(runtime, path, &OpenOptions::default())?;
    reader.read_frame(0)
}

/// The episode's references, described for scoring.
fn load_references(episode: &Episode, runtime: &Runtime) -> Result<(References, Vec<Reference>)> {
    let mut refs = References::default();
    let mut inputs = Vec::new();
    let mut describe = |kind: ReferenceKind, name: &str, path: &Path| -> Result<ReferenceImage> {
        let frame = read_image(runtime, path).map_err(|e| e.context(format!("{kind:?} reference {name:?}")))?;
        let image = runtime.install(|| ReferenceImage::describe(path, &frame))?;
        inputs.push(Reference {
            kind,
            name: name.to_owned(),
            image: ImageInput::new(path.display().to_string(), frame),
        });
        Ok(image)
    };
    for (name, paths) in &episode.characters {
        let images = paths.iter().map(|p| describe(ReferenceKind::Character, name, p)).collect::<Result<_>>()?;
        refs.characters.insert(name.clone(), images);
    }
    for (name, paths) in &episode.locations {
        let images = paths.iter().map(|p| describe(ReferenceKind::Location, name, p)).collect::<Result<_>>()?;
        refs.locations.insert(name.clone(), images);
    }
    for path in &episode.look {
        refs.look.push(describe(ReferenceKind::Style, "look", path)?);
    }
    Ok((refs, inputs))
}

/// An extras value as the episode file gives it: `@FILE` is the file's
/// text (the loader made it absolute), `@@...` a value starting with `@`.
fn extra_value(shot: &str, key: &str, value: &str) -> Result<String> {
    if let Some(literal) = value.strip_prefix("@@") {
        return Ok(format!("@{literal}"));
    }
    let Some(file) = value.strip_prefix('@') else { return Ok(value.to_owned()) };
    std::fs::read_to_string(file)
        .map_err(|e| Error::invalid_argument(format!("shot {shot}: extras {key} = @{file}: cannot read it ({e})")))
}

/// The request for `shot` (its chained first frame still to come).
fn request_of(shot: &EpisodeShot, references: &[Reference], runtime: &Runtime) -> Result<ShotRequest> {
    let context = |e: Error| e.context(format!("shot {}", shot.id));
    let mut request = ShotRequest::new(shot.prompt.clone());
    request.negative_prompt = shot.negative_prompt.clone();
    request.camera = CameraMotion::parse(&shot.camera).map_err(context)?;
    request.duration = shot.duration;
    request.fps = shot.fps;
    (request.width, request.height) = shot.size;
    request.seed = shot.seed;
    for (key, value) in &shot.extras {
        request.extras.insert(key.clone(), extra_value(&shot.id, key, value)?);
    }
    let image = |path: &Path| -> Result<ImageInput> {
        Ok(ImageInput::new(path.display().to_string(), read_image(runtime, path)?))
    };
    request.first_frame = shot.first_frame.as_deref().map(image).transpose().map_err(context)?;
    request.last_frame = shot.last_frame.as_deref().map(image).transpose().map_err(context)?;
    // The references this shot expects, so generators that take them get them.
    request.references = references
        .iter()
        .filter(|r| match r.kind {
            ReferenceKind::Character => shot.characters.contains(&r.name),
            ReferenceKind::Location => shot.location.as_ref() == Some(&r.name),
            ReferenceKind::Style => true,
        })
        .cloned()
        .collect();
    request.check().map_err(context)?;
    Ok(request)
}

/// What scoring a take keeps for ranking it again: its scores and how each
/// frame looks (references and neighbours are matched against the looks,
/// so a change of references needs no new pass over the frames).
#[derive(Serialize, Deserialize)]
struct KeptScores {
    /// The Mattebox that scored it: another version scores again.
    version: String,
    key: String,
    scores: crate::consistency::Scores,
    looks: Vec<FrameLook>,
}

/// Where the scores of `take` are kept for `episode`'s runs.
fn kept_scores_path(episode: &Episode, take: &Take) -> PathBuf {
    episode.output.join("take-scores").join(format!("{}.json", take.key))
}

/// The take's scores from an earlier run, or scored now and kept: a second
/// run of a large episode reads them instead of decoding every take again.
fn scores_of(runtime: &Runtime, episode: &Episode, take: &Take) -> Result<ShotScores> {
    let path = kept_scores_path(episode, take);
    let kept = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<KeptScores>(&b).ok());
    if let Some(kept) = kept.filter(|k| k.version == crate::VERSION && k.key == take.key && !k.looks.is_empty()) {
        return Ok(ShotScores {
            frames: kept.looks.len(),
            analysis_size: (0, 0),
            backend: "default",
            scores: kept.scores,
            curves: Vec::new(),
            worst_frames: Vec::new(),
            thumbnails: Vec::new(),
            worst_thumbnails: Vec::new(),
            looks: kept.looks,
        });
    }
    let scores = score_take(runtime, take)?;
    let kept = KeptScores {
        version: crate::VERSION.to_owned(),
        key: take.key.clone(),
        scores: scores.scores,
        looks: scores.looks.clone(),
    };
    // Keeping them is an optimisation: a failure costs a new pass next time.
    let keep = || -> Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
        let text = serde_json::to_vec(&kept).map_err(|e| Error::internal(format!("scores: {e}")))?;
        write_file(&path, text, true, "keep the take's scores")
    };
    if let Err(e) = keep() {
        tracing::warn!(error = %e, "could not keep a take's scores");
    }
    Ok(scores)
}

/// Scores a take's frames.
fn score_take(runtime: &Runtime, take: &Take) -> Result<ShotScores> {
    let mut reader = MediaReader::open_on(runtime, &take.media, &OpenOptions::default())?;
    let mut scorer = ShotScorer::new();
    for i in 0..reader.info().frame_count {
        let frame = reader.read_frame(i)?;
        runtime.install(|| scorer.push(&frame.view()))?;
    }
    scorer.finish()
}

struct Scored {
    take: Take,
    scores: ShotScores,
}

enum State {
    Waiting,
    Generating(Vec<GenerationJob>),
    Scored(Vec<Scored>),
    Ranked,
    Failed,
}

/// The batches of takes of `shot`: the episode file's, then those asked
/// for since (`more` in the picks), as (first seed, takes).
pub fn batches(shot: &EpisodeShot, picks: &Picks) -> Vec<(u64, u32)> {
    let mut out = vec![(shot.seed, shot.takes)];
    out.extend(picks.shot(&shot.id).more.iter().map(|m| (m.seed, m.takes)));
    out
}

/// The seed a new batch of takes of `shot` starts at: the first after
/// every batch so far.
pub fn next_seed(shot: &EpisodeShot, picks: &Picks) -> u64 {
    batches(shot, picks).iter().map(|&(seed, takes)| seed.saturating_add(u64::from(takes))).max().unwrap_or(0)
}

/// The shot a shot's continuity is measured against: the one it continues,
/// else the one before it in the file when that one is generated first.
fn neighbour(episode: &Episode, order: &[usize], i: usize) -> Option<usize> {
    let shot = &episode.shots[i];
    if let Some(after) = &shot.after {
        return episode.shots.iter().position(|s| &s.id == after);
    }
    let previous = i.checked_sub(1)?;
    let place = |s: usize| order.iter().position(|&o| o == s);
    (place(previous)? < place(i)?).then_some(previous)
}

/// Runs `episode`: generates what is missing, scores and ranks every
/// shot's takes, saves the report. `generations` must know every adapter
/// the episode names (the host registers installed adapters); `progress`
/// is called as shots move; setting `cancel` stops the run (takes already
/// made stay in the take cache).
pub fn run(
    episode: &Episode,
    generations: &Generations,
    progress: &mut dyn FnMut(&[ShotProgress]),
    cancel: &AtomicBool,
) -> Result<EpisodeReport> {
    let runtime = generations.runtime().clone();
    let known: Vec<String> = generations.generators().into_iter().map(|g| g.id).collect();
    for shot in &episode.shots {
        if !known.contains(&shot.adapter) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "shot {} uses the adapter {:?}, which is not installed here (installed: {}); install it with \
                     `mattebox plugin install DIR`, or set the shot's adapter",
                    shot.id,
                    shot.adapter,
                    known.join(", ")
                ),
            ));
        }
    }
    let order = episode.generation_order()?;
    let (refs, reference_inputs) = load_references(episode, &runtime)?;
    let picks = Picks::load(&Picks::path_for(&episode.path))?;
    let mut requests: Vec<ShotRequest> =
        episode.shots.iter().map(|s| request_of(s, &reference_inputs, &runtime)).collect::<Result<_>>()?;
    let n = episode.shots.len();
    let mut states: Vec<State> = (0..n).map(|_| State::Waiting).collect();
    let mut reports: Vec<Option<ShotReport>> = vec![None; n];
    let mut chosen_looks: Vec<Option<FrameLook>> = vec![None; n];
    let mut failures: Vec<Vec<String>> = vec![Vec::new(); n];
    loop {
        if cancel.load(Ordering::SeqCst) {
            for state in &states {
                if let State::Generating(jobs) = state {
                    jobs.iter().for_each(GenerationJob::cancel);
                }
            }
            return Err(Error::new(ErrorKind::Cancelled, "the episode run was cancelled; takes already made are kept"));
        }
        // Start every shot whose chain is ready.
        for &i in &order {
            if !matches!(states[i], State::Waiting) {
                continue;
            }
            let shot = &episode.shots[i];
            let mut continues = None;
            if let Some(after) = &shot.after {
                let j = episode.shots.iter().position(|s| &s.id == after).unwrap_or(i);
                match &states[j] {
                    State::Ranked => {}
                    State::Failed => {
                        failures[i].push(format!("not generated: {after}, which it continues, has no take"));
                        states[i] = State::Failed;
                        continue;
                    }
                    _ => continue,
                }
                let Some(previous) = reports[j].as_ref().and_then(|r| r.chosen_take()) else {
                    failures[i].push(format!(
                        "not generated: every take of {after}, which it continues, is rejected; make more takes of it"
                    ));
                    states[i] = State::Failed;
                    continue;
                };
                let source = crate::generate::read_source_video(&runtime, &previous.take.media, VideoRole::Extend)
                    .map_err(|e| e.context(format!("shot {after}")))?;
                requests[i].first_frame = Some(ImageInput::new(
                    format!("{after} take {} last frame", previous.number),
                    source.last_frame().clone(),
                ));
                requests[i].source_video = Some(source);
                continues = Some(previous.take.key.clone());
            }
            let mut jobs = Vec::new();
            for (seed, takes) in batches(shot, &picks) {
                // A job makes at most MAX_TAKES; take k of a batch keeps seed + k.
                for first in (0..takes).step_by(MAX_TAKES as usize) {
                    let mut request = requests[i].clone();
                    request.seed = seed.saturating_add(u64::from(first));
                    let job = generations.submit(&shot.adapter, request, MAX_TAKES.min(takes - first));
                    jobs.push(job.map_err(|e| e.context(format!("shot {}", shot.id)))?);
                }
            }
            reports[i] = Some(ShotReport {
                id: shot.id.clone(),
                takes: Vec::new(),
                failures: Vec::new(),
                chosen: None,
                chosen_by: String::new(),
                continues,
            });
            states[i] = State::Generating(jobs);
        }
        // Collect finished generations, scoring their takes.
        for i in 0..n {
            let State::Generating(jobs) = &states[i] else { continue };
            if !jobs.iter().all(GenerationJob::is_finished) {
                continue;
            }
            let State::Generating(jobs) = std::mem::replace(&mut states[i], State::Waiting) else { continue };
            let mut scored: Vec<Scored> = Vec::new();
            for job in jobs {
                for (status, result) in job.status().into_iter().zip(job.results()) {
                    match result {
                        // Batches that overlap make the same take twice.
                        Ok(take) if scored.iter().any(|s| s.take.key == take.key) => {}
                        Ok(take) => match scores_of(&runtime, episode, &take) {
                            Ok(scores) => scored.push(Scored { scores, take }),
                            Err(e) => failures[i].push(format!("seed {}: cannot be scored: {e}", take.seed)),
                        },
                        Err(e) if e.kind() == ErrorKind::Cancelled => return Err(e),
                        Err(e) => failures[i].push(format!("take {} of a batch: {e}", status.index + 1)),
                    }
                }
            }
            scored.sort_by_key(|s| s.take.seed);
            states[i] = if scored.is_empty() { State::Failed } else { State::Scored(scored) };
        }
        // Rank in generation order, each shot once the shot before it is.
        for &i in &order {
            if !matches!(states[i], State::Scored(_)) {
                continue;
            }
            let before = neighbour(episode, &order, i);
            if let Some(j) = before
                && matches!(states[j], State::Waiting | State::Generating(_) | State::Scored(_))
            {
                continue;
            }
            let State::Scored(scored) = std::mem::replace(&mut states[i], State::Ranked) else { continue };
            let shot = &episode.shots[i];
            let expectation = Expectation { characters: shot.characters.clone(), location: shot.location.clone() };
            let comparable = before.filter(|&j| match (&episode.shots[j].location, &shot.location) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            });
            let shot_picks = picks.shot(&shot.id);
            let mut takes = Vec::with_capacity(scored.len());
            let mut looks = Vec::with_capacity(scored.len());
            for s in scored {
                let against = refs.score(&s.scores, &expectation);
                let look = s.scores.look();
                let character = against
                    .characters
                    .iter()
                    .min_by(|a, b| a.1.score.total_cmp(&b.1.score))
                    .map(|(name, m)| (name.clone(), m.score));
                let continuity = comparable.and_then(|j| {
                    let theirs = chosen_looks[j].as_ref()?;
                    Some((episode.shots[j].id.clone(), grade_match(&look.whole(), &theirs.whole())))
                });
                let scores = TakeScores {
                    character,
                    location: against.location.as_ref().map(|m| m.score),
                    grade_match: against.grade,
                    continuity,
                    flicker: s.scores.scores.flicker,
                    boiling: s.scores.scores.boiling,
                };
                looks.push(look);
                takes.push((s.take, scores));
            }
            let rejected: Vec<bool> = takes.iter().map(|(t, _)| shot_picks.rejects.contains(&t.key)).collect();
            let scores: Vec<TakeScores> = takes.iter().map(|(_, s)| s.clone()).collect();
            let ranked = rank_takes(&scores, &rejected);
            let report = reports[i].as_mut().ok_or_else(|| Error::internal("a ranked shot without a report"))?;
            report.takes = takes
                .into_iter()
                .zip(ranked)
                .enumerate()
                .map(|(k, ((take, scores), ranked))| RankedTakeRecord { number: k as u32 + 1, take, scores, ranked })
                .collect();
            let choice = report.choice(&shot_picks);
            let chosen = choice.take.map(|t| t.number as usize - 1);
            report.chosen_by = choice.by.name().to_owned();
            report.chosen = chosen;
            chosen_looks[i] = report.chosen.map(|k| looks[k].clone());
        }
        let snapshot: Vec<ShotProgress> = (0..n)
            .map(|i| {
                let (stage, fraction) = match &states[i] {
                    State::Waiting => (ShotStage::Waiting, 0.0),
                    State::Generating(jobs) => (
                        ShotStage::Generating,
                        jobs.iter().map(GenerationJob::progress).sum::<f32>() / jobs.len() as f32,
                    ),
                    State::Scored(_) => (ShotStage::Scored, 1.0),
                    State::Ranked => (ShotStage::Ranked, 1.0),
                    State::Failed => (ShotStage::Failed, 1.0),
                };
                ShotProgress { id: episode.shots[i].id.clone(), stage, fraction }
            })
            .collect();
        progress(&snapshot);
        if states.iter().all(|s| matches!(s, State::Ranked | State::Failed)) {
            break;
        }
        // Wait on the first job still running, briefly, then look again.
        let running = states.iter().find_map(|s| match s {
            State::Generating(jobs) => jobs.iter().find(|j| !j.is_finished()),
            _ => None,
        });
        if let Some(job) = running {
            job.wait_timeout(Duration::from_millis(100));
        }
    }
    let shots: Vec<ShotReport> = (0..n)
        .map(|i| {
            let mut report = reports[i].take().unwrap_or_else(|| ShotReport {
                id: episode.shots[i].id.clone(),
                takes: Vec::new(),
                failures: Vec::new(),
                chosen: None,
                chosen_by: String::new(),
                continues: None,
            });
            report.failures = std::mem::take(&mut failures[i]);
            report
        })
        .collect();
    let report = EpisodeReport { name: episode.name.clone(), shots };
    report.save(episode)?;
    Ok(report)
}

/// What [`export`] wrote.
#[cfg(feature = "video")]
#[derive(Clone, Debug, Serialize)]
pub struct Exported {
    /// The timeline files: `.otio`, `.fcpxml`, `.edl`, `.mlt`.
    pub timelines: Vec<PathBuf>,
    /// The media, one file per shot, in the edit's order.
    pub media: Vec<PathBuf>,
    /// Which take each shot uses and why.
    pub choices: Vec<String>,
    /// What an editor should know (a chained shot made from a take that is
    /// no longer its shot's choice, a shot left out).
    pub warnings: Vec<String>,
}

/// A name for files: letters, digits, `-` and `_`.
#[cfg(feature = "video")]
fn file_stem(name: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if stem.is_empty() { "episode".into() } else { stem }
}

/// Writes the edit of `episode` into `dir`: each shot's chosen take (its
/// pick as the picks file says now, else the best-ranked take of the last
/// run) as an H.264 file at the timeline's rate (the first shot's; takes at
/// another rate are conformed with optical flow) whose timecode is its
/// place in the edit, and the timeline as OTIO, FCPXML, EDL and MLT.
#[cfg(feature = "video")]
pub fn export(episode: &Episode, report: &EpisodeReport, runtime: &Runtime, dir: &Path) -> Result<Exported> {
    use super::timeline::{self, Timeline, TimelineClip};
    use crate::interp::Mode;
    use crate::interp::retime::RetimeSpec;
    use crate::media::{ClipTags, MediaWriter, Timecode, VideoCodec, WriteOptions};
    use crate::pipeline::retime::RetimeJob;

    let picks = Picks::load(&Picks::path_for(&episode.path))?;
    let rate = episode.timeline_rate();
    let mut warnings = Vec::new();
    let mut choices = Vec::new();
    let mut chosen: Vec<(&EpisodeShot, &RankedTakeRecord)> = Vec::new();
    let mut chosen_keys: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for shot in &episode.shots {
        let Some(shot_report) = report.shot(&shot.id) else {
            warnings.push(format!("shot {} is not in the last run; run the episode again", shot.id));
            continue;
        };
        let choice = shot_report.choice(&picks.shot(&shot.id));
        if let Some(key) = choice.stale_pick {
            warnings.push(format!(
                "shot {}: the picked take {} is not among the last run's takes (its request changed); using the best ranked",
                shot.id,
                &key[..12]
            ));
        }
        let Some(take) = choice.take else {
            warnings.push(format!("shot {} has no take to use (none made, or every take rejected); left out", shot.id));
            continue;
        };
        choices.push(format!(
            "{}: take {} ({})",
            shot.id,
            take.number,
            if choice.by == ChosenBy::Pick { "picked".to_owned() } else { take.ranked.reason.clone() }
        ));
        chosen_keys.insert(&shot.id, &take.take.key);
        chosen.push((shot, take));
    }
    for (shot, _) in &chosen {
        let (Some(after), Some(made_from)) = (&shot.after, report.shot(&shot.id).and_then(|s| s.continues.as_ref()))
        else {
            continue;
        };
        if chosen_keys.get(after.as_str()).is_some_and(|k| k != made_from) {
            warnings.push(format!(
                "shot {} was made from another take of {after} than the one now chosen; run the episode again to \
                 make it continue the new choice",
                shot.id
            ));
        }
    }
    if chosen.is_empty() {
        return Err(Error::invalid_argument(format!("{}: no shot has a take to export", episode.path.display())));
    }
    let media_dir = dir.join("media");
    std::fs::create_dir_all(&media_dir).map_err(|e| Error::io(&media_dir, "create", e))?;
    let media_dir = std::path::absolute(&media_dir).map_err(|e| Error::io(&media_dir, "resolve", e))?;
    let mut clips = Vec::new();
    let mut at = timeline::start_frame(rate);
    for (shot, ranked) in &chosen {
        let take = &ranked.take;
        let gone = |e: Error| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "shot {} take {} (key {}) cannot be read from the take cache ({e}); run `mattebox episode run \
                     {}` to make it again",
                    shot.id,
                    ranked.number,
                    &take.key[..12],
                    episode.path.display()
                ),
            )
        };
        let name = format!("{}-take{}", shot.id, ranked.number);
        // A take at another rate than the timeline's is conformed to it
        // with optical flow (quality mode), through a lossless intermediate
        // that is removed once the timecoded file is written.
        let conformed = (take.fps != rate).then(|| media_dir.join(format!(".{name}-conforming.mkv")));
        if let Some(conformed) = &conformed {
            let job = RetimeJob {
                input: take.media.clone(),
                output: conformed.clone(),
                spec: RetimeSpec::FrameRate(rate),
                output_rate: None,
                mode: Mode::Quality,
                neural: Default::default(),
                vectors: None,
                open: OpenOptions::default(),
                codec: Some(VideoCodec::Ffv1),
                overwrite: true,
                audio: Default::default(),
                audio_file: None,
                fill_repeats: false,
                frames: None,
            };
            job.run(runtime, &mut |_| {})
                .map_err(|e| e.context(format!("conforming shot {} from {} to {rate} fps", shot.id, take.fps)))?;
            choices.push(format!("{}: conformed from {} to {rate} fps with optical flow", shot.id, take.fps));
        }
        let source = conformed.as_ref().unwrap_or(&take.media);
        let mut reader = MediaReader::open_on(runtime, source, &OpenOptions::default()).map_err(gone)?;
        let frames = reader.info().frame_count;
        let path = media_dir.join(format!("{name}.mp4"));
        let tags = ClipTags {
            timecode: Some(Timecode { frame: at, rate, drop_frame: false }.to_string()),
            ..Default::default()
        };
        let options = WriteOptions {
            codec: Some(VideoCodec::H264),
            overwrite: true,
            tags,
            encoder_threads: runtime.threads(),
            ..WriteOptions::new(rate)
        };
        let format = reader.info().decoded_format;
        let mut writer = MediaWriter::create(&path, take.width, take.height, format, &options)?;
        for i in 0..frames {
            let frame = reader.read_frame(i).map_err(gone)?;
            writer.write_frame(&frame.view())?;
        }
        writer.finish()?;
        if let Some(conformed) = &conformed {
            let _ = std::fs::remove_file(conformed);
        }
        let mut metadata = vec![
            ("shot".to_owned(), shot.id.clone()),
            ("take".to_owned(), ranked.number.to_string()),
            ("take_key".to_owned(), take.key.clone()),
            ("prompt".to_owned(), take.request.prompt.clone()),
            ("seed".to_owned(), take.seed.to_string()),
            ("adapter".to_owned(), format!("{} {}", take.generator, take.generator_version)),
            ("rank".to_owned(), ranked.ranked.rank.to_string()),
            ("blend".to_owned(), format!("{:.3}", ranked.ranked.blend)),
        ];
        if !take.request.negative_prompt.is_empty() {
            metadata.push(("negative_prompt".to_owned(), take.request.negative_prompt.clone()));
        }
        for (id, label, value, _) in ranked.scores.components() {
            let shown = if label == id { format!("{value:.3}") } else { format!("{value:.3} ({label})") };
            metadata.push((format!("score_{}", id.replace(' ', "_")), shown));
        }
        clips.push(TimelineClip {
            name,
            media: path,
            frames,
            size: (take.width, take.height),
            metadata,
            marker: ranked.ranked.reason.clone(),
        });
        at += frames;
    }
    let timeline = Timeline { name: episode.name.clone(), rate, size: clips[0].size, clips };
    let stem = file_stem(&episode.name);
    let mut timelines = Vec::new();
    for (ext, text) in [
        ("otio", timeline::otio(&timeline)),
        ("fcpxml", timeline::fcpxml(&timeline)),
        ("edl", timeline::edl(&timeline)),
        ("mlt", timeline::mlt(&timeline)),
    ] {
        let path = dir.join(format!("{stem}.{ext}"));
        write_file(&path, text, true, &format!("write the {ext} timeline"))?;
        timelines.push(path);
    }
    Ok(Exported { timelines, media: timeline.clips.iter().map(|c| c.media.clone()).collect(), choices, warnings })
}
