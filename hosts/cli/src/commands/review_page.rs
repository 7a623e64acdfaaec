//! The review page's HTML: server-rendered, one small inline script (the
//! keyboard shortcuts and the progress of a running request), nothing
//! fetched from elsewhere. Every control is a labelled form control, so
//! the page works with Tab and Enter alone, and without the script.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use mattebox_core::Error;
use mattebox_core::episode::run::{EpisodeReport, RankedTakeRecord, ShotReport};
use mattebox_core::episode::{Episode, Picks, ShotPicks};
use mattebox_core::markup::escape;

/// What the page was asked for.
pub(crate) struct Query<'a> {
    /// `/TOKEN/`.
    pub(crate) base: &'a str,
    /// The prompt search, if any.
    pub(crate) search: &'a str,
    /// Per shot, the seed a request for more takes starts at.
    pub(crate) next_seeds: BTreeMap<String, u64>,
}

/// The running request for more takes, as the page shows it.
pub(crate) struct JobView {
    pub(crate) running: bool,
    pub(crate) fraction: f32,
    pub(crate) message: String,
}

/// The episode's reference images in a fixed order (the page names them by
/// place, never by path): (kind, name, file).
pub(crate) fn reference_images(episode: &Episode) -> Vec<(&'static str, String, PathBuf)> {
    let mut out = Vec::new();
    for (name, paths) in &episode.characters {
        out.extend(paths.iter().map(|p| ("character", name.clone(), p.clone())));
    }
    for (name, paths) in &episode.locations {
        out.extend(paths.iter().map(|p| ("location", name.clone(), p.clone())));
    }
    out.extend(episode.look.iter().map(|p| ("look", "look".to_owned(), p.clone())));
    out
}

/// The reference sheet of one shot: its characters, its location, the look.
fn reference_sheet(episode: &Episode, shot_id: &str, base: &str) -> String {
    let Ok(shot) = episode.shot(shot_id) else { return String::new() };
    let mut out = String::new();
    for (n, (kind, name, _)) in reference_images(episode).iter().enumerate() {
        let wanted = match *kind {
            "character" => shot.characters.contains(name),
            "location" => shot.location.as_ref() == Some(name),
            _ => true,
        };
        if wanted {
            let _ = write!(
                out,
                "<figure><img src=\"{base}ref/{n}.png\" alt=\"{kind} reference: {}\" height=\"90\"><figcaption>{kind} {}</figcaption></figure>",
                escape(name),
                escape(name)
            );
        }
    }
    if out.is_empty() {
        return out;
    }
    format!("<div class=\"refs\" aria-label=\"references of {}\">{out}</div>", escape(shot_id))
}

