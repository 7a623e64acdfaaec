//! An episode through the C ABI: its shots and the take each one uses in
//! the edit (the director's pick, else the best ranked), so an OFX or
//! Unreal host can list them and show a pick. A snapshot: the episode
//! file, the last run's ranking and the picks as they were when opened;
//! open it again to see later picks. ABI 1.8.

use std::ffi::c_char;

use mattebox_core::episode::run::{ChosenBy, EpisodeReport, RankedTakeRecord};
use mattebox_core::episode::{Episode, Picks};

use crate::boundary::{
    BoxedHandle, FfiError, FfiResult, arg_path, arg_ref, free_handle, guard, mb_result, write_sized,
};
use crate::generate::write_text;

/// An episode, its ranking and its picks, as read when opened.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mb_episode {
    episode: Episode,
    report: EpisodeReport,
    picks: Picks,
}

impl BoxedHandle for mb_episode {}

/// No take is in the edit for the shot (none made, or every one rejected).
pub const MB_EPISODE_CHOSEN_NONE: u32 = 0;
/// The director picked the take.
pub const MB_EPISODE_CHOSEN_PICK: u32 = 1;
/// The take ranks best of those not rejected.
pub const MB_EPISODE_CHOSEN_RANK: u32 = 2;

/// `mb_episode_take_text`: the shot's id.
pub const MB_EPISODE_TEXT_SHOT_ID: u32 = 0;
/// The chosen take's key in the take cache (64 hex digits).
pub const MB_EPISODE_TEXT_TAKE_KEY: u32 = 1;
/// The folder of the chosen take's frames (an image sequence in the take
/// cache, what `mb_media_open` and image-sequence players open).
pub const MB_EPISODE_TEXT_FRAMES_DIR: u32 = 2;
/// The prompt the chosen take was made from.
pub const MB_EPISODE_TEXT_PROMPT: u32 = 3;
/// Why the chosen take ranks where it does, in words.
pub const MB_EPISODE_TEXT_REASON: u32 = 4;

/// The take a shot uses in the edit. Set `struct_size` to
/// `sizeof(mb_episode_take)` before `mb_episode_chosen_take`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default)]
pub struct mb_episode_take {
    /// `sizeof(mb_episode_take)`.
    pub struct_size: u32,
    /// `MB_EPISODE_CHOSEN_*`: why this take, or that there is none (then
    /// the other fields are zero).
    pub chosen_by: u32,
    /// Its number in its shot, from 1 (takes are numbered by seed).
    pub number: u32,
    /// Its rank among the shot's takes, 1 is best.
    pub rank: u32,
    /// Takes the shot has.
    pub takes: u32,
    /// Width and height of its frames.
    pub width: u32,
    /// Height of its frames.
    pub height: u32,
    /// Frame rate, numerator.
    pub fps_num: u32,
    /// Frame rate, denominator.
    pub fps_den: u32,
    /// Frames in the take.
    pub frames: u64,
    /// The seed it was made with.
    pub seed: u64,
    /// The blend of consistency scores it was ranked by, 0 to 1.
    pub blend: f32,
}

/// Opens the episode file at `path` with its last run's ranking
/// (`OUTPUT/ranking.json`) and its picks (`EPISODE.picks.json`). An episode
/// never run is `MB_RESULT_NOT_FOUND` saying to run `mattebox episode run`.
/// Free with `mb_episode_free`.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_episode_open(path: *const c_char, out: *mut *mut mb_episode) -> mb_result {
    guard("mb_episode_open", || {
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        // SAFETY: checked non-null and writable per the contract.
        unsafe { *out = std::ptr::null_mut() };
        // SAFETY: NUL-terminated per the contract.
        let path = unsafe { arg_path(path, "path")? };
        let episode = Episode::load(&path)?;
        let report = EpisodeReport::load(&episode)?;
        let picks = Picks::load(&Picks::path_for(&episode.path))?;
        // SAFETY: as above.
        unsafe { *out = mb_episode { episode, report, picks }.into_raw() };
        Ok(())
    })
}

/// Writes the number of shots of the episode (in the file's order) to `out_count`.
///
/// # Safety
/// `episode` must come from `mb_episode_open`; `out_count` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_episode_shot_count(episode: *const mb_episode, out_count: *mut u32) -> mb_result {
    guard("mb_episode_shot_count", || {
        // SAFETY: checked for null; validity is the host's contract.
        let episode = unsafe { arg_ref(episode, "episode")? };
        if out_count.is_null() {
            return Err(FfiError::null("out_count"));
        }
        // SAFETY: non-null and writable per the contract.
        unsafe { *out_count = episode.episode.shots.len() as u32 };
        Ok(())
    })
}

