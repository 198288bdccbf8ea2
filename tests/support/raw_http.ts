// HTTP at the byte level, for tests that must send what a well-behaved client never would
// (a body that stalls, a malformed header) and read whatever comes back.

export interface Reply {
  status: number;
  contentType: string | null;
  body: string;
}

/** Writes the request, then reads the answer until its declared content-length is in. */
export async function exchange(
  conn: Deno.Conn,
  write: (conn: Deno.Conn) => Promise<void>,
): Promise<Reply> {
  await write(conn);
  let text = "";
  const buffer = new Uint8Array(8192);
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
    const end = text.indexOf("\r\n\r\n");
    const length = /content-length: (\d+)/i.exec(text)?.[1];
    if (end >= 0 && length !== undefined && text.length >= end + 4 + Number(length)) break;
  }
  const [head, body = ""] = text.split("\r\n\r\n");
  return {
    status: Number(head.split(" ")[1]),
    contentType: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? null,
    body,
  };
}
