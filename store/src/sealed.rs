//! Secrets at rest: a user's upstream token (Tushare) is stored sealed with AES-256-GCM under
//! a key kept in a 0600 file beside the database (`<db>.key`), so a copy of the database alone
//! — a backup, a file shared to debug — does not give the token away. The sealed value is
//! bound to its row (user and name) so it cannot be moved to another user.

use super::StoreError;
use crate::digest::hex;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;
use std::path::{Path, PathBuf};

const PREFIX: &str = "enc1:";

/// The key that seals secrets; cheap to clone.
#[derive(Clone)]
pub(crate) struct SealKey(std::sync::Arc<[u8; 32]>);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(…)")
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `<db>.key` beside the database file.
pub(crate) fn key_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".key");
    db.with_file_name(name)
}

impl SealKey {
    /// Reads the key beside `db`, creating it (0600, 256 random bits) on first use.
    pub(crate) fn load_or_create(db: &Path) -> Result<SealKey, StoreError> {
        let path = key_path(db);
        let folder = |source| StoreError::Folder {
            path: path.display().to_string(),
            source,
        };
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        crate::files::private_new(&path, hex(&fresh).as_bytes()).map_err(folder)?;
        crate::files::restrict(&path, 0o600).map_err(folder)?;
        let text = std::fs::read_to_string(&path).map_err(folder)?;
        let bytes = unhex(text.trim())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                StoreError::Corrupt(format!("{}: not a 64-digit hex key", path.display()))
            })?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(SealKey(std::sync::Arc::new(key)))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0[..]))
    }

    fn aad(user: i64, name: &str) -> Vec<u8> {
        format!("kxian-secret:{user}:{name}").into_bytes()
    }

    pub(crate) fn seal(&self, user: i64, name: &str, value: &str) -> Result<String, StoreError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let aad = Self::aad(user, name);
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Corrupt("sealing a secret failed".into()))?;
        Ok(format!("{PREFIX}{}{}", hex(&nonce), hex(&sealed)))
    }

    /// The value of a stored secret; one written before sealing existed reads as it is.
    pub(crate) fn open(&self, user: i64, name: &str, stored: &str) -> Result<String, StoreError> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let corrupt = || {
            StoreError::Corrupt(format!(
                "the secret `{name}` of user {user} does not open with this store's key"
            ))
        };
        let bytes = unhex(body).filter(|b| b.len() > 12).ok_or_else(corrupt)?;
        let aad = Self::aad(user, name);
        let plain = self
            .cipher()
            .decrypt(
                Nonce::from_slice(&bytes[..12]),
                Payload {
                    msg: &bytes[12..],
                    aad: &aad,
                },
            )
            .map_err(|_| corrupt())?;
        String::from_utf8(plain).map_err(|_| corrupt())
    }

    pub(crate) fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}
