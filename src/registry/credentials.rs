//! Registry credentials, found where Docker keeps them: `config.json` under `DOCKER_CONFIG` or
//! `~/.docker` (`auths`, `credsStore`, `credHelpers`, running `docker-credential-*` helpers).
//! Nothing here logs or reports a secret; without credentials the pull is anonymous, and
//! registries such as Docker Hub and GHCR then hand out anonymous bearer tokens.

use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;

/// The credentials for a registry host (as oci-client resolves it: `index.docker.io` for Docker
/// Hub), or anonymous access when the user has none or they cannot be read.
pub fn registry_auth(registry: &str) -> RegistryAuth {
    for key in config_keys(registry) {
        match docker_credential::get_credential(&key) {
            Ok(DockerCredential::UsernamePassword(user, password)) => {
                return RegistryAuth::Basic(user, password);
            }
            // An identity token is an OAuth refresh token; oci-client has no flow that trades
            // it for an access token, so the pull goes on anonymously.
            Ok(DockerCredential::IdentityToken(_)) => return RegistryAuth::Anonymous,
            Err(CredentialRetrievalError::NoCredentialConfigured) => continue,
            Err(_) => return RegistryAuth::Anonymous,
        }
    }
    RegistryAuth::Anonymous
}

/// The keys `docker login` may have stored a registry's credentials under.
fn config_keys(registry: &str) -> Vec<String> {
    if matches!(
        registry,
        "index.docker.io" | "docker.io" | "registry-1.docker.io"
    ) {
        return vec!["https://index.docker.io/v1/".to_string()];
    }
    vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_credentials_live_under_the_v1_url() {
        assert_eq!(
            config_keys("index.docker.io"),
            ["https://index.docker.io/v1/"]
        );
        assert_eq!(config_keys("ghcr.io")[0], "ghcr.io");
    }
}
