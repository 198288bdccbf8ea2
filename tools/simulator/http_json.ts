// JSON in and out. Every answer, errors included, is a JSON body with an explicit content type.

export type JsonObject = Record<string, unknown>;

// Deno.serve has no body-size cap of its own; the bodies we accept are a few dozen bytes.
const maxBodyBytes = 64 * 1024;
const jsonHeaders = { "content-type": "application/json" };

export function respondJson(status: number, body: unknown, headers?: HeadersInit): Response {
  const response = new Response(JSON.stringify(body), { status, headers: jsonHeaders });
  if (headers !== undefined) {
    for (const [name, value] of new Headers(headers)) response.headers.set(name, value);
  }
  return response;
}

export function respondMessage(status: number, message: string, headers?: HeadersInit): Response {
  return respondJson(status, { message }, headers);
}

export function respondMethodNotAllowed(allowed: string): Response {
  return respondMessage(405, "method not allowed", { allow: allowed });
}

/** The request's JSON object body, or the error response to send instead (400 or 413). */
export async function readJsonObject(request: Request): Promise<JsonObject | Response> {
  const text = await readCappedText(request);
  if (text === null) return respondMessage(413, `body larger than ${maxBodyBytes} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return respondMessage(400, "body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return respondMessage(400, "body must be a JSON object");
  }
  return parsed as JsonObject;
}

/** The body as text, or null (and the rest discarded) once it exceeds maxBodyBytes. */
async function readCappedText(request: Request): Promise<string | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    // HTTP framing guarantees the body is exactly the declared length.
    if (Number(declared) <= maxBodyBytes) return await request.text();
    await request.body?.cancel();
    return null;
  }
  if (request.body === null) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.byteLength;
    // Leaving the loop early cancels the stream, discarding the rest of the body.
    if (total > maxBodyBytes) return null;
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
