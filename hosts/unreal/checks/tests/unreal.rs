//! The Unreal plugin without the engine, which cannot run here: what can be
//! checked is checked for real.
//!
//! - `Mattebox.uplugin` is the JSON Unreal reads, naming the modules the
//!   source has.
//! - Every `Build.cs` compiles (Debian's `mono-mcs`) against a small mock of
//!   UnrealBuildTool's rules API (`tests/mock/ModuleRules.cs`) and asks, on
//!   Linux, Win64 and Mac, for what the plugin needs.
//! - The C ABI's headers and the plugin's engine-independent headers
//!   compile under Unreal's Linux flags (clang with libc++, C++20, no
//!   exceptions, no RTTI, `-fvisibility-ms-compat`, warnings as errors).
//! - The engine-independent C++ (loading with the ABI check, the Generate
//!   Shot state machine, scoring rendered frames) is built with those flags
//!   and run against the real `libmattebox.so`; the bridge to Unreal's
//!   types runs against a few mocked ones.
//! - `package.sh` lays out a plugin whose staged files exist.

use std::path::{Path, PathBuf};
use std::process::Command;

fn plugin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn root() -> PathBuf {
    plugin().join("../..")
}

#[path = "../../../../core/tests/support/process.rs"]
mod process;
use process::ok;

#[path = "../../../../core/tests/support/built.rs"]
mod built;

/// The C ABI's library of this build (the dev-dependency on mattebox-ffi
/// builds it into deps/).
fn library() -> PathBuf {
    built::built_library("libmattebox.so", "cargo build --release -p mattebox-ffi")
}

/// clang with libc++ and the flags Unreal builds Linux modules with.
fn unreal_clang() -> Command {
    let mut cmd = Command::new("clang++-19");
    cmd.args([
        "-std=c++20",
        "-stdlib=libc++",
        "-fno-exceptions",
        "-fno-rtti",
        "-fvisibility-ms-compat",
        "-Werror",
        "-Wall",
        "-Wextra",
        "-Wshadow",
    ]);
    cmd.arg("-I").arg(root().join("ffi/include"));
    cmd.arg("-I").arg(plugin().join("Source/MatteboxRuntime/Private"));
    cmd
}

fn runtime_private(name: &str) -> PathBuf {
    plugin().join("Source/MatteboxRuntime/Private").join(name)
}

