//! The forecasting models the server offers: the built-in default (compiled in, so a fresh
//! install forecasts offline) and every model directory under `--models`.
//!
//! The server never loads a model: it hashes the four files of each one (tokenizer and
//! predictor, `config.json` + `model.safetensors`) at start and serves them as immutable,
//! hash-addressed downloads for the browser.

use kxian_shared::api::{
    ClassifierEntry, ModelEntry, ModelFile, ModelList, ModelPart, ZooModelEntry,
};
use kxian_store::digest::{hex, sha256_hex};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Id of the built-in model.
pub const DEFAULT_ID: &str = kxian_shared::jobs::DEFAULT_MODEL_ID;

macro_rules! default_file {
    ($part:literal, $file:literal) => {
        include_bytes!(concat!(
            "../../public/models/kxian-default/",
            $part,
            "/",
            $file
        ))
        .as_slice()
    };
}

const DEFAULT_FILES: [(&str, &str, &[u8]); 4] = [
    (
        "tokenizer",
        "config.json",
        default_file!("tokenizer", "config.json"),
    ),
    (
        "tokenizer",
        "model.safetensors",
        default_file!("tokenizer", "model.safetensors"),
    ),
    (
        "predictor",
        "config.json",
        default_file!("predictor", "config.json"),
    ),
    (
        "predictor",
        "model.safetensors",
        default_file!("predictor", "model.safetensors"),
    ),
];
const DEFAULT_CARD: &str = include_str!("../../public/models/kxian-default/MODEL_CARD.md");

/// Id of the built-in up/down/flat classifier.
pub const CLASSIFIER_ID: &str = "kxian-classifier";
const CLASSIFIER_FILES: [(&str, &str, &[u8]); 2] = [
    (
        "classifier",
        "config.json",
        include_bytes!("../../public/models/kxian-classifier/config.json").as_slice(),
    ),
    (
        "classifier",
        "model.safetensors",
        include_bytes!("../../public/models/kxian-classifier/model.safetensors").as_slice(),
    ),
];
const CLASSIFIER_CARD: &str = include_str!("../../public/models/kxian-classifier/MODEL_CARD.md");

#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error("cannot read the models folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("model {path}: cannot read {file}: {source}")]
    File {
        path: String,
        file: String,
        source: std::io::Error,
    },
}

