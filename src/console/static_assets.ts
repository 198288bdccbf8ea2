// The console's files: its own page, script and style (src/console/static/), and uPlot's
// script and style served from the installed npm package, read once and kept in memory.
//
// Finding uPlot's files with nodeModulesDir "none": import.meta.resolve on an npm specifier
// returns the file:// URL of the package inside Deno's npm cache (DENO_DIR) once the package
// is installed there, which `deno install` (and `deno install --frozen --entrypoint main.ts`
// in the Dockerfile, which fetches every package deno.lock records) guarantees. If it is not
// installed, resolve hands back the npm: specifier unchanged, and the route answers 503 with
// the command that fixes it.
import { fileURLToPath } from "node:url";

export interface Asset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** Vendor files never change for a pinned version; our own files may change on deploy. */
  immutable: boolean;
}

const own: Record<string, [string, string]> = {
  "/console": ["console.html", "text/html; charset=utf-8"],
  "/console/console.js": ["console.js", "text/javascript; charset=utf-8"],
  "/console/console.css": ["console.css", "text/css; charset=utf-8"],
};

const vendor: Record<string, [string, string]> = {
  "/console/uplot.js": ["uplot/dist/uPlot.iife.min.js", "text/javascript; charset=utf-8"],
  "/console/uplot.css": ["uplot/dist/uPlot.min.css", "text/css; charset=utf-8"],
};

export class MissingPackageError extends Error {
  override name = "MissingPackageError";
}

const loaded = new Map<string, Promise<Asset>>();

export function isAssetPath(path: string): boolean {
  return path in own || path in vendor;
}

/** The asset at `path` (one of isAssetPath's); read from disk on first use only. */
export function loadAsset(path: string): Promise<Asset> {
  let asset = loaded.get(path);
  if (!asset) {
    asset = read(path);
    loaded.set(path, asset);
    // A failed read (package missing) is tried again next time, after `deno install`.
    asset.catch(() => loaded.delete(path));
  }
  return asset;
}

async function read(path: string): Promise<Asset> {
  if (path in own) {
    const [file, contentType] = own[path];
    const body = await Deno.readFile(new URL(`./static/${file}`, import.meta.url));
    return { body, contentType, immutable: false };
  }
  const [specifier, contentType] = vendor[path];
  return { body: await Deno.readFile(resolvePackageFile(specifier)), contentType, immutable: true };
}

/** The path of a file inside an installed npm package (see the comment at the top). */
export function resolvePackageFile(specifier: string): string {
  const resolved = import.meta.resolve(specifier);
  if (!resolved.startsWith("file:")) {
    throw new MissingPackageError(
      `${specifier} is not installed in Deno's npm cache: run \`deno install\``,
    );
  }
  return fileURLToPath(resolved);
}
