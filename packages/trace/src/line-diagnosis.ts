/*
 * What is wrong with a line the parser's fast path refused: the field that is missing or bad,
 * named as the format's table names it, with the line quoted. Only called once per bad file, so
 * it works on a string and takes its time.
 */

/** The fields of each event, after its letter. */
const FIELDS: Readonly<Record<string, readonly string[]>> = {
  a: ["ID", "SIZE"],
  c: ["ID", "NMEMB", "SIZE"],
  r: ["OLDID", "NEWID", "SIZE"],
  f: ["ID"],
  m: ["ID", "ALIGN", "SIZE"],
};

/** Characters of a line shown in a message; a longer line is cut with "…". */
const QUOTED_CHARS = 60;

/** The line as a message shows it: in double quotes, escapes visible (`"a\t1 100"`), cut when long. */
export function quoteLine(text: string): string {
  return JSON.stringify(text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}…` : text);
}

/** `a ID SIZE`: the shape of an event, for messages. */
export function eventShape(letter: string): string {
  return `${letter} ${FIELDS[letter]!.join(" ")}`;
}

/**
 * Why `text` (one line, without its line end) is not an event: `"r 1 2": SIZE is missing (r
 * OLDID NEWID SIZE)`. Only the line's form is judged (fields and numbers); whether its ids are
 * live is the event rules' business.
 * @returns the reason, or null when the form is right
 */
export function formProblem(text: string): string | null {
  const quoted = quoteLine(text);
  if (text.includes("\t")) return `${quoted}: a tab (fields are separated by one space)`;
  if (text.startsWith(" ")) return `${quoted}: a space before the event letter`;
  const tokens = text.split(" ");
  const head = tokens[0]!;
  const fields = FIELDS[head];
  if (fields === undefined) {
    if (head.length > 1 && FIELDS[head[0]!] !== undefined) return `${quoted}: the event letter ${head[0]} must be followed by a space`;
    return `${quoted}: unknown event ${JSON.stringify(head)} (the events are a, c, r, f and m; # starts a comment)`;
  }
  const shape = `(${eventShape(head)})`;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const token = tokens[i + 1];
    if (token === undefined) return `${quoted}: ${field} is missing ${shape}`;
    if (token === "") {
      return i + 2 === tokens.length ? `${quoted}: ${field} is missing (the line ends with a space) ${shape}` : `${quoted}: two spaces before ${field} (fields are separated by one space)`;
    }
    if (!/^\d+$/.test(token)) return `${quoted}: ${field} ${JSON.stringify(token)} is not a decimal number`;
    if (BigInt(token) > 2n ** 53n) return `${quoted}: ${field} ${token} is larger than 2^53`;
  }
  const last = fields[fields.length - 1]!;
  if (tokens.length > fields.length + 1) {
    const extra = tokens[fields.length + 1]!;
    if (extra === "" && tokens.length === fields.length + 2) return `${quoted}: a space after ${last}, the last field`;
    return `${quoted}: an extra field ${JSON.stringify(extra)} after ${last}, the last field ${shape}`;
  }
  return null;
}
