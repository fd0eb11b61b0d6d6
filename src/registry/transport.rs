//! HTTP with a registry, bounded: every body (manifest, blob, referrers index, token, error) is
//! capped while it is read, and a declared length over the cap is refused before reading. A 401
//! is answered once, with the registry's own challenge. Nothing here judges what the bytes mean.

use super::client::FetchError;
use http_auth::parser::ChallengeParser;
use oci_client::Reference;
use oci_client::secrets::RegistryAuth;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode, Url};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Largest answer accepted from a token service; registry tokens are a few kilobytes.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// Largest error body read for the OCI error codes it carries; a longer one is ignored.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// One GET from a repository of a registry: `kind` is `manifests`, `blobs` or `referrers`.
pub struct Get<'a> {
    pub reference: &'a Reference,
    pub kind: &'a str,
    pub id: &'a str,
    pub accept: &'a [&'a str],
    pub credentials: &'a RegistryAuth,
    pub limit: usize,
    /// What is fetched, as errors name it (`manifest registry/repository:tag`).
    pub what: &'a str,
}

/// A successful answer: its headers and its whole body, within the limit.
pub struct Answer {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

pub struct Transport {
    http: reqwest::Client,
    /// Registries spoken to over plain HTTP.
    plain: Vec<String>,
    /// The `Authorization` that a registry last accepted, per registry and repository (a bearer
    /// token's scope is one repository).
    authorizations: Mutex<HashMap<(String, String), HeaderValue>>,
}

impl Transport {
    pub fn new(
        plain: Vec<String>,
        connect: Duration,
        read: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("mcp-audit/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(connect)
            .read_timeout(read)
            .build()?;
        Ok(Transport {
            http,
            plain,
            authorizations: Mutex::new(HashMap::new()),
        })
    }

    pub async fn get(&self, get: &Get<'_>) -> Result<Answer, FetchError> {
        let registry = get.reference.resolve_registry();
        let scheme = if self.plain.iter().any(|p| p == registry) {
            "http"
        } else {
            "https"
        };
        let address = format!(
            "{scheme}://{registry}/v2/{}/{}/{}",
            get.reference.repository(),
            get.kind,
            get.id
        );
        let url = Url::parse(&address)
            .map_err(|e| FetchError::Reference(format!("{}: {address}: {e}", get.what)))?;
        let key = (registry.to_string(), get.reference.repository().to_string());
        let known = self.lock().get(&key).cloned();
        let mut response = self.send(&url, get, known.as_ref()).await?;
        if response.status() == StatusCode::UNAUTHORIZED
            && let Some(authorization) = self.authorize(&response, get).await?
        {
            response = self.send(&url, get, Some(&authorization)).await?;
            if response.status().is_success() {
                self.lock().insert(key, authorization);
            }
        }
        let status = response.status();
        if status == StatusCode::OK {
            let headers = response.headers().clone();
            let body = read_capped(response, get.limit, get.what).await?;
            return Ok(Answer { headers, body });
        }
        // The error body only refines the answer; one too long to read is not needed.
        let body = read_capped(response, MAX_ERROR_BYTES, get.what)
            .await
            .unwrap_or_default();
        Err(status_error(status, &body, get.what))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), HeaderValue>> {
        self.authorizations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    async fn send(
        &self,
        url: &Url,
        get: &Get<'_>,
        authorization: Option<&HeaderValue>,
    ) -> Result<Response, FetchError> {
        let mut request = self.http.get(url.clone());
        if !get.accept.is_empty() {
            request = request.header(ACCEPT, get.accept.join(", "));
        }
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        request
            .send()
            .await
            .map_err(|e| FetchError::Unreachable(format!("{}: {}", get.what, error_chain(&e))))
    }

    /// The `Authorization` that meets the registry's challenge: the user's basic credentials, or
    /// a bearer token from the realm it names. `None` when there is nothing to offer.
    async fn authorize(
        &self,
        response: &Response,
        get: &Get<'_>,
    ) -> Result<Option<HeaderValue>, FetchError> {
        let Some(challenge) = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|h| h.to_str().ok())
        else {
            return Ok(None);
        };
        let mut bearer = None;
        let mut basic = false;
        for challenge in ChallengeParser::new(challenge).flatten() {
            if challenge.scheme.eq_ignore_ascii_case("bearer") {
                let param = |name: &str| {
                    challenge
                        .params
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.to_unescaped())
                };
                bearer = param("realm").map(|realm| (realm, param("service")));
            } else if challenge.scheme.eq_ignore_ascii_case("basic") {
                basic = true;
            }
        }
        match (get.credentials, bearer) {
            (RegistryAuth::Bearer(token), _) => Ok(header(&format!("Bearer {token}"))),
            (credentials, Some((realm, service))) => {
                self.token(&realm, service.as_deref(), credentials, get)
                    .await
            }
            (RegistryAuth::Basic(user, password), None) if basic => {
                Ok(header(&basic_value(user, password)))
            }
            _ => Ok(None),
        }
    }

