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
    'view_args', 'GET', 'POST', 'FILES', 'COOKIES', 'META', 'REQUEST', 'body', 'query_params', 'path_params',
    'query_string', 'stream', 'environ', 'full_path', 'url', 'path', 'match_info', 'query', 'raw_post_data',
    'post', 'text', 'content', 'params', 'read', 'get_full_path', 'build_absolute_uri', 'referrer', 'form_dict',
  ]),
  requestNames: new Set(['request', 'req', 'flask.request', 'bottle.request', 'self.request', 'frappe.local', 'frappe']),
  /** Methods of a request handler (`self.get_argument(...)`, tornado) that return client data. */
  handlerSourceMethods: new Set([
    'get_argument', 'get_arguments', 'get_query_argument', 'get_query_arguments', 'get_body_argument',
    'get_body_arguments', 'get_cookie', 'get_secure_cookie',
  ]),
  /** Calls that return client data on their own. */
  sourceCalls: new Set(['input', 'raw_input']),
  /**
   * Data from the invoking user (command line, environment): dangerous in a command, query or eval,
   * but a program opening the file its user named is its normal job, so not a path source.
   */
  localSourceCalls: new Set(['os.getenv', 'os.environ.get', 'os.getenvb']),
  localSourceNames: new Set(['sys.argv', 'os.environ']),

  /** Decorators that make a function a request handler whose parameters come from the URL. */
  routeDecorator: /\.(route|get|post|put|patch|delete|api_route|websocket|view)\s*\(|^@(\w+\.)*(api_view|require_(GET|POST|http_methods|safe)|login_required|csrf_exempt|csrf_protect|permission_required)\b/,

  sanitizers: new Map<string, readonly SinkKind[] | 'all'>([
    ['shlex.quote', ['cmd']],
    ['pipes.quote', ['cmd']],
    ['markupsafe.escape', ['xss']],
    ['flask.escape', ['xss']],
    ['html.escape', ['xss']],
    ['cgi.escape', ['xss']],
    ['bleach.clean', ['xss']],
    ['bleach.linkify', ['xss']],
    ['markupsafe.Markup.escape', ['xss']],
    ['django.utils.html.escape', ['xss']],
    ['django.utils.html.conditional_escape', ['xss']],
    ['django.utils.html.strip_tags', ['xss']],
    ['django.utils.html.format_html', ['xss']],
    ['format_html', ['xss']],
    ['conditional_escape', ['xss']],
    ['xml.sax.saxutils.escape', ['xss']],
    ['xml.sax.saxutils.quoteattr', ['xss']],
    ['escape', ['xss']],
    ['*.escape', ['xss']],
    ['urllib.parse.quote', ['xss', 'cmd']],
    ['urllib.parse.quote_plus', ['xss', 'cmd', 'path']],
    ['urllib.quote', ['xss', 'cmd']],
    ['urllib.parse.urlencode', ['xss', 'cmd', 'path']],
    ['werkzeug.utils.secure_filename', ['path']],
    ['werkzeug.secure_filename', ['path']],
    ['secure_filename', ['path']],
    ['flask.safe_join', ['path']],
    ['werkzeug.utils.safe_join', ['path']],
    ['werkzeug.security.safe_join', ['path']],
    ['safe_join', ['path']],
    ['os.path.basename', ['path']],
    ['ldap.filter.escape_filter_chars', ['ldap']],
    ['ldap3.utils.conv.escape_filter_chars', ['ldap']],
    ['escape_filter_chars', ['ldap']],
    ['ldap.dn.escape_dn_chars', ['ldap']],
    ['*.escape_string', ['sql']],
    ['*.escape_identifier', ['sql']],
    ['*.quote_identifier', ['sql']],
    ['int', 'all'],
    ['float', 'all'],
    ['bool', 'all'],
    ['len', 'all'],
    ['abs', 'all'],
    ['round', 'all'],
    ['hash', 'all'],
    ['id', 'all'],
    ['isinstance', 'all'],
    ['uuid.UUID', 'all'],
    ['uuid.uuid4', 'all'],
    ['render_template', 'all'],
    ['flask.render_template', 'all'],
    ['django.shortcuts.render', 'all'],
    ['flask.url_for', 'all'],
    ['url_for', 'all'],
    ['django.urls.reverse', 'all'],
    ['reverse', 'all'],
    ['flask.jsonify', 'all'],
    ['jsonify', 'all'],
    ['django.http.JsonResponse', 'all'],
    ['JsonResponse', 'all'],
    ['*.hexdigest', 'all'],
    ['*.digest', 'all'],
    ['*.count', 'all'],
    ['*.index', 'all'],
    ['*.find', 'all'],
    ['*.startswith', 'all'],
    ['*.endswith', 'all'],
    ['*.isdigit', 'all'],
    ['*.isalnum', 'all'],
    ['os.path.exists', 'all'],
    ['os.path.isfile', 'all'],
    ['os.path.isdir', 'all'],
    ['os.path.getsize', 'all'],
    ['json.dumps', ['cmd', 'path', 'sql']],
  ]),
  /**
   * A call to a function with one of these words in its name, as a statement or in a condition, checks
   * its argument: the argument is treated as validated from there on (`validate_name(name)`,
   * `if not is_safe_url(url): abort(400)`).
   */
  validator: /(^|_)(is_?)?(valid|validate|validated|check|checks|verify|sanitize|sanitise|sanitized|clean|safe|allowed|whitelisted|allowlisted|permitted|assert_?valid|escape)(_|$)|^(valid|validate|check|verify|sanitize|sanitise|is_?safe|is_?valid|allowed)/i,
  /** Calls that never return (a branch ending in one does not flow on). */
  noReturn: new Set(['abort', 'flask.abort', 'sys.exit', 'exit', 'os._exit', 'werkzeug.exceptions.abort', 'self.abort', 'self.fail', 'pytest.fail', 'quit']),

  /** Calls that join path components: a caller's name after the first component may climb out with `..`. */
  pathJoins: new Set(['os.path.join', 'posixpath.join', 'ntpath.join', 'pathlib.Path', 'Path', 'pathlib.PurePath', 'PurePath', 'pathlib.PurePosixPath']),
  /** A helper of the application that says it makes a path or file name safe (`sanitize_filename(x)`, `safe_path(x)`). */
  pathSanitizerName: /^_*((sanitize|sanitise|secure|safe|clean)_?\w*(path|file|name|dir)\w*|\w*(path|file|name|dir)\w*_(sanitize[dr]?|sanitise[dr]?|secure|safe|clean(ed)?|within\w*|inside\w*|checked))$/i,
  /**
   * A joined path handed to one of these is being inspected, transformed or reported, not opened: the
   * containment rule waits for where it is used.
   */
  pathInspectors: /^(os\.path\.\w+|posixpath\.\w+|ntpath\.\w+|str|repr|len|print|isinstance|format|fnmatch\.\w+|re\.\w+|glob\.escape|(logging|log|logger|LOG|_log|_logger|self\.log|self\.logger)\.\w+|\w*(log|warn|debug|info|error|echo|message|msg|print)\w*)$/i,
  normalizers: new Set(['os.path.normpath', 'os.path.abspath', 'os.path.realpath', 'posixpath.normpath', '*.resolve', '*.absolute']),
  /** Functions whose result carries the taint of their arguments. */
  propagators: new Set([
    'str', 'repr', 'bytes', 'bytearray', 'list', 'tuple', 'dict', 'set', 'frozenset', 'sorted', 'reversed', 'next', 'iter',
    'os.path.join', 'posixpath.join', 'os.path.expanduser', 'os.path.dirname', 'os.path.splitext', 'pathlib.Path', 'Path',
    'urllib.parse.unquote', 'urllib.parse.unquote_plus', 'urllib.unquote', 'urllib.parse.urljoin', 'base64.b64decode',
    'base64.urlsafe_b64decode', 'json.loads', 'io.BytesIO', 'io.StringIO', 'bytes.fromhex', 'codecs.decode', 'unicode',
    'force_text', 'force_str', 'smart_text', 'smart_str', 'django.utils.encoding.force_str', 'django.utils.encoding.force_text',
    'six.text_type', 'six.ensure_str', 'six.ensure_text', 'textwrap.dedent', 'copy.copy', 'copy.deepcopy',
    're.sub', 're.subn',
  ]),
  /** Methods that carry the receiver's taint (string/dict/bytes methods). */
  propagatingMethods: new Set([
    'strip', 'lstrip', 'rstrip', 'lower', 'upper', 'title', 'capitalize', 'casefold', 'replace', 'split', 'rsplit',
    'splitlines', 'partition', 'rpartition', 'encode', 'decode', 'format', 'format_map', 'join', 'get', 'getlist', 'pop',
    'ljust', 'rjust', 'center', 'zfill', 'removeprefix', 'removesuffix', 'translate', 'expandtabs', 'read',
    'items', 'values', 'keys', 'copy', 'joinpath', 'with_name', 'with_suffix', '__str__', 'setdefault', 'readline', 'readlines',
  ]),
  /** List methods that add their argument's taint to the receiver. */
  mutatingMethods: new Set(['append', 'extend', 'insert', 'add', 'update', 'appendleft', 'extendleft']),

  pathSinks: new Map<string, number[]>([
    ['open', [0]], ['io.open', [0]], ['codecs.open', [0]], ['os.open', [0]], ['file', [0]],
    ['flask.send_file', [0]], ['send_file', [0]],
    ['os.remove', [0]], ['os.unlink', [0]], ['os.rmdir', [0]], ['os.removedirs', [0]], ['os.listdir', [0]], ['os.mkdir', [0]],
    ['os.makedirs', [0]], ['os.rename', [0, 1]], ['os.replace', [0, 1]], ['os.chmod', [0]], ['os.chown', [0]], ['os.stat', [0]],
    ['shutil.rmtree', [0]], ['shutil.copy', [0, 1]], ['shutil.copy2', [0, 1]], ['shutil.copyfile', [0, 1]], ['shutil.copytree', [0, 1]],
    ['shutil.move', [0, 1]], ['django.http.FileResponse', [0]], ['FileResponse', [0]],
    ['*.read_text', [-1]], ['*.read_bytes', [-1]], ['*.write_text', [-1]], ['*.write_bytes', [-1]],
    ['*.unlink', [-1]], ['*.save', [0]],
    // twisted.web serves the named file; boto's key writes into the named local file.
    ['twisted.web.static.File', [0]], ['static.File', [0]],
    ['*.get_contents_to_filename', [0]], ['*.set_contents_from_filename', [0]],
  ]),
  tarOpeners: new Set(['tarfile.open', 'tarfile.TarFile', 'tarfile.TarFile.open', 'TarFile', 'TarFile.open', 'zipfile.ZipFile', 'ZipFile']),

  shellSinks: new Set([
    'os.system', 'os.popen', 'os.popen2', 'os.popen3', 'os.popen4', 'commands.getoutput', 'commands.getstatusoutput',
    'subprocess.getoutput', 'subprocess.getstatusoutput', 'asyncio.create_subprocess_shell', 'pty.spawn', 'popen2.popen2',
    'popen2.popen3', 'popen2.popen4', 'fabric.api.run', 'fabric.api.sudo', 'fabric.api.local', 'fabric.operations.run',
    'fabric.operations.sudo', 'fabric.operations.local', 'invoke.run', 'pexpect.spawn', 'pexpect.run', 'os.execl', 'os.execlp',
  ]),
  /** Take a command that is an argument list unless shell=True. */
  processSinks: new Set([
    'subprocess.call', 'subprocess.run', 'subprocess.Popen', 'subprocess.check_output', 'subprocess.check_call',
  ]),
  /**
   * Helpers that run a command line (an SSH session's or a wrapper's `run`): name (without leading
   * underscores) of the called function, or the receiver's name for a bare `run`/`execute`/`exec_command`.
   */
  commandRunner: /^(run_?ssh|ssh_?run|ssh_?exec(ute)?|exec(ute)?_?ssh|cli_?run|run_?cli|run_?cmd|run_?command|run_?shell(_?command)?|exec(ute)?_?(cmd|command|shell)|shell_?(exec|run|command)|remote_?(exec|run|command)|run_?remote(_?command)?|run_?ssh_?cmd|call_?command|execute_?interactive|getoutput|check_?output_?shell)$/i,
  runnerReceiver: /(ssh|shell|conn|connection|host|remote|sudo|channel|session_?ssh|executor|runner|cmd)$/i,
  runnerMethods: new Set(['run', 'execute', 'exec_command', 'sudo', 'send_command', 'invoke_shell', 'exec']),

  /** Query helpers of an application (`db.exec(sql)`, `run_query(sql)`): they count when handed a formatted SQL statement. */
  sqlHelper: /^_*(exec|execute|exec_?sql|execute_?sql|execute_?query|exec_?query|run_?query|run_?sql|query(_?(one|all|db|first|row|rows|value))?|db_?query|sql|raw_?query|fetch_?(one|all|rows?)|select|insert|update|delete|do_?query|perform_?query|get_?results|execute_?(read|write|update|select)|sql_?(exec|query|execute))$/i,
  sqlMethods: new Set(['execute', 'executemany', 'executescript', 'raw', 'read_sql', 'read_sql_query', 'mogrify', 'extra']),

  codeSinks: new Set(['eval', 'exec', 'execfile', 'builtins.eval', 'builtins.exec', 'PIL.ImageMath.eval', 'ImageMath.eval', 'numexpr.evaluate', 'code.interact']),
  templateSinks: new Set([
    'flask.render_template_string', 'render_template_string', 'jinja2.Template', 'jinja2.Environment.from_string',
    '*.from_string', 'django.template.Template', 'mako.template.Template',
  ]),
  redirectSinks: new Set([
    'flask.redirect', 'redirect', 'django.shortcuts.redirect', 'django.http.HttpResponseRedirect', 'HttpResponseRedirect',
    'django.http.HttpResponsePermanentRedirect', 'HttpResponsePermanentRedirect', 'werkzeug.utils.redirect', 'self.redirect',
    'bottle.redirect', 'starlette.responses.RedirectResponse', 'fastapi.responses.RedirectResponse', 'RedirectResponse',
  ]),
  ssrfSinks: new Set([
    'requests.get', 'requests.post', 'requests.put', 'requests.patch', 'requests.delete', 'requests.head', 'requests.options',
    'requests.request', 'urllib.request.urlopen', 'urllib2.urlopen', 'urllib.urlopen', 'urlopen', 'httpx.get', 'httpx.post',
    'httpx.request', 'httpx.stream', 'urllib.request.Request', 'aiohttp.request', 'pycurl.Curl.setopt', 'http.client.HTTPConnection',
  ]),
  xmlParsers: new Set([
    'lxml.etree.fromstring', 'lxml.etree.XML', 'lxml.etree.parse', 'lxml.etree.iterparse', 'lxml.objectify.fromstring',
    'lxml.objectify.parse', 'etree.fromstring', 'etree.parse', 'etree.XML',
  ]),
  xmlParserCtors: new Set(['lxml.etree.XMLParser', 'etree.XMLParser', 'lxml.objectify.makeparser', 'lxml.etree.XMLPullParser']),
  jwtDecode: new Set(['jwt.decode', 'jose.jwt.decode', 'jwt.api_jwt.decode', 'PyJWT.decode']),
  /** Calls whose argument becomes HTML trusted as-is. */
  htmlSinks: new Set([
    'markupsafe.Markup', 'flask.Markup', 'jinja2.Markup', 'Markup', 'django.utils.safestring.mark_safe', 'mark_safe',
    'django.utils.safestring.SafeString', 'SafeString', 'django.http.HttpResponse', 'HttpResponse', 'flask.make_response',
    'make_response', 'flask.Response', 'Response', 'werkzeug.wrappers.Response', 'starlette.responses.HTMLResponse',
    'fastapi.responses.HTMLResponse', 'HTMLResponse', 'aiohttp.web.Response',
  ]),
  /** Functions that render a template with a context: its values end up in the page. */
  templateRenderers: /^(render|render_to_response|render_to_string|render_template|TemplateResponse|render_mako|direct_to_template|render_response)$/,
  jsonDumps: new Set(['json.dumps', 'simplejson.dumps', 'ujson.dumps', 'flask.json.dumps', 'django.core.serializers.json.json.dumps']),
  /** Markdown renderers pass raw HTML in their input through to their output. */
  markdownSinks: new Set(['markdown.markdown', 'markdown', 'markdown2.markdown', 'mistune.markdown', 'mistune.html', 'commonmark.commonmark', 'markdown.Markdown.convert']),
  /** A model object whose fields are assigned and then saved. */
  saveMethods: new Set(['save', 'put', 'commit', 'insert', 'create']),
  responseWriters: /(^|\.)(response|resp|res|wfile|self|request|req)$/,

  pickleSinks: new Set([
    'pickle.loads', 'pickle.load', 'cPickle.loads', 'cPickle.load', '_pickle.loads', '_pickle.load', 'dill.loads',
    'dill.load', 'marshal.loads', 'marshal.load', 'jsonpickle.decode', 'shelve.open', 'pandas.read_pickle',
    'pd.read_pickle', 'torch.load', 'joblib.load',
  ]),
  yamlLoads: new Set(['yaml.load', 'yaml.load_all']),
  yamlUnsafe: new Set(['yaml.unsafe_load', 'yaml.unsafe_load_all', 'yaml.full_load', 'yaml.full_load_all']),

  jinjaCtors: new Set(['jinja2.Environment', 'Environment', 'jinja2.Template', 'jinja2.environment.Environment', 'jinja2.sandbox.SandboxedEnvironment']),
};

