import type { SinkKind } from './taint.js';

/**
 * Rule data: sources, sanitizers, propagators and sinks by qualified name. Names are matched after
 * import aliases are resolved (`from subprocess import call` makes `call` mean `subprocess.call`).
 * A `*.name` entry matches any receiver (method calls on objects whose type we cannot know).
 */

// ---------------------------------------------------------------- Python
export const PY = {
  /** Attributes of the web framework's request object that carry client data. */
  requestAttrs: new Set([
    'args', 'form', 'values', 'json', 'files', 'cookies', 'headers', 'data', 'get_json', 'get_data',
    'view_args', 'GET', 'POST', 'FILES', 'COOKIES', 'META', 'body', 'query_params', 'path_params',
    'query_string', 'stream', 'environ', 'full_path', 'url', 'path',
  ]),
  requestNames: new Set(['request', 'req', 'flask.request', 'bottle.request']),
  /** Calls that return client data on their own. */
  sourceCalls: new Set(['input', 'raw_input']),

  sanitizers: new Map<string, readonly SinkKind[] | 'all'>([
    ['shlex.quote', ['cmd']],
    ['pipes.quote', ['cmd']],
    ['markupsafe.escape', ['xss']],
    ['flask.escape', ['xss']],
    ['html.escape', ['xss']],
    ['cgi.escape', ['xss']],
    ['bleach.clean', ['xss']],
    ['markupsafe.Markup.escape', ['xss']],
    ['django.utils.html.escape', ['xss']],
    ['escape', ['xss']],
    ['werkzeug.utils.secure_filename', ['path']],
    ['werkzeug.secure_filename', ['path']],
    ['secure_filename', ['path']],
    ['flask.safe_join', ['path']],
    ['werkzeug.utils.safe_join', ['path']],
    ['werkzeug.security.safe_join', ['path']],
    ['safe_join', ['path']],
    ['os.path.basename', ['path']],
    ['*.escape_string', ['sql']],
    ['*.escape_identifier', ['sql']],
    ['int', 'all'],
    ['float', 'all'],
    ['bool', 'all'],
    ['len', 'all'],
    ['uuid.UUID', 'all'],
    ['render_template', 'all'],
    ['flask.render_template', 'all'],
    ['json.dumps', ['cmd', 'path', 'sql']],
  ]),
  normalizers: new Set(['os.path.normpath', 'os.path.abspath', 'os.path.realpath', 'posixpath.normpath', '*.resolve', '*.absolute']),
  /** Functions whose result carries the taint of their arguments. */
  propagators: new Set([
    'str', 'repr', 'bytes', 'bytearray', 'list', 'tuple', 'dict', 'sorted', 'reversed',
    'os.path.join', 'posixpath.join', 'os.path.expanduser', 'os.path.dirname', 'os.path.splitext', 'pathlib.Path', 'Path',
    'urllib.parse.unquote', 'urllib.parse.unquote_plus', 'urllib.parse.urljoin', 'base64.b64decode',
    'base64.urlsafe_b64decode', 'json.loads', 'make_response', 'flask.make_response', 'flask.Response', 'Response',
    'django.http.HttpResponse', 'HttpResponse', 'io.BytesIO', 'io.StringIO', 'bytes.fromhex', 'codecs.decode',
  ]),
  /** Methods that carry the receiver's taint (string/dict/bytes methods). */
  propagatingMethods: new Set([
    'strip', 'lstrip', 'rstrip', 'lower', 'upper', 'title', 'capitalize', 'casefold', 'replace', 'split', 'rsplit',
    'splitlines', 'partition', 'encode', 'decode', 'format', 'format_map', 'join', 'get', 'getlist', 'pop',
    'ljust', 'rjust', 'center', 'zfill', 'removeprefix', 'removesuffix', 'translate', 'expandtabs', 'read',
    'items', 'values', 'keys', 'copy', 'joinpath', 'with_name', 'with_suffix', '__str__',
  ]),

  pathSinks: new Map<string, number[]>([
    ['open', [0]], ['io.open', [0]], ['codecs.open', [0]], ['os.open', [0]],
    ['flask.send_file', [0]], ['send_file', [0]],
    ['os.remove', [0]], ['os.unlink', [0]], ['os.rmdir', [0]], ['os.listdir', [0]], ['os.mkdir', [0]],
    ['os.makedirs', [0]], ['os.rename', [0, 1]], ['os.replace', [0, 1]], ['os.chmod', [0]], ['os.stat', [0]],
    ['shutil.rmtree', [0]], ['shutil.copy', [0, 1]], ['shutil.copyfile', [0, 1]], ['shutil.move', [0, 1]],
    ['*.read_text', [-1]], ['*.read_bytes', [-1]], ['*.write_text', [-1]], ['*.write_bytes', [-1]],
    ['*.unlink', [-1]], ['*.save', [0]],
  ]),
  tarOpeners: new Set(['tarfile.open', 'tarfile.TarFile', 'tarfile.TarFile.open', 'TarFile', 'TarFile.open']),

  shellSinks: new Set([
    'os.system', 'os.popen', 'os.popen2', 'os.popen3', 'os.popen4', 'commands.getoutput', 'commands.getstatusoutput',
    'subprocess.getoutput', 'subprocess.getstatusoutput', 'asyncio.create_subprocess_shell', 'pty.spawn',
  ]),
  /** Take a command that is an argument list unless shell=True. */
  processSinks: new Set([
    'subprocess.call', 'subprocess.run', 'subprocess.Popen', 'subprocess.check_output', 'subprocess.check_call',
  ]),

  sqlMethods: new Set(['execute', 'executemany', 'executescript', 'raw', 'read_sql', 'read_sql_query', 'mogrify']),

  pickleSinks: new Set([
    'pickle.loads', 'pickle.load', 'cPickle.loads', 'cPickle.load', '_pickle.loads', '_pickle.load', 'dill.loads',
    'dill.load', 'marshal.loads', 'marshal.load', 'jsonpickle.decode', 'shelve.open', 'pandas.read_pickle',
    'pd.read_pickle', 'torch.load', 'joblib.load',
  ]),
  yamlLoads: new Set(['yaml.load', 'yaml.load_all']),
  yamlUnsafe: new Set(['yaml.unsafe_load', 'yaml.unsafe_load_all', 'yaml.full_load', 'yaml.full_load_all']),

  jinjaCtors: new Set(['jinja2.Environment', 'jinja2.Template', 'jinja2.environment.Environment']),
};

