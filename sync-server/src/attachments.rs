//! Attachments' bytes (photos of the scene, scanned agreements). A case document lists each
//! attachment's metadata and SHA-256; the bytes come up from the device that attached them (or a
//! child server relaying them, see `forward::blobs`), once the case's change listing them is
//! stored here, and go down to devices (and child servers) that may see the case.
//!
//! The bytes are kept once per content hash in the store's `blobs` table, and reached only
//! through a case: a device may upload or download bytes only under a case it may see (the
//! rule of [`crate::read::may_read`]) that lists an attachment with that hash. An unknown case
//! and a case out of scope get the same answer.

use crate::admission::CaseAttachment;
use crate::db::{Device, ServerDb};
use crate::error::ApiError;
use app_core::ids::CaseId;
use app_core::model::{Attachment, MAX_ATTACHMENT_BYTES};
use app_core::protocol::{AttachmentStored, ErrorCode};

/// A SHA-256 as the path names it: 64 hexadecimal digits, returned in lower case.
pub fn parse_sha(sha: &str) -> Result<String, ApiError> {
    if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha.to_ascii_lowercase())
    } else {
        Err(ApiError::new(
            ErrorCode::BadEncoding,
            format!("`{sha}` is not a SHA-256 (64 hexadecimal digits)"),
        ))
    }
}

/// The entries of case `id` listing an attachment with hash `sha` (lower-case hex), if the
/// device may see the case. Refused: a case not known or not visible (`unknown_doc`), a case
/// that lists no such attachment (`unknown_attachment`).
pub fn listed(
    db: &ServerDb,
    device: &Device,
    id: &str,
    sha: &str,
) -> Result<Vec<Attachment>, ApiError> {
    let key = format!("case:{id}");
    crate::sync::parse_key(&key)?;
    if !crate::read::may_read(db, device, &key)? {
        return Err(crate::read::not_visible(id));
    }
    let view = db
        .store
        .case(&CaseId::new(id))
        .map_err(|e| ApiError::from_core(e, &key))?;
    let listed: Vec<Attachment> = view
        .document
        .attachments
        .into_iter()
        .filter(|a| a.sha256.eq_ignore_ascii_case(sha))
        .collect();
    if listed.is_empty() {
        return Err(ApiError::new(
            ErrorCode::UnknownAttachment,
            format!(
                "case {id} lists no attachment with SHA-256 {sha}; sync the case's changes first"
            ),
        )
        .on(&key));
    }
    Ok(listed)
}

/// The `Content-Type` of an upload (without parameters, in lower case).
pub fn upload_type(headers: &axum::http::HeaderMap) -> Result<String, ApiError> {
    let mime = app_core::protocol::media_type(
        headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    if mime.is_empty() {
        return Err(ApiError::new(
            ErrorCode::BadAttachment,
            "send the file's type as Content-Type (image/jpeg, image/png, image/webp, image/heic \
             or application/pdf)",
        ));
    }
    Ok(mime)
}

/// Checks an upload against what the case lists and what a case takes: the bytes hash to the
/// path's SHA-256 (`hash_mismatch`), and some listing has this type and size, which a case
/// takes (`bad_attachment`). `actual` is the body's SHA-256.
pub fn check_upload(
    listed: &[Attachment],
    id: &str,
    sha: &str,
    actual: &str,
    mime: &str,
    size: u64,
) -> Result<(), ApiError> {
    let key = format!("case:{id}");
    if actual != sha {
        return Err(ApiError::new(
            ErrorCode::HashMismatch,
            format!(
                "the uploaded bytes have SHA-256 {actual}, not {sha}: they are not the attachment \
                 (damaged on the way?); nothing was stored"
            ),
        )
        .on(&key));
    }
    if !listed.iter().any(|a| a.mime.eq_ignore_ascii_case(mime)) {
        let listed_as = &listed[0].mime;
        return Err(ApiError::new(
            ErrorCode::BadAttachment,
            format!(
                "case {id} lists this attachment as {listed_as}, not {mime}; nothing was stored"
            ),
        )
        .on(&key));
    }
    if !listed.iter().any(|a| a.size == size) {
        let listed_size = listed[0].size;
        return Err(ApiError::new(
            ErrorCode::BadAttachment,
            format!(
                "case {id} lists this attachment as {listed_size} bytes, not {size}; nothing was \
                 stored"
            ),
        )
        .on(&key));
    }
    app_core::store::check_attachment(mime, size)
        .map_err(|e| ApiError::new(ErrorCode::BadAttachment, e.to_string()).on(&key))?;
    Ok(())
}

/// The refusal of a body over [`MAX_ATTACHMENT_BYTES`].
pub fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::TooLarge,
        format!(
            "the file is larger than an attachment may be ({MAX_ATTACHMENT_BYTES} bytes, {} MiB); \
             nothing was stored",
            MAX_ATTACHMENT_BYTES >> 20
        ),
    )
}

/// Stores an upload of `attachment`'s bytes (checked by [`check_upload`] first) durably,
/// before the answer. Bytes already here are answered the same (`stored: false`).
pub fn store(
    db: &mut ServerDb,
    attachment: &CaseAttachment,
    mime: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<AttachmentStored, ApiError> {
    let CaseAttachment {
        device,
        case: id,
        sha,
        listed,
    } = attachment;
    let actual = app_core::store::sha256_hex(body);
    check_upload(listed, id, sha, &actual, mime, body.len() as u64)?;
    let key = format!("case:{id}");
    let stored = db
        .store
        .put_blob(sha, mime, body, now_ms)
        .map_err(|e| match e {
            app_core::Error::Invalid { .. } => {
                ApiError::new(ErrorCode::BadAttachment, e.to_string()).on(&key)
            }
            other => ApiError::internal(other),
        })?;
    db.touch(&device.id, now_ms);
    tracing::info!(device = %device.id, case = %id, sha = %sha, size = body.len(), stored, "attachment");
    Ok(AttachmentStored {
        sha256: sha.clone(),
        size: body.len() as u64,
        stored,
    })
}

/// The type and bytes of attachment `sha` of case `id`, if they have reached this server
/// (`not_uploaded` if not yet).
pub fn bytes(db: &ServerDb, id: &str, sha: &str) -> Result<(String, Vec<u8>), ApiError> {
    db.store
        .blob(sha)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotUploaded,
                format!(
                    "the bytes of attachment {sha} of case {id} have not reached the server \
                     yet (the device that attached it has not synced since); try again later"
                ),
            )
            .on(&format!("case:{id}"))
        })
}
