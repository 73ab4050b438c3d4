// Checkpoints: JSON metadata plus named f32 tensors in one file, written
// atomically (temp file, fsync, rename) and verified by SHA-256 on load.
//
// Layout, little-endian:
//   0   magic "FNASCKPT" (8 bytes)
//   8   u32 format version
//   12  u32 metaBytes      JSON metadata, UTF-8
//   16  u32 tableBytes     JSON tensor table: [{ name, offset, length }],
//                          offset and length in f32 elements from data start
//   20  u32 padBytes       zeros so the data starts 4-byte aligned
//   24  u64 dataBytes
//   32  meta | table | pad | f32 data | sha256 of every byte before it (32)

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { endianness } from "node:os";
import { basename, dirname, join } from "node:path";

export const CHECKPOINT_MAGIC = "FNASCKPT";
export const CHECKPOINT_VERSION = 1;
const HEADER_BYTES = 32;
const SUM_BYTES = 32;

export interface Checkpoint {
  readonly meta: unknown;
  readonly tensors: Record<string, Float32Array>;
}

/** A checkpoint file is unreadable, damaged or of another format version. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}

interface TableEntry {
  readonly name: string;
  readonly offset: number; // f32 elements from the start of the data
  readonly length: number; // f32 elements
}

function checkHost(): void {
  // NOTE: tensors are written as the host's raw Float32Array bytes.
  if (endianness() !== "LE") throw new CheckpointError("checkpoints need a little-endian host");
}

const FS_CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a part of the path is a file, not a directory",
};

/**
 * Writes `ckpt` to `path` atomically: readers see the old file or the new
 * one. A full disk or an unwritable directory is reported in words, naming
 * the checkpoint and saying whether an earlier one is intact.
 */
export async function saveCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  const had = existsSync(path);
  try {
    await writeCheckpoint(path, ckpt);
  } catch (e) {
    const cause = FS_CAUSES[(e as NodeJS.ErrnoException).code ?? ""];
    if (cause === undefined) throw e;
    const left = had ? `the previous ${path} is intact` : `${path} was not written`;
    throw new CheckpointError(`${cause} while writing checkpoint ${path}; ${left}`);
  }
}

async function writeCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  checkHost();
  const parts = encodeParts(ckpt);
  await mkdir(dirname(path), { recursive: true });
  await removeStaleTemps(path);

  const tmp = `${path}.tmp-${process.pid}`;
  const file = await open(tmp, "w");
  try {
    const hash = createHash("sha256");
    for (const part of parts) {
      hash.update(part);
      await file.write(part);
    }
    await file.write(hash.digest());
    await file.sync();
  } catch (e) {
    await file.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await file.close();
  await rename(tmp, path);
  await syncDir(dirname(path));
}

/** Deletes temporaries of `path` left by writers that were killed mid-write. */
async function removeStaleTemps(path: string): Promise<void> {
  const prefix = `${basename(path)}.tmp-`;
  for (const name of await readdir(dirname(path))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    await unlink(join(dirname(path), name)).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

// The rename is durable only once the directory entry is on disk.
async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r").catch(() => null);
  if (d === null) return;
  await d.sync().catch(() => undefined); // some filesystems refuse: best effort
  await d.close();
}

// Header, meta, table, pad, then each tensor's bytes (not copied).
function encodeParts(ckpt: Checkpoint): Uint8Array[] {
  const metaJson = JSON.stringify(ckpt.meta ?? null);
  if (metaJson === undefined) throw new CheckpointError("checkpoint meta is not JSON-serialisable");
  const table: TableEntry[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(ckpt.tensors)) {
    if (!(t instanceof Float32Array)) {
      throw new CheckpointError(`tensor "${name}" is not a Float32Array`);
    }
    table.push({ name, offset, length: t.length });
    offset += t.length;
  }

  const meta = Buffer.from(metaJson, "utf8");
  const tab = Buffer.from(JSON.stringify(table), "utf8");
  const padBytes = (4 - ((HEADER_BYTES + meta.length + tab.length) % 4)) % 4;
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(CHECKPOINT_MAGIC, 0, "latin1");
  header.writeUInt32LE(CHECKPOINT_VERSION, 8);
  header.writeUInt32LE(meta.length, 12);
  header.writeUInt32LE(tab.length, 16);
  header.writeUInt32LE(padBytes, 20);
  header.writeBigUInt64LE(BigInt(offset * 4), 24);

  const data = Object.values(ckpt.tensors).map(
    (t) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength),
  );
  return [header, meta, tab, new Uint8Array(padBytes), ...data];
}

/** Reads a checkpoint, verifying magic, version, size and checksum. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  checkHost();
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new CheckpointError(`${path}: cannot read checkpoint (${why})`);
  }
  const fail = (why: string): never => {
    throw new CheckpointError(`${path}: ${why}`);
  };

  const h = readHeader(buf, fail);
  const body = buf.subarray(0, buf.length - SUM_BYTES);
  const sum = createHash("sha256").update(body).digest();
  if (!sum.equals(buf.subarray(buf.length - SUM_BYTES))) {
    fail("checksum mismatch: the checkpoint is corrupted");
  }
  return decodeBody(buf, h, fail);
}

interface Header {
  readonly metaBytes: number;
  readonly tableBytes: number;
  readonly padBytes: number;
  readonly dataBytes: number;
}

function readHeader(buf: Buffer, fail: (why: string) => never): Header {
  if (buf.length < HEADER_BYTES) {
    fail(`truncated: ${buf.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  }
  if (buf.toString("latin1", 0, 8) !== CHECKPOINT_MAGIC) {
    fail(`not a checkpoint: bad magic (expected "${CHECKPOINT_MAGIC}")`);
  }
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) {
    fail(`checkpoint format version ${version}, this build reads version ${CHECKPOINT_VERSION}`);
  }

  const h = {
    metaBytes: buf.readUInt32LE(12),
    tableBytes: buf.readUInt32LE(16),
    padBytes: buf.readUInt32LE(20),
    dataBytes: Number(buf.readBigUInt64LE(24)),
  };
  const expected = HEADER_BYTES + h.metaBytes + h.tableBytes + h.padBytes + h.dataBytes + SUM_BYTES;
  if (buf.length !== expected) {
    const what = buf.length < expected ? "truncated" : "trailing bytes";
    fail(`${what}: header implies ${expected} bytes, file has ${buf.length}`);
  }
  return h;
}

function decodeBody(buf: Buffer, h: Header, fail: (why: string) => never): Checkpoint {
  let at = HEADER_BYTES;
  const meta = JSON.parse(buf.toString("utf8", at, at + h.metaBytes)) as unknown;
  at += h.metaBytes;
  const table = JSON.parse(buf.toString("utf8", at, at + h.tableBytes)) as TableEntry[];
  at += h.tableBytes + h.padBytes;

  const entries = table.map((e): [string, Float32Array] => {
    if (e.offset < 0 || (e.offset + e.length) * 4 > h.dataBytes) {
      fail(`tensor "${e.name}" [${e.offset}, +${e.length}) lies outside the data`);
    }
    // A copy: aligned, and independent of the file buffer.
    const start = buf.byteOffset + at + e.offset * 4;
    return [e.name, new Float32Array(buf.buffer.slice(start, start + e.length * 4))];
  });
  return { meta, tensors: Object.fromEntries(entries) };
}
