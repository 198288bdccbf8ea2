// Column-aligned plain text. Widths are measured on the plain cell text and styling (color)
// is applied after padding, so escape codes never shift a column.

export type Align = "left" | "right";

/** Wraps an already padded cell, e.g. in color; row index 0 is the header. */
export type CellStyler = (text: string, row: number, column: number) => string;

export function formatTable(
  rows: string[][],
  align: Align[],
  style: CellStyler = (text) => text,
  indent = "  ",
): string[] {
  const widths = align.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((row, r) =>
    indent + align.map((a, c) => {
      const text = row[c] ?? "";
      const padded = a === "right" ? text.padStart(widths[c]) : text.padEnd(widths[c]);
      return style(padded, r, c);
    }).join("  ").trimEnd()
  );
}
