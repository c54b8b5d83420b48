/**
 * Atomic file writes: write to a temporary file in the same folder, fsync it,
 * then rename it over the target (and fsync the folder). A crash leaves
 * either the old file or the new one, never half of one. Temporary files
 * left by a writer that was killed (its process is gone) are removed by the
 * next write into the same folder. Folders are created one level at a time
 * (never a recursive mkdir, which loops forever under /proc), and
 * `checkWritableDir` proves a folder writable before long work starts.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';

/** A folder or file that cannot be written; the message names it and the reason. */
export class OutputError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'OutputError';
  }
}

const codeOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? String(e);

/** Create `dir` and its missing parents, one level at a time. */
export function makeDir(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const code = codeOf(e);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new OutputError(dir, `cannot create the folder (${code} at ${p})`);
      missing.push(p);
      const parent = dirname(p);
      if (parent === p) break;
      p = parent;
      continue;
    }
    if (!isDir) throw new OutputError(dir, `cannot create the folder: ${p} is a file`);
    break;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      const code = codeOf(e);
      if (code === 'EEXIST' && statSync(m).isDirectory()) continue;
      throw new OutputError(dir, `cannot create the folder (${code} at ${m})`);
    }
  }
}

/**
 * Create `dir` if needed and prove it writable by writing, syncing and
 * removing a probe file (all synchronous; errors name the folder).
 */
export function checkWritableDir(dir: string): void {
  makeDir(dir);
  const probe = join(dir, `.cotangent-probe-${process.pid}-${Math.random().toString(36).slice(2)}`);
  let fd = -1;
  try {
    fd = openSync(probe, 'wx', 0o644);
    writeSync(fd, Buffer.from('ok'));
    fsyncSync(fd);
  } catch (e) {
    throw new OutputError(dir, `the folder is not writable (${codeOf(e)})`);
  } finally {
    if (fd >= 0) closeSync(fd);
    rmSync(probe, { force: true });
  }
}

const TEMP = /^\..+\.tmp-(\d+)-[a-z0-9]+$/;

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return codeOf(e) === 'EPERM';
  }
};

/** Remove temporary files in `dir` left by writers whose process no longer exists. */
export function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = TEMP.exec(n);
    if (m && !alive(Number(m[1]))) rmSync(join(dir, n), { force: true });
  }
}

function fsyncDir(dir: string): void {
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // some file systems cannot fsync a directory; the rename is still atomic
  }
}

/**
 * Write several files in one commit step: every file goes to a synced
 * temporary first, then all are renamed into place in the order given (put
 * the file whose presence marks the set complete last). A failure before the
 * renames leaves every old file untouched and no temporary behind.
 */
export function writeFilesAtomic(files: readonly (readonly [string, Uint8Array | string])[]): void {
  const dirs = [...new Set(files.map(([f]) => dirname(f)))];
  for (const d of dirs) {
    makeDir(d);
    removeStaleTemps(d);
  }
  const temps: string[] = [];
  try {
    for (const [file, data] of files) {
      const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
      temps.push(tmp);
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      const fd = openSync(tmp, 'w', 0o644);
      try {
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    files.forEach(([file], i) => {
      renameSync(temps[i]!, file);
    });
  } catch (e) {
    for (const t of temps) rmSync(t, { force: true });
    throw e;
  }
  for (const d of dirs) fsyncDir(d);
}

/**
 * Write one file atomically (a temporary file in the same folder, fsync, rename): readers see the old file or the new one, never a part.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  writeFilesAtomic([[file, data]]);
}