const STYLE: &str = "
body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#16181c;color:#e8e8e8}
header{position:sticky;top:0;background:#202329;padding:.6em 1em;display:flex;gap:1.5em;align-items:center;flex-wrap:wrap;z-index:1}
h1{font-size:1.2em;margin:0}h2{font-size:1.05em;margin:.2em 0}h3{font-size:1em;margin:.3em 0}
main{padding:0 1em 2em}section.shot{border-top:1px solid #333;padding:.6em 0}
ol.takes{list-style:none;padding:0;display:flex;gap:.8em;flex-wrap:wrap}
li.take{background:#23262d;padding:.5em;border-radius:6px;width:330px;border:2px solid transparent}
li.take:focus,li.take:focus-within{outline:3px solid #6cb4ff;outline-offset:2px}
li.take.picked{border-color:#4caf50}li.take.rejected{opacity:.55}
video,img.sheet{width:100%;display:block;background:#000}
.reason{font-size:.85em;color:#c8c8c8}.prompt{color:#9ab;font-weight:normal}
table.scores{font-size:.8em;border-collapse:collapse}table.scores td{padding:0 .5em 0 0}
button{background:#343944;color:#eee;border:1px solid #555;border-radius:4px;padding:.2em .6em;cursor:pointer}
button[aria-pressed=true]{background:#2e7d32}button:focus,input:focus,a:focus{outline:3px solid #6cb4ff}
input{background:#111;color:#eee;border:1px solid #555;border-radius:4px;padding:.15em .3em}
a{color:#8cc4ff}.refs{display:flex;gap:.5em}.refs figure{margin:0;font-size:.75em}
.badge{font-size:.75em;background:#2e7d32;border-radius:3px;padding:0 .4em;margin-left:.4em}
.sr{position:absolute;left:-9999px}
";

const SCRIPT: &str = "
(function(){
  const takes = () => Array.from(document.querySelectorAll('li.take'));
  function move(step){
    const all = takes(); if(!all.length) return;
    const at = all.indexOf(document.activeElement.closest && document.activeElement.closest('li.take'));
    const next = all[Math.max(0, Math.min(all.length-1, at < 0 ? 0 : at+step))];
    next.focus(); next.scrollIntoView({block:'nearest'});
  }
  function press(action){
    const take = document.activeElement.closest && document.activeElement.closest('li.take');
    if(!take) return;
    const button = take.querySelector('button[data-key=\"'+action+'\"]');
    if(button) button.click();
  }
  document.addEventListener('keydown', function(e){
    if(e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target.tagName||'').toLowerCase();
    if(tag === 'input' || tag === 'textarea') return;
    const keys = {j:()=>move(1), k:()=>move(-1), p:()=>press('p'), f:()=>press('f'), x:()=>press('x'),
                  '/':()=>document.getElementById('q').focus()};
    if(keys[e.key]){ e.preventDefault(); keys[e.key](); }
  });
  const job = document.getElementById('job');
  if(job && job.dataset.running === 'true'){
    const bar = document.getElementById('job-progress');
    const poll = function(){
      fetch('status.json', {cache:'no-store'}).then(r => r.json()).then(function(s){
        bar.value = s.fraction;
        if(s.running){ setTimeout(poll, 400); } else { location.reload(); }
      }).catch(function(){ setTimeout(poll, 1000); });
    };
    setTimeout(poll, 400);
  }
})();
";

fn score_rows(take: &RankedTakeRecord) -> String {
    let mut rows = String::new();
    for (_, label, value, weight) in take.scores.components() {
        let _ = write!(rows, "<tr><td>{}</td><td>{value:.2}</td><td>×{weight:.2}</td></tr>", escape(&label));
    }
    format!("<table class=\"scores\" aria-label=\"scores of take {}\"><tbody>{rows}</tbody></table>", take.number)
}

/// One take's card; `chosen` says whether it is the take in the edit.
fn take_card(shot: &ShotReport, take: &RankedTakeRecord, marks: &ShotPicks, chosen: bool, q: &Query<'_>) -> String {
    let key = &take.take.key;
    let picked = marks.pick.as_deref() == Some(key.as_str());
    let favourite = marks.favourites.contains(key);
    let rejected = marks.rejects.contains(key);
    let note = marks.notes.get(key).map(String::as_str).unwrap_or("");
    let (base, id) = (q.base, &shot.id);
    let mut classes = vec!["take"];
    if picked {
        classes.push("picked");
    }
    if rejected {
        classes.push("rejected");
    }
    let label = format!("take {} of {id}", take.number);
    let mut badges = String::new();
    if picked {
        badges.push_str("<span class=\"badge\">picked</span>");
    } else if chosen {
        badges.push_str("<span class=\"badge\">chosen by rank</span>");
    }
    if favourite {
        badges.push_str("<span class=\"badge\">favourite</span>");
    }
    if rejected {
        badges.push_str("<span class=\"badge\">rejected</span>");
    }
    let toggle = |on: bool, yes: &str, no: &str| if on { no.to_owned() } else { yes.to_owned() };
    format!(
        "<li class=\"{classes}\" id=\"take-{id}-{short}\" data-key=\"{key}\" tabindex=\"0\" aria-label=\"{label}\">\
<video src=\"{base}take/{key}/preview.mp4\" loop muted autoplay playsinline preload=\"none\" aria-label=\"preview of {label}\"></video>\
<h3>Take {number} <span class=\"prompt\">rank {rank} of {count}, seed {seed}</span>{badges}</h3>\
<p class=\"reason\">{reason}</p>{scores}\
<details><summary>Contact sheet</summary><img class=\"sheet\" src=\"{base}take/{key}/sheet.png\" alt=\"contact sheet of {label}\" loading=\"lazy\"></details>\
<form method=\"post\" action=\"{base}mark\">\
<input type=\"hidden\" name=\"shot\" value=\"{id_e}\"><input type=\"hidden\" name=\"key\" value=\"{key}\"><input type=\"hidden\" name=\"q\" value=\"{search}\">\
<button name=\"action\" value=\"{pick}\" data-key=\"p\" aria-pressed=\"{picked}\">{pick_label}</button> \
<button name=\"action\" value=\"{fav}\" data-key=\"f\" aria-pressed=\"{favourite}\">Favourite</button> \
<button name=\"action\" value=\"{rej}\" data-key=\"x\" aria-pressed=\"{rejected}\">Reject</button> \
<a href=\"{base}compare?shot={id_e}&amp;a={key}\">Compare</a><br>\
<label>Note <input name=\"note\" value=\"{note}\" size=\"22\"></label> <button name=\"action\" value=\"note\">Save note</button>\
</form></li>",
        classes = classes.join(" "),
        short = &key[..12],
        number = take.number,
        rank = take.ranked.rank,
        count = shot.takes.len(),
        seed = take.take.seed,
        reason = escape(&take.ranked.reason),
        scores = score_rows(take),
        id_e = escape(id),
        search = escape(q.search),
        pick = toggle(picked, "pick", "unpick"),
        pick_label = if picked { "Picked" } else { "Pick" },
        fav = toggle(favourite, "favourite", "unfavourite"),
        rej = toggle(rejected, "reject", "unreject"),
        note = escape(note),
    )
}

/// The episode page: every shot a row of takes, best first.
pub(crate) fn index(episode: &Episode, report: &EpisodeReport, picks: &Picks, q: &Query<'_>, job: &JobView) -> String {
    let base = q.base;
    let needle = q.search.trim().to_lowercase();
    let mut body = String::new();
    let mut shown = 0;
    for shot in &report.shots {
        let Ok(file_shot) = episode.shot(&shot.id) else { continue };
        let marks = picks.shot(&shot.id);
        // The picks as they are now, not as the last run found them.
        let choice = shot.choice(&marks);
        let prompt = choice.take.map(|t| t.take.request.prompt.clone()).unwrap_or(file_shot.prompt.clone());
        if !needle.is_empty() && !prompt.to_lowercase().contains(&needle) && !shot.id.to_lowercase().contains(&needle) {
            continue;
        }
        shown += 1;
        let mut takes: Vec<&RankedTakeRecord> = shot.takes.iter().collect();
        takes.sort_by_key(|t| t.ranked.rank);
        let chosen_key = choice.take.map(|c| c.take.key.as_str());
        let cards: String =
            takes.iter().map(|t| take_card(shot, t, &marks, chosen_key == Some(t.take.key.as_str()), q)).collect();
        let chosen = match choice.take {
            Some(t) => format!("take {} ({})", t.number, choice.by.name()),
            None => "no take".to_owned(),
        };
        let after = file_shot.after.as_ref().map(|a| format!(", continues {}", escape(a))).unwrap_or_default();
        let failures: String = shot.failures.iter().map(|f| format!("<p class=\"reason\">{}</p>", escape(f))).collect();
        let next = q.next_seeds.get(&shot.id).copied().unwrap_or(0);
        let id = escape(&shot.id);
        let _ = write!(
            body,
            "<section class=\"shot\" id=\"shot-{id}\" aria-labelledby=\"h-{id}\">\
<h2 id=\"h-{id}\">{id} <span class=\"prompt\">{prompt}</span></h2>\
<p>Chosen: {chosen}{after}. {count} take{plural}.</p>{refs}{failures}\
<ol class=\"takes\" aria-label=\"takes of {id}, best first\">{cards}</ol>\
<form method=\"post\" action=\"{base}more\" class=\"more\" aria-label=\"more takes of {id}\">\
<input type=\"hidden\" name=\"shot\" value=\"{id}\"><input type=\"hidden\" name=\"q\" value=\"{search}\">\
<label>More takes of {id} <input type=\"number\" name=\"count\" id=\"more-count-{id}\" min=\"1\" max=\"100\" value=\"2\"></label> \
<label>from seed <input type=\"number\" name=\"seed\" id=\"more-seed-{id}\" min=\"0\" value=\"{next}\"></label> \
<button id=\"more-{id}\"{disabled}>Generate</button></form></section>",
            prompt = escape(&prompt),
            count = shot.takes.len(),
            plural = if shot.takes.len() == 1 { "" } else { "s" },
            refs = reference_sheet(episode, &shot.id, base),
            search = escape(q.search),
            disabled = if job.running { " disabled" } else { "" },
        );
    }
    if shown == 0 {
        let _ = write!(body, "<p>No shot's prompt contains “{}”.</p>", escape(q.search));
    }
    let job_html = if job.running {
        format!(
            "<div id=\"job\" data-running=\"true\" role=\"status\" aria-live=\"polite\">{} \
<progress id=\"job-progress\" max=\"1\" value=\"{}\" aria-label=\"progress\"></progress> \
<form method=\"post\" action=\"{base}cancel\" style=\"display:inline\"><button id=\"cancel\">Cancel</button></form></div>",
            escape(&job.message),
            job.fraction
        )
    } else {
        format!(
            "<div id=\"job\" data-running=\"false\" role=\"status\" aria-live=\"polite\">{}</div>",
            escape(&job.message)
        )
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{name} · Mattebox review</title><style>{STYLE}</style></head><body>\
<header><h1>{name}</h1>\
<form role=\"search\" method=\"get\" action=\"{base}\"><label for=\"q\">Search prompts</label> \
<input id=\"q\" name=\"q\" value=\"{search}\"> <button>Search</button></form>{job_html}\
<p class=\"reason\">Keys: j / k next and previous take, p pick, f favourite, x reject, / search.</p></header>\
<main>{body}</main><script>{SCRIPT}</script></body></html>",
        name = escape(&report.name),
        search = escape(q.search),
    )
}

/// Two takes of a shot side by side, with the shot's reference sheet.
pub(crate) fn compare(
    episode: &Episode,
    report: &EpisodeReport,
    base: &str,
    shot_id: &str,
    a: &str,
    b: &str,
) -> Result<String, Error> {
    let shot = report
        .shot(shot_id)
        .ok_or_else(|| Error::new(mattebox_core::ErrorKind::NotFound, format!("no shot {shot_id:?}")))?;
    let pick = |key: &str, fallback: usize| -> Option<&RankedTakeRecord> {
        shot.take_by_key(key).or_else(|| {
            let mut by_rank: Vec<&RankedTakeRecord> = shot.takes.iter().collect();
            by_rank.sort_by_key(|t| t.ranked.rank);
            by_rank.get(fallback).copied().or(by_rank.first().copied())
        })
    };
    let (left, right) = (pick(a, 0), pick(b, 1));
    let options = |selected: Option<&RankedTakeRecord>| -> String {
        shot.takes
            .iter()
            .map(|t| {
                let sel = if selected.is_some_and(|s| s.take.key == t.take.key) { " selected" } else { "" };
                format!("<option value=\"{}\"{sel}>take {} (rank {})</option>", t.take.key, t.number, t.ranked.rank)
            })
            .collect()
    };
    let side = |t: Option<&RankedTakeRecord>| -> String {
        match t {
            Some(t) => format!(
                "<figure><video src=\"{base}take/{key}/preview.mp4\" loop muted autoplay playsinline controls \
aria-label=\"take {n}\"></video><figcaption>Take {n}, rank {r}: {reason}</figcaption></figure>",
                key = t.take.key,
                n = t.number,
                r = t.ranked.rank,
                reason = escape(&t.ranked.reason)
            ),
            None => "<p>No take.</p>".to_owned(),
        }
    };
    let id = escape(shot_id);
    Ok(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{id} · compare</title>\
<style>{STYLE}.pair{{display:grid;grid-template-columns:1fr 1fr;gap:1em}}figure{{margin:0}}</style></head><body>\
<header><h1>{id}: two takes side by side</h1><a href=\"{base}#shot-{id}\">Back to the episode</a></header><main>\
<form method=\"get\" action=\"{base}compare\"><input type=\"hidden\" name=\"shot\" value=\"{id}\">\
<label>Left <select name=\"a\">{oa}</select></label> <label>Right <select name=\"b\">{ob}</select></label> \
<button>Show</button></form>{refs}<div class=\"pair\">{l}{r}</div></main></body></html>",
        oa = options(left),
        ob = options(right),
        refs = reference_sheet(episode, shot_id, base),
        l = side(left),
        r = side(right),
    ))
}
