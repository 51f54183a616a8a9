//! `kxian-trainer fetch-model NeoQuasar/Kronos-mini`: a published model from the Hugging Face
//! hub (or a mirror) into the models folder, where `kxian serve --models DIR` serves it and
//! `forecast --tokenizer/--predictor` loads it.
//!
//! For each repository the hub's file list (`/api/models/{repo}/tree/{revision}`) gives every
//! file's size and hash: the SHA-256 of files kept in LFS (the weights), the git blob SHA-1 of
//! the others (`config.json`). Files come from the hub's `resolve` URLs into `<file>.part`, resume
//! with a `Range` request after a dropped connection or an interrupted run, and move into place
//! only once their size and hash match. A predictor brings the tokenizer it was trained with.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use kxian_shared::jobs::{JobEvent, StageName, StagePlan, StageSummary, hub_repo_problem};
use kxian_shared::model::{AnyConfig, check_pair, parse_config, released_pair};
use sha2::Digest;

use crate::bail_input;
use crate::cli_error::BadInput;
use crate::progress::{Progress, ProgressMode};

/// The files a model folder holds.
const FILES: [&str; 2] = ["config.json", "model.safetensors"];
/// Attempts per file; each one resumes where the last stopped.
const ATTEMPTS: u32 = 5;

#[derive(clap::Args, Debug, Clone)]
pub struct FetchModelArgs {
    /// The hub repository: a predictor (NeoQuasar/Kronos-mini, -small, -base), which brings its
    /// tokenizer, or a tokenizer alone (NeoQuasar/Kronos-Tokenizer-2k, -base).
    pub repo: String,
    /// The tokenizer repository for a predictor (default: the one it was trained with, from the
    /// same owner: Kronos-Tokenizer-2k for mini, Kronos-Tokenizer-base for small and base).
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// The models folder: the model lands in `<DIR>/<id>/{predictor,tokenizer}/`.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// The model's id, its folder's name (default: the repository's name, e.g. Kronos-mini).
    #[arg(long)]
    pub id: Option<String>,
    /// The hub or a mirror of it (e.g. `https://hf-mirror.com`); `HF_ENDPOINT` as in
    /// huggingface_hub.
    #[arg(long, env = "HF_ENDPOINT", default_value = "https://huggingface.co")]
    pub endpoint: String,
    /// The branch, tag or commit to fetch.
    #[arg(long, default_value = "main")]
    pub revision: String,
    /// `json`: one job event per line on standard output (each file's progress, then `done`)
    /// instead of the report at the end.
    #[arg(long, value_enum, default_value = "bar")]
    pub progress: ProgressMode,
}

/// Job events for the server's runner, when `--progress json` asks for them: a file's progress
/// at most twice a second, and every file once it is in place.
struct Events {
    sink: Option<Progress>,
    last: Instant,
}

impl Events {
    fn new(mode: ProgressMode) -> std::io::Result<Events> {
        let sink = match mode {
            ProgressMode::Json => Some(Progress::new(mode, 0, "bytes", None)?),
            ProgressMode::Bar => None,
        };
        Ok(Events {
            sink,
            last: Instant::now(),
        })
    }

    fn emit(&mut self, e: JobEvent) {
        if let Some(s) = &mut self.sink {
            s.emit(&e);
        }
    }

    fn file(&mut self, repo: &str, file: &str, received: u64, size: u64, how: Option<&str>) {
        if self.sink.is_none()
            || (how.is_none() && self.last.elapsed() < Duration::from_millis(500))
        {
            return;
        }
        self.last = Instant::now();
        self.emit(JobEvent::File {
            stage: StageName::Fetch,
            repo: repo.to_string(),
            file: file.to_string(),
            received,
            size,
            how: how.map(str::to_string),
        });
    }
}

/// What one run fetched.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Fetched {
    /// `<models>/<id>`.
    pub dir: PathBuf,
    pub id: String,
    /// One line per file: downloaded, resumed or already there.
    pub files: Vec<FileOutcome>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FileOutcome {
    pub repo: String,
    pub path: PathBuf,
    pub bytes: u64,
    /// `downloaded`, `resumed` (it continued a part left by a dropped connection or an earlier
    /// run) or `present` (nothing to do).
    pub how: &'static str,
}

/// A file of the hub's listing.
#[derive(Debug, Clone, PartialEq)]
struct HubFile {
    size: u64,
    hash: Hash,
}

#[derive(Debug, Clone, PartialEq)]
enum Hash {
    /// LFS files: the SHA-256 of the content.
    Sha256(String),
    /// Plain git files: the SHA-1 of `blob <len>\0<content>`.
    GitBlob(String),
}

