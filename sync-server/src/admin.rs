//! Admin operations behind the CLI: importing the directory from CSV files, and setting a
//! unit's early-warning rules from a TOML file.

use crate::db::ServerDb;
use crate::error::{Error, Result};
use app_core::ids::{PersonId, UnitId};
use app_core::org::{Directory, Person, Role, Tier, Unit};
use app_core::taxonomy::CategoryCode;
use app_core::warning::WarningRules;
use std::path::Path;

fn rows(path: &Path, columns: usize) -> Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::File {
        action: "read",
        path: path.to_owned(),
        error,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<String> = line.split(',').map(|c| c.trim().to_owned()).collect();
        if cells.len() != columns {
            return Err(Error::BadImport {
                at: format!("{} line {}", path.display(), i + 1),
                problem: format!("{} columns, expected {columns}", cells.len()),
            });
        }
        out.push(cells);
    }
    Ok(out)
}

/// Adds (or replaces, by id) units from `id,name,tier,parent,centre`.
pub fn import_units(mut db: ServerDb, path: &Path) -> Result<usize> {
    let mut units: Vec<Unit> = db.store.directory().units().cloned().collect();
    let people: Vec<Person> = db.store.directory().people().cloned().collect();
    let rows = rows(path, 5)?;
    for (i, r) in rows.iter().enumerate() {
        let line = i + 2;
        let tier = Tier::from_code(&r[2])
            .ok_or_else(|| bad(line, format!("tier `{}` is not known", r[2])))?;
        let unit = Unit {
            id: UnitId::new(r[0].clone()),
            name: r[1].clone(),
            tier,
            parent: (!r[3].is_empty()).then(|| UnitId::new(r[3].clone())),
            centre: matches!(r[4].as_str(), "1" | "true" | "yes" | "是"),
            policy: None,
            escalate_skip_to: Vec::new(),
            warnings: None,
        };
        // A unit imported again keeps the early-warning rules set on it.
        let warnings = units
            .iter()
            .find(|u| u.id == unit.id)
            .and_then(|u| u.warnings.clone());
        units.retain(|u| u.id != unit.id);
        units.push(Unit { warnings, ..unit });
    }
    let directory = Directory::new(units, people)?;
    db.store.set_directory(directory)?;
    Ok(rows.len())
}

/// Sets `unit`'s early-warning rules (风险预警规则) from a TOML file; devices receive them with
/// the directory. A file with an error is refused with its line named, and the rules in force
/// stay as they were. Returns how many rules are now in force.
pub fn set_warning_rules(mut db: ServerDb, unit: &UnitId, path: &Path) -> Result<usize> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::File {
        action: "read",
        path: path.to_owned(),
        error,
    })?;
    let rules = WarningRules::from_toml(&text).map_err(|e| Error::BadImport {
        at: format!("{} line {}", path.display(), e.line),
        problem: format!("{e} / {}", e.zh()),
    })?;
    let mut units: Vec<Unit> = db.store.directory().units().cloned().collect();
    let people: Vec<Person> = db.store.directory().people().cloned().collect();
    let target = units
        .iter_mut()
        .find(|u| &u.id == unit)
        .ok_or_else(|| Error::BadImport {
            at: path.display().to_string(),
            problem: format!("unit `{unit}` is not in the directory"),
        })?;
    let n = rules.rules.len();
    target.warnings = Some(rules);
    db.store.set_directory(Directory::new(units, people)?)?;
    Ok(n)
}

/// The early-warning alerts (风险预警) the rules in force for `unit` raise over the cases this
/// server holds, at `now_ms`: the same evaluation as on the centre's desks
/// ([`app_core::store::Store::alerts`]), open ones first. Text from devices is escaped.
pub fn alerts(db: &ServerDb, unit: &UnitId, now_ms: i64) -> Result<String> {
    use app_core::terminal::escape;
    use std::fmt::Write as _;
    let Some(u) = db.store.directory().unit(unit) else {
        return Err(Error::BadImport {
            at: "alerts".to_owned(),
            problem: format!("unit `{unit}` is not in the directory"),
        });
    };
    let alerts = db.store.alerts(unit, now_ms)?.alerts;
    let open = alerts.iter().filter(|a| a.acknowledged.is_none()).count();
    let mut out = format!(
        "{} 风险预警：未签收 {open} 条，已签收 {} 条\n",
        u.name,
        alerts.len() - open
    );
    for a in &alerts {
        let _ = write!(
            out,
            "[{}] {}（{} 件）{}",
            a.level.zh(),
            escape(&a.words),
            a.cases.len(),
            a.key
        );
        match &a.acknowledged {
            Some(ack) => {
                let _ = writeln!(out, " 已签收：{} {}", escape(&ack.by), escape(&ack.note));
            }
            None => out.push('\n'),
        }
    }
    Ok(out)
}

/// The early-warning rules in force for `unit`, as TOML (its own, an ancestor's, or the
/// defaults).
pub fn warning_rules(db: &ServerDb, unit: &UnitId) -> Result<String> {
    let dir = db.store.directory();
    if dir.unit(unit).is_none() {
        return Err(Error::BadImport {
            at: "warning-rules".to_owned(),
            problem: format!("unit `{unit}` is not in the directory"),
        });
    }
    Ok(dir.warning_rules(unit).to_toml())
}

/// Adds (or replaces, by id) people from `id,name,unit,roles,specialties,phone`.
pub fn import_people(mut db: ServerDb, path: &Path) -> Result<usize> {
    let units: Vec<Unit> = db.store.directory().units().cloned().collect();
    let mut people: Vec<Person> = db.store.directory().people().cloned().collect();
    let rows = rows(path, 6)?;
    for (i, r) in rows.iter().enumerate() {
        let line = i + 2;
        let roles = r[3]
            .split(';')
            .filter(|s| !s.is_empty())
            .map(|s| {
                Role::from_code(s).ok_or_else(|| bad(line, format!("role `{s}` is not known")))
            })
            .collect::<Result<_>>()?;
        if r[0].contains(':') || r[0].is_empty() {
            return Err(bad(
                line,
                format!("person id `{}` must be non-empty and have no `:`", r[0]),
            ));
        }
        let person = Person {
            id: PersonId::new(r[0].clone()),
            name: r[1].clone(),
            unit: UnitId::new(r[2].clone()),
            roles,
            specialties: r[4]
                .split(';')
                .filter(|s| !s.is_empty())
                .map(CategoryCode::from)
                .collect(),
            phone: (!r[5].is_empty()).then(|| r[5].clone()),
        };
        people.retain(|p| p.id != person.id);
        people.push(person);
    }
    let directory = Directory::new(units, people)?;
    db.store.set_directory(directory)?;
    Ok(rows.len())
}

/// A refusal of the import's line `line`.
fn bad(line: usize, problem: String) -> Error {
    Error::BadImport {
        at: format!("line {line}"),
        problem,
    }
}
