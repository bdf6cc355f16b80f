//! Attachments' bytes (`blobs`): kept by SHA-256 apart from the case documents, which list only
//! their metadata; `pending` until a server has them.

use super::{sha256_hex, Store};
use crate::document::{CaseEdit, DocKind};
use crate::error::{Error, Result};
use crate::ids::{AttachmentId, CaseId, EntryId, PartyId};
use crate::model::{
    Action, Actor, Attachment, Signature, ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES,
    MAX_SIGNATURE_BYTES, SIGNATURE_TYPES,
};
use crate::rules;
use rusqlite::{params, OptionalExtension};

/// Checks a file offered as an attachment: an accepted type ([`ATTACHMENT_TYPES`]), not empty,
/// at most [`MAX_ATTACHMENT_BYTES`]. Returns the type, trimmed and in lower case.
pub fn check_attachment(mime: &str, size: u64) -> Result<String> {
    let mime = mime.trim().to_ascii_lowercase();
    if !ATTACHMENT_TYPES.contains(&mime.as_str()) {
        let shown = if mime.is_empty() {
            "未知"
        } else {
            mime.as_str()
        };
        let shown_en = if mime.is_empty() {
            "unknown"
        } else {
            mime.as_str()
        };
        return Err(Error::invalid(
            "mime",
            format!(
                "不能附加此类文件（{shown}）：只收 JPEG、PNG、WebP、HEIC 照片或 PDF 文件 \
                 (a file of type {shown_en} cannot be attached: only JPEG, PNG, WebP or HEIC \
                 photos and PDF files)"
            ),
        ));
    }
    if size == 0 {
        return Err(Error::invalid(
            "size",
            "文件是空的，没有内容 (the file is empty)",
        ));
    }
    if size > MAX_ATTACHMENT_BYTES {
        return Err(Error::invalid(
            "size",
            format!(
                "文件过大（{size} 字节），上限为 {} MB (the file is {size} bytes; the limit is \
                 {MAX_ATTACHMENT_BYTES} bytes, {} MiB)",
                MAX_ATTACHMENT_BYTES >> 20,
                MAX_ATTACHMENT_BYTES >> 20
            ),
        ));
    }
    Ok(mime)
}

/// A party's signature as drawn on the touchscreen: the image's type and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureImage {
    pub party: PartyId,
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// Checks a drawn signature: a PNG, JPEG or WebP image whose bytes are what its type says, not
/// empty, at most [`MAX_SIGNATURE_BYTES`]. Returns the type in lower case.
pub fn check_signature_image(mime: &str, bytes: &[u8]) -> Result<String> {
    let mime = mime.trim().to_ascii_lowercase();
    if !SIGNATURE_TYPES.contains(&mime.as_str()) {
        return Err(Error::invalid(
            "signature",
            format!(
                "签名须为 PNG、JPEG 或 WebP 图像 (a signature of type {mime} cannot be kept: a \
                 signature is a PNG, JPEG or WebP image)"
            ),
        ));
    }
    if bytes.is_empty() {
        return Err(Error::invalid(
            "signature",
            "签名是空的 (the signature image is empty)",
        ));
    }
    if bytes.len() as u64 > MAX_SIGNATURE_BYTES {
        return Err(Error::invalid(
            "signature",
            format!(
                "签名图像过大 (the signature image is {} bytes; the limit is {MAX_SIGNATURE_BYTES})",
                bytes.len()
            ),
        ));
    }
    let looks = match mime.as_str() {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => bytes.starts_with(&[0xff, 0xd8, 0xff]),
        _ => bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
    };
    if !looks {
        return Err(Error::invalid(
            "signature",
            format!(
                "签名图像已损坏 (the signature's bytes are not a {mime} image: damaged on the way?)"
            ),
        ));
    }
    Ok(mime)
}

