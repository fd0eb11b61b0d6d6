//! From an image reference as written (`mcp/fetch`, `name:tag`, `name@sha256:…`) to the digest
//! of the one manifest that runs: the reference's own manifest, or the entry of its index for the
//! platform. Every manifest on the way is fetched by the client, which checks its digest.

use super::ResolvedImage;
use super::client::{FetchError, RegistryClient};
use super::manifest::{Manifest, Platform};
use oci_client::Reference;

/// Parse a reference as Docker does: no registry means Docker Hub, one segment means `library/`.
pub fn parse_reference(image: &str) -> Result<Reference, FetchError> {
    image
        .parse::<Reference>()
        .map_err(|e| FetchError::Reference(format!("`{image}`: {e}")))
}

/// The repository as reports name it and payloads are compared with: `registry/repository`,
/// Docker Hub written `docker.io`.
pub fn repository_name(reference: &Reference) -> String {
    let registry = match reference.registry() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    };
    format!("{registry}/{}", reference.repository())
}

pub async fn resolve_image(
    client: &RegistryClient,
    image: &str,
    platform: &Platform,
) -> Result<ResolvedImage, FetchError> {
    let reference = parse_reference(image)?;
    let top = client.fetch_manifest(&reference).await?;
    let manifest = Manifest::parse(&top.bytes).map_err(FetchError::Unusable)?;
    let repository = repository_name(&reference);
    if !manifest.is_index() {
        return Ok(ResolvedImage {
            repository,
            digest: top.digest,
            platform: None,
            index_digest: None,
        });
    }
    let Some(entry) = manifest.entry_for(platform) else {
        let offered = manifest.platforms();
        return Err(FetchError::Unusable(format!(
            "the index {} has no manifest for {platform} (it offers {})",
            top.digest,
            if offered.is_empty() {
                "none".to_string()
            } else {
                offered.join(", ")
            }
        )));
    };
    let by_digest = reference.clone_with_digest(entry.digest.clone());
    let chosen = client.fetch_manifest(&by_digest).await?;
    let inner = Manifest::parse(&chosen.bytes).map_err(FetchError::Unusable)?;
    if inner.is_index() {
        return Err(FetchError::Unusable(format!(
            "the index {} points at another index for {platform}",
            top.digest
        )));
    }
    Ok(ResolvedImage {
        repository,
        digest: chosen.digest,
        platform: Some(platform.to_string()),
        index_digest: Some(top.digest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_short_names_are_spelt_out() {
        let name = |image: &str| repository_name(&parse_reference(image).unwrap());
        assert_eq!(name("mcp/fetch"), "docker.io/mcp/fetch");
        assert_eq!(name("alpine:3.20"), "docker.io/library/alpine");
        assert_eq!(
            name("ghcr.io/github/github-mcp-server:v1"),
            "ghcr.io/github/github-mcp-server"
        );
        assert_eq!(
            name(
                "127.0.0.1:5000/supply-test/a@sha256:0000000000000000000000000000000000000000000000000000000000000000"
            ),
            "127.0.0.1:5000/supply-test/a"
        );
        assert_eq!(
            parse_reference("mcp/fetch").unwrap().resolve_registry(),
            "index.docker.io"
        );
    }

    #[test]
    fn a_malformed_reference_is_refused() {
        assert!(matches!(
            parse_reference("mcp/fetch:bad tag!"),
            Err(FetchError::Reference(_))
        ));
    }
}