// ---------------------------------------------------------------- Credentials (shared by languages)
/** Name ends in a credential word: `db_password`, `apiKey`, `SECRET_KEY`; not `password_field`. */
export const CREDENTIAL_NAME =
  /(^|_)(password|passwd|passwrd|pwd|pass|passphrase|secret|secret_?key|client_?secret|token|auth_?token|access_?token|refresh_?token|api_?key|apikey|access_?key|private_?key|credentials?)$/i;

export const PLACEHOLDER =
  /^(|\s+|\*+|x+|\.{3}|<[^>]*>|\$\{[^}]*\}|\{\{?[^}]*\}\}?|%\([^)]*\)s|%s|changeme|change_me|change-me|your[_ -].*|todo|tbd|none|null|placeholder|example|dummy|fake|redacted|secret|password|test|xxx+)$/i;

// ---------------------------------------------------------------- C
export const C = {
  allocators: new Set(['malloc', 'calloc', 'realloc', 'aligned_alloc', 'reallocarray']),
  /** Library functions that dereference the listed pointer arguments. */
  derefArgs: new Map<string, number[]>([
    ['fgets', [0]], ['fread', [0]], ['fwrite', [0]], ['memcpy', [0, 1]], ['memmove', [0, 1]], ['memset', [0]],
    ['strcpy', [0, 1]], ['strncpy', [0, 1]], ['strcat', [0, 1]], ['strncat', [0, 1]], ['sprintf', [0]],
    ['vsprintf', [0]], ['snprintf', [0]], ['gets', [0]], ['strlen', [0]], ['strcmp', [0, 1]], ['strncmp', [0, 1]],
    ['read', [1]], ['recv', [1]], ['fputs', [0]], ['puts', [0]], ['strdup', [0]], ['memcmp', [0, 1]], ['strchr', [0]],
    ['sscanf', [0]], ['atoi', [0]], ['strtok', [0]], ['getline', [0]],
  ]),
  /** Calls whose integer result comes from outside the program. */
  externalInts: new Set([
    'rand', 'random', 'lrand48', 'mrand48', 'atoi', 'atol', 'atoll', 'strtol', 'strtoul', 'strtoll', 'strtoull',
    'getchar', 'fgetc', 'getc', 'ntohl', 'ntohs',
  ]),
  scanners: new Map<string, number>([['scanf', 1], ['fscanf', 2], ['sscanf', 2]]),
  exits: new Set(['exit', '_exit', 'abort', 'err', 'errx', 'perror_exit', 'longjmp', '__builtin_unreachable']),
  freeFns: new Set(['free', 'cfree', 'g_free']),
  wideTypes: /\b(long\s+long|int64_t|uint64_t|__int128|double|long\s+double|intmax_t|uintmax_t)\b/,
};

