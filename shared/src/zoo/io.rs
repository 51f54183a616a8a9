//! A zoo model as `config.json` + `model.safetensors` bytes. Every parameter is stored under
//! its module path (`backbone.Lstm.0.wx.weight`) in burn's own layout, so a new backbone needs
//! no key table; loading checks each shape and refuses missing or extra tensors.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};

use super::net::{MODEL_TYPE, NetConfig, ZooNet};
use crate::model::checkpoint::{CheckpointError, Saved};
use crate::model::safetensors::{self, Owned, View};

struct Collect {
    path: Vec<String>,
    out: BTreeMap<String, Owned>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let shape = t.dims().to_vec();
        let values = t
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 parameters");
        self.out
            .insert(self.path.join("."), Owned::F32(shape, values));
    }
}

struct Fill<'a> {
    path: Vec<String>,
    views: &'a BTreeMap<String, View<'a>>,
    used: BTreeSet<String>,
    device: Device,
    error: Option<CheckpointError>,
}

impl Fill<'_> {
    fn values(&self, key: &str, shape: &[usize]) -> Result<Vec<f32>, CheckpointError> {
        let view = self
            .views
            .get(key)
            .ok_or_else(|| CheckpointError::Missing {
                key: key.to_string(),
                expected: shape.to_vec(),
                hint: "; does config.json describe these weights?".into(),
            })?;
        if view.shape != shape {
            return Err(CheckpointError::Shape {
                key: key.to_string(),
                expected: shape.to_vec(),
                found: view.shape.clone(),
            });
        }
        let v = view.to_f32().ok_or_else(|| CheckpointError::Dtype {
            key: key.to_string(),
            dtype: view.dtype_name.clone(),
        })?;
        if v.iter().any(|x| !x.is_finite()) {
            return Err(CheckpointError::NonFinite {
                key: key.to_string(),
            });
        }
        Ok(v)
    }
}

impl ModuleMapper for Fill<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let key = self.path.join(".");
        let shape: [usize; D] = param.lazy_shape().dims();
        if self.error.is_some() {
            return param;
        }
        match self.values(&key, &shape) {
            Ok(v) => {
                self.used.insert(key);
                // A fresh parameter: on an autodiff device it must track gradients, which a
                // mapped value would not.
                Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), &self.device))
            }
            Err(e) => {
                self.error = Some(e);
                param
            }
        }
    }
}

/// The model's config and weights.
pub fn save(model: &ZooNet) -> Saved {
    let mut c = Collect {
        path: Vec::new(),
        out: BTreeMap::new(),
    };
    model.visit(&mut c);
    Saved {
        config_json: serde_json::to_string_pretty(&model.config).expect("config serialises"),
        safetensors: safetensors::serialize(&c.out),
    }
}

/// A model from its `config.json` and `model.safetensors` bytes.
pub fn load(
    config_json: &[u8],
    weights: &[u8],
    device: &Device,
) -> Result<ZooNet, CheckpointError> {
    let config: NetConfig =
        serde_json::from_slice(config_json).map_err(|e| CheckpointError::Config(e.to_string()))?;
    if config.model_type != MODEL_TYPE {
        return Err(CheckpointError::Config(format!(
            "model_type is `{}`, not `{MODEL_TYPE}`",
            config.model_type
        )));
    }
    if config.backbone == super::config::BackboneKind::Gbdt {
        return Err(CheckpointError::Config(
            "a gbdt model is trees (trees.json), not network weights".into(),
        ));
    }
    let views = safetensors::parse(weights)?;
    let mut fill = Fill {
        path: Vec::new(),
        views: &views,
        used: BTreeSet::new(),
        device: device.clone(),
        error: None,
    };
    let model = ZooNet::new(&config, device).map(&mut fill);
    if let Some(e) = fill.error {
        return Err(e);
    }
    let extra: Vec<String> = views
        .keys()
        .filter(|k| !fill.used.contains(*k))
        .take(8)
        .map(|k| format!("`{k}`"))
        .collect();
    if !extra.is_empty() {
        return Err(CheckpointError::Unexpected {
            what: "zoo model",
            count: views.keys().filter(|k| !fill.used.contains(*k)).count(),
            keys: extra.join(", "),
        });
    }
    Ok(model)
}
