import { describe, expect, it } from 'vitest';
import { isLoopback, LlmConfigSchema, RepairPolicySchema, resolveLlmConfig } from '../../daemon/llm/config.js';
import { findSecrets, Redactor } from '../../daemon/llm/redact.js';

describe('isLoopback', () => {
  it.each([
    ['http://127.0.0.1:8080/v1', true],
    ['http://127.3.4.5/v1', true],
    ['http://localhost:11434/v1', true],
    ['http://[::1]:8000/v1', true],
    ['http://[::ffff:127.0.0.1]:8000/v1', true],
    ['https://api.openai.com/v1', false],
    ['http://192.168.1.10:8000/v1', false],
    ['http://127.0.0.1.evil.com/v1', false],
    ['http://128.0.0.1/v1', false],
    ['not a url', false],
  ])('%s -> %s', (url, want) => expect(isLoopback(url)).toBe(want));
});

describe('resolveLlmConfig', () => {
  it('is undefined without endpoint or model', () => {
    expect(resolveLlmConfig(undefined, {})).toBeUndefined();
    expect(resolveLlmConfig({ baseURL: 'http://127.0.0.1:1/v1' }, {})).toBeUndefined();
  });

  it('applies defaults, env overrides and the key from the named variable', () => {
    const c = resolveLlmConfig({ baseURL: 'http://127.0.0.1:1/v1', model: 'm', apiKeyEnv: 'MY_KEY' }, { MY_KEY: 'k1', REFLEXGEN_LLM_MODEL: 'm2' })!;
    expect(c).toMatchObject({ model: 'm2', apiKey: 'k1', temperature: 0.2, timeoutMs: 60_000, budgetMs: 120_000, maxIterations: 3, maxTokens: 1024, redact: false, redactMode: 'auto' });
    const d = resolveLlmConfig({}, { REFLEXGEN_LLM_BASE_URL: 'https://api.example.com/v1', REFLEXGEN_LLM_MODEL: 'x', REFLEXGEN_LLM_API_KEY: 'k2', OPENAI_API_KEY: 'k3' })!;
    expect(d).toMatchObject({ baseURL: 'https://api.example.com/v1', apiKey: 'k2', redact: true });
    expect(resolveLlmConfig({ baseURL: 'http://127.0.0.1:1/v1', model: 'm', redact: 'on' }, {})!.redact).toBe(true);
    expect(resolveLlmConfig({ baseURL: 'https://api.example.com/v1', model: 'm', redact: 'off' }, {})!.redact).toBe(false);
  });

  it('rejects unknown keys and bad values', () => {
    expect(LlmConfigSchema.safeParse({ apiKey: 'sk-committed' }).success).toBe(false);
    expect(LlmConfigSchema.safeParse({ temperature: 5 }).success).toBe(false);
    expect(() => resolveLlmConfig({}, { REFLEXGEN_LLM_BASE_URL: 'nope', REFLEXGEN_LLM_MODEL: 'm' })).toThrow();
    expect(RepairPolicySchema.parse(undefined)).toBe('suggest');
    expect(RepairPolicySchema.safeParse('force').success).toBe(false);
  });
});

describe('Redactor', () => {
  const secrets = {
    openai: 'sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t',
    aws: 'AKIAIOSFODNN7EXAMPLE',
    github: 'ghp_0123456789abcdefghijABCDEFGHIJ012345',
    slack: 'xoxb-123456789012-abcdefghijkl',
    jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    password: 'correct horse battery',
    entropy: 'Zq8fLk2PxW9mRt4vBn7cYh3J',
  };
  const code = [
    `OPENAI = "${secrets.openai}"`,
    `aws_key = '${secrets.aws}'`,
    `gh = "${secrets.github}"`,
    `SLACK = "${secrets.slack}"`,
    `token_header = "Bearer ${secrets.jwt}"`,
    `db_password = "${secrets.password}"`,
    `{"client_secret": "s3cr3t-value"}`,
    `salt = "${secrets.entropy}"`,
    '-----BEGIN RSA PRIVATE KEY-----',
    'MIIEowIBAAKCAQEA7v8x',
    '-----END RSA PRIVATE KEY-----',
    'def get_user_by_identifier_value(conn):  # identifiers are not secrets',
    '    path = "/usr/local/lib/python3.11/site-packages"',
    '    password = os.environ["DB_PASSWORD"]',
  ].join('\n');

  it('replaces every kind of secret and restores them exactly', () => {
    const r = new Redactor();
    const red = r.redact(code);
    for (const s of [...Object.values(secrets), 's3cr3t-value', 'MIIEowIBAAKCAQEA7v8x']) expect(red).not.toContain(s);
    expect(red).toContain('__REFLEXGEN_SECRET_1__');
    expect(red).toContain('def get_user_by_identifier_value(conn):');
    expect(red).toContain('/usr/local/lib/python3.11/site-packages');
    expect(red).toContain('os.environ["DB_PASSWORD"]');
    expect(r.restore(red)).toBe(code);
  });

  it('keeps placeholders stable across calls and idempotent on redacted text', () => {
    const r = new Redactor();
    const a = r.redact(`k = "${secrets.openai}"`);
    const b = r.redact(`other = 1\nk2 = "${secrets.openai}"`);
    expect(a).toContain('__REFLEXGEN_SECRET_1__');
    expect(b).toContain('__REFLEXGEN_SECRET_1__');
    expect(r.redact(a)).toBe(a);
    expect(r.count).toBe(1);
    expect(r.restore('use __REFLEXGEN_SECRET_1__ and __REFLEXGEN_SECRET_9__')).toBe(`use ${secrets.openai} and __REFLEXGEN_SECRET_9__`);
  });

  it('leaves ordinary code alone', () => {
    const plain = 'cur.execute("SELECT * FROM users WHERE name = ?", (name,))\nMAX_BUFFER_SIZE_2048_BYTES = 2048\nx = "hello world"';
    expect(findSecrets(plain)).toEqual([]);
  });
});
