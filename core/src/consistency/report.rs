//! A self-contained HTML page for scored shots: the scores, a sentence per
//! problem, the per-frame curves as inline SVG, a contact sheet, and the
//! worst frames beside the shot's first frame. No scripts, no external
//! files: images are PNG data URIs, so the page can be mailed or archived.

use std::fmt::Write;

use super::episode::Episode;
use super::references::{ReferenceScores, References};
use super::{PROBLEM_BELOW, ShotScores};
use crate::error::Result;
use crate::frame::Frame;
use crate::markup::escape;
use crate::media::image_file::encode_png;

/// Line colours of the six curves, in `Scores::named` order.
const COLOURS: [&str; 6] = ["#d1495b", "#edae49", "#00798c", "#30638e", "#8d6a9f", "#6a994e"];

fn data_uri(frame: &Frame) -> Result<String> {
    Ok(format!("data:image/png;base64,{}", crate::base64::encode(&encode_png(&frame.view())?)))
}

/// The per-frame curves as an SVG line chart, with the problem threshold.
fn chart(shot: &ShotScores) -> String {
    let (w, h, pad) = (720.0f32, 200.0f32, 28.0f32);
    let n = shot.curves.len().max(2) - 1;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f32 / n as f32;
    let y = |v: f32| pad + (h - 2.0 * pad) * (1.0 - v.clamp(0.0, 1.0));
    let mut svg = format!(
        "<svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"per-frame scores\">\
         <rect x=\"{pad}\" y=\"{pad}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
        w - 2.0 * pad,
        h - 2.0 * pad
    );
    let t = y(PROBLEM_BELOW);
    let _ = write!(
        svg,
        "<line x1=\"{pad}\" y1=\"{t}\" x2=\"{}\" y2=\"{t}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#777\">{PROBLEM_BELOW}</text>",
        w - pad,
        w - pad + 2.0,
        t + 3.0
    );
    for (k, colour) in COLOURS.iter().enumerate() {
        let points: Vec<String> =
            shot.curves.iter().enumerate().map(|(i, s)| format!("{:.1},{:.1}", x(i), y(s.named()[k].1))).collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"><title>{}</title></polyline>",
            points.join(" "),
            shot.scores.named()[k].0
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{pad}\" y=\"{}\" font-size=\"10\" fill=\"#777\">frame 0</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#777\" text-anchor=\"end\">frame {n}</text>\
         <text x=\"4\" y=\"{}\" font-size=\"10\" fill=\"#777\">1</text><text x=\"4\" y=\"{}\" font-size=\"10\" fill=\"#777\">0</text></svg>",
        h - 8.0,
        w - pad,
        h - 8.0,
        y(1.0) + 3.0,
        y(0.0) + 3.0
    );
    svg
}

/// One shot on the page.
#[derive(Clone, Copy, Debug)]
pub struct ShotPage<'a> {
    /// The shot's name (its path, say).
    pub name: &'a str,
    /// Its in-shot scores.
    pub scores: &'a ShotScores,
    /// Its scores against references, if `refs.toml` lists it.
    pub references: Option<&'a ReferenceScores>,
}

/// A table of scores with bars, red below [`PROBLEM_BELOW`].
fn score_table(page: &mut String, named: &[(&str, f32)]) {
    page.push_str("<table>");
    for (metric, value) in named {
        let class = if *value < PROBLEM_BELOW { " class=\"low\"" } else { "" };
        let _ = write!(
            page,
            "<tr{class}><th>{metric}</th><td>{value:.2}</td><td><span class=\"bar\" style=\"width:{:.0}px\"></span></td></tr>",
            value.clamp(0.0, 1.0) * 200.0
        );
    }
    page.push_str("</table>");
}

/// The kept analysis copy nearest `frame`, with its index.
fn nearest_thumbnail(shot: &ShotScores, frame: usize) -> Option<&(usize, Frame)> {
    shot.thumbnails.iter().chain(&shot.worst_thumbnails).min_by_key(|(i, _)| i.abs_diff(frame))
}

