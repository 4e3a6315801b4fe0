/*
 * What the package takes from the host where there is one (Node, Deno, Bun), without importing a
 * Node module: the package also runs in browsers, where these are simply absent.
 */

interface ProcessLike {
  readonly env?: Readonly<Record<string, string | undefined>>;
  getBuiltinModule?(name: string): unknown;
}

/** Node's built-in module `name` (`process.getBuiltinModule`, Node 20.16+), or undefined. @internal */
export function builtinModule<T>(name: string): T | undefined {
  const process = (globalThis as { process?: ProcessLike }).process;
  if (typeof process?.getBuiltinModule !== "function") return undefined;
  try {
    return process.getBuiltinModule(name) as T | undefined;
  } catch {
    return undefined;
  }
}

/** The parts of `node:fs` the package uses. @internal */
export interface FileSystem {
  readFileSync(path: string, encoding: "utf8"): string;
  writeFileSync(path: string, data: string): void;
}

/**
 * How a frame names its script: a `file:` URL becomes a path (`file:///home/me/app.js` ->
 * `/home/me/app.js`, `file:///C:/app.js` -> `C:/app.js`), anything else stays as it is.
 * @internal
 */
export function displayFilename(name: string): string {
  if (!name.startsWith("file://")) return name;
  let path = name.slice("file://".length);
  // file://host/share/x (a UNC path) keeps its host; file:///x has an empty one
  if (!path.startsWith("/")) path = `//${path}`;
  try {
    path = decodeURIComponent(path);
  } catch {
    // keep the encoded form
  }
  return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path;
}
