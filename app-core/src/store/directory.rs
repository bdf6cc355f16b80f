//! The directory this store knows (units and people, the `units` and `people` tables): read at
//! open, replaced whole by an administrator or a sync, re-read after another process replaced it.

use super::Store;
use crate::error::{Error, Result};
use crate::org::{Directory, Person, Unit};
use rusqlite::{params, Connection};

fn json_err(e: serde_json::Error) -> Error {
    Error::Json(e)
}

impl Store {
    pub(super) fn read_directory(conn: &Connection) -> Result<Directory> {
        let mut units = Vec::new();
        let mut stmt = conn.prepare("SELECT json FROM units")?;
        for json in stmt.query_map([], |r| r.get::<_, String>(0))? {
            units.push(serde_json::from_str::<Unit>(&json?).map_err(json_err)?);
        }
        let mut people = Vec::new();
        let mut stmt = conn.prepare("SELECT json FROM people")?;
        for json in stmt.query_map([], |r| r.get::<_, String>(0))? {
            people.push(serde_json::from_str::<Person>(&json?).map_err(json_err)?);
        }
        Ok(Directory::new(units, people)?)
    }

    /// Replaces the directory (units and people) and recomputes every summary, since deadlines
    /// depend on the units' policies.
    pub fn set_directory(&mut self, directory: Directory) -> Result<()> {
        self.write(|tx| -> Result<()> {
            tx.execute("DELETE FROM units", [])?;
            tx.execute("DELETE FROM people", [])?;
            for u in directory.units() {
                tx.execute(
                    "INSERT INTO units(id, json) VALUES (?1, ?2)",
                    params![u.id.as_str(), serde_json::to_string(u)?],
                )?;
            }
            for p in directory.people() {
                tx.execute(
                    "INSERT INTO people(id, json) VALUES (?1, ?2)",
                    params![p.id.as_str(), serde_json::to_string(p)?],
                )?;
            }
            tx.execute(
                "INSERT INTO meta(key, value) VALUES ('directory_version', '1')
                 ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                [],
            )?;
            Ok(())
        })?;
        self.directory = std::sync::Arc::new(directory);
        self.reindex()?;
        Ok(())
    }

    /// Counts replacements of the directory (0: never set). Another process that shares the
    /// file (an admin command beside a running server) changes it; see [`Store::reload_directory`].
    pub fn directory_version(&self) -> Result<u64> {
        Ok(self
            .meta("directory_version")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Re-reads the directory from the file (after another process replaced it), and rebuilds
    /// the summaries against it; a replica of a shared log takes the rebuilt summaries from the
    /// log with the directory, from the process that replaced it.
    pub fn reload_directory(&mut self) -> Result<()> {
        self.directory = std::sync::Arc::new(Self::read_directory(&self.conn)?);
        #[cfg(feature = "replication")]
        if self.is_replica() {
            return Ok(());
        }
        self.reindex()?;
        Ok(())
    }
}
