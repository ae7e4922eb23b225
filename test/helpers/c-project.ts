import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/*
 * A small C project whose bug needs its own header: `main.c` uses `buf` after RELEASE (a macro
 * from include/util.h) freed it, on line 10. gcc and clang see it only with the header found.
 */

export const UTIL_H = '#ifndef UTIL_H\n#define UTIL_H\n#include <stdlib.h>\n#define RELEASE(p) free(p)\n#endif\n';

export const MAIN_C = `#include <stdio.h>
#include <string.h>
#include "util.h"

int main(void) {
    char *buf = malloc(64);
    if (buf == NULL) return 1;
    strcpy(buf, "hello");
    RELEASE(buf);
    printf("%s\\n", buf);
    return 0;
}
`;

/** cppcheck finds the write past the end on line 3. */
export const ARR_C = 'int fill(void) {\n    char b[4];\n    b[4] = 0;\n    return b[0];\n}\n';

/** Includes a header that exists nowhere: no tool can analyze it. */
export const BAD_C = '#include "nothere.h"\nint g(void) { return NOTHERE; }\n';

/** A fresh directory under `parent` holding these files at their relative paths. */
export function treeWith(parent: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(parent, 'repo-'));
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}
