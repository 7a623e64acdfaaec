//! Requests as the user's own JSON templates: a ComfyUI graph, or the
//! inputs of a model hosted on fal or Replicate, with `{{name}}`
//! placeholders where the shot's values go.
//!
//! A string that is exactly one placeholder takes the value with its type
//! (`"{{seed}}"` becomes a number); a placeholder inside a longer string is
//! replaced by the value's text. The names: `prompt`, `negative_prompt`,
//! `seed`, `width`, `height`, `frames`, `fps`, `seconds`, `aspect_ratio`,
//! `first_frame`, `last_frame`, `reference_1`, `reference_2`...,
//! `source_video`, `audio` (the first sound), `dialogue` (the dialogue
//! line).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::{
    AudioRole, Deviation, Field, GenerateError, ShotRequest, approximated, dropped, extend_source, extra, frame_count,
    png,
};

/// Names a placeholder may have besides `reference_N`.
const NAMES: &[&str] = &[
    "prompt",
    "negative_prompt",
    "seed",
    "width",
    "height",
    "frames",
    "fps",
    "seconds",
    "aspect_ratio",
    "first_frame",
    "last_frame",
    "source_video",
    "audio",
    "dialogue",
];

fn is_name(name: &str) -> bool {
    NAMES.contains(&name) || name.strip_prefix("reference_").is_some_and(|n| n.parse::<usize>().is_ok_and(|n| n > 0))
}

/// Every `{{name}}` in `text`.
pub fn placeholders(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else { break };
        found.insert(rest[start + 2..start + end].trim().to_owned());
        rest = &rest[start + end + 2..];
    }
    found
}

/// A file the template wants, and the value it goes in as: a data URI, or
/// the URL of an upload.
pub type Encode<'a> = dyn FnMut(&str, &str, &[u8]) -> Result<String, GenerateError> + 'a;

