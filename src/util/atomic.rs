//! Outputs that appear whole or not at all.
//!
//! - [`AtomicFile`] and [`write_atomic`]: one file, written under a hidden temporary name
//!   beside its final path (`.NAME.tmp-PID`), then renamed.
//! - [`Staging`]: a set of files published together. They are written into a fresh hidden
//!   directory beside the output directory (`.NAME.staging-PID`), which then replaces the
//!   output directory by two renames (the old one aside, the new one in). A kill at any
//!   moment leaves either the previous set or the new one under the final name, never a mix;
//!   a kill between the renames leaves no output directory and the previous set aside, which
//!   the next [`Staging::begin`] puts back.
//!
//! Leftovers of killed processes (temporary files, staging and set-aside directories whose
//! process is gone) are removed by the next writer of the same path.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// `.NAME.KIND-PID` beside `path`.
fn sibling(path: &Path, kind: &str, pid: u32) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{kind}-{pid}"))
}

/// Whether process `pid` is alive (Linux: `/proc/PID`; elsewhere assumed alive unless it is
/// this process's own stale name, which cannot be).
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// The leftovers `.NAME.KIND-PID` beside `path` whose process is gone, with their kind.
fn stale(path: &Path, kinds: &[&str]) -> Vec<(String, PathBuf)> {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let prefix = format!(".{name}.");
    let mut found: Vec<(String, PathBuf)> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let file = e.file_name().to_string_lossy().into_owned();
            let (kind, pid) = file.strip_prefix(&prefix)?.rsplit_once('-')?;
            let pid: u32 = pid.parse().ok()?;
            (kinds.contains(&kind) && !alive(pid)).then(|| (kind.to_string(), e.path()))
        })
        .collect();
    found.sort();
    found
}

fn remove_any(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// A file being written under a temporary name beside its final path; dropped without
/// [`AtomicFile::commit`], it removes its temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates `.NAME.tmp-PID` beside `path` (and the parent directories) for writing;
    /// temporary files left there by killed processes are removed first.
    pub fn create(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        for (_, old) in stale(path, &["tmp"]) {
            let _ = fs::remove_file(old);
        }
        let tmp = sibling(path, "tmp", std::process::id());
        let writer = BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            writer: Some(writer),
        })
    }

    /// Flushes, syncs and renames the file to its final path.
    pub fn commit(mut self) -> io::Result<()> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| io::Error::other("already committed"))?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&self.tmp, &self.path)
    }

    fn writer(&mut self) -> io::Result<&mut BufWriter<File>> {
        self.writer
            .as_mut()
            .ok_or_else(|| io::Error::other("already committed"))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer()?.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer()?.flush()
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Files published together: see the module docs. Dropped without
/// [`Staging::publish`], it removes what it wrote.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    dir: PathBuf,
    published: bool,
}

/// Names whose presence marks a directory as luxsim's output, which a new set may replace
/// (`runs.journal.jsonl`: an unfinished sweep, see `experiment::journal`).
const OUTPUT_MARKERS: [&str; 3] = ["summary.json", "sweep.json", "runs.journal.jsonl"];

/// Whether `file` names the temporary file (`.NAME.tmp-PID`) of a writer that is gone.
fn dead_temp(file: &str) -> bool {
    let Some((head, pid)) = file.strip_prefix('.').and_then(|f| f.rsplit_once('-')) else {
        return false;
    };
    head.ends_with(".tmp") && pid.parse().is_ok_and(|pid| !alive(pid))
}

/// Fails unless `target` is absent, an empty directory, a directory of nothing but killed
/// writers' temporary files (a sweep killed while it wrote its first file) or an earlier
/// luxsim output (one of the marker files), which a new set of outputs may replace.
pub fn check_replaceable(target: &Path) -> io::Result<()> {
    if target.exists() {
        let only_dead_temps = |dir: &Path| -> io::Result<bool> {
            for e in fs::read_dir(dir)? {
                if !dead_temp(&e?.file_name().to_string_lossy()) {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        let is_ours = !target.is_dir()
            || only_dead_temps(target)?
            || OUTPUT_MARKERS.iter().any(|m| target.join(m).exists());
        if !target.is_dir() || !is_ours {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a luxsim output directory (no summary.json or sweep.json); \
                     choose another --out, or remove it",
                    target.display()
                ),
            ));
        }
    }
    Ok(())
}