/// The reference section of a shot: scores, problems, and each match's
/// least-matching frame beside the reference image it came closest to.
fn references_section(page: &mut String, shot: &ShotScores, scores: &ReferenceScores, refs: &References) -> Result<()> {
    page.push_str("<h3>Against the references</h3>");
    score_table(page, &scores.named());
    let problems = scores.problems();
    if !problems.is_empty() {
        page.push_str("<ul>");
        for p in &problems {
            let _ = write!(page, "<li class=\"low\">{}</li>", escape(p));
        }
        page.push_str("</ul>");
    }
    let images = refs.characters.values().chain(refs.locations.values()).flatten();
    for (what, m) in scores.matches() {
        let (Some(reference), Some((index, frame))) =
            (images.clone().find(|r| r.path == m.reference), nearest_thumbnail(shot, m.worst_frame))
        else {
            continue;
        };
        let _ = write!(
            page,
            "<div class=\"pair\"><figure><img alt=\"reference\" src=\"{}\"><br>{}: {}</figure>\
             <figure><img alt=\"frame {index}\" src=\"{}\"><br>frame {index} (least like it: frame {}, {:.2})</figure></div>",
            data_uri(&reference.thumbnail)?,
            escape(&what),
            escape(&reference.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
            data_uri(frame)?,
            m.worst_frame,
            m.worst_value
        );
    }
    Ok(())
}

/// The episode section: the shot-by-shot matrix (each cell the lowest of
/// subject, background, grade and style, all four on hover) and the
/// outliers.
fn episode_section(page: &mut String, episode: &Episode) {
    page.push_str("<h2>Across the episode</h2>");
    if episode.outliers.is_empty() {
        page.push_str("<p class=\"ok\">No shot drifts from the others.</p>");
    } else {
        page.push_str("<ol>");
        for o in &episode.outliers {
            let _ = write!(page, "<li class=\"low\">{}</li>", escape(&o.sentence));
        }
        page.push_str("</ol>");
    }
    page.push_str("<table class=\"matrix\"><tr><th></th>");
    for k in 0..episode.shots.len() {
        let _ = write!(page, "<th>{}</th>", k + 1);
    }
    page.push_str("</tr>");
    for (i, row) in episode.matrix.iter().enumerate() {
        let _ = write!(page, "<tr><th>{} {}</th>", i + 1, escape(&episode.shots[i]));
        for (j, pair) in row.iter().enumerate() {
            let values: Vec<(&str, f32)> = [
                ("subject", pair.subject),
                ("background", pair.background),
                ("grade", pair.grade),
                ("style", pair.style),
            ]
            .into_iter()
            .filter_map(|(n, v)| v.map(|v| (n, v)))
            .collect();
            match values.iter().map(|(_, v)| *v).reduce(f32::min) {
                Some(low) if i != j => {
                    let title: Vec<String> = values.iter().map(|(n, v)| format!("{n} {v:.2}")).collect();
                    let class = if low < PROBLEM_BELOW { " class=\"low\"" } else { "" };
                    let _ = write!(page, "<td{class} title=\"{}\">{low:.2}</td>", title.join(", "));
                }
                _ => page.push_str("<td>&middot;</td>"),
            }
        }
        page.push_str("</tr>");
    }
    page.push_str("</table><p><small>Each cell: the lowest of subject, background, grade and style between two shots (hover for all four); a dot where the shots are not comparable.</small></p>");
}

/// The page for `shots`, titled `title`, with the references they were
/// matched against and the episode matrix when there are several shots.
pub fn html(
    title: &str,
    shots: &[ShotPage<'_>],
    refs: Option<&References>,
    episode: Option<&Episode>,
) -> Result<String> {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>\
         body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:900px;color:#222}}\
         h1{{font-size:1.5em}} h2{{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}}\
         table{{border-collapse:collapse}} td,th{{padding:2px 10px;text-align:left}}\
         .bar{{display:inline-block;height:10px;background:#00798c;vertical-align:middle}}\
         .low .bar{{background:#d1495b}} .low{{color:#a01d2e;font-weight:600}}\
         .sheet img,.pair img{{width:160px;margin:2px;border:1px solid #ccc}} .sheet figure,.pair figure{{display:inline-block;margin:2px;font-size:11px;text-align:center}}\
         .legend span{{margin-right:12px}} .matrix td{{text-align:center;min-width:2.5em}} .ok{{color:#2d6a4f}}</style></head><body><h1>{}</h1>\
         <p>Scores run from 0 to 1, higher is better; below {PROBLEM_BELOW} a score is a problem.</p>",
        escape(title),
        escape(title)
    );
    if let Some(episode) = episode {
        episode_section(&mut page, episode);
    }
    for ShotPage { name, scores: shot, references } in shots {
        let _ = write!(page, "<h2>{} <small>({} frames)</small></h2>", escape(name), shot.frames);
        score_table(&mut page, &shot.scores.named());
        let problems = shot.problems();
        if problems.is_empty() {
            page.push_str("<p class=\"ok\">No problems found.</p>");
        } else {
            page.push_str("<ul>");
            for p in &problems {
                let _ = write!(page, "<li class=\"low\">{}</li>", escape(&p.sentence));
            }
            page.push_str("</ul>");
        }
        page.push_str("<p class=\"legend\">");
        for (k, (metric, _)) in shot.scores.named().iter().enumerate() {
            let _ = write!(page, "<span style=\"color:{}\">&#9632; {metric}</span>", COLOURS[k]);
        }
        page.push_str("</p>");
        page.push_str(&chart(shot));
        page.push_str("<h3>Contact sheet</h3><div class=\"sheet\">");
        let step = shot.thumbnails.len().div_ceil(12).max(1);
        for (index, frame) in shot.thumbnails.iter().step_by(step) {
            let _ = write!(
                page,
                "<figure><img alt=\"frame {index}\" src=\"{}\"><br>frame {index}</figure>",
                data_uri(frame)?
            );
        }
        page.push_str("</div>");
        if let (Some((_, first)), false) = (shot.thumbnails.first(), shot.worst_thumbnails.is_empty()) {
            page.push_str("<h3>Worst frames, beside the first</h3>");
            let first_uri = data_uri(first)?;
            for (index, frame) in &shot.worst_thumbnails {
                let (metric, value) = shot.curves.get(*index).map(|s| s.worst()).unwrap_or(("", 1.0));
                let _ = write!(
                    page,
                    "<div class=\"pair\"><figure><img alt=\"frame 0\" src=\"{first_uri}\"><br>frame 0</figure>\
                     <figure><img alt=\"frame {index}\" src=\"{}\"><br>frame {index}: {metric} {value:.2}</figure></div>",
                    data_uri(frame)?
                );
            }
        }
        if let (Some(scores), Some(refs)) = (references, refs) {
            references_section(&mut page, shot, scores, refs)?;
        }
    }
    page.push_str("<p><small>Made by Mattebox ");
    page.push_str(crate::VERSION);
    page.push_str(" (default backend).</small></p></body></html>\n");
    Ok(page)
}
