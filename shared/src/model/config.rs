//! The two model configurations, mirroring the `config.json` that the reference
//! `save_pretrained` writes: a flat object of constructor arguments with keys in alphabetical
//! order (the field order here), no model-type key.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// `KronosTokenizer`'s constructor arguments (Kronos-Tokenizer-2k and -base share them all but
/// `group_size`, which changes no computed value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerConfig {
    pub attn_dropout_p: f64,
    /// Commitment-loss weight.
    pub beta: f64,
    /// Input features per bar: open, high, low, close, volume, amount.
    pub d_in: usize,
    pub d_model: usize,
    pub ff_dim: usize,
    pub ffn_dropout_p: f64,
    /// Codebook-entropy weight.
    pub gamma: f64,
    /// Per-sample-entropy weight.
    pub gamma0: f64,
    pub group_size: usize,
    /// The decoder has `n_dec_layers - 1` blocks (a quirk of the reference kept for its keys).
    pub n_dec_layers: usize,
    /// The encoder has `n_enc_layers - 1` blocks.
    pub n_enc_layers: usize,
    pub n_heads: usize,
    pub resid_dropout_p: f64,
    pub s1_bits: usize,
    pub s2_bits: usize,
    /// Overall entropy weight.
    pub zeta: f64,
}

/// `Kronos` (the predictor)'s constructor arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictorConfig {
    pub attn_dropout_p: f64,
    pub d_model: usize,
    pub ff_dim: usize,
    pub ffn_dropout_p: f64,
    /// Learned calendar tables (every release) or fixed sinusoids.
    pub learn_te: bool,
    pub n_heads: usize,
    pub n_layers: usize,
    pub resid_dropout_p: f64,
    pub s1_bits: usize,
    pub s2_bits: usize,
    pub token_dropout_p: f64,
}

/// The dependency-aware layer's cross-attention has this many heads whatever `n_heads` is.
pub const DEP_LAYER_HEADS: usize = 4;

impl TokenizerConfig {
    /// Kronos-Tokenizer-2k (pairs with Kronos-mini).
    pub fn kronos_2k() -> Self {
        Self {
            attn_dropout_p: 0.0,
            beta: 0.05,
            d_in: 6,
            d_model: 256,
            ff_dim: 512,
            ffn_dropout_p: 0.0,
            gamma: 1.1,
            gamma0: 1.0,
            group_size: 5,
            n_dec_layers: 4,
            n_enc_layers: 4,
            n_heads: 4,
            resid_dropout_p: 0.0,
            s1_bits: 10,
            s2_bits: 10,
            zeta: 0.05,
        }
    }

    /// Kronos-Tokenizer-base (pairs with Kronos-small and Kronos-base).
    pub fn kronos_base() -> Self {
        Self {
            group_size: 4,
            ..Self::kronos_2k()
        }
    }

    pub fn codebook_dim(&self) -> usize {
        self.s1_bits + self.s2_bits
    }

    /// Checks what the architecture needs; the message names the offending key.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad =
            |key: &str, why: String| Err(ModelError::Config(format!("tokenizer {key}: {why}")));
        if self.d_in != 6 {
            return bad(
                "d_in",
                format!("is {}, Kronos reads 6 features per bar", self.d_in),
            );
        }
        check_heads("tokenizer", self.d_model, self.n_heads)?;
        if self.s1_bits != self.s2_bits || self.s1_bits == 0 || self.s1_bits > 16 {
            return bad(
                "s1_bits/s2_bits",
                format!(
                    "are {}/{}; both halves must have the same 1..=16 bits",
                    self.s1_bits, self.s2_bits
                ),
            );
        }
        if self.n_enc_layers < 1 || self.n_dec_layers < 1 {
            return bad("n_enc_layers/n_dec_layers", "must be at least 1".into());
        }
        if self.group_size == 0 || !self.codebook_dim().is_multiple_of(self.group_size) {
            return bad(
                "group_size",
                format!(
                    "{} does not divide the {} code bits",
                    self.group_size,
                    self.codebook_dim()
                ),
            );
        }
        if self.ff_dim == 0 {
            return bad("ff_dim", "must be positive".into());
        }
        check_dropouts(
            "tokenizer",
            &[
                ("attn_dropout_p", self.attn_dropout_p),
                ("resid_dropout_p", self.resid_dropout_p),
                ("ffn_dropout_p", self.ffn_dropout_p),
            ],
        )
    }

    /// Parameters of the architecture, counted from the shapes (3,958,042 for the releases).
    pub fn parameter_count(&self) -> usize {
        let d = self.d_model;
        let c = self.codebook_dim();
        let blocks = (self.n_enc_layers - 1) + (self.n_dec_layers - 1);
        (self.d_in * d + d)
            + (d * c + c)
            + (self.s1_bits * d + d)
            + (c * d + d)
            + (d * self.d_in + self.d_in)
            + blocks * block_params(d, self.ff_dim)
    }
}