/// Where a file's bytes live.
#[derive(Debug, Clone)]
enum Bytes {
    Static(&'static [u8]),
    /// Read on demand, so large models are not held in memory.
    Disk(PathBuf),
}

#[derive(Debug, Clone)]
struct Stored {
    bytes: Bytes,
    sha256: String,
}

#[derive(Debug, Clone)]
enum Entry {
    Kronos(ModelEntry),
    Classifier(ClassifierEntry),
    Zoo(Box<ZooModelEntry>),
}

#[derive(Debug, Clone)]
struct Model {
    entry: Entry,
    /// `(part, file)` → content.
    files: BTreeMap<(String, String), Stored>,
    card: Option<Bytes>,
    /// The user a training job made it for (`owner.json`); `None` is everyone's.
    owner: Option<i64>,
}

/// The catalogue, built at start and rebuilt when a training job adds a model.
#[derive(Debug, Clone, Default)]
pub struct Models {
    models: Arc<std::sync::RwLock<Arc<BTreeMap<String, Model>>>>,
}

pub const PARTS: [&str; 2] = ["tokenizer", "predictor"];
/// In a model folder: `{"user_id": N}`, the only user (with admins) who may see the model.
pub const OWNER_FILE: &str = "owner.json";
pub const FILES: [&str; 2] = ["config.json", "model.safetensors"];

fn file_url(id: &str, part: &str, file: &str, sha: &str) -> String {
    // The first 16 hex digits suffice to make the URL change with the content.
    format!("/api/models/{id}/{part}/{file}?v={}", &sha[..16])
}

/// A classifier folder's two files; its market is read from `config.json`.
fn build_classifier(
    id: &str,
    (description, description_zh): (String, Option<String>),
    files: Vec<(&str, &str, Bytes, Vec<u8>)>,
    card: Option<Bytes>,
) -> Model {
    let mut stored = BTreeMap::new();
    let mut slots: [Option<ModelFile>; 2] = [None, None];
    let mut market = None;
    for (part, file, bytes, content) in files {
        let sha = sha256_hex(&content);
        if file == "config.json" {
            market = serde_json::from_slice::<serde_json::Value>(&content)
                .ok()
                .and_then(|v| v["market"].as_str().map(str::to_string));
        }
        slots[usize::from(file == "model.safetensors")] = Some(ModelFile {
            url: file_url(id, part, file, &sha),
            sha256: sha.clone(),
            bytes: content.len() as u64,
        });
        stored.insert(
            (part.to_string(), file.to_string()),
            Stored { bytes, sha256: sha },
        );
    }
    let [c, w] = slots;
    let files = ModelPart {
        config: c.expect("a classifier has a config"),
        weights: w.expect("a classifier has weights"),
    };
    let mut h = Sha256::new();
    h.update(files.config.sha256.as_bytes());
    h.update(files.weights.sha256.as_bytes());
    Model {
        entry: Entry::Classifier(ClassifierEntry {
            id: id.to_string(),
            description,
            description_zh,
            default: id == CLASSIFIER_ID,
            sha256: hex(&h.finalize()),
            files,
            market,
            card_url: card.as_ref().map(|_| format!("/api/models/{id}/card")),
        }),
        files: stored,
        card,
        owner: None,
    }
}

/// A zoo model's folder part (`zoo/`): its config and weights file, with the card beside it.
pub const ZOO_PART: &str = "zoo";
/// A zoo model's weights: a network's, or a trees model's.
pub const ZOO_WEIGHTS: [&str; 2] = ["model.safetensors", "trees.json"];
/// The zoo card as the trainer wrote it, in the model folder.
pub const ZOO_CARD: &str = "card.json";

/// The zoo model in `path`, when it is one: `zoo/config.json`, weights and `card.json`.
fn load_zoo(
    id: &str,
    path: &Path,
    description: (String, Option<String>),
    card_md: Option<Bytes>,
) -> Result<Option<Model>, ModelsError> {
    let dir = path.join(ZOO_PART);
    let Some(weights) = ZOO_WEIGHTS.iter().find(|f| dir.join(f).is_file()) else {
        return Ok(None);
    };
    let read = |p: PathBuf, file: &str| {
        std::fs::read(&p).map_err(|source| ModelsError::File {
            path: path.display().to_string(),
            file: file.to_string(),
            source,
        })
    };
    let card_bytes = read(path.join(ZOO_CARD), ZOO_CARD)?;
    let Ok(mut card) = serde_json::from_slice::<kxian_shared::zoo::card::Card>(&card_bytes) else {
        tracing::warn!(model = %path.display(), "skipped: card.json is not a zoo model card");
        return Ok(None);
    };
    card.per_symbol.clear();
    let mut stored = BTreeMap::new();
    let mut files = Vec::new();
    let mut market = None;
    for file in ["config.json", *weights] {
        let fp = dir.join(file);
        let content = read(fp.clone(), &format!("{ZOO_PART}/{file}"))?;
        if file == "config.json" {
            market = serde_json::from_slice::<serde_json::Value>(&content)
                .ok()
                .and_then(|v| v["market"].as_str().map(str::to_string));
        }
        let sha = sha256_hex(&content);
        files.push(ModelFile {
            url: file_url(id, ZOO_PART, file, &sha),
            sha256: sha.clone(),
            bytes: content.len() as u64,
        });
        stored.insert(
            (ZOO_PART.to_string(), file.to_string()),
            Stored {
                bytes: Bytes::Disk(fp),
                sha256: sha,
            },
        );
    }
    let weights = files.pop().expect("two files");
    let config = files.pop().expect("two files");
    let mut h = Sha256::new();
    h.update(config.sha256.as_bytes());
    h.update(weights.sha256.as_bytes());
    Ok(Some(Model {
        entry: Entry::Zoo(Box::new(ZooModelEntry {
            id: id.to_string(),
            description: description.0,
            description_zh: description.1,
            sha256: hex(&h.finalize()),
            files: ModelPart { config, weights },
            market,
            card,
            card_url: card_md.as_ref().map(|_| format!("/api/models/{id}/card")),
        })),
        files: stored,
        card: card_md,
        owner: None,
    }))
}

fn build(
    id: &str,
    (description, description_zh): (String, Option<String>),
    files: Vec<(&str, &str, Bytes, Vec<u8>)>,
    card: Option<Bytes>,
) -> Model {
    let mut stored = BTreeMap::new();
    let mut parts: BTreeMap<&str, [Option<ModelFile>; 2]> = BTreeMap::new();
    for (part, file, bytes, content) in files {
        let sha = sha256_hex(&content);
        let mf = ModelFile {
            url: file_url(id, part, file, &sha),
            sha256: sha.clone(),
            bytes: content.len() as u64,
        };
        let slot = usize::from(file == "model.safetensors");
        parts.entry(part).or_default()[slot] = Some(mf);
        stored.insert(
            (part.to_string(), file.to_string()),
            Stored { bytes, sha256: sha },
        );
    }
    let mut part = |name: &str| {
        let [c, w] = parts.remove(name).unwrap_or_default();
        ModelPart {
            config: c.expect("every part has a config"),
            weights: w.expect("every part has weights"),
        }
    };
    let tokenizer = part("tokenizer");
    let predictor = part("predictor");
    let mut h = Sha256::new();
    for f in [
        &tokenizer.config,
        &tokenizer.weights,
        &predictor.config,
        &predictor.weights,
    ] {
        h.update(f.sha256.as_bytes());
    }
    Model {
        entry: Entry::Kronos(ModelEntry {
            id: id.to_string(),
            description,
            description_zh,
            default: id == DEFAULT_ID,
            sha256: hex(&h.finalize()),
            tokenizer,
            predictor,
            card_url: card.as_ref().map(|_| format!("/api/models/{id}/card")),
        }),
        files: stored,
        card,
        owner: None,
    }
}

/// The user a model folder belongs to (`owner.json`), if any.
fn read_owner(path: &Path) -> Option<i64> {
    std::fs::read(path.join(OWNER_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["user_id"].as_i64())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !id.starts_with('.')
}

/// The card's first paragraph of prose (its lines joined) in English, cut after the last whole
/// sentence that fits in 240 characters, or at a word with "…" when not even one does.
fn summary(card: &str) -> Option<String> {
    const MAX: usize = 240;
    let paragraph = prose(card).find(|p| !has_chinese(p))?;
    if paragraph.chars().count() <= MAX {
        return Some(paragraph);
    }
    let head: String = paragraph.chars().take(MAX).collect();
    if let Some(end) = head.rfind(". ") {
        return Some(head[..=end].to_string());
    }
    let cut = head.rfind(' ').unwrap_or(head.len());
    Some(format!("{}…", head[..cut].trim_end()))
}

/// The card's first paragraph in Chinese, cut after the last whole sentence (。) within 120
/// characters.
fn summary_zh(card: &str) -> Option<String> {
    const MAX: usize = 120;
    let paragraph = prose(card).find(|p| has_chinese(p))?;
    if paragraph.chars().count() <= MAX {
        return Some(paragraph);
    }
    let head: String = paragraph.chars().take(MAX).collect();
    match head.rfind('。') {
        Some(end) => Some(head[..end + '。'.len_utf8()].to_string()),
        None => Some(format!("{head}…")),
    }
}

/// Both summaries of a card; the English one falls back to `fallback`.
fn summaries(card: Option<&str>, fallback: impl FnOnce() -> String) -> (String, Option<String>) {
    (
        card.and_then(summary).unwrap_or_else(fallback),
        card.and_then(summary_zh),
    )
}

/// A card's paragraphs of prose (not headings or tables), each on one line. Chinese lines are
/// joined without a space.
fn prose(card: &str) -> impl Iterator<Item = String> + '_ {
    card.split("\n\n")
        .map(|p| {
            let sep = if has_chinese(p) { "" } else { " " };
            p.lines().map(str::trim).collect::<Vec<_>>().join(sep)
        })
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty() && !p.starts_with('#') && !p.starts_with('|'))
}

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

