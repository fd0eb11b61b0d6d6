//! Manifests as this stage reads them: an index (OCI or Docker manifest list) whose entries
//! name platforms, or a single image manifest with its layers. Parsing only; what was fetched and
//! whether its digest is right is the client's business.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// `os/architecture[/variant]`, as `docker run --platform` spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for Platform {
    /// What servers run on in CI and on most desks.
    fn default() -> Self {
        Platform {
            os: "linux".to_string(),
            architecture: "amd64".to_string(),
            variant: None,
        }
    }
}

impl Platform {
    pub fn parse(text: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let valid = |s: &&str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        };
        match parts.as_slice() {
            [os, architecture] if parts.iter().all(valid) => Ok(Platform {
                os: os.to_ascii_lowercase(),
                architecture: normalize_architecture(architecture),
                variant: None,
            }),
            [os, architecture, variant] if parts.iter().all(valid) => Ok(Platform {
                os: os.to_ascii_lowercase(),
                architecture: normalize_architecture(architecture),
                variant: Some(variant.to_ascii_lowercase()),
            }),
            _ => Err(format!(
                "`{text}` is not a platform: write `os/architecture` or `os/architecture/variant`, such as `linux/amd64` or `linux/arm/v7`"
            )),
        }
    }

    /// Whether an index entry's platform is this one. An entry without a variant matches a
    /// wanted variant only when none was asked for, as Docker picks.
    fn matches(&self, entry: &EntryPlatform) -> bool {
        entry.os.eq_ignore_ascii_case(&self.os)
            && normalize_architecture(&entry.architecture) == self.architecture
            && match (&self.variant, &entry.variant) {
                (None, _) => true,
                (Some(wanted), Some(given)) => wanted.eq_ignore_ascii_case(given),
                (Some(_), None) => false,
            }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// Docker's aliases for architectures.
fn normalize_architecture(architecture: &str) -> String {
    match architecture.to_ascii_lowercase().as_str() {
        "x86_64" | "x86-64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        other => other.to_string(),
    }
}

/// A descriptor: what a manifest points at.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<EntryPlatform>,
}

#[derive(Debug, Clone, Deserialize)]
struct EntryPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// A manifest's parts that matter here.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(default)]
    pub schema_version: Option<u32>,
    #[serde(default)]
    pub media_type: Option<String>,
    /// Present in an index.
    #[serde(default)]
    pub manifests: Option<Vec<Descriptor>>,
    /// Present in an image manifest.
    #[serde(default)]
    pub layers: Option<Vec<Descriptor>>,
}

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| format!("the manifest is not valid JSON: {e}"))?;
        if manifest.schema_version != Some(2) {
            return Err("the manifest is not schema version 2".to_string());
        }
        if manifest.manifests.is_some() == manifest.layers.is_some() {
            return Err("the manifest is neither an index nor an image manifest".to_string());
        }
        Ok(manifest)
    }

    pub fn is_index(&self) -> bool {
        self.manifests.is_some()
            || self
                .media_type
                .as_deref()
                .is_some_and(|t| INDEX_TYPES.contains(&t))
    }

    /// The entry of an index for `platform`.
    pub fn entry_for(&self, platform: &Platform) -> Option<&Descriptor> {
        self.manifests
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|entry| !INDEX_TYPES.contains(&entry.media_type.as_str()))
            .find(|entry| entry.platform.as_ref().is_some_and(|p| platform.matches(p)))
    }

    /// The platforms an index offers, for a message when the wanted one is missing.
    pub fn platforms(&self) -> Vec<String> {
        self.manifests
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| entry.platform.as_ref())
            .filter(|p| !p.os.is_empty() && p.os != "unknown")
            .map(|p| match &p.variant {
                Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                None => format!("{}/{}", p.os, p.architecture),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{
      "schemaVersion": 2,
      "mediaType": "application/vnd.oci.image.index.v1+json",
      "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:aa", "size": 1,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:bb", "size": 1,
         "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:cc", "size": 1,
         "platform": {"os": "unknown", "architecture": "unknown"}}
      ]
    }"#;

    #[test]
    fn an_index_entry_is_picked_by_platform() {
        let index = Manifest::parse(INDEX.as_bytes()).unwrap();
        assert!(index.is_index());
        let pick = |p: &str| {
            index
                .entry_for(&Platform::parse(p).unwrap())
                .map(|e| e.digest.as_str())
        };
        assert_eq!(pick("linux/amd64"), Some("sha256:bb"));
        assert_eq!(pick("linux/x86_64"), Some("sha256:bb"));
        assert_eq!(pick("linux/arm64"), Some("sha256:aa"));
        assert_eq!(pick("linux/arm64/v8"), Some("sha256:aa"));
        assert_eq!(pick("linux/arm/v7"), None);
        assert_eq!(index.platforms(), ["linux/arm64/v8", "linux/amd64"]);
    }

    #[test]
    fn platforms_are_spelt_as_docker_spells_them() {
        assert_eq!(Platform::default().to_string(), "linux/amd64");
        assert_eq!(
            Platform::parse("linux/arm/v7").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux//v7").is_err());
    }

    #[test]
    fn a_document_that_is_no_manifest_is_refused() {
        assert!(Manifest::parse(b"{\"schemaVersion\": 2}").is_err());
        assert!(Manifest::parse(b"not json").is_err());
        assert!(Manifest::parse(b"{\"schemaVersion\": 1, \"layers\": []}").is_err());
    }
}