fn validate_repo(repo: &str) -> Result<(), BadInput> {
    match hub_repo_problem(repo) {
        None => Ok(()),
        Some(why) => Err(BadInput(why)),
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .user_agent("kxian-trainer fetch-model")
        .build()
        .into()
}

fn endpoint(args: &FetchModelArgs) -> &str {
    args.endpoint.trim_end_matches('/')
}

/// Where the hub serves a file of a repository at the revision asked for.
fn resolve_url(args: &FetchModelArgs, repo: &str, file: &str) -> String {
    format!("{}/{repo}/resolve/{}/{file}", endpoint(args), args.revision)
}

fn get(url: &str) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
    agent()
        .get(url)
        .call()
        .with_context(|| format!("cannot reach {url}"))
}

/// The hub's listing of `repo`: size and hash of `config.json` and `model.safetensors`.
fn listing(args: &FetchModelArgs, repo: &str) -> anyhow::Result<Vec<(String, HubFile)>> {
    let url = format!(
        "{}/api/models/{repo}/tree/{}",
        endpoint(args),
        args.revision
    );
    let mut resp = get(&url)?;
    let status = resp.status().as_u16();
    if status == 404 || status == 401 {
        bail_input!(
            "{repo} (revision {}) is not on {}: HTTP {status} for its file list",
            args.revision,
            endpoint(args)
        );
    }
    anyhow::ensure!(status == 200, "{url}: HTTP {status}");
    let body = resp
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading {url}"))?;
    let entries: Vec<serde_json::Value> =
        serde_json::from_str(&body).with_context(|| format!("{url}: not a file list"))?;
    let mut out = Vec::new();
    for want in FILES {
        let Some(e) = entries.iter().find(|e| e["path"] == want) else {
            bail_input!(
                "{repo} has no {want}: it is not a model in the Hugging Face layout (config.json + model.safetensors)"
            );
        };
        let file = match (e["lfs"]["oid"].as_str(), e["lfs"]["size"].as_u64()) {
            (Some(oid), Some(size)) => HubFile {
                size,
                hash: Hash::Sha256(oid.trim_start_matches("sha256:").to_ascii_lowercase()),
            },
            _ => HubFile {
                size: e["size"]
                    .as_u64()
                    .with_context(|| format!("{url}: {want} has no size"))?,
                hash: Hash::GitBlob(
                    e["oid"]
                        .as_str()
                        .with_context(|| format!("{url}: {want} has no oid"))?
                        .to_ascii_lowercase(),
                ),
            },
        };
        out.push((want.to_string(), file));
    }
    Ok(out)
}

/// The hex digest of `len` bytes read from `r`, of the kind the hub lists.
fn digest(kind: &Hash, len: u64, mut r: impl Read) -> std::io::Result<String> {
    fn feed(h: &mut impl Digest, r: &mut impl Read) -> std::io::Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            h.update(&buf[..n]);
        }
    }
    let bytes = match kind {
        Hash::Sha256(_) => {
            let mut h = sha2::Sha256::new();
            feed(&mut h, &mut r)?;
            h.finalize().to_vec()
        }
        Hash::GitBlob(_) => {
            let mut h = sha1::Sha1::new();
            h.update(format!("blob {len}\0").as_bytes());
            feed(&mut h, &mut r)?;
            h.finalize().to_vec()
        }
    };
    Ok(kxian_store::digest::hex(&bytes))
}

fn hash_of(path: &Path, kind: &Hash) -> std::io::Result<String> {
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    digest(kind, len, f)
}

impl HubFile {
    fn hash_hex(&self) -> &str {
        match &self.hash {
            Hash::Sha256(h) | Hash::GitBlob(h) => h,
        }
    }
}

fn matches(path: &Path, file: &HubFile) -> std::io::Result<bool> {
    if std::fs::metadata(path).map(|m| m.len()).ok() != Some(file.size) {
        return Ok(false);
    }
    Ok(hash_of(path, &file.hash)? == file.hash_hex())
}

