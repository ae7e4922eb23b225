/*
 * Text that came from a repository, a model or an analyzer must never drive the terminal: an
 * escape sequence in a finding message or a knowledge entry could write the clipboard (OSC 52),
 * move the cursor and erase the real verdict, or paint a fake "no security findings". Everything
 * printed goes through these before our own colours are added around it.
 */

// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC (ESC P/X/^/_ ... ST), other
// two-byte escapes, and the 8-bit C1 forms of CSI/OSC.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|$)|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]|\x9d[\s\S]*?(?:\x07|\x9c|$)/g;
// Remaining C0 controls except tab and newline, DEL, C1 controls, and Unicode bidi overrides and
// isolates (they can make code read differently from what it is: "Trojan Source").
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** Keeps newlines and tabs; removes escape sequences and every other control character. */
export function cleanText(s: string): string {
  return s.replace(ESCAPES, '').replace(CONTROLS, (c) => (c === '\r' ? '' : '\uFFFD'));
}

/** One line: also folds newlines and tabs into spaces (file names, rule ids, messages in a table). */
export function cleanLine(s: string): string {
  return cleanText(s).replace(/[\n\t]+/g, ' ');
}
