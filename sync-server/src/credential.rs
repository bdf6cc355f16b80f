//! Credentials at rest: enrolment codes (typed by a person), device tokens, and the keyed hash
//! the server stores instead of either.
//!
//! A code is 16 characters of Crockford's base32 (`0-9A-Z` without I, L, O and U: 80 random
//! bits), shown in groups of four (`7KQ4-M2XD-9HNA-3F0T`) so that it can be read out over a
//! phone. What a person types is normalised: case, spaces and hyphens do not matter, I and L
//! read as 1 and O as 0. A token is `<device id>.<64 hex digits>` (256 random bits).
//!
//! Neither is stored: the server keeps `hmac:<hex HMAC-SHA256(key, value)>`, with a random
//! 256-bit key in `server.key` beside the database (created readable by its owner only, on
//! first open). A copy of the database alone (a backup, a stolen disk image of the database
//! file) therefore does not let anyone test guesses of a code or a token offline. Back the
//! key up with the database: without it every device has to enrol again.
//!
//! Rows written before the key existed hold a bare hex SHA-256 ([`legacy_hash`]) and keep
//! working: a token found in that form is re-stored keyed at its first use
//! ([`crate::db::ServerDb::authenticate`]); an old code (valid 72 hours at most) is tried in
//! its old form too.

use crate::error::{Error, Result};
use app_core::store::{hex, sha256_hex, unhex};
use ring::hmac;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file beside the database that holds the key.
pub const KEY_FILE: &str = "server.key";
/// What a keyed hash starts with, to tell it from a legacy row.
const KEYED: &str = "hmac:";
/// Crockford's base32 alphabet.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code (5 bits each).
pub const CODE_CHARS: usize = 16;

/// The server's secret key for hashing credentials.
pub struct ServerKey(hmac::Key);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

impl ServerKey {
    /// Reads the key kept in `dir`, creating it (mode 0600) if there is none yet. Two processes
    /// starting at once agree on one key: it is written to a temporary file and linked into
    /// place only if no key is there.
    pub fn load_or_create(dir: &Path) -> Result<ServerKey> {
        let path = dir.join(KEY_FILE);
        if !path.exists() {
            create(dir, &path)?;
        }
        let text = std::fs::read_to_string(&path).map_err(|error| Error::File {
            action: "read the server key",
            path: path.clone(),
            error,
        })?;
        let bytes = unhex(text.trim())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| Error::BadServerKey { path: path.clone() })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map_err(|error| Error::File {
                    action: "read the server key",
                    path: path.clone(),
                    error,
                })?
                .permissions()
                .mode()
                & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "the server key is readable by others; chmod 600 it"
                );
            }
        }
        Ok(ServerKey(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// What the server stores for a code (normalised first) or a token.
    pub fn hash(&self, value: &str) -> String {
        let tag = hmac::sign(&self.0, value.as_bytes());
        format!("{KEYED}{}", hex(tag.as_ref()))
    }
}

fn create(dir: &Path, path: &Path) -> Result<()> {
    let cannot = |path: &Path| {
        let path = path.to_owned();
        move |error| Error::File {
            action: "create",
            path,
            error,
        }
    };
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let tmp: PathBuf = dir.join(format!(".{KEY_FILE}.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(cannot(&tmp))?;
    writeln!(file, "{}", hex(&key)).map_err(cannot(&tmp))?;
    file.sync_all().map_err(cannot(&tmp))?;
    drop(file);
    // A hard link does not replace an existing file: if another process won, keep its key.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "server key created");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(cannot(path)(e)),
    }
}

/// Whether a stored hash is in the keyed form.
pub fn is_keyed(stored: &str) -> bool {
    stored.starts_with(KEYED)
}

/// How codes and tokens were stored before the key: unsalted SHA-256, hex.
pub fn legacy_hash(value: &str) -> String {
    sha256_hex(value.as_bytes())
}

/// A new enrolment code: 80 random bits as 16 Crockford base32 characters, `XXXX-XXXX-XXXX-XXXX`.
pub fn new_code() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let mut code = String::with_capacity(CODE_CHARS + 3);
    for i in 0..CODE_CHARS {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(CROCKFORD[rng.gen_range(0..CROCKFORD.len())] as char);
    }
    code
}

/// A code as typed, in the form that is hashed: upper case, no spaces or hyphens, I and L
/// read as 1, O as 0.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        })
        .collect()
}

/// A code as the old (ten-character) codes were normalised before hashing.
pub fn legacy_normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_80_bits_in_four_groups_and_read_back_however_typed() {
        let code = new_code();
        assert_eq!(code.len(), 19, "{code}");
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4);
        assert!(groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| CROCKFORD.contains(&b))));
        // 32 symbols: 5 bits each, 80 in all.
        const { assert!(CROCKFORD.len() == 32 && CODE_CHARS * 5 >= 80) };
        let typed = format!(" {} ", code.to_lowercase().replace('-', " "));
        assert_eq!(normalise_code(&typed), normalise_code(&code));
        assert_eq!(normalise_code("oil0-1"), "01101");
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn the_key_is_made_once_private_and_hashes_differ_from_plain_sha256() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let a = ServerKey::load_or_create(dir.path())?;
        let b = ServerKey::load_or_create(dir.path())?;
        assert_eq!(a.hash("x"), b.hash("x"), "the same key on the second open");
        assert!(is_keyed(&a.hash("x")));
        assert!(!a.hash("x").contains(&legacy_hash("x")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir()?;
        assert_ne!(
            ServerKey::load_or_create(other.path())?.hash("x"),
            a.hash("x"),
            "each server its own key"
        );
        Ok(())
    }
}