fn bar(total: u64, name: &str) -> indicatif::ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(total)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} (ETA {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(name.to_string());
    bar
}

/// One attempt: appends to `part` from its current length. `Ok(false)` when the connection
/// dropped before the end (worth another attempt).
fn download_once(
    url: &str,
    part: &Path,
    total: u64,
    bar: &indicatif::ProgressBar,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<bool> {
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut req = agent().get(url);
    if have > 0 {
        req = req.header("Range", &format!("bytes={have}-"));
    }
    let mut resp = match req.call() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("{url}: {e}; retrying");
            return Ok(false);
        }
    };
    let status = resp.status().as_u16();
    let append = match status {
        206 => true,
        200 => false,
        416 if have >= total => return Ok(true),
        429 | 500..=599 => {
            tracing::warn!("{url}: HTTP {status}; retrying");
            return Ok(false);
        }
        _ => anyhow::bail!("{url}: HTTP {status}"),
    };
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .with_context(|| format!("opening {}", part.display()))?;
    bar.set_position(if append { have } else { 0 });
    let mut body = resp.body_mut().with_config().limit(total + 1).reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.write_all(&buf[..n])
                    .with_context(|| format!("writing {}", part.display()))?;
                bar.inc(n as u64);
                progress(bar.position());
            }
            Err(e) => {
                tracing::warn!("{url}: {e}; resuming");
                out.flush().ok();
                return Ok(false);
            }
        }
    }
    out.flush()
        .with_context(|| format!("writing {}", part.display()))?;
    Ok(std::fs::metadata(part)?.len() >= total)
}

/// Brings one file of `repo` to `dest`, checked; says how.
fn fetch_file(
    args: &FetchModelArgs,
    repo: &str,
    name: &str,
    file: &HubFile,
    dest: &Path,
    events: &mut Events,
) -> anyhow::Result<&'static str> {
    if matches(dest, file)? {
        return Ok("present");
    }
    let part = dest.with_extension(format!(
        "{}.part",
        dest.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let url = resolve_url(args, repo, name);
    let bar = bar(file.size, &format!("{repo}/{name}"));
    let (mut done, mut resumed) = (false, false);
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            std::thread::sleep(Duration::from_millis(500 * (1 << (attempt - 2))));
        }
        resumed |= std::fs::metadata(&part).is_ok_and(|m| m.len() > 0);
        let mut progress = |received| events.file(repo, name, received, file.size, None);
        if download_once(&url, &part, file.size, &bar, &mut progress)? {
            done = true;
            break;
        }
    }
    bar.finish_and_clear();
    anyhow::ensure!(
        done,
        "{url}: the connection kept dropping ({ATTEMPTS} attempts); run the command again to resume from {}",
        part.display()
    );
    let got = std::fs::metadata(&part)?.len();
    if got != file.size || !matches(&part, file)? {
        // A part that does not check out is useless to resume from.
        let _ = std::fs::remove_file(&part);
        anyhow::bail!(
            "{url}: the file does not match the hub's listing ({got} bytes, {} expected, or a different hash); it was removed, run the command again",
            file.size
        );
    }
    std::fs::rename(&part, dest)
        .with_context(|| format!("moving {} into place", dest.display()))?;
    Ok(if resumed { "resumed" } else { "downloaded" })
}

/// `config.json` of `repo`, read into memory and checked against the listing: it says whether
/// the repository holds a predictor or a tokenizer, and so which folder it belongs in. Returns
/// the bytes too, to be written where the config says.
fn read_config(
    args: &FetchModelArgs,
    repo: &str,
    file: &HubFile,
) -> anyhow::Result<(AnyConfig, Vec<u8>)> {
    let url = resolve_url(args, repo, "config.json");
    let mut resp = get(&url)?;
    anyhow::ensure!(
        resp.status().as_u16() == 200,
        "{url}: HTTP {}",
        resp.status()
    );
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_vec()
        .with_context(|| format!("reading {url}"))?;
    let ok = bytes.len() as u64 == file.size
        && digest(&file.hash, file.size, &bytes[..])? == file.hash_hex();
    anyhow::ensure!(
        ok,
        "{url}: {} bytes that do not match the hub's listing ({} bytes)",
        bytes.len(),
        file.size
    );
    let config =
        parse_config(&bytes).map_err(|e| anyhow::Error::new(BadInput(format!("{repo}: {e}"))))?;
    Ok((config, bytes))
}

