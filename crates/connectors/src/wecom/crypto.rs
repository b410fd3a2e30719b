//! WXBizMsgCrypt: the signature and encryption of WeCom callbacks.
//!
//! - `msg_signature = sha1_hex(concat(sorted([token, timestamp, nonce, encrypt])))`;
//! - the AES key is `base64(EncodingAESKey + "=")` (32 bytes), the IV its first 16 bytes;
//! - AES-256-CBC over `random16 ‖ u32_be(len) ‖ msg ‖ receiveid`, PKCS#7-padded to **32-byte**
//!   blocks (pad 1..=32; the padding crates refuse more than 16, so it is done here).
//!
//! Everything is checked on the way in — signature, padding, length, receiver id — which
//! wechatpy, for one, does not do. [`ReplayGuard`] refuses stale timestamps and repeated
//! (timestamp, nonce) pairs.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use aes::Aes256;
use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use sha1::{Digest, Sha1};
use thiserror::Error;

/// The padding block of WXBizMsgCrypt (not AES's 16).
const BLOCK: usize = 32;

/// The official EncodingAESKey decodes only when trailing bits are allowed.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a callback was refused. None of these is ever answered with the plaintext.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the EncodingAESKey must be 43 characters of base64 (it decodes to the 32-byte AES key)")]
    BadKey,
    #[error("wrong msg_signature")]
    BadSignature,
    #[error("the encrypted text is not valid base64 or not a whole number of AES blocks")]
    BadCiphertext,
    #[error("wrong padding")]
    BadPadding,
    #[error("the message length does not fit the decrypted text")]
    BadLength,
    #[error("the message is for another receiver id (is corp_id right?)")]
    WrongReceiver,
    #[error("the message is not UTF-8")]
    NotUtf8,
    #[error("the timestamp is not a number or is outside the accepted window")]
    StaleTimestamp,
    #[error("this timestamp and nonce were already used (a replay)")]
    Replayed,
}

/// The callback crypto of one WeCom app: token, AES key, receiver id (the CorpID).
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl std::fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgCrypt").field("receive_id", &self.receive_id).finish_non_exhaustive()
    }
}

