//! JSON has no NaN: serde writes it as `null`. These read `null` back as NaN, so a report with a
//! figure that could not be computed survives the trip through a file or the job contract.

use serde::{Deserialize, Deserializer};

pub(crate) fn f64_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

pub(crate) fn f64s_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    Ok(Vec::<Option<f64>>::deserialize(d)?
        .into_iter()
        .map(|x| x.unwrap_or(f64::NAN))
        .collect())
}

pub(crate) fn f32s_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
    Ok(Vec::<Option<f32>>::deserialize(d)?
        .into_iter()
        .map(|x| x.unwrap_or(f32::NAN))
        .collect())
}