/// Fetches `repo` into `<model_dir>/predictor` or `<model_dir>/tokenizer`, whichever it is.
fn fetch_repo(
    args: &FetchModelArgs,
    repo: &str,
    model_dir: &Path,
    outcomes: &mut Vec<FileOutcome>,
    events: &mut Events,
) -> anyhow::Result<AnyConfig> {
    validate_repo(repo)?;
    let files = listing(args, repo)?;
    events.emit(JobEvent::Start {
        stage: StageName::Fetch,
        plan: StagePlan::Files {
            repo: repo.to_string(),
            files: files.len(),
            bytes: files.iter().map(|(_, f)| f.size).sum(),
        },
    });
    let config_file = &files
        .iter()
        .find(|(n, _)| n == "config.json")
        .expect("the listing has config.json")
        .1;
    let (config, config_bytes) = read_config(args, repo, config_file)?;
    let dir = model_dir.join(match config {
        AnyConfig::Predictor(_) => "predictor",
        AnyConfig::Tokenizer(_) => "tokenizer",
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, file) in &files {
        let dest = dir.join(name);
        let how = if name == "config.json" {
            // Already read and checked: written in place, not fetched a second time.
            if matches(&dest, file)? {
                "present"
            } else {
                let tmp = dir.join(".config.json.tmp");
                std::fs::write(&tmp, &config_bytes)
                    .and_then(|()| std::fs::rename(&tmp, &dest))
                    .with_context(|| format!("writing {}", dest.display()))?;
                "downloaded"
            }
        } else {
            fetch_file(args, repo, name, file, &dest, events)?
        };
        eprintln!("{repo}/{name}: {how} ({} bytes)", file.size);
        events.file(repo, name, file.size, file.size, Some(how));
        outcomes.push(FileOutcome {
            repo: repo.to_string(),
            path: dest,
            bytes: file.size,
            how,
        });
    }
    Ok(config)
}

/// The tokenizer a released predictor was trained with, from the same owner.
fn paired_tokenizer(
    repo: &str,
    predictor: &kxian_shared::model::PredictorConfig,
) -> Option<String> {
    let owner = repo.split('/').next()?;
    Some(format!("{owner}/{}", released_pair(predictor)?.tokenizer))
}

pub fn run(args: &FetchModelArgs) -> anyhow::Result<Fetched> {
    validate_repo(&args.repo)?;
    let id = match &args.id {
        Some(id) => id.clone(),
        None => args
            .repo
            .split('/')
            .nth(1)
            .unwrap_or(&args.repo)
            .to_string(),
    };
    crate::ensure_input!(
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !id.starts_with('.'),
        "--id `{id}`: use letters, digits, '-', '_' and '.' (it names a folder)"
    );
    let dir = args.models.join(&id);
    let mut files = Vec::new();
    let mut events = Events::new(args.progress)?;
    let config = fetch_repo(args, &args.repo, &dir, &mut files, &mut events)?;
    if let AnyConfig::Predictor(p) = &config {
        let tok_repo = match (&args.tokenizer, paired_tokenizer(&args.repo, p)) {
            (Some(t), _) => t.clone(),
            (None, Some(t)) => t,
            (None, None) => crate::bail_input!(
                "{} is not one of the released Kronos shapes: name its tokenizer with --tokenizer OWNER/NAME",
                args.repo
            ),
        };
        let tok = fetch_repo(args, &tok_repo, &dir, &mut files, &mut events)?;
        let AnyConfig::Tokenizer(t) = tok else {
            crate::bail_input!("{tok_repo} is a predictor, not a tokenizer");
        };
        check_pair(&t, p).map_err(|e| {
            anyhow::Error::new(BadInput(format!("{tok_repo} and {}: {e}", args.repo)))
        })?;
    }
    events.emit(JobEvent::Done {
        stage: StageName::Fetch,
        summary: StageSummary::Fetched {
            model: id.clone(),
            files: files.len(),
            bytes: files.iter().map(|f| f.bytes).sum(),
        },
    });
    Ok(Fetched { dir, id, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_owner_slash_name() {
        for good in ["NeoQuasar/Kronos-mini", "a_b/c.d-1"] {
            assert!(validate_repo(good).is_ok(), "{good}");
        }
        for bad in ["Kronos-mini", "a/b/c", "../x", "a/..", "a/b c", "/x", "a/"] {
            assert!(validate_repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn released_predictors_name_their_tokenizers() {
        use kxian_shared::model::PredictorConfig;
        assert_eq!(
            paired_tokenizer("NeoQuasar/Kronos-mini", &PredictorConfig::kronos_mini()).as_deref(),
            Some("NeoQuasar/Kronos-Tokenizer-2k")
        );
        assert_eq!(
            paired_tokenizer("x/Kronos-base", &PredictorConfig::kronos_base()).as_deref(),
            Some("x/Kronos-Tokenizer-base")
        );
        let odd = PredictorConfig {
            d_model: 64,
            ..PredictorConfig::kronos_mini()
        };
        assert_eq!(paired_tokenizer("x/y", &odd), None);
    }

    #[test]
    fn git_blob_hashes_are_what_git_computes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello\n").unwrap();
        // `printf 'hello\n' | git hash-object --stdin`
        let want = "ce013625030ba8dba906f756967f9e9ca394464a";
        assert_eq!(hash_of(&p, &Hash::GitBlob(want.into())).unwrap(), want);
        let sha = hash_of(&p, &Hash::Sha256(String::new())).unwrap();
        assert_eq!(
            sha,
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
    }
}
