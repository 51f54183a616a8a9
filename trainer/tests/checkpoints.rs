//! A random checkpoint pair with the released Kronos-mini / Kronos-Tokenizer-2k shapes, for the
//! tests that need a model of the published structure but no particular weights. Made once by
//! `kxian-trainer init --preset mini --seed 42` into the test target's scratch folder and reused
//! by every test and every later run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

fn pair() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kronos-mini-seed42");
        let done = |d: &PathBuf| {
            ["tokenizer", "predictor"]
                .iter()
                .all(|p| d.join(p).join("model.safetensors").is_file())
        };
        if done(&dir) {
            return dir;
        }
        // Written beside and moved into place, so a run killed half-way leaves nothing half-made.
        let staging = dir.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let out = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
            .args(["init", "--preset", "mini", "--seed", "42", "--out"])
            .arg(&staging)
            .output()
            .expect("kxian-trainer runs");
        assert!(
            out.status.success(),
            "kxian-trainer init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&staging, &dir).expect("the checkpoint pair moves into place");
        assert!(done(&dir));
        dir
    })
}

/// The tokenizer (Kronos-Tokenizer-2k shapes).
pub(crate) fn tokenizer() -> PathBuf {
    pair().join("tokenizer")
}

/// The predictor (Kronos-mini shapes, 4,108,032 parameters).
pub(crate) fn predictor() -> PathBuf {
    pair().join("predictor")
}

/// The pair's folders by the names of the reference's parity checkpoints they stand in for
/// (`Kronos-Tokenizer-2k-rand`, `Kronos-mini-rand`), with an optional file inside.
pub(crate) fn by_reference_name(name: &str) -> PathBuf {
    let (folder, file) = name.split_once('/').unwrap_or((name, ""));
    let dir = match folder {
        "Kronos-Tokenizer-2k-rand" => tokenizer(),
        "Kronos-mini-rand" => predictor(),
        other => panic!("no checkpoint {other}"),
    };
    if file.is_empty() { dir } else { dir.join(file) }
}
