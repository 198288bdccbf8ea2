// Reads a JSON request body under a size cap. Deno.serve has no body-size option, so the cap
// is enforced here: on the declared length first, then on the bytes actually streamed.
import { HttpError } from "./errors.ts";

export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const type = req.headers.get("content-type");
  if (type !== null && !/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
    throw new HttpError(415, "content-type must be application/json");
  }
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    throw new HttpError(413, `body larger than ${maxBytes} bytes`);
  }
  const text = declared !== null ? await req.text() : await readCapped(req, maxBytes);
  if (text.length === 0) throw new HttpError(400, "body is required");
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "body is not valid JSON");
  }
}

async function readCapped(req: Request, maxBytes: number): Promise<string> {
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new HttpError(413, `body larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
