//! A farm job as an Open Job Description job template (specification
//! 2023-09), which AWS Deadline Cloud runs and `openjd run` runs locally.
//!
//! One step per [`StepKind`], each task running
//! `mattebox farm task EPISODE STEP ID`; job parameters name the binary,
//! the episode, the output and the take cache, so path mapping rules
//! apply to them (they are `PATH` parameters).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::job::FarmJob;

/// A YAML scalar for `text`: JSON's double-quoted form, which YAML reads
/// the same way (no character of the text is taken as syntax).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// `path` relative to `dir` (both absolute), when it lies inside it:
/// OpenJD joins a `PATH` parameter's default to the template's directory,
/// and refuses absolute defaults and defaults that walk up from it
/// (openjd-model's checks, as `openjd run` applies them).
fn inside(path: &Path, dir: &Path) -> Option<PathBuf> {
    let relative = path.strip_prefix(dir).ok()?;
    Some(if relative.as_os_str().is_empty() { PathBuf::from(".") } else { relative.to_owned() })
}

/// The `PATH` job parameters a template for `job` written into
/// `template_dir` leaves without a default (they lie outside it), which
/// whoever submits it must give.
pub fn parameters_to_give(job: &FarmJob, template_dir: &Path, cache_dir: &Path) -> Vec<&'static str> {
    path_parameters(job, cache_dir)
        .into_iter()
        .filter(|(_, _, _, path, _)| inside(path, template_dir).is_none())
        .map(|(name, ..)| name)
        .collect()
}

type PathParameter<'a> = (&'static str, &'static str, &'static str, &'a Path, &'static str);

fn path_parameters<'a>(job: &'a FarmJob, cache_dir: &'a Path) -> [PathParameter<'a>; 3] {
    [
        ("Episode", "FILE", "IN", &job.episode.path, "The episode file."),
        ("OutputDir", "DIRECTORY", "OUT", &job.episode.output, "Where takes, chunks and deliveries go."),
        ("CacheDir", "DIRECTORY", "INOUT", cache_dir, "The take cache, shared by the workers."),
    ]
}

/// The job template for `job`, written into directory `template_dir`
/// (absolute): path defaults relative to it where they lie inside it.
pub fn template(job: &FarmJob, template_dir: &Path, binary: &Path, cache_dir: &Path) -> String {
    let episode = &job.episode;
    let mut out = String::new();
    let _ = writeln!(out, "# Written by `mattebox farm openjd` from {}.", episode.path.display());
    let _ = writeln!(out, "# Check it with `openjd check`; run a step here with `openjd run --step NAME`.");
    let _ = writeln!(out, "specificationVersion: jobtemplate-2023-09");
    let _ = writeln!(out, "name: {}", quoted(&format!("Mattebox {}", episode.name)));
    let _ = writeln!(out, "parameterDefinitions:");
    // The program is installed on each worker, not a file the job carries.
    let _ = writeln!(out, "- name: Mattebox\n  type: STRING\n  default: {}", quoted(&binary.display().to_string()));
    let _ = writeln!(out, "  description: {}", quoted("The mattebox program on the workers."));
    for (name, kind, flow, path, description) in path_parameters(job, cache_dir) {
        let _ = writeln!(out, "- name: {name}\n  type: PATH\n  objectType: {kind}\n  dataFlow: {flow}");
        if let Some(relative) = inside(path, template_dir) {
            let _ = writeln!(out, "  default: {}", quoted(&relative.display().to_string()));
        }
        let _ = writeln!(out, "  description: {}", quoted(&format!("{description} ({})", path.display())));
    }
    let _ = writeln!(out, "steps:");
    for step in &job.steps {
        let _ = writeln!(out, "- name: {}", step.kind.name());
        if !step.depends_on.is_empty() {
            let _ = writeln!(out, "  dependencies:");
            for before in &step.depends_on {
                let _ = writeln!(out, "  - dependsOn: {}", before.name());
            }
        }
        let _ = writeln!(out, "  parameterSpace:\n    taskParameterDefinitions:\n    - name: Task\n      type: STRING");
        let _ = writeln!(out, "      range:");
        for task in &step.tasks {
            let _ = writeln!(out, "      - {}", quoted(task));
        }
        let _ = writeln!(out, "  script:\n    actions:\n      onRun:\n        command: \"{{{{Param.Mattebox}}}}\"");
        let args = [
            "--progress=openjd",
            "--cache-dir",
            "{{Param.CacheDir}}",
            "farm",
            "task",
            "{{Param.Episode}}",
            step.kind.name(),
            "{{Task.Param.Task}}",
            "--output-dir",
            "{{Param.OutputDir}}",
        ];
        let args: Vec<String> = args.iter().map(|a| quoted(a)).collect();
        let _ = writeln!(out, "        args: [{}]", args.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_relative_to_the_template() {
        let rel = |a: &str, b: &str| inside(Path::new(a), Path::new(b)).map(|p| p.display().to_string());
        assert_eq!(rel("/farm/ep/episode.toml", "/farm/ep").as_deref(), Some("episode.toml"));
        assert_eq!(rel("/usr/bin/mattebox", "/farm/ep/jobs"), None);
        assert_eq!(rel("/farm/ep", "/farm/ep").as_deref(), Some("."));
        assert_eq!(rel("/farm/episode", "/farm/ep"), None, "components, not text");
    }
}