/// The request's values for the placeholders `wanted` (files are encoded
/// only when wanted; `encode` gets the file's name, MIME type and bytes).
/// A wanted file the request does not carry has no value.
pub fn request_values(
    request: &ShotRequest,
    wanted: &BTreeSet<String>,
    encode: &mut Encode<'_>,
) -> Result<Vec<(String, Value)>, GenerateError> {
    let fps = request.fps.num as f64 / request.fps.den.max(1) as f64;
    let seconds = crate::seconds(request);
    let mut values: Vec<(String, Value)> = [
        ("prompt", json!(request.prompt)),
        ("negative_prompt", json!(request.negative_prompt)),
        ("seed", json!(request.seed)),
        ("width", json!(request.width)),
        ("height", json!(request.height)),
        ("frames", json!(frame_count(request))),
        ("fps", json!(fps)),
        // Whole seconds as an integer: most models' schemas want one.
        ("seconds", if seconds.fract() == 0.0 { json!(seconds as i64) } else { json!(seconds) }),
        ("aspect_ratio", json!(aspect_ratio(request.width, request.height))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let wants = |name: &str| wanted.contains(name);
    let first = request.first_frame.as_ref().or(extend_source(request).map(|v| &v.last_frame));
    let mut images = vec![("first_frame".to_owned(), first), ("last_frame".to_owned(), request.last_frame.as_ref())];
    images.extend(request.references.iter().enumerate().map(|(i, r)| (format!("reference_{}", i + 1), Some(&r.image))));
    for (name, image) in images {
        if let (true, Some(image)) = (wants(&name), image) {
            let bytes = png::encode_rgba8(image.width, image.height, &image.rgba8);
            values.push((name.clone(), json!(encode(&format!("{name}.png"), "image/png", &bytes)?)));
        }
    }
    if let Some(file) = request.source_video.as_ref().and_then(|v| v.file.as_ref()).filter(|_| wants("source_video")) {
        values.push(("source_video".into(), json!(encode(&file.name, "video/mp4", &file.bytes)?)));
    }
    let dialogue = request.audio.iter().find(|a| a.role == AudioRole::Dialogue);
    for (name, sound) in [("audio", request.audio.first()), ("dialogue", dialogue)] {
        if let (true, Some(sound)) = (wants(name), sound) {
            values.push((name.to_owned(), json!(encode(&format!("{name}.wav"), "audio/wav", &sound.wav)?)));
        }
    }
    Ok(values)
}

/// The nearest of the common ratios, as hosted models spell them.
pub fn aspect_ratio(width: u32, height: u32) -> &'static str {
    crate::nearest_ratio(width, height, &["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"])
}

/// The fields a mapping can take: an adapter of hosted models honours
/// what its user's mapping takes, and reports the rest on each take.
pub const FIELDS: &[Field] = &[
    Field::Prompt,
    Field::NegativePrompt,
    Field::FirstFrame,
    Field::LastFrame,
    Field::References,
    Field::Seed,
    Field::Duration,
    Field::Size,
    Field::Extras,
    Field::SourceVideo,
    Field::Audio,
];

/// The request mapped onto a hosted model's inputs: the user's `inputs`
/// extra (else `default`), filled with the shot's values (files given to
/// `encode`), and what of the shot the mapping did not take, as
/// deviations.
pub fn mapped(
    request: &ShotRequest,
    default: &str,
    encode: &mut Encode<'_>,
) -> Result<(Value, Vec<Deviation>), GenerateError> {
    let text = extra(request, "inputs").unwrap_or(default);
    let mut inputs: Value = serde_json::from_str(text).map_err(|e| {
        GenerateError::InvalidRequest(format!(
            "the inputs are not JSON ({e}); give the model's input object with {{{{placeholders}}}}"
        ))
    })?;
    if !inputs.is_object() {
        return Err(GenerateError::InvalidRequest("the inputs must be a JSON object of the model's inputs".into()));
    }
    let values = request_values(request, &placeholders(text), encode)?;
    let used = fill(&mut inputs, &values)?;
    let mut notes = unused(request, &used, "the mapping");
    if request.source_video.is_some() && !used.contains("source_video") {
        let extends = extend_source(request).is_some() && request.first_frame.is_none() && used.contains("first_frame");
        notes.push(if extends {
            approximated(
                Field::SourceVideo,
                "the mapping took the source's last frame as its {{first_frame}}; it gets no video",
            )
        } else {
            dropped(Field::SourceVideo, "the mapping has no {{source_video}} placeholder")
        });
    }
    Ok((inputs, notes))
}

/// Replaces placeholders in every string of `value`, noting which were used.
pub fn substitute(value: &mut Value, values: &[(String, Value)], used: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => {
            for (name, v) in values {
                let token = format!("{{{{{name}}}}}");
                if *text == token {
                    used.insert(name.clone());
                    *value = v.clone();
                    return;
                }
                if text.contains(&token) {
                    used.insert(name.clone());
                    let plain = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    *text = text.replace(&token, &plain);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, values, used)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, values, used)),
        _ => {}
    }
}

/// [`substitute`], then: an input whose whole value is a placeholder the
/// request has no value for (no last frame given) is left out, so the
/// model uses its default; a placeholder that is no name at all is an
/// error naming it.
pub fn fill(value: &mut Value, values: &[(String, Value)]) -> Result<BTreeSet<String>, GenerateError> {
    let unknown: Vec<String> = placeholders(&value.to_string()).into_iter().filter(|n| !is_name(n)).collect();
    if !unknown.is_empty() {
        return Err(GenerateError::InvalidRequest(format!(
            "the template has placeholders Mattebox does not fill: {}; the names are {}, reference_N",
            unknown.iter().map(|n| format!("{{{{{n}}}}}")).collect::<Vec<_>>().join(", "),
            NAMES.join(", ")
        )));
    }
    let mut used = BTreeSet::new();
    substitute(value, values, &mut used);
    prune(value);
    Ok(used)
}

fn prune(value: &mut Value) {
    let unfilled =
        |v: &Value| v.as_str().is_some_and(|s| s.starts_with("{{") && s.ends_with("}}") && placeholders(s).len() == 1);
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !unfilled(v));
            map.values_mut().for_each(prune);
        }
        Value::Array(items) => {
            items.retain(|v| !unfilled(v));
            items.iter_mut().for_each(prune);
        }
        _ => {}
    }
}