impl Models {
    /// The built-in model plus every `<dir>/<id>/{tokenizer,predictor}/` under `dir` (a
    /// missing folder is an empty catalogue; a folder without both parts is skipped).
    pub fn load(dir: Option<&Path>) -> Result<Models, ModelsError> {
        let mut models = BTreeMap::new();
        let files = DEFAULT_FILES
            .iter()
            .map(|(p, f, b)| (*p, *f, Bytes::Static(b), b.to_vec()))
            .collect();
        let default = build(
            DEFAULT_ID,
            summaries(Some(DEFAULT_CARD), || "Kxian's built-in model".into()),
            files,
            Some(Bytes::Static(DEFAULT_CARD.as_bytes())),
        );
        models.insert(DEFAULT_ID.to_string(), default);
        let classifier = build_classifier(
            CLASSIFIER_ID,
            summaries(Some(CLASSIFIER_CARD), || {
                "Kxian's built-in classifier".into()
            }),
            CLASSIFIER_FILES
                .iter()
                .map(|(p, f, b)| (*p, *f, Bytes::Static(b), b.to_vec()))
                .collect(),
            Some(Bytes::Static(CLASSIFIER_CARD.as_bytes())),
        );
        models.insert(CLASSIFIER_ID.to_string(), classifier);
        if let Some(dir) = dir.filter(|d| d.exists()) {
            let entries = std::fs::read_dir(dir).map_err(|source| ModelsError::Folder {
                path: dir.display().to_string(),
                source,
            })?;
            let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            dirs.sort();
            for path in dirs {
                let Some(id) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .map(str::to_string)
                else {
                    continue;
                };
                let complete = PARTS
                    .iter()
                    .all(|p| FILES.iter().all(|f| path.join(p).join(f).is_file()));
                let classifier = FILES
                    .iter()
                    .all(|f| path.join("classifier").join(f).is_file());
                let zoo = path.join(ZOO_PART).join("config.json").is_file();
                if valid_id(&id) && !models.contains_key(&id) && !complete && !classifier && zoo {
                    let card_path = path.join("MODEL_CARD.md");
                    let card_text = std::fs::read_to_string(&card_path).ok();
                    let description = summaries(card_text.as_deref(), || format!("zoo model {id}"));
                    let card = card_text.map(|_| Bytes::Disk(card_path));
                    if let Some(mut model) = load_zoo(&id, &path, description, card)? {
                        model.owner = read_owner(&path);
                        models.insert(id.clone(), model);
                        continue;
                    }
                }
                if !valid_id(&id) || models.contains_key(&id) || !(complete || classifier) {
                    tracing::warn!(model = %path.display(), "skipped: not a model folder with tokenizer/ and predictor/, classifier/ (config.json + model.safetensors), or zoo/ with card.json");
                    continue;
                }
                let parts: &[&str] = if complete { &PARTS } else { &["classifier"] };
                let mut files = Vec::new();
                for &p in parts {
                    for f in FILES {
                        let fp = path.join(p).join(f);
                        let content = std::fs::read(&fp).map_err(|source| ModelsError::File {
                            path: path.display().to_string(),
                            file: format!("{p}/{f}"),
                            source,
                        })?;
                        files.push((p, f, Bytes::Disk(fp), content));
                    }
                }
                let card_path = path.join("MODEL_CARD.md");
                let card_text = std::fs::read_to_string(&card_path).ok();
                let description = summaries(card_text.as_deref(), || format!("model folder {id}"));
                let card = card_text.map(|_| Bytes::Disk(card_path));
                let mut model = if complete {
                    build(&id, description, files, card)
                } else {
                    build_classifier(&id, description, files, card)
                };
                model.owner = read_owner(&path);
                models.insert(id.clone(), model);
            }
        }
        Ok(Models {
            models: Arc::new(std::sync::RwLock::new(Arc::new(models))),
        })
    }

