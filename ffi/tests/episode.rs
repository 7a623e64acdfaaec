//! An episode through the C ABI, as an OFX or Unreal host sees it: the
//! shots in order and the take each uses in the edit (ranked, then picked
//! by the director), its frames in the take cache, and clear errors for an
//! episode never run, a shot that does not exist and a buffer too small.

use std::ffi::{CStr, CString, c_char};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mattebox::*;
use mattebox_core::episode::run::run;
use mattebox_core::episode::{Episode, Picks};
use mattebox_core::generate::{Generations, TakeCache};
use mattebox_core::{Runtime, RuntimeConfig};

fn last_error() -> String {
    // SAFETY: the library keeps the message alive until the next call on this thread.
    unsafe { CStr::from_ptr(mb_last_error_message()) }.to_string_lossy().into_owned()
}

fn open(path: &std::path::Path) -> Result<*mut mb_episode, (mb_result, String)> {
    let path = CString::new(path.to_str().unwrap()).unwrap();
    let mut episode = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path and a writable out-pointer.
    match unsafe { mb_episode_open(path.as_ptr(), &mut episode) } {
        mb_result::Ok => Ok(episode),
        code => {
            assert!(episode.is_null(), "the out-pointer is cleared on failure");
            Err((code, last_error()))
        }
    }
}

fn text(episode: *const mb_episode, shot: u32, what: u32) -> Result<String, (mb_result, String)> {
    let mut buf = [0 as c_char; 512];
    // SAFETY: an open episode and a buffer of the size given.
    match unsafe { mb_episode_take_text(episode, shot, what, buf.as_mut_ptr(), buf.len()) } {
        // SAFETY: the library wrote a NUL-terminated string.
        mb_result::Ok => Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()),
        code => Err((code, last_error())),
    }
}

fn chosen(episode: *const mb_episode, shot: u32) -> mb_episode_take {
    let mut take = mb_episode_take { struct_size: std::mem::size_of::<mb_episode_take>() as u32, ..Default::default() };
    // SAFETY: an open episode and a sized struct.
    assert_eq!(unsafe { mb_episode_chosen_take(episode, shot, &mut take) }, mb_result::Ok, "{}", last_error());
    take
}

#[test]
fn a_host_lists_the_shots_and_shows_each_pick() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ep.toml");
    std::fs::write(
        &path,
        "name = 'ep'\n[defaults]\nsize = '96x54'\nduration = '1/2'\n\
         [[shots]]\nid = 'open'\nprompt = 'a valley at dusk'\ntakes = 3\n\
         [[shots]]\nid = 'close'\nafter = 'open'\ncamera = 'zoom=0.3'\n",
    )
    .unwrap();
    let (code, message) = open(&path).unwrap_err();
    assert_eq!(code, mb_result::NotFound);
    assert!(message.contains("mb_episode_open") && message.contains("mattebox episode run"), "{message}");

    let runtime = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap());
    let generations = Generations::with_cache(runtime, TakeCache::new(dir.path().join("takes")));
    let episode = Episode::load(&path).unwrap();
    let report = run(&episode, &generations, &mut |_| {}, &AtomicBool::new(false)).unwrap();

    let handle = open(&path).unwrap();
    let mut count = 0;
    // SAFETY: an open episode and a writable count.
    assert_eq!(unsafe { mb_episode_shot_count(handle, &mut count) }, mb_result::Ok);
    assert_eq!(count, 2);
    assert_eq!(text(handle, 0, MB_EPISODE_TEXT_SHOT_ID).unwrap(), "open");
    assert_eq!(text(handle, 1, MB_EPISODE_TEXT_SHOT_ID).unwrap(), "close");
    let best = chosen(handle, 0);
    assert_eq!((best.chosen_by, best.rank, best.takes), (MB_EPISODE_CHOSEN_RANK, 1, 3));
    assert_eq!((best.width, best.height, best.fps_num, best.fps_den, best.frames), (96, 54, 24, 1, 12));
    let ranked_first = report.shots[0].chosen_take().unwrap();
    assert_eq!(best.number, ranked_first.number);
    assert_eq!(text(handle, 0, MB_EPISODE_TEXT_TAKE_KEY).unwrap(), ranked_first.take.key);
    assert_eq!(text(handle, 0, MB_EPISODE_TEXT_PROMPT).unwrap(), "a valley at dusk");
    assert!(text(handle, 0, MB_EPISODE_TEXT_REASON).unwrap().starts_with("ranked 1 of 3"));
    let frames = text(handle, 0, MB_EPISODE_TEXT_FRAMES_DIR).unwrap();
    assert_eq!(
        std::fs::read_dir(&frames)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "png"))
            .count(),
        12
    );

    // The director picks another take: a new snapshot shows it.
    let other = report.shots[0].takes.iter().find(|t| t.ranked.rank == 3).unwrap();
    Picks::update(&Picks::path_for(&episode.path), |p| p.pick("open", &other.take.key)).unwrap();
    assert_eq!(chosen(handle, 0).chosen_by, MB_EPISODE_CHOSEN_RANK, "a snapshot");
    // SAFETY: opened above, not used after.
    unsafe { mb_episode_free(handle) };
    let handle = open(&path).unwrap();
    let picked = chosen(handle, 0);
    assert_eq!((picked.chosen_by, picked.number, picked.rank), (MB_EPISODE_CHOSEN_PICK, other.number, 3));
    let picked_frames = text(handle, 0, MB_EPISODE_TEXT_FRAMES_DIR).unwrap();
    assert_ne!(picked_frames, frames);

    // Mistakes are named.
    let (code, message) = text(handle, 2, MB_EPISODE_TEXT_SHOT_ID).unwrap_err();
    assert_eq!(code, mb_result::InvalidArgument);
    assert!(message.contains("shot 2 does not exist; the episode has 2"), "{message}");
    let (code, _) = text(handle, 0, 99).unwrap_err();
    assert_eq!(code, mb_result::Unsupported);
    let mut small = [0 as c_char; 8];
    // SAFETY: a buffer of the size given.
    let code = unsafe { mb_episode_take_text(handle, 0, MB_EPISODE_TEXT_TAKE_KEY, small.as_mut_ptr(), small.len()) };
    assert_eq!(code, mb_result::InvalidArgument);
    assert!(last_error().contains("needs 65"), "{}", last_error());
    // SAFETY: null pointers, which the library must refuse.
    unsafe {
        assert_eq!(mb_episode_take_text(handle, 0, 0, std::ptr::null_mut(), 8), mb_result::NullPointer);
        assert_eq!(mb_episode_shot_count(std::ptr::null(), &mut count), mb_result::NullPointer);
        assert_eq!(mb_episode_chosen_take(handle, 0, std::ptr::null_mut()), mb_result::NullPointer);
        mb_episode_free(handle);
        mb_episode_free(std::ptr::null_mut());
    }
    // A take deleted from the cache behind the host's back.
    std::fs::remove_dir_all(&picked_frames).unwrap();
    let handle = open(&path).unwrap();
    let (code, message) = text(handle, 0, MB_EPISODE_TEXT_FRAMES_DIR).unwrap_err();
    assert_eq!(code, mb_result::NotFound);
    assert!(message.contains("gone from the take cache") && message.contains("episode run"), "{message}");
    // SAFETY: opened above.
    unsafe { mb_episode_free(handle) };
}
