import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * ELF files read as data: nothing in them is loaded or run (a file in a
 * project or venv may be anyone's, and the loader runs code a file names:
 * DT_AUDIT, constructors). Little-endian only, as every platform nixpkgs
 * builds manylinux wheels for.
 */

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

/**
 * Bytes [offset, offset + length) of an open file of `size` bytes: never more
 * than the file holds, whatever sizes its headers claim (a planted file may
 * claim gigabytes).
 */
function readAt(fd: number, size: number, offset: number, length: number): Buffer {
  length = Math.max(0, Math.min(length, size - offset));
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, offset);
  return buffer.subarray(0, read);
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

interface ElfFile {
  fd: number;
  /** Bytes of the file, as readAt takes them. */
  read: (offset: number, length: number) => Buffer;
  is64: boolean;
  /** e_machine: a loader skips a library built for another machine or class. */
  machine: number;
  segments: Segment[];
}

/**
 * Open a regular file and read its program headers; undefined for anything
 * else. A link is followed, as the loader follows `libfoo.so.1 ->
 * libfoo.so.1.2`: reading runs nothing, a FIFO or device is refused without
 * blocking, and readAt never reads past the file.
 */
function openElf(path: string): ElfFile | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a regular file');
    const read = (offset: number, length: number) => readAt(fd, stat.size, offset, length);
    const header = read(0, 64);
    if (header.length < 52 || header.readUInt32BE(0) !== 0x7f454c46 || header[5] !== 1) throw new Error('not little-endian ELF');
    const is64 = header[4] === 2;
    const phoff = is64 ? Number(header.readBigUInt64LE(0x20)) : header.readUInt32LE(0x1c);
    const phentsize = header.readUInt16LE(is64 ? 0x36 : 0x2a);
    const phnum = header.readUInt16LE(is64 ? 0x38 : 0x2c);
    const table = read(phoff, phentsize * phnum);
    const segments: Segment[] = [];
    for (let i = 0; i < phnum && (i + 1) * phentsize <= table.length; i++) {
      const entry = table.subarray(i * phentsize);
      segments.push(
        is64
          ? { type: entry.readUInt32LE(0), offset: Number(entry.readBigUInt64LE(0x08)), vaddr: Number(entry.readBigUInt64LE(0x10)), filesz: Number(entry.readBigUInt64LE(0x20)) }
          : { type: entry.readUInt32LE(0), offset: entry.readUInt32LE(0x04), vaddr: entry.readUInt32LE(0x08), filesz: entry.readUInt32LE(0x10) },
      );
    }
    return { fd, read, is64, machine: header.readUInt16LE(0x12), segments };
  } catch {
    closeSync(fd);
    return undefined;
  }
}

function withElf<T>(path: string, read: (elf: ElfFile) => T): T | undefined {
  const elf = openElf(path);
  if (!elf) return undefined;
  try {
    return read(elf);
  } finally {
    closeSync(elf.fd);
  }
}

/**
 * The program interpreter an executable names (PT_INTERP): for a nixpkgs
 * program, its glibc's loader, /nix/store/...-glibc-X/lib/ld-linux-*.so.*.
 * Undefined for a file that is not a little-endian ELF with one.
 */
export function elfInterpreter(path: string): string | undefined {
  return withElf(path, ({ read, segments }) => {
    const interp = segments.find((segment) => segment.type === PT_INTERP);
    return interp && read(interp.offset, interp.filesz).toString('latin1').replace(/\0.*$/s, '');
  });
}

/** What the dynamic loader reads of a library or extension to find the libraries it needs. */
export interface DynamicSection {
  /** `${class}:${e_machine}`: the loader only takes a library of the same. */
  kind: string;
  /** DT_NEEDED, in order. */
  needed: string[];
  /** DT_RUNPATH entries, `$ORIGIN` unexpanded. */
  runpath: string[];
  /** DT_RPATH entries; the loader ignores them when DT_RUNPATH is present. */
  rpath: string[];
}

/** The dynamic section of an ELF file; undefined for a file that is not one (or has none). */
export function elfDynamic(path: string): DynamicSection | undefined {
  return withElf(path, ({ read, is64, machine, segments }) => {
    const dynamic = segments.find((segment) => segment.type === PT_DYNAMIC);
    if (!dynamic) return undefined;
    const size = is64 ? 16 : 8;
    const table = read(dynamic.offset, dynamic.filesz);
    const entries: Array<[number, number]> = [];
    for (let at = 0; at + size <= table.length; at += size) {
      const tag = is64 ? Number(table.readBigInt64LE(at)) : table.readInt32LE(at);
      if (tag === DT_NULL) break;
      entries.push([tag, is64 ? Number(table.readBigUInt64LE(at + 8)) : table.readUInt32LE(at + 4)]);
    }
    // DT_STRTAB is an address: the PT_LOAD segment holding it gives its place in the file.
    const strtab = entries.find(([tag]) => tag === DT_STRTAB)?.[1];
    const load = segments.find((s) => s.type === PT_LOAD && strtab !== undefined && s.vaddr <= strtab && strtab < s.vaddr + s.filesz);
    if (strtab === undefined || !load) return undefined;
    const base = load.offset + (strtab - load.vaddr);
    const string = (offset: number) => read(base + offset, 4096).toString('latin1').replace(/\0.*$/s, '');
    const values = (wanted: number) => entries.filter(([tag]) => tag === wanted).map(([, value]) => string(value));
    const paths = (wanted: number) => values(wanted).flatMap((value) => value.split(':')).filter(Boolean);
    return { kind: `${is64 ? 64 : 32}:${machine}`, needed: values(DT_NEEDED), runpath: paths(DT_RUNPATH), rpath: paths(DT_RPATH) };
  });
}