impl Staging {
    /// Prepares a new set of outputs for directory `target`: tidies what killed writers
    /// left beside it and creates the staging directory. `target` must be absent, empty or
    /// an earlier luxsim output (it holds a `summary.json`, `sweep.json` or sweep journal): a set never
    /// replaces a directory of other files.
    pub fn begin(target: &Path) -> io::Result<Staging> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Some(_) = target.file_name() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} cannot be an output directory: name a directory (e.g. results/run)",
                    target.display()
                ),
            ));
        };
        fs::create_dir_all(&parent)?;
        let leftovers = stale(target, &["staging", "old"]);
        for (kind, path) in &leftovers {
            // A set put aside by a writer killed between its two renames is the newest
            // complete set when nothing replaced it: put it back.
            if kind == "old" && !target.exists() && fs::rename(path, target).is_ok() {
                continue;
            }
            let _ = remove_any(path);
        }
        check_replaceable(target)?;
        let dir = sibling(target, "staging", std::process::id());
        if dir.exists() {
            remove_any(&dir)?;
        }
        fs::create_dir(&dir)?;
        Ok(Staging {
            target: target.to_path_buf(),
            dir,
            published: false,
        })
    }

    /// Where the files of the set are written until [`Staging::publish`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory the set is published as.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Replaces the target directory with the staged set.
    pub fn publish(mut self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()?;
        let aside = sibling(&self.target, "old", std::process::id());
        let had_old = match fs::rename(&self.target, &aside) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        if let Err(e) = fs::rename(&self.dir, &self.target) {
            if had_old {
                let _ = fs::rename(&aside, &self.target);
            }
            return Err(e);
        }
        self.published = true;
        if had_old {
            let _ = fs::remove_dir_all(&aside);
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_appears_before_commit() {
        let dir = std::env::temp_dir().join(format!("luxsim-atomic-{}", std::process::id()));
        let path = dir.join("sub").join("out.txt");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"hello").unwrap();
        assert!(!path.exists());
        f.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        write_atomic(&path, b"again").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"again");
        assert!(!sibling(&path, "tmp", std::process::id()).exists());
        let other = dir.join("sub").join("abandoned.txt");
        let mut f = AtomicFile::create(&other).unwrap();
        f.write_all(b"half").unwrap();
        drop(f);
        assert!(!other.exists());
        assert!(
            !sibling(&other, "tmp", std::process::id()).exists(),
            "dropped: no temp file"
        );
        // A killed writer's temporary file is removed by the next writer.
        let dead = sibling(&path, "tmp", u32::MAX - 1);
        fs::write(&dead, b"half").unwrap();
        write_atomic(&path, b"third").unwrap();
        assert!(!dead.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_staged_set_replaces_the_whole_directory() {
        let root = std::env::temp_dir().join(format!("luxsim-staging-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let out = root.join("run");
        let s = Staging::begin(&out).unwrap();
        fs::write(s.dir().join("summary.json"), b"1").unwrap();
        fs::write(s.dir().join("trace.csv"), b"1").unwrap();
        assert!(!out.exists(), "nothing before publish");
        s.publish().unwrap();
        assert_eq!(files(&out), ["summary.json", "trace.csv"]);
        // The next set replaces it as a whole: no trace.csv of the first generation stays.
        let s = Staging::begin(&out).unwrap();
        fs::write(s.dir().join("summary.json"), b"2").unwrap();
        s.publish().unwrap();
        assert_eq!(files(&out), ["summary.json"]);
        assert_eq!(fs::read(out.join("summary.json")).unwrap(), b"2");
        // Abandoned: the staging directory goes, the published set stays.
        let s = Staging::begin(&out).unwrap();
        fs::write(s.dir().join("summary.json"), b"3").unwrap();
        drop(s);
        assert_eq!(files(&root), ["run"]);
        // A killed writer's leftovers: a staging directory is removed; a set put aside
        // between the renames comes back when no output directory replaced it.
        let dead = u32::MAX - 1;
        fs::create_dir(sibling(&out, "staging", dead)).unwrap();
        fs::rename(&out, sibling(&out, "old", dead)).unwrap();
        let s = Staging::begin(&out).unwrap();
        assert_eq!(
            fs::read(out.join("summary.json")).unwrap(),
            b"2",
            "put back"
        );
        drop(s);
        assert_eq!(files(&root), ["run"]);
        // Never over a directory of other files.
        let foreign = root.join("foreign");
        fs::create_dir_all(&foreign).unwrap();
        fs::write(foreign.join("notes.txt"), b"mine").unwrap();
        let e = Staging::begin(&foreign).unwrap_err();
        assert!(e.to_string().contains("not a luxsim output"), "{e}");
        // A directory a sweep was killed in while it wrote its first file holds only that
        // file's temporary: luxsim's, once its writer is gone, and never while it lives.
        let killed = root.join("killed");
        fs::create_dir_all(&killed).unwrap();
        let journal = killed.join("runs.journal.jsonl");
        fs::write(sibling(&journal, "tmp", std::process::id()), b"{").unwrap();
        assert!(check_replaceable(&killed).is_err(), "a live writer's file");
        fs::remove_file(sibling(&journal, "tmp", std::process::id())).unwrap();
        fs::write(sibling(&journal, "tmp", u32::MAX - 1), b"{").unwrap();
        check_replaceable(&killed).unwrap();
        fs::write(killed.join(".hidden"), b"mine").unwrap();
        assert!(
            check_replaceable(&killed).is_err(),
            "a file of someone else's"
        );
        assert!(Staging::begin(Path::new("/")).is_err());
        fs::remove_dir_all(root).unwrap();
    }
}
