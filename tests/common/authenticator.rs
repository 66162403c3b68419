#![allow(dead_code)]
//! A software passkey authenticator for the stories: P-256 (ES256) keys,
//! attestation "none", user verified, discoverable credentials, and the few
//! CBOR shapes WebAuthn needs written by hand. It answers the server's JSON
//! options with the JSON a browser would post, and has the knobs a real
//! authenticator lacks, so a story can play an attacker: the origin its
//! client data claims, and each credential's signature counter.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One credential this authenticator holds.
pub struct Credential {
    pub id: Vec<u8>,
    key: SigningKey,
    /// The WebAuthn user handle the server gave at registration.
    pub user_handle: Vec<u8>,
    /// The signature counter: the next assertion sends this plus one.
    pub counter: u32,
}

impl Credential {
    /// A copy of `c`, as a cloned authenticator would hold.
    pub fn copy_of(c: &Credential) -> Credential {
        Credential {
            id: c.id.clone(),
            key: c.key.clone(),
            user_handle: c.user_handle.clone(),
            counter: c.counter,
        }
    }
}

pub struct SoftAuthenticator {
    /// The origin written into `clientDataJSON` (a browser writes the page's).
    pub origin: String,
    pub credentials: Vec<Credential>,
}

impl SoftAuthenticator {
    /// An authenticator in a browser at `origin` (`http://localhost:PORT`).
    pub fn new(origin: &str) -> Self {
        SoftAuthenticator {
            origin: origin.trim_end_matches('/').to_owned(),
            credentials: Vec::new(),
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    /// Answers `navigator.credentials.create(options)`: a new credential for
    /// the RP and user the options name; the JSON a page posts as
    /// `credential`.
    pub fn create(&mut self, options: &Value) -> Value {
        let pk = &options["publicKey"];
        let rp_id = pk["rp"]["id"].as_str().expect("rp.id");
        let challenge = pk["challenge"].as_str().expect("challenge");
        let user_handle = B64
            .decode(pk["user"]["id"].as_str().expect("user.id"))
            .expect("user.id is base64url");
        let key = SigningKey::from_slice(&rand::random::<[u8; 32]>()).expect("a P-256 key");
        let id = rand::random::<[u8; 32]>().to_vec();
        let point = key.verifying_key().to_sec1_point(false);
        let point = point.as_bytes();
        let (x, y) = (&point[1..33], &point[33..65]);
        // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
        let mut cose = map_head(5);
        cose.extend([0x01, 0x02, 0x03, 0x26, 0x20, 0x01]);
        cose.push(0x21);
        cose.extend(bytes(x));
        cose.push(0x22);
        cose.extend(bytes(y));
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x45); // user present, user verified, attested data
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((id.len() as u16).to_be_bytes());
        auth_data.extend(&id);
        auth_data.extend(cose);
        // {"fmt": "none", "attStmt": {}, "authData": …}
        let mut attestation = map_head(3);
        attestation.extend(text("fmt"));
        attestation.extend(text("none"));
        attestation.extend(text("attStmt"));
        attestation.extend(map_head(0));
        attestation.extend(text("authData"));
        attestation.extend(bytes(&auth_data));
        let client_data = self.client_data("webauthn.create", challenge);
        self.credentials.push(Credential {
            id: id.clone(),
            key,
            user_handle,
            counter: 0,
        });
        json!({
            "id": B64.encode(&id),
            "rawId": B64.encode(&id),
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(&attestation),
                "clientDataJSON": B64.encode(&client_data),
                "transports": ["internal"],
            },
            "extensions": {},
        })
    }

    /// Answers `navigator.credentials.get(options)` with credential `index`
    /// (the person picks it: no user was named), its counter moved forward.
    pub fn get_with(&mut self, index: usize, options: &Value) -> Value {
        let pk = &options["publicKey"];
        let rp_id = pk["rpId"].as_str().expect("rpId");
        let challenge = pk["challenge"].as_str().expect("challenge");
        let client_data = self.client_data("webauthn.get", challenge);
        let credential = &mut self.credentials[index];
        credential.counter += 1;
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x05); // user present, user verified
        auth_data.extend(credential.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: Signature = credential.key.sign(&signed);
        json!({
            "id": B64.encode(&credential.id),
            "rawId": B64.encode(&credential.id),
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(&auth_data),
                "clientDataJSON": B64.encode(&client_data),
                "signature": B64.encode(signature.to_der().as_bytes()),
                "userHandle": B64.encode(&credential.user_handle),
            },
            "extensions": {},
        })
    }

    /// [`get_with`](Self::get_with) the newest credential.
    pub fn get(&mut self, options: &Value) -> Value {
        let newest = self.credentials.len().checked_sub(1).expect("a credential");
        self.get_with(newest, options)
    }
}

/// A CBOR head: major type `major`, argument `n`.
fn head(major: u8, n: usize) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        _ => {
            let mut v = vec![m | 25];
            v.extend((n as u16).to_be_bytes());
            v
        }
    }
}

fn map_head(entries: usize) -> Vec<u8> {
    head(5, entries)
}

fn bytes(b: &[u8]) -> Vec<u8> {
    let mut v = head(2, b.len());
    v.extend(b);
    v
}

fn text(s: &str) -> Vec<u8> {
    let mut v = head(3, s.len());
    v.extend(s.as_bytes());
    v
}
