//! The `lock` pipeline: run the scan's stages, then merge what each server showed into the
//! lockfile by the rules of approval. A server seen for the first time is added; one that
//! changed is re-approved only when `--update` names it (or names none); one whose capture
//! failed keeps its old entry; the entries of servers gone from the configs read are dropped.

use crate::finding::{Category, Finding, Location, Severity, make_visible};
use crate::lockfile::compare::{self, Observed, Scope};
use crate::lockfile::{self, LockedServer, Lockfile, LockfileGuard};
use crate::rules::RuleSet;
use crate::scan::{self, LockfileChoice, ScanError, ScanInput};
use std::path::{Path, PathBuf};

/// What `lock` did.
pub struct LockOutcome {
    pub path: PathBuf,
    pub rules: RuleSet,
    /// Whether the file's bytes changed.
    pub written: bool,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    /// Every difference from the old lockfile, approved or not, with its diff.
    pub changes: Vec<Finding>,
    /// Servers that changed and were not re-approved: their old entries stay.
    pub refused: Vec<String>,
    /// Servers that could not be captured, with the findings that say why; their old entries
    /// (if any) stay.
    pub failed: Vec<(String, Vec<Finding>)>,
    /// Everything the scan found, for a warning before anyone approves a poisoned server.
    pub findings: Vec<Finding>,
}

/// Lock the servers of `input`. `update`: `None` approves only new servers, `Some([])` every
/// change, `Some(names)` the changes of those servers.
pub fn lock(
    input: &ScanInput,
    path: Option<&Path>,
    update: Option<&[String]>,
) -> Result<LockOutcome, ScanError> {
    let path = match (path, input.configs.first()) {
        (Some(path), _) => path.to_path_buf(),
        (None, Some(first)) => lockfile::default_path(first),
        (None, None) => return Err(ScanError::NoLockfilePath),
    };
    let scanned = scan::scan(&ScanInput {
        lockfile: LockfileChoice::Ignore,
        ..input.clone()
    })?;
    let observed = scan::observe(
        &path,
        &scanned.configs,
        &scanned.servers,
        &scanned.saved_captures,
    );
    // The lockfile keys a saved capture by its server name, its file's stem: two of one name
    // would be two entries its reader refuses, so none is written.
    for (i, now) in observed.iter().enumerate() {
        if let Some(twin) = observed[..i]
            .iter()
            .find(|o| o.entry.key() == now.entry.key())
        {
            let shown = |o: &Observed| {
                o.location
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            };
            return Err(ScanError::DuplicateServer {
                name: make_visible(&now.entry.name),
                first: shown(twin),
                second: shown(now),
            });
        }
    }
    let inputs = scanned.inputs();
    for name in update.unwrap_or_default() {
        if !observed.iter().any(|o| &o.entry.name == name) {
            return Err(ScanError::UnknownServer(name.clone()));
        }
    }
    let mut outcome = LockOutcome {
        path: path.clone(),
        rules: scanned.rules,
        written: false,
        added: Vec::new(),
        updated: Vec::new(),
        removed: Vec::new(),
        changes: Vec::new(),
        refused: Vec::new(),
        failed: Vec::new(),
        findings: scanned.findings,
    };

    // Held from the read to the rename: a concurrent run waits, then merges into this one's file.
    let guard = LockfileGuard::acquire(&path)?;
    let old = guard.read()?;
    let old_text = old.as_ref().map(Lockfile::to_text);
    let old = old.unwrap_or_else(|| Lockfile::new(Vec::new()));
    let mut entries: Vec<LockedServer> = Vec::new();
    for now in &observed {
        let locked = old.get(now.entry.key());
        if is_uncaptured_container(now) {
            let reasons = why_uncaptured(&outcome.findings, now);
            outcome.failed.push((now.entry.name.clone(), reasons));
            entries.extend(locked.cloned());
            continue;
        }
        let Some(locked) = locked else {
            outcome.added.push(now.entry.name.clone());
            entries.push(now.entry.clone());
            continue;
        };
        let differences = compare::compare_server(locked, now, &outcome.rules);
        if differences.is_empty() {
            entries.push(now.entry.clone());
            continue;
        }
        outcome.changes.extend(differences);
        let approved =
            update.is_some_and(|names| names.is_empty() || names.contains(&now.entry.name));
        if approved {
            outcome.updated.push(now.entry.name.clone());
            entries.push(now.entry.clone());
        } else {
            outcome.refused.push(now.entry.name.clone());
            entries.push(locked.clone());
        }
    }
    let scope = Scope::of(&path, &scanned.configs, !scanned.saved_captures.is_empty());
    for locked in &old.servers {
        if scope.is_gone(locked, &observed) {
            outcome.removed.push(locked.name.clone());
        } else if !observed.iter().any(|o| o.entry.key() == locked.key()) {
            entries.push(locked.clone());
        }
    }
    let new = Lockfile::new(entries);
    if old_text.as_deref() != Some(new.to_text().as_str()) {
        guard.write(&new, &inputs)?;
        outcome.written = true;
    }
    Ok(outcome)
}

/// A container server with no capture: the sandbox or the registry stage failed for it.
fn is_uncaptured_container(now: &Observed) -> bool {
    matches!(
        now.entry.launch,
        Some(lockfile::LockedLaunch::Container { .. })
    ) && now.entry.capture.is_none()
}

/// Why a server was not captured: the capture stage's findings when it ran (the server
/// crashed, hung, spoke no MCP), else the registry stage's serious ones that kept it from
/// running (no such image, a tampered signature). Advice that did not stop it (pinned by tag,
/// unsigned) is the scan's to report, not a reason.
fn why_uncaptured(findings: &[Finding], now: &Observed) -> Vec<Finding> {
    let entry_file = now.location.as_ref().map(|l| l.path.as_str());
    let about: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.server == now.entry.name)
        .filter(|f| {
            f.location
                .as_ref()
                .is_none_or(|l: &Location| Some(l.path.as_str()) == entry_file)
        })
        .collect();
    let capture: Vec<Finding> = about
        .iter()
        .filter(|f| f.category == Category::Capture)
        .map(|f| (*f).clone())
        .collect();
    if !capture.is_empty() {
        return capture;
    }
    about
        .into_iter()
        .filter(|f| f.category == Category::SupplyChain && f.severity >= Severity::High)
        .cloned()
        .collect()
}
