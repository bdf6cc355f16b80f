//! One way to reach a server, for every sync client: a phone or desk syncing with its centre,
//! and a centre's server forwarding to the next tier. One HTTP client (rustls, gzip, timeouts),
//! one way to read a refusal ([`Refusal`]), one retry policy.
//!
//! **The retry policy.** A request the server rate-limits (429) is sent again after the wait
//! its `Retry-After` asks (1 to 10 s), at most [`RATE_LIMIT_RETRIES`] times. Any other failure
//! ends the request: no connection is [`SyncError::Offline`]; a refusal of the request as a
//! whole (401, 429 once the retries are spent, 5xx) is [`SyncError::Refused`]; a refusal of
//! what it carries (one document, one attachment) is answered as `Ok(Err(Refusal))` for the
//! caller to set aside and go on. Between failed requests the caller's loop waits with
//! [`super::Backoff`].

use super::SyncError;
use crate::protocol::{
    DirectoryResponse, EnrolRequest, EnrolResponse, ErrorBody, ErrorCode, SyncRequest,
    SyncResponse, PROTOCOL_VERSION,
};
use std::fmt;
use std::time::Duration;

/// How many times a rate-limited request is sent again.
pub const RATE_LIMIT_RETRIES: u32 = 3;

/// How long one attachment's upload or download may take (8 MiB over a weak mobile link).
pub const ATTACHMENT_TIMEOUT: Duration = Duration::from_secs(600);

/// A server's refusal, as its error body says it (or the status and text, when it sent none).
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub code: ErrorCode,
    pub message: String,
    /// The document refused, when the refusal is one document's of an upload.
    pub doc: Option<String>,
}

impl Refusal {
    /// Reads a response that is not a success.
    pub async fn read(resp: reqwest::Response) -> Refusal {
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(b) => Refusal {
                status,
                code: b.error.code,
                message: b.error.message,
                doc: b.error.doc,
            },
            Err(_) => Refusal {
                status,
                code: ErrorCode::Internal,
                message: format!("HTTP {status}: {text}"),
                doc: None,
            },
        }
    }

    /// Whether the request was refused as a whole (its credential, its rate, the server's
    /// trouble) rather than what it carried.
    pub fn is_whole(&self) -> bool {
        self.status == 401 || self.status == 429 || self.status >= 500
    }

    /// The one document of an upload this refuses, if that is what it refuses.
    pub fn document(&self) -> Option<&str> {
        self.doc.as_deref().filter(|_| !self.is_whole())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {:?}: {}", self.status, self.code, self.message)
    }
}

impl From<Refusal> for SyncError {
    fn from(r: Refusal) -> SyncError {
        SyncError::Refused {
            status: r.status,
            code: r.code,
            message: r.message,
        }
    }
}

/// A round trip's answer and what it cost.
#[derive(Debug)]
pub struct Synced {
    pub answer: SyncResponse,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

/// One server, with the credential a client holds for it (none before enrolling).
#[derive(Clone, Debug)]
pub struct Transport {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

fn offline(e: reqwest::Error) -> SyncError {
    SyncError::Offline(e.to_string())
}

impl Transport {
    /// The server at `base` (`http://192.168.1.10:8737`; a trailing `/` is dropped).
    pub fn new(base: &str, token: Option<&str>) -> Transport {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .gzip(true)
            .build()
            .unwrap_or_default();
        Transport {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.map(str::to_owned),
        }
    }

