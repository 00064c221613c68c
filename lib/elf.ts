import { closeSync, openSync, readSync } from 'node:fs';

/**
 * ELF files read as data: nothing in them is loaded or run (a file in a
 * project or venv may be anyone's).
 */

const PT_INTERP = 3;

/** Bytes [offset, offset + length) of an open file. */
function readAt(fd: number, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, offset);
  return buffer.subarray(0, read);
}

/**
 * The program interpreter an executable names (PT_INTERP): for a nixpkgs
 * program, its glibc's loader, /nix/store/...-glibc-X/lib/ld-linux-*.so.*.
 * Undefined for a file that is not a little-endian ELF with one.
 */
export function elfInterpreter(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const header = readAt(fd, 0, 64);
    if (header.length < 52 || header.readUInt32BE(0) !== 0x7f454c46 || header[5] !== 1) return undefined;
    const is64 = header[4] === 2;
    const phoff = is64 ? Number(header.readBigUInt64LE(0x20)) : header.readUInt32LE(0x1c);
    const phentsize = header.readUInt16LE(is64 ? 0x36 : 0x2a);
    const phnum = header.readUInt16LE(is64 ? 0x38 : 0x2c);
    const table = readAt(fd, phoff, phentsize * phnum);
    for (let i = 0; i < phnum && (i + 1) * phentsize <= table.length; i++) {
      const entry = table.subarray(i * phentsize);
      if (entry.readUInt32LE(0) !== PT_INTERP) continue;
      const offset = is64 ? Number(entry.readBigUInt64LE(0x08)) : entry.readUInt32LE(0x04);
      const size = is64 ? Number(entry.readBigUInt64LE(0x20)) : entry.readUInt32LE(0x10);
      return readAt(fd, offset, size).toString('latin1').replace(/\0.*$/s, '');
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
