//! A password as a guest keeps it, Windows or Linux: a salted hash, never the text.

use sha2::{Digest, Sha256};

/// A salted hash of a password.
#[derive(Debug, Clone)]
pub(crate) struct Secret {
    salt: String,
    hash: String,
}

impl Secret {
    pub(crate) fn new(password: &str) -> Secret {
        let salt = uuid::Uuid::new_v4().simple().to_string();
        let hash = hash(&salt, password);
        Secret { salt, hash }
    }

    pub(crate) fn matches(&self, password: &str) -> bool {
        self.hash == hash(&self.salt, password)
    }
}

fn hash(salt: &str, password: &str) -> String {
    let digest = Sha256::new()
        .chain_update(salt.as_bytes())
        .chain_update(password.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
