//! Keys and signatures: Ed25519 (and RSA for RS256) key files, Multikey
//! encoding, did:key / did:web documents and JWKS, the `eddsa-rdfc-2022`
//! Data Integrity cryptosuite and VC-JWT.

pub mod data_integrity;
pub mod did;
pub mod issuer;
pub mod jwt;
pub mod keyring;
pub mod keys;
pub mod multikey;