#[test]
fn the_uplugin_names_the_modules_the_source_has() {
    let text = std::fs::read_to_string(plugin().join("Mattebox.uplugin")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).expect("Mattebox.uplugin is not JSON");
    assert_eq!(doc["FileVersion"], 3, "{text}");
    assert!(doc["VersionName"].as_str().is_some_and(|v| !v.is_empty()) && doc["FriendlyName"] == "Mattebox");
    let modules = doc["Modules"].as_array().expect("Modules");
    let kinds: Vec<(&str, &str)> =
        modules.iter().map(|m| (m["Name"].as_str().unwrap_or(""), m["Type"].as_str().unwrap_or(""))).collect();
    assert_eq!(kinds, [("MatteboxRuntime", "Runtime"), ("MatteboxEditor", "Editor")]);
    for module in modules {
        let name = module["Name"].as_str().unwrap();
        let rules = plugin().join(format!("Source/{name}/{name}.Build.cs"));
        assert!(rules.exists(), "{} is missing", rules.display());
        assert!(module["LoadingPhase"].as_str().is_some(), "{name} has no LoadingPhase");
        let platforms: Vec<&str> =
            module["PlatformAllowList"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        assert_eq!(platforms, ["Win64", "Linux", "Mac"], "{name}");
    }
    // UImgMediaSource, the takes' player, lives in the ImgMedia plugin.
    let plugins = doc["Plugins"].as_array().expect("Plugins");
    assert!(plugins.iter().any(|p| p["Name"] == "ImgMedia" && p["Enabled"] == true), "{text}");
    // Every module the sources hold is declared (the third-party one by its
    // dependants' Build.cs, as Unreal wants).
    for entry in std::fs::read_dir(plugin().join("Source")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(name == "ThirdParty" || kinds.iter().any(|(n, _)| *n == name), "Source/{name} is not in the .uplugin");
    }
}

/// What one module's rules ask for on one platform: key=value fields, as
/// `tests/mock/BuildRulesCheck.cs` prints them.
struct Rules {
    platform: String,
    module: String,
    fields: Vec<(String, String)>,
}

/// Every module's rules on every platform.
fn build_rules(plugin_dir: &Path) -> Vec<Rules> {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("rules.exe");
    let mut sources = vec![plugin().join("tests/mock/ModuleRules.cs"), plugin().join("tests/mock/BuildRulesCheck.cs")];
    for module in [
        "ThirdParty/MatteboxLibrary/MatteboxLibrary",
        "MatteboxRuntime/MatteboxRuntime",
        "MatteboxEditor/MatteboxEditor",
    ] {
        sources.push(plugin_dir.join(format!("Source/{module}.Build.cs")));
    }
    ok(Command::new("mcs").arg(format!("-out:{}", exe.display())).args(["-warnaserror+"]).args(&sources));
    let out = ok(Command::new("mono").arg(&exe).arg(plugin_dir));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let mut words = line.split(' ');
            let (platform, module) = (words.next().unwrap().to_owned(), words.next().unwrap().to_owned());
            let fields = words
                .map(|w| {
                    let (k, v) = w.split_once('=').unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            Rules { platform, module, fields }
        })
        .collect()
}

fn field<'a>(rules: &'a [Rules], platform: &str, module: &str, key: &str) -> &'a str {
    let found = rules
        .iter()
        .find(|r| r.platform == platform && r.module == module)
        .unwrap_or_else(|| panic!("no rules for {module} on {platform}"));
    found.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {key}"))
}

#[test]
fn the_build_rules_compile_and_ask_for_what_the_plugin_needs() {
    let rules = build_rules(&plugin());
    assert_eq!(rules.len(), 9, "three modules on three platforms");
    for platform in ["Linux", "Win64", "Mac"] {
        assert_eq!(field(&rules, platform, "MatteboxLibrary", "type"), "External");
        let include = field(&rules, platform, "MatteboxLibrary", "include");
        assert!(include.ends_with("Source/ThirdParty/MatteboxLibrary/include"), "{include}");
        for module in ["MatteboxRuntime", "MatteboxEditor"] {
            assert_eq!(field(&rules, platform, module, "cpp"), "Cpp20", "{module}");
            assert_eq!(field(&rules, platform, module, "exceptions"), "False", "{module}");
            assert_eq!(field(&rules, platform, module, "type"), "CPlusPlus", "{module}");
            // Nothing links against the library: it is loaded by hand.
            assert_eq!(field(&rules, platform, module, "libraries"), "", "{module}");
        }
        let private = field(&rules, platform, "MatteboxRuntime", "private");
        for needed in ["MatteboxLibrary", "ImgMedia", "Projects"] {
            assert!(private.split(';').any(|m| m == needed), "MatteboxRuntime lacks {needed}: {private}");
        }
        assert!(field(&rules, platform, "MatteboxEditor", "private").split(';').any(|m| m == "MatteboxRuntime"));
    }
    let staged = |platform| field(&rules, platform, "MatteboxLibrary", "runtime");
    assert_eq!(staged("Linux"), "$(PluginDir)/Binaries/ThirdParty/Mattebox/Linux/libmattebox.so");
    assert_eq!(staged("Win64"), "$(PluginDir)/Binaries/ThirdParty/Mattebox/Win64/mattebox.dll");
    assert_eq!(staged("Mac"), "$(PluginDir)/Binaries/ThirdParty/Mattebox/Mac/libmattebox.dylib");
    assert_eq!(field(&rules, "Win64", "MatteboxLibrary", "delayload"), "mattebox.dll");
    assert_eq!(field(&rules, "Linux", "MatteboxLibrary", "delayload"), "");
}

