//! Signing images as cosign does, with keys made in the test: the payload, its signature, and
//! the `.sig` tag that stores them beside the image in the loopback registries that
//! `scripts/test-env.sh` starts (open on 127.0.0.1:5000, basic auth on 127.0.0.1:5001), plus the
//! registry client that pushes and reads them. Shared by the supply-chain and lockfile tests.

#![allow(dead_code)]

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};
use sigstore::cosign::SignatureLayer;
use sigstore::cosign::constraint::{Constraint, PrivateKeySigner};
use sigstore::crypto::SigningScheme;
use sigstore::registry::oci_reference::OciReference;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const OPEN: &str = "127.0.0.1:5000";
pub const AUTH: &str = "127.0.0.1:5001";
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn client() -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    })
}

pub fn auth_for(reference: &str) -> RegistryAuth {
    if reference.starts_with(AUTH) {
        RegistryAuth::Basic("mcp".to_string(), "audit".to_string())
    } else {
        RegistryAuth::Anonymous
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// The digest of the manifest a reference names now, hashed from the bytes served.
pub fn manifest_digest(reference: &str) -> String {
    let parsed: Reference = reference.parse().unwrap();
    let (bytes, _) = runtime()
        .block_on(client().pull_manifest_raw(
            &parsed,
            &auth_for(reference),
            &[
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json",
            ],
        ))
        .unwrap();
    sha256(&bytes)
}

/// A key pair made here; the public key's PEM file.
pub struct Key {
    pub signer: sigstore::crypto::SigStoreSigner,
    pub public_pem: PathBuf,
}

pub fn key(scheme: SigningScheme, dir: &Path, name: &str) -> Key {
    let signer = scheme.create_signer().unwrap();
    let pem = signer
        .to_sigstore_keypair()
        .unwrap()
        .public_key_to_pem()
        .unwrap();
    let path = dir.join(format!("{name}.pub"));
    std::fs::write(&path, pem).unwrap();
    Key {
        signer,
        public_pem: path,
    }
}

/// A cosign simple-signing payload for `repository@digest` and its signature by `key`, made
/// with the sigstore crate as `cosign sign` makes them.
pub fn sign(key: &Key, repository: &str, digest: &str) -> (Vec<u8>, String) {
    let image: OciReference = repository.parse().unwrap();
    let mut layer = SignatureLayer::new_unsigned(&image, digest).unwrap();
    let der = key
        .signer
        .to_sigstore_keypair()
        .unwrap()
        .private_key_to_der()
        .unwrap();
    let signer = sigstore::crypto::signing_key::SigStoreKeyPair::from_der(&der)
        .unwrap()
        .to_sigstore_signer(&scheme_of(&key.signer))
        .unwrap();
    assert!(
        PrivateKeySigner::new_with_signer(signer)
            .add_constraint(&mut layer)
            .unwrap()
    );
    (layer.raw_data, layer.signature.unwrap())
}

pub fn scheme_of(signer: &sigstore::crypto::SigStoreSigner) -> SigningScheme {
    use sigstore::crypto::SigStoreSigner as S;
    match signer {
        S::ECDSA_P384_SHA384_ASN1(_) => SigningScheme::ECDSA_P384_SHA384_ASN1,
        S::ED25519(_) => SigningScheme::ED25519,
        _ => SigningScheme::ECDSA_P256_SHA256_ASN1,
    }
}

/// Store a signature as cosign does: the `sha256-<hex>.sig` tag of `store`, one simple-signing
/// layer with the signature annotation.
pub fn push_signature(store: &str, subject: &str, payload: Vec<u8>, signature: &str) {
    let tag = format!("{store}:{}.sig", subject.replace(':', "-"));
    let parsed: Reference = tag.parse().unwrap();
    let annotations = BTreeMap::from([(
        "dev.cosignproject.cosign/signature".to_string(),
        signature.to_string(),
    )]);
    let layer = ImageLayer::new(payload, SIMPLE_SIGNING.to_string(), Some(annotations));
    let config = Config::oci_v1(b"{}".to_vec(), None);
    let manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, None);
    runtime()
        .block_on(client().push(&parsed, &[layer], config, &auth_for(store), Some(manifest)))
        .unwrap();
}
