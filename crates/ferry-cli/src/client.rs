//! Talking to a ferry server: where it is, the token, JSON requests and error bodies.

use anyhow::{anyhow, bail, Context, Result};
use ferry_server::data_dir::DataDir;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::PathBuf;

/// Where the server is and how to authenticate, resolved from flags, environment and
/// the local data dir (in that order).
#[derive(Clone, Debug)]
pub struct Connection {
    pub base: String,
    pub token: Option<String>,
}

pub struct Client {
    http: reqwest::Client,
    connection: Connection,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// An error the server answered with.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl Connection {
    pub fn resolve(
        server: Option<String>,
        token: Option<String>,
        data_dir: Option<PathBuf>,
    ) -> Self {
        let data = DataDir::new(data_dir.unwrap_or_else(DataDir::default_root));
        let base = server
            .or_else(|| {
                data.read_server_info()
                    .map(|info| format!("http://{}", info.api))
            })
            .unwrap_or_else(|| "http://127.0.0.1:7070".to_string());
        let base = if base.contains("://") {
            base
        } else {
            format!("http://{base}")
        };
        let token = token.or_else(|| {
            std::fs::read_to_string(data.token_file())
                .ok()
                .map(|t| t.trim().to_string())
        });
        Self {
            base: base.trim_end_matches('/').to_string(),
            token,
        }
    }
}

impl Client {
    pub fn new(connection: Connection) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .context("cannot create the HTTP client")?;
        Ok(Self { http, connection })
    }

    pub fn base(&self) -> &str {
        &self.connection.base
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let url = format!("{}/api/v1{path}", self.connection.base);
        let builder = self.http.request(method, url);
        match &self.connection.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Sends and checks the status; errors carry the server's message.
    pub async fn send(&self, builder: RequestBuilder) -> Result<Response> {
        let response = builder.send().await.map_err(|err| {
            if err.is_connect() {
                anyhow!(
                    "cannot reach a ferry server at {}: is `ferry server` running? (set --server or FERRY_SERVER for another one)",
                    self.connection.base
                )
            } else {
                anyhow!(err).context(format!("request to {} failed", self.connection.base))
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => {
                let mut message = body.message;
                if status == StatusCode::UNAUTHORIZED && self.connection.token.is_none() {
                    message.push_str(" (no token found: set FERRY_TOKEN or --token)");
                }
                Err(ApiError {
                    status,
                    code: body.code,
                    message,
                }
                .into())
            }
            Err(_) => bail!("server answered {status}: {}", text.trim()),
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self.send(self.request(Method::GET, path)).await?;
        decode(response).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let response = self
            .send(self.request(Method::POST, path).json(body))
            .await?;
        decode(response).await
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let response = self
            .send(self.request(Method::PUT, path).json(body))
            .await?;
        decode(response).await
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self.send(self.request(Method::DELETE, path)).await?;
        decode(response).await
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T> {
    let bytes = response
        .bytes()
        .await
        .context("reading the server's answer")?;
    serde_json::from_slice(&bytes)
        .context("the server's answer is not what this ferry expects (version mismatch?)")
}

/// Percent-encodes one path segment (service names are safe already; ids may not be).
pub fn segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