#[test]
fn the_headers_compile_under_unreal_flags() {
    let headers = [
        root().join("ffi/include/mattebox.h"),
        root().join("ffi/include/mattebox.hpp"),
        runtime_private("Core/MatteboxApi.h"),
        runtime_private("Core/MatteboxGeneration.h"),
        runtime_private("Core/MatteboxScore.h"),
        runtime_private("Bridge/MatteboxBridge.h"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for header in headers {
        // Each on its own, as the first thing a translation unit includes.
        let unit = dir.path().join("unit.cpp");
        std::fs::write(&unit, format!("#include \"{}\"\n", header.display())).unwrap();
        ok(unreal_clang().arg("-I").arg(plugin().join("tests/mock/UE")).arg("-fsyntax-only").arg(&unit));
    }
}

/// Builds `sources` with Unreal's flags into `exe`.
fn build(exe: &Path, sources: &[PathBuf], extra: &[&str]) {
    ok(unreal_clang().args(sources).arg("-o").arg(exe).args(extra));
}

#[test]
fn the_engine_independent_core_runs_against_the_real_library() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("core_test");
    let core = ["MatteboxApi.cpp", "MatteboxGeneration.cpp", "MatteboxScore.cpp"]
        .map(|f| runtime_private(&format!("Core/{f}")));
    let mut sources = core.to_vec();
    sources.push(plugin().join("tests/core_test.cpp"));
    build(&exe, &sources, &["-ldl", "-pthread"]);
    let out = ok(Command::new(&exe).arg(library()).arg(dir.path().join("cache")));
    assert!(String::from_utf8_lossy(&out.stdout).contains("core_test: 0 failure(s)"));
}

#[test]
fn the_bridge_runs_against_mocked_unreal_types() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("bridge_test");
    let sources = [
        runtime_private("Core/MatteboxApi.cpp"),
        runtime_private("Core/MatteboxGeneration.cpp"),
        plugin().join("tests/bridge_test.cpp"),
    ];
    ok(unreal_clang().arg("-I").arg(plugin().join("tests/mock/UE")).args(&sources).arg("-o").arg(&exe));
    let out = ok(&mut Command::new(&exe));
    assert!(String::from_utf8_lossy(&out.stdout).contains("bridge_test: 0 failure(s)"));
}

#[test]
fn package_lays_out_a_plugin_whose_staged_files_exist() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(Command::new("bash").arg(plugin().join("package.sh")).arg(dir.path()).arg(library()));
    let packaged = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert_eq!(packaged, dir.path().join("Mattebox"));
    for file in ["Mattebox.uplugin", "README.md", "Source/ThirdParty/MatteboxLibrary/include/mattebox.h"] {
        assert!(packaged.join(file).exists(), "{file} is missing");
    }
    assert!(!packaged.join("tests").exists() && !packaged.join("checks").exists(), "only the plugin is packaged");
    // The packaged rules' include folder and Linux staging resolve to files.
    let rules = build_rules(&packaged);
    let include = PathBuf::from(field(&rules, "Linux", "MatteboxLibrary", "include"));
    assert!(include.join("mattebox.h").exists(), "{}", include.display());
    let staged =
        field(&rules, "Linux", "MatteboxLibrary", "runtime").replace("$(PluginDir)", packaged.to_str().unwrap());
    let staged = PathBuf::from(staged);
    assert!(staged.exists(), "{}", staged.display());
    // The packaged library is the real one (it answers its ABI version),
    // without debug sections.
    let sections = ok(Command::new("readelf").arg("-S").arg(&staged));
    assert!(!String::from_utf8_lossy(&sections.stdout).contains(".debug_info"), "debug sections were kept");
    let symbols = ok(Command::new("nm").args(["-D", "--defined-only"]).arg(&staged));
    let symbols = String::from_utf8_lossy(&symbols.stdout);
    for name in ["mb_abi_version", "mb_generation_take_dir", "mb_shot_scorer_push"] {
        assert!(symbols.lines().any(|l| l.ends_with(&format!(" {name}"))), "{name} is not exported");
    }
}