    /// Reads the folder again (a training job finished) and swaps the catalogue in.
    pub fn reload(&self, dir: Option<&Path>) -> Result<(), ModelsError> {
        let fresh = Models::load(dir)?;
        let next = Arc::clone(&fresh.models.read().expect("not poisoned"));
        *self.models.write().expect("not poisoned") = next;
        Ok(())
    }

    fn snapshot(&self) -> Arc<BTreeMap<String, Model>> {
        Arc::clone(&self.models.read().expect("not poisoned"))
    }

    pub fn list(&self) -> ModelList {
        self.list_for(&crate::storage::Viewer {
            user: None,
            admin: true,
        })
    }

    /// Whether `viewer` may see model `id` (unknown ids are not visible).
    pub fn visible(&self, id: &str, viewer: &crate::storage::Viewer) -> bool {
        self.snapshot()
            .get(id)
            .is_some_and(|m| viewer.sees(m.owner))
    }

    /// The models `viewer` may see: everyone's, and their own.
    pub fn list_for(&self, viewer: &crate::storage::Viewer) -> ModelList {
        let mut models = Vec::new();
        let mut classifiers = Vec::new();
        let mut zoo = Vec::new();
        for m in self.snapshot().values().filter(|m| viewer.sees(m.owner)) {
            match &m.entry {
                Entry::Kronos(e) => models.push(e.clone()),
                Entry::Classifier(c) => classifiers.push(c.clone()),
                Entry::Zoo(z) => zoo.push(ZooModelEntry::clone(z)),
            }
        }
        models.sort_by_key(|m: &ModelEntry| (!m.default, m.id.clone()));
        classifiers.sort_by_key(|m: &ClassifierEntry| (!m.default, m.id.clone()));
        ModelList {
            models,
            classifiers,
            zoo,
        }
    }

