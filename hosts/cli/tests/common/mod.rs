//! Helpers the command-line tests share: run the real `ffmpeg`, read
//! `--json` output. Not every test file uses every helper.
#![allow(dead_code)]

use std::process::{Command, Output};

use serde_json::Value;

/// The JSON document a successful `--json` run printed.
pub(crate) fn json_ok(out: &Output) -> Value {
    assert!(out.status.success(), "mattebox failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

/// Runs `ffmpeg ARGS` (quiet, overwriting) and returns what it wrote to stdout.
pub(crate) fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-v", "error", "-y"]).args(args).output().unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}
