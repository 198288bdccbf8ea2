// HTTP at the byte level, for tests that must send what a well-behaved client never would
// (a body that stalls, a malformed header) and read whatever comes back.

export interface Reply {
  status: number;
  contentType: string | null;
  body: string;
}

/**
 * Reads text from `conn` until `complete` says so or the connection ends (a failed read counts
 * as its end); returns what arrived.
 */
export async function readUntil(
  conn: Deno.Conn,
  complete: (text: string) => boolean,
): Promise<string> {
  let text = "";
  const buffer = new Uint8Array(8192);
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return text;
    text += new TextDecoder().decode(buffer.subarray(0, n));
    if (complete(text)) return text;
  }
}

/** Writes the request, then reads the answer until its declared content-length is in. */
export async function exchange(
  conn: Deno.Conn,
  write: (conn: Deno.Conn) => Promise<void>,
): Promise<Reply> {
  await write(conn);
  const text = await readUntil(conn, (text) => {
    const end = text.indexOf("\r\n\r\n");
    const length = /content-length: (\d+)/i.exec(text)?.[1];
    return end >= 0 && length !== undefined && text.length >= end + 4 + Number(length);
  });
  const [head, body = ""] = text.split("\r\n\r\n");
  return {
    status: Number(head.split(" ")[1]),
    contentType: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? null,
    body,
  };
}