/// Keeps an attachment's bytes, pending upload under `case`. The same bytes may be here
/// already (attached to another case, or received): they are kept once, and keep their state.
fn keep_pending(
    tx: &rusqlite::Transaction<'_>,
    a: &Attachment,
    bytes: &[u8],
    case: &CaseId,
    now_ms: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO blobs(sha256, mime, size, bytes, pending, case_id, added_at)
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6) ON CONFLICT(sha256) DO NOTHING",
        params![
            a.sha256,
            a.mime,
            a.size as i64,
            bytes,
            case.as_str(),
            now_ms
        ],
    )?;
    Ok(())
}

impl Store {
    /// Records 调解成功 with an agreement the parties signed on this device's touchscreen, in
    /// one transaction: each signature's image is kept here like a photo (by SHA-256, pending
    /// upload) and listed by the case in an edit entry, then the step's entry names them in
    /// `agreement.signatures`. If any part is refused (a step the rules do not allow, a
    /// signature of someone not a party, signed twice, or not an image), nothing is kept.
    pub fn resolve_signed(
        &mut self,
        case: &CaseId,
        actor: &Actor,
        mut action: Action,
        signatures: &[SignatureImage],
        now_ms: i64,
    ) -> Result<EntryId> {
        if signatures.is_empty() {
            return self.act(case, actor, action, now_ms);
        }
        if !matches!(
            action,
            Action::Resolve {
                agreement: Some(_),
                ..
            }
        ) {
            return Err(Error::invalid(
                "agreement",
                "签名只能签在调解协议上 (signatures are taken only on a mediation agreement: \
                 resolve the case with one)",
            ));
        }
        let mut doc = self.load_case(case)?;
        let document = doc.read()?;
        let folded = crate::workflow::fold(&document.timeline);
        rules::check_action(
            &self.directory,
            folded.state.as_ref(),
            actor,
            &action,
            now_ms,
        )?;
        let mut images = Vec::with_capacity(signatures.len());
        let mut names = Vec::with_capacity(signatures.len());
        for s in signatures {
            let mime = check_signature_image(&s.mime, &s.bytes)?;
            let sha256 = sha256_hex(&s.bytes);
            if document.attachments.iter().any(|a| a.sha256 == sha256)
                || images.iter().any(|a: &Attachment| a.sha256 == sha256)
            {
                return Err(Error::invalid(
                    "signature",
                    "两份签名是同一图像 (two signatures are the same image: each party signs \
                     for themselves)",
                ));
            }
            let name = document
                .parties
                .iter()
                .find(|p| p.id == s.party)
                .map_or_else(|| s.party.to_string(), |p| p.name.clone());
            let ext = mime.rsplit('/').next().unwrap_or("png");
            let attachment = Attachment {
                id: AttachmentId::generate(),
                name: format!("签名-{name}.{ext}"),
                mime,
                size: s.bytes.len() as u64,
                sha256,
                added_by: actor.person.clone(),
                added_at: now_ms,
            };
            names.push(Signature {
                party: s.party.clone(),
                attachment: attachment.id.clone(),
            });
            images.push(attachment);
        }
        if let Action::Resolve {
            agreement: Some(agreement),
            ..
        } = &mut action
        {
            agreement.signatures = names;
        }
        let mut listed = document.attachments.clone();
        listed.extend(images.iter().cloned());
        rules::check_agreement(&document.parties, &listed, actor, &action)?;
        let before = doc.heads();
        let edit = CaseEdit {
            add_attachments: images.clone(),
            ..CaseEdit::default()
        };
        doc.edit(actor, &edit, now_ms)?;
        let mut document = doc.read()?;
        let folded = crate::workflow::fold(&document.timeline);
        let entry = doc.append(&mut document.timeline, &folded, actor, action, now_ms)?;
        let folded = crate::workflow::fold(&document.timeline);
        let summary = crate::summary::CaseSummary::compute(&document, &folded, &self.directory);
        let key = DocKind::Case.key(case.as_str());
        self.write(|tx| -> Result<()> {
            for (a, s) in images.iter().zip(signatures) {
                keep_pending(tx, a, &s.bytes, case, now_ms)?;
            }
            Self::append_changes(tx, &key, doc.automerge(), &before, true, now_ms)?;
            Self::write_summary(tx, &summary)?;
            Ok(())
        })?;
        Ok(entry)
    }