    /// The server's base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The same server with the credential `token`.
    pub fn with_token(&self, token: &str) -> Transport {
        Transport {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-protocol-version", PROTOCOL_VERSION.to_string());
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends the request `make` builds under the retry policy: the response if it is a
    /// success, else the server's refusal.
    async fn send(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Result<reqwest::Response, Refusal>, SyncError> {
        let mut retries = 0;
        loop {
            let resp = make().send().await.map_err(offline)?;
            if resp.status().is_success() {
                return Ok(Ok(resp));
            }
            if resp.status().as_u16() == 429 && retries < RATE_LIMIT_RETRIES {
                retries += 1;
                let wait = crate::protocol::retry_after(
                    resp.headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()),
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            return Ok(Err(Refusal::read(resp).await));
        }
    }

    /// Like [`Transport::send`], with every refusal an error.
    async fn send_ok(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SyncError> {
        Ok(self.send(make).await??)
    }

    /// `POST /v1/enrol`: exchanges a one-time code for a credential.
    pub async fn enrol(&self, request: &EnrolRequest) -> Result<EnrolResponse, SyncError> {
        let resp = self
            .send_ok(|| {
                self.request(reqwest::Method::POST, "/v1/enrol")
                    .json(request)
            })
            .await?;
        resp.json()
            .await
            .map_err(|e| SyncError::Protocol(format!("the answer is not an enrolment: {e}")))
    }

    /// Whether the server answers `GET /healthz` within a few seconds: a cheap probe of the
    /// way to it, for a client that is waiting to try again.
    pub async fn reachable(&self) -> bool {
        self.request(reqwest::Method::GET, "/healthz")
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// `POST /v1/tier/figures`: a lower tier's server sends its figures by day.
    pub async fn send_figures(
        &self,
        request: &crate::protocol::LowerFigures,
    ) -> Result<crate::protocol::LowerFiguresTaken, SyncError> {
        let resp = self
            .send_ok(|| {
                self.request(reqwest::Method::POST, "/v1/tier/figures")
                    .json(request)
            })
            .await?;
        resp.json()
            .await
            .map_err(|e| SyncError::Protocol(format!("the answer is not a receipt: {e}")))
    }

    /// `GET /v1/figures/lower?after=<seq>`: the lower tiers' figures the server kept since
    /// `after`. `Ok(Err(..))` when the server refuses them to this device (not centre staff)
    /// or does not offer them (an older server).
    pub async fn lower_days(
        &self,
        after: i64,
    ) -> Result<Result<crate::protocol::LowerDays, Refusal>, SyncError> {
        let path = format!("/v1/figures/lower?after={after}");
        let resp = match self
            .send(|| self.request(reqwest::Method::GET, &path))
            .await?
        {
            Ok(resp) => resp,
            Err(r) => return Ok(Err(r)),
        };
        Ok(Ok(resp.json().await.map_err(|e| {
            SyncError::Protocol(format!(
                "the answer is not the figures of the tiers below: {e}"
            ))
        })?))
    }

    /// `GET /v1/directory`: the units and people the server knows.
    pub async fn directory(&self) -> Result<DirectoryResponse, SyncError> {
        let resp = self
            .send_ok(|| self.request(reqwest::Method::GET, "/v1/directory"))
            .await?;
        resp.json()
            .await
            .map_err(|e| SyncError::Protocol(e.to_string()))
    }

    /// `POST /v1/sync`: one round trip. A refusal of the request as a whole is an error; one
    /// that names a document of the upload is answered for the caller to set it aside.
    pub async fn sync(&self, request: &SyncRequest) -> Result<Result<Synced, Refusal>, SyncError> {
        let body = serde_json::to_vec(request).map_err(crate::Error::Json)?;
        let bytes_up = body.len() as u64;
        let body = bytes::Bytes::from(body);
        let resp = self
            .send(|| {
                self.request(reqwest::Method::POST, "/v1/sync")
                    .header("content-type", "application/json")
                    .body(body.clone())
            })
            .await?;
        let resp = match resp {
            Ok(r) => r,
            Err(r) if r.document().is_some() => return Ok(Err(r)),
            Err(r) => return Err(r.into()),
        };
        let bytes = resp.bytes().await.map_err(offline)?;
        let answer =
            serde_json::from_slice(&bytes).map_err(|e| SyncError::Protocol(e.to_string()))?;
        Ok(Ok(Synced {
            answer,
            bytes_up,
            bytes_down: bytes.len() as u64,
        }))
    }

    /// `PUT /v1/cases/{case}/attachments/{sha256}`: an attachment's bytes. `Ok(Err(..))` when
    /// the server refuses this attachment; an error when it refuses the request as a whole.
    pub async fn put_attachment(
        &self,
        case: &str,
        sha256: &str,
        mime: &str,
        bytes: bytes::Bytes,
    ) -> Result<Result<(), Refusal>, SyncError> {
        let path = format!("/v1/cases/{case}/attachments/{sha256}");
        match self
            .send(|| {
                self.request(reqwest::Method::PUT, &path)
                    .header("content-type", mime)
                    .timeout(ATTACHMENT_TIMEOUT)
                    .body(bytes.clone())
            })
            .await?
        {
            Ok(_) => Ok(Ok(())),
            Err(r) if r.is_whole() => Err(r.into()),
            Err(r) => Ok(Err(r)),
        }
    }

    /// `GET /v1/cases/{case}/attachments/{sha256}`: an attachment's type and bytes (not yet
    /// checked against the hash). `Ok(Err(..))` when the server refuses this attachment (it
    /// has not the bytes yet, the case does not list it); an error when it refuses the request
    /// as a whole.
    pub async fn get_attachment(
        &self,
        case: &str,
        sha256: &str,
    ) -> Result<Result<(String, Vec<u8>), Refusal>, SyncError> {
        let path = format!("/v1/cases/{case}/attachments/{sha256}");
        let resp = match self
            .send(|| {
                self.request(reqwest::Method::GET, &path)
                    .timeout(ATTACHMENT_TIMEOUT)
            })
            .await?
        {
            Ok(resp) => resp,
            Err(r) if r.is_whole() => return Err(r.into()),
            Err(r) => return Ok(Err(r)),
        };
        let mime = crate::protocol::media_type(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
        );
        let bytes = resp.bytes().await.map_err(offline)?.to_vec();
        Ok(Ok((mime, bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, code: ErrorCode, doc: Option<&str>) -> Refusal {
        Refusal {
            status,
            code,
            message: "说明".to_owned(),
            doc: doc.map(str::to_owned),
        }
    }

    #[test]
    fn a_refusal_names_a_document_only_when_the_request_itself_was_taken() {
        let doc = Some("case:01");
        let one = refusal(422, ErrorCode::WorkflowDenied, doc);
        assert!(!one.is_whole());
        assert_eq!(one.document(), Some("case:01"));
        for (status, code) in [
            (401, ErrorCode::Revoked),
            (429, ErrorCode::RateLimited),
            (503, ErrorCode::Busy),
            (500, ErrorCode::Internal),
        ] {
            let whole = refusal(status, code, doc);
            assert!(whole.is_whole(), "{status}");
            assert_eq!(whole.document(), None, "{status}");
        }
        assert_eq!(refusal(400, ErrorCode::BadJson, None).document(), None);
        let said = refusal(401, ErrorCode::Revoked, None).to_string();
        assert!(said.contains("401") && said.contains("Revoked"), "{said}");
        match SyncError::from(refusal(503, ErrorCode::Busy, None)) {
            e @ SyncError::Refused { status: 503, .. } => assert!(e.is_transient()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_base_address_loses_its_trailing_slash_and_keeps_its_credential() {
        let t = Transport::new("http://192.168.1.10:8737/", None);
        assert_eq!(t.base(), "http://192.168.1.10:8737");
        assert_eq!(t.with_token("t").token.as_deref(), Some("t"));
        assert_eq!(t.token, None);
    }
}
