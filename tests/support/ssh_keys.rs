//! OpenSSH public keys for tests, made up from a label (the same label gives the same key), as
//! the emulator's own tests make them. Public halves only: no private key exists anywhere. The
//! emulator's SSH login check takes a public key line as "the client holds its private half".

use base64::Engine;

/// An `ssh-ed25519` public key line whose comment is `label`.
pub fn ed25519_public_key(label: &str) -> String {
    let blob = ssh_blob(&[b"ssh-ed25519", &label_bytes(label, 32)]);
    format!("ssh-ed25519 {blob} {label}")
}

/// An `ssh-rsa` public key line with a `bits`-bit modulus (a multiple of 8) and exponent
/// 65537, whose comment is `label`. Not a real RSA key (the modulus is made up), but well formed:
/// what a validator measures is the modulus length.
pub fn rsa_public_key(bits: usize, label: &str) -> String {
    let mut modulus = label_bytes(label, bits / 8);
    modulus[0] |= 0x80; // the top bit set: exactly `bits` bits
    modulus[bits / 8 - 1] |= 1; // odd, as a product of two odd primes is
    // An mpint with the top bit set takes a leading zero byte.
    let modulus: Vec<u8> = std::iter::once(0).chain(modulus).collect();
    let blob = ssh_blob(&[b"ssh-rsa", &[0x01, 0x00, 0x01], &modulus]);
    format!("ssh-rsa {blob} {label}")
}

/// The base64 of SSH wire strings (`u32` length, then the bytes), one after the other.
fn ssh_blob(parts: &[&[u8]]) -> String {
    let mut blob = Vec::new();
    for part in parts {
        let len = u32::try_from(part.len()).expect("a short part");
        blob.extend_from_slice(&len.to_be_bytes());
        blob.extend_from_slice(part);
    }
    base64::engine::general_purpose::STANDARD.encode(blob)
}

/// `len` bytes that depend on `label`.
fn label_bytes(label: &str, len: usize) -> Vec<u8> {
    let seed: Vec<u8> = label.bytes().chain(*b"-key").collect();
    (0..len)
        .map(|i| seed[i % seed.len()].wrapping_mul(31) ^ (i as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_per_label_and_differ_between_labels() {
        assert_eq!(ed25519_public_key("a"), ed25519_public_key("a"));
        assert_ne!(ed25519_public_key("a"), ed25519_public_key("b"));
        assert!(ed25519_public_key("a").starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
    }

    #[test]
    fn rsa_key_has_the_asked_modulus_length() {
        let line = rsa_public_key(1024, "short");
        let blob = line.split_whitespace().nth(1).expect("a blob");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(blob)
            .expect("base64");
        // "ssh-rsa" (4 + 7), e (4 + 3), n (4 + 1 + 128).
        assert_eq!(bytes.len(), 11 + 7 + 133);
        assert!(line.starts_with("ssh-rsa AAAAB3NzaC1yc2E"));
    }
}