    /// A file's content and hash; `None` for an unknown model, part or file.
    pub async fn file(
        &self,
        id: &str,
        part: &str,
        file: &str,
    ) -> Option<std::io::Result<(Vec<u8>, String)>> {
        let all = self.snapshot();
        let stored = all
            .get(id)?
            .files
            .get(&(part.to_string(), file.to_string()))?
            .clone();
        Some(
            read(&stored.bytes)
                .await
                .map(|b| (b, stored.sha256.clone())),
        )
    }

    pub async fn card(&self, id: &str) -> Option<std::io::Result<Vec<u8>>> {
        let card = self.snapshot().get(id)?.card.clone()?;
        Some(read(&card).await)
    }
}

async fn read(b: &Bytes) -> std::io::Result<Vec<u8>> {
    match b {
        Bytes::Static(s) => Ok(s.to_vec()),
        Bytes::Disk(p) => tokio::fs::read(p).await,
    }
}

#[cfg(test)]
mod tests {
    use super::{summaries, summary};

    #[test]
    fn a_card_is_summed_up_in_whole_sentences() {
        let card = "# title\n\nThis is the model `forecast` and `evaluate` use when no `--tokenizer` and\n`--predictor` are given. It has the Kronos architecture at the `tiny` size, trained from random\nweights on the real data Kxian ships. It is small (2.4 MB) so it fits in the repository and in a\nbrowser.\n\n## Architecture\n";
        let s = summary(card).unwrap();
        assert!(s.starts_with("This is the model"), "{s}");
        assert!(
            s.contains("`--predictor` are given."),
            "the wrapped line is joined: {s}"
        );
        assert!(s.ends_with('.'), "it ends on a sentence: {s}");
        assert!(s.chars().count() <= 240, "{s}");
        assert_eq!(
            summary("# t\n\nShort one.\n").as_deref(),
            Some("Short one.")
        );
        let long = format!("# t\n\n{}", "word ".repeat(80));
        let s = summary(&long).unwrap();
        assert!(s.ends_with("word…") && s.chars().count() <= 241, "{s}");
        assert_eq!(summary("# only a title\n"), None);
    }

    #[test]
    fn a_card_with_a_chinese_paragraph_has_both_summaries() {
        let card = "# m\n\nAn English summary.\n\n这是中文的\n说明。第二句。\n\n## More\n";
        let (en, zh) = summaries(Some(card), || "fallback".into());
        assert_eq!(en, "An English summary.");
        assert_eq!(zh.as_deref(), Some("这是中文的说明。第二句。"));
        let (en, zh) = summaries(None, || "fallback".into());
        assert_eq!((en.as_str(), zh), ("fallback", None));
        let long = format!("# m\n\n{}\n", "很长的一句话。".repeat(30));
        let (_, zh) = summaries(Some(&long), String::new);
        let zh = zh.unwrap();
        assert!(zh.ends_with('。') && zh.chars().count() <= 120, "{zh}");
    }

    #[test]
    fn the_built_in_models_are_described_in_both_languages() {
        let list = super::Models::load(None).unwrap().list();
        for (id, zh) in list
            .models
            .iter()
            .map(|m| (&m.id, &m.description_zh))
            .chain(list.classifiers.iter().map(|c| (&c.id, &c.description_zh)))
        {
            assert!(
                zh.as_deref().is_some_and(|z| z.contains('。')),
                "{id}: {zh:?}"
            );
        }
    }
}
