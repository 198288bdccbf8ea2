// Reads a JSON request body under a size cap. Deno.serve has no body-size option, so the cap
// is enforced here: on the declared length first, then on the bytes actually streamed.
import { Deadlines } from "../deadlines.ts";
import { HttpError } from "./errors.ts";

/** A body still incomplete after this long is abandoned (408): slow senders hold resources. */
export const bodyDeadlineMs = 5_000;

export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  // Required, not guessed: both challenges' clients send it, and a body of another type (a
  // form, say) that happened to parse as JSON would be read as something it is not.
  const type = req.headers.get("content-type");
  if (type === null || !/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
    throw new HttpError(415, "content-type must be application/json");
  }
  // A declared length bounds what req.text() reads (HTTP/1.1 framing ends the body there), so
  // it must be a plain number within the cap; HAProxy and Deno's server also refuse malformed
  // ones, this check does not rely on either.
  const declared = req.headers.get("content-length");
  if (declared !== null && !/^\d{1,15}$/.test(declared)) {
    throw new HttpError(400, "content-length must be a whole number of bytes");
  }
  if (declared !== null && Number(declared) > maxBytes) {
    throw new HttpError(413, `body larger than ${maxBytes} bytes`);
  }
  const text = await withDeadline(
    declared !== null ? req.text() : readCapped(req, maxBytes),
    bodyDeadlineMs,
  );
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

/** Every body being read, on one timer (src/deadlines.ts says why). */
const readDeadlines = new Deadlines();

function withDeadline(read: Promise<string>, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const deadline = readDeadlines.add(
      ms,
      () => reject(new HttpError(408, `body not received within ${ms} ms`)),
    );
    read.then(
      (text) => {
        readDeadlines.cancel(deadline);
        resolve(text);
      },
      (err) => {
        readDeadlines.cancel(deadline);
        // The client went away mid-body: nobody is left to answer, but it is not our failure.
        reject(err instanceof HttpError ? err : new HttpError(400, "body could not be read"));
      },
    );
  });
}