impl PredictorConfig {
    pub fn kronos_mini() -> Self {
        Self {
            attn_dropout_p: 0.0,
            d_model: 256,
            ff_dim: 512,
            ffn_dropout_p: 0.2,
            learn_te: true,
            n_heads: 4,
            n_layers: 4,
            resid_dropout_p: 0.2,
            s1_bits: 10,
            s2_bits: 10,
            token_dropout_p: 0.0,
        }
    }

    pub fn kronos_small() -> Self {
        Self {
            attn_dropout_p: 0.1,
            d_model: 512,
            ff_dim: 1024,
            ffn_dropout_p: 0.25,
            learn_te: true,
            n_heads: 8,
            n_layers: 8,
            resid_dropout_p: 0.25,
            s1_bits: 10,
            s2_bits: 10,
            token_dropout_p: 0.1,
        }
    }

    pub fn kronos_base() -> Self {
        Self {
            attn_dropout_p: 0.0,
            d_model: 832,
            ff_dim: 2048,
            ffn_dropout_p: 0.2,
            learn_te: true,
            n_heads: 16,
            n_layers: 12,
            resid_dropout_p: 0.2,
            s1_bits: 10,
            s2_bits: 10,
            token_dropout_p: 0.0,
        }
    }

    pub fn s1_vocab(&self) -> usize {
        1 << self.s1_bits
    }

    pub fn s2_vocab(&self) -> usize {
        1 << self.s2_bits
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        check_heads("predictor", self.d_model, self.n_heads)?;
        check_heads("predictor dependency layer", self.d_model, DEP_LAYER_HEADS)?;
        if self.s1_bits == 0 || self.s1_bits > 16 || self.s2_bits == 0 || self.s2_bits > 16 {
            return Err(ModelError::Config(format!(
                "predictor s1_bits/s2_bits are {}/{}; each must be 1..=16",
                self.s1_bits, self.s2_bits
            )));
        }
        if self.n_layers == 0 || self.ff_dim == 0 {
            return Err(ModelError::Config(
                "predictor n_layers and ff_dim must be positive".into(),
            ));
        }
        Ok(())
    }

    /// Parameters counted from the shapes (docs/kronos.md §2.1: 4,108,032 / 24,741,376 / 102,310,592).
    pub fn parameter_count(&self) -> usize {
        let d = self.d_model;
        let (v1, v2) = (self.s1_vocab(), self.s2_vocab());
        let calendar = if self.learn_te {
            CALENDAR_ROWS.iter().sum::<usize>() * d
        } else {
            0
        };
        (v1 + v2) * d
            + (2 * d * d + d)
            + calendar
            + self.n_layers * block_params(d, self.ff_dim)
            + d
            + (4 * (d * d + d) + d)
            + (d * v1 + v1)
            + (d * v2 + v2)
    }
}

/// Rows of the minute, hour, weekday, day and month tables.
pub const CALENDAR_ROWS: [usize; 5] = [60, 24, 7, 32, 13];

fn check_dropouts(what: &str, ps: &[(&str, f64)]) -> Result<(), ModelError> {
    match ps
        .iter()
        .find(|(_, p)| !(p.is_finite() && (0.0..1.0).contains(p)))
    {
        Some((key, p)) => Err(ModelError::Config(format!(
            "{what} {key} is {p}; a dropout probability lies in [0, 1)"
        ))),
        None => Ok(()),
    }
}

fn block_params(d: usize, ff: usize) -> usize {
    2 * d + 4 * (d * d + d) + 3 * d * ff
}

fn check_heads(what: &str, d_model: usize, heads: usize) -> Result<(), ModelError> {
    if heads == 0 || !d_model.is_multiple_of(heads) || !(d_model / heads).is_multiple_of(2) {
        return Err(ModelError::Config(format!(
            "{what}: d_model {d_model} must split into {heads} heads of an even size (RoPE rotates pairs)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_counts_match_the_releases() {
        assert_eq!(PredictorConfig::kronos_mini().parameter_count(), 4_108_032);
        assert_eq!(
            PredictorConfig::kronos_small().parameter_count(),
            24_741_376
        );
        assert_eq!(
            PredictorConfig::kronos_base().parameter_count(),
            102_310_592
        );
        assert_eq!(TokenizerConfig::kronos_2k().parameter_count(), 3_958_042);
        assert_eq!(TokenizerConfig::kronos_base().parameter_count(), 3_958_042);
    }

    #[test]
    fn config_json_keys_come_in_the_reference_order() {
        // The struct's field order is what serde writes: alphabetical, like `save_pretrained`.
        let json = serde_json::to_string(&PredictorConfig::kronos_mini()).unwrap();
        assert!(
            json.starts_with(r#"{"attn_dropout_p":0.0,"d_model":256,"ff_dim":512,"#),
            "{json}"
        );
        assert!(
            json.ends_with(r#""s2_bits":10,"token_dropout_p":0.0}"#),
            "{json}"
        );
    }

    #[test]
    fn validation_names_the_key() {
        let mut c = TokenizerConfig::kronos_2k();
        c.group_size = 3;
        assert!(c.validate().unwrap_err().to_string().contains("group_size"));
        let mut p = PredictorConfig::kronos_mini();
        p.n_heads = 3;
        assert!(
            p.validate()
                .unwrap_err()
                .to_string()
                .contains("d_model 256")
        );
    }
}
