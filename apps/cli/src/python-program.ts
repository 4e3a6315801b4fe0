/*
 * Telling a Python program from another, for `tsmalloc record`: CPython serves most of its
 * objects from pymalloc, which takes memory from malloc 256 KiB at a time, so a recording of a
 * Python program is only worth having under PYTHONMALLOC=malloc, which sends every object to
 * malloc.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { basename, delimiter, join } from "node:path";

/** The names of Python interpreters: python, python3, python3.11, pypy3, ... */
const INTERPRETER = /^(python|pypy)[\d.]*$/;

/**
 * True when `command` (as typed: a name looked up on PATH, or a path) is a Python interpreter by
 * its name, or a script whose `#!` line names one.
 */
export function isPythonCommand(command: string, env: Readonly<Record<string, string | undefined>>): boolean {
  if (INTERPRETER.test(basename(command))) return true;
  const file = command.includes("/") ? command : (env["PATH"] ?? "").split(delimiter).filter((dir) => dir !== "").map((dir) => join(dir, command)).find(readable);
  if (file === undefined) return false;
  const line = firstLine(file);
  return line !== null && line.startsWith("#!") && /\b(python|pypy)[\d.]*\b/.test(line);
}

function readable(path: string): boolean {
  return firstLine(path) !== null;
}

/** The first line of the file (up to 256 bytes); null when it cannot be read. */
function firstLine(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const bytes = Buffer.alloc(256);
    const length = readSync(fd, bytes, 0, bytes.length, 0);
    return bytes.toString("latin1", 0, length).split("\n", 1)[0]!;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