/// What of the request the template did not take, as deviations; `what`
/// names the template ("the workflow", "the mapping").
pub fn unused(request: &ShotRequest, used: &BTreeSet<String>, what: &str) -> Vec<Deviation> {
    let mut notes = Vec::new();
    let no = |name: &str| format!("{what} has no {{{{{name}}}}} placeholder");
    let given = [
        ("prompt", Field::Prompt, !request.prompt.is_empty()),
        ("negative_prompt", Field::NegativePrompt, !request.negative_prompt.is_empty()),
        ("seed", Field::Seed, true),
        ("first_frame", Field::FirstFrame, request.first_frame.is_some()),
        ("last_frame", Field::LastFrame, request.last_frame.is_some()),
    ];
    for (name, field, present) in given {
        if present && !used.contains(name) {
            notes.push(dropped(field, &no(name)));
        }
    }
    if !["frames", "seconds"].iter().any(|n| used.contains(*n)) {
        notes.push(approximated(
            Field::Duration,
            &format!("{what} sets its own length ({{{{frames}}}} or {{{{seconds}}}})"),
        ));
    }
    if !used.contains("fps") {
        notes.push(approximated(Field::Fps, "the host resamples the video to the requested rate"));
    }
    if !(used.contains("width") && used.contains("height")) {
        notes.push(approximated(Field::Size, &format!("{what} sets its own size; the host fits its frames")));
    }
    let unused_references =
        (1..=request.references.len()).filter(|n| !used.contains(&format!("reference_{n}"))).count();
    if unused_references > 0 {
        notes.push(dropped(
            Field::References,
            &format!("{unused_references} reference image(s) had no {{{{reference_N}}}} placeholder in {what}"),
        ));
    }
    if crate::camera_moves(request) {
        notes.push(dropped(Field::Camera, &format!("{what} takes no camera move; describe it in the prompt")));
    }
    if let Some(sound) = request.audio.first()
        && !used.contains("audio")
        && !used.contains("dialogue")
    {
        notes.push(dropped(
            Field::Audio,
            &format!("{what} has no {{{{audio}}}} placeholder; {} was not sent", sound.label),
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_ratio_is_nearest_by_proportion() {
        assert_eq!(aspect_ratio(1920, 1080), "16:9");
        assert_eq!(aspect_ratio(1080, 1920), "9:16");
        assert_eq!(aspect_ratio(1000, 1000), "1:1");
        assert_eq!(aspect_ratio(2560, 1080), "21:9");
        // 3:2 lies between 4:3 and 16:9; by proportion it is nearer 4:3.
        assert_eq!(crate::nearest_ratio(1500, 1000, &["16:9", "4:3"]), "4:3");
        assert_eq!(crate::nearest_ratio(64, 36, &["1280:768", "768:1280"]), "1280:768");
        assert_eq!(crate::nearest_ratio(64, 36, &["wide", "16:9"]), "16:9", "what does not parse is skipped");
    }

    #[test]
    fn whole_placeholders_keep_their_type_and_unfilled_inputs_are_left_out() {
        let mut t = json!({ "prompt": "a shot: {{prompt}}", "seed": "{{seed}}", "image_url": "{{first_frame}}",
                            "frames": ["{{last_frame}}"] });
        let values = vec![("prompt".into(), json!("rain")), ("seed".into(), json!(7))];
        let used = fill(&mut t, &values).unwrap();
        assert_eq!(t, json!({ "prompt": "a shot: rain", "seed": 7, "frames": [] }));
        assert_eq!(used.into_iter().collect::<Vec<_>>(), ["prompt", "seed"]);
        let mut typo = json!({ "p": "{{promt}}" });
        let Err(GenerateError::InvalidRequest(why)) = fill(&mut typo, &values) else { panic!("a typo passed") };
        assert!(why.contains("{{promt}}"), "{why}");
    }
}