/** Python sinks of the query languages, logging, crypto and session rules (checked in python.ts `moreSinks`). */
export const PY_MORE = {
  /** python-ldap: the filter is the third argument (`filterstr`). */
  ldapSearch: new Set(['search', 'search_s', 'search_st', 'search_ext', 'search_ext_s']),
  ldapModules: new Set(['ldap', 'ldap3', 'django_auth_ldap', 'flask_ldap3_login']),
  /** XPath evaluation: the expression is the first argument; variables passed as keywords are safe. */
  xpathCalls: new Set(['lxml.etree.XPath', 'etree.XPath', 'lxml.etree.ETXPath', 'lxml.etree.XPathEvaluator', '*.xpath', '*.evaluate']),
  /** ElementTree path queries: an XPath subset, injection when the path is formatted from request data. */
  elementPathCalls: new Set(['find', 'findall', 'findtext', 'iterfind']),
  xmlModules: new Set(['lxml', 'xml', 'defusedxml', 'elementpath']),
  mongoModules: new Set(['pymongo', 'mongoengine', 'motor', 'flask_pymongo', 'mongomock', 'bson', 'mongoalchemy']),
  mongoMethods: new Set([
    'find', 'find_one', 'find_one_and_update', 'find_one_and_delete', 'find_one_and_replace', 'update_one', 'update_many',
    'delete_one', 'delete_many', 'count_documents', 'count', 'distinct', 'aggregate', 'replace_one', 'remove', 'update',
  ]),
  /** Request data that can be a dict or list (JSON), not only a string. */
  jsonSource: /\brequest\.(json|get_json\s*\()|\bjson\.loads\s*\(/,
  logLevels: new Set(['debug', 'info', 'warning', 'warn', 'error', 'exception', 'critical', 'fatal', 'log']),
  logReceiver: /^(logging|log|logger|_log|_logger|LOG|LOGGER|self\.log|self\.logger|app\.logger|current_app\.logger|\w+_logger|\w+_log)$/,
  /** A value named like a secret: what randomness or a hash is for. */
  secretName: /((^|_)key$|token|passw|passwd|pwd|secret|nonce|salt|otp|api_?key|session_?id|sess_?key|csrf|xsrf|reset_?(code|key)|verif\w*_?code|activation|invite_?code|auth_?code|one_?time|pin_?code|captcha|confirm\w*_?code|key_?material|private_?key|signing_?key|credential)/i,
  /** Values fed to a hash that make it a password or credential hash. */
  passwordName: /(passw|passwd|pwd|secret|token|api_?key|credential|pin_?code)/i,
  weakHashes: new Set(['hashlib.md5', 'hashlib.sha1', 'Crypto.Hash.MD5.new', 'Crypto.Hash.SHA.new', 'Crypto.Hash.SHA1.new', 'Cryptodome.Hash.MD5.new', 'Cryptodome.Hash.SHA1.new', 'hashlib.new']),
  weakCiphers: /^(Crypto|Cryptodome)\.Cipher\.(DES|DES3|ARC2|ARC4|Blowfish|CAST|XOR)\.new$|(^|\.)algorithms\.(ARC4|TripleDES|Blowfish|IDEA|CAST5|SEED)$|(^|\.)modes\.ECB$|^pyDes\.(des|triple_des)$/,
  /** `random` functions: predictable (Mersenne Twister), fine for simulations, not for secrets. */
  randomFns: new Set(['random.random', 'random.randint', 'random.randrange', 'random.choice', 'random.choices', 'random.sample', 'random.getrandbits', 'random.uniform', 'random.shuffle', 'random.randbytes', 'numpy.random.randint', 'numpy.random.choice', 'numpy.random.bytes']),
  sessionObjects: /^(session|flask\.session|request\.session|self\.request\.session|req\.session)$/,
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
  /** Allocators and duplicators that return NULL on failure (libc, kernel, libav, glib's try_ variants, libxml2). */
  nullableAllocators: new Set([
    'malloc', 'calloc', 'realloc', 'aligned_alloc', 'reallocarray', 'strdup', 'strndup', 'kmalloc', 'kzalloc', 'kcalloc',
    'kmalloc_array', 'krealloc', 'vmalloc', 'vzalloc', 'kvmalloc', 'kvzalloc', 'kstrdup', 'kstrndup', 'kmemdup', 'devm_kzalloc',
    'devm_kmalloc', 'devm_kcalloc', 'av_malloc', 'av_mallocz', 'av_calloc', 'av_realloc', 'av_strdup', 'g_try_malloc',
    'g_try_malloc0', 'g_try_realloc', 'xmlMalloc', 'xmlStrdup', 'OPENSSL_malloc', 'OPENSSL_zalloc', 'CRYPTO_malloc',
    'AcquireQuantumMemory', 'AcquireMagickMemory', 'opj_malloc', 'opj_calloc', '_TIFFmalloc', 'emalloc_safe',
    'kasprintf', 'kvasprintf', 'kmem_cache_alloc', 'kmem_cache_zalloc', 'dma_alloc_coherent', 'alloc_workqueue',
    'alloc_ordered_workqueue', 'create_workqueue', 'create_singlethread_workqueue', 'vmalloc_user', 'kvcalloc',
    'kvmalloc_array', 'devm_kstrdup', 'devm_kasprintf', 'ioremap', 'ioremap_nocache', 'asprintf_alloc', 'wcsdup',
  ]),
  /** Lookups documented to return NULL when the thing is absent. */
  nullableLookups: new Set([
    'platform_get_resource', 'platform_get_resource_byname', 'of_get_property', 'of_find_node_by_name', 'of_find_compatible_node',
    'dev_get_platdata', 'getenv', 'fopen', 'fdopen', 'opendir', 'getpwnam', 'getpwuid', 'getgrnam', 'gethostbyname', 'localtime',
    'gmtime', 'dlopen', 'tmpfile', 'popen', 'g_hash_table_lookup', 'crypt', 'readdir', 'getpwent', 'getgrgid', 'dlsym',
    'realpath', 'setlocale', 'ctime', 'asctime', 'getlogin', 'ttyname', 'gethostbyaddr', 'getservbyname', 'getprotobyname',
  ]),
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
  /**
   * Functions that release the memory their argument points to (libc, kernel, glib, libav, PHP, libxml2,
   * OpenSSL): after one, a pointer to it that stays reachable dangles.
   */
  releaseFns: new Set([
    'free', 'cfree', 'g_free', 'kfree', 'kvfree', 'vfree', 'kzfree', 'kfree_sensitive', 'av_free', 'efree', 'xmlFree',
    'OPENSSL_free', 'CRYPTO_free', 'g_slice_free1', 'mem_free', 'xfree', 'zfree', 'PyMem_Free', 'ruby_xfree',
  ]),
  /** Names of functions that release what they are given (used only for one-argument calls). */
  releaseName: /(^|_)(free|release|destroy)$|^[a-z]\w*(Free|Destroy|Release)$|^(Free|Destroy|Release)[A-Z]\w*$/,
  /** A function named like this tears its object down: fields it frees are not expected to be reset. */
  teardownName: /(free|destroy|release|cleanup|clean_up|clear|dispose|fini|finalize|deinit|uninit|delete|del|close|teardown|dtor|unref|put|exit|shutdown|remove|reset|drop|kill|unload|unregister)/i,
  /** Element types of byte buffers: what a (buffer, length) parameter pair carries. */
  byteTypes: /^(const\s+)?(unsigned\s+char|signed\s+char|char|u?int8_t|u8|ut8|uchar|guint8|guchar|gchar|byte|BYTE|UINT8|Byte|Bytef|void|uint8|u_char|u_int8_t|jbyte|xmlChar)$/,
  /** Integer types a buffer's length is passed as. */
  sizeTypes: /^(const\s+)?(size_t|ssize_t|int|unsigned|unsigned\s+int|long|unsigned\s+long|u?int(32|64)_t|u32|u64|ut32|ut64|uint|DWORD|UINT32|UINT|gsize|gssize|guint|gint|uInt|uLong|socklen_t|off_t)$/,
  /** How C code names a buffer's length. */
  lengthNames: /^(\w*(len|Len|LEN|size|Size|SIZE|sz|bytes|Bytes)\w*|n|cb\w+|count|cnt|avail|remaining|left)$/,
  /** Functions taking a buffer and its length: [buffer argument, length argument]. */
  sizeArgs: new Map<string, [number, number]>([
    ['memcpy', [0, 2]], ['memmove', [0, 2]], ['memset', [0, 2]], ['memcmp', [0, 2]], ['strncpy', [0, 2]],
    ['strncat', [0, 2]], ['strncmp', [0, 2]], ['snprintf', [0, 1]], ['vsnprintf', [0, 1]], ['fgets', [0, 1]],
    ['read', [1, 2]], ['recv', [1, 2]], ['fread', [0, 1]], ['bzero', [0, 1]], ['explicit_bzero', [0, 1]],
    ['strlcpy', [0, 2]], ['strlcat', [0, 2]], ['getline', [-1, 1]],
  ]),
  /** printf-family functions: index of the format argument. */
  formatArg: new Map<string, number>([
    ['printf', 0], ['fprintf', 1], ['sprintf', 1], ['snprintf', 2], ['dprintf', 1], ['syslog', 1], ['asprintf', 1],
    ['wprintf', 0], ['fwprintf', 1], ['err', 1], ['errx', 1], ['warn', 0], ['warnx', 0],
  ]),
  /** Functions that fill their buffer argument with data from outside the program. */
  inputFns: new Set(['fgets', 'read', 'recv', 'recvfrom', 'fread', 'gets', 'getline', 'scanf', 'fscanf', 'sscanf']),
  /**
   * Cursor-style readers of a length-tracked buffer (FreeRDP/WinPR wStream and the like): the bytes a
   * call consumes, as a fixed size or the index of its length argument.
   */
  streamReads: new Map<string, { stream: number; size: number } | { stream: number; lengthArg: number }>([
    ...(['UINT8', 'INT8', 'BYTE'] as const).flatMap((t) => [[`Stream_Read_${t}`, { stream: 0, size: 1 }], [`Stream_Peek_${t}`, { stream: 0, size: 1 }], [`Stream_Seek_${t}`, { stream: 0, size: 1 }]] as const),
    ...(['UINT16', 'INT16', 'UINT16_BE', 'INT16_BE'] as const).flatMap((t) => [[`Stream_Read_${t}`, { stream: 0, size: 2 }], [`Stream_Peek_${t}`, { stream: 0, size: 2 }], [`Stream_Seek_${t}`, { stream: 0, size: 2 }]] as const),
    ...(['UINT32', 'INT32', 'UINT32_BE', 'INT32_BE'] as const).flatMap((t) => [[`Stream_Read_${t}`, { stream: 0, size: 4 }], [`Stream_Peek_${t}`, { stream: 0, size: 4 }], [`Stream_Seek_${t}`, { stream: 0, size: 4 }]] as const),
    ...(['UINT64', 'INT64', 'UINT64_BE', 'INT64_BE'] as const).flatMap((t) => [[`Stream_Read_${t}`, { stream: 0, size: 8 }], [`Stream_Peek_${t}`, { stream: 0, size: 8 }], [`Stream_Seek_${t}`, { stream: 0, size: 8 }]] as const),
    ['Stream_Read', { stream: 0, lengthArg: 2 }], ['Stream_Peek', { stream: 0, lengthArg: 2 }], ['Stream_Seek', { stream: 0, lengthArg: 1 }],
    ['Stream_Read_UTF16_String', { stream: 0, lengthArg: 2 }],
  ]),
  /** Allocation functions by name; a product of two run-time values in the size can wrap around. */
  allocName: /(^|_)(x|e|k|kv|v|g_|av_|opj_|_TIFF|safe_|Py(Mem|Object)_)?(malloc|mallocz|zalloc|realloc|alloc|AllocChunk|AcquireQuantumMemory|AcquireMagickMemory|ResizeQuantumMemory|New|Newx|Newxc|Newz)$/i,
  /** Built-ins and helpers that compute a product or sum with an overflow check. */
  overflowCheckers: /(overflow|_mul_|mul_|safe_mul|check_mul|size_mul|array_size|struct_size|SafeMultiply|__builtin_\w+_overflow|HeapSizeOf|MultiplySize)/i,
  /** Calls that join a directory and a name into a path: the name is an argument after the first. */
  pathJoins: /^(concat_path_file|concat_path|path_concat|g_build_filename|g_build_path|build_path|join_path|path_join|make_path|pathjoin|file_path_join)$/,
  /** printf-style builders: a format with "/%s" puts a name under a directory. [format argument index] */
  pathFormatters: new Map<string, number>([['snprintf', 2], ['sprintf', 1], ['asprintf', 1], ['xasprintf', 0], ['g_strdup_printf', 0], ['vasprintf', 1]]),
  /** Calls that only compare or measure a string: a test with one of these does not vet a name. */
  stringCompares: /^(strcmp|strncmp|strcasecmp|strncasecmp|g_strcmp0|strlen|strnlen|g_str_equal|streq)$/,
  /** Calls that only report or release a path: not a use of it. */
  pathReporters: /^(free|g_free|kfree|printf|fprintf|puts|syslog|strlen|\w*log\w*|\w*_?msg\w*|\w*err\w*|\w*warn\w*|\w*debug\w*|\w*trace\w*)$/i,
  /** How many bytes are left to read: `remaining(s) < n` guards the next n bytes. */
  streamRemaining: new Set(['Stream_GetRemainingLength', 'Stream_Length_Remaining']),
  /** Checks that return true when at least the length argument's bytes remain: [stream argument, length argument]. */
  streamCheckers: new Map<string, [number, number]>([['Stream_CheckAndLogRequiredLength', [1, 2]], ['Stream_CheckAndLogRequiredLengthWLog', [1, 2]], ['Stream_EnsureRemainingCapacity', [0, 1]]]),
  wideTypes: /\b(long\s+long|int64_t|uint64_t|__int128|double|long\s+double|intmax_t|uintmax_t)\b/,
  /** Privilege and jail calls whose failure leaves the process with rights it meant to drop (CWE-252). */
  privilegeCalls: new Set([
    'setuid', 'setgid', 'seteuid', 'setegid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setgroups', 'initgroups',
    'chroot', 'chdir', 'fchdir', 'setfsuid', 'setfsgid',
  ]),
  /**
   * Input calls that fill a buffer: index of the filled argument, or 'scan' for scanf-style calls that
   * fill every `&x` / buffer after the format. Ignoring their result leaves the target unset on failure.
   */
  inputFills: new Map<string, number | 'scan'>([
    ['read', 1], ['pread', 1], ['fread', 0], ['recv', 1], ['recvfrom', 1], ['fgets', 0], ['fgetws', 0], ['getline', 0],
    ['scanf', 'scan'], ['fscanf', 'scan'], ['sscanf', 'scan'], ['wscanf', 'scan'], ['fwscanf', 'scan'], ['swscanf', 'scan'],
  ]),
  /** Functions returning a pointer, NULL on failure: comparing the result with < 0 or -1 never sees the failure (CWE-253). */
  pointerReturning: new Set([
    'fopen', 'fdopen', 'freopen', 'tmpfile', 'popen', 'malloc', 'calloc', 'realloc', 'reallocarray', 'aligned_alloc',
    'strdup', 'strndup', 'fgets', 'fgetws', 'getenv', 'secure_getenv', 'strchr', 'strrchr', 'strstr', 'memchr', 'strpbrk',
    'strtok', 'strtok_r', 'opendir', 'fdopendir', 'readdir', 'getpwnam', 'getpwuid', 'getgrnam', 'getgrgid', 'localtime',
    'gmtime', 'gethostbyname', 'realpath', 'tmpnam', 'dlopen', 'dlsym', 'wcschr', 'wcsrchr', 'wcsstr', 'wcsdup',
  ]),
  /** Functions returning a pointer and a non-NULL sentinel ((void *)-1) on failure: a NULL test never sees it. */
  sentinelPointerReturning: new Set(['mmap', 'mmap64', 'shmat']),
  /** POSIX calls returning an int (-1 on failure): comparing the result with NULL is a pointer test of an int. */
  intReturning: new Set([
    'open', 'openat', 'creat', 'socket', 'socketpair', 'accept', 'accept4', 'bind', 'connect', 'listen', 'read', 'pread', 'write',
    'pwrite', 'recv', 'recvfrom', 'recvmsg', 'send', 'sendto', 'sendmsg', 'setuid', 'setgid', 'seteuid', 'setegid', 'setresuid',
    'setresgid', 'setgroups', 'initgroups', 'chdir', 'chroot', 'close', 'dup', 'dup2', 'pipe', 'fork', 'ioctl', 'fcntl', 'lseek',
    'unlink', 'mkdir', 'rmdir', 'rename', 'remove', 'stat', 'lstat', 'fstat', 'access', 'chmod', 'chown', 'kill', 'setsockopt',
    'getsockopt', 'select', 'poll', 'fputs', 'fputc', 'putc', 'puts', 'fclose', 'fflush', 'fseek', 'printf', 'fprintf',
    'sprintf', 'snprintf',
  ]),
  /** Unsigned (size_t) results: `< 0` is never true and `>= 0` always is. */
  unsignedReturning: new Set(['fread', 'fwrite', 'strlen', 'strnlen', 'wcslen', 'strspn', 'strcspn', 'mbstowcs', 'wcstombs', 'strftime', 'strxfrm']),
  /** Functions returning EOF on failure and a non-negative value (possibly 0) on success: `== 0` is no failure test. */
  eofReturning: new Set(['fputs', 'puts', 'fputc', 'putc', 'putchar', 'fputws', 'fputwc', 'putwc', 'putwchar', 'ungetc']),
  /** Parsers of floating-point input: their result is as unknown as atoi's. */
  floatInputs: new Set(['atof', 'strtod', 'strtof', 'strtold']),
  /** Integer types two bytes wide or less (CWE-197 targets). */
  narrowTypes: new Map<string, number>([
    ['char', 1], ['signed char', 1], ['unsigned char', 1], ['int8_t', 1], ['uint8_t', 1], ['u8', 1], ['s8', 1], ['__u8', 1],
    ['__s8', 1], ['guint8', 1], ['gint8', 1], ['gchar', 1], ['guchar', 1], ['BYTE', 1], ['UCHAR', 1], ['CHAR', 1],
    ['short', 2], ['short int', 2], ['signed short', 2], ['unsigned short', 2], ['unsigned short int', 2], ['int16_t', 2],
    ['uint16_t', 2], ['u16', 2], ['s16', 2], ['__u16', 2], ['__s16', 2], ['guint16', 2], ['gint16', 2], ['gshort', 2],
    ['gushort', 2], ['WORD', 2], ['USHORT', 2], ['SHORT', 2],
  ]),
  /** Wider integer types, by size in bytes (LP64). */
  wideWidths: new Map<string, number>([
    ['int', 4], ['signed', 4], ['unsigned', 4], ['signed int', 4], ['unsigned int', 4], ['int32_t', 4], ['uint32_t', 4], ['u32', 4],
    ['s32', 4], ['long', 8], ['long int', 8], ['unsigned long', 8], ['unsigned long int', 8], ['long long', 8], ['unsigned long long', 8],
    ['int64_t', 8], ['uint64_t', 8], ['u64', 8], ['s64', 8], ['size_t', 8], ['ssize_t', 8], ['off_t', 8], ['ptrdiff_t', 8],
    ['intptr_t', 8], ['uintptr_t', 8], ['intmax_t', 8], ['uintmax_t', 8], ['time_t', 8],
    ['__u32', 4], ['__s32', 4], ['uint', 4], ['UINT', 4], ['UINT32', 4], ['INT32', 4], ['DWORD', 4], ['guint', 4], ['gint', 4],
    ['guint32', 4], ['gint32', 4], ['ut32', 4], ['st32', 4], ['OPJ_UINT32', 4], ['OPJ_INT32', 4], ['uInt', 4],
    ['__u64', 8], ['__s64', 8], ['loff_t', 8], ['sector_t', 8], ['blkcnt_t', 8], ['gint64', 8], ['guint64', 8], ['gsize', 8],
    ['gssize', 8], ['goffset', 8], ['ut64', 8], ['st64', 8], ['OPJ_UINT64', 8], ['OPJ_INT64', 8], ['OPJ_SIZE_T', 8],
    ['OPJ_OFF_T', 8], ['MagickSizeType', 8], ['MagickOffsetType', 8], ['int64', 8], ['uint64', 8], ['UINT64', 8], ['INT64', 8],
    ['LONGLONG', 8], ['ULONGLONG', 8], ['DWORD64', 8], ['QWORD', 8], ['__int64', 8], ['unsigned __int64', 8], ['Int64', 8],
  ]),
  /** Result width of calls that produce a size or an input integer. */
  callWidths: new Map<string, number>([
    ['strlen', 8], ['strnlen', 8], ['wcslen', 8], ['strspn', 8], ['strcspn', 8], ['fread', 8], ['fwrite', 8], ['ftell', 8],
    ['lseek', 8], ['strtol', 8], ['strtoul', 8], ['strtoll', 8], ['strtoull', 8], ['atol', 8], ['atoll', 8], ['atoi', 4],
    ['rand', 4], ['random', 8], ['getchar', 4], ['fgetc', 4], ['getc', 4], ['ntohl', 4], ['read', 8], ['recv', 8],
  ]),
  /** Calls that test a path before it is used: [path argument]. */
  pathChecks: new Map<string, number>([
    ['access', 0], ['_access', 0], ['_waccess', 0], ['eaccess', 0], ['euidaccess', 0], ['stat', 0], ['lstat', 0], ['_stat', 0],
    ['_wstat', 0], ['stat64', 0], ['lstat64', 0], ['faccessat', 1], ['fstatat', 1],
  ]),
  /** Calls that act on a path: [path argument]. After a check of the same path, the file may have changed in between. */
  pathUses: new Map<string, number>([
    ['open', 0], ['_open', 0], ['_wopen', 0], ['open64', 0], ['fopen', 0], ['_wfopen', 0], ['fopen64', 0], ['freopen', 0],
    ['creat', 0], ['chmod', 0], ['chown', 0], ['lchown', 0], ['unlink', 0], ['_unlink', 0], ['remove', 0], ['rename', 0],
    ['truncate', 0], ['link', 0], ['symlink', 1], ['openat', 1], ['execv', 0], ['execve', 0], ['utime', 0], ['utimes', 0],
  ]),
  /** Calls that run a program looked up through PATH (or the current directory): [command argument, whole shell command?]. */
  pathSearchedRunners: new Map<string, [number, boolean]>([
    ['system', [0, true]], ['_system', [0, true]], ['_wsystem', [0, true]], ['popen', [0, true]], ['_popen', [0, true]],
    ['_wpopen', [0, true]], ['execlp', [0, false]], ['execvp', [0, false]], ['execvpe', [0, false]], ['_execlp', [0, false]],
    ['_execvp', [0, false]], ['_wexeclp', [0, false]], ['_wexecvp', [0, false]], ['posix_spawnp', [1, false]],
    ['WinExec', [0, true]], ['CreateProcessA', [1, true]], ['CreateProcessW', [1, true]], ['ShellExecuteA', [2, false]],
  ]),
  /** Library loaders: a relative name is looked up in the current directory first (Windows) or relative to it. */
  libraryLoaders: new Map<string, number>([
    ['LoadLibraryA', 0], ['LoadLibraryW', 0], ['LoadLibrary', 0], ['LoadLibraryExA', 0], ['LoadLibraryExW', 0], ['LoadLibraryEx', 0],
    ['dlopen', 0],
  ]),
  /** Calls returning a pointer into their first argument (pointer arithmetic stays inside that array). */
  pointerInto: new Set(['strchr', 'strrchr', 'strstr', 'memchr', 'strpbrk', 'wcschr', 'wcsrchr', 'wcsstr', 'rawmemchr', 'memrchr']),
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
    ['_.escape', ['xss']], ['lodash.escape', ['xss']], ['encodeURIComponent', ['xss', 'cmd', 'path', 'url']],
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

  /** Validators and escapers that make a value safe for one kind of sink (checked after `sanitizers`). */
  kindSanitizers: new Map<string, readonly SinkKind[]>([
    ['mongo-sanitize', ['nosql']], ['mongoSanitize', ['nosql']], ['sanitize', ['nosql']], ['mongoSanitize.sanitize', ['nosql']],
    ['express-mongo-sanitize.sanitize', ['nosql']], ['mysql.escape', ['sql']], ['sqlstring.escape', ['sql']],
    ['SqlString.escape', ['sql']], ['pg-format', ['sql']], ['format.literal', ['sql']], ['escapeLiteral', ['sql']],
    ['escapeIdentifier', ['sql']], ['escapeId', ['sql']], ['connection.escape', ['sql']], ['db.escape', ['sql']],
    ['pool.escape', ['sql']], ['sequelize.escape', ['sql']], ['validator.escape', ['xss']],
  ]),
  /** SQL drivers and query builders: methods that take a SQL string first. */
  sqlMethods: new Set(['query', 'execute', 'raw', 'whereRaw', 'orderByRaw', 'havingRaw', 'joinRaw', 'groupByRaw', 'fromRaw', '$queryRawUnsafe', '$executeRawUnsafe', 'unsafe']),
  /** sqlite3/better-sqlite3 methods: generic names, so they count only with SQL text in the statement. */
  sqlMaybeMethods: new Set(['run', 'all', 'get', 'each', 'exec', 'prepare', 'map', 'one', 'many', 'any', 'none', 'oneOrNone', 'manyOrNone']),
  sqlText: /^\s*(select|insert|update|delete|replace|create|drop|alter|with|pragma)\b|\b(select\b[\s\S]*\bfrom|insert\s+into|update\s+\w+\s+set|delete\s+from|where\s+\w+\s*(=|like|in\b))/i,
  /** MongoDB drivers and ODMs: a file that uses one has query objects. */
  nosqlModules: new Set(['mongodb', 'mongoose', 'monk', 'mongojs', 'mquery', 'mongoist', 'nedb', '@seald-io/nedb', 'camo']),
  nosqlMethods: new Set([
    'find', 'findOne', 'findOneAndUpdate', 'findOneAndDelete', 'findOneAndRemove', 'findOneAndReplace', 'findById', 'findByIdAndUpdate',
    'updateOne', 'updateMany', 'update', 'deleteOne', 'deleteMany', 'remove', 'count', 'countDocuments', 'distinct', 'where',
    'aggregate', 'replaceOne', 'exists',
  ]),
  /** HTTP clients: the URL is the first argument, or the `url` of an options object. */
  ssrfCallees: new Set([
    'fetch', 'node-fetch', 'axios', 'axios.get', 'axios.post', 'axios.put', 'axios.patch', 'axios.delete', 'axios.head',
    'axios.request', 'axios.options', 'got', 'got.get', 'got.post', 'got.put', 'got.delete', 'got.stream', 'request',
    'request.get', 'request.post', 'request.put', 'request.del', 'request.head', 'request-promise', 'request-promise.get',
    'needle', 'needle.get', 'needle.post', 'needle.put', 'needle.request', 'superagent', 'superagent.get', 'superagent.post',
    'http.get', 'http.request', 'https.get', 'https.request', 'undici.request', 'undici.fetch', 'bent', 'phin', 'ky', 'ky.get',
    'ky.post', 'wget', 'wreck.get', '@hapi/wreck.get', 'node-fetch.default',
  ]),
  /** Template engines: functions that compile or render their first argument as template source. */
  templateCompilers: new Set([
    'ejs.render', 'ejs.compile', 'swig.render', 'swig.compile', 'handlebars.compile', 'handlebars.precompile',
    'Handlebars.compile', 'pug.compile', 'pug.render', 'jade.compile', 'jade.render', 'nunjucks.renderString',
    'nunjucks.compile', 'lodash.template', '_.template', 'underscore.template', 'dot.template', 'doT.template',
    'dustjs-linkedin.compile', 'mustache.render', 'Mustache.render', 'hogan.js.compile', 'eta.render', 'eta.compile',
    'squirrelly.render', 'vm2.run', 'template7.compile', 'marko.load',
  ]),
  /** Loggers: receivers and methods that write a log line. */
  logReceivers: /^(console|logger|log|winston|bunyan|pino|this\.logger|this\.log|app\.log|req\.log|fastify\.log|debugLog|\w*[lL]ogger)$/,
  logMethods: new Set(['log', 'info', 'warn', 'error', 'debug', 'trace', 'fatal', 'verbose', 'silly', 'notice']),
  /** A cookie that carries a session or credential. */
  sessionCookie: /(sess|sid$|^sid|token|auth|jwt|login|remember|credential|identity|csrf|xsrf|user_?id|account)/i,
  sessionMiddleware: new Set(['express-session', 'cookie-session', 'client-sessions', 'koa-session', 'express-session.default']),
  jwtModules: new Set(['jsonwebtoken', 'jwt-simple', 'jws', 'jose', 'jwt-decode', 'express-jwt', 'koa-jwt']),
  /** Deserializers that revive functions (IIFE payloads run on load). */
  deserSinks: new Set([
    'node-serialize.unserialize', 'serialize-to-js.deserialize', 'funcster.deepDeserialize', 'cryo.parse',
    'serialize-javascript.deserialize',
  ]),
  xmlParsers: new Set([
    'libxmljs.parseXml', 'libxmljs.parseXmlString', 'libxmljs2.parseXml', 'libxmljs2.parseXmlString', 'libxmljs.parseXmlAsync',
    'libxmljs2.parseXmlAsync', 'libxmljs.SaxParser', 'xmllint.validateXML',
  ]),
};