    /// Attaches a file (a photo of the scene, a scanned agreement) to a case: the bytes are kept
    /// here by their SHA-256, pending upload, and the case lists the attachment in an edit entry
    /// signed by `actor`. Blob, document change, outbox entries and summary are written in one
    /// transaction: if any part fails, nothing is.
    pub fn attach(
        &mut self,
        case: &CaseId,
        actor: &Actor,
        name: &str,
        mime: &str,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<Attachment> {
        let mime = check_attachment(mime, bytes.len() as u64)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::invalid(
                "name",
                "请填写文件名 (the file needs a name)",
            ));
        }
        if name.chars().count() > 200 {
            return Err(Error::invalid(
                "name",
                "文件名过长，最多200个字 (the file name is longer than 200 characters)",
            ));
        }
        rules::check_actor(&self.directory, actor)?;
        let sha256 = sha256_hex(bytes);
        let mut doc = self.load_case(case)?;
        if doc.read()?.attachments.iter().any(|a| a.sha256 == sha256) {
            return Err(Error::invalid(
                "attachment",
                "这个文件已附在本案件中 (this file is already attached to the case)",
            ));
        }
        let attachment = Attachment {
            id: AttachmentId::generate(),
            name: name.to_owned(),
            mime,
            size: bytes.len() as u64,
            sha256,
            added_by: actor.person.clone(),
            added_at: now_ms,
        };
        let before = doc.heads();
        let edit = CaseEdit {
            add_attachments: vec![attachment.clone()],
            ..CaseEdit::default()
        };
        doc.edit(actor, &edit, now_ms)?;
        let summary = self.summarise(&doc)?;
        let key = DocKind::Case.key(case.as_str());
        self.write(|tx| -> Result<()> {
            keep_pending(tx, &attachment, bytes, case, now_ms)?;
            Self::append_changes(tx, &key, doc.automerge(), &before, true, now_ms)?;
            Self::write_summary(tx, &summary)?;
            Ok(())
        })?;
        Ok(attachment)
    }

    /// An attachment's bytes and type, if they are on this device.
    pub fn blob(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT mime, bytes FROM blobs WHERE sha256 = ?1",
                [sha256.to_ascii_lowercase()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Attachments attached here that no server has acknowledged yet, with the case each was
    /// attached to (a case held here, whose document lists it): (sha256, case id), oldest first.
    pub fn pending_blobs(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT b.sha256, b.case_id FROM blobs b JOIN cases c ON c.id = b.case_id
             WHERE b.pending = 1 ORDER BY b.added_at, b.sha256",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Records that a server has stored an attachment's bytes: it is no longer pending.
    pub fn mark_blob_sent(&mut self, sha256: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE blobs SET pending = 0 WHERE sha256 = ?1",
                [sha256.to_ascii_lowercase()],
            )
        })?;
        Ok(())
    }

    /// Keeps an attachment's bytes received from elsewhere (a device's upload on a server, a
    /// download on a device), not pending. The bytes must hash to `sha256` and be an acceptable
    /// attachment ([`check_attachment`]); a mismatch is refused and nothing is stored. Storing
    /// bytes already held changes nothing. Returns whether they were new here.
    pub fn put_blob(
        &mut self,
        sha256: &str,
        mime: &str,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<bool> {
        let mime = check_attachment(mime, bytes.len() as u64)?;
        let expected = sha256.trim().to_ascii_lowercase();
        let actual = sha256_hex(bytes);
        if actual != expected {
            return Err(Error::invalid(
                "sha256",
                format!(
                    "内容与SHA-256不符：应为 {expected}，实为 {actual} \
                     (the content's SHA-256 is {actual}, not {expected})"
                ),
            ));
        }
        let n = self.write(|tx| {
            tx.execute(
                "INSERT INTO blobs(sha256, mime, size, bytes, pending, case_id, added_at)
                 VALUES (?1, ?2, ?3, ?4, 0, NULL, ?5) ON CONFLICT(sha256) DO NOTHING",
                params![expected, mime, bytes.len() as i64, bytes, now_ms],
            )
        })?;
        Ok(n == 1)
    }
}