    /// A pull token for the repository from the registry's token service.
    async fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        credentials: &RegistryAuth,
        get: &Get<'_>,
    ) -> Result<Option<HeaderValue>, FetchError> {
        let denied = |reason: String| FetchError::Denied(format!("{}: {reason}", get.what));
        let mut url =
            Url::parse(realm).map_err(|e| denied(format!("token service `{realm}`: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair(
                "scope",
                &format!("repository:{}:pull", get.reference.repository()),
            );
            if let Some(service) = service {
                query.append_pair("service", service);
            }
        }
        let mut request = self.http.get(url);
        if let RegistryAuth::Basic(user, password) = credentials {
            request = request.header(AUTHORIZATION, basic_value(user, password));
        }
        let response = request.send().await.map_err(|e| {
            FetchError::Unreachable(format!(
                "{}: token service `{realm}`: {}",
                get.what,
                error_chain(&e)
            ))
        })?;
        let status = response.status();
        if status != StatusCode::OK {
            return Err(denied(format!(
                "token service `{realm}` answered HTTP {status}"
            )));
        }
        let what = format!("the token for {} from `{realm}`", get.what);
        let body = read_capped(response, MAX_TOKEN_BYTES, &what).await?;
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&body)
            .map_err(|e| denied(format!("token service `{realm}` answered no token: {e}")))?;
        Ok(token
            .token
            .or(token.access_token)
            .and_then(|t| header(&format!("Bearer {t}"))))
    }
}

/// The body, refused as soon as it is past `limit`: a declared length first, then the bytes
/// as they arrive, so a body that never ends costs at most `limit` and one chunk.
async fn read_capped(
    mut response: Response,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, FetchError> {
    let too_large = |size: u64| FetchError::TooLarge {
        what: what.to_string(),
        size,
        limit,
    };
    if let Some(declared) = response.content_length()
        && declared > limit as u64
    {
        return Err(too_large(declared));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Unreachable(format!("{what}: {}", error_chain(&e))))?
    {
        let size = body.len() + chunk.len();
        if size > limit {
            return Err(too_large(size as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Sort a registry's refusal into the answers the report tells apart, by its status and the
/// OCI error codes of its body.
fn status_error(status: StatusCode, body: &[u8], what: &str) -> FetchError {
    #[derive(serde::Deserialize)]
    struct Envelope {
        errors: Vec<Code>,
    }
    #[derive(serde::Deserialize)]
    struct Code {
        code: String,
    }
    let codes: Vec<String> = serde_json::from_slice::<Envelope>(body)
        .map(|e| e.errors.into_iter().map(|c| c.code).collect())
        .unwrap_or_default();
    let has = |names: &[&str]| codes.iter().any(|c| names.contains(&c.as_str()));
    let text = String::from_utf8_lossy(body);
    let detail = format!("{what}: HTTP {status} {}", first_line(&text));
    let detail = detail.trim_end().to_string();
    if status == StatusCode::NOT_FOUND
        || has(&[
            "MANIFEST_UNKNOWN",
            "NAME_UNKNOWN",
            "BLOB_UNKNOWN",
            "NOT_FOUND",
        ])
    {
        FetchError::NotFound(what.to_string())
    } else if status == StatusCode::TOO_MANY_REQUESTS || has(&["TOOMANYREQUESTS"]) {
        FetchError::Unreachable(format!("{what}: rate limited (HTTP {status})"))
    } else if status.is_server_error() {
        FetchError::Unreachable(detail)
    } else if status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || has(&["UNAUTHORIZED", "DENIED"])
    {
        FetchError::Denied(detail)
    } else {
        FetchError::Unusable(detail)
    }
}

fn header(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(value).ok()
}

fn basic_value(user: &str, password: &str) -> String {
    use base64::Engine;
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {pair}")
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// An error and its causes on one line: reqwest's own message hides why a connection failed.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_sorted_by_status_and_code() {
        let denied: &[u8] = br#"{"errors":[{"code":"DENIED","message":"no"}]}"#;
        let unknown: &[u8] = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}"#;
        let cases = [
            (StatusCode::NOT_FOUND, &b""[..], "NotFound"),
            (StatusCode::BAD_REQUEST, unknown, "NotFound"),
            (StatusCode::BAD_REQUEST, denied, "Denied"),
            (StatusCode::FORBIDDEN, b"", "Denied"),
            (StatusCode::TOO_MANY_REQUESTS, b"", "Unreachable"),
            (StatusCode::BAD_GATEWAY, b"", "Unreachable"),
            (StatusCode::NO_CONTENT, b"", "Unusable"),
        ];
        for (status, body, expected) in cases {
            let error = status_error(status, body, "manifest r/x:1");
            let kind = format!("{error:?}");
            assert!(kind.starts_with(expected), "{status}: {kind}");
        }
    }
}
