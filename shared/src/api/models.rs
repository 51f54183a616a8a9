//! `GET /api/models`: the forecasting models the server offers, with the URLs and content
//! hashes of their files so the browser can download, verify and cache them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    pub models: Vec<ModelEntry>,
    /// Up/down/flat classifiers (config.json + model.safetensors each).
    #[serde(default)]
    pub classifiers: Vec<ClassifierEntry>,
    /// Models of the zoo (`train-model`): each with its card's held-out figures.
    #[serde(default)]
    pub zoo: Vec<ZooModelEntry>,
}

/// A model of the zoo as a folder: `zoo/config.json` and its weights (`model.safetensors`, or
/// `trees.json` for gradient-boosted trees), with the card it was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZooModelEntry {
    pub id: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_zh: Option<String>,
    /// Hex SHA-256 over both files' hashes.
    pub sha256: String,
    pub files: ModelPart,
    /// The market index whose bars the model reads beside the symbol's, if any.
    #[serde(default)]
    pub market: Option<String>,
    /// The card: backbone, target and the held-out test figures, overall, per regime and per
    /// industry (per symbol only in the card file: a list stays small).
    pub card: crate::zoo::card::Card,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_url: Option<String>,
}

impl ZooModelEntry {
    /// The summary in Chinese when asked for and the card has one, else in English.
    pub fn description_in(&self, chinese: bool) -> &str {
        pick(&self.description, &self.description_zh, chinese)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierEntry {
    pub id: String,
    pub description: String,
    /// The card's Chinese summary, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_zh: Option<String>,
    pub default: bool,
    /// Hex SHA-256 over both files' hashes.
    pub sha256: String,
    pub files: ModelPart,
    /// The market index whose bars the classifier reads beside the symbol's, if any.
    #[serde(default)]
    pub market: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    /// Stable, URL-safe id, e.g. `kxian-default`.
    pub id: String,
    pub description: String,
    /// The card's Chinese summary, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_zh: Option<String>,
    /// The model the app picks when the user picks none.
    pub default: bool,
    /// Hex SHA-256 over both parts' hashes: names exactly these weights in share links.
    pub sha256: String,
    pub tokenizer: ModelPart,
    pub predictor: ModelPart,
    /// The model card (Markdown), when the model has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_url: Option<String>,
}

impl ModelEntry {
    /// The summary in Chinese when asked for and the card has one, else in English.
    pub fn description_in(&self, chinese: bool) -> &str {
        pick(&self.description, &self.description_zh, chinese)
    }
}

impl ClassifierEntry {
    /// The summary in Chinese when asked for and the card has one, else in English.
    pub fn description_in(&self, chinese: bool) -> &str {
        pick(&self.description, &self.description_zh, chinese)
    }
}

fn pick<'a>(en: &'a str, zh: &'a Option<String>, chinese: bool) -> &'a str {
    match zh {
        Some(zh) if chinese => zh,
        _ => en,
    }
}

/// One half of a model (`tokenizer` or `predictor`): its two files in the Hugging Face layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPart {
    pub config: ModelFile,
    pub weights: ModelFile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// Carries the hash in its query, so it names immutable content (cached for a year).
    pub url: String,
    pub sha256: String,
    pub bytes: u64,
}

impl ModelEntry {
    /// Bytes to download for the whole model.
    pub fn total_bytes(&self) -> u64 {
        [&self.tokenizer, &self.predictor]
            .iter()
            .map(|p| p.config.bytes + p.weights.bytes)
            .sum()
    }
}