// ---------------------------------------------------------------- JavaScript / TypeScript
export const JS = {
  requestNames: new Set(['req', 'request', 'ctx.request', 'ctx']),
  requestProps: new Set(['params', 'query', 'body', 'cookies', 'headers', 'url', 'originalUrl', 'path', 'files', 'file', 'hostname', 'signedCookies']),
  /** Browser-side URL data. */
  domSources: new Set([
    'location.hash', 'location.search', 'location.href', 'window.location.hash', 'window.location.search',
    'window.location.href', 'document.location.hash', 'document.location.search', 'document.location.href',
    'document.URL', 'document.documentURI', 'document.referrer', 'window.name',
  ]),
  sanitizers: new Map<string, readonly SinkKind[] | 'all'>([
    ['escape', ['xss']], ['escapeHtml', ['xss']], ['escapeHTML', ['xss']], ['he.encode', ['xss']], ['he.escape', ['xss']],
    ['validator.escape', ['xss']], ['DOMPurify.sanitize', ['xss']], ['sanitizeHtml', ['xss']], ['xss', ['xss']],
    ['_.escape', ['xss']], ['lodash.escape', ['xss']], ['encodeURIComponent', ['xss', 'cmd', 'path']],
    ['path.basename', ['path']], ['shellEscape', ['cmd']], ['shellescape', ['cmd']], ['shellQuote.quote', ['cmd']],
    ['parseInt', 'all'], ['parseFloat', 'all'], ['Number', 'all'], ['Boolean', 'all'], ['Math.floor', 'all'],
    ['Math.round', 'all'], ['Math.abs', 'all'],
  ]),
  normalizers: new Set(['path.resolve', 'path.normalize', 'fs.realpathSync', 'realpathSync', 'path.posix.resolve']),
  propagators: new Set([
    'String', 'JSON.stringify', 'JSON.parse', 'path.join', 'path.posix.join', 'decodeURIComponent', 'decodeURI',
    'Buffer.from', 'unescape', 'atob', 'url.parse', 'querystring.parse', 'util.format', 'format',
  ]),
  propagatingMethods: new Set([
    'trim', 'trimStart', 'trimEnd', 'toLowerCase', 'toUpperCase', 'replace', 'replaceAll', 'slice', 'substring',
    'substr', 'split', 'concat', 'join', 'toString', 'padStart', 'padEnd', 'normalize', 'repeat', 'at', 'get',
    'map', 'filter', 'flat', 'valueOf',
  ]),
  cmdSinks: new Set(['child_process.exec', 'child_process.execSync', 'cp.exec', 'cp.execSync', 'childProcess.exec', 'childProcess.execSync', 'exec', 'execSync', 'shelljs.exec', 'shell.exec']),
  spawnSinks: new Set(['child_process.spawn', 'child_process.spawnSync', 'cp.spawn', 'spawn', 'spawnSync', 'childProcess.spawn']),
  codeSinks: new Set([
    'eval', 'Function', 'vm.runInNewContext', 'vm.runInThisContext', 'vm.runInContext', 'vm.compileFunction',
    'vm.Script', 'setTimeout', 'setInterval', 'setImmediate', 'window.eval', 'globalThis.eval',
  ]),
  fsMethods: new Set([
    'readFile', 'readFileSync', 'createReadStream', 'createWriteStream', 'writeFile', 'writeFileSync', 'appendFile',
    'appendFileSync', 'unlink', 'unlinkSync', 'readdir', 'readdirSync', 'stat', 'statSync', 'access', 'accessSync',
    'open', 'openSync', 'rm', 'rmSync', 'rmdir', 'rmdirSync', 'mkdir', 'mkdirSync', 'copyFile', 'copyFileSync',
    'rename', 'renameSync', 'existsSync', 'lstat', 'lstatSync',
  ]),
  fsReceivers: new Set(['fs', 'fsp', 'fs.promises', 'promises', 'fse', 'fsExtra', 'fsPromises']),
  responseReceivers: new Set(['res', 'response', 'resp', 'reply']),
  htmlProps: new Set(['innerHTML', 'outerHTML']),
};
