//! ONNX Runtime, shared by the model backends (feature `onnx`): the
//! library is loaded at run time (`libonnxruntime.so`, as the PyPI
//! `onnxruntime` wheel carries it), never linked, once per process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::session::Session;

use crate::error::{Error, Result};

static ENVIRONMENT: OnceLock<std::result::Result<ort::environment::Environment, String>> = OnceLock::new();

/// Loads ONNX Runtime once per process (ONNX Runtime allows one
/// environment; the first library asked for is the one used).
pub(crate) fn environment(library: Option<&Path>) -> Result<&'static ort::environment::Environment> {
    let outcome = ENVIRONMENT.get_or_init(|| {
        let path = library
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("MATTEBOX_ONNXRUNTIME").filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("libonnxruntime.so"));
        let builder = ort::init_from(&path).map_err(|e| {
            format!(
                "cannot load ONNX Runtime from {}: {e}; `bash .ci/setup` puts it in \
                 target/tools/onnxruntime/ (or install the `onnxruntime` Python wheel: its \
                 onnxruntime/capi/libonnxruntime.so.*); name it with `--onnxruntime FILE` on the command line \
                 or MATTEBOX_ONNXRUNTIME",
                path.display()
            )
        })?;
        builder.with_name("mattebox").build().map_err(|e| format!("cannot start ONNX Runtime: {e}"))
    });
    outcome.as_ref().map_err(|e| Error::unsupported(e.clone()))
}

/// Opens `path` as an ONNX model whose first input is float32 of `shape`
/// (-1 matches any size), saying which model and what is wrong.
pub(crate) fn open(
    env: &ort::environment::Environment,
    what: &str,
    path: &Path,
    shape: &[i64],
    threads: usize,
) -> Result<(Session, String)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &format!("read the {what} model"), e))?;
    let session = Session::builder(env)
        .and_then(|b| b.with_intra_threads(threads.max(1)).map_err(Into::into))
        // Idle ONNX Runtime threads would otherwise spin on the cores the
        // decoder, the encoder and rayon's workers need.
        .and_then(|b| b.with_intra_op_spinning(false).map_err(Into::into))
        .and_then(|mut b| b.commit_from_memory(&bytes))
        .map_err(|e| Error::media(format!("{}: not a usable ONNX {what} model: {e}", path.display())))?;
    let input = session
        .inputs()
        .first()
        .ok_or_else(|| Error::media(format!("{}: the {what} model has no inputs", path.display())))?;
    let dims: Vec<i64> = input.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
    let fits =
        dims.len() == shape.len() && dims.iter().zip(shape).all(|(d, want)| *want == -1 || *d == *want || *d == -1);
    if !fits || input.dtype().tensor_type() != Some(ort::value::TensorElementType::Float32) {
        return Err(Error::invalid_argument(format!(
            "{}: the {what} model's input `{}` is {:?} {dims:?}; it must be float32 {shape:?}",
            path.display(),
            input.name(),
            input.dtype().tensor_type()
        )));
    }
    let name = input.name().to_owned();
    Ok((session, name))
}
