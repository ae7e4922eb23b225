import type { Severity } from '../../shared/findings.js';

export interface RuleMeta {
  id: string;
  cwe: string[];
  severity: Severity;
  /** What to do about it; shown to the developer and fed to the reflection step. */
  message: string;
  /** What the rule looks for, for docs and `reflexgen rules`. */
  checks: string;
}

/** A raw hit produced by a language module before it becomes a Finding. */
export interface RuleHit {
  rule: string;
  startLine: number;
  endLine: number;
  /** Replaces the catalog severity where the evidence is stronger or weaker than usual. */
  severity?: Severity;
  /** Extra, site-specific detail appended to the catalog message. */
  detail?: string;
}

const rules: RuleMeta[] = [
  // Python
  {
    id: 'py/path-injection',
    cwe: ['CWE-22'],
    severity: 'error',
    checks: 'request data reaching open/send_file/os file APIs without normpath+startswith, secure_filename or send_from_directory',
    message:
      'Request data is used as a file path. Serve with send_from_directory, pass the name through werkzeug secure_filename, or normalize with os.path.realpath and reject paths that do not startswith the allowed directory.',
  },
  {
    id: 'py/path-join-traversal',
    cwe: ['CWE-22'],
    severity: 'note',
    checks: "a caller's or client's name joined onto a base directory or namespace (os.path.join, \"%s/%s\", base + \"/\" + name) and then used, returned or yielded with no basename, containment check (realpath + startswith/commonpath) or validation",
    message:
      'A name from outside is joined onto a base directory, and a ".." or absolute name in it escapes that base. Reduce it to os.path.basename(name) / secure_filename(name), or resolve the joined path (os.path.realpath) and reject it unless os.path.commonpath([base, path]) == base.',
  },
  {
    id: 'py/tarslip',
    cwe: ['CWE-22'],
    severity: 'error',
    checks: 'tarfile extract/extractall not inside an if that validates members',
    message:
      'Archive members are extracted without validation (tar slip). Iterate getmembers(), skip absolute names and names containing "..", or whose realpath leaves the target, and extract each member inside that check (or use extractall(filter="data") on Python 3.12+).',
  },
  {
    id: 'py/reflected-xss',
    cwe: ['CWE-79'],
    severity: 'error',
    checks: 'request data returned from a Flask route in the response body without escaping',
    message:
      'Request data is written into the HTML response unescaped. Wrap it in markupsafe.escape()/html.escape(), or render it with render_template (autoescaping).',
  },
  {
    id: 'py/jinja2-autoescape-false',
    cwe: ['CWE-79'],
    severity: 'error',
    checks: 'jinja2 Environment/Template created without autoescape or with autoescape=False',
    message:
      'This jinja2 environment does not escape HTML. Pass autoescape=select_autoescape(["html", "xml"]) or autoescape=True.',
  },
  {
    id: 'py/command-injection',
    cwe: ['CWE-78'],
    severity: 'error',
    checks: 'request data reaching os.system/os.popen/subprocess with a command string (shell) without shlex.quote',
    message:
      'Request data reaches a shell command. Pass an argument list to subprocess without shell=True (e.g. subprocess.run(["ls", "--", name])), or quote the value with shlex.quote().',
  },
  {
    id: 'py/sql-injection',
    cwe: ['CWE-89'],
    severity: 'error',
    checks: 'SQL text built by concatenation/%/.format/f-string from request data or function inputs reaching execute()',
    message:
      'SQL is built from untrusted data. Use a parameterized query: cursor.execute("... WHERE email = %s", (email,)), never string formatting.',
  },
  {
    id: 'py/unsafe-deserialization',
    cwe: ['CWE-502'],
    severity: 'error',
    checks: 'pickle/marshal/dill/jsonpickle loads of request data or function inputs',
    message:
      'Untrusted bytes are unpickled, which runs arbitrary code. Exchange data as JSON (json.loads) or another data-only format, or authenticate it (HMAC) before loading.',
  },
  {
    id: 'py/unsafe-yaml-load',
    cwe: ['CWE-502'],
    severity: 'warning',
    checks: 'yaml.load/load_all without SafeLoader, yaml.unsafe_load',
    message: 'yaml.load without SafeLoader can construct arbitrary objects. Use yaml.safe_load(data) or Loader=yaml.SafeLoader.',
  },
  {
    id: 'py/unescaped-html',
    cwe: ['CWE-79'],
    severity: 'warning',
    checks: 'an HTML string built by %/format/f-string/concatenation around values not escaped for HTML, returned, marked safe or written to the response',
    message:
      'HTML is built by string formatting around unescaped values. Build it with markupsafe/django format_html (which escapes the arguments) or escape each value with html.escape()/markupsafe.escape(), or render a template with autoescaping.',
  },
  {
    id: 'py/json-in-html',
    cwe: ['CWE-79', 'CWE-116'],
    severity: 'note',
    checks: 'json.dumps(...) without an HTML-safe encoder (cls=...) passed as a value of a template context (render/render_to_response/render_template)',
    message:
      'JSON put into a page with json.dumps keeps <, > and & as they are, so a value containing "</script><script>..." runs as script. Encode it for HTML (json.dumps(data, cls=DjangoJSONEncoder) does not; use a JSONEncoderForHTML, Django\'s json_script filter, or replace <, > and & with \\u003c, \\u003e, \\u0026).',
  },
  {
    id: 'py/code-injection',
    cwe: ['CWE-94', 'CWE-95'],
    severity: 'error',
    checks: 'request data, or a string built from a caller\'s data, reaching eval/exec/ImageMath.eval',
    message:
      'Untrusted data is evaluated as Python code. Parse it as data instead (ast.literal_eval for literals, json.loads), or dispatch on an allow-list of operations.',
  },
  {
    id: 'py/template-injection',
    cwe: ['CWE-1336', 'CWE-94'],
    severity: 'error',
    checks: 'request data, or a string built from a caller\'s data, used as the template source of render_template_string/jinja2.Template/from_string',
    message:
      'Untrusted data is compiled as a template (server-side template injection runs code). Keep templates constant and pass the data as context: render_template_string("Hello {{ name }}", name=name).',
  },
  {
    id: 'py/open-redirect',
    cwe: ['CWE-601'],
    severity: 'error',
    checks: 'request data used as the target of redirect/HttpResponseRedirect without a host check',
    message:
      'The redirect target comes from the request (open redirect). Redirect only to relative paths or allowed hosts: check it with url_has_allowed_host_and_scheme() (Django) or urlparse(url).netloc == "" before redirecting.',
  },
  {
    id: 'py/ssrf',
    cwe: ['CWE-918'],
    severity: 'error',
    checks: 'request data used as the URL of requests/httpx/urllib calls',
    message:
      'The server fetches a URL taken from the request (server-side request forgery). Map the input to a fixed set of allowed URLs or hosts, and reject internal addresses, before fetching.',
  },
  {
    id: 'py/xxe',
    cwe: ['CWE-611'],
    severity: 'error',
    checks: 'lxml XMLParser(resolve_entities=True/no_network=False), or request data parsed by lxml with its default parser',
    message:
      'The XML parser expands entities (XXE). Use defusedxml, or lxml.etree.XMLParser(resolve_entities=False, no_network=True) passed as parser=.',
  },
  {
    id: 'py/jwt-no-verify',
    cwe: ['CWE-347'],
    severity: 'error',
    checks: 'jwt.decode with verify=False, options={"verify_signature": False} or the "none" algorithm',
    message:
      'The token is decoded without verifying its signature, so anyone can forge it. Pass the key and algorithms=["HS256"] (or your algorithm) and keep signature verification on.',
  },
  {
    id: 'py/hardcoded-credentials',
    cwe: ['CWE-798'],
    severity: 'warning',
    checks: 'password/secret/token/api_key names assigned or passed a non-placeholder string literal',
    message:
      'A credential is hard-coded in source. Read it from the environment or a secret store (os.environ["DB_PASSWORD"]) and rotate the committed value.',
  },
  {
    id: 'py/ldap-injection',
    cwe: ['CWE-90'],
    severity: 'error',
    checks: 'request data in the filter of python-ldap search/search_s/search_ext(_s) or ldap3 Connection.search',
    message: 'Request data is put into an LDAP filter: "*)(uid=*" in it changes what the search matches. Escape each value with ldap.filter.escape_filter_chars() (ldap3: ldap3.utils.conv.escape_filter_chars) or build the filter with ldap.filter.filter_format().',
  },
  {
    id: 'py/xpath-injection',
    cwe: ['CWE-643'],
    severity: 'error',
    checks: 'request data in the expression of lxml xpath()/XPath()/XPathEvaluator, or formatted into an ElementTree find/findall path',
    message: 'Request data is put into an XPath expression, so a quote in it rewrites the query. Pass it as an XPath variable instead: tree.xpath("//user[@name = $name]", name=name).',
  },
  {
    id: 'py/log-injection',
    cwe: ['CWE-117'],
    severity: 'note',
    checks: 'request data passed to logging/logger calls (message or %-arguments) without %r/!r or removing line breaks',
    message: 'Request data is written into a log line as it came: a line break in it forges further log entries. Log it with %r / {!r} or remove \\r and \\n first (value.replace("\\n", "").replace("\\r", "")).',
  },
  {
    id: 'py/weak-hash',
    cwe: ['CWE-327', 'CWE-328', 'CWE-916'],
    severity: 'warning',
    checks: 'hashlib.md5/sha1 (or hashlib.new("md5"/"sha1"), PyCrypto MD5/SHA1) of a password, secret, token or API key, or kept under such a name; usedforsecurity=False is exempt',
    message: 'A credential is hashed with MD5/SHA-1, which is fast and broken: leaked hashes are cracked in minutes. Hash passwords with a slow salted function (hashlib.scrypt, argon2-cffi, bcrypt, werkzeug generate_password_hash) and tokens with SHA-256 or HMAC.',
  },
  {
    id: 'py/weak-cipher',
    cwe: ['CWE-327'],
    severity: 'warning',
    checks: 'DES/3DES/RC2/RC4/Blowfish/CAST/XOR ciphers (PyCrypto/PyCryptodome, cryptography algorithms.*, pyDes) and ECB mode (MODE_ECB, modes.ECB)',
    message: 'This cipher or mode is broken: DES/RC4/Blowfish keys and blocks are too small, and ECB shows patterns of the plaintext. Use AES-GCM or ChaCha20-Poly1305 (cryptography AESGCM / Fernet).',
  },
  {
    id: 'py/insecure-randomness',
    cwe: ['CWE-330', 'CWE-338'],
    severity: 'warning',
    checks: 'random.random/randint/choice/choices/sample/getrandbits... whose value is kept as, passed as or returned from something named like a token, password, secret, nonce, salt, OTP or key',
    message: 'The random module is predictable (its state can be recovered from its output), so a secret made with it can be guessed. Use the secrets module: secrets.token_urlsafe(32), secrets.choice(alphabet), secrets.randbelow(n).',
  },
  {
    id: 'py/nosql-injection',
    cwe: ['CWE-943'],
    severity: 'error',
    checks: 'pymongo/motor/mongoengine queries with request data in $where, a query object taken whole from a JSON request, or a field value from a JSON request (which may be an object like {"$ne": null})',
    message: 'Request data shapes a MongoDB query: an object value such as {"$ne": null} matches every document, and $where runs JavaScript. Check that each value is a str (isinstance(v, str)), build the query from those values, and never put request data into $where.',
  },
  {
    id: 'py/trust-boundary',
    cwe: ['CWE-501'],
    severity: 'note',
    checks: 'request data stored into session[...] directly',
    message: 'Request data is stored in the session, where later code trusts it as the server\'s own state. Validate it (type, range, allow-list) before storing, or keep it out of the session.',
  },
  // C / C++
  {
    id: 'c/missing-null-test',
    cwe: ['CWE-476'],
    severity: 'error',
    checks: 'malloc/calloc/realloc result dereferenced or passed to fgets/fread/memcpy/strcpy... before a NULL test',
    message: 'The allocation may return NULL and is used unchecked. Test it right after allocating: if (p == NULL) { /* handle */ return ...; }',
  },
  {
    id: 'c/unchecked-stream-read',
    cwe: ['CWE-125'],
    severity: 'warning',
    checks: 'a read from a length-tracked stream (Stream_Read_UINT32/Stream_Read/Stream_Seek...) not covered, on every path to it, by a check of the bytes remaining (Stream_GetRemainingLength(s) < n → exit, Stream_CheckAndLogRequiredLength)',
    message: 'This read can run past the end of the received data: no check of the bytes remaining covers it on this path. Check first, e.g. if (Stream_GetRemainingLength(s) < 4) return FALSE; (counting every read up to the next check).',
  },
  {
    id: 'c/out-of-bounds-read',
    cwe: ['CWE-125'],
    severity: 'error',
    checks: 'subscript read by an input/parameter index lacking a dominating lower (>= 0) and upper (< size) check; decrementing loop index not tested by the loop condition',
    message: 'The index is not checked against both bounds before this read. Guard it with if (i >= 0 && i < SIZE) (or make the loop condition test the index) and handle the out-of-range case.',
  },
  {
    id: 'c/out-of-bounds-write',
    cwe: ['CWE-787'],
    severity: 'error',
    checks: 'subscript write by an unchecked index, a <= loop bound, or a decrementing index not tested by the loop condition',
    message: 'The index is not checked against both bounds before this write. Guard it with if (i >= 0 && i < SIZE), use < rather than <= for the loop bound, and test a decrementing index (i > 0) in the loop condition.',
  },
  {
    id: 'c/unchecked-copy-length',
    cwe: ['CWE-805', 'CWE-787'],
    severity: 'warning',
    checks: 'memcpy/memmove/strncpy/read/recv... into (or memcmp/strncmp of) a fixed-size local or global array with a length taken from a parameter, a field of one, or input data, that no condition before the call compares with anything',
    message: 'The length of this copy comes from the caller or the data and is never compared with the destination\'s size. Check it first, e.g. if (len > sizeof buf) return -1;',
  },
  {
    id: 'c/unchecked-fixed-read',
    cwe: ['CWE-125'],
    severity: 'warning',
    checks: 'a byte buffer passed with its length (f(const uint8_t *buf, size_t len)) read at a fixed offset (buf[3], *(buf + 3)) before any test of the length, or read at pos + K past what a test of pos against the length (if (pos + 8 > len) return) covers',
    message: 'This reads a fixed offset of a buffer whose length has not been tested: a shorter input is read past its end. Test the length first, e.g. if (len < 4) return -1;',
  },
  {
    id: 'c/overflow-before-widening',
    cwe: ['CWE-190', 'CWE-681'],
    severity: 'warning',
    checks: 'a multiplication or left shift of 32-bit (or narrower) operands whose result is then stored in, cast to or returned as a 64-bit integer, with no range check of its operands before',
    message: 'This product is computed in 32 bits and overflows before it is widened. Widen an operand first, e.g. (uint64_t)w * h, or check the operands\' range.',
  },
  {
    id: 'c/unchecked-pointer-walk',
    cwe: ['CWE-125'],
    severity: 'warning',
    checks: 'a pointer walked to an end pointer (while (p < end)), or an index walked to a length (while (i < len)), that is advanced and used again inside the loop before any new comparison with the end',
    message: 'The loop tests the pointer (or index) against its end once, then advances and uses it again: the second access can run past the end. Test again before each further access, e.g. if (p >= end) return -1;',
  },
  {
    id: 'c/unbounded-buffer-write',
    cwe: ['CWE-787', 'CWE-120'],
    severity: 'error',
    checks: 'sprintf whose worst-case output exceeds the fixed destination, strcpy/strcat of unbounded input into a fixed buffer, gets',
    message: 'This write can overflow the fixed-size destination. Use snprintf(buf, sizeof buf, ...), strncpy/strlcpy with the buffer size, or fgets instead of gets.',
  },
  {
    id: 'c/integer-overflow',
    cwe: ['CWE-190'],
    severity: 'error',
    checks: 'arithmetic (+, *, +=, *=) on rand()/atoi/scanf/external-function values without a guarding comparison, % or & bound, or widening cast',
    message: 'Arithmetic on an unbounded external value can overflow. Check the operand first (e.g. if (v > INT_MAX - k) { error }), bound it with % or &, or compute in a wider type.',
  },
  {
    id: 'c/alloc-size-overflow',
    cwe: ['CWE-190', 'CWE-680'],
    severity: 'note',
    checks: 'an allocation size that multiplies two run-time values (directly or through a variable) with no overflow guard in the function (a condition dividing a limit by an operand or comparing with *_MAX, or a checked-multiply helper)',
    message: 'The allocation size multiplies run-time values and can wrap around, allocating less than the code then writes. Check first (if (b != 0 && a > SIZE_MAX / b) fail;) or use a checked multiply (calloc(a, b), reallocarray, __builtin_mul_overflow).',
  },
  {
    id: 'c/wrapping-bounds-check',
    cwe: ['CWE-190'],
    severity: 'note',
    checks: 'a bounds check comparing the sum of two run-time values (one a length, offset or position) with a run-time limit, with no overflow-checking helper in the function',
    message: 'This bounds check adds two run-time values before comparing: a large length or offset from the input wraps the sum around and the check passes. Compare one term with what is left instead (if (len > size || off > size - len) fail;) or add with an overflow-checking helper.',
  },
  {
    id: 'c/use-after-free',
    cwe: ['CWE-416'],
    severity: 'error',
    checks: 'a pointer used, dereferenced or passed on after free() on a straight-line path without reassignment',
    message: 'The pointer is used after free(). Finish all uses before freeing, and set it to NULL right after free() so later use is caught.',
  },
  {
    id: 'c/dangling-pointer',
    cwe: ['CWE-416', 'CWE-825'],
    severity: 'note',
    checks: 'free/kfree/... of a field of a parameter (directly or through a local copy of it) with no reset of that field afterwards, outside teardown functions and when the owner is not torn down too',
    message: 'The memory is released but the object that outlives this function still points to it; the next user of that field reads or frees freed memory. Set the field to NULL right after releasing it (or release it in the owner\'s teardown only).',
  },
  {
    id: 'c/path-join-traversal',
    cwe: ['CWE-22'],
    severity: 'note',
    checks: 'a string parameter joined onto a directory (concat_path_file, snprintf "%s/%s", dir + "/" + name) and the path used or returned, with no check of the name in any condition of the function',
    message: 'A name from the caller is joined onto a directory without being checked: ".." or "/" in it reaches files outside that directory. Reject names containing "/" or equal to ".." (or resolve with realpath and check the prefix) before building the path.',
  },
  {
    id: 'c/double-free',
    cwe: ['CWE-415'],
    severity: 'error',
    checks: 'free() of a pointer already freed on a straight-line path',
    message: 'The pointer is freed twice. Free it once and set it to NULL afterwards.',
  },
  {
    id: 'c/sizeof-pointer',
    cwe: ['CWE-467'],
    severity: 'warning',
    checks: 'sizeof of a pointer variable passed as the length of memcpy/memset/strncpy/snprintf/fgets/read...',
    message: 'sizeof of a pointer is the size of the pointer (4 or 8), not of the buffer it points to. Pass the buffer\'s real length (keep it in a variable next to the pointer), or use sizeof on the array itself.',
  },
  {
    id: 'c/format-string',
    cwe: ['CWE-134'],
    severity: 'warning',
    checks: 'printf-family call whose format is a variable and that has no further arguments (printf(buf))',
    message: 'The format string is not a literal: a % in the data reads or writes the stack. Print data with a fixed format: printf("%s", buf) / fputs(buf, stdout).',
  },
  {
    id: 'c/integer-underflow',
    cwe: ['CWE-191'],
    severity: 'error',
    checks: 'subtraction (-, -=, --) on rand()/atoi/scanf/external-function values without a guarding comparison, % or & bound, or widening cast',
    message: 'Subtracting from an unbounded external value can wrap below the type\'s minimum. Check the operand first (e.g. if (v < INT_MIN + k) { error }, or v > 0 before v--), bound it, or compute in a wider type.',
  },
  {
    id: 'c/unchecked-return',
    cwe: ['CWE-252'],
    severity: 'warning',
    checks: 'a privilege or jail call (setuid/setgid/seteuid/setgroups/initgroups/chroot/chdir...) used as a bare statement; an input call (read/fread/recv/fgets/scanf...) used as a bare statement whose target is used afterwards (note)',
    message: 'The result of this call is ignored, so a failure goes unnoticed: the process keeps the privileges or directory it meant to leave, or uses a buffer that was never filled. Test it: if (setuid(uid) != 0) { abort(); } / if (fgets(buf, sizeof buf, fp) == NULL) { handle error }. Cast to (void) only where failure is truly harmless.',
  },
  {
    id: 'c/wrong-return-check',
    cwe: ['CWE-253'],
    severity: 'warning',
    checks: 'a pointer result (fopen/malloc/fgets/getenv/strchr...) compared with < 0, >= 0 or == -1; an int result (open/socket/read/setuid...) compared with NULL; a size_t result (fread/fwrite/strlen) compared < 0; mmap/shmat tested against NULL; fputs/putc compared == 0',
    message: 'The return value is tested against something the function does not return on failure, so the failure passes the test. Compare with the documented failure value: NULL for pointer results, -1 (or < 0) for POSIX int results, MAP_FAILED for mmap, EOF for fputs/putc, and the requested count for fread/fwrite.',
  },
  {
    id: 'c/divide-by-zero',
    cwe: ['CWE-369'],
    severity: 'warning',
    checks: '/ or % (or /=, %=) whose divisor comes from input (scanf, atoi, strtol, atof, rand, getchar...) with no test of it on the path',
    message: 'The divisor comes from input and can be 0, which crashes the program (SIGFPE) or yields inf/NaN. Test it first: if (d == 0) { handle error } (for floating point, fabs(d) > epsilon).',
  },
  {
    id: 'c/numeric-truncation',
    cwe: ['CWE-197'],
    severity: 'warning',
    checks: 'an input value (scanf target, atoi/getchar/rand result) stored or cast into a char or short without a range check; a size (strlen, sizeof arithmetic, size_t variable) stored implicitly into a char or short (note)',
    message: 'A wider value is stored in a narrower type and its high bits are dropped, so the value changes (a large length becomes small, EOF becomes a valid char). Keep the wider type (int, size_t), or check the range first: if (v < SHRT_MIN || v > SHRT_MAX) { handle error }.',
  },
  {
    id: 'c/toctou',
    cwe: ['CWE-367'],
    severity: 'warning',
    checks: 'access()/stat()/lstat() of a path followed in the same function by open/fopen/creat/chmod/chown/unlink/rename of the same path expression',
    message: 'The path is checked and then used by name: between the two calls it can be replaced (e.g. by a symlink), so the check says nothing about the file used. Open first and check the open descriptor (fstat, or open with O_NOFOLLOW | O_CREAT | O_EXCL), or drop privileges instead of calling access().',
  },
  {
    id: 'c/untrusted-search-path',
    cwe: ['CWE-426', 'CWE-427'],
    severity: 'note',
    checks: 'system/popen/execlp/execvp with a literal command whose program is not an absolute path; setenv of PATH/LD_LIBRARY_PATH/LD_PRELOAD or putenv with a value that is not a fixed string; LoadLibrary with a relative name, dlopen with a relative path containing /',
    message: 'The program or library is found through a search path that the environment or the current directory controls, so someone else can choose what runs. Use an absolute path ("/bin/ls", execv rather than execvp), set PATH to a fixed safe value, and load libraries by full path.',
  },
  {
    id: 'c/pointer-subtraction',
    cwe: ['CWE-469'],
    severity: 'note',
    checks: 'subtraction of two pointers set from different arrays (p = a, &a[i], a + n, strchr(a, c))',
    message: 'The two pointers point into different arrays, so their difference is undefined and meaningless as an index or length. Subtract pointers into the same array (e.g. strchr(s, c) - s).',
  },
  {
    id: 'c/assignment-in-condition',
    cwe: ['CWE-481'],
    severity: 'warning',
    checks: 'an assignment of a constant as the tested expression of if/while/for/?: (or an operand of && || ! there), not inside a second pair of parentheses',
    message: 'The condition assigns a constant instead of comparing, so it is always true or always false and the variable is overwritten. Write == (and put the constant first, if (5 == x), to have the compiler catch it).',
  },
  {
    id: 'c/comparison-as-statement',
    cwe: ['CWE-482'],
    severity: 'warning',
    checks: 'a comparison (==, !=, <, >...) used as a statement or as a for-loop initializer/update',
    message: 'This comparison\'s result is discarded: an assignment was probably meant, and the variable keeps its old value. Write = instead of ==.',
  },
  {
    id: 'c/incorrect-operator',
    cwe: ['CWE-480'],
    severity: 'warning',
    checks: '& or | between two comparisons in a condition; the name of a function compared with NULL or 0 (missing call parentheses)',
    message: 'The operator does not do what the test means: & and | evaluate both sides and combine bits (use && and ||), and a function\'s name is its address, never NULL (call it: f() == NULL).',
  },
  // JavaScript / TypeScript
  {
    id: 'js/command-injection',
    cwe: ['CWE-78'],
    severity: 'error',
    checks: 'request data reaching child_process exec/execSync or spawn with shell:true',
    message: 'Request data reaches a shell command. Use execFile/spawn with an argument array and no shell, and validate the value against an allow-list.',
  },
  {
    id: 'js/code-injection',
    cwe: ['CWE-94', 'CWE-95'],
    severity: 'error',
    checks: 'request data reaching eval, Function, vm.runIn*, vm.Script or string setTimeout',
    message: 'Request data is evaluated as code. Never eval input: parse it as data (JSON.parse) or dispatch on an allow-list of operations.',
  },
  {
    id: 'js/path-injection',
    cwe: ['CWE-22'],
    severity: 'error',
    checks: 'req.params/query/body reaching fs reads/writes or res.sendFile/download without path.basename or resolve+startsWith',
    message: 'Request data is used as a file path. Use path.basename(name), or path.resolve(root, name) and reject results that do not startsWith(root + path.sep); or res.sendFile(name, { root }).',
  },
  {
    id: 'js/xss',
    cwe: ['CWE-79'],
    severity: 'error',
    checks: 'request or URL data written to res.send/write/end, innerHTML/outerHTML, document.write without escaping',
    message: 'Untrusted data is written into HTML unescaped. Escape it (escape-html, he.encode, DOMPurify.sanitize), set textContent instead of innerHTML, or use a template engine that escapes.',
  },
  {
    id: 'js/sql-injection',
    cwe: ['CWE-89'],
    severity: 'error',
    checks: 'SQL text built by concatenation or a template literal from request data reaching query/execute/raw/whereRaw/$queryRawUnsafe (mysql, pg, sqlite3, sequelize, knex, prisma)',
    message: 'SQL is built from request data. Pass the values as parameters: db.query("SELECT * FROM users WHERE id = ?", [id]) (pg: $1), knex.raw("... = ?", [id]), or a tagged sql`` template of your driver.',
  },
  {
    id: 'js/nosql-injection',
    cwe: ['CWE-943'],
    severity: 'error',
    checks: 'MongoDB/Mongoose queries (find/findOne/update*/delete*/count...) with request data in $where, or req.body/req.query values (which can be objects like {"$ne": null}) used as the query or its field values',
    message: 'Request data shapes a MongoDB query: an object value such as {"$ne": null} or {"$gt": ""} matches every document, and $where runs JavaScript. Convert values to strings (String(v)) or check typeof v === "string", strip $-keys (mongo-sanitize / express-mongo-sanitize), and never put request data into $where.',
  },
  {
    id: 'js/open-redirect',
    cwe: ['CWE-601'],
    severity: 'error',
    checks: 'request or URL data used as the target of res.redirect/res.location/ctx.redirect, a Location header, or location.href/assign/replace, unless the host is fixed by the program or the target passed an allow-list check',
    message: 'The redirect target comes from the request (open redirect). Redirect only to relative paths that do not start with "//" or to hosts on an allow-list: check new URL(target, base).host against it first.',
  },
  {
    id: 'js/ssrf',
    cwe: ['CWE-918'],
    severity: 'error',
    checks: 'request data as the URL (or url/host option) of fetch, axios, got, request, needle, superagent, http(s).get/request; a note when only the path of a fixed host is from the request',
    message: 'The server fetches a URL taken from the request (server-side request forgery). Map the input to a fixed set of allowed hosts or URLs, build the URL from a fixed origin, and reject private and loopback addresses before fetching.',
  },
  {
    id: 'js/template-injection',
    cwe: ['CWE-1336', 'CWE-94'],
    severity: 'error',
    checks: 'request data compiled as template source by ejs/pug/swig/handlebars/nunjucks/lodash template/doT/mustache render or compile',
    message: 'Request data is compiled as a template (server-side template injection runs code). Keep templates constant and pass the data as context: ejs.render(TEMPLATE, { name }).',
  },
  {
    id: 'js/template-autoescape-off',
    cwe: ['CWE-79', 'CWE-1336'],
    severity: 'warning',
    checks: 'swig/nunjucks/handlebars configured with autoescape: false or noEscape: true',
    message: 'This template engine is configured not to escape HTML, so every value put into a page can inject script. Keep autoescape on and mark only reviewed HTML as safe.',
  },
  {
    id: 'js/log-injection',
    cwe: ['CWE-117'],
    severity: 'note',
    checks: 'request data written by console/logger methods without removing line breaks (replace(/[\\r\\n]/g, ...), JSON.stringify, encodeURIComponent)',
    message: 'Request data is written into a log line as it came: a line break in it forges further log entries. Remove or escape \\r and \\n (value.replace(/[\\r\\n]/g, "")) or log it as JSON.stringify(value).',
  },
  {
    id: 'js/insecure-cookie',
    cwe: ['CWE-614', 'CWE-1004'],
    severity: 'warning',
    checks: 'res.cookie of a session/token-like cookie without httpOnly: true (warning) or secure: true (note); express-session/cookie-session with httpOnly: false (warning) or no secure cookie (note)',
    message: 'A session or credential cookie is set without HttpOnly and/or Secure: script in the page can read it, or it travels over plain HTTP. Set { httpOnly: true, secure: true, sameSite: "lax" } on it.',
  },
  {
    id: 'js/jwt-no-verify',
    cwe: ['CWE-347'],
    severity: 'error',
    checks: 'jsonwebtoken verify/sign with the "none" algorithm, jwt-simple decode(token, key, true); warnings: jwt.decode of a request token in a file that never verifies one, express-jwt/koa-jwt without an algorithms list, verify with a public key and no algorithms list',
    message: 'The token is accepted without a verified signature, so anyone can forge it. Use jwt.verify(token, key, { algorithms: ["HS256"] }) (your algorithm, never "none") before trusting its claims.',
  },
  {
    id: 'js/unsafe-deserialization',
    cwe: ['CWE-502'],
    severity: 'error',
    checks: 'node-serialize unserialize, serialize-to-js deserialize, funcster, cryo of request data (error) or any non-literal data (warning)',
    message: 'This deserializer revives functions, so a crafted payload (an immediately invoked function) runs code on load. Exchange data as JSON (JSON.parse) instead.',
  },
  {
    id: 'js/xxe',
    cwe: ['CWE-611'],
    severity: 'error',
    checks: 'libxmljs/libxmljs2 parseXml/parseXmlString with noent: true',
    message: 'The XML parser substitutes external entities (noent: true), so a document can read local files or reach internal hosts (XXE). Drop noent (the default is false) and do not enable dtdload.',
  },
];

export const RULES: ReadonlyMap<string, RuleMeta> = new Map(rules.map((r) => [r.id, r]));

export function ruleList(): readonly RuleMeta[] {
  return rules;
}