impl mb_episode {
    fn shot(&self, shot: u32) -> FfiResult<(&str, Option<&RankedTakeRecord>, ChosenBy, u32)> {
        let file_shot = self.episode.shots.get(shot as usize).ok_or_else(|| {
            FfiError::invalid(format!("shot {shot} does not exist; the episode has {}", self.episode.shots.len()))
        })?;
        let Some(report) = self.report.shot(&file_shot.id) else {
            return Ok((&file_shot.id, None, ChosenBy::Nothing, 0));
        };
        let choice = report.choice(&self.picks.shot(&file_shot.id));
        Ok((&file_shot.id, choice.take, choice.by, report.takes.len() as u32))
    }
}

/// Describes the take shot `shot` (from 0, in the file's order) uses in the
/// edit: the pick, else the best-ranked take not rejected. A shot with none
/// gets `chosen_by = MB_EPISODE_CHOSEN_NONE` and zeros.
///
/// # Safety
/// `episode` must come from `mb_episode_open`; `out` must point to an
/// `mb_episode_take` whose `struct_size` is set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_episode_chosen_take(
    episode: *const mb_episode,
    shot: u32,
    out: *mut mb_episode_take,
) -> mb_result {
    guard("mb_episode_chosen_take", || {
        // SAFETY: checked for null; validity is the host's contract.
        let episode = unsafe { arg_ref(episode, "episode")? };
        let (_, take, by, takes) = episode.shot(shot)?;
        let value = match take {
            Some(t) => mb_episode_take {
                struct_size: std::mem::size_of::<mb_episode_take>() as u32,
                chosen_by: match by {
                    ChosenBy::Pick => MB_EPISODE_CHOSEN_PICK,
                    ChosenBy::Rank => MB_EPISODE_CHOSEN_RANK,
                    ChosenBy::Nothing => MB_EPISODE_CHOSEN_NONE,
                },
                number: t.number,
                rank: t.ranked.rank as u32,
                takes,
                width: t.take.width,
                height: t.take.height,
                fps_num: t.take.fps.num() as u32,
                fps_den: t.take.fps.den() as u32,
                frames: t.take.frames,
                seed: t.take.seed,
                blend: t.ranked.blend,
            },
            None => mb_episode_take { takes, ..Default::default() },
        };
        // SAFETY: the host's struct, as large as its struct_size says.
        unsafe { write_sized(&value, out, "out", "mb_episode_take") }
    })
}

/// Writes text about shot `shot` and its chosen take into `buf`,
/// NUL-terminated, at most `capacity` bytes (UTF-8): `what` is one of
/// `MB_EPISODE_TEXT_*`. A shot without a chosen take has only its id;
/// asking for more is `MB_RESULT_NOT_FOUND`; a buffer too small is
/// `MB_RESULT_INVALID_ARGUMENT` saying how many bytes it needs.
///
/// # Safety
/// `episode` must come from `mb_episode_open`; `buf` must have `capacity`
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_episode_take_text(
    episode: *const mb_episode,
    shot: u32,
    what: u32,
    buf: *mut c_char,
    capacity: usize,
) -> mb_result {
    guard("mb_episode_take_text", || {
        // SAFETY: checked for null; validity is the host's contract.
        let episode = unsafe { arg_ref(episode, "episode")? };
        if buf.is_null() {
            return Err(FfiError::null("buf"));
        }
        let (id, take, _, _) = episode.shot(shot)?;
        let need_take = || {
            take.ok_or_else(|| FfiError {
                code: mb_result::NotFound,
                message: format!("shot {id} has no take in the edit (none made, or every one rejected)"),
            })
        };
        let value = match what {
            MB_EPISODE_TEXT_SHOT_ID => id.to_owned(),
            MB_EPISODE_TEXT_TAKE_KEY => need_take()?.take.key.clone(),
            MB_EPISODE_TEXT_FRAMES_DIR => {
                let dir = &need_take()?.take.media;
                if !dir.is_dir() {
                    return Err(FfiError {
                        code: mb_result::NotFound,
                        message: format!(
                            "shot {id}'s take is gone from the take cache ({}); run `mattebox episode run {}` to \
                             make it again",
                            dir.display(),
                            episode.episode.path.display()
                        ),
                    });
                }
                dir.to_str().ok_or_else(|| FfiError::invalid(format!("{} is not UTF-8", dir.display())))?.to_owned()
            }
            MB_EPISODE_TEXT_PROMPT => need_take()?.take.request.prompt.clone(),
            MB_EPISODE_TEXT_REASON => need_take()?.ranked.reason.clone(),
            other => {
                return Err(FfiError {
                    code: mb_result::Unsupported,
                    message: format!("`what` {other} is not an MB_EPISODE_TEXT_* value"),
                });
            }
        };
        // SAFETY: `capacity` writable bytes at `buf`, per the contract.
        unsafe { write_text(&value, buf, capacity, &format!("shot {id}'s text {what}")) }
    })
}

/// Releases an episode. NULL is ignored.
///
/// # Safety
/// `episode` must be NULL or come from `mb_episode_open`, and not be used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mb_episode_free(episode: *mut mb_episode) {
    // SAFETY: per the contract.
    unsafe { free_handle("mb_episode_free", episode) }
}