/// `sha1_hex` of the four values sorted and concatenated.
pub fn signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort_unstable();
    let digest = Sha1::digest(parts.concat().as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Decodes an EncodingAESKey (43 characters) into the AES key.
///
/// # Errors
/// [`CryptoError::BadKey`] when it is not 43 characters of base64 decoding to 32 bytes.
pub fn aes_key(encoding_aes_key: &str) -> Result<[u8; 32], CryptoError> {
    if encoding_aes_key.len() != 43 {
        return Err(CryptoError::BadKey);
    }
    let bytes = KEY_BASE64.decode(format!("{encoding_aes_key}=")).map_err(|_| CryptoError::BadKey)?;
    bytes.try_into().map_err(|_| CryptoError::BadKey)
}

/// Equality in time independent of where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

impl MsgCrypt {
    /// # Errors
    /// [`CryptoError::BadKey`] when the EncodingAESKey is malformed.
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self, CryptoError> {
        Ok(Self { token: token.to_owned(), key: aes_key(encoding_aes_key)?, receive_id: receive_id.to_owned() })
    }

    /// Checks `msg_signature` over the encrypted text.
    ///
    /// # Errors
    /// [`CryptoError::BadSignature`].
    pub fn verify(&self, msg_signature: &str, timestamp: &str, nonce: &str, encrypt: &str) -> Result<(), CryptoError> {
        let expected = signature(&self.token, timestamp, nonce, encrypt);
        if same(&expected, &msg_signature.to_ascii_lowercase()) { Ok(()) } else { Err(CryptoError::BadSignature) }
    }

    /// Verifies the signature, then decrypts and checks padding, length and receiver id.
    ///
    /// # Errors
    /// Any [`CryptoError`] but the key and replay ones.
    pub fn open(&self, msg_signature: &str, timestamp: &str, nonce: &str, encrypt: &str) -> Result<String, CryptoError> {
        self.verify(msg_signature, timestamp, nonce, encrypt)?;
        self.decrypt(encrypt)
    }

    /// Decrypts a base64 `Encrypt` value (no signature check).
    ///
    /// # Errors
    /// [`CryptoError::BadCiphertext`], [`BadPadding`](CryptoError::BadPadding),
    /// [`BadLength`](CryptoError::BadLength), [`WrongReceiver`](CryptoError::WrongReceiver),
    /// [`NotUtf8`](CryptoError::NotUtf8).
    pub fn decrypt(&self, encrypt: &str) -> Result<String, CryptoError> {
        let cipher = general_purpose::STANDARD.decode(encrypt.trim()).map_err(|_| CryptoError::BadCiphertext)?;
        if cipher.is_empty() || cipher.len() % BLOCK != 0 {
            return Err(CryptoError::BadCiphertext);
        }
        let iv: [u8; 16] = self.key[..16].try_into().map_err(|_| CryptoError::BadKey)?;
        let plain = cbc::Decryptor::<Aes256>::new(&self.key.into(), &iv.into())
            .decrypt_padded_vec_mut::<NoPadding>(&cipher)
            .map_err(|_| CryptoError::BadCiphertext)?;
        let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
        if pad == 0 || pad > BLOCK || pad > plain.len() || plain[plain.len() - pad..].iter().any(|&b| usize::from(b) != pad) {
            return Err(CryptoError::BadPadding);
        }
        let content = &plain[..plain.len() - pad];
        let header = content.get(16..20).ok_or(CryptoError::BadLength)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let msg = content.get(20..20 + len).ok_or(CryptoError::BadLength)?;
        let receiver = &content[20 + len..];
        if !same(&String::from_utf8_lossy(receiver), &self.receive_id) {
            return Err(CryptoError::WrongReceiver);
        }
        String::from_utf8(msg.to_vec()).map_err(|_| CryptoError::NotUtf8)
    }

    /// Encrypts `msg` with the given 16 random bytes (tests pin them; [`seal`](Self::seal)
    /// draws them).
    pub fn encrypt_with(&self, msg: &str, random: [u8; 16]) -> String {
        let mut plain = Vec::with_capacity(msg.len() + 64);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&u32::try_from(msg.len()).unwrap_or(u32::MAX).to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(self.receive_id.as_bytes());
        let pad = BLOCK - plain.len() % BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let iv: [u8; 16] = {
            let mut iv = [0u8; 16];
            iv.copy_from_slice(&self.key[..16]);
            iv
        };
        let cipher = cbc::Encryptor::<Aes256>::new(&self.key.into(), &iv.into()).encrypt_padded_vec_mut::<NoPadding>(&plain);
        general_purpose::STANDARD.encode(cipher)
    }

    /// Encrypts and signs a reply: `(encrypt, msg_signature)`.
    pub fn seal(&self, msg: &str, timestamp: &str, nonce: &str) -> (String, String) {
        let mut random = [0u8; 16];
        if getrandom::fill(&mut random).is_err() {
            // The random prefix only varies the ciphertext; a fixed one is still decryptable.
            random = *b"qunzhu-wecom-rnd";
        }
        let encrypt = self.encrypt_with(msg, random);
        let signature = signature(&self.token, timestamp, nonce, &encrypt);
        (encrypt, signature)
    }
}

/// (timestamp, nonce) pairs seen, and the order they came in (to forget the oldest).
type Seen = (HashSet<(i64, String)>, VecDeque<(i64, String)>);

/// Refuses callbacks whose timestamp is off by more than the window, and any (timestamp,
/// nonce) pair seen within it. Remembers at most `capacity` pairs (the oldest go first).
pub struct ReplayGuard {
    window_secs: i64,
    capacity: usize,
    seen: Mutex<Seen>,
}

impl ReplayGuard {
    pub fn new(window_secs: i64) -> Self {
        Self { window_secs, capacity: 100_000, seen: Mutex::new((HashSet::new(), VecDeque::new())) }
    }

    /// Accepts the pair once when `timestamp` is within the window around `now_secs`.
    ///
    /// # Errors
    /// [`CryptoError::StaleTimestamp`] or [`CryptoError::Replayed`].
    pub fn check(&self, timestamp: &str, nonce: &str, now_secs: i64) -> Result<(), CryptoError> {
        let ts: i64 = timestamp.trim().parse().map_err(|_| CryptoError::StaleTimestamp)?;
        if (now_secs - ts).abs() > self.window_secs {
            return Err(CryptoError::StaleTimestamp);
        }
        let mut guard = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (set, order) = &mut *guard;
        while let Some((oldest, _)) = order.front() {
            if now_secs - *oldest > self.window_secs || order.len() >= self.capacity {
                if let Some(key) = order.pop_front() {
                    set.remove(&key);
                }
            } else {
                break;
            }
        }
        let key = (ts, nonce.to_owned());
        if !set.insert(key.clone()) {
            return Err(CryptoError::Replayed);
        }
        order.push_back(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The official vectors (WeCom's WXBizMsgCrypt samples).
    const TOKEN: &str = "QDG6eK";
    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    const CORP: &str = "wx5823bf96d3bd56c7";

    fn crypt() -> MsgCrypt {
        MsgCrypt::new(TOKEN, KEY, CORP).unwrap()
    }

    #[test]
    fn the_official_verify_url_vector_decrypts_to_its_echo() {
        let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
        let plain = crypt().open("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", echostr).unwrap();
        assert_eq!(plain, "1616140317555161061");
    }

    #[test]
    fn the_official_vector_is_refused_with_any_value_changed() {
        let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
        let c = crypt();
        assert_eq!(c.open("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd4", "1409659589", "263014780", echostr), Err(CryptoError::BadSignature));
        assert_eq!(c.open("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659590", "263014780", echostr), Err(CryptoError::BadSignature));
        let other_corp = MsgCrypt::new(TOKEN, KEY, "ww0000000000000000").unwrap();
        assert_eq!(other_corp.decrypt(echostr), Err(CryptoError::WrongReceiver));
    }

    #[test]
    fn encryption_round_trips_and_pads_to_32_byte_blocks() {
        let c = crypt();
        for len in [0usize, 1, 11, 12, 13, 31, 32, 33, 200] {
            let msg = format!("{}{}", "群".repeat(len / 3), "x".repeat(len % 3));
            let sealed = c.encrypt_with(&msg, *b"0123456789abcdef");
            let bytes = general_purpose::STANDARD.decode(&sealed).unwrap();
            assert_eq!(bytes.len() % 32, 0);
            assert_eq!(c.decrypt(&sealed).unwrap(), msg);
        }
        let (encrypt, sig) = c.seal("<xml>hi</xml>", "1700000000", "n1");
        assert_eq!(c.open(&sig, "1700000000", "n1", &encrypt).unwrap(), "<xml>hi</xml>");
    }

    fn raw_encrypt(key: &[u8; 32], plain: &[u8]) -> String {
        let iv: [u8; 16] = key[..16].try_into().unwrap();
        let cipher = cbc::Encryptor::<Aes256>::new(&(*key).into(), &iv.into()).encrypt_padded_vec_mut::<NoPadding>(plain);
        general_purpose::STANDARD.encode(cipher)
    }

    #[test]
    fn bad_padding_and_lengths_are_refused() {
        let key = aes_key(KEY).unwrap();
        let c = crypt();
        // A last byte of 0, of 33, and inconsistent pad bytes.
        let mut block = vec![7u8; 64];
        block[63] = 0;
        assert_eq!(c.decrypt(&raw_encrypt(&key, &block)), Err(CryptoError::BadPadding));
        block[63] = 33;
        assert_eq!(c.decrypt(&raw_encrypt(&key, &block)), Err(CryptoError::BadPadding));
        block[63] = 3;
        block[62] = 3;
        block[61] = 9;
        assert_eq!(c.decrypt(&raw_encrypt(&key, &block)), Err(CryptoError::BadPadding));
        // A length that runs past the end.
        let mut plain = vec![0u8; 16];
        plain.extend_from_slice(&1000u32.to_be_bytes());
        plain.extend_from_slice(b"short");
        let pad = 32 - plain.len() % 32;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        assert_eq!(c.decrypt(&raw_encrypt(&key, &plain)), Err(CryptoError::BadLength));
        assert_eq!(c.decrypt("not base64!"), Err(CryptoError::BadCiphertext));
        assert_eq!(c.decrypt(&general_purpose::STANDARD.encode([1u8; 20])), Err(CryptoError::BadCiphertext));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert_eq!(MsgCrypt::new(TOKEN, "short", CORP).unwrap_err(), CryptoError::BadKey);
        assert_eq!(MsgCrypt::new(TOKEN, &"!".repeat(43), CORP).unwrap_err(), CryptoError::BadKey);
    }

    #[test]
    fn stale_timestamps_and_replayed_nonces_are_refused() {
        let guard = ReplayGuard::new(300);
        assert_eq!(guard.check("1000", "a", 1000), Ok(()));
        assert_eq!(guard.check("1000", "a", 1010), Err(CryptoError::Replayed));
        assert_eq!(guard.check("1000", "b", 1010), Ok(()));
        assert_eq!(guard.check("600", "c", 1000), Err(CryptoError::StaleTimestamp));
        assert_eq!(guard.check("1400", "c", 1000), Err(CryptoError::StaleTimestamp));
        assert_eq!(guard.check("soon", "c", 1000), Err(CryptoError::StaleTimestamp));
    }
}
